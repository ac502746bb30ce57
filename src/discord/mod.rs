//! The Discord source: a serenity 0.12 bot that turns photos posted in a channel (or sent to
//! it directly) into ingest requests, tells the sender what happened with reactions and
//! replies, and answers the frame's commands by wake word and as `/frame`.
//!
//! - [`access`]: whom and where the bot listens to (`listen_channels`, `ignore_users`, ...).
//! - [`bot`]: the serenity event handler: messages, slash commands, deletes, connection state.
//! - [`photos`]: finding a message's photos (attachments, image embeds, bare links).
//! - [`params`]: `--fit`, `--caption`, `--duration` in a photo's message.
//! - [`commands`]: `next`, `prev`, `pause`, `resume`, `status`, `peek`, `delete`, `help`.
//! - [`feedback`]: the reactions and replies a sender sees.
//! - [`relay`]: `POST /api/discord/messages`, sending through the bot for local programs.
//!
//! Discord is one more source, not a second pipeline: photos go through [`crate::ingest`]
//! like uploads, and commands through the same slideshow handle as the HTTP endpoint.

pub mod access;
pub mod bot;
pub mod commands;
pub mod feedback;
pub mod params;
pub mod photos;
pub mod relay;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serenity::all::{ClientBuilder, GatewayError, GatewayIntents, HttpBuilder};
use serenity::http::Http;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::display::FrameSink;
use crate::ingest::Ingest;
use crate::library::Library;
use crate::slideshow::Slideshow;

/// The connection to Discord, as `/api/status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum DiscordState {
    /// No token: the frame runs without Discord.
    Disabled,
    Connecting,
    Connected {
        /// The bot's user name.
        user: String,
    },
    Error {
        /// What went wrong and what to do, in plain words.
        message: String,
    },
}

impl DiscordState {
    /// The welcome slide's line about Discord.
    pub fn welcome_line(&self) -> String {
        match self {
            DiscordState::Disabled => {
                "Discord is off: put a bot token in config.toml ([discord] token).".into()
            }
            DiscordState::Connecting => "Connecting to Discord…".into(),
            DiscordState::Connected { user } => {
                format!("post a photo where {user} can see it, or send it to {user} directly.")
            }
            DiscordState::Error { message } => format!("Discord: {message}"),
        }
    }
}

/// What the frame shares with the bot: the same ingest, library, slideshow and screen as the
/// HTTP endpoint.
#[derive(Clone)]
pub struct Core {
    pub ingest: Ingest,
    pub library: Arc<Library>,
    pub slideshow: Slideshow,
    /// The screen, for `peek`.
    pub sink: Arc<dyn FrameSink>,
    pub access: access::Access,
    /// `[discord] wake_word`, for parsing and for the help text.
    pub wake_word: String,
    /// When the frame started, for `status`.
    pub started: Instant,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("wake_word", &self.wake_word).finish_non_exhaustive()
    }
}

/// Trouble that stops the frame (exit 2): the owner has to change something first.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error(
        "Discord rejected the bot token (gateway close 4004): copy a new one from \
         https://discord.com/developers/applications → your app → Bot → Reset Token into \
         [discord] token (or DISCORD_BOT_TOKEN, or --token), then restart the frame"
    )]
    BadToken,
    #[error(
        "Discord refused the Message Content intent (gateway close 4014): turn on \"Message \
         Content Intent\" at https://discord.com/developers/applications → your app → Bot → \
         Privileged Gateway Intents, save, then restart the frame"
    )]
    MessageContentIntent,
    #[error(
        "Discord refused the bot's intents (gateway close 4013): this build of the frame asks \
         for intents Discord does not know; report it"
    )]
    InvalidIntents,
    #[error(
        "[discord] api_url: cannot get the gateway address from {api_url}/api/v10/gateway \
         ({reason}); the frame will not fall back to discord.com: start that server, fix the \
         address, or remove api_url"
    )]
    NoGateway { api_url: String, reason: String },
}

/// The intents the bot asks for: servers and their messages, DMs, and the text of messages
/// (privileged: it must be enabled in the Developer Portal, or Discord closes with 4014).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// A REST client for `token`: through `api_url` when set (the rate limiter off, as serenity
/// requires for a proxy), else to discord.com.
pub fn http(token: &str, api_url: Option<&str>) -> Http {
    let builder = HttpBuilder::new(token);
    match api_url {
        Some(url) => builder.proxy(url.trim_end_matches('/')).ratelimiter_disabled(true).build(),
        None => builder.build(),
    }
}

/// What the bot needs besides the core.
#[derive(Debug, Clone)]
pub struct BotSettings {
    pub token: String,
    pub config: crate::config::DiscordConfig,
    pub fetch: crate::fetch::FetchPolicy,
}

/// Runs the bot until `stop`; returns a [`Fatal`] when Discord refuses it for a reason only
/// the owner can fix. Other trouble (no network at boot, a dropped connection) is retried by
/// serenity while `/api/status` says `connecting`.
pub async fn run(
    settings: BotSettings,
    core: Core,
    state: watch::Sender<DiscordState>,
    stop: CancellationToken,
) -> Result<(), Fatal> {
    let api_url = settings.config.api_url.clone();
    let http = http(&settings.token, api_url.as_deref());
    // serenity looks the gateway up itself, and silently falls back to the real Discord when
    // that fails. With api_url set that would be wrong (a test, or a proxy that exists for a
    // reason): look it up here, refuse to start without it, and pin the client to it.
    let gateway = match &api_url {
        Some(api_url) => match http.get_gateway().await {
            Ok(g) => Some(g.url),
            Err(e) => {
                let api_url = api_url.trim_end_matches('/').to_owned();
                return Err(Fatal::NoGateway { api_url, reason: e.to_string() });
            }
        },
        None => None,
    };
    let handler = bot::Handler::new(core, &settings, state.clone());
    let client = ClientBuilder::new_with_http(http, intents()).event_handler(handler).await;
    let mut client = match client {
        Ok(c) => c,
        Err(e) => {
            let _ = state.send(DiscordState::Error { message: e.to_string() });
            return Ok(());
        }
    };
    if let Some(url) = gateway {
        *client.ws_url.lock().await = url;
    }
    let shards = client.shard_manager.clone();
    let result = tokio::select! {
        result = client.start() => match result {
            Ok(()) => Ok(()),
            Err(serenity::Error::Gateway(e)) => match e {
                GatewayError::InvalidAuthentication => Err(Fatal::BadToken),
                GatewayError::DisallowedGatewayIntents => Err(Fatal::MessageContentIntent),
                GatewayError::InvalidGatewayIntents => Err(Fatal::InvalidIntents),
                other => {
                    tracing::error!("Discord: the connection ended: {other}");
                    let message = format!("the connection ended ({other}); restart the frame");
                    let _ = state.send(DiscordState::Error { message });
                    Ok(())
                }
            },
            Err(e) => {
                tracing::error!("Discord: {e}");
                let _ = state.send(DiscordState::Error { message: e.to_string() });
                Ok(())
            }
        },
        () = stop.cancelled() => Ok(()),
    };
    // Whichever way it ended, stop serenity's tasks: they hold the handler, and with it a
    // slideshow handle that would keep the slideshow (and the shutdown) waiting.
    shards.shutdown_all().await;
    drop(client);
    result
}
