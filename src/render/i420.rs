//! Raw I420 frames as GStreamer lays them out, and their conversion to the pixels a screen
//! takes: RGBA, or softbuffer's 0RGB words directly.
//!
//! The clip's child process sends its frames as I420 (8-bit Y at full size, U and V at half
//! size each way), not RGBA: 1.5 bytes a pixel instead of 4, so 2.7 times less passes between
//! the two processes (shared memory or a pipe), and the child scales three planes of one byte
//! instead of one of four. The frame converts them with the `yuv` crate's SIMD code (AVX2,
//! SSE, NEON), which costs less than the copies it saves. The child is asked for BT.709
//! limited range (`colorimetry=bt709`), so that one matrix is right whatever the clip was
//! recorded in: GStreamer converts the rare clip that is not. Colour is then at half the size
//! the clip is shown, as any video's is at its own size.
//!
//! A frame stays I420 in its [`Slide`](super::Slide) until something needs RGBA: the CPU
//! presenter converts it straight into the window's buffer ([`I420::to_xrgb`]), one pass over
//! the memory where RGBA and then a copy into the buffer took three.

use std::sync::Arc;

use yuv::{YuvPlanarImage, YuvPlanarImageWithAlpha, YuvRange, YuvStandardMatrix};

/// A frame's bytes, laid out as its [`I420`] says: in memory of the frame's own, or lent by
/// the memory the child decoded it into, which is given back once the last slide showing the
/// frame lets go of it (so a frame on screen is never copied out of shared memory).
#[derive(Clone)]
pub enum FrameBytes {
    Owned(Vec<u8>),
    Lent(Arc<dyn AsRef<[u8]> + Send + Sync>),
}

impl FrameBytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            FrameBytes::Owned(bytes) => bytes,
            FrameBytes::Lent(lent) => lent.as_ref().as_ref(),
        }
    }

    /// The memory, if it is the frame's own: for the next frame to be read into.
    pub fn into_owned(self) -> Option<Vec<u8>> {
        match self {
            FrameBytes::Owned(bytes) => Some(bytes),
            FrameBytes::Lent(_) => None,
        }
    }
}

impl From<Vec<u8>> for FrameBytes {
    fn from(bytes: Vec<u8>) -> FrameBytes {
        FrameBytes::Owned(bytes)
    }
}

impl std::fmt::Debug for FrameBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whose = match self {
            FrameBytes::Owned(_) => "owned",
            FrameBytes::Lent(_) => "lent",
        };
        write!(f, "{} bytes, {whose}", self.as_slice().len())
    }
}

/// Where each plane of a `width`×`height` I420 frame is in the bytes GStreamer writes for it
/// (its `video-info.c`: rows padded to 4 bytes, the chroma planes after an even number of
/// luma rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I420 {
    pub width: u32,
    pub height: u32,
    y_stride: usize,
    c_stride: usize,
    c_rows: usize,
    u_offset: usize,
    v_offset: usize,
    /// The whole frame, in bytes.
    pub size: usize,
}

impl I420 {
    pub fn new(width: u32, height: u32) -> I420 {
        let (w, h) = (width as usize, height as usize);
        let y_stride = w.next_multiple_of(4);
        let c_stride = w.div_ceil(2).next_multiple_of(4);
        let c_rows = h.div_ceil(2);
        let u_offset = y_stride * h.next_multiple_of(2);
        let v_offset = u_offset + c_stride * c_rows;
        I420 {
            width,
            height,
            y_stride,
            c_stride,
            c_rows,
            u_offset,
            v_offset,
            size: v_offset + c_stride * c_rows,
        }
    }

    /// One frame (`raw`, [`Self::size`] bytes) as RGBA, in memory of its own.
    pub fn rgba(&self, raw: &[u8]) -> Result<Vec<u8>, yuv::YuvError> {
        let mut rgba = vec![0; self.width as usize * self.height as usize * 4];
        self.to_rgba(raw, &mut rgba, self.width as usize)?;
        Ok(rgba)
    }

