//! Frames for the presenters: a slide, or a crossfade between two, written into the
//! presenter's buffer (RGBA for `pixels`, 0RGB words for `softbuffer`). Free of winit so that
//! it is tested and benchmarked without a window.
//!
//! A slide whose size differs from the buffer (the window was just resized and the slideshow
//! has not re-rendered yet) is drawn centred over black, cropped where it overflows.

use std::borrow::Cow;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::render::backdrop::{caption_rgba, under_caption, Backdrop};
use crate::render::{Frame, Slide};

/// A crossfade in progress.
#[derive(Debug, Clone, Copy)]
pub struct Fade {
    pub start: Instant,
    pub duration: Duration,
}

impl Fade {
    /// How far along the fade is at `now`, as a weight 0..=256 for the new slide.
    pub fn weight(&self, now: Instant) -> u32 {
        if self.duration.is_zero() {
            return 256;
        }
        let t =
            now.saturating_duration_since(self.start).as_secs_f32() / self.duration.as_secs_f32();
        // Smoothstep: the eye reads a linear fade as abrupt at both ends.
        let t = t.clamp(0.0, 1.0);
        (t * t * (3.0 - 2.0 * t) * 256.0).round() as u32
    }

    pub fn finished(&self, now: Instant) -> bool {
        now >= self.start + self.duration
    }
}

/// `slide` at exactly `width`×`height`: itself when it fits, else centred over black.
pub fn conform(slide: &Slide, width: u32, height: u32) -> Cow<'_, Slide> {
    if (slide.width(), slide.height()) == (width, height) {
        return Cow::Borrowed(slide);
    }
    let mut out = Slide::filled(width, height, [0, 0, 0, 255]);
    let rgba = out.rgba_mut();
    let copy_w = slide.width().min(width) as usize;
    let copy_h = slide.height().min(height) as usize;
    let (sx, sy) = ((slide.width() as usize - copy_w) / 2, (slide.height() as usize - copy_h) / 2);
    let (dx, dy) = ((width as usize - copy_w) / 2, (height as usize - copy_h) / 2);
    for row in 0..copy_h {
        let src = ((sy + row) * slide.width() as usize + sx) * 4;
        let dst = ((dy + row) * width as usize + dx) * 4;
        rgba[dst..dst + copy_w * 4].copy_from_slice(&slide.rgba()[src..src + copy_w * 4]);
    }
    Cow::Owned(out)
}

/// Writes `from` blended towards `to` by `weight` (0..=256) into an RGBA buffer. Both slides
/// must be the buffer's size (see [`conform`]).
pub fn blend_rgba(from: &[u8], to: &[u8], weight: u32, out: &mut [u8]) {
    if weight >= 256 {
        out.copy_from_slice(to);
        return;
    }
    let (w_to, w_from) = (weight as u16, 256 - weight as u16);
    for ((o, &a), &b) in out.iter_mut().zip(from).zip(to) {
        *o = ((u16::from(a) * w_from + u16::from(b) * w_to) >> 8) as u8;
    }
}

/// Like [`blend_rgba`], into softbuffer's 0RGB words: each channel is the same sum.
///
/// As in [`copy_xrgb`], each pixel is read as one little-endian word, so that the compiler
/// makes the loop SIMD. Red and blue are blended together, 16 bits apart: each product is at
/// most 255 × 256, and the two weights add up to 256, so neither spills into the other.
/// `cargo bench --bench fade -- crossfade` measured a 1080p frame at 1.70 ms, against 3.47 ms
/// reading four bytes a pixel: this runs for every frame of a fade.
pub fn blend_xrgb(from: &[u8], to: &[u8], weight: u32, out: &mut [u32]) {
    let (w_to, w_from) = (weight.min(256), 256 - weight.min(256));
    let (from, _) = from.as_chunks::<4>();
    let (to, _) = to.as_chunks::<4>();
    for ((o, a), b) in out.iter_mut().zip(from).zip(to) {
        let (a, b) = (u32::from_le_bytes(*a), u32::from_le_bytes(*b));
        // Red in the low byte, blue 16 bits up (RGBA read little-endian is 0xAABBGGRR).
        let rb = ((a & 0x00ff_00ff) * w_from + (b & 0x00ff_00ff) * w_to) >> 8;
        let g = (((a >> 8) & 0xff) * w_from + ((b >> 8) & 0xff) * w_to) >> 8;
        *o = ((rb & 0xff) << 16) | (g << 8) | (rb >> 16);
    }
}

