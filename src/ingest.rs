//! The one path from a photo's bytes to the library, for every source (HTTP and Discord).
//!
//! The order is what makes "done" mean done: the format is sniffed from the bytes and the
//! header checked against the limits before anything is decoded; the photo is then rendered
//! for the screen, which proves it decodes (a truncated JPEG is refused here, not found broken
//! at 3 a.m. in the rotation) and yields the slide that shows it at once; only then is it
//! stored, durably. A photo that fails any step is not stored at all.

use std::sync::Arc;

use crate::library::{Added, Kind, Library, LibraryError, NewPhoto, Photo, Source};
use crate::playback::{animation, video, MotionError, MotionInfo, MotionLimits};
use crate::render::{self, Fit, RenderError, Slide};
use crate::slides::{Look, Renderer};

/// A photo arriving from a source.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub bytes: Vec<u8>,
    pub source: Source,
    pub sender: Option<String>,
    /// The sender's Discord id, who owns the photo.
    pub sender_id: Option<u64>,
    pub caption: Option<String>,
    pub channel_id: Option<u64>,
    pub message_id: Option<u64>,
    /// Overrides `[display] fit` for this photo.
    pub fit: Option<Fit>,
    /// Sent as a spoiler: stored, and shown veiled.
    pub spoiler: bool,
}

impl IngestRequest {
    /// A request with only the bytes and the source set.
    pub fn new(bytes: Vec<u8>, source: Source) -> IngestRequest {
        IngestRequest {
            bytes,
            source,
            sender: None,
            sender_id: None,
            caption: None,
            channel_id: None,
            message_id: None,
            fit: None,
            spoiler: false,
        }
    }
}

/// A stored photo, and the slide that shows it.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub photo: Photo,
    /// The bytes were already in the library (now moved to the front).
    pub duplicate: bool,
    /// Rendered at the screen's size when ingest ran; dropped once a later photo of the same
    /// batch is stored (only the last one shows).
    pub slide: Option<Arc<Slide>>,
    /// Photos the retention limits removed to make room.
    pub removed: Vec<i64>,
}

/// Why a photo was not stored: the sender's problem ([`RenderError`], with a message for them)
/// or the frame's (a disk error, for the owner's log).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Photo(#[from] RenderError),
    #[error(transparent)]
    Motion(#[from] MotionError),
    #[error("the frame could not store the photo: {0}")]
    Library(#[from] LibraryError),
    #[error("the frame could not store the photo: {0}")]
    Worker(String),
}

impl IngestError {
    /// The photo was fine but the frame's disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, IngestError::Library(e) if e.is_disk_full())
    }

    /// The photo was fine but the frame's card failed to write it (EIO).
    pub fn is_io_failure(&self) -> bool {
        matches!(self, IngestError::Library(e) if e.is_io_failure())
    }
}

/// Ingest for every source. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ingest {
    library: Arc<Library>,
    renderer: Renderer,
    motion: MotionLimits,
}

impl Ingest {
    pub fn new(library: Arc<Library>, renderer: Renderer) -> Ingest {
        Ingest { library, renderer, motion: MotionLimits::default() }
    }

    /// With `[video]`'s limits on clips and animations.
    pub fn with_motion_limits(mut self, limits: MotionLimits) -> Ingest {
        self.motion = limits;
        self
    }

    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    /// Checks, renders and stores one photo (or animation, or clip). Returns once it is on
    /// disk.
    pub async fn ingest(&self, req: IngestRequest) -> Result<Ingested, IngestError> {
        let caption = req.caption.as_deref().and_then(clip_caption);
        let look = Look {
            fit: req.fit,
            caption: caption.clone(),
            spoiler: req.spoiler,
            sender: req.sender.clone(),
            received_at: None,
        };
        let bytes = Arc::new(req.bytes);
        let (format, (width, height), kind, duration, slide) =
            if let Some(container) = video::container(&bytes) {
                let (info, slide) = self.check_video(&bytes, look).await?;
                let size = (info.width, info.height);
                (container.to_owned(), size, Kind::Video, Some(info.duration), slide)
            } else if let Some(container) = video::other_container(&bytes) {
                return Err(MotionError::Container { container }.into());
            } else {
                let info = render::probe(&bytes, &self.renderer.settings().limits)?;
                let motion = self.check_animation(&bytes, info.format).await?;
                let slide = self.renderer.photo(bytes.clone(), look).await?;
                let (kind, duration) = match motion {
                    Some(m) => (Kind::Animation, Some(m.duration)),
                    None => (Kind::Photo, None),
                };
                (info.format.name().to_owned(), info.upright_size(), kind, duration, slide)
            };
        let new = NewPhoto {
            source: Some(req.source),
            sender: req.sender,
            sender_id: req.sender_id,
            caption,
            channel_id: req.channel_id,
            message_id: req.message_id,
            format,
            width,
            height,
            fit: req.fit,
            spoiler: req.spoiler,
            kind,
            duration_ms: duration.map(|d| d.as_millis() as u64),
        };
        let library = self.library.clone();
        let added = tokio::task::spawn_blocking(move || library.add(&bytes, new))
            .await
            .map_err(|e| IngestError::Worker(e.to_string()))??;
        let Added { photo, duplicate, removed } = added;
        tracing::info!(
            id = photo.id,
            source = ?photo.source,
            sender = photo.sender.as_deref().unwrap_or("-"),
            duplicate,
            "stored a {}×{} {} ({})",
            photo.width,
            photo.height,
            photo.format,
            photo.kind,
        );
        Ok(Ingested { photo, duplicate, slide: Some(slide), removed })
    }

