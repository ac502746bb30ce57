//! Slides for the screen: a stored photo rendered at the screen's current size with the frame's
//! settings (and its caption), or the welcome slide. Rendering runs on the blocking pool, one
//! decode at a time (a Pi Zero 2 W has 512 MB), shared by ingest and the slideshow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use std::path::PathBuf;

use crate::display::ScreenSize;
use crate::library::Photo;
use crate::playback::{video, MotionError};
use crate::render::{self, text, Fit, Layout, Limits, Matte, RenderError, RenderOptions, Slide};

/// The frame-wide settings every slide is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct SlideSettings {
    pub fit: Fit,
    pub matte: Matte,
    pub limits: Limits,
    /// Draw captions along the bottom.
    pub captions: bool,
    /// What a caption says, in order.
    pub caption_fields: CaptionFields,
    /// Two portrait photos share a landscape screen (two landscape ones a portrait screen).
    pub pair: bool,
}

/// `[display] caption_fields`: one part of a photo's caption line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptionField {
    /// Who sent the photo (the Discord name, or an upload's `sender`).
    Sender,
    /// The text sent with it.
    Text,
    /// The day it was taken (EXIF DateTimeOriginal), else the day it was received.
    Date,
}

/// The caption's parts in the order the owner listed them, each at most once. `Copy`, so the
/// settings stay a plain value handed to every render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptionFields([Option<CaptionField>; 3]);

impl CaptionFields {
    /// The parts in this order; a part listed twice counts once.
    pub fn new(fields: &[CaptionField]) -> CaptionFields {
        let mut out = [None; 3];
        let mut n = 0;
        for &f in fields {
            if n < out.len() && !out[..n].contains(&Some(f)) {
                out[n] = Some(f);
                n += 1;
            }
        }
        CaptionFields(out)
    }

    pub fn iter(&self) -> impl Iterator<Item = CaptionField> + '_ {
        self.0.iter().flatten().copied()
    }

    /// The caption line for a photo: its parts joined by " · ", or `None` when it has none of
    /// them. `taken` is only looked at when the date is wanted (it reads the photo's EXIF).
    pub fn line(
        &self,
        look: &Look,
        taken: impl FnOnce() -> Option<jiff::civil::Date>,
    ) -> Option<String> {
        let mut taken = Some(taken);
        let parts: Vec<String> = self
            .iter()
            .filter_map(|field| match field {
                CaptionField::Sender => look.sender.clone(),
                CaptionField::Text => look.caption.clone(),
                CaptionField::Date => {
                    let date = taken.take().and_then(|f| f()).or_else(|| received_day(look));
                    date.map(|d| d.strftime("%-d %B %Y").to_string())
                }
            })
            .filter(|part| !part.trim().is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" \u{b7} "))
    }
}

impl Default for CaptionFields {
    /// The text alone, as the frame captioned before the other parts existed.
    fn default() -> CaptionFields {
        CaptionFields::new(&[CaptionField::Text])
    }
}

/// The day a photo was received (today, for one arriving now), in the system's time zone.
fn received_day(look: &Look) -> Option<jiff::civil::Date> {
    let at = match look.received_at {
        Some(ms) => jiff::Timestamp::from_millisecond(ms).ok()?,
        None => jiff::Timestamp::now(),
    };
    Some(at.to_zoned(jiff::tz::TimeZone::system()).date())
}

/// How one photo is drawn besides its pixels: from its index entry, or from an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    /// Overrides `[display] fit`.
    pub fit: Option<Fit>,
    /// Drawn when `[display] captions` is on.
    pub caption: Option<String>,
    /// Sent as a spoiler: veiled, captioned [`SPOILER_CAPTION`].
    pub spoiler: bool,
    /// Who sent it, for `caption_fields = ["sender", …]`.
    pub sender: Option<String>,
    /// When it was received (ms since the Unix epoch): the date shown when the photo carries
    /// none of its own. `None` means now.
    pub received_at: Option<i64>,
}

