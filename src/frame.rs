//! Starting and stopping the frame: the configuration in effect, logging, the library, the
//! display on the main thread, and everything else on a tokio runtime.
//!
//! Shutdown is explicit (see [`crate::lifecycle`]): SIGTERM, Ctrl-C or the window closing
//! cancel the root token; the HTTP server drains its connections, every task ends at its next
//! await, Discord closes its session, shutdown waits for all of them (at most [`GRACE`]); the
//! runtime thread then tells the display loop to quit, and the process exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::cli::RunArgs;
use crate::config::{Backend, Config, ConfigError};
use crate::discord::access::Access;
use crate::discord::token::{Token, TokenSource};
use crate::discord::{BotSettings, Core, DiscordState};
use crate::display::headless::HeadlessSink;
use crate::display::{window, FrameSink, KeyAction};
use crate::fetch::FetchPolicy;
use crate::http::server::Limits as ServerLimits;
use crate::http::{self, AppState};
use crate::library::{Library, Retention};
use crate::lifecycle::Tasks;
use crate::service;
use crate::slides::{CaptionFields, Renderer, SlideSettings, WelcomeInfo};
use crate::slideshow::{Command, Slideshow, Timing};

/// How long shutdown waits for the tasks once the HTTP server has drained; systemd's stop
/// timeout (90 s by default, 20 s in the units) is well beyond.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The configuration in effect: the file, the environment and the flags, merged.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// The file read, if any.
    pub config_path: Option<PathBuf>,
    /// The Discord token: `--token`, else `DISCORD_BOT_TOKEN`, else systemd's credential
    /// `discord-token` (`LoadCredential=`: a file only this service can read, so the token is
    /// in neither the unit nor the environment), else `[discord] token`.
    pub discord_token: Option<Token>,
    pub data_dir: PathBuf,
    /// `--log-file-path`, or `discord-frame.log` in `[log] dir`.
    pub log_file: Option<PathBuf>,
    /// `--size` given with a window backend: a plain window of that size instead of
    /// fullscreen, for development (Esc closes it).
    pub windowed: Option<(u32, u32)>,
}

impl Settings {
    /// Reads the config file and applies the environment and the flags over it.
    pub fn resolve(run: &RunArgs) -> Result<Settings, ConfigError> {
        let config_path = Config::locate(run.config.as_deref());
        let mut config = match &config_path {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(host) = run.host {
            config.http.host = host;
        }
        if let Some(port) = run.port {
            config.http.port = port;
        }
        if let Some(display) = run.display {
            config.display.backend = display;
        }
        if let Some((width, height)) = run.screen_size {
            config.display.size = crate::config::Size { width, height };
        }
        if let Some(level) = &run.log_level {
            config.log.level = level.clone();
        }
        if let Some(dir) = &run.data_dir {
            config.library.dir = Some(dir.clone());
        }
        // Flags can make a valid file invalid (--host 0.0.0.0 without a token).
        config.validate()?;
        let discord_token = TokenSource::find(
            run.token.clone(),
            std::env::var("DISCORD_BOT_TOKEN").ok(),
            std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
            &config,
            config_path.as_deref(),
        );
        let data_dir = match &config.library.dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("", "", "discord-frame")
                .map(|d| d.data_dir().to_owned())
                .ok_or(ConfigError::Invalid {
                    key: "[library] dir",
                    message: "there is no home directory to keep photos in: set [library] dir \
                              or --data-dir"
                        .into(),
                })?,
        };
        let log_file = run
            .log_file_path
            .clone()
            .or_else(|| config.log.dir.as_ref().map(|d| d.join("discord-frame.log")));
        let windowed = run.screen_size.filter(|_| config.display.backend != Backend::Headless);
        Ok(Settings { config, config_path, discord_token, data_dir, log_file, windowed })
    }
}

/// Sends the log to stderr, and to the log file when one is set.
pub fn init_logging(settings: &Settings) -> anyhow::Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.config.log.level)
        .context("[log] level")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match &settings.log_file {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the log directory {}", dir.display())
                })?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder.with_ansi(false).with_writer(std::io::stderr.and(Arc::new(file))).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