    /// Converts one frame (`raw`, [`Self::size`] bytes) into RGBA: `rgba` starts at the
    /// frame's top-left pixel and its rows are `stride` pixels apart, as in
    /// [`Self::to_xrgb`].
    pub fn to_rgba(&self, raw: &[u8], rgba: &mut [u8], stride: usize) -> Result<(), yuv::YuvError> {
        let image = YuvPlanarImage {
            y_plane: &raw[..self.u_offset],
            y_stride: self.y_stride as u32,
            u_plane: &raw[self.u_offset..self.v_offset],
            u_stride: self.c_stride as u32,
            v_plane: &raw[self.v_offset..self.v_offset + self.c_stride * self.c_rows],
            v_stride: self.c_stride as u32,
            width: self.width,
            height: self.height,
        };
        yuv::yuv420_to_rgba(
            &image,
            rgba,
            (stride * 4) as u32,
            YuvRange::Limited,
            YuvStandardMatrix::Bt709,
        )
    }

    /// Converts one frame into softbuffer's 0RGB words: `out` starts at the frame's top-left
    /// word and its rows are `stride` words apart (the window's width), so that a frame is
    /// written in its place on the screen; the words between the rows are left as they are.
    ///
    /// `yuv` writes BGRA, which in a little-endian word is 0RGB when its alpha is 0, as
    /// softbuffer asks: it is given a plane of zero alpha (the same band of zeros for each band
    /// of rows), so that the top bytes are written right in the same pass rather than cleared
    /// in a second one, which cost a fifth more (`cargo bench --bench fade`).
    pub fn to_xrgb(&self, raw: &[u8], out: &mut [u32], stride: usize) -> Result<(), yuv::YuvError> {
        const BAND: usize = 16; // Even, so that a band starts on a chroma row.
        let (w, h) = (self.width as usize, self.height as usize);
        let (y_plane, u_plane) = (&raw[..self.u_offset], &raw[self.u_offset..self.v_offset]);
        let v_plane = &raw[self.v_offset..self.v_offset + self.c_stride * self.c_rows];
        let zeros = vec![0u8; w * BAND];
        for top in (0..h).step_by(BAND) {
            let rows = BAND.min(h - top);
            // Cut to what `out` has: `yuv` then says it is short, where slicing would panic.
            let end = ((top + rows - 1) * stride + w).min(out.len());
            let words = &mut out[(top * stride).min(end)..end];
            let image = YuvPlanarImageWithAlpha {
                y_plane: &y_plane[top * self.y_stride..],
                y_stride: self.y_stride as u32,
                u_plane: &u_plane[top / 2 * self.c_stride..],
                u_stride: self.c_stride as u32,
                v_plane: &v_plane[top / 2 * self.c_stride..],
                v_stride: self.c_stride as u32,
                a_plane: &zeros,
                a_stride: self.width,
                width: self.width,
                height: rows as u32,
            };
            yuv::yuv420_alpha_to_bgra(
                &image,
                bytemuck::cast_slice_mut(words),
                (stride * 4) as u32,
                YuvRange::Limited,
                YuvStandardMatrix::Bt709,
                false,
            )?;
            if cfg!(target_endian = "big") {
                // B, G, R, 0 in memory is 0RGB read little-endian only.
                for row in words.chunks_mut(stride) {
                    row[..w].iter_mut().for_each(|word| *word = word.swap_bytes());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_are_where_gstreamer_puts_them() {
        // 1920×1080: no padding at all.
        let hd = I420::new(1920, 1080);
        assert_eq!((hd.u_offset, hd.v_offset, hd.size), (2_073_600, 2_592_000, 3_110_400));
        // 101×57: luma rows padded to 104, 29 rows of chroma 52 wide (51 rounded up to 4),
        // after 58 rows of luma (57 rounded up to even).
        let odd = I420::new(101, 57);
        assert_eq!((odd.y_stride, odd.c_stride, odd.c_rows), (104, 52, 29));
        assert_eq!((odd.u_offset, odd.v_offset, odd.size), (6032, 7540, 9048));
    }

    /// The words softbuffer gets are the RGBA pixels, red to blue from the high byte down,
    /// under a zero byte: for every band, the last one short, at an odd size.
    #[test]
    fn softbuffer_words_are_the_rgba_pixels() {
        let layout = I420::new(37, 41);
        let raw: Vec<u8> = (0..layout.size).map(|i| (i * 7 % 251) as u8).collect();
        let mut rgba = vec![0u8; 37 * 41 * 4];
        layout.to_rgba(&raw, &mut rgba, 37).unwrap();
        let mut words = vec![0xdead_beef_u32; 37 * 41];
        layout.to_xrgb(&raw, &mut words, 37).unwrap();
        for (i, (word, px)) in words.iter().zip(rgba.chunks_exact(4)).enumerate() {
            let want = u32::from_be_bytes([0, px[0], px[1], px[2]]);
            assert_eq!(*word, want, "pixel {i}: {word:08x}, want {want:08x}");
        }
    }

    /// Written in its place in a wider buffer, a frame's rows are the same words (or RGBA
    /// pixels), and those around it (left, right, below) are not touched; a buffer too short
    /// is an error, not a panic.
    #[test]
    fn a_frame_is_written_in_its_place_and_nowhere_else() {
        let layout = I420::new(37, 41);
        let raw: Vec<u8> = (0..layout.size).map(|i| (i * 7 % 251) as u8).collect();
        let mut alone = vec![0u32; 37 * 41];
        layout.to_xrgb(&raw, &mut alone, 37).unwrap();
        let (stride, x0, y0) = (50, 5, 3);
        let mut wide = vec![0xdead_beef_u32; stride * 46];
        layout.to_xrgb(&raw, &mut wide[y0 * stride + x0..], stride).unwrap();
        for (i, word) in wide.iter().enumerate() {
            let (x, y) = (i % stride, i / stride);
            let inside = (x0..x0 + 37).contains(&x) && (y0..y0 + 41).contains(&y);
            let want = if inside { alone[(y - y0) * 37 + x - x0] } else { 0xdead_beef };
            assert_eq!(*word, want, "word at {x},{y}");
        }
        let mut short = vec![0u32; 37 * 40];
        assert!(layout.to_xrgb(&raw, &mut short, 37).is_err());
        // The same for RGBA.
        let alone = layout.rgba(&raw).unwrap();
        let mut wide = vec![7u8; stride * 46 * 4];
        layout.to_rgba(&raw, &mut wide[(y0 * stride + x0) * 4..], stride).unwrap();
        for (i, px) in wide.chunks(4).enumerate() {
            let (x, y) = (i % stride, i / stride);
            let inside = (x0..x0 + 37).contains(&x) && (y0..y0 + 41).contains(&y);
            let want = match inside {
                true => &alone[((y - y0) * 37 + x - x0) * 4..][..4],
                false => &[7u8; 4][..],
            };
            assert_eq!(px, want, "pixel at {x},{y}");
        }
        assert!(layout.to_rgba(&raw, &mut vec![0u8; 37 * 40 * 4], 37).is_err());
    }

    #[test]
    fn limited_range_grey_white_and_black_come_out_as_such() {
        for (y, want) in [(16u8, 0u8), (235, 255), (126, 128)] {
            let layout = I420::new(7, 5);
            let mut raw = vec![128u8; layout.size];
            raw[..layout.u_offset].fill(y);
            let mut rgba = vec![0u8; 7 * 5 * 4];
            layout.to_rgba(&raw, &mut rgba, 7).unwrap();
            for px in rgba.chunks(4) {
                for c in &px[..3] {
                    assert!(c.abs_diff(want) <= 1, "Y {y}: {px:?}, want {want}");
                }
                assert_eq!(px[3], 255);
            }
        }
    }
}