impl From<&Photo> for Look {
    fn from(photo: &Photo) -> Look {
        Look {
            fit: photo.fit,
            caption: photo.caption.clone(),
            spoiler: photo.spoiler,
            sender: photo.sender.clone(),
            received_at: Some(photo.received_at),
        }
    }
}

/// The caption of a spoiler, shown instead of its own.
pub const SPOILER_CAPTION: &str = "Spoiler";

/// Renders slides. Cheap to clone; clones share the one-decode-at-a-time permit.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// Shared by every clone, so that a setting changed from the page (captions) reaches
    /// the slideshow, ingest and thumbnails at once.
    settings: Arc<std::sync::RwLock<SlideSettings>>,
    /// The screen's size, followed as it changes.
    size: ScreenSize,
    /// One permit: decodes queue rather than run side by side and double the peak memory.
    permits: Arc<Semaphore>,
    /// Decodes started so far (the tests count what a superseded request cost).
    decodes: Arc<AtomicU64>,
}

impl Renderer {
    pub fn new(settings: SlideSettings, size: ScreenSize) -> Renderer {
        Renderer {
            settings: Arc::new(std::sync::RwLock::new(settings)),
            size,
            permits: Arc::new(Semaphore::new(1)),
            decodes: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn settings(&self) -> SlideSettings {
        *self.settings.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Captions on or off for every slide rendered from now on.
    pub fn set_captions(&self, on: bool) {
        self.settings.write().unwrap_or_else(|e| e.into_inner()).captions = on;
    }

    /// How many decodes have started since the frame started.
    pub fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }

    /// Takes the decode gate, as a decode would (the tests hold it to queue renders).
    #[cfg(test)]
    pub(crate) async fn hold_gate(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.permits.clone().acquire_owned().await.expect("the gate is never closed")
    }

    /// The screen's size now.
    pub fn size(&self) -> (u32, u32) {
        *self.size.borrow()
    }

    /// A receiver that wakes when the screen's size changes.
    pub fn size_changes(&self) -> ScreenSize {
        self.size.clone()
    }

    /// Whether two photos of these upright sizes share a slide: `[display] pair` is on and
    /// both are taller than wide on a landscape screen, or both wider than tall on a portrait
    /// one. Alone, each would fill under half the screen.
    pub fn pairs(&self, a: (u32, u32), b: (u32, u32)) -> bool {
        let (w, h) = self.size();
        let tall = |(x, y): (u32, u32)| y > x;
        let wide = |(x, y): (u32, u32)| x > y;
        self.settings().pair && ((w > h && tall(a) && tall(b)) || (h > w && wide(a) && wide(b)))
    }

    /// Renders a photo for the screen. `fit` overrides the frame's setting for this photo.
    /// `bytes` is shared with the caller (ingest stores them afterwards); when the caller
    /// let go of them, they are freed as soon as they are decoded.
    ///
    /// Dropping the future while it waits for the gate costs nothing; once the decode has
    /// started it runs to the end, and keeps the gate until then.
    pub async fn photo(&self, bytes: Arc<Vec<u8>>, look: Look) -> Result<Arc<Slide>, RenderError> {
        self.sized(bytes, look, self.size()).await.map(Arc::new)
    }

    /// Renders two photos side by side (one above the other on a portrait screen), each
    /// fitted in its half with its own fit, matte and caption, a thin black gap between.
    /// One decode at a time, like every render.
    pub async fn pair(
        &self,
        (first, first_look): (Arc<Vec<u8>>, Look),
        (second, second_look): (Arc<Vec<u8>>, Look),
    ) -> Result<Arc<Slide>, RenderError> {
        let (w, h) = self.size();
        let side_by_side = w >= h;
        let across = if side_by_side { w } else { h };
        // Thin, yet still a line from across a room: 8 px on a 1920-wide screen.
        let gap = (across / 240).max(2).min(across.saturating_sub(2));
        let one = (across - gap) / 2;
        let two = across - gap - one;
        let half = |n: u32| if side_by_side { (n, h) } else { (w, n) };
        let a = self.sized(first, first_look, half(one)).await?;
        let b = self.sized(second, second_look, half(two)).await?;
        let mut slide = Slide::filled(w, h, [0, 0, 0, 255]);
        paste(&mut slide, &a, (0, 0));
        paste(&mut slide, &b, if side_by_side { (one + gap, 0) } else { (0, one + gap) });
        Ok(Arc::new(slide))
    }

    /// Runs `work` on the blocking pool under the decode gate, like a render: probing an
    /// animation decodes every frame.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permit =
            self.permits.clone().acquire_owned().await.expect("the decode gate is never closed");
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .ok()
    }

    /// The still of a clip at `path`: its first frame over the matte, captioned like a photo.
    /// The frame comes from a GStreamer child, under the decode gate.
    pub async fn video_still(
        &self,
        path: PathBuf,
        size: (u32, u32),
        look: Look,
    ) -> Result<Arc<Slide>, MotionError> {
        let (layout, line) = self.motion_layout(size, &look);
        let matte = self.settings().matte;
        let shape = video::Shape { crop: layout.crop(), out: (layout.dest.2, layout.dest.3) };
        let work = move || -> Result<Arc<Slide>, MotionError> {
            let frame = video::first_frame(&path, shape)?;
            let (w, h) = shape.out;
            let picture = image::RgbaImage::from_raw(w, h, frame).expect("a frame of w×h RGBA");
            let slide = render::compose_fitted(picture, &layout, matte);
            Ok(Arc::new(finish_still(slide, &look, line.as_deref())))
        };
        self.blocking(work).await.unwrap_or_else(|| {
            Err(MotionError::Damaged { detail: "the frame's worker failed on it".into() })
        })
    }

    /// A `side`×`side` thumbnail for the page's grid: the picture cropped to fill the square,
    /// veiled if a spoiler, without a caption. Under the decode gate like every render.
    /// Answers the JPEG.
    pub async fn thumbnail(&self, of: Thumbnail, side: u32) -> Result<Vec<u8>, ThumbnailFailure> {
        let limits = self.settings().limits;
        self.decodes.fetch_add(1, Ordering::Relaxed);
        let work = move || -> Result<Vec<u8>, ThumbnailFailure> {
            let (slide, spoiler) = match of {
                Thumbnail::Picture { bytes, spoiler } => {
                    let mut opts = RenderOptions::new(side, side);
                    opts.fit = Fit::Cover;
                    opts.limits = limits;
                    (
                        render::render_owned(bytes, &opts).map_err(ThumbnailFailure::Picture)?,
                        spoiler,
                    )
                }
                Thumbnail::Clip { path, size, spoiler } => {
                    let layout = Layout::new(size, (side, side), Fit::Cover);
                    let shape =
                        video::Shape { crop: layout.crop(), out: (layout.dest.2, layout.dest.3) };
                    let frame = video::first_frame(&path, shape)?;
                    let (w, h) = shape.out;
                    let picture =
                        image::RgbaImage::from_raw(w, h, frame).expect("a frame of w×h RGBA");
                    (render::compose_fitted(picture, &layout, Matte::default()), spoiler)
                }
            };
            let slide = if spoiler { render::veil(&slide) } else { slide };
            encode_jpeg(&slide, side).map_err(|e| ThumbnailFailure::Other(e.to_string()))
        };
        self.blocking(work).await.unwrap_or_else(|| {
            Err(ThumbnailFailure::Other("the frame's worker failed on it".into()))
        })
    }

    /// Where a moving picture of `size` goes on the screen, and its caption.
    pub fn motion_layout(&self, size: (u32, u32), look: &Look) -> (Layout, Option<String>) {
        let settings = self.settings();
        let fit = look.fit.unwrap_or(settings.fit);
        let layout = Layout::new(size, self.size(), fit);
        let line = (settings.captions && !look.spoiler)
            .then(|| settings.caption_fields.line(look, || None))
            .flatten();
        (layout, line)
    }

    async fn sized(
        &self,
        bytes: Arc<Vec<u8>>,
        look: Look,
        (width, height): (u32, u32),
    ) -> Result<Slide, RenderError> {
        let mut opts = RenderOptions::new(width, height);
        let settings = self.settings();
        opts.fit = look.fit.unwrap_or(settings.fit);
        opts.matte = settings.matte;
        opts.limits = settings.limits;
        let SlideSettings { captions, caption_fields, .. } = settings;
        let permit =
            self.permits.clone().acquire_owned().await.expect("the decode gate is never closed");
        self.decodes.fetch_add(1, Ordering::Relaxed);
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // The caption is read before the bytes go to the decoder, which may take them.
            let line = (captions && !look.spoiler)
                .then(|| caption_fields.line(&look, || render::taken_on(&bytes)))
                .flatten();
            let slide = match Arc::try_unwrap(bytes) {
                Ok(owned) => render::render_owned(owned, &opts)?,
                Err(shared) => render::render(&shared, &opts)?,
            };
            Ok(finish_still(slide, &look, line.as_deref()))
        });
        job.await.unwrap_or_else(|_| {
            Err(RenderError::Corrupt { format: "image", detail: "the decoder failed".into() })
        })
    }
}

