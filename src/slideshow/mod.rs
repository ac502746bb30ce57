//! What is on the screen, and when it changes. One tokio task owns the decision and every
//! timer, so the display never polls: it is handed a finished slide when there is one.
//!
//! - A new photo shows at once (ingest hands over the slide it already rendered).
//! - Otherwise the library rotates, newest to oldest and round again, every `interval`.
//! - next / prev / pause / resume / show-by-id come from every source as [`Command`]s.
//! - The slide after the current one is rendered ahead, so `next` and the timer are instant.
//! - Render jobs carry a request number; a job nobody waits for any more (the user pressed
//!   next twice, the screen was resized) is cancelled: if it has not taken the decode gate
//!   yet, it never does, so five presses of `next` cost one decode, not five in a row that an
//!   upload would queue behind. A result that arrives anyway is dropped.
//! - An empty library shows the welcome slide, redrawn when what it says changes.
//! - The task never waits for the library: it lists it once at start (on the blocking pool)
//!   and then follows [`Command::Added`], [`Command::Stored`] and [`Command::Removed`]; only
//!   a photo's bytes are read, by the render job.
//!
//! Here are the handle every source holds and the task's state; `task` is how the task
//! changes that state, and `tests` runs it over a real library on a headless screen.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::display::FrameSink;
use crate::library::{Library, Photo};
use crate::lifecycle::Tasks;
use crate::playback::Player;
use crate::render::card::PairingCard;
use crate::render::Slide;
use crate::rotation::Rotation;
use crate::slides::{self, Renderer, WelcomeInfo};

mod task;

#[cfg(test)]
pub(crate) mod tests;

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
    /// Answers once every command sent before it has been handled: what `status` says from
    /// then on includes them.
    Sync(oneshot::Sender<()>),
    /// Photos' entries changed (a new caption): the one on screen is drawn again, and none
    /// is shown from a slide rendered before the change.
    Changed(Vec<Photo>),
    /// `[display] interval` and `transition` changed (the page's settings): the slide on
    /// screen stays for the new interval from now.
    Retime {
        interval: Duration,
        transition: Duration,
    },
    /// `[display] order` changed (the page's settings): the photo on screen stays, and the
    /// rotation goes on from it in the new order.
    Reorder(crate::rotation::Order),
    /// How every slide looks changed (captions on or off): the one on screen is drawn again,
    /// and nothing rendered before the change is shown.
    Restyle,
    /// The screen turns off (black, nothing rendered, no timer) or on again (the newest photo
    /// if one arrived meanwhile, else the one that was showing).
    Screen(bool),
}

/// What is on the screen, for `/api/status` and the Discord `status` command.
#[derive(Debug, Clone, Default, Serialize)]
pub struct State {
    /// The photo showing, or `None` for the welcome slide.
    pub current: Option<Photo>,
    /// The photo sharing the slide with it (`[display] pair`), if any.
    pub beside: Option<Photo>,
    pub paused: bool,
    /// Counts slides shown, so that a test (or a client) can wait for the next one.
    pub shown: u64,
}

/// The handle every source holds. Cloning is cheap; the task stops when the frame stops (or
/// when the last handle is dropped).
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
    /// The order photos come up in.
    pub rotation: Rotation,
    /// The clock drawn on the slides, if any.
    pub clock: Option<slides::ClockFace>,
    /// How animations and clips play.
    pub motion: MotionTiming,
}

/// `[video]`: how animations and clips play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotionTiming {
    /// Plays of each; `None`: those under [`LOOP_UNDER`] loop for the interval, longer ones
    /// play once.
    pub loops: Option<u32>,
    pub sound: bool,
    /// An animation's frames are kept decoded while they fit in this many bytes.
    pub keep_bytes: usize,
}

impl Default for MotionTiming {
    fn default() -> Self {
        MotionTiming { loops: None, sound: false, keep_bytes: 64 << 20 }
    }
}

/// Clips shorter than this loop until the slide's interval is over (unless `[video] loops`).
pub const LOOP_UNDER: Duration = Duration::from_secs(15);

impl MotionTiming {
    /// How many times a clip of `length` plays (`None`: until the slide changes), and how
    /// long its slide stays up given the frame's `interval`.
    pub fn plan(&self, length: Duration, interval: Duration) -> (Option<u32>, Duration) {
        match self.loops {
            Some(n) => (Some(n), length * n),
            None if length < LOOP_UNDER => (None, interval.max(length)),
            None => (Some(1), length),
        }
    }
}

