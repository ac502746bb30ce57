//! Turning a photo's bytes into a screen-sized slide: sniff, check limits, decode (scaled),
//! resize, orient, compose over a matte. Pure functions: no I/O, no global state, so the same
//! code serves the frame, `discord-frame render`, the tests and the benchmarks.
//!
//! The order of the steps is chosen for memory and time on a Pi: limits are checked from the
//! header before anything is allocated; JPEGs are decoded at a reduced DCT scale; the photo is
//! resized *before* it is rotated, so rotation moves a slide's worth of pixels, not a photo's.

pub mod backdrop;
pub mod card;
mod compose;
mod decode;
mod error;
pub mod i420;
mod jpeg;
mod orient;
mod png;
mod resize;
mod rotate;
mod sniff;
mod style;
mod taken;
pub mod text;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use i420::{FrameBytes, I420};

pub use backdrop::Backdrop;
pub use compose::{veil, Layout};
pub use error::{ErrorKind, RenderError};
pub use rotate::Rotate;
pub use sniff::{sniff, Format};
pub use style::{Fit, Matte, UnknownStyle};
pub use taken::taken_on;

/// Bounds on what a photo may cost, checked from the header before any decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest photo accepted, in pixels (width × height as the header states them).
    pub max_pixels: u64,
    /// The most memory one decode may allocate for pixel buffers, in bytes. On a Pi Zero 2 W
    /// (512 MB in all) a PNG of 100 MP would otherwise need 400 MB at once.
    pub max_decode_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_pixels: 250_000_000, max_decode_bytes: 256 * 1024 * 1024 }
    }
}

impl Limits {
    fn check_pixels(&self, format: Format, width: u32, height: u32) -> Result<(), RenderError> {
        if width == 0 || height == 0 {
            return Err(RenderError::ZeroSize { format: format.name(), width, height });
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(RenderError::TooManyPixels {
                width,
                height,
                limit_mp: self.max_pixels / 1_000_000,
            });
        }
        Ok(())
    }

    fn check_budget(
        &self,
        format: Format,
        (width, height): (u32, u32),
        needed: u64,
    ) -> Result<(), RenderError> {
        if needed > self.max_decode_bytes {
            return Err(RenderError::OverBudget {
                format: format.name(),
                width,
                height,
                needed_mb: needed.div_ceil(1024 * 1024),
                budget_mb: self.max_decode_bytes / (1024 * 1024),
            });
        }
        Ok(())
    }
}

/// Everything `render` needs besides the photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// The slide's size: the screen's, in pixels.
    pub width: u32,
    pub height: u32,
    pub fit: Fit,
    pub matte: Matte,
    pub limits: Limits,
}

impl RenderOptions {
    /// A slide of `width`×`height` with every other option at its default.
    pub fn new(width: u32, height: u32) -> Self {
        RenderOptions {
            width,
            height,
            fit: Fit::default(),
            matte: Matte::default(),
            limits: Limits::default(),
        }
    }
}

/// What the header of a photo says, read without decoding its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoInfo {
    pub format: Format,
    /// The stored size, before the EXIF orientation is applied.
    pub width: u32,
    pub height: u32,
    /// How the stored pixels must be turned to stand upright.
    pub orientation: image::metadata::Orientation,
}

impl PhotoInfo {
    /// The size as the photo is shown, after its orientation is applied.
    pub fn upright_size(&self) -> (u32, u32) {
        orient::upright_size((self.width, self.height), self.orientation)
    }
}

/// A finished slide: `width`×`height` opaque RGBA8 pixels, row-major, ready to present.
///
/// The fields are private so that `rgba.len() == width * height * 4` always holds: the
/// presenters and the crossfade index pixels by it.
///
/// A clip's frame is kept as the child sent it (I420), with the backdrop it lies on when it
/// does not fill the screen alone, and its RGBA made only when something asks for it: the CPU
/// presenter converts the frame straight into the window's buffer instead ([`Slide::frame`]),
/// and nothing else looks at most frames.
#[derive(Clone)]
pub struct Slide {
    width: u32,
    height: u32,
    /// The pixels; for a frame, made from it the first time they are asked for.
    rgba: OnceLock<Vec<u8>>,
    /// A clip's frame as it came, while the slide is nothing else.
    frame: Option<Frame>,
}