/// Runs the frame until SIGTERM.
pub fn run(settings: Settings) -> anyhow::Result<()> {
    let retention = Retention {
        max_photos: settings.config.library.max_photos,
        max_bytes: settings.config.library.max_disk_mb.saturating_mul(1024 * 1024),
    };
    let library = Library::open(&settings.data_dir, retention)
        .with_context(|| format!("cannot open the library in {}", settings.data_dir.display()))?;
    let library = Arc::new(library);
    tracing::info!("library: {} ({} photos)", settings.data_dir.display(), library.count()?);

    let backend = settings.config.display.backend;
    let windowed = match backend {
        Backend::Headless => false,
        Backend::Auto if !window::display_server_reachable() => {
            tracing::warn!(
                "no display server (neither WAYLAND_DISPLAY nor DISPLAY is set): running \
                 headless; the slides are only visible at /api/screenshot.png"
            );
            false
        }
        _ => true,
    };
    if windowed && !window::wait_for_display_server(std::time::Duration::from_secs(30)) {
        tracing::warn!("the display server named in the environment is not answering after 30 s");
    }
    if windowed {
        let size = settings.config.display.size;
        let initial = (size.width, size.height);
        let rotate = settings.config.display.rotate;
        match window::Display::new(backend, settings.windowed, initial, rotate) {
            Ok(mut display) => {
                let sink = display.sink();
                let size = display.size();
                let quit = display.quitter();
                let keys = display.keys();
                let opened = display.opened();
                let stop = CancellationToken::new();
                let stopped = stop.clone();
                let runtime = std::thread::Builder::new()
                    .name("frame-runtime".into())
                    .spawn(move || {
                        let core = async move {
                            if let Some(opened) = opened {
                                let wait = std::time::Duration::from_secs(30);
                                if tokio::time::timeout(wait, opened).await.is_err() {
                                    tracing::warn!("the window has not opened after 30 s");
                                }
                            }
                            serve(settings, library, sink, size, keys, stopped).await
                        };
                        let result = run_to_end(core);
                        quit.quit();
                        result
                    })
                    .context("cannot start the runtime thread")?;
                let shown = display.run();
                // The window closed (or failed): stop the core too, then report.
                stop.cancel();
                let served = runtime
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the runtime thread panicked")));
                return shown.and(served);
            }
            Err(e) if backend == Backend::Auto => {
                tracing::warn!("cannot open a window ({e:#}): running headless");
            }
            Err(e) => return Err(e),
        }
    }
    let size = settings.config.display.size;
    let composed = settings.config.display.rotate.composed((size.width, size.height));
    let (_size_tx, size_rx) = watch::channel(composed);
    let sink: Arc<dyn FrameSink> = Arc::new(HeadlessSink::default());
    let stop = CancellationToken::new();
    run_to_end(serve(settings, library, sink, size_rx, None, stop))
}