impl Slideshow {
    /// Starts the slideshow task under `tasks`; it shows the photo shown before a restart (or
    /// the newest, or the welcome slide) at once.
    pub fn spawn(
        tasks: &Tasks,
        library: Arc<Library>,
        renderer: Renderer,
        sink: Arc<dyn FrameSink>,
        timing: Timing,
        welcome: watch::Receiver<WelcomeInfo>,
        card: watch::Receiver<Option<Arc<PairingCard>>>,
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
            card,
            tasks: tasks.clone(),
            state: state_tx,
            results_tx,
            order: Vec::new(),
            cursor: 0,
            bare: None,
            clock_due: None,
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
            asleep: false,
            arrived_asleep: false,
            playing: None,
            played: Arc::default(),
        };
        let handle = tasks.spawn_graceful(task.run(rx, results));
        tasks.spawn_graceful(remember_showing(library_for_state, state.clone(), tasks.token()));
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

    /// Waits until the slideshow has handled every command sent before.
    pub async fn sync(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Sync(tx)).await;
        let _ = rx.await;
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

/// What one slide shows: a photo, or two side by side (`[display] pair`), the second being
/// the one after the first in the order. A pair is one slide for `next` and `prev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shot {
    id: i64,
    beside: Option<i64>,
}

impl Shot {
    fn alone(id: i64) -> Shot {
        Shot { id, beside: None }
    }

    /// Whether the slide shows any of `ids`.
    fn shows_any(&self, ids: &[i64]) -> bool {
        ids.contains(&self.id) || self.beside.is_some_and(|b| ids.contains(&b))
    }
}

/// A render job under way. Dropping it (the job is superseded, or done with) cancels the job:
/// one still waiting for the decode gate never takes it.
struct Job {
    request: u64,
    shot: Shot,
    _cancel: DropGuard,
}

/// A finished render job: the slide, and what it shows (a pair whose second photo could not
/// be read is shown alone).
struct Rendered {
    request: u64,
    shot: Shot,
    result: Result<(Shot, Arc<Slide>), Unshown>,
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
    /// The pairing code, drawn over every slide while it is valid.
    card: watch::Receiver<Option<Arc<PairingCard>>>,
    /// Where render jobs run; its token stops the slideshow.
    tasks: Tasks,
    state: watch::Sender<State>,
    results_tx: mpsc::Sender<Rendered>,
    /// The rotation: the library's ids newest first (`order = "newest"`), or the rounds of
    /// a shuffle, the one before the current one, the current one and the next (a photo may
    /// come up more than once).
    order: Vec<i64>,
    /// Where in `order` the screen is, or is heading.
    cursor: usize,
    /// The slide on screen without its clock or pairing card, to draw them again on.
    bare: Option<Arc<Slide>>,
    /// When the clock's minute changes (only while it is shown and the screen is on).
    clock_due: Option<Instant>,
    /// The library's entries, for `status`: kept up to date from the commands, never re-read.
    photos: HashMap<i64, Photo>,
    /// What is on screen; `None` while the welcome slide shows.
    current: Option<Shot>,
    paused: bool,
    /// When the timer next advances the rotation; `None` when paused or with under 2 photos.
    deadline: Option<Instant>,
    next_request: u64,
    /// The render job whose result goes on screen as soon as it arrives, with its fade.
    wanted: Option<(Job, Duration)>,
    /// The render job preparing the next slide ahead of time.
    preparing: Option<Job>,
    /// The next slide, rendered ahead.
    prepared: Option<(Shot, Arc<Slide>)>,
    /// Photos that failed to render (changed limits, a damaged card): skipped in rotation.
    broken: HashSet<i64>,
    /// A photo that stays up for its own time (its sender's `--duration`) while it is the
    /// current one; forgotten once another photo shows.
    hold: Option<(i64, Duration)>,
    /// The screen is off: the slideshow keeps its place (and takes new photos) but renders
    /// nothing and runs no timer.
    asleep: bool,
    /// A photo arrived while the screen was off: it is what shows at wake.
    arrived_asleep: bool,
    /// The animation or clip on screen, playing; dropping it stops it.
    playing: Option<Player>,
    /// The last frame it showed, without the clock (kept only with a clock): once it rests
    /// on that frame, the clock's minute is drawn again over it.
    played: Arc<std::sync::Mutex<Option<Arc<Slide>>>>,
}

/// Writes the photo on screen to the library each time it changes (one write at a time, the
/// latest value winning), off the slideshow's task. When the frame stops, it writes the last
/// change it has not written yet, so that a restart comes back to what was on screen.
async fn remember_showing(
    library: Arc<Library>,
    mut state: watch::Receiver<State>,
    stop: CancellationToken,
) {
    let mut last = None;
    loop {
        let stopping = tokio::select! {
            changed = state.changed() => changed.is_err(),
            () = stop.cancelled() => true,
        };
        let showing = state.borrow_and_update().current.as_ref().map(|p| p.id);
        if showing != last {
            last = showing;
            if let Err(e) = library.call(move |l| l.set_showing(showing)).await {
                tracing::warn!("cannot remember which photo is showing: {e}");
            }
        }
        if stopping {
            return;
        }
    }
}
