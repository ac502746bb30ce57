//! Where the photo goes on the slide (fit geometry), and the slide itself: the matte, then the
//! photo over it.

use fast_image_resize::images::{CroppedImage, Image, ImageRef};
use fast_image_resize::{FilterType, IntoImageView, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::RgbaImage;

use super::orient::{swap_if, transposes};
use super::{Fit, Matte, Slide};

/// Where an upright photo lands on a slide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// The slide's size.
    pub slide: (u32, u32),
    /// The photo's upright size, full resolution.
    pub photo: (u32, u32),
    /// The photo's rectangle on the slide: x, y, width, height.
    pub dest: (u32, u32, u32, u32),
    /// The centred part of the upright photo that is shown, in its own pixels: all of it for
    /// `contain`, less along one axis for `cover`. Fractional, so that no rounding skews the
    /// aspect ratio.
    pub region: (f64, f64),
}

impl Layout {
    pub fn new(photo: (u32, u32), slide: (u32, u32), fit: Fit) -> Layout {
        let (pw, ph) = (f64::from(photo.0), f64::from(photo.1));
        let (sw, sh) = (f64::from(slide.0), f64::from(slide.1));
        match fit {
            Fit::Contain => {
                let scale = (sw / pw).min(sh / ph);
                // At least one pixel, so a 1×5000 panorama still shows as a line.
                let w = ((pw * scale).round() as u32).clamp(1, slide.0);
                let h = ((ph * scale).round() as u32).clamp(1, slide.1);
                Layout {
                    slide,
                    photo,
                    dest: ((slide.0 - w) / 2, (slide.1 - h) / 2, w, h),
                    region: (pw, ph),
                }
            }
            Fit::Cover => {
                let scale = (sw / pw).max(sh / ph);
                Layout {
                    slide,
                    photo,
                    dest: (0, 0, slide.0, slide.1),
                    region: ((sw / scale).min(pw), (sh / scale).min(ph)),
                }
            }
        }
    }

    /// Pixels cut from each side of the upright photo, left-right and top-bottom: none for
    /// `contain`, the overflow's halves for `cover`.
    pub fn crop(&self) -> (u32, u32) {
        let cut = |full: u32, kept: f64| ((f64::from(full) - kept).max(0.0) / 2.0) as u32;
        (cut(self.photo.0, self.region.0), cut(self.photo.1, self.region.1))
    }

    /// Whether the photo covers the whole slide, leaving no bars to fill.
    pub fn fills_slide(&self) -> bool {
        (self.dest.2, self.dest.3) == self.slide
    }

    /// The same layout in the stored pixels' frame, before orientation: a centred region stays
    /// centred under every flip and rotation, only the axes swap.
    pub(crate) fn stored(&self, o: Orientation) -> Target {
        let swap = transposes(o);
        Target {
            out: swap_if(swap, (self.dest.2, self.dest.3)),
            region: swap_if(swap, self.region),
            full: swap_if(swap, self.photo),
        }
    }
}

/// What the resize must produce, in the stored (not yet oriented) frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    /// The resized photo's size.
    pub out: (u32, u32),
    /// The centred region of the photo to resize, in full-resolution pixels.
    pub region: (f64, f64),
    /// The photo's full-resolution size, to scale `region` to a reduced decode.
    pub full: (u32, u32),
}

/// A zeroed slide of `size`, to paint a photo and its matte on.
pub(crate) fn blank((sw, sh): (u32, u32)) -> Image<'static> {
    Image::new(sw, sh, PixelType::U8x4)
}

#[cfg(test)]
impl Target {
    /// A target that shows the whole of a `full`-sized photo at `out`.
    pub(crate) fn whole(out: (u32, u32), full: (u32, u32)) -> Target {
        Target { out, region: (f64::from(full.0), f64::from(full.1)), full }
    }
}

