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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::display::FrameSink;
use crate::library::{Kind, Library, Photo};
use crate::lifecycle::Tasks;
use crate::playback::player::{self, Playing};
use crate::playback::Player;
use crate::render::card::PairingCard;
use crate::render::{RenderError, Slide};
use crate::rotation::{Entry, Rotation};
use crate::slides::{self, Look, Renderer, WelcomeInfo};

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

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut results: mpsc::Receiver<Rendered>,
    ) {
        let mut size = self.renderer.size_changes();
        let mut welcome = self.welcome.clone();
        let mut card = self.card.clone();
        let stop = self.tasks.token();
        let saved = match self.library.call(|l| Ok((l.list()?, l.showing()?, l.round()?))).await {
            Ok((photos, showing, round)) => {
                let newest: Vec<i64> = photos.iter().map(|p| p.id).collect();
                self.photos = photos.into_iter().map(|p| (p.id, p)).collect();
                Some((newest, showing, round))
            }
            Err(e) => {
                tracing::error!("cannot list the library: {e}");
                None
            }
        };
        let (newest, showing, round) = saved.unwrap_or_default();
        self.resume_rotation(newest, showing, round);
        // Back to the photo shown before a restart (or a power cut), else the first.
        match self.order.get(self.cursor).copied() {
            Some(id) => self.go_to(id, Duration::ZERO),
            None => self.show_welcome(),
        }
        loop {
            let deadline = self.deadline;
            let clock_due = self.clock_due;
            tokio::select! {
                () = stop.cancelled() => break,
                () = sleep_until(clock_due), if clock_due.is_some() => self.clock_tick(),
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
                    let wanted =
                        self.wanted.take().map(|(job, transition)| (job.shot.id, transition));
                    match (wanted, self.current) {
                        (Some((id, transition)), _) => self.go_to(id, transition),
                        (None, Some(shot)) => self.go_to(shot.id, Duration::ZERO),
                        (None, None) => self.show_welcome(),
                    }
                }
                Ok(()) = card.changed() => self.card_changed(),
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
            Command::Retime { interval, transition } => {
                self.timing.interval = interval;
                self.timing.transition = transition;
                if self.deadline.is_some() {
                    self.arm_timer();
                }
            }
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
                // The photo asked for is shown alone, at its largest, even one that pairs.
                let known = self.photos.contains_key(&id);
                if known {
                    self.broken.remove(&id);
                    self.go_alone(id, self.timing.transition);
                }
                let _ = reply.send(known);
            }
            Command::Added { photo, slide, hold } => {
                let id = photo.id;
                self.arrived_asleep |= self.asleep;
                self.insert(*photo);
                self.hold = hold.map(|d| (id, d));
                self.broken.remove(&id);
                match slide.filter(|s| (s.width(), s.height()) == self.renderer.size()) {
                    Some(slide) => {
                        self.wanted = None;
                        self.display(Shot::alone(id), slide, self.timing.transition);
                    }
                    // A photo that has just arrived is shown alone first.
                    None => self.go_alone(id, self.timing.transition),
                }
            }
            Command::Stored(photos) => {
                for photo in photos {
                    self.insert(photo);
                }
                self.arm_timer();
                self.prepare_next();
            }
            Command::Sync(done) => {
                let _ = done.send(());
            }
            Command::Changed(photos) => {
                // Only a change to how a photo looks (its caption, say; not its favourite
                // flag) needs it rendered again.
                let mut ids: Vec<i64> = Vec::new();
                for photo in photos {
                    if let Some(known) = self.photos.get_mut(&photo.id) {
                        if Look::from(&*known) != Look::from(&photo) {
                            ids.push(photo.id);
                        }
                        *known = photo;
                    }
                }
                if self.prepared.as_ref().is_some_and(|(shot, _)| shot.shows_any(&ids)) {
                    self.prepared = None;
                }
                self.preparing = self.preparing.take().filter(|job| !job.shot.shows_any(&ids));
                match self.heading().filter(|shot| shot.shows_any(&ids)) {
                    Some(shot) => self.show_shot(shot, self.timing.transition),
                    None => self.prepare_next(),
                }
            }
            Command::Restyle => {
                self.prepared = None;
                self.preparing = None;
                match self.heading() {
                    Some(shot) => self.show_shot(shot, self.timing.transition),
                    None => self.prepare_next(),
                }
            }
            Command::Reorder(order) => self.reorder(order),
            Command::Screen(on) => self.screen(on),
            Command::Removed(ids) => {
                self.remove(&ids);
                for id in &ids {
                    self.photos.remove(id);
                }
                if self.prepared.as_ref().is_some_and(|(shot, _)| shot.shows_any(&ids)) {
                    self.prepared = None;
                }
                if self.current.is_some_and(|shot| shot.shows_any(&ids)) {
                    self.current = None;
                    match self.order.get(self.position()) {
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

    /// The rotation after a start from the library's ids (`newest` first): newest first, or
    /// the shuffle's rounds where they were (photos deleted meanwhile left out, photos that
    /// came meanwhile next), at the photo that was showing.
    fn resume_rotation(
        &mut self,
        newest: Vec<i64>,
        showing: Option<i64>,
        saved: Option<(Vec<i64>, usize)>,
    ) {
        let at_showing = |order: &[i64]| showing.and_then(|s| order.iter().position(|&id| id == s));
        if !self.timing.rotation.shuffles() {
            self.cursor = at_showing(&newest).unwrap_or(0);
            self.order = newest;
        } else if let Some((ids, start)) = saved {
            (self.order, self.cursor) = crate::rotation::resume(ids, start, showing, &newest);
        } else if !newest.is_empty() {
            self.next_round();
            self.cursor = at_showing(&self.order).unwrap_or(0);
        }
    }

    /// The rotation in a new order, from the photo on screen: newest first from where it is
    /// among them, or a new round of the shuffle after it.
    fn reorder(&mut self, order: crate::rotation::Order) {
        if order == self.timing.rotation.order {
            return;
        }
        self.timing.rotation.order = order;
        let showing = self.heading().map(|shot| shot.id);
        if self.timing.rotation.shuffles() {
            self.order = showing.into_iter().collect();
            self.cursor = 0;
            if !self.photos.is_empty() {
                self.next_round();
            }
        } else {
            self.order = self.timing.rotation.round(&self.entries(), 0, None);
            self.cursor =
                showing.and_then(|s| self.order.iter().position(|&id| id == s)).unwrap_or(0);
        }
        // What was rendered ahead was the old order's next photo.
        self.prepared = None;
        self.preparing = None;
        self.prepare_next();
    }

    /// What a round is made from.
    fn entries(&self) -> Vec<Entry> {
        self.photos
            .values()
            .map(|p| Entry { id: p.id, received_at: p.received_at, favourite: p.favourite })
            .collect()
    }

    /// Appends the next round of a shuffle, forgets rounds long past, and remembers the
    /// rounds in the library (off this task).
    fn next_round(&mut self) {
        let entries = self.entries();
        let now = jiff::Timestamp::now().as_second();
        let start = self.order.len();
        let round = self.timing.rotation.round(&entries, now, self.order.last().copied());
        self.order.extend(round);
        // Keep the round before the current one (for `prev`), no more.
        let keep = 3 * self.photos.len() * self.timing.rotation.boost as usize;
        let drop = self.order.len().saturating_sub(keep.max(1)).min(self.cursor);
        self.order.drain(..drop);
        self.cursor -= drop;
        let (ids, start) = (self.order.clone(), start - drop);
        let library = self.library.clone();
        self.tasks.spawn(async move {
            if let Err(e) = library.call(move |l| l.set_round(&ids, start)).await {
                tracing::warn!("cannot remember the slideshow's round: {e}");
            }
        });
    }

    /// A photo just stored (or stored again): newest first, or next in a shuffle; it comes up
    /// in the rounds after this one like every other.
    fn insert(&mut self, photo: Photo) {
        let id = photo.id;
        self.photos.insert(id, photo);
        if !self.timing.rotation.shuffles() {
            self.remove(&[id]);
            self.order.insert(0, id);
            if self.order.len() > 1 {
                self.cursor += 1;
            }
        } else if !self.order.contains(&id) {
            let at =
                if self.order.is_empty() { 0 } else { (self.cursor + 1).min(self.order.len()) };
            self.order.insert(at, id);
        }
    }

    /// Takes `ids` out of the rotation; the cursor stays on the same photo, or on the one
    /// that followed it if it was taken out.
    fn remove(&mut self, ids: &[i64]) {
        let before = self.order[..self.cursor.min(self.order.len())]
            .iter()
            .filter(|id| ids.contains(id))
            .count();
        self.order.retain(|id| !ids.contains(id));
        self.cursor -= before;
    }

    /// A photo that turned out to be gone from the library (deleted while its render was on
    /// its way) leaves the rotation.
    fn forget(&mut self, id: i64) {
        self.remove(&[id]);
        self.photos.remove(&id);
    }

    /// The place in the order of the photo the screen is on, or on its way to (a render under
    /// way): pressing `next` three times quickly moves three photos on. 0 if none.
    fn position(&self) -> usize {
        self.cursor.min(self.order.len().saturating_sub(1))
    }

    /// The slide the screen is on, or on its way to.
    fn heading(&self) -> Option<Shot> {
        self.wanted.as_ref().map(|(job, _)| job.shot).or(self.current)
    }

    /// The photo `step` places from the current one, skipping broken ones, with its place.
    /// Forward from a pair, the step starts from its second photo.
    fn neighbour(&self, step: isize) -> Option<(usize, i64)> {
        let n = self.order.len() as isize;
        let mut pos = self.position();
        let beside = self.heading().and_then(|shot| shot.beside);
        if step > 0 && beside.is_some() && self.order.get(pos + 1).copied() == beside {
            pos += 1;
        }
        let pos = pos as isize;
        (1..=n)
            .map(|k| (pos + step * k).rem_euclid(n) as usize)
            .map(|i| (i, self.order[i]))
            .find(|(_, id)| !self.broken.contains(id))
    }

    fn step(&mut self, step: isize, transition: Duration) {
        // Back onto the second photo of a pair: the pair is the slide before.
        let back_to_pair = |(i, id): (usize, i64)| match i.checked_sub(1) {
            Some(first) if self.shot_at(first).and_then(|s| s.beside) == Some(id) => {
                (first, self.order[first])
            }
            _ => (i, id),
        };
        let target = self.neighbour(step).map(|n| if step < 0 { back_to_pair(n) } else { n });
        match target {
            // The only photo (or a shuffle's round of one) is on screen already: nothing to
            // render again, and a clip that ended stays on its last frame.
            Some((i, id)) if self.current == Some(Shot::alone(id)) && self.wanted.is_none() => {
                self.cursor = i;
                self.arm_timer();
            }
            Some((i, id)) => {
                self.cursor = i;
                self.go_to(id, transition);
            }
            None if self.order.is_empty() || self.current.is_none() => self.show_welcome(),
            None => self.arm_timer(),
        }
    }

    fn screen(&mut self, on: bool) {
        if on != self.asleep {
            return;
        }
        if on {
            self.asleep = false;
            let newest = self
                .photos
                .values()
                .max_by_key(|p| (p.received_at, p.id))
                .map(|p| p.id)
                .filter(|_| self.arrived_asleep);
            self.arrived_asleep = false;
            match newest.or(self.current.map(|shot| shot.id)) {
                Some(id) => self.go_to(id, Duration::ZERO),
                None => self.show_welcome(),
            }
        } else {
            self.asleep = true;
            self.playing = None;
            self.deadline = None;
            self.clock_due = None;
            self.bare = None;
            // Nothing rendered is kept: the night is long, and the morning's screen may differ.
            self.wanted = None;
            self.preparing = None;
            self.prepared = None;
            let (w, h) = self.renderer.size();
            self.sink.show(Arc::new(Slide::filled(w, h, [0, 0, 0, 255])), Duration::ZERO);
        }
    }

    /// Moves the cursor to photo `id`: where it is, or its next showing in a shuffle's
    /// rounds (or puts it there). The last photo of a round: the next round is made now, so
    /// that its first photo can be rendered ahead.
    fn place(&mut self, id: i64) {
        if self.order.get(self.cursor) != Some(&id) {
            let n = self.order.len();
            match (0..n).map(|k| (self.cursor + k) % n).find(|&i| self.order[i] == id) {
                Some(i) => self.cursor = i,
                None => {
                    self.order.insert(self.cursor.min(n), id);
                    self.cursor = self.cursor.min(n);
                }
            }
        }
        // Two places ahead: the photo after this one may share its slide.
        if self.timing.rotation.shuffles() && self.cursor + 2 >= self.order.len() {
            self.next_round();
        }
    }

    /// The slide for the photo at place `i`: with the next photo beside it when the two pair.
    fn shot_at(&self, i: usize) -> Option<Shot> {
        let id = *self.order.get(i)?;
        let size = |id: &i64| self.photos.get(id).map(|p| (p.width, p.height));
        // A moving picture has the screen to itself: it plays alone.
        let still = |id: &i64| self.photos.get(id).is_some_and(|p| !p.kind.moves());
        let beside = self.order.get(i + 1).copied().filter(|b| {
            *b != id
                && still(&id)
                && still(b)
                && !self.broken.contains(b)
                && matches!((size(&id), size(b)), (Some(a), Some(b)) if self.renderer.pairs(a, b))
        });
        Some(Shot { id, beside })
    }

    /// Puts photo `id` on screen, paired with the next one if they pair: at once if it was
    /// prepared, else when its render finishes.
    fn go_to(&mut self, id: i64, transition: Duration) {
        self.place(id);
        let shot = self.shot_at(self.cursor).filter(|s| s.id == id).unwrap_or(Shot::alone(id));
        self.show_shot(shot, transition);
    }

    /// Puts photo `id` on screen by itself, even where it would pair.
    fn go_alone(&mut self, id: i64, transition: Duration) {
        self.place(id);
        self.show_shot(Shot::alone(id), transition);
    }

    /// Puts `shot` on screen (the cursor is already on its photo). Asleep, it only becomes
    /// the current slide, for the status and for the wake.
    fn show_shot(&mut self, shot: Shot, transition: Duration) {
        if self.asleep {
            self.current = Some(shot);
            self.publish();
            return;
        }
        if let Some((prepared, slide)) = self.prepared.take() {
            if prepared == shot && (slide.width(), slide.height()) == self.renderer.size() {
                self.wanted = None;
                self.display(shot, slide, transition);
                return;
            }
        }
        // The slide being prepared ahead is the one wanted now: wait for it, not for a second
        // render of the same photo.
        let job = match self.preparing.take_if(|job| job.shot == shot) {
            Some(job) => job,
            None => self.start_render(shot),
        };
        self.wanted = Some((job, transition));
    }

    fn display(&mut self, shot: Shot, slide: Arc<Slide>, transition: Duration) {
        self.place(shot.id);
        if self.asleep {
            self.show_shot(shot, transition);
            return;
        }
        if self.hold.is_some_and(|(held, _)| held != shot.id) {
            self.hold = None;
        }
        self.playing = None;
        self.present(slide.clone(), transition);
        if self.card.borrow().is_none() {
            self.playing = self.play(shot, slide, transition);
        }
        self.current = Some(shot);
        self.arm_timer();
        self.publish();
        self.prepare_next();
    }

    /// A pairing code appeared or went: drawn over the slide at once, or taken off it. A clip
    /// stops on its still while a code shows, so that the code is not drawn over, and plays
    /// again from its start once the code is gone (the slide keeps its time).
    fn card_changed(&mut self) {
        let showing = self.card.borrow().is_some();
        if showing {
            self.playing = None;
        }
        let Some(bare) = self.bare.clone().filter(|_| !self.asleep) else { return };
        self.present(bare.clone(), Duration::ZERO);
        if !showing && self.playing.is_none() && self.wanted.is_none() {
            if let Some(shot) = self.current {
                self.playing = self.play(shot, bare, Duration::ZERO);
            }
        }
    }

    /// Starts playing the slide's animation or clip over its still, after the crossfade. A
    /// spoiler stays veiled and still; a pair is two stills.
    fn play(&mut self, shot: Shot, still: Arc<Slide>, transition: Duration) -> Option<Player> {
        let photo = self.photos.get(&shot.id).filter(|p| p.kind.moves() && !p.spoiler)?;
        if shot.beside.is_some() {
            return None;
        }
        let path = self.library.original_path(photo);
        let source = match photo.kind {
            Kind::Video => player::Source::Video { path, sound: self.timing.motion.sound },
            _ => player::Source::Animation { path },
        };
        let look = Look::from(photo);
        let (layout, caption) = self.renderer.motion_layout((photo.width, photo.height), &look);
        let length = Duration::from_millis(photo.duration_ms.unwrap_or(0));
        let (loops, _) = self.timing.motion.plan(length, self.timing.interval);
        tracing::info!("playing {} {} ({loops:?} times)", photo.kind, photo.id);
        let sink = self.sink.clone();
        // Its own slot: a player being stopped may still show one more frame into its own.
        self.played = Arc::default();
        let show: player::Show = match self.timing.clock.clone() {
            None => Arc::new(move |frame| sink.show(frame, Duration::ZERO)),
            // The clock on every frame, as on a photo.
            Some(face) => {
                let played = self.played.clone();
                Arc::new(move |frame: Arc<Slide>| {
                    let shown = Arc::new(face.draw(&frame));
                    *played.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame);
                    sink.show(shown, Duration::ZERO);
                })
            }
        };
        Some(Player::start(Playing {
            source,
            still,
            caption,
            layout,
            loops,
            keep_bytes: self.timing.motion.keep_bytes,
            after: transition,
            show,
        }))
    }

    /// The clock's minute changed: drawn again over the slide, or over the last frame of the
    /// clip or animation on it (a playing one draws it on its next frame anyway).
    fn clock_tick(&mut self) {
        self.clock_due = None;
        let frame = self
            .playing
            .as_ref()
            .and_then(|_| self.played.lock().unwrap_or_else(|e| e.into_inner()).clone());
        match (frame, self.timing.clock.clone()) {
            (Some(frame), Some(face)) => {
                self.sink.show(Arc::new(face.draw(&frame)), Duration::ZERO);
                self.clock_due = Some(Instant::now() + face.until_next_minute());
            }
            _ => {
                if let Some(bare) = self.bare.clone() {
                    self.present(bare, Duration::ZERO);
                }
            }
        }
    }

    /// How long the slide on screen stays: the interval, or what its clip needs.
    fn slide_time(&self) -> Duration {
        let interval = self.timing.interval;
        let moving = self
            .current
            .filter(|shot| shot.beside.is_none())
            .and_then(|shot| self.photos.get(&shot.id))
            .filter(|p| p.kind.moves() && !p.spoiler);
        match moving {
            Some(photo) => {
                let length = Duration::from_millis(photo.duration_ms.unwrap_or(0));
                let (_, time) = self.timing.motion.plan(length, interval);
                time + self.timing.transition
            }
            None => interval,
        }
    }

    fn show_welcome(&mut self) {
        self.playing = None;
        self.current = None;
        self.wanted = None;
        self.deadline = None;
        if self.asleep {
            self.publish();
            return;
        }
        let (w, h) = self.renderer.size();
        let info = self.welcome.borrow().clone();
        self.present(Arc::new(slides::welcome(w, h, &info)), Duration::ZERO);
        self.publish();
    }

    /// Puts `slide` on the screen, with the clock and the pairing card drawn on it if there
    /// are any, and wakes for the clock's next minute (a copy of the slide and a few glyphs:
    /// as cheap as the welcome slide, done here).
    fn present(&mut self, slide: Arc<Slide>, transition: Duration) {
        self.bare = Some(slide.clone());
        let card = self.card.borrow().clone();
        let mut shown = slide;
        if let Some(face) = &self.timing.clock {
            shown = Arc::new(face.draw(&shown));
            self.clock_due = Some(Instant::now() + face.until_next_minute());
        }
        if let Some(card) = card {
            shown = Arc::new(card.draw(&shown));
        }
        self.sink.show(shown, transition);
    }

    /// Restarts the rotation timer from now, when rotating makes sense.
    fn arm_timer(&mut self) {
        let rotating =
            !self.paused && !self.asleep && self.order.len() > 1 && self.current.is_some();
        let interval = match self.hold {
            Some((id, d)) if self.current.is_some_and(|shot| shot.id == id) => d,
            _ => self.slide_time(),
        };
        self.deadline = rotating.then(|| Instant::now() + interval);
    }

    fn prepare_next(&mut self) {
        if self.asleep {
            return;
        }
        let Some(next) = self.neighbour(1).and_then(|(i, _)| self.shot_at(i)) else { return };
        if Some(next) == self.current
            || self.prepared.as_ref().is_some_and(|(shot, _)| *shot == next)
            || self.preparing.as_ref().is_some_and(|job| job.shot == next)
        {
            return;
        }
        self.preparing = Some(self.start_render(next));
    }

    /// Renders photo `id` on a worker; the result comes back through `results`, unless the
    /// job is dropped first.
    fn start_render(&mut self, shot: Shot) -> Job {
        self.next_request += 1;
        let request = self.next_request;
        let (library, renderer, results) =
            (self.library.clone(), self.renderer.clone(), self.results_tx.clone());
        let cancel = CancellationToken::new();
        let cancelled = cancel.clone();
        self.tasks.spawn(async move {
            let render = render_stored(&library, &renderer, shot);
            if let Some(result) = cancelled.run_until_cancelled(render).await {
                let _ = results.send(Rendered { request, shot, result }).await;
            }
        });
        Job { request, shot, _cancel: cancel.drop_guard() }
    }

    fn rendered(&mut self, done: Rendered) {
        if let Some((job, transition)) = self.wanted.take_if(|(job, _)| job.request == done.request)
        {
            let id = job.shot.id;
            {
                match done.result {
                    Ok((shot, slide)) => self.display(shot, slide, transition),
                    Err(Unshown::Gone) => {
                        self.forget(id);
                        match self.order.get(self.position()) {
                            Some(&next) => self.go_to(next, transition),
                            None => self.show_welcome(),
                        }
                    }
                    Err(Unshown::Failed(e)) => {
                        tracing::warn!("photo {id} cannot be shown, skipping it: {e}");
                        self.broken.insert(id);
                        self.current = Some(Shot::alone(id));
                        self.step(1, transition);
                    }
                }
                return;
            }
        }
        if self.preparing.take_if(|job| job.request == done.request).is_some() {
            let id = done.shot.id;
            match done.result {
                Ok(prepared) => self.prepared = Some(prepared),
                Err(Unshown::Gone) => self.forget(id),
                Err(Unshown::Failed(e)) => {
                    tracing::warn!("photo {id} cannot be shown, skipping it: {e}");
                    self.broken.insert(id);
                }
            }
        }
        // Anything else is stale: nobody waits for it any more.
    }

    fn publish(&self) {
        let photo = |id: Option<i64>| id.and_then(|id| self.photos.get(&id).cloned());
        let current = photo(self.current.map(|shot| shot.id));
        let beside = photo(self.current.and_then(|shot| shot.beside));
        let paused = self.paused;
        self.state.send_modify(|s| {
            s.current = current;
            s.beside = beside;
            s.paused = paused;
            s.shown += 1;
        });
    }
}

/// Reads the stored photos of a slide and renders them with their own fit and caption. When
/// the second photo of a pair cannot be read or drawn, the first is shown alone (the second
/// is found out when its own turn comes).
async fn render_stored(
    library: &Arc<Library>,
    renderer: &Renderer,
    shot: Shot,
) -> Result<(Shot, Arc<Slide>), Unshown> {
    // A clip is not read into memory: GStreamer reads its file.
    let read = |id: i64| async move {
        let found = library.call(move |l| match l.get(id)? {
            Some(photo) if photo.kind == Kind::Video => Ok(Some((photo, None))),
            Some(_) => Ok(l.read(id)?.map(|(photo, bytes)| (photo, Some(Arc::new(bytes))))),
            None => Ok(None),
        });
        match found.await {
            Ok(Some(found)) => Ok(found),
            Ok(None) => Err(Unshown::Gone),
            Err(e) => Err(Unshown::Failed(e.to_string())),
        }
    };
    let (photo, bytes) = read(shot.id).await?;
    let look = Look::from(&photo);
    let Some(bytes) = bytes else {
        let path = library.original_path(&photo);
        let still = renderer.video_still(path, (photo.width, photo.height), look).await;
        return still
            .map(|slide| (Shot::alone(shot.id), slide))
            .map_err(|e| Unshown::Failed(e.to_string()));
    };
    if let Some(beside) = shot.beside {
        if let Ok((other_photo, Some(other))) = read(beside).await {
            let other_look = Look::from(&other_photo);
            match renderer.pair((bytes.clone(), look.clone()), (other, other_look)).await {
                Ok(slide) => return Ok((shot, slide)),
                Err(e) => tracing::warn!("photos {} and {beside} cannot be paired: {e}", shot.id),
            }
        }
    }
    let slide = renderer.photo(bytes, look).await;
    slide
        .map(|slide| (Shot::alone(shot.id), slide))
        .map_err(|e: RenderError| Unshown::Failed(e.to_string()))
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::display::headless::HeadlessSink;
    use crate::library::{NewPhoto, Retention};
    use crate::render::{Fit, Limits, Matte};
    use crate::slides::SlideSettings;

    const PHOTOS: [&[u8]; 3] = [
        include_bytes!("../tests/fixtures/ladybird.jpg"),
        include_bytes!("../tests/fixtures/orient-3.jpg"),
        include_bytes!("../tests/fixtures/ladybird.png"),
    ];

    /// A slideshow running over a real library, on a headless screen, with what a test
    /// looks at.
    pub(crate) struct Started {
        pub show: Slideshow,
        pub state: watch::Receiver<State>,
        pub task: tokio::task::JoinHandle<()>,
        pub sink: Arc<HeadlessSink>,
        pub renderer: Renderer,
        pub tasks: Tasks,
        pub size: watch::Sender<(u32, u32)>,
    }

    /// Starts a slideshow on a `width`×`height` screen that turns every minute, without fades.
    pub(crate) fn start(library: Arc<Library>, size: (u32, u32)) -> Started {
        start_with_clock(library, size, None)
    }

    /// The same, with a clock on the slides; animations play once.
    fn start_with_clock(
        library: Arc<Library>,
        (width, height): (u32, u32),
        clock: Option<slides::ClockFace>,
    ) -> Started {
        let (size_tx, size) = watch::channel((width, height));
        let settings = SlideSettings {
            fit: Fit::Contain,
            matte: Matte::Black,
            limits: Limits::default(),
            captions: true,
            caption_fields: Default::default(),
            pair: false,
        };
        let renderer = Renderer::new(settings, size);
        let sink = Arc::new(HeadlessSink::default());
        let info = WelcomeInfo {
            http_url: "http://x".into(),
            page_url: None,
            discord_line: "off".into(),
            notices: vec![],
            screen_line: None,
        };
        // The sender may go: the slideshow then keeps the last welcome text.
        let (_, welcome) = watch::channel(info);
        let (_, card) = watch::channel(None);
        let timing = Timing {
            interval: Duration::from_secs(60),
            transition: Duration::ZERO,
            rotation: Rotation::newest(),
            motion: MotionTiming { loops: clock.is_some().then_some(1), ..MotionTiming::default() },
            clock,
        };
        let tasks = Tasks::new(CancellationToken::new());
        let (show, task) = Slideshow::spawn(
            &tasks,
            library,
            renderer.clone(),
            sink.clone(),
            timing,
            welcome,
            card,
        );
        let state = show.watch();
        Started { show, state, task, sink, renderer, tasks, size: size_tx }
    }

    /// A library in `dir` holding `n` photos (ids 1..=n, the last the newest).
    fn library_with(dir: &std::path::Path, n: usize) -> Arc<Library> {
        let library = Arc::new(Library::open(dir, Retention::default()).unwrap());
        for i in 0..n {
            // The same fixtures again are duplicates: make each one distinct by a trailing byte
            // (decoders ignore what follows a JPEG's end marker and a PNG's IEND).
            let mut bytes = PHOTOS[i % PHOTOS.len()].to_vec();
            bytes.extend(std::iter::repeat_n(0, i / PHOTOS.len()));
            let new = NewPhoto { format: "JPEG".into(), width: 1, height: 1, ..Default::default() };
            let id = library.add(&bytes, new).unwrap().photo.id;
            assert_eq!(id, i as i64 + 1);
        }
        library
    }

    /// Waits for the next published state whose photo is `id` (or the welcome slide).
    async fn until_showing(state: &mut watch::Receiver<State>, id: Option<i64>) {
        let wait = state.wait_for(|s| s.current.as_ref().map(|p| p.id) == id);
        tokio::time::timeout(Duration::from_secs(3600), wait).await.unwrap().unwrap();
    }

    /// Waits until `n` decodes have started. (Renders read the library on the blocking pool;
    /// tokio's paused clock does not move while such work runs.)
    async fn until_decodes(renderer: &Renderer, n: u64) {
        let wait = async {
            while renderer.decodes() < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait).await.unwrap();
    }

    /// Waits until the slideshow has put something on screen after `before` slides (the same
    /// photo again counts).
    async fn until_shown_after(state: &mut watch::Receiver<State>, before: u64) {
        let wait = state.wait_for(|s| s.shown > before);
        tokio::time::timeout(Duration::from_secs(60), wait).await.unwrap().unwrap();
    }

    fn showing(state: &watch::Receiver<State>) -> Option<i64> {
        state.borrow().current.as_ref().map(|p| p.id)
    }

    /// Lets every task run until all wait (the paused clock moves only then, and never while
    /// blocking work runs), well before any interval ends.
    async fn settle() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn asleep_the_screen_is_black_nothing_renders_and_the_newest_shows_at_wake() {
        let dir = tempfile::tempdir().unwrap();
        let library = library_with(dir.path(), 2);
        let Started { show, mut state, sink, renderer, .. } = start(library.clone(), (160, 90));
        until_showing(&mut state, Some(2)).await;
        show.send(Command::Screen(false)).await;
        show.sync().await;
        let black = sink.current().unwrap();
        assert!(black.rgba().chunks_exact(4).all(|p| p == [0, 0, 0, 255]));
        let decodes = renderer.decodes();
        // An hour of commands and timers: no slide, no decode.
        show.send(Command::Next).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        show.sync().await;
        assert_eq!(renderer.decodes(), decodes, "nothing rendered while asleep");
        assert!(Arc::ptr_eq(&sink.current().unwrap(), &black));
        assert_eq!(showing(&state), Some(1), "next still moves the place");
        // A photo arrives at night: it becomes current, and is what shows at wake.
        let added =
            library.add(PHOTOS[2], NewPhoto { format: "JPEG".into(), ..Default::default() });
        let photo = added.unwrap().photo;
        show.send(Command::Added { photo: Box::new(photo.clone()), slide: None, hold: None }).await;
        show.sync().await;
        assert_eq!(showing(&state), Some(photo.id));
        assert!(Arc::ptr_eq(&sink.current().unwrap(), &black));
        // Paused, so that the (paused, auto-advancing) clock does not rotate past it at once.
        show.send(Command::Pause).await;
        show.send(Command::Screen(true)).await;
        until_decodes(&renderer, decodes + 1).await;
        let lit = async {
            while Arc::ptr_eq(&sink.current().unwrap(), &black) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), lit).await.unwrap();
        assert_eq!(showing(&state), Some(photo.id));
    }

    #[tokio::test(start_paused = true)]
    async fn rotates_on_the_interval_and_holds_while_paused() {
        let dir = tempfile::tempdir().unwrap();
        let library = library_with(dir.path(), 3);
        let Started { show, mut state, task, .. } = start(library.clone(), (160, 90));
        // Newest first, then older ones on each tick, then round again.
        until_showing(&mut state, Some(3)).await;
        until_showing(&mut state, Some(2)).await;
        until_showing(&mut state, Some(1)).await;
        until_showing(&mut state, Some(3)).await;

        show.send(Command::Pause).await;
        state.wait_for(|s| s.paused).await.unwrap();
        let shown = state.borrow().shown;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(state.borrow().shown, shown, "nothing changes while paused");
        assert_eq!(show.state().current.map(|p| p.id), Some(3));

        // Removing every photo brings the welcome slide back; dropping the handle ends the task.
        for id in 1..=3 {
            library.delete(id).unwrap();
        }
        show.send(Command::Removed(vec![1, 2, 3])).await;
        until_showing(&mut state, None).await;
        drop((show, state));
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_interval_counts_from_now_for_the_slide_on_screen() {
        let dir = tempfile::tempdir().unwrap();
        let library = library_with(dir.path(), 2);
        let Started { show, mut state, .. } = start(library.clone(), (160, 90));
        until_showing(&mut state, Some(2)).await;
        let hour = Duration::from_secs(3600);
        show.send(Command::Retime { interval: hour, transition: Duration::ZERO }).await;
        show.sync().await;
        let shown = state.borrow().shown;
        tokio::time::sleep(hour - Duration::from_secs(1)).await;
        assert_eq!(state.borrow().shown, shown, "the slide stays for the new interval");
        until_showing(&mut state, Some(1)).await;
        show.send(Command::Retime { interval: Duration::from_secs(5), transition: Duration::ZERO })
            .await;
        let started = tokio::time::Instant::now();
        until_showing(&mut state, Some(2)).await;
        assert!(started.elapsed() <= Duration::from_secs(6), "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_order_goes_on_from_the_photo_on_screen() {
        let dir = tempfile::tempdir().unwrap();
        let library = library_with(dir.path(), 6);
        let Started { show, mut state, .. } = start(library.clone(), (160, 90));
        until_showing(&mut state, Some(6)).await;
        show.send(Command::Pause).await;
        let mut next = async || {
            let before = state.borrow().shown;
            show.send(Command::Next).await;
            until_shown_after(&mut state, before).await;
            showing(&state).unwrap()
        };
        show.send(Command::Reorder(crate::rotation::Order::Shuffle)).await;
        show.sync().await;
        assert_eq!(show.state().current.map(|p| p.id), Some(6), "the photo on screen stays");
        // A round of the shuffle: every photo once, the one on screen not first.
        let mut round = Vec::new();
        for _ in 0..6 {
            round.push(next().await);
        }
        assert_ne!(round[0], 6);
        assert_ne!(round, [5, 4, 3, 2, 1, 6], "shuffled");
        let mut sorted = round.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2, 3, 4, 5, 6], "{round:?}");
        // Back to newest first, from where the screen is.
        let at = *round.last().unwrap();
        show.send(Command::Reorder(crate::rotation::Order::Newest)).await;
        let after = if at == 1 { 6 } else { at - 1 };
        assert_eq!(next().await, after);
        let after = if after == 1 { 6 } else { after - 1 };
        assert_eq!(next().await, after);
    }

    /// Colours in `slide`: a solid frame has one; the clock's text adds its own.
    fn colours(slide: &Slide) -> usize {
        let mut seen: Vec<&[u8]> = slide.rgba().chunks_exact(4).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    #[tokio::test]
    async fn the_clock_is_drawn_over_a_playing_animation_and_again_over_its_last_frame() {
        let dir = tempfile::tempdir().unwrap();
        let library = Arc::new(Library::open(dir.path(), Retention::default()).unwrap());
        let gif = crate::app::tests::animated_gif();
        let new = NewPhoto {
            format: "GIF".into(),
            width: 64,
            height: 36,
            kind: Kind::Animation,
            duration_ms: Some(800),
            ..Default::default()
        };
        let id = library.add(&gif, new).unwrap().photo.id;
        // 12:34:58: the animation (0.8 s, played once) ends before the minute changes.
        let start = "2026-12-07T12:34:58+01:00[Europe/Berlin]".parse::<jiff::Zoned>().unwrap();
        let face = slides::ClockFace {
            show: crate::render::text::ClockShow::Time,
            corner: crate::render::text::Corner::BottomRight,
            clock: crate::schedule::Clock::starting_at(
                start.timestamp(),
                start.time_zone().clone(),
            ),
        };
        let Started { show: _show, mut state, sink, .. } =
            start_with_clock(library, (160, 90), Some(face));
        until_showing(&mut state, Some(id)).await;
        // Playing: frame after frame, each with the clock on it, until it rests on the last.
        let mut frames: Vec<Arc<Slide>> = Vec::new();
        let mut since = std::time::Instant::now();
        while since.elapsed() < Duration::from_millis(400) {
            let now = sink.current().unwrap();
            if frames.last().is_none_or(|last| !Arc::ptr_eq(last, &now)) {
                assert!(colours(&now) > 2, "a frame without the clock");
                frames.push(now);
                since = std::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(frames.len() >= 4, "the animation played: {} frames", frames.len());
        let rest = frames.last().unwrap().clone();
        // The minute changes: the clock is drawn again over the last frame, not the still.
        let ticked = loop {
            let now = sink.current().unwrap();
            if !Arc::ptr_eq(&now, &rest) {
                break now;
            }
            assert!(since.elapsed() < Duration::from_secs(5), "the clock was not drawn again");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_ne!(ticked.rgba(), rest.rgba(), "a new minute on the clock");
        let centre = |s: &Slide| s.rgba()[(45 * 160 + 80) * 4..][..4].to_vec();
        assert_eq!(centre(&ticked), centre(&rest), "over the last frame");
        assert_ne!(centre(&ticked), centre(&frames[0]), "not over the still");
        assert!(colours(&ticked) > 2);
    }

    /// A window is sized after the slideshow starts (a Pi's screen is rarely the configured
    /// default): the photo being rendered for the old size must still come up, at the new
    /// size, not the welcome slide.
    #[tokio::test(start_paused = true)]
    async fn a_resize_while_the_first_photo_renders_still_shows_that_photo() {
        let dir = tempfile::tempdir().unwrap();
        let Started { show: _show, mut state, sink, size, .. } =
            start(library_with(dir.path(), 1), (1920, 1080));
        // The window reports its real size while the first render is under way.
        size.send((320, 200)).unwrap();
        until_showing(&mut state, Some(1)).await;
        assert_eq!(state.borrow().shown, 1, "the welcome slide came first");
        let slide = sink.current().unwrap();
        assert_eq!((slide.width(), slide.height()), (320, 200));
    }

    /// The slide after the current one is rendered ahead: `next` shows it at once, even while
    /// the decode gate is busy (an upload being rendered).
    #[tokio::test(start_paused = true)]
    async fn next_shows_the_slide_rendered_ahead_without_waiting_for_the_gate() {
        let dir = tempfile::tempdir().unwrap();
        let Started { show, mut state, renderer, .. } =
            start(library_with(dir.path(), 3), (160, 90));
        until_showing(&mut state, Some(3)).await;
        // The photo shown and the one after it; taking the gate waits for the second to end.
        until_decodes(&renderer, 2).await;
        let gate = renderer.hold_gate().await;
        settle().await;
        show.send(Command::Next).await;
        until_showing(&mut state, Some(2)).await;
        assert_eq!(renderer.decodes(), 2, "shown from the slide rendered ahead");
        drop(gate);
        // Then the one after that is rendered ahead in turn.
        until_decodes(&renderer, 3).await;
    }

    /// Five quick presses of `next` while the gate is busy cost one decode, not five in a row:
    /// the renders nobody waits for any more are dropped before they take the gate.
    #[tokio::test(start_paused = true)]
    async fn superseded_renders_never_take_the_decode_gate() {
        let dir = tempfile::tempdir().unwrap();
        let Started { show, mut state, renderer, .. } =
            start(library_with(dir.path(), 7), (160, 90));
        until_showing(&mut state, Some(7)).await;
        show.send(Command::Pause).await;
        until_decodes(&renderer, 2).await;
        let gate = renderer.hold_gate().await;
        // The slide rendered ahead reaches the slideshow.
        settle().await;
        let before = renderer.decodes();
        // 6 was rendered ahead and shows at once; 5, 4, 3 and 2 each supersede the last.
        for _ in 0..5 {
            show.send(Command::Next).await;
        }
        settle().await;
        assert_eq!(showing(&state), Some(6));
        assert_eq!(renderer.decodes(), before, "nothing decodes while the gate is held");
        drop(gate);
        until_showing(&mut state, Some(2)).await;
        // Photo 2, and perhaps already photo 1 rendered ahead of it: never 5, 4 and 3 (a
        // queue of every request would have decoded those first).
        let spent = renderer.decodes() - before;
        assert!((1..=2).contains(&spent), "{spent} decodes");
    }

    /// A sender's `--duration` holds the new photo for its own time, once; the rotation then
    /// goes back to the interval.
    #[tokio::test(start_paused = true)]
    async fn a_held_photo_stays_for_its_own_time_once() {
        let dir = tempfile::tempdir().unwrap();
        let library = library_with(dir.path(), 3);
        let Started { show, mut state, .. } = start(library.clone(), (160, 90));
        until_showing(&mut state, Some(3)).await;
        let photo = library.get(1).unwrap().unwrap();
        let hold = Some(Duration::from_secs(600));
        show.send(Command::Added { photo: Box::new(photo), slide: None, hold }).await;
        until_showing(&mut state, Some(1)).await;
        let since = Instant::now();
        until_showing(&mut state, Some(3)).await;
        assert_eq!(since.elapsed().as_secs(), 600, "held for its --duration");
        let since = Instant::now();
        until_showing(&mut state, Some(2)).await;
        assert_eq!(since.elapsed().as_secs(), 60, "then the interval");
        until_showing(&mut state, Some(1)).await;
        let since = Instant::now();
        until_showing(&mut state, Some(3)).await;
        assert_eq!(since.elapsed().as_secs(), 60, "the hold was for its first showing only");
    }

    /// Removing the photo on screen shows the one that took its place; removing the one
    /// rendered ahead drops that slide; a photo deleted behind the slideshow's back (its
    /// render finds it gone) is skipped.
    #[tokio::test(start_paused = true)]
    async fn removed_photos_leave_the_rotation_and_the_screen() {
        let dir = tempfile::tempdir().unwrap();
        let library = library_with(dir.path(), 5);
        let Started { show, mut state, .. } = start(library.clone(), (160, 90));
        until_showing(&mut state, Some(5)).await;
        show.send(Command::Pause).await;
        // 4 is rendered ahead; removing it means `next` goes to 3.
        library.delete(4).unwrap();
        show.send(Command::Removed(vec![4])).await;
        show.send(Command::Next).await;
        until_showing(&mut state, Some(3)).await;
        // Removing the photo on screen shows the next older one in its place.
        library.delete(3).unwrap();
        show.send(Command::Removed(vec![3])).await;
        until_showing(&mut state, Some(2)).await;
        // Photo 5 is deleted without a word to the slideshow: asked for, it is found gone,
        // forgotten, and the screen goes to the photo in its place.
        library.delete(5).unwrap();
        let before = state.borrow().shown;
        assert!(show.show(5).await, "the slideshow still knew it");
        until_shown_after(&mut state, before).await;
        assert_eq!(showing(&state), Some(2));
        assert!(!show.show(5).await, "forgotten once found gone");
        show.send(Command::Next).await;
        until_showing(&mut state, Some(1)).await;
        show.send(Command::Next).await;
        until_showing(&mut state, Some(2)).await;
    }

    /// How long a moving slide stays, and how many times it plays.
    #[test]
    fn short_clips_loop_for_the_interval_and_long_ones_play_once() {
        let auto = MotionTiming::default();
        let s = Duration::from_secs;
        assert_eq!(auto.plan(s(4), s(60)), (None, s(60)), "loops until the interval is over");
        assert_eq!(auto.plan(s(14), s(10)), (None, s(14)), "plays to its end at least once");
        assert_eq!(auto.plan(s(40), s(60)), (Some(1), s(40)), "a long clip plays once");
        let twice = MotionTiming { loops: Some(2), ..auto };
        assert_eq!(twice.plan(s(4), s(60)), (Some(2), s(8)), "[video] loops = 2");
    }

    /// The frame's stop ends the slideshow even while sources still hold handles.
    #[tokio::test(start_paused = true)]
    async fn the_frame_stopping_ends_the_slideshow() {
        let dir = tempfile::tempdir().unwrap();
        let Started { show, mut state, task, tasks, .. } =
            start(library_with(dir.path(), 2), (160, 90));
        until_showing(&mut state, Some(2)).await;
        tasks.shutdown(Duration::from_secs(5)).await.unwrap();
        task.await.unwrap();
        // A source that sends afterwards is not blocked or failed.
        show.send(Command::Next).await;
        assert!(!show.show(1).await);
    }
}
