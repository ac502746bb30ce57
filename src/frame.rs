//! Starting and stopping the frame: the configuration in effect, logging, the library, the
//! display on the main thread, and everything else on a tokio runtime.
//!
//! Shutdown is by ownership: SIGTERM (or Ctrl-C) ends the HTTP server gracefully; dropping its
//! state drops the last slideshow handle, which ends the slideshow task; the runtime thread
//! then tells the display loop to quit, and the process exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::cli::RunArgs;
use crate::config::{Backend, Config, ConfigError, Secret};
use crate::discord::access::Access;
use crate::discord::{BotSettings, Core, DiscordState};
use crate::display::headless::HeadlessSink;
use crate::display::{window, FrameSink, KeyAction};
use crate::fetch::FetchPolicy;
use crate::http::server::Limits as ServerLimits;
use crate::http::{self, AppState};
use crate::library::{Library, Retention};
use crate::service;
use crate::slides::{Renderer, SlideSettings, WelcomeInfo};
use crate::slideshow::{Command, Slideshow, Timing};

/// The configuration in effect: the file, the environment and the flags, merged.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// The file read, if any.
    pub config_path: Option<PathBuf>,
    /// The Discord token: `--token`, else `DISCORD_BOT_TOKEN`, else systemd's credential
    /// `discord-token`, else `[discord] token`.
    pub discord_token: Option<Secret>,
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
        let discord_token = run
            .token
            .clone()
            .or_else(|| std::env::var("DISCORD_BOT_TOKEN").ok())
            .or_else(credential_token)
            .or_else(|| config.discord.token.as_ref().map(|t| t.expose().to_owned()))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(Secret::new);
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

/// The token systemd passes with `LoadCredential=discord-token:/etc/discord-frame/token`: a
/// file in `$CREDENTIALS_DIRECTORY` that only this service can read, so the token is in
/// neither the unit nor the environment.
fn credential_token() -> Option<String> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    std::fs::read_to_string(std::path::Path::new(&dir).join("discord-token")).ok()
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
        match window::Display::new(backend, settings.windowed, initial) {
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
                        let result = runtime().and_then(|rt| rt.block_on(core));
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
    let (_size_tx, size_rx) = watch::channel((size.width, size.height));
    let sink: Arc<dyn FrameSink> = Arc::new(HeadlessSink::default());
    let never = CancellationToken::new();
    runtime()?.block_on(serve(settings, library, sink, size_rx, None, never))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("frame-worker")
        .build()
        .context("cannot start the async runtime")
}

