//! A screen mounted turned (`[display] rotate`): slides are composed for the screen as a
//! person sees it, and turned to the panel's own orientation only when presented.

use serde::{Deserialize, Serialize};

use super::Slide;

/// How far the picture is turned, clockwise, on its way to the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum Rotate {
    #[default]
    None,
    /// A quarter turn clockwise: for a screen mounted turned a quarter anticlockwise (its
    /// top edge on the left).
    Quarter,
    Half,
    /// Three quarters clockwise (a quarter anticlockwise): for a screen whose top edge is on
    /// the right.
    ThreeQuarters,
}

impl TryFrom<u16> for Rotate {
    type Error = String;

    fn try_from(degrees: u16) -> Result<Rotate, String> {
        match degrees {
            0 => Ok(Rotate::None),
            90 => Ok(Rotate::Quarter),
            180 => Ok(Rotate::Half),
            270 => Ok(Rotate::ThreeQuarters),
            other => Err(format!("`{other}` is not a rotation: write 0, 90, 180 or 270")),
        }
    }
}

impl From<Rotate> for u16 {
    fn from(r: Rotate) -> u16 {
        match r {
            Rotate::None => 0,
            Rotate::Quarter => 90,
            Rotate::Half => 180,
            Rotate::ThreeQuarters => 270,
        }
    }
}

impl Rotate {
    /// Whether the picture's width is the panel's height.
    pub fn swaps(self) -> bool {
        matches!(self, Rotate::Quarter | Rotate::ThreeQuarters)
    }

    /// The size slides are composed at for a panel of `(width, height)`.
    pub fn composed(self, (width, height): (u32, u32)) -> (u32, u32) {
        if self.swaps() {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// `slide` turned for the panel.
    pub fn apply(self, slide: &Slide) -> Slide {
        use image::imageops;
        if self == Rotate::None {
            return slide.clone();
        }
        let (w, h) = slide.size();
        let Some(image) = image::RgbaImage::from_raw(w, h, slide.rgba().to_vec()) else {
            return slide.clone();
        };
        let turned = match self {
            Rotate::Quarter => imageops::rotate90(&image),
            Rotate::Half => imageops::rotate180(&image),
            Rotate::ThreeQuarters => imageops::rotate270(&image),
            Rotate::None => image,
        };
        Slide::from_image(turned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 slide whose pixels are numbered in their red channel, row by row.
    fn numbered() -> Slide {
        let rgba = (0..6u8).flat_map(|i| [i, 0, 0, 255]).collect();
        Slide::new(3, 2, rgba).unwrap()
    }

    fn reds(s: &Slide) -> Vec<u8> {
        s.rgba().chunks_exact(4).map(|p| p[0]).collect()
    }

    #[test]
    fn a_quarter_turn_is_clockwise_and_swaps_the_size() {
        // 0 1 2        3 0
        // 3 4 5   ->   4 1
        //              5 2
        let turned = Rotate::Quarter.apply(&numbered());
        assert_eq!(turned.size(), (2, 3));
        assert_eq!(reds(&turned), [3, 0, 4, 1, 5, 2]);
        assert_eq!(reds(&Rotate::Half.apply(&numbered())), [5, 4, 3, 2, 1, 0]);
        assert_eq!(reds(&Rotate::ThreeQuarters.apply(&numbered())), [2, 5, 1, 4, 0, 3]);
        assert_eq!(Rotate::Quarter.composed((1920, 1080)), (1080, 1920));
        assert_eq!(Rotate::Half.composed((1920, 1080)), (1920, 1080));
    }

    #[test]
    fn only_right_angles_are_accepted() {
        assert_eq!(Rotate::try_from(270), Ok(Rotate::ThreeQuarters));
        assert!(Rotate::try_from(45).unwrap_err().contains("0, 90, 180 or 270"));
    }
}
