//! Large PNGs, streamed: when a photo is at least four times the size it is shown at, its rows
//! are decoded one at a time and averaged in k×k boxes as they arrive (libvips calls this
//! "shrink on load"), leaving at least 2× for the Lanczos3 resize, as libvips does, because a
//! box filter aliases. Against a full decode + Lanczos3, the 12 MP benchmark PNG measured
//! 54–55 dB at 800×480 and 960×540. A 48 MP PNG bound for 1080p needs 36 MB instead of
//! 144 MB. Anything else goes through `image` whole, which is faster when no memory is saved.

use std::io::Cursor;

use png::{ColorType, Transformations};

use super::compose::Target;
use super::resize::{Channels, Decoded};
use super::{decode, Format, Limits, PhotoInfo, RenderError};

pub(super) fn decode(
    bytes: &[u8],
    info: &PhotoInfo,
    target: &Target,
    limits: &Limits,
) -> Result<Decoded, RenderError> {
    let k = box_size(target);
    if k == 1 {
        return decode::decode(bytes, info, limits);
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palette and low-bit grey expanded, 16-bit reduced to 8: one layout per colour type.
    decoder.set_transformations(Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let (color, _) = reader.output_color_type();
    let has_alpha = matches!(color, ColorType::GrayscaleAlpha | ColorType::Rgba);
    if reader.info().interlaced || has_alpha || color == ColorType::Indexed {
        // Interlaced rows arrive in seven passes, and averaging straight alpha would darken
        // edges: both rare in photos, and decoded whole instead.
        return decode::decode(bytes, info, limits);
    }
    let (width, height) = (info.width as usize, info.height as usize);
    let (out_w, out_h) = (width.div_ceil(k), height.div_ceil(k));
    // Grey is averaged as one channel and widened to RGB only at the end.
    let channels = if color == ColorType::Grayscale { 1 } else { 3 };
    // The output, and a u32 sum for every input column and channel.
    let needed = (out_w * out_h * 3 + width * channels * 4) as u64;
    limits.check_budget(Format::Png, (info.width, info.height), needed)?;

    let mut pixels = Vec::with_capacity(out_w * out_h * 3);
    // Per input column and channel, the sum of the band's rows so far: adding a whole row at
    // once is a loop the compiler vectorises; the boxes are summed across once per band.
    let mut columns = vec![0u32; width * channels];
    let mut rows_in_band = 0u32;
    for y in 0..height {
        let row = reader.next_row().map_err(corrupt)?.ok_or_else(|| RenderError::Corrupt {
            format: "PNG",
            detail: format!("the image data ends after row {y} of {height}"),
        })?;
        for (sum, &v) in columns.iter_mut().zip(row.data()) {
            *sum += u32::from(v);
        }
        rows_in_band += 1;
        if rows_in_band as usize == k || y + 1 == height {
            // Multiplying by the reciprocal: a division per sample was most of this loop's time.
            let full_box = 1.0 / (k as u32 * rows_in_band) as f32;
            for boxed in columns.chunks(k * channels) {
                let cols = boxed.len() / channels;
                let scale =
                    if cols == k { full_box } else { 1.0 / (cols as u32 * rows_in_band) as f32 };
                let mut sum = [0u32; 3];
                for px in boxed.chunks_exact(channels) {
                    for (s, &v) in sum.iter_mut().zip(px) {
                        *s += v;
                    }
                }
                if channels == 1 {
                    sum = [sum[0]; 3];
                }
                pixels.extend(sum.map(|s| (s as f32 * scale + 0.5) as u8));
            }
            columns.fill(0);
            rows_in_band = 0;
        }
    }
    Ok(Decoded { width: out_w as u32, height: out_h as u32, pixels, channels: Channels::Rgb })
}

/// The side of the boxes averaged while decoding: the largest that still leaves the resize at
/// least twice as many pixels as the slide shows, in each direction.
fn box_size(target: &Target) -> usize {
    let fit = |out: u32, region: f64| (region / f64::from(out) / 2.0).floor();
    fit(target.out.0, target.region.0).min(fit(target.out.1, target.region.1)).max(1.0) as usize
}

fn corrupt(e: png::DecodingError) -> RenderError {
    RenderError::Corrupt { format: "PNG", detail: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_leave_twice_the_slide_size() {
        assert_eq!(box_size(&Target::whole((1440, 1080), (4032, 3024))), 1);
        assert_eq!(box_size(&Target::whole((1440, 1080), (8000, 6000))), 2);
        assert_eq!(box_size(&Target::whole((800, 600), (8000, 6000))), 5);
        assert_eq!(box_size(&Target::whole((1920, 1080), (640, 400))), 1);
    }
}
