//! The slide a moving picture plays on: its still (the first frame over the matte, with the
//! caption), into which each frame is copied. The matte is painted once, not every frame (a
//! blurred matte costs more than a Pi can spend 30 times a second), and the caption is put
//! back over each frame from a mask drawn once.
//!
//! A clip's frame is not composed here at once: its slide keeps the frame and its backdrop
//! ([`Backdrop::frame`]), so that the presenter converts the frame straight into its buffer
//! and copies the still around it (once, while the buffer keeps it), as for a frame that fills
//! the screen (a phone's upright clip is letterboxed on a landscape screen).

use std::sync::Arc;

use super::i420::{FrameBytes, I420};
use super::{text, Frame, Layout, Slide};

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

    /// The picture's rectangle on the slide: x, y, width, height.
    pub fn dest(&self) -> (u32, u32, u32, u32) {
        self.dest
    }

    /// The caption over the picture, row by row: where the picture's part of each row of the
    /// band starts on the slide (a pixel's index), and the caption's coverage (0..=255) of its
    /// pixels. The rest of the band is the still's, already captioned; nothing without a
    /// caption.
    pub fn caption_rows(&self) -> impl Iterator<Item = (usize, &[u8])> + '_ {
        let (sw, sh) = (self.still.width() as usize, self.still.height() as usize);
        let (x0, y0, w, h) = self.dest;
        let (x0, y0, w, h) = (x0 as usize, y0 as usize, w as usize, h as usize);
        self.caption.iter().flat_map(move |(top, mask)| {
            let top = *top as usize;
            (top.max(y0)..(y0 + h).min(sh)).map(move |y| {
                let at = (y - top) * sw + x0;
                (y * sw + x0, &mask[at..at + w])
            })
        })
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
        for (at, cover) in self.caption_rows() {
            caption_rgba(&mut out[at * 4..(at + cover.len()) * 4], cover);
        }
        Slide::new(sw, self.still.height(), out).expect("the still's own size")
    }

    /// The slide for a clip's frame (opaque, I420, laid out as `layout` says), given with its
    /// memory: the frame on this backdrop, composed only when something asks for its RGBA. A
    /// frame that fills the screen under no caption is the slide alone.
    pub fn frame(self: &Arc<Self>, layout: I420, raw: FrameBytes) -> Slide {
        // `Frames` reads exactly a frame's worth; the still is kept if one ever was not.
        let mut frame = match Slide::from_i420(layout, raw) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!("a frame was not shown: {e}");
                return self.still.as_ref().clone();
            }
        };
        let (sw, sh) = self.still.size();
        if self.dest == (0, 0, sw, sh) && self.caption.is_none() && frame.size() == (sw, sh) {
            return frame;
        }
        if frame.size() == self.frame_size() {
            if let Some(alone) = frame.frame.take() {
                let on = Frame { backdrop: Some(self.clone()), ..alone };
                return Slide::framed(on, (sw, sh));
            }
        }
        self.compose(frame.rgba())
    }
}

/// A channel (0..=255) of a picture under a caption of coverage `a` (0..=255): darkened as
/// the caption's band is, and the caption's white over it.
pub fn under_caption(ch: u32, a: u32) -> u32 {
    let dark = (ch * text::CAPTION_KEEP) >> 8;
    (dark * (255 - a) + 255 * a) / 255
}

/// Puts a caption of coverage `cover` (0..=255 a pixel) over RGBA pixels, one per value.
pub fn caption_rgba(rgba: &mut [u8], cover: &[u8]) {
    for (px, &a) in rgba.chunks_exact_mut(4).zip(cover) {
        for ch in &mut px[..3] {
            *ch = under_caption(u32::from(*ch), u32::from(a)) as u8;
        }
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

    /// A clip's frame put on a backdrop stays the frame (for the presenter to convert in
    /// place) and reads as the composed slide; alone on the screen it is just the frame.
    #[test]
    fn a_clip_frame_keeps_its_backdrop_until_asked_for_pixels() {
        let layout = Layout::new((90, 160), (320, 200), Fit::Contain);
        let (w, h) = (layout.dest.2, layout.dest.3);
        let i420 = I420::new(w, h);
        let raw: Vec<u8> = (0..i420.size).map(|i| (16 + i * 7 % 220) as u8).collect();
        let mut still = Slide::filled(320, 200, [30, 60, 90, 255]);
        text::caption(&mut still, "At the lake");
        let backdrop = Arc::new(Backdrop::new(Arc::new(still), &layout, Some("At the lake")));
        let slide = backdrop.frame(i420, FrameBytes::Owned(raw.clone()));
        assert_eq!(slide.size(), (320, 200));
        let frame = slide.frame().expect("the frame is kept as it came");
        assert!(frame.backdrop.is_some());
        let composed = backdrop.compose(&i420.rgba(&raw).unwrap());
        assert_eq!(slide, composed);
        assert_eq!(slide.detached(), composed);
        // A frame of another size than the picture's place is composed at once.
        let other = I420::new(w + 2, h);
        let odd = backdrop.frame(other, FrameBytes::Owned(vec![128; other.size]));
        assert!(odd.frame().is_none());
        // Filling the screen under no caption, the frame is the slide.
        let full = Layout::new((320, 200), (320, 200), Fit::Contain);
        let still = Arc::new(Slide::filled(320, 200, [0, 0, 0, 255]));
        let alone = Arc::new(Backdrop::new(still, &full, None));
        let i420 = I420::new(320, 200);
        let slide = alone.frame(i420, FrameBytes::Owned(vec![100; i420.size]));
        assert!(slide.frame().is_some_and(|f| f.backdrop.is_none()));
    }
}