/// Puts the upright, resized `photo` (of size `layout.dest`) on a slide over `matte`.
pub(crate) fn compose(photo: RgbaImage, layout: &Layout, matte: Matte) -> Slide {
    let (sw, sh) = layout.slide;
    let opaque = photo.pixels().all(|p| p[3] == 255);
    if layout.fills_slide() && opaque {
        debug_assert_eq!(photo.dimensions(), (sw, sh));
        return Slide::from_image(photo);
    }
    let mut slide = blank(layout.slide);
    let (x0, y0, w, _) = layout.dest;
    if !opaque {
        // A see-through photo needs the matte under all of it, not just beside it.
        let src = ImageRef::new(photo.width(), photo.height(), photo.as_raw(), PixelType::U8x4)
            .expect("an RgbaImage is width × height U8x4 pixels");
        let tiny = (matte == Matte::Blur).then(|| blurred_tiny(&src, layout.slide));
        paint_matte(&mut slide, tiny.as_ref(), layout.slide, (0, 0, sw, sh));
    }
    let row_bytes = w as usize * 4;
    let buffer = slide.buffer_mut();
    for (y, row) in photo.as_raw().chunks_exact(row_bytes).enumerate() {
        let start = ((y0 as usize + y) * sw as usize + x0 as usize) * 4;
        let out = &mut buffer[start..start + row_bytes];
        if opaque {
            out.copy_from_slice(row);
        } else {
            for (dst, src) in out.chunks_exact_mut(4).zip(row.chunks_exact(4)) {
                over(dst, src);
            }
        }
    }
    if opaque {
        finish(slide, layout, matte)
    } else {
        into_slide(slide)
    }
}

/// Paints the matte in the bars around an opaque photo already in its place on `slide`.
pub(crate) fn finish(mut slide: Image<'static>, layout: &Layout, matte: Matte) -> Slide {
    let bars = bars(layout);
    if !bars.is_empty() {
        let (x, y, w, h) = layout.dest;
        let tiny = (matte == Matte::Blur).then(|| {
            let photo = CroppedImage::new(&slide, x, y, w, h).expect("dest lies on the slide");
            blurred_tiny(&photo, layout.slide)
        });
        for rect in bars {
            paint_matte(&mut slide, tiny.as_ref(), layout.slide, rect);
        }
    }
    into_slide(slide)
}

/// The slide in a U8x4 image made by [`blank`].
/// How much smaller than a veiled slide its blur is computed: four times the matte's shrink,
/// so that shapes and faces are gone and only the colours are left.
const VEIL_SHRINK: u32 = 4;

/// A slide reduced to its blurred, darkened colours: what a spoiler shows, so that the room
/// sees that a photo is there without seeing it.
pub fn veil(slide: &Slide) -> Slide {
    let (sw, sh) = slide.size();
    let src = ImageRef::new(sw, sh, slide.rgba(), PixelType::U8x4)
        .expect("a slide is width × height RGBA");
    let small = (sw.div_ceil(VEIL_SHRINK), sh.div_ceil(VEIL_SHRINK));
    let tiny = blurred_tiny(&src, small);
    let mut out = blank((sw, sh));
    paint_matte(&mut out, Some(&tiny), (sw, sh), (0, 0, sw, sh));
    into_slide(out)
}

fn into_slide(image: Image<'static>) -> Slide {
    let (width, height) = (image.width(), image.height());
    Slide::new(width, height, image.into_vec()).expect("a U8x4 image is width × height × 4 bytes")
}

/// The parts of the slide outside the photo: bands above and below it, and beside it.
fn bars(layout: &Layout) -> Vec<(u32, u32, u32, u32)> {
    let (sw, sh) = layout.slide;
    let (x0, y0, w, h) = layout.dest;
    [(0, 0, sw, y0), (0, y0 + h, sw, sh - y0 - h), (0, y0, x0, h), (x0 + w, y0, sw - x0 - w, h)]
        .into_iter()
        .filter(|&(_, _, w, h)| w > 0 && h > 0)
        .collect()
}

