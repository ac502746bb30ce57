//! The JPEG fast path: libjpeg-turbo's decoder (through the `mozjpeg` crate) asked for a
//! reduced DCT scale, so that a 48 MP photo bound for a 1080p screen is decoded straight to
//! about 3 MP and never exists at full size in memory.
//!
//! libjpeg reports fatal errors by unwinding (the crate's documented design); every call into
//! it runs inside [`guarded`], which turns that into a [`RenderError`]. Its warnings (a file cut
//! short, stray bytes) are not fatal: like a browser, the frame shows what could be decoded,
//! with the missing part grey.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mozjpeg::{ColorSpace, Decompress, Marker};

use super::compose::Target;
use super::orient::from_exif;
use super::resize::{Channels, Decoded};
use super::{decode, Format, Limits, PhotoInfo, RenderError};

/// Reads size and orientation from the header.
pub(super) fn probe(bytes: &[u8]) -> Result<PhotoInfo, RenderError> {
    guarded(|| {
        let d = Decompress::with_markers(&[Marker::APP(1)]).from_mem(bytes)?;
        let orientation = d
            .markers()
            .find(|m| m.data.starts_with(b"Exif\0\0"))
            .map_or(image::metadata::Orientation::NoTransforms, |m| from_exif(m.data));
        let (width, height) = d.size();
        Ok(PhotoInfo {
            format: Format::Jpeg,
            width: width as u32,
            height: height as u32,
            orientation,
        })
    })
}

/// Decodes at the smallest DCT scale that still leaves at least `target.out` pixels for the
/// resize to work from, so that quality is the resize's, not the decoder's.
pub(super) fn decode(
    bytes: &[u8],
    info: &PhotoInfo,
    target: &Target,
    limits: &Limits,
) -> Result<Decoded, RenderError> {
    let scale = dct_scale(target);
    let size = (info.width, info.height);
    let (dw, dh) = (scaled(info.width, scale), scaled(info.height, scale));
    let progressive = Sof::find(bytes).is_some_and(|sof| sof.progressive);
    // A progressive JPEG keeps every DCT coefficient of the whole photo until its last scan:
    // two bytes a sample, whatever the output scale. Counted as if no chroma were subsampled,
    // which errs on the side of refusing.
    let coefficients =
        if progressive { 2 * 3 * u64::from(info.width) * u64::from(info.height) } else { 0 };
    limits.check_budget(Format::Jpeg, size, coefficients + 4 * u64::from(dw) * u64::from(dh))?;
    let decoded = guarded(|| {
        let mut d = Decompress::new_mem(bytes)?;
        if matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK) {
            return Ok(None);
        }
        d.scale(scale);
        let mut started = d.to_colorspace(ColorSpace::JCS_EXT_RGBX)?;
        let (width, height) = (started.width() as u32, started.height() as u32);
        let mut pixels = vec![0u8; width as usize * height as usize * 4];
        started.read_scanlines_into(&mut pixels)?;
        // Not `finish()`: it would complain about data after the last row that a truncated or
        // padded file lacks or has, and the rows are already complete.
        Ok(Some(Decoded { width, height, pixels, channels: Channels::Rgbx }))
    })?;
    match decoded {
        Some(decoded) => Ok(decoded),
        // Print shops' CMYK JPEGs are rare from a phone; the general decoder converts them
        // correctly (Adobe's inverted CMYK included), at full size, within its own budget.
        None => decode::decode(bytes, info, limits),
    }
}

/// The numerator N of the N/8 scale libjpeg decodes at: the smallest that keeps the region of
/// the photo on screen at least as large as its place on the slide.
fn dct_scale(target: &Target) -> u8 {
    let need = |out: u32, region: f64| (8.0 * f64::from(out) / region).ceil();
    let n = need(target.out.0, target.region.0).max(need(target.out.1, target.region.1));
    n.clamp(1.0, 8.0) as u8
}

/// The size of one dimension at scale N/8, rounded up as libjpeg does.
fn scaled(dimension: u32, n: u8) -> u32 {
    (u64::from(dimension) * u64::from(n)).div_ceil(8) as u32
}

/// The start-of-frame segment, found by walking the marker segments from the start of the file.
/// libjpeg does not tell whether a file is progressive before it allocates for it; this does.
struct Sof {
    progressive: bool,
}

impl Sof {
    fn find(bytes: &[u8]) -> Option<Sof> {
        let mut pos = 2; // after SOI
        loop {
            // Markers may be padded with any number of 0xFF fill bytes.
            while *bytes.get(pos)? == 0xFF && *bytes.get(pos + 1)? == 0xFF {
                pos += 1;
            }
            if bytes[pos] != 0xFF {
                return None;
            }
            let marker = *bytes.get(pos + 1)?;
            match marker {
                // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
                0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                    return Some(Sof { progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE) })
                }
                // Start of scan or end of image before any frame: not a valid file.
                0xD9 | 0xDA => return None,
                _ => {
                    let len = u16::from_be_bytes([*bytes.get(pos + 2)?, *bytes.get(pos + 3)?]);
                    pos += 2 + usize::from(len);
                }
            }
        }
    }
}

/// Runs a call into libjpeg, turning its unwinding errors and its I/O errors into a
/// [`RenderError::Corrupt`].
fn guarded<T>(f: impl FnOnce() -> std::io::Result<T>) -> Result<T, RenderError> {
    let corrupt = |detail: String| RenderError::Corrupt { format: "JPEG", detail };
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(corrupt(e.to_string())),
        Err(payload) => {
            let detail = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("libjpeg failed");
            Err(corrupt(detail.trim_start_matches("libjpeg fatal error: ").to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_leaves_at_least_the_slide_size() {
        // 12 MP to a 1440×1080 spot: 3/8 gives 1512×1134, 2/8 would give 1008×756.
        assert_eq!(dct_scale(&Target::whole((1440, 1080), (4032, 3024))), 3);
        // 48 MP to 1440×1080: 2/8 gives 2000×1500.
        assert_eq!(dct_scale(&Target::whole((1440, 1080), (8000, 6000))), 2);
        // Tiny slides decode at 1/8; small photos at full size.
        assert_eq!(dct_scale(&Target::whole((64, 48), (4032, 3024))), 1);
        assert_eq!(dct_scale(&Target::whole((1920, 1080), (640, 480))), 8);
        assert_eq!(scaled(4032, 3), 1512);
        assert_eq!(scaled(4033, 1), 505);
    }

    #[test]
    fn sof_walk_finds_progressive_and_baseline() {
        let seg = |m: u8, body: &[u8]| {
            let mut v = vec![0xFF, m];
            v.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
            v.extend_from_slice(body);
            v
        };
        let file = |sof: u8| {
            [vec![0xFF, 0xD8], seg(0xE0, b"JFIF\0"), vec![0xFF], seg(sof, &[8; 9])].concat()
        };
        assert!(!Sof::find(&file(0xC0)).unwrap().progressive);
        assert!(Sof::find(&file(0xC2)).unwrap().progressive);
        assert!(Sof::find(&[0xFF, 0xD8, 0xFF]).is_none());
        assert!(Sof::find(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]).is_none());
    }
}
