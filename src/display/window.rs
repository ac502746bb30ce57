//! The fullscreen window: winit's event loop on the main thread, an [`ApplicationHandler`]
//! that receives finished slides as [`AppEvent`]s from the tokio thread, fades between them and
//! presents through `pixels` or `softbuffer`.
//!
//! It never decodes and never polls: with nothing to do the loop waits (`ControlFlow::Wait`,
//! 0 CPU); during a fade it wakes at the next frame's time (`ControlFlow::WaitUntil`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::{mpsc, oneshot, watch};
use winit::application::ApplicationHandler;
use winit::dpi::{PhysicalPosition, PhysicalSize};
use winit::event::{ElementState, KeyEvent, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop, EventLoopProxy};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Fullscreen, Window, WindowId};

use super::fade::Fade;
use super::pixels::PixelsPresenter;
use super::soft::SoftPresenter;
use super::{FrameSink, KeyAction, Present, Shown};
use crate::config::Backend;
use crate::render::{Rotate, Slide};

/// The keys a frame answers to (a keyboard or a remote's arrow keys) and what each does.
/// Escape leaves a windowed frame; it does nothing fullscreen, where there is no other way
/// back.
const KEYS: &[(NamedKey, KeyAction)] = &[
    (NamedKey::ArrowRight, KeyAction::Forward),
    (NamedKey::ArrowLeft, KeyAction::Back),
    (NamedKey::Space, KeyAction::PlayPause),
    (NamedKey::Power, KeyAction::Screen),
    (NamedKey::Standby, KeyAction::Screen),
];

/// What the tokio thread tells the display loop.
#[derive(Debug)]
pub enum AppEvent {
    /// Put this slide on screen, fading over the duration.
    Show(Arc<Slide>, Duration),
    /// The frame is stopping.
    Quit,
    /// Answer at once: the display loop is alive (the systemd watchdog).
    Ping(tokio::sync::oneshot::Sender<()>),
}