/// Paints `rect` of the slide with the blurred matte `tiny` enlarged, or black without one.
fn paint_matte(
    slide: &mut Image<'static>,
    tiny: Option<&Image<'static>>,
    slide_size: (u32, u32),
    rect: (u32, u32, u32, u32),
) {
    let (x, y, w, h) = rect;
    let row_bytes = w as usize * 4;
    let stride = slide_size.0 as usize * 4;
    let buffer = slide.buffer_mut();
    match tiny {
        None => {
            for row in 0..h as usize {
                let start = (y as usize + row) * stride + x as usize * 4;
                for px in buffer[start..start + row_bytes].chunks_exact_mut(4) {
                    px.copy_from_slice(&[0, 0, 0, 255]);
                }
            }
        }
        Some(tiny) => {
            let part = enlarge(tiny, slide_size, rect);
            for (row, src) in part.buffer().chunks_exact(row_bytes).enumerate() {
                let start = (y as usize + row) * stride + x as usize * 4;
                buffer[start..start + row_bytes].copy_from_slice(src);
            }
        }
    }
}

/// Blends a straight-alpha `src` pixel over an opaque `dst` pixel.
fn over(dst: &mut [u8], src: &[u8]) {
    let a = u32::from(src[3]);
    for c in 0..3 {
        dst[c] = ((u32::from(src[c]) * a + u32::from(dst[c]) * (255 - a) + 127) / 255) as u8;
    }
    dst[3] = 255;
}

/// How much smaller than the slide the blurred matte is computed.
const SHRINK: u32 = 24;

/// The photo cropped to the slide's shape, shrunk hard, blurred and darkened: the matte at
/// 1/[`SHRINK`] of the slide's size. Shrinking first makes the blur cheap: it runs on a few
/// thousand pixels, not millions.
fn blurred_tiny(photo: &impl IntoImageView, (sw, sh): (u32, u32)) -> Image<'static> {
    let (tw, th) = (sw.div_ceil(SHRINK), sh.div_ceil(SHRINK));
    let mut tiny = Image::new(tw, th, PixelType::U8x4);
    let shrink = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Box))
        .fit_into_destination(None)
        .use_alpha(false);
    Resizer::new().resize(photo, &mut tiny, &shrink).expect("same pixel type, non-empty sizes");
    let tiny = RgbaImage::from_raw(tw, th, tiny.into_vec()).expect("tw × th RGBA");
    let mut soft = image::imageops::fast_blur(&tiny, 1.5);
    // Darkened while small: scaling is linear, so this is the same as darkening the result.
    for px in soft.pixels_mut() {
        // About 40 % brightness: the bars recede and the photo stands out.
        for c in &mut px.0[..3] {
            *c = ((u16::from(*c) * 102) >> 8) as u8;
        }
        px.0[3] = 255;
    }
    Image::from_vec_u8(tw, th, soft.into_raw(), PixelType::U8x4).expect("fast_blur keeps the size")
}