/// A clip's frame as the child sent it, and where it lies.
#[derive(Debug, Clone)]
pub struct Frame {
    pub layout: I420,
    pub raw: FrameBytes,
    /// The still the frame lies on, in its picture's place (letterboxed, or under a caption);
    /// `None` when the frame is the whole slide.
    pub backdrop: Option<Arc<Backdrop>>,
}

/// Pixels that do not make a `width`×`height` slide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes are not a {width}×{height} RGBA slide ({expected} bytes)")]
pub struct SlideSizeError {
    pub width: u32,
    pub height: u32,
    pub len: usize,
    pub expected: u64,
}

impl Slide {
    /// A slide from its pixels; `rgba` must hold exactly `width * height * 4` bytes.
    pub fn new(width: u32, height: u32, rgba: Vec<u8>) -> Result<Slide, SlideSizeError> {
        let expected = u64::from(width) * u64::from(height) * 4;
        if rgba.len() as u64 != expected {
            return Err(SlideSizeError { width, height, len: rgba.len(), expected });
        }
        Ok(Slide::from_rgba(width, height, rgba))
    }

    /// A slide of one colour (alpha is set to 255).
    pub fn filled(width: u32, height: u32, [r, g, b, _]: [u8; 4]) -> Slide {
        let rgba = [r, g, b, 255].repeat(width as usize * height as usize);
        Slide::from_rgba(width, height, rgba)
    }

    /// From an image whose buffer the `image` crate has already checked.
    pub(crate) fn from_image(image: image::RgbaImage) -> Slide {
        let (width, height) = image.dimensions();
        Slide::from_rgba(width, height, image.into_raw())
    }

    /// Pixels whose length the caller has checked.
    pub(crate) fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Slide {
        Slide { width, height, rgba: OnceLock::from(rgba), frame: None }
    }

    /// A clip's frame, `raw` laid out as `layout` says, as the whole slide.
    pub fn from_i420(layout: I420, raw: impl Into<FrameBytes>) -> Result<Slide, SlideSizeError> {
        let (width, height, raw) = (layout.width, layout.height, raw.into());
        let len = raw.as_slice().len();
        if len != layout.size {
            let expected = layout.size as u64;
            return Err(SlideSizeError { width, height, len, expected });
        }
        let frame = Frame { layout, raw, backdrop: None };
        Ok(Slide { width, height, rgba: OnceLock::new(), frame: Some(frame) })
    }

    /// A clip's frame, already checked against its layout, on `backdrop` (whose still gives
    /// the slide's size).
    pub(crate) fn framed(frame: Frame, (width, height): (u32, u32)) -> Slide {
        Slide { width, height, rgba: OnceLock::new(), frame: Some(frame) }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixels, `width * height * 4` bytes.
    pub fn rgba(&self) -> &[u8] {
        self.rgba.get_or_init(|| self.convert())
    }

    /// The pixels, to draw on (captions); a slice, so the size cannot change.
    pub fn rgba_mut(&mut self) -> &mut [u8] {
        let rgba = self.rgba.take().unwrap_or_else(|| self.convert());
        // Drawn on, the slide is no longer the frame.
        self.frame = None;
        self.rgba = OnceLock::from(rgba);
        self.rgba.get_mut().map(Vec::as_mut_slice).unwrap_or_default()
    }

    pub fn into_rgba(mut self) -> Vec<u8> {
        self.rgba.take().unwrap_or_else(|| self.convert())
    }

    /// The clip's frame this slide is, as it came: for a presenter that converts it itself.
    pub fn frame(&self) -> Option<&Frame> {
        self.frame.as_ref()
    }

    /// The frame's memory, if it is its own, for the next frame to be read into.
    pub fn into_i420(self) -> Option<Vec<u8>> {
        self.frame.and_then(|frame| frame.raw.into_owned())
    }

    /// The same slide, its frame in memory of its own: for a frame lent from memory the child
    /// wants back.
    pub fn detached(&self) -> Slide {
        let mut slide = self.clone();
        if let Some(frame) = &mut slide.frame {
            frame.raw = FrameBytes::Owned(frame.raw.as_slice().to_vec());
        }
        slide
    }

    /// The frame's RGBA. Only a layout that does not match the frame fails, and
    /// [`Slide::from_i420`] checked that; black if it ever did.
    fn convert(&self) -> Vec<u8> {
        let black = || vec![0; self.width as usize * self.height as usize * 4];
        let Some(frame) = &self.frame else { return black() };
        let rgba = match frame.layout.rgba(frame.raw.as_slice()) {
            Ok(rgba) => rgba,
            Err(e) => {
                tracing::warn!("a frame could not be converted: {e}");
                return black();
            }
        };
        match &frame.backdrop {
            Some(backdrop) => backdrop.compose(&rgba).into_rgba(),
            None => rgba,
        }
    }
}

/// Slides are equal when their pixels are, whatever they were made from.
impl PartialEq for Slide {
    fn eq(&self, other: &Slide) -> bool {
        self.size() == other.size() && self.rgba() == other.rgba()
    }
}

impl Eq for Slide {}

impl std::fmt::Debug for Slide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Millions of pixel bytes help nobody in a log or a failed assertion.
        f.debug_struct("Slide")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Reads the format, size and orientation of a photo and checks them against `limits`, without
/// decoding any pixels. Ingest calls this before it stores a photo; `render` calls it first.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<PhotoInfo, RenderError> {
    let format = sniff(bytes)?;
    let info = match format {
        Format::Jpeg => jpeg::probe(bytes)?,
        _ => decode::probe(bytes, format)?,
    };
    limits.check_pixels(format, info.width, info.height)?;
    Ok(info)
}