/// Everything but the display: the endpoint, the slideshow and Discord.
pub async fn serve(
    settings: Settings,
    library: Arc<Library>,
    sink: Arc<dyn FrameSink>,
    size: watch::Receiver<(u32, u32)>,
    keys: Option<mpsc::UnboundedReceiver<KeyAction>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
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
        http_url: format!("http://{local}"),
        discord_line: discord.borrow().welcome_line(),
        notices: library.notices().to_vec(),
    };
    let (welcome_tx, welcome) = watch::channel(welcome_info);
    // The welcome slide says what Discord is doing; it follows the connection's state.
    let welcome_follows = {
        let mut discord = discord.clone();
        tokio::spawn(async move {
            while discord.changed().await.is_ok() {
                let line = discord.borrow_and_update().welcome_line();
                welcome_tx.send_modify(|w| w.discord_line = line);
            }
        })
    };

    let renderer = Renderer::new(
        SlideSettings {
            fit: config.display.fit.into(),
            matte: config.display.matte.into(),
            limits: config.limits.render_limits(),
            captions: config.display.captions,
        },
        size,
    );
    let timing =
        Timing { interval: config.display.interval, transition: config.display.transition };
    let (slideshow, slideshow_task) =
        Slideshow::spawn(library.clone(), renderer.clone(), sink.clone(), timing, welcome);
    let shown = slideshow.watch();
    let app = App::new(library, renderer, slideshow, sink.clone(), discord);
    // The keyboard is a transport too: the display says which key, this says what it does.
    let keys = keys.map(|mut keys| {
        let app = app.clone();
        tokio::spawn(async move {
            while let Some(action) = keys.recv().await {
                let command = match action {
                    KeyAction::Forward => Command::Next,
                    KeyAction::Back => Command::Prev,
                    KeyAction::PlayPause => Command::TogglePause,
                };
                app.control(command).await;
            }
        })
    });
    // Discord runs beside the endpoint; trouble there (a bad token, the Message Content intent
    // off) shows in the status and on the welcome slide, and never stops the pictures.
    let discord_stop = CancellationToken::new();
    let (discord_http, bot) = match &settings.discord_token {
        None => (None, None),
        Some(token) => {
            let api_url = config.discord.api_url.as_deref();
            let relay_http = Arc::new(crate::discord::http(token.expose(), api_url));
            let core = Core {
                app: app.clone(),
                access: Access::new(&config.discord),
                wake_word: config.discord.wake_word.clone(),
            };
            let bot_settings = BotSettings {
                token: token.clone(),
                config: config.discord.clone(),
                fetch: FetchPolicy::new(
                    &config.limits.allowed_hosts,
                    config.limits.max_download_mb,
                ),
            };
            let stop = discord_stop.clone();
            let task = tokio::spawn(crate::discord::run(bot_settings, core, discord_tx, stop));
            (Some(relay_http), Some(task))
        }
    };
    let state = AppState {
        app,
        discord_http,
        token: config.http.token.as_ref().map(|t| Arc::from(t.expose())),
        max_upload_mb: config.http.max_upload_mb,
    };
    let supervised = {
        let sink = sink.clone();
        let url = format!("http://{local}");
        tokio::spawn(async move {
            // The watchdog is fed from READY on: systemd's start timeout covers the time before.
            service::ready_when_shown(shown, url).await;
            service::watchdog(sink).await;
        })
    };
    // Installed before the line below, which tells scripts that the frame is up.
    let harmless = harmless_signals();
    // Tests and scripts read this line to find a port chosen with --port 0.
    println!("discord-frame: serving on http://{local}");
    tracing::info!("HTTP endpoint on http://{local} (display: {})", sink.backend());
    let server_stop = stop.child_token();
    let stopper = {
        let server_stop = server_stop.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            server_stop.cancel();
        })
    };
    http::server::serve(listener, http::app(state), ServerLimits::for_this_process(), server_stop)
        .await
        .context("the HTTP server failed")?;
    stopper.abort();
    harmless.abort();
    service::stopping();
    supervised.abort();
    discord_stop.cancel();
    if let Some(bot) = bot {
        let _ = bot.await;
    }
    welcome_follows.abort();
    // The keyboard's forwarder holds a slideshow handle for as long as the window lives: stop
    // it, so that the server's state held the last handle, and the slideshow task ends.
    if let Some(keys) = keys {
        keys.abort();
        let _ = keys.await;
    }
    // The slideshow ends when its last handle is dropped; a library (serenity) task that
    // outlives its shutdown must not hang the exit.
    if tokio::time::timeout(std::time::Duration::from_secs(5), slideshow_task).await.is_err() {
        tracing::warn!("the slideshow did not stop within 5 s; exiting anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP, SIGUSR1 and SIGUSR2 would end the process by default, with no graceful shutdown
/// (a `kill -HUP` meant to reload, a terminal closing). The frame reads its config only at
/// start, so they are logged and otherwise ignored; `systemctl restart` applies a new config.
fn harmless_signals() -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut usr1), Ok(mut usr2)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
    ) else {
        tracing::warn!("cannot handle SIGHUP, SIGUSR1 and SIGUSR2: they will stop the frame");
        return tokio::spawn(async {});
    };
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = hup.recv() => "SIGHUP",
                _ = usr1.recv() => "SIGUSR1",
                _ = usr2.recv() => "SIGUSR2",
            };
            let why = "the config is read at start: restart the frame to apply a change";
            tracing::info!("{name}: ignored ({why})");
        }
    })
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
