//! Plays a stored animation or clip on the screen, on a thread of its own, until the
//! [`Player`] is dropped: the slideshow drops it when anything else goes on screen (or the
//! screen goes off), which stops the thread at the next frame and kills a clip's child at once.
//!
//! When it has played as many times as it should, it stops on its last frame and the thread
//! ends: a still screen costs no CPU.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::animation;
use super::video::{Pipeline, Shape};
use crate::render::i420::FrameBytes;
use crate::render::{self, Backdrop, Layout, Slide};

/// Where the frames go: the screen, with no fade between them.
pub type Show = Arc<dyn Fn(Arc<Slide>) + Send + Sync>;

/// What to play.
#[derive(Debug, Clone)]
pub enum Source {
    /// An animated image's file in the library.
    Animation { path: PathBuf },
    /// A clip's file in the library.
    Video { path: PathBuf, sound: bool },
}

/// Everything a player needs.
pub struct Playing {
    pub source: Source,
    /// The slide as first shown: the first frame over the matte, captioned.
    pub still: Arc<Slide>,
    /// The caption drawn on it, drawn again over each frame.
    pub caption: Option<String>,
    pub layout: Layout,
    /// How many plays; `None`: until stopped.
    pub loops: Option<u32>,
    /// Frames of an animation kept at their shown size while they fit in this many bytes.
    pub keep_bytes: usize,
    /// Waited before the first frame: the crossfade onto the still.
    pub after: Duration,
    pub show: Show,
}

impl std::fmt::Debug for Playing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playing")
            .field("source", &self.source)
            .field("layout", &self.layout)
            .field("loops", &self.loops)
            .finish_non_exhaustive()
    }
}

/// A playing animation or clip; dropping it stops it.
#[derive(Debug)]
pub struct Player {
    /// Dropped with the player: the thread sees the channel close.
    _stop: Sender<()>,
    /// The clip's child while one runs, killed on drop so that a thread blocked on a read
    /// (a child that stalled) wakes at once.
    child: Arc<Mutex<Option<Pipeline>>>,
}