/// Why a thumbnail could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailFailure {
    #[error(transparent)]
    Picture(RenderError),
    /// A clip's first frame: GStreamer may be missing (the owner's to install) or the clip
    /// damaged.
    #[error(transparent)]
    Clip(#[from] MotionError),
    #[error("{0}")]
    Other(String),
}

/// What a thumbnail is made from.
#[derive(Debug)]
pub enum Thumbnail {
    /// A photo's or an animation's bytes (an animation's first frame).
    Picture { bytes: Vec<u8>, spoiler: bool },
    /// A clip's original on disk, of `size` (upright): its first frame.
    Clip { path: PathBuf, size: (u32, u32), spoiler: bool },
}

/// A rendered slide made ready for the screen: veiled if a spoiler (whatever the settings, a
/// spoiler says what it is: its own caption may give away what the sender meant to hide),
/// else captioned.
fn finish_still(mut slide: Slide, look: &Look, line: Option<&str>) -> Slide {
    if look.spoiler {
        slide = render::veil(&slide);
        text::caption(&mut slide, SPOILER_CAPTION);
    } else if let Some(line) = line {
        text::caption(&mut slide, line);
    }
    slide
}

/// Copies `src` into `dst` with its top-left corner at `(x, y)`; what falls outside is cut.
fn paste(dst: &mut Slide, src: &Slide, (x, y): (u32, u32)) {
    let (dw, dh) = (dst.width() as usize, dst.height() as usize);
    let (x, y) = (x as usize, y as usize);
    let w = (src.width() as usize).min(dw.saturating_sub(x));
    let rows = (src.height() as usize).min(dh.saturating_sub(y));
    let src_stride = src.width() as usize * 4;
    let out = dst.rgba_mut();
    for (row, line) in src.rgba().chunks_exact(src_stride).take(rows).enumerate() {
        let at = ((y + row) * dw + x) * 4;
        out[at..at + w * 4].copy_from_slice(&line[..w * 4]);
    }
}