/// Runs `core` on a new runtime, then gives blocking work still under way (a decode nobody
/// wants any more) a second before the process exits. What is cut off then is cut off as by a
/// power cut, which the library survives (the kill -9 tests).
fn run_to_end(core: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("frame-worker")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(core);
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Everything but the display: the endpoint, the slideshow and Discord, until `stop` is
/// cancelled (by the window closing) or a signal cancels it.
pub async fn serve(
    settings: Settings,
    library: Arc<Library>,
    sink: Arc<dyn FrameSink>,
    size: watch::Receiver<(u32, u32)>,
    keys: Option<mpsc::UnboundedReceiver<KeyAction>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let tasks = Tasks::new(stop);
    let config = &settings.config;
    let addr = SocketAddr::new(config.http.host, config.http.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr}: set another [http] port (or --port), or stop what uses it"
        )
    })?;
    let local = listener.local_addr().context("the listening socket has no address")?;

    let initial = match &settings.discord_token {
        None => DiscordState::Disabled,
        Some(_) => DiscordState::Connecting,
    };
    let (discord_tx, discord) = watch::channel(initial);
    let welcome_info = WelcomeInfo {
        // "From this computer": 0.0.0.0 is an address to listen on, not one to send to.
        http_url: if local.ip().is_unspecified() {
            format!("http://127.0.0.1:{}", local.port())
        } else {
            format!("http://{local}")
        },
        page_url: crate::http::reach::page_url(local.ip(), local.port()),
        discord_line: discord.borrow().welcome_line(),
        notices: library.notices().to_vec(),
        screen_line: None,
    };
    let (welcome_tx, welcome) = watch::channel(welcome_info);
    // Wi-Fi often comes up after the frame at boot: the page's address is looked for again
    // every 30 s for ten minutes, until there is one to show.
    if !local.ip().is_loopback() && welcome_tx.borrow().page_url.is_none() {
        let welcome_tx = welcome_tx.clone();
        let stop = tasks.token();
        tasks.spawn(async move {
            for _ in 0..20 {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                }
                if let Some(url) = crate::http::reach::page_url(local.ip(), local.port()) {
                    tracing::info!("the frame's page is at {url}");
                    welcome_tx.send_modify(|w| w.page_url = Some(url));
                    return;
                }
            }
        });
    }
    // The welcome slide says what Discord is doing; it follows the connection's state.
    tasks.spawn({
        let mut discord = discord.clone();
        let welcome_tx = welcome_tx.clone();
        async move {
            while discord.changed().await.is_ok() {
                let line = discord.borrow_and_update().welcome_line();
                welcome_tx.send_modify(|w| w.discord_line = line);
            }
        }
    });

    let renderer = Renderer::new(
        SlideSettings {
            fit: config.display.fit,
            matte: config.display.matte,
            limits: config.limits.render_limits(),
            captions: config.display.captions,
            caption_fields: CaptionFields::new(&config.display.caption_fields),
            pair: config.display.pair,
        },
        size,
    );
    let timing = Timing {
        interval: config.display.interval,
        transition: config.display.transition,
        rotation: crate::rotation::Rotation::new(
            config.display.order,
            config.display.recent,
            config.display.boost,
            config.display.seed,
        ),
        clock: (config.display.clock != crate::render::text::ClockShow::None).then(|| {
            crate::slides::ClockFace {
                show: config.display.clock,
                corner: config.display.clock_corner,
                clock: crate::schedule::Clock::from_env(),
            }
        }),
        motion: crate::slideshow::MotionTiming {
            loops: config.video.loops,
            sound: config.video.sound,
            keep_bytes: (config.video.max_frames_mb as usize).saturating_mul(1 << 20),
        },
    };
    // The paired browsers; a file the frame cannot use only means they pair again.
    let (sessions, sessions_notice) = crate::sessions::Sessions::open(library.dir());
    if let Some(notice) = &sessions_notice {
        tracing::warn!("{notice}");
    }
    let pairing = Arc::new(crate::pairing::Pairing::new(sessions));
    let (slideshow, _) = Slideshow::spawn(
        &tasks,
        library.clone(),
        renderer.clone(),
        sink.clone(),
        timing,
        welcome,
        pairing.card(),
    );
    let shown = slideshow.watch();
    let schedule = &config.schedule;
    let mut plan = crate::screen::Plan::new(
        crate::schedule::Schedule::new(schedule.on.clone()),
        Some(schedule.wake_on_photo).filter(|d| !d.is_zero()),
    );
    if schedule.motion_gpio.is_some() {
        plan = plan.with_motion(crate::screen::MotionRule {
            lit: schedule.motion_on,
            only: schedule.motion_only,
        });
    }
    let power = crate::power::choose(sink.backend(), schedule.cec);
    let clock = crate::schedule::Clock::from_env();
    // A sensor that cannot be read is the owner's to fix; the frame goes on without it (with
    // `motion_only`, the screen stays dark until it is fixed, as the status says).
    let sensor = schedule.motion_gpio.as_deref().map(crate::motion::open);
    let sensor_note = match &sensor {
        Some(Ok(sensor)) => {
            tracing::info!("watching the motion sensor on {}", sensor.describe);
            Some(sensor.describe.clone())
        }
        Some(Err(e)) => {
            tracing::warn!("[schedule] motion_gpio: {e}");
            Some(e.clone())
        }
        None => None,
    };
    let screen =
        crate::screen::Screen::spawn(&tasks, plan, clock, power, slideshow.clone(), sensor_note);
    if let Some(Ok(sensor)) = sensor {
        crate::motion::spawn(&tasks, sensor, screen.clone());
    }
    // The welcome slide says when the screen next turns off or on; redrawn only when that
    // line changes, not at each of the screen task's checks.
    tasks.spawn({
        let mut status = screen.watch();
        async move {
            loop {
                let line = status.borrow_and_update().next_line();
                welcome_tx.send_if_modified(|w| {
                    let changed = w.screen_line != line;
                    w.screen_line = line;
                    changed
                });
                if status.changed().await.is_err() {
                    break;
                }
            }
        }
    });
    let live = crate::settings::LiveSettings::from(config);
    let app = App::new(library, renderer, slideshow, sink.clone(), screen, discord)
        .with_motion_limits(config.video.limits())
        .with_settings(
            crate::settings::SettingsFile::new(settings.config_path.clone()).with_config(config),
            live,
        )
        .with_pairing(pairing);
    // The keyboard is a transport too: the display says which key, this says what it does.
    if let Some(mut keys) = keys {
        let app = app.clone();
        tasks.spawn(async move {
            while let Some(action) = keys.recv().await {
                let command = match action {
                    KeyAction::Forward => Command::Next,
                    KeyAction::Back => Command::Prev,
                    KeyAction::PlayPause => Command::TogglePause,
                    KeyAction::Screen => {
                        app.toggle_screen().await;
                        continue;
                    }
                };
                app.control(command).await;
            }
        });
    }
    // Discord runs beside the endpoint; trouble there (a bad token, the Message Content intent
    // off) shows in the status and on the welcome slide, and never stops the pictures.
    let reread = Arc::new(tokio::sync::Notify::new());
    let discord_http = settings.discord_token.as_ref().map(|token| {
        let api_url = config.discord.api_url.as_deref();
        let core = Core {
            app: app.clone(),
            access: Access::new(&config.discord),
            wake_word: config.discord.wake_word.clone(),
        };
        let bot_settings = BotSettings {
            token: token.clone(),
            config: config.discord.clone(),
            fetch: FetchPolicy::new(&config.limits.allowed_hosts, config.limits.max_download_mb),
            reread: reread.clone(),
        };
        // The relay sends with the token the bot uses, which may change while the frame runs.
        let (rest_tx, rest) =
            watch::channel(Arc::new(crate::discord::http(token.secret.expose(), api_url)));
        // Graceful: on stop it closes its gateway session before it ends.
        let bot = crate::discord::run(bot_settings, core, discord_tx, rest_tx, tasks.token());
        tasks.spawn_graceful(bot);
        rest
    });
    let state = AppState {
        app,
        discord_http,
        token: config.http.token.as_ref().map(|t| Arc::from(t.expose())),
        max_upload_mb: config.http.max_upload_mb,
    };
    let url = format!("http://{local}");
    let backend = sink.backend();
    tasks.spawn(async move {
        // The watchdog is fed from READY on: systemd's start timeout covers the time before.
        service::ready_when_shown(shown, url).await;
        service::watchdog(sink).await;
    });
    // Installed before the line below, which tells scripts that the frame is up.
    harmless_signals(&tasks, reread);
    let stop_signal = shutdown_signal();
    // Tests and scripts read this line to find a port chosen with --port 0.
    println!("discord-frame: serving on http://{local}");
    tracing::info!("HTTP endpoint on http://{local} (display: {backend})");
    tasks.spawn({
        let tasks = tasks.clone();
        async move {
            stop_signal.await;
            tasks.stop();
        }
    });
    // The server drains its connections while the other tasks stop, side by side; the grace
    // period runs from the moment the frame was told to stop.
    let server = async {
        let limits = ServerLimits::for_this_process();
        let served = http::server::serve(listener, http::app(state), limits, tasks.token()).await;
        // The server also returns when it fails: stop everything else either way.
        tasks.stop();
        served.context("the HTTP server failed")
    };
    let deadline = async {
        tasks.stopping().await;
        service::stopping();
        tokio::time::Instant::now() + GRACE
    };
    let (served, deadline) = tokio::join!(server, deadline);
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    if let Err(late) = tasks.shutdown(left).await {
        tracing::warn!("{late} of shutting down; exiting anyway");
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP, SIGUSR1 and SIGUSR2 would end the process by default, with no graceful shutdown
/// (a `kill -HUP` meant to reload, a terminal closing). SIGHUP reads the Discord token again
/// (`reread`); the rest of the config is read only at start, so the others are logged and
/// otherwise ignored; `systemctl restart` applies a new config.
fn harmless_signals(tasks: &Tasks, reread: Arc<tokio::sync::Notify>) {
    use tokio::signal::unix::SignalKind;
    let stops = "it will stop the frame with no shutdown";
    // Each signal is caught on its own, so one that cannot be leaves the other two handled.
    let mut hup = catch(SignalKind::hangup(), "SIGHUP", stops);
    let mut usr1 = catch(SignalKind::user_defined1(), "SIGUSR1", stops);
    let mut usr2 = catch(SignalKind::user_defined2(), "SIGUSR2", stops);
    tasks.spawn(async move {
        let rest = "the rest of the config is read at start: restart the frame to apply a change";
        loop {
            let name = tokio::select! {
                () = received(&mut hup) => {
                    tracing::info!("SIGHUP: reading the Discord token again ({rest})");
                    reread.notify_one();
                    continue;
                }
                () = received(&mut usr1) => "SIGUSR1",
                () = received(&mut usr2) => "SIGUSR2",
            };
            tracing::info!("{name}: ignored ({rest})");
        }
    });
}

/// Starts catching one signal; when that fails, says so with the reason and what the signal will
/// do instead (`otherwise`).
fn catch(
    kind: tokio::signal::unix::SignalKind,
    name: &str,
    otherwise: &str,
) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind)
        .inspect_err(|e| tracing::warn!("cannot handle {name} ({e}): {otherwise}"))
        .ok()
}

/// Resolves each time the signal comes; never, when it could not be caught or no more can come
/// (so a loop over it cannot spin).
async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(signal) = signal {
        if signal.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C). Both are caught from the moment
/// this is called, not from the first time it is awaited: the task that awaits it may not have
/// run yet when a stop comes right after the frame said it is up (a script, or systemd
/// stopping it as it starts), and that stop would then end the process with no shutdown.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::SignalKind;
    let ends = "it will end the frame with no shutdown";
    let mut term = catch(SignalKind::terminate(), "SIGTERM", ends);
    let mut int = catch(SignalKind::interrupt(), "SIGINT", ends);
    async move {
        tokio::select! {
            () = received(&mut term) => {},
            () = received(&mut int) => {},
        }
        tracing::info!("shutting down");
    }
}