/// The part of `tiny`, enlarged to the slide's size, that lies under `rect`. Enlarging only
/// the bars, not the whole slide, is most of the matte's cost saved.
fn enlarge(
    tiny: &Image<'_>,
    (sw, sh): (u32, u32),
    (x, y, w, h): (u32, u32, u32, u32),
) -> Image<'static> {
    let fx = f64::from(tiny.width()) / f64::from(sw);
    let fy = f64::from(tiny.height()) / f64::from(sh);
    let (cx, cy) = (f64::from(x) * fx, f64::from(y) * fy);
    // Clamped: rounding may otherwise reach a hair past the tiny image's edge, which the
    // resizer rejects.
    let cw = (f64::from(w) * fx).min(f64::from(tiny.width()) - cx);
    let ch = (f64::from(h) * fy).min(f64::from(tiny.height()) - cy);
    let mut part = Image::new(w, h, PixelType::U8x4);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(cx, cy, cw, ch)
        .use_alpha(false);
    Resizer::new().resize(tiny, &mut part, &options).expect("same pixel type, non-empty sizes");
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contain_centres_and_keeps_the_aspect_ratio() {
        let l = Layout::new((4032, 3024), (1920, 1080), Fit::Contain);
        assert_eq!(l.dest, (240, 0, 1440, 1080));
        assert_eq!(l.region, (4032.0, 3024.0));
        assert!(!l.fills_slide());
        // A portrait photo on a landscape screen: bars left and right.
        let l = Layout::new((3024, 4032), (1920, 1080), Fit::Contain);
        assert_eq!(l.dest, (555, 0, 810, 1080));
        // Small photos are enlarged to fit.
        let l = Layout::new((160, 90), (1920, 1080), Fit::Contain);
        assert_eq!(l.dest, (0, 0, 1920, 1080));
        assert!(l.fills_slide());
    }

    #[test]
    fn cover_fills_and_crops_the_centre() {
        let l = Layout::new((4032, 3024), (1920, 1080), Fit::Cover);
        assert_eq!(l.dest, (0, 0, 1920, 1080));
        assert_eq!(l.region, (4032.0, 2268.0));
        let l = Layout::new((1000, 5000), (800, 800), Fit::Cover);
        assert_eq!(l.region, (1000.0, 1000.0));
    }

    #[test]
    fn extreme_panoramas_keep_at_least_a_pixel() {
        let l = Layout::new((100_000, 1), (1920, 1080), Fit::Contain);
        assert_eq!((l.dest.2, l.dest.3), (1920, 1));
    }

    #[test]
    fn stored_layout_swaps_axes_for_quarter_turns() {
        let l = Layout::new((3024, 4032), (1920, 1080), Fit::Cover);
        let t = l.stored(Orientation::Rotate90);
        assert_eq!(t.out, (1080, 1920));
        assert_eq!(t.full, (4032, 3024));
        assert_eq!(t.region, (l.region.1, l.region.0));
        assert_eq!(l.stored(Orientation::Rotate180).out, (1920, 1080));
    }

    #[test]
    fn black_matte_leaves_black_bars() {
        let l = Layout::new((10, 10), (30, 10), Fit::Contain);
        let photo = RgbaImage::from_pixel(10, 10, image::Rgba([200, 100, 50, 255]));
        let s = compose(photo, &l, Matte::Black);
        assert_eq!(&s.rgba()[..4], &[0, 0, 0, 255]);
        let centre = ((5 * 30 + 15) * 4) as usize;
        assert_eq!(&s.rgba()[centre..centre + 4], &[200, 100, 50, 255]);
    }

    #[test]
    fn a_veiled_slide_keeps_the_colours_and_loses_the_detail() {
        // Black and white stripes two pixels wide: detail that any sharp copy would keep.
        let (w, h) = (480, 270);
        let rgba: Vec<u8> = (0..w * h)
            .flat_map(|i| if (i % w / 2) % 2 == 0 { [255, 255, 255, 255] } else { [0, 0, 0, 255] })
            .collect();
        let slide = Slide::new(w, h, rgba).unwrap();
        let veiled = veil(&slide);
        assert_eq!(veiled.size(), (w, h));
        let grey: Vec<u8> = veiled.rgba().chunks_exact(4).map(|p| p[0]).collect();
        let (lo, hi) = (grey.iter().min().unwrap(), grey.iter().max().unwrap());
        assert!(hi - lo < 8, "the stripes are gone: {lo}..{hi}");
        // Mid-grey, darkened like the matte (40 % of 128).
        assert!((40..=62).contains(lo), "{lo}");
    }

    #[test]
    fn blurred_matte_is_a_darkened_version_of_the_photo() {
        let l = Layout::new((100, 100), (300, 100), Fit::Contain);
        let photo = RgbaImage::from_pixel(100, 100, image::Rgba([250, 120, 10, 255]));
        let s = compose(photo, &l, Matte::Blur);
        let bar = &s.rgba()[(50 * 300 + 10) * 4..][..4];
        // Same hue, about 40 % as bright.
        assert!((95..=105).contains(&bar[0]) && (42..=52).contains(&bar[1]), "{bar:?}");
        assert_eq!(bar[3], 255);
    }

    #[test]
    fn transparent_photos_are_blended_over_the_matte() {
        let l = Layout::new((4, 4), (4, 4), Fit::Contain);
        let photo = RgbaImage::from_pixel(4, 4, image::Rgba([255, 255, 255, 128]));
        let s = compose(photo, &l, Matte::Black);
        assert_eq!(&s.rgba()[..4], &[128, 128, 128, 255]);
    }
}