    /// An animated GIF, WebP or PNG: decoded to its last frame (which proves it plays) and
    /// measured. `None` for a still image.
    async fn check_animation(
        &self,
        bytes: &Arc<Vec<u8>>,
        format: render::Format,
    ) -> Result<Option<MotionInfo>, IngestError> {
        if !matches!(format, render::Format::Gif | render::Format::WebP | render::Format::Png) {
            return Ok(None);
        }
        let (bytes, limits) = (bytes.clone(), self.motion);
        let probed = self
            .renderer
            .blocking(move || {
                animation::is_animated(&bytes, format)
                    .then(|| animation::probe(&bytes, format, &limits))
                    .transpose()
            })
            .await
            .ok_or_else(|| IngestError::Worker("the animation's worker failed".into()))?;
        probed.map_err(|e| match e {
            animation::ProbeError::Image(e) => IngestError::Photo(e),
            animation::ProbeError::Motion(e) => IngestError::Motion(e),
        })
    }

    /// A clip: GStreamer reads what it is (from a temporary file: it reads files), the limits
    /// are checked, and its first frame becomes its still.
    async fn check_video(
        &self,
        bytes: &Arc<Vec<u8>>,
        look: Look,
    ) -> Result<(MotionInfo, Arc<Slide>), IngestError> {
        if !video::available() {
            return Err(MotionError::NoGStreamer.into());
        }
        let library = self.library.clone();
        let data = bytes.clone();
        let scratch = tokio::task::spawn_blocking(move || library.scratch(&data))
            .await
            .map_err(|e| IngestError::Worker(e.to_string()))??;
        let path = scratch.path().to_owned();
        let limits = self.motion;
        let info = tokio::task::spawn_blocking(move || video::probe(&path, &limits))
            .await
            .map_err(|e| IngestError::Worker(e.to_string()))??;
        let size = (info.width, info.height);
        let slide = self.renderer.video_still(scratch.path().to_owned(), size, look).await?;
        drop(scratch);
        Ok((info, slide))
    }
}

/// The longest caption kept, in characters; a longer one is cut and ends with "…". A caption
/// is a line or two on a photo, and the limit bounds the time its layout takes.
pub const MAX_CAPTION_CHARS: usize = 1000;