/// Resizes one upright frame of an animation (its whole canvas) to its place in `layout`: the
/// photo's rectangle `layout.dest`, cut as `fit` cuts a photo.
pub fn fit_frame(frame: image::RgbaImage, layout: &Layout) -> image::RgbaImage {
    let (width, height) = frame.dimensions();
    let src = resize::Decoded {
        width,
        height,
        pixels: frame.into_raw(),
        channels: resize::Channels::Rgba,
    };
    resize::resize(&src, &layout.stored(image::metadata::Orientation::NoTransforms))
}

/// A slide with `picture`, already at `layout.dest`'s size, in its place over the matte: the
/// still of a video, whose first frame comes scaled from the decoder.
pub fn compose_fitted(picture: image::RgbaImage, layout: &Layout, matte: Matte) -> Slide {
    compose::compose(picture, layout, matte)
}

/// Turns a photo into a slide of exactly `opts.width`×`opts.height`.
pub fn render(bytes: &[u8], opts: &RenderOptions) -> Result<Slide, RenderError> {
    guard(format_name(bytes), || render_unguarded(Cow::Borrowed(bytes), opts))
}

/// Like [`render`], for a caller that has no further use for the bytes: they are freed as
/// soon as the photo is decoded, before the resize allocates (7 MB less at the peak for a
/// 48 MP JPEG, which counts on a 512 MB Pi Zero 2 W).
pub fn render_owned(bytes: Vec<u8>, opts: &RenderOptions) -> Result<Slide, RenderError> {
    guard(format_name(&bytes), || render_unguarded(Cow::Owned(bytes), opts))
}

/// Runs `f`, turning a panic into an error about a `format` file. The decoders are meant to
/// return errors for any input; should one panic on a file nobody foresaw, the sender still
/// gets an answer and the frame keeps running.
fn guard(
    format: &'static str,
    f: impl FnOnce() -> Result<Slide, RenderError>,
) -> Result<Slide, RenderError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(RenderError::Corrupt { format, detail: "the decoder failed on it".to_owned() })
    })
}

/// The format's name for [`guard`]'s message, known before the bytes move into the closure.
fn format_name(bytes: &[u8]) -> &'static str {
    sniff(bytes).map_or("image", Format::name)
}

