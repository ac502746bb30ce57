//! The Discord source: a serenity 0.12 bot that turns photos posted in a channel (or sent to
//! it directly) into ingest requests, tells the sender what happened with reactions and
//! replies, and answers the frame's commands by wake word and as `/frame`.
//!
//! - [`access`]: whom and where the bot listens to (`listen_channels`, `ignore_users`, ...).
//! - [`bot`]: the serenity event handler: messages, slash commands (`bot/slash.rs`),
//!   reactions (`bot/reacted.rs`), deletes, connection state.
//! - [`catch_up`]: on a fresh connection, the photos sent while the frame was off.
//! - [`cdn`]: Discord's signed attachment links, renewed when they have expired.
//! - [`photos`]: finding a message's photos (attachments, image embeds, bare links).
//! - [`readable`]: a message's text as people read it (names, not ids; no markdown).
//! - [`params`]: `--fit`, `--caption`, `--duration` in a photo's message.
//! - [`commands`]: `next`, `prev`, `pause`, `resume`, `status`, `peek`, `delete`, `help`.
//! - [`feedback`]: the reactions and replies a sender sees.
//! - [`relay`]: `POST /api/discord/messages`, sending through the bot for local programs.
//! - [`token`]: where the bot's token comes from, read again when Discord refuses it.
//!
//! Discord is a transport, not a second pipeline: photos and commands go through the same
//! [`App`] as the HTTP endpoint's; this module only turns Discord's messages into calls and the
//! outcomes into reactions and replies.

pub mod access;
pub mod bot;
pub mod catch_up;
pub mod cdn;
pub mod commands;
pub mod feedback;
pub mod params;
pub mod photos;
pub mod reactions;
pub mod readable;
pub mod relay;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{ClientBuilder, GatewayError, GatewayIntents, HttpBuilder};
use serenity::http::Http;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::app::App;
pub use crate::app::DiscordState;
use crate::config::Secret;

/// What the bot works with: the frame's [`App`] (the same as the HTTP endpoint's), and who
/// may do what.
#[derive(Clone)]
pub struct Core {
    pub app: App,
    pub access: access::Access,
    /// `[discord] wake_word`, for parsing and for the help text.
    pub wake_word: String,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("wake_word", &self.wake_word).finish_non_exhaustive()
    }
}

/// Why Discord is not connected, in words for the owner: what happened and what to do. None
/// of these stops the frame: the photos keep showing and the endpoint keeps serving while
/// `/api/status` and the welcome slide say what is wrong, and the bot tries again later.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "Discord rejected the bot token (gateway close 4004): get a new one at \
         https://discord.com/developers/applications → your app → Bot → Reset Token"
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
    #[error("the connection to Discord ended ({0}); trying again")]
    Ended(String),
}

/// The intents the bot asks for: servers and their messages, DMs, reactions (the favourite
/// and again controls), and the text of messages (privileged: it must be enabled in the
/// Developer Portal, or Discord closes with 4014).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::DIRECT_MESSAGE_REACTIONS
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
    pub token: token::Token,
    pub config: crate::config::DiscordConfig,
    pub fetch: crate::fetch::FetchPolicy,
    /// Notified on SIGHUP: read the token again, and connect at once if it changed.
    pub reread: Arc<Notify>,
}

/// How long the bot waits before trying again after Discord refused it or the connection
/// ended for good: doubling from the first value up to the second.
const RETRY: (Duration, Duration) = (Duration::from_secs(30), Duration::from_secs(600));

/// While Discord refuses the token, how often its file is read again: a new token pasted into
/// the credential or config file is used within this, without a restart or a SIGHUP.
const TOKEN_POLL: Duration = Duration::from_secs(60);