/// A caption as stored: `None` when blank, else at most [`MAX_CAPTION_CHARS`] characters.
pub fn clip_caption(caption: &str) -> Option<String> {
    if caption.trim().is_empty() {
        return None;
    }
    match caption.char_indices().nth(MAX_CAPTION_CHARS) {
        None => Some(caption.to_owned()),
        Some(_) => {
            let (cut, _) = caption.char_indices().nth(MAX_CAPTION_CHARS - 1).unwrap_or((0, ' '));
            Some(format!("{}…", caption[..cut].trim_end()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Retention;
    use crate::render::{Limits, Matte};
    use crate::slides::SlideSettings;

    fn ingest(dir: &std::path::Path, limits: Limits) -> Ingest {
        let library = Arc::new(Library::open(dir, Retention::default()).unwrap());
        let settings = SlideSettings {
            fit: Fit::Contain,
            matte: Matte::Black,
            limits,
            captions: true,
            caption_fields: Default::default(),
            pair: false,
        };
        let (_, size) = tokio::sync::watch::channel((320, 180));
        Ingest::new(library, Renderer::new(settings, size))
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        std::fs::read(path).unwrap()
    }

    /// The files in the library's photo folder: the originals and anything left behind.
    fn files(dir: &std::path::Path) -> usize {
        walk(&dir.join("photos"))
    }

    fn walk(dir: &std::path::Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { walk(&p) } else { 1 }).sum()
    }

    #[tokio::test]
    async fn a_photo_is_stored_upright_with_its_options_and_its_slide() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest(dir.path(), Limits::default());
        // Stored 4:3 landscape, shown turned a quarter (EXIF orientation 6): portrait.
        let mut req = IngestRequest::new(fixture("orient-6.jpg"), Source::Http);
        req.caption = Some(format!("  {}", "a".repeat(MAX_CAPTION_CHARS + 5)));
        req.fit = Some(Fit::Cover);
        req.sender = Some("anna".into());
        let done = ingest.ingest(req).await.unwrap();
        let photo = &done.photo;
        assert!(!done.duplicate);
        let header = render::probe(&fixture("orient-6.jpg"), &Limits::default()).unwrap();
        assert_eq!((photo.width, photo.height), (header.height, header.width));
        assert_eq!(photo.format, "JPEG");
        assert_eq!(photo.fit, Some(Fit::Cover));
        assert_eq!(photo.caption.as_ref().unwrap().chars().count(), MAX_CAPTION_CHARS);
        assert_eq!(done.slide.as_ref().unwrap().size(), (320, 180));
        // What was stored is what the library gives back, bytes and all.
        let (stored, bytes) = ingest.library().read(photo.id).unwrap().unwrap();
        assert_eq!(stored.sender.as_deref(), Some("anna"));
        assert_eq!(bytes, fixture("orient-6.jpg"));

        // The same bytes again are the same photo, brought to the front.
        let again = ingest.ingest(IngestRequest::new(fixture("orient-6.jpg"), Source::Http));
        let again = again.await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.photo.id, photo.id);
        assert_eq!(ingest.library().count().unwrap(), 1);
        assert_eq!(files(dir.path()), 1);
    }

    /// A photo that fails any step is not stored at all, and the error is the sender's to
    /// fix (a `RenderError`), never the frame's.
    #[tokio::test]
    async fn a_refused_photo_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // ladybird.jpg is 640×400: 256,000 pixels.
        let small = Limits { max_pixels: 100_000, ..Limits::default() };
        let ingest = ingest(dir.path(), small);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("not an image", b"Hello, this is a letter, not a photo".to_vec()),
            ("a format the frame cannot decode", fixture("ladybird.heic")),
            ("over the pixel limit", fixture("ladybird.jpg")),
            ("empty", Vec::new()),
        ];
        for (what, bytes) in cases {
            let err = ingest.ingest(IngestRequest::new(bytes, Source::Http)).await.unwrap_err();
            assert!(matches!(err, IngestError::Photo(_)), "{what}: {err:?}");
        }
        assert_eq!(ingest.library().count().unwrap(), 0);
        assert_eq!(files(dir.path()), 0, "no original, no partial file");
    }

    /// A video in a container GStreamer is not asked about (an old camera's AVI) is refused
    /// by name, before anything is written, whether or not the frame plays clips.
    #[tokio::test]
    async fn a_video_in_another_container_is_named_and_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest(dir.path(), Limits::default());
        let mut avi = b"RIFF\x24\0\0\0AVI LIST\x1c\0\0\0hdrlavih".to_vec();
        avi.resize(4096, 0);
        let err = ingest.ingest(IngestRequest::new(avi, Source::Http)).await.unwrap_err();
        let IngestError::Motion(MotionError::Container { container }) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(container, "AVI");
        let message = err.to_string();
        assert!(message.contains("in AVI form") && message.contains("as an MP4"), "{message}");
        assert_eq!(files(dir.path()), 0);
    }

    #[test]
    fn captions_are_cut_at_the_limit_with_an_ellipsis() {
        assert_eq!(clip_caption("  "), None);
        assert_eq!(clip_caption("Hi").as_deref(), Some("Hi"));
        let exact = "é".repeat(MAX_CAPTION_CHARS);
        assert_eq!(clip_caption(&exact).as_deref(), Some(exact.as_str()));
        let long = clip_caption(&"é".repeat(MAX_CAPTION_CHARS * 1000)).unwrap();
        assert_eq!(long.chars().count(), MAX_CAPTION_CHARS);
        assert!(long.ends_with("é…"));
    }
}
