//! What is on the screen, and when it changes. One tokio task owns the decision and every
//! timer, so the display never polls: it is handed a finished slide when there is one.
//!
//! - A new photo shows at once (ingest hands over the slide it already rendered).
//! - Otherwise the library rotates, newest to oldest and round again, every `interval`.
//! - next / prev / pause / resume / show-by-id come from every source as [`Command`]s.
//! - The slide after the current one is rendered ahead, so `next` and the timer are instant.
//! - Render jobs carry a request number; a result nobody waits for any more (the user pressed
//!   next twice, the screen was resized) is dropped.
//! - An empty library shows the welcome slide, redrawn when what it says changes.
//! - The task never waits for the library: it lists it once at start (on the blocking pool)
//!   and then follows [`Command::Added`], [`Command::Stored`] and [`Command::Removed`]; only
//!   a photo's bytes are read, by the render job.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::display::FrameSink;
use crate::library::{Library, Photo};
use crate::render::{Fit, RenderError, Slide};
use crate::slides::{self, Renderer, WelcomeInfo};

/// What the slideshow is asked to do.
#[derive(Debug)]
pub enum Command {
    Next,
    Prev,
    Pause,
    Resume,
    /// Pause if running, resume if paused (the space bar).
    TogglePause,
    /// Show this photo now; the answer is `false` when there is no such photo.
    Show(i64, oneshot::Sender<bool>),
    /// A photo was stored (or stored again, with a new caption) and should show at once.
    /// `slide` is the one ingest rendered, if it is still the screen's size.
    Added {
        photo: Box<Photo>,
        slide: Option<Arc<Slide>>,
        /// How long this photo stays up the first time (a sender's `--duration`), instead
        /// of `[display] interval`.
        hold: Option<Duration>,
    },
    /// Photos were stored that should join the rotation without showing (all but the last
    /// of a multi-photo upload), oldest first.
    Stored(Vec<Photo>),
    /// Photos were removed from the library.
    Removed(Vec<i64>),
}

/// What is on the screen, for `/api/status` and the Discord `status` command.
#[derive(Debug, Clone, Default, Serialize)]
pub struct State {
    /// The photo showing, or `None` for the welcome slide.
    pub current: Option<Photo>,
    pub paused: bool,
    /// Counts slides shown, so that a test (or a client) can wait for the next one.
    pub shown: u64,
}

/// The handle every source holds. Cloning is cheap; the task stops when the last handle is
/// dropped.
#[derive(Debug, Clone)]
pub struct Slideshow {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<State>,
}

/// How the slideshow is set up.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Each photo's time on screen.
    pub interval: Duration,
    /// The crossfade between slides.
    pub transition: Duration,
}

impl Slideshow {
    /// Starts the slideshow task; it shows the newest photo (or the welcome slide) at once.
    pub fn spawn(
        library: Arc<Library>,
        renderer: Renderer,
        sink: Arc<dyn FrameSink>,
        timing: Timing,
        welcome: watch::Receiver<WelcomeInfo>,
    ) -> (Slideshow, tokio::task::JoinHandle<()>) {
        let library_for_state = library.clone();
        let (commands, rx) = mpsc::channel(64);
        let (state_tx, state) = watch::channel(State::default());
        let (results_tx, results) = mpsc::channel(8);
        let task = Task {
            library,
            renderer,
            sink,
            timing,
            welcome,
            state: state_tx,
            results_tx,
            order: Vec::new(),
            photos: HashMap::new(),
            current: None,
            paused: false,
            deadline: None,
            next_request: 0,
            wanted: None,
            preparing: None,
            prepared: None,
            broken: HashSet::new(),
            hold: None,
        };
        let handle = tokio::spawn(task.run(rx, results));
        tokio::spawn(remember_showing(library_for_state, state.clone()));
        (Slideshow { commands, state }, handle)
    }

    /// Sends a command; a stopped slideshow (shutdown) ignores it.
    pub async fn send(&self, command: Command) {
        let _ = self.commands.send(command).await;
    }

    /// Shows photo `id` now; `false` if there is no such photo.
    pub async fn show(&self, id: i64) -> bool {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Show(id, tx)).await;
        rx.await.unwrap_or(false)
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// A receiver that wakes on every change of state.
    pub fn watch(&self) -> watch::Receiver<State> {
        self.state.clone()
    }
}

