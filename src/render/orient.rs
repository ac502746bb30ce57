//! EXIF orientation: phones store pixels as the sensor saw them and record in a tag how to turn
//! them upright. All eight values are honoured.

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

/// Whether `o` swaps width and height (every quarter turn does).
pub(crate) fn transposes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The size of a `stored` image once `o` is applied.
pub(crate) fn upright_size(stored: (u32, u32), o: Orientation) -> (u32, u32) {
    swap_if(transposes(o), stored)
}

pub(crate) fn swap_if<T>(swap: bool, (a, b): (T, T)) -> (T, T) {
    if swap {
        (b, a)
    } else {
        (a, b)
    }
}

/// Turns stored pixels upright.
pub(crate) fn apply(image: RgbaImage, o: Orientation) -> RgbaImage {
    if o == Orientation::NoTransforms {
        return image;
    }
    let mut image = DynamicImage::ImageRgba8(image);
    image.apply_orientation(o);
    image.into_rgba8()
}

/// The orientation in a JPEG APP1 segment or any raw EXIF block; `NoTransforms` when the block
/// has none or an invalid one (a wrong tag must not make a photo unviewable).
pub(crate) fn from_exif(block: &[u8]) -> Orientation {
    let tiff = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 image whose every pixel is distinct, to follow where each one goes.
    fn sample() -> RgbaImage {
        RgbaImage::from_fn(3, 2, |x, y| image::Rgba([x as u8, y as u8, 0, 255]))
    }

    fn at(img: &RgbaImage, x: u32, y: u32) -> (u8, u8) {
        let p = img.get_pixel(x, y);
        (p[0], p[1])
    }

    #[test]
    fn all_eight_orientations_put_the_top_left_corner_where_exif_says() {
        // For each EXIF value: where the stored (0,0) pixel ends up, by the EXIF spec's
        // definition of which stored corner is the upright top-left.
        let cases = [
            (1, (3, 2), (0, 0)),
            (2, (3, 2), (2, 0)),
            (3, (3, 2), (2, 1)),
            (4, (3, 2), (0, 1)),
            (5, (2, 3), (0, 0)),
            (6, (2, 3), (1, 0)),
            (7, (2, 3), (1, 2)),
            (8, (2, 3), (0, 2)),
        ];
        for (exif, size, corner) in cases {
            let o = Orientation::from_exif(exif).unwrap();
            let out = apply(sample(), o);
            assert_eq!(out.dimensions(), size, "EXIF {exif}");
            assert_eq!(upright_size((3, 2), o), size, "EXIF {exif}");
            assert_eq!(at(&out, corner.0, corner.1), (0, 0), "EXIF {exif}");
        }
    }

    #[test]
    fn garbage_exif_means_upright() {
        assert_eq!(from_exif(b"Exif\0\0nonsense"), Orientation::NoTransforms);
        assert_eq!(from_exif(b""), Orientation::NoTransforms);
    }
}
