//! The screen. The core (slideshow, HTTP, Discord) talks to it through [`FrameSink`] and never
//! names winit; [`window`] implements it with a fullscreen winit window presented through
//! `pixels` (GPU) or `softbuffer` (CPU), [`headless`] without any window.
//!
//! Only [`window`] and its presenters depend on winit: the main thread runs the event loop, and
//! slides arrive from the tokio thread as [`window::AppEvent`]s through an `EventLoopProxy`.

pub mod fade;
pub mod headless;
pub mod window;

mod pixels;
mod soft;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::render::Slide;

/// Where finished slides go. Implementations must return at once: the slideshow calls this
/// from its task, and a display that is busy fading simply takes the newest slide next.
pub trait FrameSink: Send + Sync + 'static {
    /// Puts `slide` on the screen, cross-fading from the previous one over `transition`.
    fn show(&self, slide: Arc<Slide>, transition: Duration);
    /// The slide last put on the screen: what `/api/screenshot.png` returns.
    fn current(&self) -> Option<Arc<Slide>>;
    /// Which presenter this is, for `/api/status`.
    fn backend(&self) -> &'static str;
    /// Answers on `answer` once the display has handled everything sent before: the
    /// systemd watchdog is fed only while this comes back. A sink without a loop of its own
    /// answers at once.
    fn ping(&self, answer: tokio::sync::oneshot::Sender<()>) {
        let _ = answer.send(());
    }
}

/// What a person asked for at the screen's keyboard, in the display's own terms: the wiring
/// (`frame.rs`) turns each into a slideshow command, so the display knows nothing of the
/// slideshow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Forward,
    Back,
    PlayPause,
    /// Off if on, on if off (a remote's power key).
    Screen,
}

/// A presenter: puts RGBA slides (or a blend of two) on the window. The window drives it; the
/// presenters (`pixels`, `softbuffer`) know nothing of the window loop.
pub trait Present {
    fn name(&self) -> &'static str;
    fn resize(&mut self, width: u32, height: u32) -> anyhow::Result<()>;
    /// Draws `to`, blended from `from` by `weight` (0..=256), and presents it.
    fn draw(&mut self, from: Option<&Slide>, to: &Slide, weight: u32) -> anyhow::Result<()>;
}

/// The screen's size in pixels, as the display knows it. The display sends a new size when
/// its window is resized (or first mapped); the slideshow re-renders for it.
pub type ScreenSize = watch::Receiver<(u32, u32)>;

/// The last slide shown, kept for screenshots; shared by every sink.
#[derive(Debug, Default)]
pub struct Shown(Mutex<Option<Arc<Slide>>>);

impl Shown {
    pub fn set(&self, slide: Arc<Slide>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(slide);
    }

    pub fn get(&self) -> Option<Arc<Slide>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
