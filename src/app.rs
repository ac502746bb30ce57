//! The frame's one core: everything a transport (the HTTP endpoint, the Discord bot, the
//! keyboard) can do to the frame goes through [`App`]. A transport parses its input, calls the
//! app, and renders the typed outcome in its own words (JSON and status codes; reactions and
//! replies); it never tells the slideshow or the library anything itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use crate::discord_state::DiscordState;
use crate::display::FrameSink;
use crate::events::{Change, Changes, Events};
use crate::ingest::{Ingest, IngestError, IngestRequest, Ingested};
use crate::library::Kind;
use crate::library::{DiskUsage, Library, LibraryError, Photo};
use crate::pairing::{PairError, Pairing};
use crate::schedule::Schedule;
use crate::screen::{Screen, ScreenStatus};
use crate::sessions::{Session, SessionError, Sessions};
use crate::settings::{LiveSettings, SettingsChange, SettingsError, SettingsFile};
use crate::slides::{Renderer, Thumbnail};
use crate::slideshow::{Command, Slideshow};
use crate::thumbnails::{self, Thumbnails};

/// The frame as every transport sees it. Cheap to clone.
#[derive(Clone)]
pub struct App {
    ingest: Ingest,
    library: Arc<Library>,
    slideshow: Slideshow,
    /// The screen: its backend's name and the slide on it.
    sink: Arc<dyn FrameSink>,
    /// The screen's size now.
    renderer: Renderer,
    /// On or off, by the schedule or on request.
    screen: Screen,
    discord: watch::Receiver<DiscordState>,
    /// Every change to the library, told to `events` subscribers.
    changes: Changes,
    thumbnails: Arc<Thumbnails>,
    /// The config file, for the settings the page changes, and those settings now.
    settings: Arc<SettingsFile>,
    live: Arc<std::sync::Mutex<LiveSettings>>,
    /// The pairing code on the screen and the browsers paired with it.
    pairing: Arc<Pairing>,
    started: Instant,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("backend", &self.sink.backend()).finish_non_exhaustive()
    }
}

/// What is going on, for `/api/status` and the Discord `status` command.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub photos: u64,
    /// The photo on screen; `None` for the welcome slide.
    pub current: Option<Photo>,
    /// The photo sharing the slide with it (`[display] pair`).
    pub beside: Option<Photo>,
    pub paused: bool,
    pub backend: &'static str,
    pub size: (u32, u32),
    pub discord: DiscordState,
    /// What the library found at start that the owner should know.
    pub notices: Vec<String>,
    pub disk: Option<DiskUsage>,
    pub uptime: Duration,
    pub screen: ScreenStatus,
    /// Why clips cannot play here (GStreamer is missing); `None` when they can.
    pub videos: Option<String>,
}

/// Why a thumbnail could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("cannot make a thumbnail of photo {id}: {detail}")]
    Render { id: i64, detail: crate::slides::ThumbnailFailure },
}

/// Why the screen could not be captured.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("nothing is on the screen yet: try again in a moment")]
    NotReady,
    #[error("cannot encode the screenshot: {0}")]
    Encode(String),
}

impl App {
    pub fn new(
        library: Arc<Library>,
        renderer: Renderer,
        slideshow: Slideshow,
        sink: Arc<dyn FrameSink>,
        screen: Screen,
        discord: watch::Receiver<DiscordState>,
    ) -> App {
        let thumbnails = Arc::new(Thumbnails::new(library.dir()));
        App {
            ingest: Ingest::new(library.clone(), renderer.clone()),
            library,
            slideshow,
            sink,
            renderer,
            screen,
            discord,
            changes: Changes::default(),
            thumbnails,
            settings: Arc::new(SettingsFile::new(None)),
            live: Arc::new(std::sync::Mutex::new(LiveSettings {
                interval: Duration::from_secs(60),
                transition: Duration::ZERO,
                captions: true,
                order: crate::rotation::Order::default(),
                schedule: Vec::new(),
            })),
            pairing: Arc::new(Pairing::new(Sessions::in_memory())),
            started: Instant::now(),
        }
    }

