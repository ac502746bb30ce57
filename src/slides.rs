//! Slides for the screen: a stored photo rendered at the screen's current size with the frame's
//! settings (and its caption), or the welcome slide. Rendering runs on the blocking pool, one
//! decode at a time (a Pi Zero 2 W has 512 MB), shared by ingest and the slideshow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::display::ScreenSize;
use crate::library::Photo;
use crate::render::{self, text, Fit, Limits, Matte, RenderError, RenderOptions, Slide};

/// The frame-wide settings every slide is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct SlideSettings {
    pub fit: Fit,
    pub matte: Matte,
    pub limits: Limits,
    /// Draw captions along the bottom.
    pub captions: bool,
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
}

impl From<&Photo> for Look {
    fn from(photo: &Photo) -> Look {
        Look { fit: photo.fit, caption: photo.caption.clone(), spoiler: photo.spoiler }
    }
}

/// The caption of a spoiler, shown instead of its own.
pub const SPOILER_CAPTION: &str = "Spoiler";

/// Renders slides. Cheap to clone; clones share the one-decode-at-a-time permit.
#[derive(Debug, Clone)]
pub struct Renderer {
    settings: SlideSettings,
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
            settings,
            size,
            permits: Arc::new(Semaphore::new(1)),
            decodes: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn settings(&self) -> &SlideSettings {
        &self.settings
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

    /// Renders a photo for the screen. `fit` overrides the frame's setting for this photo.
    /// `bytes` is shared with the caller (ingest stores them afterwards); when the caller
    /// let go of them, they are freed as soon as they are decoded.
    ///
    /// Dropping the future while it waits for the gate costs nothing; once the decode has
    /// started it runs to the end, and keeps the gate until then.
    pub async fn photo(&self, bytes: Arc<Vec<u8>>, look: Look) -> Result<Arc<Slide>, RenderError> {
        let Look { fit, caption, spoiler } = look;
        let (width, height) = self.size();
        let mut opts = RenderOptions::new(width, height);
        opts.fit = fit.unwrap_or(self.settings.fit);
        opts.matte = self.settings.matte;
        opts.limits = self.settings.limits;
        let captions = self.settings.captions;
        let permit =
            self.permits.clone().acquire_owned().await.expect("the decode gate is never closed");
        self.decodes.fetch_add(1, Ordering::Relaxed);
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut slide = match Arc::try_unwrap(bytes) {
                Ok(owned) => render::render_owned(owned, &opts)?,
                Err(shared) => render::render(&shared, &opts)?,
            };
            if spoiler {
                // Whatever the settings, a spoiler says what it is: its own caption may give
                // away what the sender meant to hide.
                slide = render::veil(&slide);
                text::caption(&mut slide, SPOILER_CAPTION);
            } else if let (true, Some(caption)) = (captions, caption) {
                text::caption(&mut slide, &caption);
            }
            Ok(Arc::new(slide))
        });
        job.await.unwrap_or_else(|_| {
            Err(RenderError::Corrupt { format: "image", detail: "the decoder failed".into() })
        })
    }
}

/// What the welcome slide tells a person looking at an empty frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeInfo {
    /// The endpoint's URL, for the curl line.
    pub http_url: String,
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
        let now = self.clock.now();
        let time = now.strftime("%H:%M").to_string();
        let date = now.strftime("%A %-d %B").to_string();
        let mut shown = slide.clone();
        let lines: Vec<&str> = match self.show {
            text::ClockShow::None => return shown,
            text::ClockShow::Time => vec![&time],
            text::ClockShow::TimeAndDate => vec![&time, &date],
        };
        text::corner_text(&mut shown, &lines, self.corner);
        shown
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
    let max_w = width as f32 - 2.0 * margin;
    let mut y = height as f32 * 0.30;
    let mut line = |slide: &mut Slide, s: &str, px: f32, weight, color: [u8; 3], gap: f32| {
        let s = text::fit_width(s, px, weight, max_w);
        text::draw(slide, &s, margin, y, px, weight, color);
        y += px * gap;
    };
    let curl = format!("curl --data-binary @photo.jpg {}/api/photos", info.http_url);
    line(&mut slide, "Send a photo to this frame", unit * 1.6, SemiBold, [255, 255, 255], 1.6);
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
            discord_line: "Discord is off: set [discord] token in config.toml".into(),
            notices: vec![],
            screen_line: None,
        };
        let s = welcome(640, 360, &info);
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
}