/// Whether a Wayland or X11 server is named in the environment.
pub fn display_server_reachable() -> bool {
    ["WAYLAND_DISPLAY", "DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Waits (up to `within`) until the display server named in the environment accepts
/// connections. A desktop session may start the frame before its compositor listens (wayfire
/// runs its autostart entries before it opens its socket), and winit cannot try a second time
/// in one process: a window that failed once would leave the frame headless for the session.
/// Returns at once for a server that cannot be checked (a remote X display).
pub fn wait_for_display_server(within: std::time::Duration) -> bool {
    let Some(socket) = display_socket(|v| std::env::var_os(v)) else { return true };
    let start = std::time::Instant::now();
    let mut said = false;
    loop {
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            return true;
        }
        if start.elapsed() >= within {
            return false;
        }
        if !said {
            tracing::info!("waiting for the display server at {}", socket.display());
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The Unix socket of the display server the environment names: Wayland's
/// `$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY` (or an absolute `WAYLAND_DISPLAY`), else a local X
/// display's `/tmp/.X11-unix/X<n>`.
fn display_socket(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let non_empty = |v: &str| env(v).filter(|s| !s.is_empty());
    if let Some(name) = non_empty("WAYLAND_DISPLAY") {
        let name = PathBuf::from(name);
        if name.is_absolute() {
            return Some(name);
        }
        return non_empty("XDG_RUNTIME_DIR").map(|dir| PathBuf::from(dir).join(name));
    }
    let display = non_empty("DISPLAY")?.into_string().ok()?;
    // ":0" or ":0.0" is local; "host:0" is not, and is not checked.
    let number = display.strip_prefix(':')?.split('.').next()?.to_owned();
    number.parse::<u32>().ok()?;
    Some(PathBuf::from(format!("/tmp/.X11-unix/X{number}")))
}

/// Frames per second during a fade: smooth enough for a slow crossfade, and cheap on a Pi.
const FADE_FPS: u64 = 30;

/// The [`FrameSink`] the core holds: forwards slides to the display loop.
struct WindowSink {
    /// Behind a mutex because the proxy is `Send` but not `Sync`.
    proxy: Mutex<EventLoopProxy<AppEvent>>,
    shown: Shown,
    /// The presenter chosen when the window opened.
    backend: Mutex<&'static str>,
}

impl FrameSink for WindowSink {
    fn show(&self, slide: Arc<Slide>, transition: Duration) {
        self.shown.set(slide.clone());
        let proxy = self.proxy.lock().unwrap_or_else(|e| e.into_inner());
        // Fails only once the loop has exited, when nothing is shown any more.
        let _ = proxy.send_event(AppEvent::Show(slide, transition));
    }

    fn current(&self) -> Option<Arc<Slide>> {
        self.shown.get()
    }

    fn backend(&self) -> &'static str {
        *self.backend.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ping(&self, answer: tokio::sync::oneshot::Sender<()>) {
        let proxy = self.proxy.lock().unwrap_or_else(|e| e.into_inner());
        // A loop that has exited drops the sender unanswered: the watchdog then starves.
        let _ = proxy.send_event(AppEvent::Ping(answer));
    }
}

/// Stops the display loop from another thread.
#[derive(Debug, Clone)]
pub struct Quitter(EventLoopProxy<AppEvent>);

impl Quitter {
    pub fn quit(&self) {
        let _ = self.0.send_event(AppEvent::Quit);
    }
}

/// The display, before its loop runs.
pub struct Display {
    event_loop: EventLoop<AppEvent>,
    app: App,
    size_rx: watch::Receiver<(u32, u32)>,
    sink: Arc<WindowSink>,
    keys_rx: Option<mpsc::UnboundedReceiver<KeyAction>>,
    opened_rx: Option<oneshot::Receiver<()>>,
}

impl std::fmt::Debug for Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Display").field("backend", &self.app.backend).finish_non_exhaustive()
    }
}

impl Display {
    /// Connects to the display server. `windowed` opens a plain window of that size instead of
    /// going fullscreen (for development; Esc closes it).
    pub fn new(
        backend: Backend,
        windowed: Option<(u32, u32)>,
        initial: (u32, u32),
        rotate: Rotate,
    ) -> anyhow::Result<Display> {
        let event_loop = EventLoop::<AppEvent>::with_user_event()
            .build()
            .context("cannot connect to the display server")?;
        let proxy = event_loop.create_proxy();
        let (size_tx, size_rx) = watch::channel(rotate.composed(initial));
        let (keys_tx, keys_rx) = mpsc::unbounded_channel();
        let (opened_tx, opened_rx) = oneshot::channel();
        let sink = Arc::new(WindowSink {
            proxy: Mutex::new(proxy),
            shown: Shown::default(),
            backend: Mutex::new("starting"),
        });
        let app = App {
            backend,
            windowed,
            rotate,
            window: None,
            presenter: None,
            sink: sink.clone(),
            size_tx,
            keys: keys_tx,
            opened: Some(opened_tx),
            current: None,
            previous: None,
            fade: None,
            next_frame: None,
            fade_frames: (0, Duration::ZERO, Duration::ZERO),
            error: None,
        };
        Ok(Display {
            event_loop,
            app,
            size_rx,
            sink,
            keys_rx: Some(keys_rx),
            opened_rx: Some(opened_rx),
        })
    }

    pub fn sink(&self) -> Arc<dyn FrameSink> {
        self.sink.clone()
    }

    /// The window's size, updated when it is mapped or resized.
    pub fn size(&self) -> watch::Receiver<(u32, u32)> {
        self.size_rx.clone()
    }

    /// Slideshow commands from the keyboard (arrows, space).
    pub fn keys(&mut self) -> Option<mpsc::UnboundedReceiver<KeyAction>> {
        self.keys_rx.take()
    }

    /// Resolves once the window is open with its presenter chosen and its size known (or
    /// failed to open), so that the first slide is rendered at the right size and
    /// `/api/status` names the presenter from the first request.
    pub fn opened(&mut self) -> Option<oneshot::Receiver<()>> {
        self.opened_rx.take()
    }

    pub fn quitter(&self) -> Quitter {
        Quitter(self.event_loop.create_proxy())
    }

    /// Runs the loop on this (the main) thread until [`Quitter::quit`] or the window closes.
    pub fn run(mut self) -> anyhow::Result<()> {
        self.event_loop.set_control_flow(ControlFlow::Wait);
        self.event_loop.run_app(&mut self.app).context("the display loop failed")?;
        match self.app.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

struct App {
    backend: Backend,
    windowed: Option<(u32, u32)>,
    /// The screen is mounted turned: slides come composed upright and are turned here.
    rotate: Rotate,
    window: Option<Arc<Window>>,
    presenter: Option<Box<dyn Present>>,
    sink: Arc<WindowSink>,
    /// Tells the slideshow the screen's size, so that it renders slides to fit.
    size_tx: watch::Sender<(u32, u32)>,
    keys: mpsc::UnboundedSender<KeyAction>,
    /// Told when the window is open; dropped (which also wakes the waiter) if it fails.
    opened: Option<oneshot::Sender<()>>,
    /// The slide on screen (or being faded to).
    current: Option<Arc<Slide>>,
    /// The slide being faded from.
    previous: Option<Arc<Slide>>,
    fade: Option<Fade>,
    /// When the next fade frame is due.
    next_frame: Option<Instant>,
    /// Frames drawn in the current fade and their total and worst cost, logged when it ends
    /// (the crossfade benchmark reads that line).
    fade_frames: (u32, Duration, Duration),
    /// A failure that ended the loop, returned from [`Display::run`].
    error: Option<anyhow::Error>,
}

impl App {
    fn open(&mut self, el: &ActiveEventLoop) -> anyhow::Result<()> {
        let mut attrs = Window::default_attributes().with_title("discord-frame");
        match self.windowed {
            Some((w, h)) => attrs = attrs.with_inner_size(PhysicalSize::new(w, h)),
            None => {
                let monitor = el.primary_monitor().or_else(|| el.available_monitors().next());
                if let Some(m) = &monitor {
                    // Without a window manager (a bare X server, a kiosk) fullscreen requests
                    // are ignored: the window must also be placed over the monitor by hand.
                    let (pos, size) = (m.position(), m.size());
                    attrs = attrs
                        .with_inner_size(size)
                        .with_position(PhysicalPosition::new(pos.x, pos.y))
                        .with_decorations(false);
                }
                attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(monitor)));
            }
        }
        let window = Arc::new(el.create_window(attrs).context("cannot open a window")?);
        window.set_cursor_visible(false);
        let presenter: Box<dyn Present> = match self.backend {
            Backend::Softbuffer => Box::new(SoftPresenter::new(window.clone())?),
            Backend::Pixels => Box::new(PixelsPresenter::new(window.clone())?),
            _ => match PixelsPresenter::new(window.clone()) {
                Ok(p) if p.is_hardware() => {
                    tracing::info!("presenting through pixels on {}", p.adapter_name());
                    Box::new(p)
                }
                Ok(p) => {
                    tracing::info!(
                        "the only GPU adapter is {}, a CPU rasteriser: presenting through \
                         softbuffer, which is faster there",
                        p.adapter_name()
                    );
                    drop(p);
                    Box::new(SoftPresenter::new(window.clone())?)
                }
                Err(e) => {
                    tracing::info!("no Vulkan GPU ({e:#}): presenting through softbuffer");
                    Box::new(SoftPresenter::new(window.clone())?)
                }
            },
        };
        *self.sink.backend.lock().unwrap_or_else(|e| e.into_inner()) = presenter.name();
        let size = window.inner_size();
        tracing::info!("window open: {}x{} via {}", size.width, size.height, presenter.name());
        self.presenter = Some(presenter);
        self.report_size(size);
        window.request_redraw();
        self.window = Some(window);
        if let Some(opened) = self.opened.take() {
            let _ = opened.send(());
        }
        Ok(())
    }

    fn report_size(&mut self, size: PhysicalSize<u32>) {
        if size.width > 0 && size.height > 0 {
            let composed = self.rotate.composed((size.width, size.height));
            self.size_tx.send_if_modified(|s| {
                let changed = *s != composed;
                *s = composed;
                changed
            });
        }
    }

    fn redraw(&mut self) -> anyhow::Result<()> {
        let (Some(presenter), Some(current)) = (self.presenter.as_mut(), self.current.as_ref())
        else {
            return Ok(());
        };
        let now = Instant::now();
        let weight = self.fade.map_or(256, |f| f.weight(now));
        presenter.draw(self.previous.as_deref(), current, weight)?;
        if self.fade.is_some() {
            let cost = now.elapsed();
            let (n, total, worst) = &mut self.fade_frames;
            *n += 1;
            *total += cost;
            *worst = (*worst).max(cost);
        }
        if self.fade.is_some_and(|f| f.finished(now)) {
            let (n, total, worst) = std::mem::take(&mut self.fade_frames);
            tracing::debug!(
                "fade: {n} frames at {}x{}, mean {:.2} ms, worst {:.2} ms per frame",
                current.width(),
                current.height(),
                total.as_secs_f64() * 1000.0 / f64::from(n.max(1)),
                worst.as_secs_f64() * 1000.0
            );
            self.fade = None;
            self.previous = None;
            self.next_frame = None;
        } else if self.fade.is_some() {
            self.next_frame = Some(now + Duration::from_millis(1000 / FADE_FPS));
        }
        Ok(())
    }

    fn fail(&mut self, el: &ActiveEventLoop, e: anyhow::Error) {
        tracing::error!("display: {e:#}");
        self.error = Some(e);
        self.opened = None;
        el.exit();
    }
}

impl ApplicationHandler<AppEvent> for App {
    fn resumed(&mut self, el: &ActiveEventLoop) {
        if self.window.is_none() {
            if let Err(e) = self.open(el) {
                self.fail(el, e);
            }
        }
    }

    fn user_event(&mut self, el: &ActiveEventLoop, event: AppEvent) {
        match event {
            AppEvent::Show(slide, transition) => {
                // Turned once per slide, here on the display's own thread, not per frame.
                let slide = match self.rotate {
                    Rotate::None => slide,
                    rotate => Arc::new(rotate.apply(&slide)),
                };
                let old = self.current.replace(slide);
                self.fade = None;
                self.previous = None;
                if let (Some(old), false) = (old, transition.is_zero()) {
                    self.previous = Some(old);
                    self.fade = Some(Fade { start: Instant::now(), duration: transition });
                }
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            AppEvent::Quit => el.exit(),
            AppEvent::Ping(answer) => {
                let _ = answer.send(());
            }
        }
    }

    fn window_event(&mut self, el: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => el.exit(),
            WindowEvent::Resized(size) => {
                if let Some(p) = self.presenter.as_mut() {
                    if let Err(e) = p.resize(size.width, size.height) {
                        return self.fail(el, e);
                    }
                }
                self.report_size(size);
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.redraw() {
                    self.fail(el, e);
                }
            }
            WindowEvent::KeyboardInput {
                event: KeyEvent { logical_key: Key::Named(key), state: ElementState::Pressed, .. },
                ..
            } => {
                if key == NamedKey::Escape && self.windowed.is_some() {
                    el.exit();
                } else if let Some(&(_, action)) = KEYS.iter().find(|(k, _)| *k == key) {
                    let _ = self.keys.send(action);
                }
            }
            _ => {}
        }
    }

    fn about_to_wait(&mut self, el: &ActiveEventLoop) {
        match self.next_frame {
            Some(at) if at <= Instant::now() => {
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
                el.set_control_flow(ControlFlow::Wait);
            }
            Some(at) => el.set_control_flow(ControlFlow::WaitUntil(at)),
            None => el.set_control_flow(ControlFlow::Wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn socket(vars: &[(&str, &str)]) -> Option<std::path::PathBuf> {
        display_socket(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| std::ffi::OsString::from(v))
        })
    }

    #[test]
    fn the_display_socket_comes_from_the_environment() {
        let wayland = [("WAYLAND_DISPLAY", "wayland-1"), ("XDG_RUNTIME_DIR", "/run/user/1000")];
        assert_eq!(socket(&wayland).as_deref(), Some(Path::new("/run/user/1000/wayland-1")));
        let absolute = [("WAYLAND_DISPLAY", "/tmp/w/wayland-0"), ("DISPLAY", ":1")];
        assert_eq!(socket(&absolute).as_deref(), Some(Path::new("/tmp/w/wayland-0")));
        assert_eq!(socket(&[("DISPLAY", ":1.0")]).as_deref(), Some(Path::new("/tmp/.X11-unix/X1")));
        // A remote X display cannot be checked; nothing at all names no socket.
        assert_eq!(socket(&[("DISPLAY", "host:0")]), None);
        assert_eq!(socket(&[("WAYLAND_DISPLAY", "")]), None);
    }
}