/// Copies an RGBA slide into softbuffer's 0RGB words.
///
/// Each pixel is read as one little-endian word and its bytes moved with shifts and masks, the
/// same in every lane: the compiler makes that SIMD (SSE2 here, NEON on a Pi), where four byte
/// reads a pixel stay scalar. `cargo bench --bench fade` measured 0.29 ms a 1080p frame against
/// 1.08 ms byte by byte (a plain copy takes 0.24 ms): this runs for every frame of a clip.
pub fn copy_xrgb(from: &[u8], out: &mut [u32]) {
    let (pixels, _) = from.as_chunks::<4>();
    for (o, p) in out.iter_mut().zip(pixels) {
        let abgr = u32::from_le_bytes(*p);
        *o = ((abgr & 0xff) << 16) | (abgr & 0xff00) | ((abgr >> 16) & 0xff);
    }
}

/// A presenter's buffer, that a slide is written into by [`slide_into`]: RGBA bytes for
/// `pixels`, 0RGB words for softbuffer. Positions are in pixels.
pub trait Buffer {
    /// How many pixels the buffer holds.
    fn pixels(&self) -> usize;
    /// Copies RGBA pixels into the buffer, from pixel `at` on.
    fn copy_rgba(&mut self, at: usize, rgba: &[u8]);
    /// Converts a clip's frame into the buffer: its top-left at pixel `at`, its rows `stride`
    /// pixels apart.
    fn convert(&mut self, at: usize, stride: usize, frame: &Frame) -> Result<(), yuv::YuvError>;
    /// Puts a caption of coverage `cover` (0..=255 a pixel) over the pixels from `at` on.
    fn caption(&mut self, at: usize, cover: &[u8]);
}

impl Buffer for [u32] {
    fn pixels(&self) -> usize {
        self.len()
    }

    fn copy_rgba(&mut self, at: usize, rgba: &[u8]) {
        copy_xrgb(rgba, &mut self[at..at + rgba.len() / 4]);
    }

    fn convert(&mut self, at: usize, stride: usize, frame: &Frame) -> Result<(), yuv::YuvError> {
        frame.layout.to_xrgb(frame.raw.as_slice(), &mut self[at..], stride)
    }

    fn caption(&mut self, at: usize, cover: &[u8]) {
        for (word, &a) in self[at..at + cover.len()].iter_mut().zip(cover) {
            let ch = |shift: u32| under_caption((*word >> shift) & 0xff, u32::from(a)) << shift;
            *word = ch(16) | ch(8) | ch(0);
        }
    }
}

impl Buffer for [u8] {
    fn pixels(&self) -> usize {
        self.len() / 4
    }

    fn copy_rgba(&mut self, at: usize, rgba: &[u8]) {
        self[at * 4..at * 4 + rgba.len()].copy_from_slice(rgba);
    }

    fn convert(&mut self, at: usize, stride: usize, frame: &Frame) -> Result<(), yuv::YuvError> {
        frame.layout.to_rgba(frame.raw.as_slice(), &mut self[at * 4..], stride)
    }

    fn caption(&mut self, at: usize, cover: &[u8]) {
        caption_rgba(&mut self[at * 4..(at + cover.len()) * 4], cover);
    }
}

/// What a presenter's buffers hold around the picture of a clip: the backdrop the last frames
/// were drawn on, and how many presents in a row left its still in their buffers. A buffer
/// presented no longer ago than that holds the still around the picture, so that only the
/// picture and the caption over it need writing: for a phone's upright clip on a landscape
/// screen, a third of the words.
///
/// Softbuffer says how long ago a buffer was presented (its age: 1 on X11, whose one buffer
/// keeps what was last presented; up to 3 on Wayland); `pixels` keeps one buffer of its own.
/// The presenter still presents the whole buffer, so a window the display server lost the
/// contents of is painted whole again.
#[derive(Debug, Default)]
pub struct Kept {
    /// Only compared, never read: weak, so that a clip's still is freed when it ends.
    backdrop: Weak<Backdrop>,
    streak: u32,
}