/// What the welcome slide tells a person looking at an empty frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeInfo {
    /// The endpoint's URL, for the curl line.
    pub http_url: String,
    /// The page's address for a phone on the home network, shown with a QR code; `None`
    /// when the endpoint listens on loopback only.
    pub page_url: Option<String>,
    /// One line about Discord: how to send from the app, or how to switch it on.
    pub discord_line: String,
    /// What the library found at start that the owner should know (an index rebuilt, a
    /// folder it cannot read), shown under the instructions.
    pub notices: Vec<String>,
    /// When the screen next turns off (or on) by `[schedule]`; `None` without a schedule.
    pub screen_line: Option<String>,
}

/// The clock on the slides (`[display] clock`): what it shows, where, by which clock.
#[derive(Debug, Clone)]
pub struct ClockFace {
    pub show: text::ClockShow,
    pub corner: text::Corner,
    pub clock: crate::schedule::Clock,
}

impl ClockFace {
    /// `slide` with the time (and the date) drawn in its corner.
    pub fn draw(&self, slide: &Slide) -> Slide {
        let mut shown = slide.clone();
        self.draw_on(&mut shown);
        shown
    }

    /// Draws the time (and the date) in `slide`'s corner.
    pub fn draw_on(&self, slide: &mut Slide) {
        let now = self.clock.now();
        let time = now.strftime("%H:%M").to_string();
        let date = now.strftime("%A %-d %B").to_string();
        let lines: Vec<&str> = match self.show {
            text::ClockShow::None => return,
            text::ClockShow::Time => vec![&time],
            text::ClockShow::TimeAndDate => vec![&time, &date],
        };
        text::corner_text(slide, &lines, self.corner);
    }