    /// With `[video]`'s limits on clips and animations.
    pub fn with_motion_limits(mut self, limits: crate::playback::MotionLimits) -> App {
        self.ingest = self.ingest.with_motion_limits(limits);
        self
    }

    /// With the config file the frame started from, and the live settings as it read them.
    pub fn with_settings(mut self, file: SettingsFile, live: LiveSettings) -> App {
        self.settings = Arc::new(file);
        self.live = Arc::new(std::sync::Mutex::new(live));
        self
    }

    /// Pairs browsers with `pairing`, whose card the slideshow draws (the default pairs none
    /// that survive a restart, and shows its code nowhere).
    pub fn with_pairing(mut self, pairing: Arc<Pairing>) -> App {
        self.pairing = pairing;
        self
    }

    /// Shows a pairing code on the screen for a few minutes, with a QR code for `page` (the
    /// address the asking browser used); how long it stays. Not while the screen is off: no
    /// one could read it.
    pub fn show_pairing_code(&self, page: &str) -> Result<Duration, PairError> {
        if !self.screen.status().is_on() {
            return Err(PairError::ScreenOff);
        }
        self.pairing.show_code(page)
    }

    /// Whether a pairing code is on the screen (a picture of the screen would carry it).
    pub fn pairing_code_showing(&self) -> bool {
        self.pairing.card().borrow().is_some()
    }

    /// Pairs a browser called `label` with the code it was given; its session key, once.
    pub async fn pair(&self, code: &str, label: String) -> Result<(String, Session), PairError> {
        self.pairing.pair(code, label).await
    }

    /// The paired browser holding `key`, if any.
    pub fn session(&self, key: &str) -> Option<Session> {
        self.pairing.sessions().check(key)
    }

    /// Every paired browser, the most recently used first.
    pub fn sessions(&self) -> Vec<Session> {
        self.pairing.sessions().list()
    }

    /// Whether browser `id` is still paired.
    pub fn is_paired(&self, id: u64) -> bool {
        self.pairing.sessions().contains(id)
    }

    /// Unpairs browser `id`; `false` if there was none.
    pub async fn unpair(&self, id: u64) -> Result<bool, SessionError> {
        self.pairing.sessions().remove(id).await
    }

    /// The settings the page may change, as they are now, and the file they are saved to.
    pub fn settings(&self) -> (LiveSettings, Option<std::path::PathBuf>) {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (live, self.settings.path().map(ToOwned::to_owned))
    }

    /// Every setting that needs a restart to change (see [`SettingsFile::fixed`]).
    pub fn fixed_settings(&self) -> &serde_json::Value {
        self.settings.fixed()
    }

    /// Saves `change` to the config file, then applies it: nothing changes unless it is saved.
    pub async fn change_settings(
        &self,
        change: SettingsChange,
    ) -> Result<LiveSettings, SettingsError> {
        let file = self.settings.clone();
        let saved = tokio::task::spawn_blocking(move || file.write(&change))
            .await
            .unwrap_or_else(|e| Err(SettingsError::Worker(e.to_string())))?;
        // The new settings are published only once they are in effect: a reader that sees the
        // new schedule in `settings()` must find the screen already following it.
        let before = self.live.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.slideshow
            .send(Command::Retime { interval: saved.interval, transition: saved.transition })
            .await;
        if before.captions != saved.captions {
            self.renderer.set_captions(saved.captions);
            self.slideshow.send(Command::Restyle).await;
        }
        if before.order != saved.order {
            self.slideshow.send(Command::Reorder(saved.order)).await;
        }
        if before.schedule != saved.schedule {
            self.screen.replan(Schedule::new(saved.schedule.clone())).await;
        }
        self.slideshow.sync().await;
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = saved.clone();
        Ok(saved)
    }

