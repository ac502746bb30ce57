//! The slide a moving picture plays on: its still (the first frame over the matte, with the
//! caption), into which each frame is copied. The matte is painted once, not every frame (a
//! blurred matte costs more than a Pi can spend 30 times a second), and the caption is put
//! back over each frame from a mask drawn once.

use std::sync::Arc;

use crate::render::i420::{FrameBytes, I420};
use crate::render::{text, Layout, Slide};

/// The still and where frames go on it.
#[derive(Debug, Clone)]
pub struct Backdrop {
    still: Arc<Slide>,
    /// The picture's rectangle on the slide: x, y, width, height.
    dest: (u32, u32, u32, u32),
    /// The caption's coverage (0..=255) for each pixel of the band along the bottom, from
    /// `band_top` down; `None` without a caption.
    caption: Option<(u32, Vec<u8>)>,
}

impl Backdrop {
    /// `still` is the slide as rendered for the screen; `caption` the line drawn on it, if any.
    pub fn new(still: Arc<Slide>, layout: &Layout, caption: Option<&str>) -> Backdrop {
        let (w, h) = still.size();
        let caption = caption.map(|line| {
            // Drawn on black, the caption's pixels are exactly its coverage: the band stays
            // black when darkened, and white text blends in as its alpha.
            let mut black = Slide::filled(w, h, [0, 0, 0, 255]);
            text::caption(&mut black, line);
            let top = h - text::caption_band(&black);
            let mask =
                black.rgba()[(top * w * 4) as usize..].chunks_exact(4).map(|p| p[0]).collect();
            (top, mask)
        });
        Backdrop { still, dest: layout.dest, caption }
    }

    /// The still itself: what shows before the first frame and while nothing plays.
    pub fn still(&self) -> &Arc<Slide> {
        &self.still
    }

    /// The size a frame must have: the picture's rectangle on the slide.
    pub fn frame_size(&self) -> (u32, u32) {
        (self.dest.2, self.dest.3)
    }

    /// The slide with `frame` (RGBA, [`Self::frame_size`]) in the picture's place. A frame's
    /// see-through pixels show black: an animation's background is the picture's own.
    pub fn compose(&self, frame: &[u8]) -> Slide {
        let (sw, _) = self.still.size();
        let (x0, y0, w, h) = self.dest;
        let mut out = self.still.rgba().to_vec();
        let row = w as usize * 4;
        for (y, src) in frame.chunks_exact(row).take(h as usize).enumerate() {
            let at = ((y0 as usize + y) * sw as usize + x0 as usize) * 4;
            let dst = &mut out[at..at + row];
            dst.copy_from_slice(src);
            for px in dst.chunks_exact_mut(4).filter(|p| p[3] != 255) {
                let a = u32::from(px[3]);
                for ch in &mut px[..3] {
                    *ch = (u32::from(*ch) * a / 255) as u8;
                }
                px[3] = 255;
            }
        }
        if let Some((top, mask)) = &self.caption {
            // Only the part of the band over the picture: the rest is the still's, already
            // captioned.
            for y in (*top).max(y0)..(y0 + h).min(self.still.height()) {
                for x in x0..x0 + w {
                    let a = u32::from(mask[((y - top) * sw + x) as usize]);
                    let i = ((y * sw + x) * 4) as usize;
                    for ch in &mut out[i..i + 3] {
                        let dark = (u32::from(*ch) * text::CAPTION_KEEP) >> 8;
                        *ch = ((dark * (255 - a) + 255 * a) / 255) as u8;
                    }
                }
            }
        }
        Slide::new(sw, self.still.height(), out).expect("the still's own size")
    }

    /// Like [`Self::compose`], for a clip's frame (opaque, I420, laid out as `layout` says),
    /// given with its memory: a frame that fills the screen under no caption becomes the slide
    /// as it is, to be converted by whatever shows it, the usual case for a clip.
    pub fn compose_i420(&self, layout: I420, raw: FrameBytes) -> Slide {
        // `Frames` reads exactly a frame's worth; the still is kept if one ever was not.
        let frame = match Slide::from_i420(layout, raw) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!("a frame was not shown: {e}");
                return self.still.as_ref().clone();
            }
        };
        let (sw, sh) = self.still.size();
        if self.dest == (0, 0, sw, sh) && frame.size() == (sw, sh) && self.caption.is_none() {
            return frame;
        }
        self.compose(frame.rgba())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Fit;

    /// A frame put on the backdrop looks as if the whole slide had been rendered from it: the
    /// caption over it is the one `text::caption` draws.
    #[test]
    fn a_frame_gets_the_caption_the_still_has() {
        let layout = Layout::new((160, 90), (320, 200), Fit::Contain);
        let (x, y, w, h) = layout.dest;
        let frame: Vec<u8> = (0..w * h).flat_map(|i| [(i % 251) as u8, 90, 200, 255]).collect();
        // The expected slide: the frame on black, captioned.
        let mut expected = Slide::filled(320, 200, [0, 0, 0, 255]);
        for row in 0..h {
            let at = (((y + row) * 320 + x) * 4) as usize;
            let src = &frame[(row * w * 4) as usize..((row + 1) * w * 4) as usize];
            expected.rgba_mut()[at..at + src.len()].copy_from_slice(src);
        }
        text::caption(&mut expected, "At the lake");
        let mut still = Slide::filled(320, 200, [0, 0, 0, 255]);
        text::caption(&mut still, "At the lake");
        let backdrop = Backdrop::new(Arc::new(still), &layout, Some("At the lake"));
        assert_eq!(backdrop.frame_size(), (w, h));
        let got = backdrop.compose(&frame);
        let off = got.rgba().iter().zip(expected.rgba()).filter(|(a, b)| a.abs_diff(**b) > 1);
        assert_eq!(off.count(), 0, "the composed frame differs from a captioned render");
        // Without a caption, the frame is copied as it is.
        let plain = Backdrop::new(Arc::new(Slide::filled(320, 200, [9, 9, 9, 255])), &layout, None);
        let got = plain.compose(&frame);
        assert_eq!(&got.rgba()[..4], &[9, 9, 9, 255], "the still's matte is kept");
        let at = ((y * 320 + x) * 4) as usize;
        assert_eq!(&got.rgba()[at..at + 8], &frame[..8]);
    }
}