    /// How long until the minute on the clock changes.
    pub fn until_next_minute(&self) -> Duration {
        let now = self.clock.now();
        let into = Duration::from_secs(u64::try_from(now.second()).unwrap_or(0))
            + Duration::from_nanos(u64::try_from(now.subsec_nanosecond()).unwrap_or(0));
        Duration::from_secs(60).saturating_sub(into).max(Duration::from_millis(1))
    }
}

/// The slide shown while the library is empty: how to send the first photo.
pub fn welcome(width: u32, height: u32, info: &WelcomeInfo) -> Slide {
    use text::Weight::{Regular, SemiBold};
    let mut slide = Slide::filled(width, height, [0, 0, 0, 255]);
    // A quiet vertical gradient, dark enough not to light up a room at night.
    let row_bytes = width as usize * 4;
    if row_bytes > 0 {
        for (y, row) in slide.rgba_mut().chunks_exact_mut(row_bytes).enumerate() {
            let t = y as f32 / height.max(1) as f32;
            let px =
                [(18.0 + 14.0 * t) as u8, (22.0 + 10.0 * t) as u8, (34.0 + 12.0 * t) as u8, 255];
            row.chunks_exact_mut(4).for_each(|p| p.copy_from_slice(&px));
        }
    }
    let unit = (height as f32 / 18.0).min(width as f32 / 28.0).max(6.0);
    let margin = unit * 1.5;
    // The page's QR code on the right, the words beside it.
    let qr_side = info.page_url.as_ref().map(|url| {
        let side = (height as f32 * 0.38).min(width as f32 * 0.25);
        let (x, y) = (width as f32 - margin - side, height as f32 * 0.22 - unit * 1.2);
        crate::render::card::draw_qr(&mut slide, url, x, y, side);
        side + margin
    });
    let max_w = width as f32 - 2.0 * margin - qr_side.unwrap_or(0.0);
    // Two lines more with the page: the words start higher.
    let mut y = height as f32 * if qr_side.is_some() { 0.22 } else { 0.30 };
    let mut line = |slide: &mut Slide, s: &str, px: f32, weight, color: [u8; 3], gap: f32| {
        // A little smaller rather than cut, then cut with an ellipsis.
        let fits = max_w * 97.0 / text::measure(s, 100.0, weight).max(1.0);
        let px = px.min(fits).max(px * 0.7);
        let s = text::fit_width(s, px, weight, max_w);
        text::draw(slide, &s, margin, y, px, weight, color);
        y += px * gap;
    };
    let curl = format!("curl --data-binary @photo.jpg {}/api/photos", info.http_url);
    line(&mut slide, "Send a photo to this frame", unit * 1.6, SemiBold, [255, 255, 255], 1.6);
    if let Some(url) = &info.page_url {
        let (head, body) =
            ("From a phone on the same Wi-Fi:", format!("scan the square, or open {url}"));
        line(&mut slide, head, unit * 0.8, SemiBold, [190, 200, 230], 1.3);
        line(&mut slide, &body, unit * 0.8, Regular, [230, 230, 230], 2.0);
    }
    line(&mut slide, "From the Discord app:", unit * 0.8, SemiBold, [190, 200, 230], 1.3);
    line(&mut slide, &info.discord_line, unit * 0.8, Regular, [230, 230, 230], 2.0);
    line(&mut slide, "From this computer:", unit * 0.8, SemiBold, [190, 200, 230], 1.3);
    line(&mut slide, &curl, unit * 0.7, Regular, [230, 230, 230], 2.0);
    if let Some(screen) = &info.screen_line {
        line(&mut slide, screen, unit * 0.6, Regular, [190, 200, 230], 1.6);
    }
    // At most three, each on one line: the log and `/api/status` have them in full.
    for notice in info.notices.iter().take(3) {
        line(&mut slide, notice, unit * 0.6, Regular, [255, 200, 90], 1.3);
    }
    slide
}