    /// Starts storing photos that arrived together (one upload, one message). Each is stored
    /// as it comes; [`Batch::finish`] puts the last one on screen.
    pub fn batch(&self) -> Batch<'_> {
        Batch { app: self, stored: Vec::new(), removed: Vec::new() }
    }

    /// Deletes a photo and takes it off the screen; `false` if there was none.
    pub async fn delete(&self, id: i64) -> Result<bool, LibraryError> {
        let deleted = self.library.call(move |l| l.delete(id)).await?;
        if deleted {
            self.slideshow.send(Command::Removed(vec![id])).await;
            self.changes.send(Change::Removed(vec![id]));
        }
        Ok(deleted)
    }

    /// Deletes the photos that came with these Discord messages (the messages were deleted);
    /// returns their ids. A failure for one message is logged and does not stop the others.
    pub async fn forget_messages(&self, message_ids: Vec<u64>) -> Vec<i64> {
        let removed = self
            .library
            .call(move |library| {
                let mut removed = Vec::new();
                for id in message_ids {
                    match library.delete_by_message(id) {
                        Ok(r) => removed.extend(r),
                        Err(e) => tracing::error!("cannot delete the photos of message {id}: {e}"),
                    }
                }
                Ok(removed)
            })
            .await
            .unwrap_or_default();
        if !removed.is_empty() {
            self.slideshow.send(Command::Removed(removed.clone())).await;
            self.changes.send(Change::Removed(removed.clone()));
        }
        removed
    }

    /// The sender of a Discord message edited its text: its photos take the new caption, on
    /// screen too. Returns the photos changed (none when the message brought none).
    pub async fn recaption_message(
        &self,
        message_id: u64,
        caption: Option<String>,
    ) -> Result<Vec<Photo>, LibraryError> {
        let caption = caption.as_deref().and_then(crate::ingest::clip_caption);
        let photos = self.library.call(move |l| l.recaption_message(message_id, caption)).await?;
        self.changed(&photos).await;
        Ok(photos)
    }

    /// Gives photo `id` a new caption (`None`: none), on screen too; `None` if there is no
    /// such photo.
    pub async fn recaption(
        &self,
        id: i64,
        caption: Option<String>,
    ) -> Result<Option<Photo>, LibraryError> {
        let caption = caption.as_deref().and_then(crate::ingest::clip_caption);
        let photo = self.library.call(move |l| l.recaption(id, caption)).await?;
        self.changed(photo.as_slice()).await;
        Ok(photo)
    }

    /// Tells the slideshow and the subscribers that these photos' entries changed.
    async fn changed(&self, photos: &[Photo]) {
        if !photos.is_empty() {
            self.slideshow.send(Command::Changed(photos.to_vec())).await;
            self.changes.send(Change::Changed(photos.to_vec()));
        }
    }

    /// The state now, then every change, until the frame stops.
    pub fn events(&self) -> Events {
        Events::new(
            self.changes.subscribe(),
            self.slideshow.watch(),
            self.screen.watch(),
            self.discord.clone(),
        )
    }

    /// Marks photo `id` a favourite (kept by retention), or not; `None` if there is no such
    /// photo.
    pub async fn set_favourite(
        &self,
        id: i64,
        favourite: bool,
    ) -> Result<Option<Photo>, LibraryError> {
        let photo = self.library.call(move |l| l.set_favourite(id, favourite)).await?;
        self.changed(photo.as_slice()).await;
        Ok(photo)
    }

    /// The photos a Discord message brought, oldest first.
    pub async fn photos_of_message(&self, message_id: u64) -> Result<Vec<Photo>, LibraryError> {
        self.library.call(move |l| l.by_message(message_id)).await
    }

    /// The newest Discord message each channel brought a photo from: `(channel, message)`.
    pub async fn newest_messages(&self) -> Result<Vec<(u64, u64)>, LibraryError> {
        self.library.call(|l| l.newest_messages()).await
    }

    /// Every photo, newest first.
    pub async fn photos(&self) -> Result<Vec<Photo>, LibraryError> {
        self.library.call(|l| l.list()).await
    }

    /// One photo's entry.
    pub async fn photo(&self, id: i64) -> Result<Option<Photo>, LibraryError> {
        self.library.call(move |l| l.get(id)).await
    }

    /// One photo's entry and original bytes.
    pub async fn original(&self, id: i64) -> Result<Option<(Photo, Vec<u8>)>, LibraryError> {
        self.library.call(move |l| l.read(id)).await
    }

    /// Photo `id`'s thumbnail (a JPEG, [`thumbnails::SIDE`] square), from the cache or made
    /// and kept; `None` if there is no such photo.
    pub async fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>, ThumbnailError> {
        /// What the cache and the library had.
        enum Found {
            Cached(Vec<u8>),
            Make(Box<(Photo, Thumbnail)>),
        }
        let cache = self.thumbnails.clone();
        let found = self
            .library
            .call(move |l| {
                let Some(photo) = l.get(id)? else { return Ok(None) };
                if let Some(jpeg) = cache.get(&photo.sha256, photo.spoiler) {
                    return Ok(Some(Found::Cached(jpeg)));
                }
                let of = match photo.kind {
                    Kind::Video => Thumbnail::Clip {
                        path: l.original_path(&photo),
                        size: (photo.width, photo.height),
                        spoiler: photo.spoiler,
                    },
                    Kind::Photo | Kind::Animation => {
                        let (_, bytes) = l.read(id)?.ok_or(LibraryError::Worker(format!(
                            "photo {id} went while its thumbnail was made"
                        )))?;
                        Thumbnail::Picture { bytes, spoiler: photo.spoiler }
                    }
                };
                Ok(Some(Found::Make(Box::new((photo, of)))))
            })
            .await?;
        let (photo, of) = match found {
            None => return Ok(None),
            Some(Found::Cached(jpeg)) => return Ok(Some(jpeg)),
            Some(Found::Make(todo)) => *todo,
        };
        let jpeg = self
            .renderer
            .thumbnail(of, thumbnails::SIDE)
            .await
            .map_err(|detail| ThumbnailError::Render { id, detail })?;
        let (cache, kept) = (self.thumbnails.clone(), jpeg.clone());
        // Kept off the answer's path; never for a photo deleted meanwhile.
        let library = self.library.clone();
        tokio::task::spawn_blocking(move || {
            match library.while_present(id, || cache.put(&photo.sha256, photo.spoiler, &kept)) {
                Ok(Some(Ok(()))) | Ok(None) => {}
                // Not kept (a full disk, a read-only card): made again next time, which is fine.
                Ok(Some(Err(e))) => tracing::debug!("thumbnail of photo {id} not kept: {e}"),
                Err(e) => tracing::debug!("thumbnail of photo {id} not kept: {e}"),
            }
        });
        Ok(Some(jpeg))
    }

    /// Next, previous, pause, resume. Returns once the slideshow has taken the command, so
    /// that a status asked right after the answer shows it (paused is paused).
    pub async fn control(&self, command: Command) {
        self.slideshow.send(command).await;
        self.slideshow.sync().await;
    }

    /// Shows photo `id` now; `false` if there is no such photo.
    pub async fn show(&self, id: i64) -> bool {
        self.slideshow.show(id).await
    }

    /// Waits (at most `wait`) until photo `id` is on screen; `false` if it is not by then.
    pub async fn wait_on_screen(&self, id: i64, wait: Duration) -> bool {
        let mut screen = self.slideshow.watch();
        let on_screen = screen.wait_for(|s| s.current.as_ref().is_some_and(|p| p.id == id));
        tokio::time::timeout(wait, on_screen).await.is_ok_and(|r| r.is_ok())
    }

    /// What is going on now.
    pub async fn status(&self) -> Result<Snapshot, LibraryError> {
        // statvfs too may wait for a slow card: both on the blocking pool.
        let (photos, disk) = self.library.call(|l| Ok((l.count()?, l.disk_usage()))).await?;
        let show = self.slideshow.state();
        Ok(Snapshot {
            photos,
            current: show.current,
            beside: show.beside,
            paused: show.paused,
            backend: self.sink.backend(),
            size: self.renderer.size(),
            discord: self.discord.borrow().clone(),
            notices: self.library.notices().to_vec(),
            disk,
            uptime: self.started.elapsed(),
            screen: self.screen.status(),
            videos: (!crate::playback::video::available())
                .then(|| crate::playback::MotionError::NoGStreamer.to_string()),
        })
    }

    /// Off if it is on, on if it is off, until the schedule's next change (the power key).
    pub async fn toggle_screen(&self) -> ScreenStatus {
        let on = self.screen.status().is_on();
        self.screen.set(!on, None).await
    }

    /// Turns the screen on or off, for `lasting` or until the schedule's next change (`sleep`,
    /// `wake`); answers once it is done.
    pub async fn set_screen(&self, on: bool, lasting: Option<Duration>) -> ScreenStatus {
        self.screen.set(on, lasting).await
    }

    /// What is on the screen, as a PNG.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>, ScreenshotError> {
        self.screenshot(crate::slides::encode_png).await
    }

    /// The screen as a JPEG at most `max_width` pixels wide (Discord's `peek`).
    pub async fn screenshot_jpeg(&self, max_width: u32) -> Result<Vec<u8>, ScreenshotError> {
        self.screenshot(move |slide| crate::slides::encode_jpeg(slide, max_width)).await
    }

    async fn screenshot(
        &self,
        encode: impl FnOnce(&crate::render::Slide) -> Result<Vec<u8>, image::ImageError>
            + Send
            + 'static,
    ) -> Result<Vec<u8>, ScreenshotError> {
        let slide = self.sink.current().ok_or(ScreenshotError::NotReady)?;
        tokio::task::spawn_blocking(move || encode(&slide))
            .await
            .map_err(|e| ScreenshotError::Encode(e.to_string()))?
            .map_err(|e| ScreenshotError::Encode(e.to_string()))
    }
}