/// A finished render job.
struct Rendered {
    request: u64,
    id: i64,
    result: Result<Arc<Slide>, Unshown>,
}

/// Why a stored photo was not rendered.
enum Unshown {
    /// It was deleted in the meantime.
    Gone,
    /// It cannot be read or decoded (a damaged card, limits lowered since it was stored).
    Failed(String),
}

/// The slideshow's own state, owned by its task.
struct Task {
    library: Arc<Library>,
    renderer: Renderer,
    sink: Arc<dyn FrameSink>,
    timing: Timing,
    /// What the welcome slide says; it is redrawn when this changes (Discord connects).
    welcome: watch::Receiver<WelcomeInfo>,
    state: watch::Sender<State>,
    results_tx: mpsc::Sender<Rendered>,
    /// The library's ids, newest first: the rotation order.
    order: Vec<i64>,
    /// The library's entries, for `status`: kept up to date from the commands, never re-read.
    photos: HashMap<i64, Photo>,
    /// The photo on screen; `None` while the welcome slide shows.
    current: Option<i64>,
    paused: bool,
    /// When the timer next advances the rotation; `None` when paused or with under 2 photos.
    deadline: Option<Instant>,
    next_request: u64,
    /// The render job whose result goes on screen as soon as it arrives, with its fade.
    wanted: Option<(u64, i64, Duration)>,
    /// The render job preparing the next slide ahead of time.
    preparing: Option<(u64, i64)>,
    /// The next slide, rendered ahead.
    prepared: Option<(i64, Arc<Slide>)>,
    /// Photos that failed to render (changed limits, a damaged card): skipped in rotation.
    broken: HashSet<i64>,
    /// A photo that stays up for its own time (its sender's `--duration`) while it is the
    /// current one; forgotten once another photo shows.
    hold: Option<(i64, Duration)>,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut results: mpsc::Receiver<Rendered>,
    ) {
        let mut size = self.renderer.size_changes();
        let mut welcome = self.welcome.clone();
        let saved = match self.library.call(|l| Ok((l.list()?, l.showing()?))).await {
            Ok((photos, saved)) => {
                self.order = photos.iter().map(|p| p.id).collect();
                self.photos = photos.into_iter().map(|p| (p.id, p)).collect();
                saved
            }
            Err(e) => {
                tracing::error!("cannot list the library: {e}");
                None
            }
        };
        // Back to the photo shown before a restart (or a power cut), else the newest.
        match saved.or_else(|| self.order.first().copied()) {
            Some(id) => self.go_to(id, Duration::ZERO),
            None => self.show_welcome(),
        }
        loop {
            let deadline = self.deadline;
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                Some(done) = results.recv() => self.rendered(done),
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.deadline = None;
                    self.step(1, self.timing.transition);
                }
                Ok(()) = size.changed() => {
                    // Everything rendered so far is the wrong size; what was on its way to the
                    // screen (the photo shown before a restart, while the window was still
                    // being sized) is rendered again, not dropped for the welcome slide.
                    self.prepared = None;
                    self.preparing = None;
                    match (self.wanted, self.current) {
                        (Some((_, id, transition)), _) => self.go_to(id, transition),
                        (None, Some(id)) => self.go_to(id, Duration::ZERO),
                        (None, None) => self.show_welcome(),
                    }
                }
                Ok(()) = welcome.changed() => {
                    if self.current.is_none() && self.wanted.is_none() {
                        self.show_welcome();
                    }
                }
            }
        }
        tracing::debug!("slideshow stopped");
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Next => self.step(1, self.timing.transition),
            Command::Prev => self.step(-1, self.timing.transition),
            Command::Pause => {
                self.paused = true;
                self.deadline = None;
                self.publish();
            }
            Command::Resume => {
                self.paused = false;
                self.arm_timer();
                self.publish();
            }
            Command::TogglePause => {
                let command = if self.paused { Command::Resume } else { Command::Pause };
                self.handle(command);
            }
            Command::Show(id, reply) => {
                let known = self.photos.contains_key(&id);
                if known {
                    self.broken.remove(&id);
                    self.go_to(id, self.timing.transition);
                }
                let _ = reply.send(known);
            }
            Command::Added { photo, slide, hold } => {
                let id = photo.id;
                self.insert(*photo);
                self.hold = hold.map(|d| (id, d));
                self.broken.remove(&id);
                match slide.filter(|s| (s.width, s.height) == self.renderer.size()) {
                    Some(slide) => {
                        self.wanted = None;
                        self.display(id, slide, self.timing.transition);
                    }
                    None => self.go_to(id, self.timing.transition),
                }
            }
            Command::Stored(photos) => {
                for photo in photos {
                    self.insert(photo);
                }
                self.arm_timer();
                self.prepare_next();
            }
            Command::Removed(ids) => {
                let old_pos = self.position();
                self.order.retain(|id| !ids.contains(id));
                for id in &ids {
                    self.photos.remove(id);
                }
                if self.prepared.as_ref().is_some_and(|(id, _)| ids.contains(id)) {
                    self.prepared = None;
                }
                if self.current.is_some_and(|id| ids.contains(&id)) {
                    self.current = None;
                    match self.order.get(old_pos.min(self.order.len().saturating_sub(1))) {
                        Some(&id) => self.go_to(id, self.timing.transition),
                        None => self.show_welcome(),
                    }
                } else {
                    self.arm_timer();
                    self.prepare_next();
                }
            }
        }
    }

    /// A photo just stored (or stored again) is the newest: first in the order.
    fn insert(&mut self, photo: Photo) {
        self.order.retain(|&id| id != photo.id);
        self.order.insert(0, photo.id);
        self.photos.insert(photo.id, photo);
    }

    /// A photo that turned out to be gone from the library (deleted while its render was on
    /// its way) leaves the rotation.
    fn forget(&mut self, id: i64) {
        self.order.retain(|&o| o != id);
        self.photos.remove(&id);
    }

    /// The current photo's place in the order (0 if none).
    fn position(&self) -> usize {
        self.current.and_then(|c| self.order.iter().position(|&id| id == c)).unwrap_or(0)
    }

    /// The photo `step` places from the current one, skipping broken ones.
    fn neighbour(&self, step: isize) -> Option<i64> {
        let n = self.order.len() as isize;
        let pos = self.position() as isize;
        (1..=n)
            .map(|k| self.order[(pos + step * k).rem_euclid(n) as usize])
            .find(|id| !self.broken.contains(id))
    }

    fn step(&mut self, step: isize, transition: Duration) {
        match self.neighbour(step) {
            Some(id) => self.go_to(id, transition),
            None if self.order.is_empty() || self.current.is_none() => self.show_welcome(),
            None => self.arm_timer(),
        }
    }

    /// Puts photo `id` on screen: at once if it was prepared, else when its render finishes.
    fn go_to(&mut self, id: i64, transition: Duration) {
        if let Some((pid, slide)) = self.prepared.take() {
            if pid == id && (slide.width, slide.height) == self.renderer.size() {
                self.wanted = None;
                self.display(id, slide, transition);
                return;
            }
        }
        let request = self.start_render(id);
        self.wanted = Some((request, id, transition));
    }

    fn display(&mut self, id: i64, slide: Arc<Slide>, transition: Duration) {
        if self.hold.is_some_and(|(held, _)| held != id) {
            self.hold = None;
        }
        self.sink.show(slide, transition);
        self.current = Some(id);
        self.arm_timer();
        self.publish();
        self.prepare_next();
    }

    fn show_welcome(&mut self) {
        self.current = None;
        self.wanted = None;
        self.deadline = None;
        let (w, h) = self.renderer.size();
        let info = self.welcome.borrow().clone();
        self.sink.show(Arc::new(slides::welcome(w, h, &info)), Duration::ZERO);
        self.publish();
    }

    /// Restarts the rotation timer from now, when rotating makes sense.
    fn arm_timer(&mut self) {
        let rotating = !self.paused && self.order.len() > 1 && self.current.is_some();
        let interval = match self.hold {
            Some((id, d)) if self.current == Some(id) => d,
            _ => self.timing.interval,
        };
        self.deadline = rotating.then(|| Instant::now() + interval);
    }

    fn prepare_next(&mut self) {
        let Some(next) = self.neighbour(1) else { return };
        if Some(next) == self.current
            || self.prepared.as_ref().is_some_and(|(id, _)| *id == next)
            || self.preparing.is_some_and(|(_, id)| id == next)
        {
            return;
        }
        let request = self.start_render(next);
        self.preparing = Some((request, next));
    }

    /// Renders photo `id` on a worker; the result comes back through `results`.
    fn start_render(&mut self, id: i64) -> u64 {
        self.next_request += 1;
        let request = self.next_request;
        let (library, renderer, results) =
            (self.library.clone(), self.renderer.clone(), self.results_tx.clone());
        tokio::spawn(async move {
            let result = render_stored(&library, &renderer, id).await;
            let _ = results.send(Rendered { request, id, result }).await;
        });
        request
    }

    fn rendered(&mut self, done: Rendered) {
        if let Some((request, id, transition)) = self.wanted {
            if request == done.request {
                self.wanted = None;
                match done.result {
                    Ok(slide) => self.display(id, slide, transition),
                    Err(Unshown::Gone) => {
                        let pos = self.order.iter().position(|&o| o == id).unwrap_or(0);
                        self.forget(id);
                        match self.order.get(pos.min(self.order.len().saturating_sub(1))) {
                            Some(&next) => self.go_to(next, transition),
                            None => self.show_welcome(),
                        }
                    }
                    Err(Unshown::Failed(e)) => {
                        tracing::warn!("photo {id} cannot be shown, skipping it: {e}");
                        self.broken.insert(id);
                        self.current = Some(id);
                        self.step(1, transition);
                    }
                }
                return;
            }
        }
        if self.preparing.is_some_and(|(request, _)| request == done.request) {
            self.preparing = None;
            match done.result {
                Ok(slide) => self.prepared = Some((done.id, slide)),
                Err(Unshown::Gone) => self.forget(done.id),
                Err(Unshown::Failed(e)) => {
                    tracing::warn!("photo {} cannot be shown, skipping it: {e}", done.id);
                    self.broken.insert(done.id);
                }
            }
        }
        // Anything else is stale: nobody waits for it any more.
    }

    fn publish(&self) {
        let current = self.current.and_then(|id| self.photos.get(&id).cloned());
        let paused = self.paused;
        self.state.send_modify(|s| {
            s.current = current;
            s.paused = paused;
            s.shown += 1;
        });
    }
}