/// A slide as a JPEG at most `max_width` pixels wide, for Discord's `peek`: a 4K screen's
/// PNG can be over a bot's upload limit, and a phone shows a JPEG of 1920 pixels as well.
pub fn encode_jpeg(slide: &Slide, max_width: u32) -> Result<Vec<u8>, image::ImageError> {
    use image::{imageops, ImageFormat, RgbImage};
    let (w, h) = slide.size();
    let rgb: Vec<u8> = slide.rgba().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut image = RgbImage::from_raw(w, h, rgb).ok_or_else(|| {
        image::ImageError::Parameter(image::error::ParameterError::from_kind(
            image::error::ParameterErrorKind::DimensionMismatch,
        ))
    })?;
    if w > max_width {
        let height = (u64::from(h) * u64::from(max_width) / u64::from(w)).max(1) as u32;
        image = imageops::resize(&image, max_width, height, imageops::FilterType::Triangle);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// A slide as PNG, for `/api/screenshot.png` and Discord's `peek`: fast compression, since a
/// screenshot is looked at once.
pub fn encode_png(slide: &Slide) -> Result<Vec<u8>, image::ImageError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut out = Vec::new();
    let encoder =
        PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
    encoder.write_image(
        slide.rgba(),
        slide.width(),
        slide.height(),
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_welcome_slide_has_text_on_a_dark_background() {
        let info = WelcomeInfo {
            http_url: "http://127.0.0.1:8080".into(),
            page_url: None,
            discord_line: "Discord is off: set [discord] token in config.toml".into(),
            notices: vec![],
            screen_line: None,
        };
        let s = welcome(640, 360, &info);
        assert!(crate::render::card::read_qr(&s).is_empty());
        // Reachable from the home network: a phone's camera finds the page's address.
        let on_wifi =
            WelcomeInfo { page_url: Some("http://192.168.1.20:8080/".into()), ..info.clone() };
        for (w, h) in [(1920, 1080), (800, 480), (1080, 1920)] {
            let slide = welcome(w, h, &on_wifi);
            assert_eq!(crate::render::card::read_qr(&slide), ["http://192.168.1.20:8080/"]);
        }
        assert_eq!(s.rgba().len(), 640 * 360 * 4);
        let bright = s.rgba().chunks_exact(4).filter(|p| p[0] > 200).count();
        // Text covers some pixels, but the slide stays mostly dark.
        assert!(bright > 500 && bright < 640 * 360 / 10, "{bright} bright pixels");
        // Small screens still get a slide (the text shrinks or is cut with an ellipsis).
        let tiny = welcome(40, 30, &info);
        assert_eq!(tiny.rgba().len(), 40 * 30 * 4);
        // The owner's notices are drawn in amber, which nothing else on the slide is.
        let amber =
            |s: &Slide| s.rgba().chunks_exact(4).filter(|p| p[0] > 200 && p[2] < 120).count();
        assert_eq!(amber(&s), 0);
        let warned =
            WelcomeInfo { notices: vec!["the photo index was damaged".into()], ..info.clone() };
        assert!(amber(&welcome(640, 360, &warned)) > 50);
        // The screen's next change is a line of its own, under the instructions.
        let scheduled = WelcomeInfo {
            screen_line: Some("The screen turns off at 23:00 on Monday.".into()),
            ..info
        };
        let lower_half = |s: &Slide| {
            s.rgba()[s.rgba().len() / 2..].chunks_exact(4).filter(|p| p[2] > 150).count()
        };
        assert!(lower_half(&welcome(640, 360, &scheduled)) > lower_half(&s) + 50);
    }

    fn look() -> Look {
        Look {
            caption: Some("At the lake".into()),
            sender: Some("anna".into()),
            // 2024-03-10 12:00 UTC: the same day in every zone from UTC-11 to UTC+11.
            received_at: Some(1_710_072_000_000),
            ..Look::default()
        }
    }

    #[test]
    fn a_caption_line_has_the_parts_the_owner_listed_in_order() {
        use CaptionField::{Date, Sender, Text};
        let taken = || Some(jiff::civil::date(2019, 6, 15));
        let all = CaptionFields::new(&[Sender, Text, Date]);
        assert_eq!(all.line(&look(), taken).as_deref(), Some("anna · At the lake · 15 June 2019"));
        let reordered = CaptionFields::new(&[Date, Sender, Date]);
        assert_eq!(reordered.line(&look(), taken).as_deref(), Some("15 June 2019 · anna"));
        // Without a camera date, the day it was received.
        assert_eq!(
            CaptionFields::new(&[Date]).line(&look(), || None).as_deref(),
            Some("10 March 2024")
        );
        // The photo is not read for a date nobody asked for.
        let text = CaptionFields::default().line(&look(), || panic!("read EXIF"));
        assert_eq!(text.as_deref(), Some("At the lake"));
        // A photo arriving now was received today.
        let today = jiff::Zoned::now().date().strftime("%-d %B %Y").to_string();
        let arriving = Look { received_at: None, ..look() };
        assert_eq!(CaptionFields::new(&[Date]).line(&arriving, || None), Some(today));
        // Parts the photo lacks are left out; none at all means no caption band.
        let who_and_what = CaptionFields::new(&[Sender, Text]);
        let bare = Look { caption: Some("  ".into()), ..Look::default() };
        assert_eq!(who_and_what.line(&bare, || None), None);
        assert_eq!(
            who_and_what.line(&Look { sender: Some("bo".into()), ..bare }, || None).as_deref(),
            Some("bo")
        );
    }

    #[test]
    fn portrait_photos_pair_on_landscape_screens_and_landscape_ones_on_portrait_screens() {
        let renderer = |(w, h), pair| {
            let (_, size) = tokio::sync::watch::channel((w, h));
            let settings = SlideSettings {
                fit: Fit::Contain,
                matte: Matte::Black,
                limits: Limits::default(),
                captions: true,
                caption_fields: CaptionFields::default(),
                pair,
            };
            Renderer::new(settings, size)
        };
        let (tall, wide, square) = ((3, 4), (4, 3), (5, 5));
        let landscape = renderer((1920, 1080), true);
        assert!(landscape.pairs(tall, tall));
        assert!(!landscape.pairs(tall, wide) && !landscape.pairs(wide, wide));
        assert!(!landscape.pairs(tall, square));
        let portrait = renderer((1080, 1920), true);
        assert!(portrait.pairs(wide, wide) && !portrait.pairs(tall, tall));
        assert!(!renderer((1000, 1000), true).pairs(tall, tall), "a square screen never pairs");
        assert!(!renderer((1920, 1080), false).pairs(tall, tall), "pair = false");
    }

    /// The renderer draws the line it composed: the camera's date from the photo's own EXIF.
    #[tokio::test]
    async fn a_rendered_caption_carries_the_camera_date() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ladybird-dated.jpg"
        ))
        .unwrap();
        let (_, size) = tokio::sync::watch::channel((320, 200));
        let settings = SlideSettings {
            fit: Fit::Contain,
            matte: Matte::Black,
            limits: Limits::default(),
            captions: true,
            caption_fields: CaptionFields::new(&[CaptionField::Sender, CaptionField::Date]),
            pair: false,
        };
        let renderer = Renderer::new(settings, size);
        let drawn = renderer.photo(Arc::new(bytes.clone()), look()).await.unwrap();
        let mut opts = RenderOptions::new(320, 200);
        opts.matte = Matte::Black;
        let plain = render::render(&bytes, &opts).unwrap();
        let mut expected = plain.clone();
        text::caption(&mut expected, "anna · 15 June 2019");
        assert!(drawn.rgba() != plain.rgba(), "no caption was drawn");
        assert!(drawn.rgba() == expected.rgba(), "the caption is not \"anna · 15 June 2019\"");
    }
}