/// Photos that arrived together, being stored one at a time: only the last one's slide is
/// kept (it is the one shown), so that many small photos never hold many screen-sized slides.
#[derive(Debug)]
pub struct Batch<'a> {
    app: &'a App,
    stored: Vec<Ingested>,
    /// What retention removed to make room.
    removed: Vec<i64>,
}

impl Batch<'_> {
    /// Checks, renders and stores one photo. Returns once it is on disk; [`Batch::finish`]
    /// returns what was stored.
    pub async fn ingest(&mut self, req: IngestRequest) -> Result<(), IngestError> {
        let mut done = self.app.ingest.ingest(req).await?;
        self.removed.append(&mut done.removed);
        if let Some(previous) = self.stored.last_mut() {
            previous.slide = None;
        }
        self.stored.push(done);
        Ok(())
    }

    /// Tells the slideshow: what retention removed goes, the earlier photos join the rotation,
    /// and the last one shows at once, for `hold` instead of the interval when given. Returns
    /// what was stored, in order.
    pub async fn finish(mut self, hold: Option<Duration>) -> Vec<Ingested> {
        let slideshow = &self.app.slideshow;
        if !self.removed.is_empty() {
            let removed = std::mem::take(&mut self.removed);
            slideshow.send(Command::Removed(removed.clone())).await;
            self.app.changes.send(Change::Removed(removed));
        }
        if let Some((last, earlier)) = self.stored.split_last() {
            if !earlier.is_empty() {
                let photos = earlier.iter().map(|s| s.photo.clone()).collect();
                slideshow.send(Command::Stored(photos)).await;
            }
            let (photo, slide) = (Box::new(last.photo.clone()), last.slide.clone());
            slideshow.send(Command::Added { photo, slide, hold }).await;
            // The answer goes out once the slideshow knows: a `status` right after it shows
            // the new caption, not the one before.
            slideshow.sync().await;
            self.app.screen.photo_arrived();
            let added = self.stored.iter().filter(|s| !s.duplicate).map(|s| s.photo.clone());
            let added: Vec<Photo> = added.collect();
            if !added.is_empty() {
                self.app.changes.send(Change::Added(added));
            }
        }
        self.stored
    }
}

#[cfg(test)]
pub(crate) mod tests;