impl Player {
    pub fn start(playing: Playing) -> Player {
        let (stop_tx, stop) = mpsc::channel();
        let child = Arc::new(Mutex::new(None));
        let slot = child.clone();
        let spawned = std::thread::Builder::new().name("player".into()).spawn(move || {
            let mut clock = Clock { stop, next: Instant::now() };
            // Drawn here, off the slideshow's task, during the crossfade.
            let backdrop = Arc::new(Backdrop::new(
                playing.still.clone(),
                &playing.layout,
                playing.caption.as_deref(),
            ));
            if !clock.wait(playing.after) {
                return;
            }
            match &playing.source {
                Source::Animation { path } => match std::fs::read(path) {
                    Ok(bytes) => animate(&playing, &backdrop, &bytes, clock),
                    Err(e) => tracing::warn!("cannot read {}: {e}", path.display()),
                },
                Source::Video { path, sound } => {
                    run_clip(&playing, &backdrop, path, *sound, clock, &slot)
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a thread to play: {e}");
        }
        Player { _stop: stop_tx, child }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // Dropping the pipeline kills its child.
        self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Frame times, and the stop signal.
struct Clock {
    stop: Receiver<()>,
    next: Instant,
}

impl Clock {
    /// Waits until `d` after the last frame's time; `false` if told to stop.
    fn wait(&mut self, d: Duration) -> bool {
        self.next += d;
        let now = Instant::now();
        if self.next < now {
            // Late (a slow decode): carry on from now rather than rush the frames after.
            self.next = now;
            return !self.stopped();
        }
        matches!(self.stop.recv_timeout(self.next - now), Err(RecvTimeoutError::Timeout))
    }

    fn stopped(&self) -> bool {
        !matches!(self.stop.try_recv(), Err(mpsc::TryRecvError::Empty))
    }
}

fn plays(loops: Option<u32>) -> impl Iterator<Item = u32> {
    (0..).take_while(move |n| loops.is_none_or(|max| *n < max))
}

fn animate(p: &Playing, backdrop: &Backdrop, bytes: &[u8], mut clock: Clock) {
    let Ok(format) = render::sniff(bytes) else { return };
    // The frames at their shown size, while they fit in `keep_bytes`; `None` once they did
    // not, and they are decoded again each time round.
    let mut kept: Option<Vec<(Vec<u8>, Duration)>> = Some(Vec::new());
    let mut complete = false;
    for _ in plays(p.loops) {
        if complete {
            for (frame, d) in kept.iter().flatten() {
                (p.show)(Arc::new(backdrop.compose(frame)));
                if !clock.wait(*d) {
                    return;
                }
            }
            continue;
        }
        let frames = match animation::frames(bytes, format) {
            Ok(frames) => frames,
            Err(e) => return tracing::warn!("the animation stopped: {e}"),
        };
        let mut size = 0;
        for frame in frames {
            let (canvas, d) = match frame {
                Ok(frame) => animation::canvas(frame),
                Err(e) => return tracing::warn!("the animation stopped: {e}"),
            };
            let fitted = render::fit_frame(canvas, &p.layout).into_raw();
            (p.show)(Arc::new(backdrop.compose(&fitted)));
            size += fitted.len();
            if size > p.keep_bytes {
                kept = None;
            }
            if let Some(kept) = kept.as_mut() {
                kept.push((fitted, d));
            }
            if !clock.wait(d) {
                return;
            }
        }
        complete = kept.is_some();
    }
}

/// The oldest frame sent, as a buffer, if nobody else holds it any more.
fn reclaim(sent: &mut VecDeque<Arc<Slide>>) -> Vec<u8> {
    match sent.front() {
        Some(oldest) if Arc::strong_count(oldest) == 1 => sent
            .pop_front()
            .and_then(|slide| Arc::try_unwrap(slide).ok())
            .and_then(Slide::into_i420)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn run_clip(
    p: &Playing,
    backdrop: &Arc<Backdrop>,
    path: &std::path::Path,
    sound: bool,
    clock: Clock,
    slot: &Mutex<Option<Pipeline>>,
) {
    let shape = Shape { crop: p.layout.crop(), out: backdrop.frame_size() };
    for _ in plays(p.loops) {
        if clock.stopped() {
            return;
        }
        let (pipeline, mut frames) = match Pipeline::spawn(path, shape, sound) {
            Ok(started) => started,
            Err(e) => return tracing::warn!("cannot play {}: {e}", path.display()),
        };
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(pipeline);
        let mut shown = 0u64;
        // The last slides sent to the screen: once the screen has let go of one, its memory
        // takes the next frame.
        let mut sent: VecDeque<Arc<Slide>> = VecDeque::new();
        // The last slide sent whose frame is lent from the child's memory.
        let mut lent: Option<Arc<Slide>> = None;
        // The child paces the frames by the clip's clock: each comes when it is due.
        loop {
            let next = frames.next_raw(reclaim(&mut sent), &mut || {
                // The child wants its frames back (it does before it ends): the screen gets
                // the frame it shows in memory of its own, and lets go of the lent one.
                if let Some(shown) = lent.take() {
                    (p.show)(Arc::new(shown.detached()));
                }
            });
            let Some(frame) = next else { break };
            // A frame lent from shared memory goes back to the child, not into the next.
            let own = matches!(frame, FrameBytes::Owned(_));
            let slide = Arc::new(backdrop.frame(frames.layout(), frame));
            (p.show)(slide.clone());
            if own {
                sent.push_back(slide);
                lent = None;
            } else {
                lent = Some(slide);
            }
            if sent.len() > 4 {
                sent.pop_front();
            }
            shown += 1;
            if clock.stopped() {
                return;
            }
        }
        slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        tracing::debug!("played {} ({shown} frames)", path.display());
        if shown == 0 {
            // Not one frame: do not start it again and again.
            return tracing::warn!("{} played no frame; showing its still", path.display());
        }
    }
}