/// Runs the bot until `stop`. When Discord refuses it (a bad token, the intent off, no
/// gateway at `api_url`) or the connection ends for good, the state says why and the bot
/// tries again later; dropped connections in between are resumed by serenity while
/// `/api/status` says `connecting`. The token is read again before each new attempt, and
/// `rest` always holds a REST client with the token in use (the relay's).
pub async fn run(
    settings: BotSettings,
    core: Core,
    state: watch::Sender<DiscordState>,
    rest: watch::Sender<Arc<Http>>,
    stop: CancellationToken,
) {
    let mut wait = RETRY.0;
    let mut limited = false;
    let mut secret = settings.token.secret.clone();
    loop {
        let result = connect(&settings, &secret, core.clone(), &state, &stop, limited).await;
        let Err(refused) = result else {
            return;
        };
        // Without the Message Content intent the bot still hears direct messages, mentions
        // and slash commands: connect at once without it, and say what is missing.
        if matches!(refused, Refused::MessageContentIntent) && !limited {
            tracing::warn!("Discord: {refused}; connecting without it meanwhile");
            limited = true;
            continue;
        }
        let bad_token = matches!(refused, Refused::BadToken);
        let message = match bad_token {
            true => format!("{refused}, then {}", settings.token.source.how_to_change()),
            false => refused.to_string(),
        };
        tracing::error!("Discord: {message}");
        let _ = state.send(DiscordState::Error { message });
        tracing::info!("Discord: trying again in {}", humantime::format_duration(wait));
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let poll = match bad_token {
                true => deadline.min(tokio::time::Instant::now() + TOKEN_POLL),
                false => deadline,
            };
            tokio::select! {
                () = tokio::time::sleep_until(poll) => {}
                () = settings.reread.notified() => {}
                () = stop.cancelled() => return,
            }
            if let Some(new) = reread(&settings.token.source, &secret).await {
                tracing::info!("Discord: the token changed; connecting with the new one");
                secret = new;
                rest.send_replace(Arc::new(http(
                    secret.expose(),
                    settings.config.api_url.as_deref(),
                )));
                wait = RETRY.0;
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                wait = (wait * 2).min(RETRY.1);
                break;
            }
        }
        let _ = state.send(DiscordState::Connecting);
    }
}

/// The token from its source when it differs from `current`; `None` when it is the same or
/// cannot be read (then the current one is kept, and the log says why). The file is read on
/// a blocking thread: an SD card can take its time.
async fn reread(source: &token::TokenSource, current: &Secret) -> Option<Secret> {
    let source = source.clone();
    let read = tokio::task::spawn_blocking(move || source.read()).await;
    match read.unwrap_or_else(|e| Err(format!("the reading task failed: {e}"))) {
        Ok(new) if new != *current => Some(new),
        Ok(_) => None,
        Err(why) => {
            tracing::warn!("Discord: cannot read the token again ({why}); keeping the one in use");
            None
        }
    }
}

/// One connection, from the gateway lookup until `stop` (`Ok`) or until Discord refuses it.
async fn connect(
    settings: &BotSettings,
    token: &Secret,
    core: Core,
    state: &watch::Sender<DiscordState>,
    stop: &CancellationToken,
    limited: bool,
) -> Result<(), Refused> {
    let api_url = settings.config.api_url.clone();
    let http = http(token.expose(), api_url.as_deref());
    // serenity looks the gateway up itself, and silently falls back to the real Discord when
    // that fails. With api_url set that would be wrong (a test, or a proxy that exists for a
    // reason): look it up here, refuse to connect without it, and pin the client to it.
    let gateway = match &api_url {
        Some(api_url) => match http.get_gateway().await {
            Ok(g) => Some(g.url),
            // `GET /gateway` needs no token, but a server may check one that is sent.
            Err(serenity::Error::Http(e))
                if e.status_code() == Some(serenity::http::StatusCode::UNAUTHORIZED) =>
            {
                return Err(Refused::BadToken)
            }
            Err(e) => {
                let api_url = api_url.trim_end_matches('/').to_owned();
                return Err(Refused::NoGateway { api_url, reason: e.to_string() });
            }
        },
        None => None,
    };
    let fetcher = crate::fetch::Fetcher::new(settings.fetch.clone())
        .map_err(|e| Refused::Ended(format!("cannot set up downloads: {e}")))?;
    let refresher = cdn::Refresher::new(api_url.as_deref())
        .map_err(|e| Refused::Ended(format!("cannot set up downloads: {e}")))?;
    let handler = bot::Handler::new(core, settings, fetcher, refresher, state.clone(), limited);
    let intents = match limited {
        true => intents() - GatewayIntents::MESSAGE_CONTENT,
        false => intents(),
    };
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler(handler)
        .await
        .map_err(|e| Refused::Ended(e.to_string()))?;
    if let Some(url) = gateway {
        *client.ws_url.lock().await = url;
    }
    let shards = client.shard_manager.clone();
    let result = tokio::select! {
        result = client.start() => match result {
            Ok(()) => Err(Refused::Ended("the gateway closed".into())),
            Err(serenity::Error::Gateway(e)) => Err(match e {
                GatewayError::InvalidAuthentication => Refused::BadToken,
                GatewayError::DisallowedGatewayIntents => Refused::MessageContentIntent,
                GatewayError::InvalidGatewayIntents => Refused::InvalidIntents,
                other => Refused::Ended(other.to_string()),
            }),
            Err(e) => Err(Refused::Ended(e.to_string())),
        },
        () = stop.cancelled() => Ok(()),
    };
    // Whichever way it ended, stop serenity's tasks: they hold the handler, and with it a
    // slideshow handle that would keep the slideshow (and the shutdown) waiting.
    shards.shutdown_all().await;
    drop(client);
    result
}