impl Kept {
    /// Whether a buffer last presented `age` presents ago (0: never, or its contents are not
    /// known) holds `backdrop`'s still around the picture.
    fn holds(&self, backdrop: &Arc<Backdrop>, age: u8) -> bool {
        age >= 1 && u32::from(age) <= self.streak && self.is(backdrop)
    }

    /// Whether the last frames were drawn on `backdrop`.
    fn is(&self, backdrop: &Arc<Backdrop>) -> bool {
        self.backdrop.as_ptr() == Arc::as_ptr(backdrop)
    }

    /// The buffers no longer hold anything known: a fade was drawn, or they were resized.
    pub fn forget(&mut self) {
        *self = Kept::default();
    }

    /// Notes that the buffer about to be presented holds `backdrop`'s still.
    fn drawn(&mut self, backdrop: &Arc<Backdrop>) {
        if self.is(backdrop) {
            self.streak = self.streak.saturating_add(1);
        } else {
            *self = Kept { backdrop: Arc::downgrade(backdrop), streak: 1 };
        }
    }
}

/// Writes `slide` into a presenter's buffer of its size, last presented `age` presents ago. A
/// clip's frame is converted straight into its place, and the still it lies on copied around
/// it unless the buffer already holds it (`kept` says, and learns what this draw leaves): each
/// pixel is written at most once, and the frame's RGBA and the composed slide are never made
/// (they cost a letterboxed clip five times what a clip filling the screen costs,
/// `bench-motion.py`).
pub fn slide_into<B: Buffer + ?Sized>(
    slide: &Slide,
    out: &mut B,
    kept: &mut Kept,
    age: u8,
) -> anyhow::Result<()> {
    let (w, h) = (slide.width() as usize, slide.height() as usize);
    anyhow::ensure!(out.pixels() == w * h, "a {w}×{h} slide for {} pixels", out.pixels());
    let converted = |e| anyhow::anyhow!("a frame of {w}×{h}: {e}");
    // Until this draw succeeds, the buffer holds nothing known.
    let before = std::mem::take(kept);
    let Some(frame) = slide.frame() else {
        out.copy_rgba(0, slide.rgba());
        return Ok(());
    };
    let Some(backdrop) = &frame.backdrop else {
        return out.convert(0, w, frame).map_err(converted);
    };
    let (x0, y0, fw, fh) = backdrop.dest();
    let (x0, y0, fw, fh) = (x0 as usize, y0 as usize, fw as usize, fh as usize);
    if x0 + fw > w || y0 + fh > h || backdrop.still().size() != slide.size() {
        // Not a shape `Backdrop::frame` makes; the composed slide is right whatever it is.
        out.copy_rgba(0, slide.rgba());
        return Ok(());
    }
    if !before.holds(backdrop, age) {
        for (y, from) in backdrop.still().rgba().chunks_exact(w * 4).enumerate() {
            if (y0..y0 + fh).contains(&y) {
                out.copy_rgba(y * w, &from[..x0 * 4]);
                out.copy_rgba(y * w + x0 + fw, &from[(x0 + fw) * 4..]);
            } else {
                out.copy_rgba(y * w, from);
            }
        }
    }
    out.convert(y0 * w + x0, w, frame).map_err(converted)?;
    for (at, cover) in backdrop.caption_rows() {
        out.caption(at, cover);
    }
    *kept = before;
    kept.drawn(backdrop);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, v: u8) -> Slide {
        Slide::filled(w, h, [v, v, v, 255])
    }

    #[test]
    fn a_fade_goes_from_the_old_slide_to_the_new() {
        let (a, b) = (flat(4, 2, 0), flat(4, 2, 200));
        let mut out = vec![0u8; 32];
        blend_rgba(a.rgba(), b.rgba(), 0, &mut out);
        assert_eq!(out[0], 0);
        blend_rgba(a.rgba(), b.rgba(), 128, &mut out);
        assert_eq!(out[0], 100);
        blend_rgba(a.rgba(), b.rgba(), 256, &mut out);
        assert_eq!(out, b.rgba());
        let mut words = vec![0u32; 8];
        blend_xrgb(a.rgba(), b.rgba(), 256, &mut words);
        assert_eq!(words[0], 0x00c8c8c8);
        copy_xrgb(a.rgba(), &mut words);
        assert_eq!(words[0], 0);

        let start = Instant::now();
        let fade = Fade { start, duration: Duration::from_millis(100) };
        assert_eq!(fade.weight(start), 0);
        assert_eq!(fade.weight(start + Duration::from_millis(50)), 128);
        assert_eq!(fade.weight(start + Duration::from_secs(1)), 256);
        assert!(fade.finished(start + Duration::from_millis(100)));
    }

    #[test]
    fn the_word_blend_is_the_byte_blend_at_every_weight() {
        // Every byte value in red and green, on both sides of the fade, then random pixels.
        let mut from: Vec<u8> = (0..=255u8).flat_map(|v| [v, 255 - v, v / 3, v]).collect();
        let mut to: Vec<u8> = (0..=255u8).flat_map(|v| [255 - v, v, 255, 0]).collect();
        let mut rng = fastrand::Rng::with_seed(16);
        from.extend((0..4096).map(|_| rng.u8(..)));
        to.extend((0..4096).map(|_| rng.u8(..)));
        let mut rgba = vec![0u8; from.len()];
        let (mut words, mut expected) = (vec![0u32; from.len() / 4], vec![0u32; from.len() / 4]);
        for weight in 0..=256 {
            blend_rgba(&from, &to, weight, &mut rgba);
            copy_xrgb(&rgba, &mut expected);
            blend_xrgb(&from, &to, weight, &mut words);
            assert_eq!(words, expected, "weight {weight}");
        }
    }

    #[test]
    fn softbuffer_gets_red_green_blue_in_order_under_a_zero_byte() {
        let rgba = [0x11, 0x22, 0x33, 0xff, 0xa0, 0xb0, 0xc0, 0x80];
        let mut words = [0u32; 2];
        copy_xrgb(&rgba, &mut words);
        assert_eq!(words, [0x0011_2233, 0x00a0_b0c0]);
    }

    #[test]
    fn a_slide_of_another_size_is_centred_over_black() {
        let s = flat(2, 2, 90);
        let c = conform(&s, 4, 2);
        assert_eq!((c.width(), c.height()), (4, 2));
        assert_eq!(&c.rgba()[0..4], &[0, 0, 0, 255]);
        assert_eq!(&c.rgba()[4..8], &[90, 90, 90, 255]);
        let big = flat(6, 6, 7);
        let c = conform(&big, 2, 2);
        assert_eq!(c.rgba(), flat(2, 2, 7).rgba());
    }

    /// Softbuffer and pixels get the very pixels of the composed slide, however a clip's frame
    /// lies: letterboxed under a caption, filling the screen under one, or filling it alone.
    #[test]
    fn a_clip_frame_goes_into_the_buffers_as_the_composed_slide() {
        use crate::render::i420::{FrameBytes, I420};
        use crate::render::{text, Fit, Layout};

        for (clip, caption) in
            [((90, 160), Some("At the lake")), ((320, 200), Some("Hi")), ((320, 200), None)]
        {
            let layout = Layout::new(clip, (320, 200), Fit::Contain);
            let mut still = Slide::filled(320, 200, [30, 60, 90, 255]);
            if let Some(line) = caption {
                text::caption(&mut still, line);
            }
            let backdrop = Arc::new(Backdrop::new(Arc::new(still), &layout, caption));
            let (w, h) = backdrop.frame_size();
            let i420 = I420::new(w, h);
            let raw: Vec<u8> = (0..i420.size).map(|i| (16 + i * 7 % 220) as u8).collect();
            let slide = backdrop.frame(i420, FrameBytes::Owned(raw));
            assert!(slide.frame().is_some(), "{clip:?}: the frame is converted in place");
            let composed = slide.detached().into_rgba();
            let mut want = vec![0u32; 320 * 200];
            copy_xrgb(&composed, &mut want);
            let mut got = vec![0xdead_beef_u32; 320 * 200];
            slide_into(&slide, got.as_mut_slice(), &mut Kept::default(), 0).unwrap();
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{clip:?}, {caption:?}: word {i} ({}, {})", i % 320, i / 320);
            }
            let mut rgba = vec![7u8; 320 * 200 * 4];
            slide_into(&slide, rgba.as_mut_slice(), &mut Kept::default(), 0).unwrap();
            for (i, (g, w)) in rgba.chunks(4).zip(composed.chunks(4)).enumerate() {
                assert_eq!(g, w, "{clip:?}, {caption:?}: pixel {i} ({}, {})", i % 320, i / 320);
            }
            let wrong = slide_into(&slide, &mut rgba[4..], &mut Kept::default(), 0);
            assert!(wrong.is_err(), "a buffer of another size");
        }
    }

    /// A letterboxed clip's frame under a caption, on `backdrop`, its pixels from `seed`.
    fn clip_frame(backdrop: &Arc<Backdrop>, seed: usize) -> Slide {
        use crate::render::i420::{FrameBytes, I420};
        let (w, h) = backdrop.frame_size();
        let i420 = I420::new(w, h);
        let raw: Vec<u8> = (0..i420.size).map(|i| (16 + (i + seed) * 7 % 220) as u8).collect();
        backdrop.frame(i420, FrameBytes::Owned(raw))
    }

    /// A buffer that holds the still the frames before it lay on gets only the picture and its
    /// caption; one that may not (presented before that still, never, after a fade or another
    /// slide) gets all of it.
    #[test]
    fn the_still_around_a_clip_is_written_again_only_when_the_buffer_may_not_hold_it() {
        use crate::render::{text, Fit, Layout};

        let layout = Layout::new((90, 160), (320, 200), Fit::Contain);
        assert!(layout.dest.0 > 0, "the picture does not cover the first pixel");
        let backdrop = || {
            let mut still = Slide::filled(320, 200, [30, 60, 90, 255]);
            text::caption(&mut still, "At the lake");
            Arc::new(Backdrop::new(Arc::new(still), &layout, Some("At the lake")))
        };
        let (lake, again) = (backdrop(), backdrop());
        let want = |slide: &Slide| {
            let mut words = vec![0u32; 320 * 200];
            copy_xrgb(&slide.detached().into_rgba(), &mut words);
            words
        };
        const MARK: u32 = 0x00ab_cdef;
        let mut buffer = vec![0xdead_beef_u32; 320 * 200];
        let mut kept = Kept::default();
        // Draws `slide` last presented `age` ago over a marked first pixel: whether the still
        // was written again, and every other word as the composed slide has it.
        let mut draw = |slide: &Slide, kept: &mut Kept, age: u8| {
            buffer[0] = MARK;
            slide_into(slide, buffer.as_mut_slice(), kept, age).unwrap();
            let want = want(slide);
            assert_eq!(buffer[1..], want[1..], "age {age}: the picture, the caption, the still");
            buffer[0] != MARK
        };

        assert!(draw(&clip_frame(&lake, 1), &mut kept, 0), "the first frame: all of it");
        assert!(!draw(&clip_frame(&lake, 2), &mut kept, 1), "the still is kept");
        assert!(!draw(&clip_frame(&lake, 3), &mut kept, 2), "two presents ago, both on it");
        assert!(draw(&clip_frame(&lake, 4), &mut kept, 4), "presented before the clip began");
        assert!(draw(&clip_frame(&lake, 5), &mut kept, 0), "a buffer never presented");
        kept.forget();
        assert!(draw(&clip_frame(&lake, 6), &mut kept, 1), "after a fade");
        assert!(draw(&clip_frame(&again, 7), &mut kept, 1), "another clip's still");
        assert!(!draw(&clip_frame(&again, 8), &mut kept, 1), "that still, kept");
        assert!(draw(&flat(320, 200, 9), &mut kept, 1), "a photo");
        assert!(draw(&clip_frame(&again, 9), &mut kept, 1), "the clip after the photo");
    }
}
