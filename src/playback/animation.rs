//! Animated GIF, WebP and PNG: telling one from a still, its frames and their timings.
//!
//! The `image` crate's decoders give each frame as the whole canvas with the previous frames'
//! disposal already applied, one at a time: an animation is never held decoded in full.

use std::io::Cursor;
use std::time::Duration;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, Frames, RgbaImage};

use super::{MotionError, MotionInfo, MotionLimits, MAX_FRAMES};
use crate::render::{Format, RenderError};

/// Frames shown for less than this get this long, as browsers do: a GIF that says 0 ms means
/// "as fast as you can", which would spin a core for nothing.
pub const MIN_DELAY: Duration = Duration::from_millis(20);
/// What a frame that says 0 ms (or under [`MIN_DELAY`]) is shown for.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(100);

/// Whether `bytes` in `format` hold more than one frame: an animation to play. Reads the
/// headers only (for GIF, the first two frames' descriptors).
pub fn is_animated(bytes: &[u8], format: Format) -> bool {
    match format {
        Format::Png => {
            PngDecoder::new(Cursor::new(bytes)).and_then(|d| d.is_apng()).unwrap_or(false)
        }
        Format::WebP => WebPDecoder::new(Cursor::new(bytes)).is_ok_and(|d| d.has_animation()),
        Format::Gif => frames(bytes, format).is_ok_and(|mut f| {
            f.next().is_some_and(|f| f.is_ok()) && f.next().is_some_and(|f| f.is_ok())
        }),
        _ => false,
    }
}

/// The frames of an animation, decoded one at a time as the iterator is driven.
pub fn frames(bytes: &[u8], format: Format) -> Result<Frames<'_>, RenderError> {
    let damaged = |e: image::ImageError| RenderError::Corrupt {
        format: format.name(),
        detail: e.to_string(),
    };
    let cursor = Cursor::new(bytes);
    Ok(match format {
        Format::Gif => GifDecoder::new(cursor).map_err(damaged)?.into_frames(),
        Format::WebP => WebPDecoder::new(cursor).map_err(damaged)?.into_frames(),
        Format::Png => {
            PngDecoder::new(cursor).and_then(|d| d.apng()).map_err(damaged)?.into_frames()
        }
        _ => {
            return Err(RenderError::UnsupportedVariant {
                format: format.name(),
                detail: "it is not an animation".into(),
            })
        }
    })
}

/// How long a frame stays up.
pub fn delay(frame: &image::Frame) -> Duration {
    let d = Duration::from(frame.delay());
    if d < MIN_DELAY {
        DEFAULT_DELAY
    } else {
        d
    }
}

/// Goes through every frame once (decoding each, keeping none): proves the animation decodes
/// to its end and measures one play. Bounded by [`MAX_FRAMES`] and `limits.max_duration`.
pub fn probe(
    bytes: &[u8],
    format: Format,
    limits: &MotionLimits,
) -> Result<MotionInfo, ProbeError> {
    let mut total = Duration::ZERO;
    let mut size = (0, 0);
    for (n, frame) in frames(bytes, format)?.enumerate() {
        if n >= MAX_FRAMES {
            return Err(MotionError::TooManyFrames.into());
        }
        let frame = frame.map_err(|e| RenderError::Corrupt {
            format: format.name(),
            detail: format!("frame {}: {e}", n + 1),
        })?;
        size = frame.buffer().dimensions();
        total += delay(&frame);
        if total > limits.max_duration {
            return Err(MotionError::TooLong { length: total, limit: limits.max_duration }.into());
        }
    }
    Ok(MotionInfo { width: size.0, height: size.1, duration: total })
}

/// Why an animation was refused: like a photo (damaged, too large), or like a clip (too long).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Image(#[from] RenderError),
    #[error(transparent)]
    Motion(#[from] MotionError),
}

/// One decoded frame, as the canvas and how long it stays.
pub fn canvas(frame: image::Frame) -> (RgbaImage, Duration) {
    let d = delay(&frame);
    (frame.into_buffer(), d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame, Rgba};

    /// A GIF made here: `n` frames of `w`×`h`, each `ms` long.
    fn gif(n: u32, (w, h): (u32, u32), ms: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut out);
            enc.set_repeat(Repeat::Infinite).unwrap();
            for i in 0..n {
                let img = RgbaImage::from_pixel(w, h, Rgba([(i * 40) as u8, 0, 0, 255]));
                let frame = Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(ms, 1));
                enc.encode_frame(frame).unwrap();
            }
        }
        out
    }

    #[test]
    fn an_animation_is_measured_and_a_still_gif_is_a_photo() {
        let limits = MotionLimits::default();
        let anim = gif(5, (32, 24), 200);
        assert!(is_animated(&anim, Format::Gif));
        let info = probe(&anim, Format::Gif, &limits).unwrap();
        assert_eq!(info, MotionInfo { width: 32, height: 24, duration: Duration::from_secs(1) });
        assert!(!is_animated(&gif(1, (32, 24), 200), Format::Gif));
        // Zero delays play at 10 frames a second, not as fast as a core can go.
        let fast = probe(&gif(5, (8, 8), 0), Format::Gif, &limits).unwrap();
        assert_eq!(fast.duration, 5 * DEFAULT_DELAY);
        // Longer than the limit: refused in words, without decoding the rest.
        let short = MotionLimits { max_duration: Duration::from_millis(500), ..limits };
        let err = probe(&anim, Format::Gif, &short).unwrap_err();
        assert!(err.to_string().contains("[video] max_duration"), "{err}");
    }
}
