//! Every format but the JPEG fast path, through the `image` crate's pure-Rust decoders: PNG,
//! WebP, GIF (first frame), BMP, TIFF, and CMYK JPEGs. The header is read first so that limits
//! are checked before any pixel buffer exists.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};

use super::resize::{Channels, Decoded};
use super::{Format, Limits, PhotoInfo, RenderError};

/// Reads size and orientation from the header.
pub(super) fn probe(bytes: &[u8], format: Format) -> Result<PhotoInfo, RenderError> {
    let mut decoder =
        open(bytes, format, None).map_err(|e| error(format, e, (0, 0), &Limits::default()))?;
    let (width, height) = decoder.dimensions();
    // A broken EXIF block must not make the photo unviewable: it is shown as stored.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    Ok(PhotoInfo { format, width, height, orientation })
}

/// Decodes at full size to 8-bit RGB, or RGBA when the image has transparency.
pub(super) fn decode(
    bytes: &[u8],
    info: &PhotoInfo,
    limits: &Limits,
) -> Result<Decoded, RenderError> {
    let format = info.format;
    let size = (info.width, info.height);
    let decoder = open(bytes, format, Some(limits.max_decode_bytes))
        .map_err(|e| error(format, e, size, limits))?;
    let color = decoder.color_type();
    let pixels = u64::from(info.width) * u64::from(info.height);
    // 16-bit, grey and palette images are converted to 8-bit RGB(A): a second buffer.
    let native = matches!(color, image::ColorType::Rgb8 | image::ColorType::Rgba8);
    let converted = if native { 0 } else { pixels * 4 };
    limits.check_budget(format, size, decoder.total_bytes() + converted + extra(bytes, format))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| error(format, e, size, limits))?;
    let channels = if image.color().has_alpha() { Channels::Rgba } else { Channels::Rgb };
    let (width, height) = (image.width(), image.height());
    let pixels = match image {
        DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
        DynamicImage::ImageRgba8(buffer) => buffer.into_raw(),
        other if channels == Channels::Rgba => other.to_rgba8().into_raw(),
        other => other.to_rgb8().into_raw(),
    };
    Ok(Decoded { width, height, pixels, channels })
}

/// What a decoder allocates besides its output, counted before it runs: a GIF's first frame
/// is read into a buffer of its own (as large as the canvas, at most) and then copied onto a
/// canvas of the logical screen's size, which a file of a few dozen bytes can declare as
/// 8192×8192. (An interlaced PNG needs no second buffer: its passes are expanded into the
/// output itself. Measured: an 8000×8000 RGB interlaced PNG counts 192 MB of pixels and
/// `discord-frame render` peaks at 232 MB RSS in all, under the default 256 MB budget.)
fn extra(bytes: &[u8], format: Format) -> u64 {
    match format {
        Format::Gif if bytes.len() >= 10 => {
            let width = u16::from_le_bytes([bytes[6], bytes[7]]);
            let height = u16::from_le_bytes([bytes[8], bytes[9]]);
            u64::from(width) * u64::from(height) * 4
        }
        _ => 0,
    }
}

fn open(
    bytes: &[u8],
    format: Format,
    max_alloc: Option<u64>,
) -> image::ImageResult<impl ImageDecoder + '_> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image_format());
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = max_alloc;
    reader.limits(image_limits);
    reader.into_decoder()
}

fn error(
    format: Format,
    e: ImageError,
    (width, height): (u32, u32),
    limits: &Limits,
) -> RenderError {
    match e {
        ImageError::Limits(_) => RenderError::OverBudget {
            format: format.name(),
            width,
            height,
            needed_mb: limits.max_decode_bytes / (1024 * 1024) + 1,
            budget_mb: limits.max_decode_bytes / (1024 * 1024),
        },
        ImageError::Unsupported(detail) => {
            RenderError::UnsupportedVariant { format: format.name(), detail: detail.to_string() }
        }
        other => RenderError::Corrupt { format: format.name(), detail: other.to_string() },
    }
}