fn render_unguarded(bytes: Cow<'_, [u8]>, opts: &RenderOptions) -> Result<Slide, RenderError> {
    let info = probe(&bytes, &opts.limits)?;
    let layout = Layout::new(info.upright_size(), (opts.width, opts.height), opts.fit);
    // The resize happens on the stored pixels, so the layout is turned back to their frame.
    let target = layout.stored(info.orientation);
    let photo = match info.format {
        Format::Jpeg => jpeg::decode(&bytes, &info, &target, &opts.limits)?,
        Format::Png => png::decode(&bytes, &info, &target, &opts.limits)?,
        _ => decode::decode(&bytes, &info, &opts.limits)?,
    };
    drop(bytes);
    if info.orientation == image::metadata::Orientation::NoTransforms
        && photo.channels == resize::Channels::Rgbx
    {
        // The usual JPEG: resized straight into its place on the slide, with no copy between.
        let mut slide = compose::blank(layout.slide);
        let (x, y, w, h) = layout.dest;
        let mut place = fast_image_resize::images::CroppedImageMut::new(&mut slide, x, y, w, h)
            .expect("the layout puts the photo on the slide");
        resize::resize_into(&photo, &target, &mut place);
        drop(photo);
        return Ok(compose::finish(slide, &layout, opts.matte));
    }
    let resized = resize::resize(&photo, &target);
    drop(photo);
    let upright = orient::apply(resized, info.orientation);
    Ok(compose::compose(upright, &layout, opts.matte))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clip's frame kept as I420 is the same slide as its RGBA: to compare, to draw on, and
    /// once drawn on it is no longer the frame (a presenter must not show the frame under
    /// the caption).
    #[test]
    fn a_frame_slide_is_its_rgba_until_drawn_on() {
        let layout = I420::new(6, 4);
        let raw: Vec<u8> = (0..layout.size).map(|i| (16 + i * 5 % 200) as u8).collect();
        let mut rgba = vec![0; 6 * 4 * 4];
        layout.to_rgba(&raw, &mut rgba, 6).unwrap();
        let frame = Slide::from_i420(layout, raw.clone()).unwrap();
        assert_eq!(frame.frame().map(|f| f.raw.as_slice()), Some(raw.as_slice()));
        assert_eq!(frame, Slide::new(6, 4, rgba.clone()).unwrap());
        assert_eq!(frame.clone().into_rgba(), rgba);
        assert_eq!(frame.clone().into_i420(), Some(raw.clone()));
        let mut drawn = frame;
        drawn.rgba_mut()[0] = 1;
        assert!(drawn.frame().is_none() && drawn.clone().into_i420().is_none());
        assert_eq!(drawn.rgba()[0], 1);
        assert_eq!(drawn.rgba()[1..], rgba[1..]);
        let short = Slide::from_i420(layout, vec![0; 10]).unwrap_err();
        assert_eq!((short.len, short.expected), (10, layout.size as u64));
        // A frame lent from the child's memory reads the same, is let go of with its last
        // slide (so the child has it back), and is never taken for the next frame's memory.
        let memory = std::sync::Arc::new(raw.clone());
        let lent = FrameBytes::Lent(memory.clone());
        let frame = Slide::from_i420(layout, lent).unwrap();
        assert_eq!(frame.frame().map(|f| f.raw.as_slice()), Some(raw.as_slice()));
        assert_eq!(frame.rgba(), rgba.as_slice());
        let shown = frame.clone();
        assert!(frame.into_i420().is_none());
        assert_eq!(std::sync::Arc::strong_count(&memory), 2);
        drop(shown);
        assert_eq!(std::sync::Arc::strong_count(&memory), 1);
    }

    #[test]
    fn limits_refuse_zero_and_too_many_pixels() {
        let limits = Limits::default();
        assert!(matches!(
            limits.check_pixels(Format::Png, 0, 10),
            Err(RenderError::ZeroSize { .. })
        ));
        let err = limits.check_pixels(Format::Jpeg, 42_000, 42_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "42000×42000 is over the 250 MP limit ([limits] max_megapixels): send a smaller photo"
        );
        assert!(limits.check_pixels(Format::Jpeg, 20_000, 12_500).is_ok());
        assert!(limits.check_pixels(Format::Jpeg, 20_000, 12_501).is_err());
    }

    #[test]
    fn budget_names_the_key() {
        let limits = Limits { max_pixels: u64::MAX, max_decode_bytes: 64 * 1024 * 1024 };
        let err = limits.check_budget(Format::Png, (10_000, 10_000), 400_000_000).unwrap_err();
        assert!(err.to_string().contains("382 MB"), "{err}");
        assert!(err.to_string().contains("[limits] max_decode_mb"), "{err}");
        assert_eq!(err.kind(), ErrorKind::TooLarge);
    }
}
