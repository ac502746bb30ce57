//! Resizing with `fast_image_resize`: SIMD convolution (AVX2 here, NEON on a Pi, picked at run
//! time), with alpha premultiplied around the filter so that transparent edges do not bleed.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{
    FilterType, IntoImageViewMut, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbaImage;

use super::compose::Target;

/// Decoded pixels, 8 bits per channel, as stored in the file (not yet oriented).
pub(crate) struct Decoded {
    pub width: u32,
    pub height: u32,
    /// Row-major, no padding, laid out as `channels` says.
    pub pixels: Vec<u8>,
    pub channels: Channels,
}

/// How the bytes of a [`Decoded`] pixel are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channels {
    /// Three bytes a pixel, no alpha: what a PNG or TIFF without transparency decodes to.
    Rgb,
    /// Four bytes a pixel whose fourth is always 255: what the JPEG path decodes to, because
    /// four-byte pixels resize faster (aligned SIMD lanes) and need no widening afterwards.
    Rgbx,
    /// Four bytes a pixel with straight (not premultiplied) alpha.
    Rgba,
}

/// Resizes the centred region of `src` that `target` names to `target.out`, Lanczos3.
pub(crate) fn resize(src: &Decoded, target: &Target) -> RgbaImage {
    let (out_w, out_h) = target.out;
    let mut dst = Image::new(out_w, out_h, pixel_type(src.channels));
    resize_into(src, target, &mut dst);
    let rgba = match src.channels {
        Channels::Rgb => rgb_to_rgba(dst.buffer()),
        Channels::Rgbx | Channels::Rgba => dst.into_vec(),
    };
    RgbaImage::from_raw(out_w, out_h, rgba).expect("the resized buffer is out_w × out_h RGBA")
}

/// Resizes like [`resize`], into `dst`: a new image, or a photo-sized rectangle of a slide
/// (which saves a copy of the photo). `dst` must have `src`'s pixel type.
pub(crate) fn resize_into(src: &Decoded, target: &Target, dst: &mut impl IntoImageViewMut) {
    let src_image = ImageRef::new(src.width, src.height, &src.pixels, pixel_type(src.channels))
        .expect("a Decoded buffer holds exactly width × height pixels");
    // The region is in the full-size photo's pixels; a DCT-scaled decode is smaller.
    let scale_x = f64::from(src.width) / f64::from(target.full.0);
    let scale_y = f64::from(src.height) / f64::from(target.full.1);
    // Clamped: rounding must not reach past the image, which the resizer would reject.
    let region_w = (target.region.0 * scale_x).min(f64::from(src.width));
    let region_h = (target.region.1 * scale_y).min(f64::from(src.height));
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(
            (f64::from(src.width) - region_w) / 2.0,
            (f64::from(src.height) - region_h) / 2.0,
            region_w,
            region_h,
        )
        .use_alpha(src.channels == Channels::Rgba);
    Resizer::new()
        .resize(&src_image, dst, &options)
        .expect("source and destination have the same pixel type and a non-empty size");
}

fn pixel_type(channels: Channels) -> PixelType {
    match channels {
        Channels::Rgb => PixelType::U8x3,
        Channels::Rgbx | Channels::Rgba => PixelType::U8x4,
    }
}

/// Adds an opaque alpha channel.
pub(crate) fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(rgb.len() / 3 * 4);
    for px in rgb.chunks_exact(3) {
        rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    rgba
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_edges_do_not_bleed_dark() {
        // Left half opaque white, right half fully transparent *black*: without premultiplied
        // alpha the filter mixes that black into the white edge and leaves a dark fringe.
        let (w, h) = (64u32, 8u32);
        let mut pixels = Vec::new();
        for _y in 0..h {
            for x in 0..w {
                pixels.extend_from_slice(if x < w / 2 {
                    &[255, 255, 255, 255]
                } else {
                    &[0, 0, 0, 0]
                });
            }
        }
        let src = Decoded { width: w, height: h, pixels, channels: Channels::Rgba };
        let target = Target { out: (16, 2), region: (f64::from(w), f64::from(h)), full: (w, h) };
        let out = resize(&src, &target);
        for px in out.pixels().filter(|p| p[3] > 16) {
            assert!(px[0] > 240, "visible pixel darkened by transparent neighbours: {px:?}");
        }
    }

    #[test]
    fn region_is_scaled_to_a_reduced_decode() {
        // A centred half-width region of a 100×10 photo, decoded at half size (50×5).
        let pixels: Vec<u8> = (0..50u32 * 5)
            .flat_map(|i| {
                let x = i % 50;
                if (12..38).contains(&x) {
                    [200, 200, 200]
                } else {
                    [0, 0, 0]
                }
            })
            .collect();
        let src = Decoded { width: 50, height: 5, pixels, channels: Channels::Rgb };
        let target = Target { out: (10, 2), region: (50.0, 10.0), full: (100, 10) };
        let out = resize(&src, &target);
        // The region (x 12.5..37.5 at half size) is nearly all grey: no black at its edges.
        assert!(out.pixels().all(|p| p[0] > 150 && p[3] == 255), "{:?}", out.as_raw());
    }
}