/// Reads a stored photo and renders it with its own fit and caption.
async fn render_stored(
    library: &Arc<Library>,
    renderer: &Renderer,
    id: i64,
) -> Result<Arc<Slide>, Unshown> {
    let (photo, bytes) = match library.call(move |l| l.read(id)).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(Unshown::Gone),
        Err(e) => return Err(Unshown::Failed(e.to_string())),
    };
    let fit = photo.fit.as_deref().and_then(parse_fit);
    renderer
        .photo(Arc::new(bytes), fit, photo.caption)
        .await
        .map_err(|e: RenderError| Unshown::Failed(e.to_string()))
}

/// A per-photo fit as stored in the library.
pub fn parse_fit(s: &str) -> Option<Fit> {
    match s {
        "contain" => Some(Fit::Contain),
        "cover" => Some(Fit::Cover),
        _ => None,
    }
}

/// Writes the photo on screen to the library each time it changes (one write at a time, the
/// latest value winning), off the slideshow's task. Ends with the slideshow.
async fn remember_showing(library: Arc<Library>, mut state: watch::Receiver<State>) {
    let mut last = None;
    while state.changed().await.is_ok() {
        let showing = state.borrow_and_update().current.as_ref().map(|p| p.id);
        if showing == last {
            continue;
        }
        last = showing;
        if let Err(e) = library.call(move |l| l.set_showing(showing)).await {
            tracing::warn!("cannot remember which photo is showing: {e}");
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::headless::HeadlessSink;
    use crate::library::{NewPhoto, Retention};
    use crate::slides::SlideSettings;

    const PHOTOS: [&[u8]; 3] = [
        include_bytes!("../tests/fixtures/ladybird.jpg"),
        include_bytes!("../tests/fixtures/orient-3.jpg"),
        include_bytes!("../tests/fixtures/ladybird.png"),
    ];

    /// Waits for the next published state whose photo is `id` (or the welcome slide).
    async fn until_showing(state: &mut watch::Receiver<State>, id: Option<i64>) {
        let wait = state.wait_for(|s| s.current.as_ref().map(|p| p.id) == id);
        tokio::time::timeout(Duration::from_secs(600), wait).await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn rotates_on_the_interval_and_holds_while_paused() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(dir.path(), Retention::default()).unwrap());
        let mut ids = Vec::new();
        for (i, bytes) in PHOTOS.iter().enumerate() {
            let new = NewPhoto { format: "JPEG".into(), width: 1, height: 1, ..Default::default() };
            ids.push(library.add(bytes, new).unwrap().photo.id);
            assert_eq!(ids[i], i as i64 + 1);
        }
        let (_size_tx, size) = watch::channel((160, 90));
        let settings = SlideSettings {
            fit: Fit::Contain,
            matte: crate::render::Matte::Black,
            limits: crate::render::Limits::default(),
            captions: false,
        };
        let sink = Arc::new(HeadlessSink::default());
        let info = WelcomeInfo {
            http_url: "http://x".into(),
            discord_line: "off".into(),
            notices: vec![],
        };
        let (_welcome_tx, welcome) = watch::channel(info);
        let timing = Timing { interval: Duration::from_secs(60), transition: Duration::ZERO };
        let (show, task) =
            Slideshow::spawn(library.clone(), Renderer::new(settings, size), sink, timing, welcome);
        let mut state = show.watch();
        // Newest first, then older ones on each tick, then round again.
        until_showing(&mut state, Some(ids[2])).await;
        until_showing(&mut state, Some(ids[1])).await;
        until_showing(&mut state, Some(ids[0])).await;
        until_showing(&mut state, Some(ids[2])).await;

        show.send(Command::Pause).await;
        state.wait_for(|s| s.paused).await.unwrap();
        let shown = state.borrow().shown;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(state.borrow().shown, shown, "nothing changes while paused");
        assert_eq!(show.state().current.map(|p| p.id), Some(ids[2]));

        // Removing every photo brings the welcome slide back; dropping the handle ends the task.
        for &id in &ids {
            library.delete(id).unwrap();
        }
        show.send(Command::Removed(ids.clone())).await;
        until_showing(&mut state, None).await;
        drop((show, state));
        task.await.unwrap();
    }

    /// A window is sized after the slideshow starts (a Pi's screen is rarely the configured
    /// default): the photo being rendered for the old size must still come up, at the new
    /// size, not the welcome slide.
    #[tokio::test(start_paused = true)]
    async fn a_resize_while_the_first_photo_renders_still_shows_that_photo() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(dir.path(), Retention::default()).unwrap());
        let new = NewPhoto { format: "JPEG".into(), width: 1, height: 1, ..Default::default() };
        let id = library.add(PHOTOS[0], new).unwrap().photo.id;
        let (size_tx, size) = watch::channel((1920, 1080));
        let settings = SlideSettings {
            fit: Fit::Contain,
            matte: crate::render::Matte::Black,
            limits: crate::render::Limits::default(),
            captions: false,
        };
        let sink = Arc::new(HeadlessSink::default());
        let info = WelcomeInfo {
            http_url: "http://x".into(),
            discord_line: "off".into(),
            notices: vec![],
        };
        let (_welcome_tx, welcome) = watch::channel(info);
        let timing = Timing { interval: Duration::from_secs(60), transition: Duration::ZERO };
        let renderer = Renderer::new(settings, size);
        let (show, _task) = Slideshow::spawn(library, renderer, sink.clone(), timing, welcome);
        // The window reports its real size while the first render is under way.
        size_tx.send((320, 200)).unwrap();
        let mut state = show.watch();
        until_showing(&mut state, Some(id)).await;
        let first = state.borrow().shown;
        assert_eq!(first, 1, "the welcome slide came first");
        let slide = sink.current().unwrap();
        assert_eq!((slide.width, slide.height), (320, 200));
    }
}
