//! A fake Discord on loopback, for the real serenity inside the real binary: the REST routes
//! the frame calls (`/api/v10/...`), a `ws://` gateway that speaks Discord's protocol (Hello,
//! Identify, READY, GUILD_CREATE, dispatches with sequence numbers, heartbeat ACKs, RESUME,
//! close codes), and a CDN route that serves photos.
//!
//! Every payload it sends is first deserialised into serenity's own model type (`Message`,
//! `Ready`, `Guild`, ...): serenity drops an incomplete dispatch without a word, so a fixture
//! that does not parse fails here, loudly, rather than making a test wait for nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Ws;

pub const TOKEN: &str = "fake-bot-token";
pub const BOT_ID: u64 = 900;
pub const BOT_NAME: &str = "FrameBot";
pub const APP_ID: u64 = 901;
pub const GUILD_ID: u64 = 100;
pub const GUILD_NAME: &str = "Family";
/// The guild's channels: (id, name).
pub const CHANNELS: [(u64, &str); 2] = [(101, "photos"), (102, "chat")];
/// The DM channel between a user and the bot.
pub const DM_CHANNEL: u64 = 150;
/// The MESSAGE_CONTENT intent bit.
const MESSAGE_CONTENT: u64 = 1 << 15;

/// One REST call the frame made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The JSON body (a multipart request's `payload_json`).
    pub body: Value,
    /// Names of the files of a multipart request.
    pub files: Vec<(String, Vec<u8>)>,
    pub at: Instant,
}

/// What a gateway session did.
#[derive(Debug, Clone, Default)]
pub struct GatewayLog {
    pub identifies: Vec<Value>,
    pub resumes: Vec<Value>,
    pub heartbeats: usize,
}

/// A user who sends messages in tests.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub bot: bool,
}

pub fn user(id: u64, name: &str) -> User {
    User { id, name: name.into(), bot: false }
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Call>>,
    gateway: Mutex<GatewayLog>,
    /// Open gateway connections: where to send their frames.
    /// With whether each identified with the Message Content intent.
    sessions: Mutex<Vec<(mpsc::UnboundedSender<Ws>, bool)>>,
    /// The Message Content intent is off in the Developer Portal: asking for it gets 4014.
    content_refused: std::sync::atomic::AtomicBool,
    seq: AtomicU64,
    ids: AtomicU64,
    cdn: Mutex<HashMap<String, Vec<u8>>>,
    /// CDN paths that answer 503 this many more times before serving.
    cdn_failures: Mutex<HashMap<String, u32>>,
    /// Channels whose POST /messages answers with this (status, Discord code, message).
    channel_errors: Mutex<HashMap<u64, (u16, i64, String)>>,
    /// Close code sent instead of READY (4004 bad token, 4014 intents).
    close_on_identify: Mutex<Option<u16>>,
    /// When each interaction was sent: Discord accepts its first answer for 3 s only.
    interactions: Mutex<HashMap<String, Instant>>,
    /// The CDN paths fetched, in order.
    cdn_hits: Mutex<Vec<String>>,
    /// Every message posted, by channel, as `GET /channels/{id}/messages` returns them.
    history: Mutex<HashMap<u64, Vec<Value>>>,
    /// Threads made with `thread()`, as `GET /channels/{id}` returns them.
    channels: Mutex<Vec<Value>>,
    /// People's reactions (not the bot's), by message: (user, emoji).
    people_reactions: Mutex<HashMap<u64, Vec<(u64, String)>>>,
    /// The next this many reaction and message calls are answered 429.
    rate_limits: Mutex<u32>,
    /// Calls met during the storm, refused or not.
    storm_calls: AtomicU64,
    /// How many calls were answered 429.
    rate_limited: AtomicU64,
    api_url: String,
    gateway_url: String,
}

/// The fake. Dropping it stops its servers.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    rt: tokio::runtime::Runtime,
    pub api_url: String,
    pub gateway_url: String,
}

impl FakeDiscord {
    pub fn start() -> FakeDiscord {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (rest, gateway) = rt.block_on(async {
            let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let gateway = TcpListener::bind("127.0.0.1:0").await.unwrap();
            (rest, gateway)
        });
        let api_url = format!("http://{}", rest.local_addr().unwrap());
        let gateway_url = format!("ws://{}", gateway.local_addr().unwrap());
        let shared = Arc::new(Shared {
            ids: AtomicU64::new(snowflake(std::time::SystemTime::now())),
            api_url: api_url.clone(),
            gateway_url: gateway_url.clone(),
            ..Shared::default()
        });
        let app = router(shared.clone());
        rt.spawn(async move { axum::serve(rest, app).await });
        let gw = shared.clone();
        rt.spawn(async move {
            while let Ok((stream, _)) = gateway.accept().await {
                tokio::spawn(session(gw.clone(), stream));
            }
        });
        FakeDiscord { shared, rt, api_url, gateway_url }
    }

    /// The `[discord]` section for a frame that talks to this fake, plus `[limits]` allowing
    /// its CDN. `extra` is added to `[discord]`.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[discord]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n{extra}\n\n[limits]\n\
             allowed_hosts = [\"127.0.0.1\"]\n",
            self.api_url
        )
    }

    pub fn next_id(&self) -> u64 {
        self.shared.ids.fetch_add(1, Ordering::SeqCst)
    }

    /// Serves `bytes` at `/cdn/<name>`; returns its URL.
    /// Serves `bytes` as an attachment, at a link signed as Discord signs them (`ex`, `is`,
    /// `hm`) and valid for a day.
    pub fn serve_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.shared.cdn.lock().unwrap().insert(name.to_owned(), bytes);
        signed_link(&self.api_url, name, now_secs() + 24 * 3600)
    }

    /// Like [`Self::serve_file`], at a link that expired an hour ago: the CDN answers it 404,
    /// and `POST /attachments/refresh-urls` signs it again.
    pub fn serve_expired_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.shared.cdn.lock().unwrap().insert(name.to_owned(), bytes);
        signed_link(&self.api_url, name, now_secs() - 3600)
    }

    /// Makes `/cdn/<name>` answer 503 `times` times first.
    pub fn fail_file(&self, name: &str, times: u32) {
        self.shared.cdn_failures.lock().unwrap().insert(name.to_owned(), times);
    }

    /// Makes sending to `channel` fail as Discord would.
    pub fn fail_channel(&self, channel: u64, status: u16, code: i64, message: &str) {
        self.shared.channel_errors.lock().unwrap().insert(channel, (status, code, message.into()));
    }

    /// A 429 storm: of the reactions and messages the bot sends next, two in three are answered
    /// "You are being rate limited" (with `retry_after`, as Discord does) and not taken, until
    /// `n` have been: each call is refused twice before it goes through.
    pub fn rate_limit(&self, n: u32) {
        *self.shared.rate_limits.lock().unwrap() = n;
    }

    /// How many calls were answered 429.
    pub fn rate_limited(&self) -> u64 {
        self.shared.rate_limited.load(Ordering::SeqCst)
    }

    /// Switches the Message Content intent off in the "Developer Portal": an Identify asking
    /// for it is closed with 4014; one without it is accepted, and server messages that do
    /// not mention the bot reach it blank.
    pub fn refuse_message_content(&self) {
        self.shared.content_refused.store(true, Ordering::SeqCst);
    }

    /// A message that mentions the bot (`<@id>` in its text, the bot in `mentions`).
    pub fn mentioning_bot(&self, mut message: Value) -> Value {
        let text = format!("<@{BOT_ID}> {}", message["content"].as_str().unwrap());
        message["content"] = json!(text);
        message["mentions"] = json!([user_json(&bot_user())]);
        checked::<serenity::all::Message>(&message);
        message
    }

    /// Answers the next Identify with this close code instead of READY.
    pub fn close_on_identify(&self, code: u16) {
        *self.shared.close_on_identify.lock().unwrap() = Some(code);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    pub fn gateway(&self) -> GatewayLog {
        self.shared.gateway.lock().unwrap().clone()
    }

    pub fn sessions(&self) -> usize {
        self.shared.sessions.lock().unwrap().iter().filter(|(s, _)| !s.is_closed()).count()
    }

    /// Waits until `n` sessions have identified (READY sent) and are open.
    pub fn wait_ready(&self, n: usize, within: Duration) {
        super::wait_for(
            within,
            || format!("{n} bot(s) did not connect"),
            || (self.gateway().identifies.len() >= n && self.sessions() >= n).then_some(()),
        );
    }

    /// Posts a message nobody connected hears (the frame is off): it is only in the
    /// channel's history, for the frame to catch up on.
    pub fn post_unheard(&self, message: &Value) {
        let channel: u64 = message["channel_id"].as_str().unwrap().parse().unwrap();
        self.shared.history.lock().unwrap().entry(channel).or_default().push(message.clone());
    }

    /// Sends a dispatch to every open session. A MESSAGE_CREATE joins its channel's history.
    pub fn dispatch(&self, event: &str, data: Value) {
        if event == "MESSAGE_CREATE" {
            self.post_unheard(&data);
        }
        let seq = self.shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = json!({ "op": 0, "t": event, "s": seq, "d": data }).to_string();
        // Without the Message Content intent, Discord blanks what a server message says
        // unless it mentions the bot.
        let mut blanked = data.clone();
        let mentions_bot = data["mentions"].as_array().is_some_and(|m| {
            m.iter().any(|u| u["id"].as_str().and_then(|s| s.parse().ok()) == Some(BOT_ID))
        });
        if event.starts_with("MESSAGE_") && !data["guild_id"].is_null() && !mentions_bot {
            for (field, empty) in
                [("content", json!("")), ("attachments", json!([])), ("embeds", json!([]))]
            {
                if blanked.get(field).is_some() {
                    blanked[field] = empty;
                }
            }
        }
        let blanked = json!({ "op": 0, "t": event, "s": seq, "d": blanked }).to_string();
        for (s, content) in self.shared.sessions.lock().unwrap().iter() {
            let _ = s.send(Ws::Text(if *content { frame.clone() } else { blanked.clone() }));
        }
    }

    /// Closes every gateway connection as a network drop would (no close frame).
    pub fn drop_connections(&self) {
        for (s, _) in self.shared.sessions.lock().unwrap().drain(..) {
            let _ = s.send(Ws::Close(None));
        }
    }

    /// Sends every open session a gateway opcode, as Discord does: 7 (Reconnect: resume
    /// elsewhere) or 9 (Invalid Session, `d` saying whether it may be resumed). The sessions
    /// are then forgotten: the bot is expected to come back on a new connection.
    pub fn gateway_op(&self, op: u8, d: Value) {
        let frame = json!({ "op": op, "d": d }).to_string();
        for (s, _) in self.shared.sessions.lock().unwrap().drain(..) {
            let _ = s.send(Ws::Text(frame.clone()));
        }
    }

    /// A complete MESSAGE_CREATE payload; checked against serenity's `Message`.
    pub fn message(
        &self,
        channel: u64,
        author: &User,
        content: &str,
        attachments: &[(&str, &str, usize)],
    ) -> Value {
        let id = self.next_id();
        let attachments: Vec<Value> = attachments
            .iter()
            .map(|(filename, url, size)| {
                json!({
                    "id": self.next_id().to_string(), "filename": filename, "size": size,
                    "url": url, "proxy_url": url, "content_type": "image/jpeg",
                    "width": 4032, "height": 3024,
                })
            })
            .collect();
        let mut m = message_json(id, channel, author, content, attachments);
        if channel != DM_CHANNEL {
            m["guild_id"] = json!(GUILD_ID.to_string());
            m["member"] = json!({
                "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "deaf": false, "mute": false, "flags": 0,
            });
        }
        checked::<serenity::all::Message>(&m);
        m
    }

    /// `who` reacts to `message` with `emoji`: a MESSAGE_REACTION_ADD as Discord sends it (in
    /// a server with the reacting member, roles included), and the message's reactions count it.
    pub fn react(&self, message: &Value, who: &User, roles: &[u64], emoji: &str) {
        let mut r = reaction_json(message, who, emoji);
        if !message["guild_id"].is_null() {
            r["member"] = json!({
                "user": user_json(who), "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
                "flags": 0,
            });
            r["message_author_id"] = message["author"]["id"].clone();
        }
        checked::<serenity::all::Reaction>(&r);
        let id = message["id"].as_str().unwrap().parse().unwrap();
        let mut all = self.shared.people_reactions.lock().unwrap();
        all.entry(id).or_default().push((who.id, emoji.to_owned()));
        drop(all);
        self.dispatch("MESSAGE_REACTION_ADD", r);
    }

    /// `who` takes their `emoji` off `message`: a MESSAGE_REACTION_REMOVE (which carries no
    /// member).
    pub fn unreact(&self, message: &Value, who: &User, emoji: &str) {
        let r = reaction_json(message, who, emoji);
        checked::<serenity::all::Reaction>(&r);
        let id = message["id"].as_str().unwrap().parse().unwrap();
        let mut all = self.shared.people_reactions.lock().unwrap();
        all.entry(id).or_default().retain(|(u, e)| !(*u == who.id && e == emoji));
        drop(all);
        self.dispatch("MESSAGE_REACTION_REMOVE", r);
    }

    /// A THREAD_CREATE for a new public thread started in `parent`, as Discord sends it to a
    /// bot that is not in the thread yet (no `member`).
    pub fn thread(&self, parent: u64, name: &str) -> Value {
        let t = json!({
            "id": self.next_id().to_string(), "type": 11, "guild_id": GUILD_ID.to_string(),
            "parent_id": parent.to_string(), "owner_id": "11", "name": name,
            "last_message_id": null, "rate_limit_per_user": 0, "message_count": 0,
            "member_count": 1, "total_message_sent": 0, "flags": 0,
            "thread_metadata": {
                "archived": false, "auto_archive_duration": 4320, "locked": false,
                "archive_timestamp": "2026-11-22T10:00:00.000000+00:00", "create_timestamp": "2026-11-22T10:00:00.000000+00:00",
            },
            "newly_created": true,
        });
        checked::<serenity::all::GuildChannel>(&t);
        self.shared.channels.lock().unwrap().push(t.clone());
        t
    }

    /// The files fetched from the CDN so far, by name.
    pub fn cdn_hits(&self) -> Vec<String> {
        self.shared.cdn_hits.lock().unwrap().clone()
    }

    /// An attachment as Discord describes one: its `content_type` is Discord's guess from the
    /// file's name (`video/quicktime` for a .mov, `image/jpeg` for a .jpg).
    pub fn attachment(&self, filename: &str, url: &str, size: usize, content_type: &str) -> Value {
        json!({
            "id": self.next_id().to_string(), "filename": filename, "size": size,
            "url": url, "proxy_url": url, "content_type": content_type,
        })
    }

    /// A message with these attachments (see [`FakeDiscord::attachment`]).
    pub fn message_with(
        &self,
        channel: u64,
        author: &User,
        content: &str,
        attachments: Vec<Value>,
    ) -> Value {
        let mut m = self.message(channel, author, content, &[]);
        m["attachments"] = json!(attachments);
        checked::<serenity::all::Message>(&m);
        m
    }

    /// A voice message, as the phone apps send one: the IS_VOICE_MESSAGE flag (1 << 13) and
    /// one `audio/ogg` attachment with its duration and waveform.
    pub fn voice_message(&self, channel: u64, author: &User, url: &str) -> Value {
        let mut voice = self.attachment("voice-message.ogg", url, 20_000, "audio/ogg");
        voice["duration_secs"] = json!(3.5);
        voice["waveform"] = json!("AAAAAAAAAAAA");
        let mut m = self.message_with(channel, author, "", vec![voice]);
        m["flags"] = json!(1 << 13);
        checked::<serenity::all::Message>(&m);
        m
    }

    /// The MESSAGE_UPDATE with which Discord adds a link's embed a moment after the message:
    /// only ids and the embeds, and no `edited_timestamp` (it is not an edit). The embed of an
    /// image link is of type "image", the image in its thumbnail, served through the media
    /// proxy (`proxy_url`; images-ext-1.discordapp.net on Discord, this fake's CDN here).
    pub fn embed_update(&self, message: &Value, link: &str, proxy_url: &str) -> Value {
        let u = json!({
            "id": message["id"], "channel_id": message["channel_id"],
            "guild_id": message["guild_id"],
            "embeds": [{
                "type": "image", "url": link,
                "thumbnail": { "url": link, "proxy_url": proxy_url, "width": 640, "height": 400 },
                "content_scan_version": 0,
            }],
        });
        checked::<serenity::all::MessageUpdateEvent>(&u);
        u
    }

    /// The MESSAGE_UPDATE of an edit: the whole message with its new text and
    /// `edited_timestamp` set.
    pub fn edit(&self, message: &Value, content: &str) -> Value {
        let mut m = message.clone();
        m["content"] = json!(content);
        m["edited_timestamp"] = json!("2026-11-22T10:05:00.000000+00:00");
        checked::<serenity::all::MessageUpdateEvent>(&m);
        m
    }

    /// `forwarder` forwarding `original` into `channel`, as Discord sends it: no text of its
    /// own, a `message_reference` of type 1 (forward), the original's content, attachments and
    /// embeds in `message_snapshots`, and the HAS_SNAPSHOT flag (1 << 14).
    pub fn forward(&self, channel: u64, forwarder: &User, original: &Value) -> Value {
        let mut m = self.message(channel, forwarder, "", &[]);
        m["flags"] = json!(1 << 14);
        m["message_reference"] = json!({
            "type": 1,
            "message_id": original["id"],
            "channel_id": original["channel_id"],
            "guild_id": GUILD_ID.to_string(),
        });
        m["message_snapshots"] = json!([{ "message": {
            "type": 0,
            "content": original["content"],
            "embeds": original["embeds"],
            "attachments": original["attachments"],
            "timestamp": original["timestamp"],
            "edited_timestamp": null,
            "flags": 0,
            "mentions": [],
            "mention_roles": [],
            "components": [],
        }}]);
        checked::<serenity::all::Message>(&m);
        m
    }

    /// An INTERACTION_CREATE for `/frame <sub> [id]`; checked against serenity's.
    pub fn slash(&self, channel: u64, author: &User, sub: &str, id: Option<i64>) -> Value {
        let mut option = json!({ "name": sub, "type": 1, "options": [] });
        if let Some(id) = id {
            option["options"] = json!([{ "name": "id", "type": 4, "value": id }]);
        }
        let mut i = json!({
            "id": self.next_id().to_string(),
            "application_id": APP_ID.to_string(),
            "type": 2,
            "data": { "id": "555", "name": "frame", "type": 1, "options": [option] },
            "channel_id": channel.to_string(),
            "token": format!("interaction-token-{}", self.next_id()),
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        if channel == DM_CHANNEL {
            i["user"] = user_json(author);
        } else {
            i["guild_id"] = json!(GUILD_ID.to_string());
            i["member"] = json!({
                "user": user_json(author), "roles": [],
                "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
                "flags": 0, "permissions": "0",
            });
        }
        checked::<serenity::all::Interaction>(&i);
        self.shared
            .interactions
            .lock()
            .unwrap()
            .insert(i["id"].as_str().unwrap().to_owned(), Instant::now());
        i
    }

    /// Waits until a call matching `pred` has been made; returns it.
    pub fn wait_call(&self, within: Duration, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let calls = || {
            let calls: Vec<_> =
                self.calls().iter().map(|c| format!("{} {}", c.method, c.path)).collect();
            format!("no {what}; calls: {calls:#?}")
        };
        super::wait_for(within, calls, || self.calls().into_iter().find(|c| pred(c)))
    }

    /// The reactions the bot added (`+emoji`) and removed (`-emoji`) on a message, in order.
    pub fn reactions(&self, message_id: u64) -> Vec<String> {
        let needle = format!("/messages/{message_id}/reactions/");
        self.calls()
            .iter()
            .filter_map(|c| {
                let rest = c.path.split(&needle).nth(1)?;
                let emoji = rest.trim_end_matches("/@me");
                Some(format!("{}{emoji}", if c.method == "PUT" { "+" } else { "-" }))
            })
            .collect()
    }

    /// The messages the bot sent that reply to `message_id`.
    pub fn replies_to(&self, message_id: u64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| {
                c.method == "POST"
                    && c.path.ends_with("/messages")
                    && c.body["message_reference"]["message_id"].as_str()
                        == Some(&message_id.to_string())
            })
            .collect()
    }

    /// Stops the servers now (the runtime is dropped with the fake anyway).
    pub fn shutdown(self) {
        self.rt.shutdown_background();
    }
}

/// A Discord id for something made at `at`: milliseconds since 2015 in the high bits, so that
/// ids sort by time and a frame can turn "the last 48 hours" into an id, as with Discord's.
fn snowflake(at: std::time::SystemTime) -> u64 {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    let ms = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    (ms - DISCORD_EPOCH_MS) << 22
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.to_string(), "username": u.name, "discriminator": "0",
        "global_name": u.name, "avatar": null, "bot": u.bot,
    })
}

fn message_json(
    id: u64,
    channel: u64,
    author: &User,
    content: &str,
    attachments: Vec<Value>,
) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": user_json(author),
        "content": content,
        "timestamp": "2026-11-22T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    })
}

/// The fields every reaction event has.
fn reaction_json(message: &Value, who: &User, emoji: &str) -> Value {
    let mut r = json!({
        "user_id": who.id.to_string(), "channel_id": message["channel_id"].clone(),
        "message_id": message["id"].clone(), "emoji": { "id": null, "name": emoji },
        "burst": false, "type": 0,
    });
    if !message["guild_id"].is_null() {
        r["guild_id"] = message["guild_id"].clone();
    }
    r
}

/// Panics unless serenity can read `v` as a `T`.
fn checked<T: serde::de::DeserializeOwned>(v: &Value) {
    if let Err(e) = serde_json::from_value::<T>(v.clone()) {
        panic!("fixture is not a complete {}: {e}\n{v:#}", std::any::type_name::<T>());
    }
}

fn bot_user() -> User {
    User { id: BOT_ID, name: BOT_NAME.into(), bot: true }
}

fn ready(shared: &Shared, session_id: &str) -> Value {
    let mut me = user_json(&bot_user());
    me["verified"] = json!(true);
    me["mfa_enabled"] = json!(false);
    me["flags"] = json!(0);
    let r = json!({
        "v": 10,
        "user": me,
        "guilds": [{ "id": GUILD_ID.to_string(), "unavailable": true }],
        "session_id": session_id,
        "resume_gateway_url": shared.gateway_url,
        "shard": [0, 1],
        "application": { "id": APP_ID.to_string(), "flags": 0 },
    });
    checked::<serenity::all::Ready>(&r);
    r
}

/// A server role. 68672: view channels, send messages, add reactions, read history.
fn role(id: u64, name: &str, position: u64, permissions: &str) -> Value {
    json!({
        "id": id.to_string(), "name": name, "color": 0, "hoist": false, "icon": null,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "unicode_emoji": null, "position": position, "permissions": permissions,
        "managed": false, "mentionable": false, "flags": 0,
    })
}

fn guild() -> Value {
    let channels: Vec<Value> = CHANNELS
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            json!({
                "id": id.to_string(), "type": 0, "guild_id": GUILD_ID.to_string(), "name": name,
                "position": i, "permission_overwrites": [], "nsfw": false, "topic": null,
                "last_message_id": null, "parent_id": null, "rate_limit_per_user": 0,
            })
        })
        .collect();
    let g = json!({
        "id": GUILD_ID.to_string(),
        "name": GUILD_NAME,
        "icon": null, "icon_hash": null, "splash": null, "discovery_splash": null,
        "owner_id": "1",
        "afk_channel_id": null, "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        // Every server has @everyone (its id is the server's); 555 is a role of its own.
        "roles": [
            role(GUILD_ID, "@everyone", 0, "68672"),
            role(555, "Grandparents", 1, "68672"),
        ],
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "large": false,
        "unavailable": false,
        "member_count": 3,
        "voice_states": [],
        "members": [],
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "safety_alerts_channel_id": null,
    });
    checked::<serenity::all::Guild>(&g);
    g
}

/// One gateway connection.
async fn session(shared: Arc<Shared>, stream: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut write, mut read) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Ws>();
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 1000 } }).to_string();
    if write.send(Ws::Text(hello)).await.is_err() {
        return;
    }
    let mut joined = false;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Ws::Close(frame)) => {
                    // `None`: drop the TCP connection as a network failure would.
                    if let Some(frame) = frame {
                        let _ = write.send(Ws::Close(Some(frame))).await;
                    }
                    return;
                }
                Some(frame) => {
                    if write.send(frame).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            incoming = read.next() => {
                let Some(Ok(Ws::Text(text))) = incoming else {
                    match incoming {
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                match v["op"].as_u64() {
                    Some(1) => {
                        shared.gateway.lock().unwrap().heartbeats += 1;
                        let ack = json!({ "op": 11 }).to_string();
                        let _ = write.send(Ws::Text(ack)).await;
                    }
                    Some(2) => {
                        shared.gateway.lock().unwrap().identifies.push(v["d"].clone());
                        let token = v["d"]["token"].as_str().unwrap_or("");
                        let intents = v["d"]["intents"].as_u64().unwrap_or(0);
                        let content = intents & MESSAGE_CONTENT != 0;
                        let refused = shared.content_refused.load(Ordering::SeqCst);
                        let close = shared.close_on_identify.lock().unwrap().take().or(
                            if !token.ends_with(TOKEN) {
                                Some(4004)
                            } else if content && refused {
                                Some(4014)
                            } else {
                                None
                            },
                        );
                        if let Some(code) = close {
                            let frame = CloseFrame {
                                code: CloseCode::from(code),
                                reason: "closed by the fake".into(),
                            };
                            let _ = write.send(Ws::Close(Some(frame))).await;
                            return;
                        }
                        let n = shared.gateway.lock().unwrap().identifies.len();
                        let seq = shared.seq.fetch_add(2, Ordering::SeqCst);
                        let ready = json!({
                            "op": 0, "t": "READY", "s": seq + 1,
                            "d": ready(&shared, &format!("session-{n}")),
                        });
                        let guild = json!({ "op": 0, "t": "GUILD_CREATE", "s": seq + 2, "d": guild() });
                        let _ = write.send(Ws::Text(ready.to_string())).await;
                        let _ = write.send(Ws::Text(guild.to_string())).await;
                        if !joined {
                            shared.sessions.lock().unwrap().push((tx.clone(), content));
                            joined = true;
                        }
                    }
                    Some(6) => {
                        shared.gateway.lock().unwrap().resumes.push(v["d"].clone());
                        let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        let resumed = json!({ "op": 0, "t": "RESUMED", "s": seq, "d": {} });
                        let _ = write.send(Ws::Text(resumed.to_string())).await;
                        if !joined {
                            // A resumed session keeps the intents it identified with.
                            let content = !shared.content_refused.load(Ordering::SeqCst);
                            shared.sessions.lock().unwrap().push((tx.clone(), content));
                            joined = true;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v10/gateway", get(gateway_url))
        .route("/api/v10/gateway/bot", get(gateway_url))
        .route("/api/v10/channels/{channel}/messages", post(create_message).get(list_messages))
        .route(
            "/api/v10/channels/{channel}/messages/{message}",
            get(get_message).fallback(record_empty),
        )
        .route("/api/v10/channels/{channel}", get(get_channel).fallback(record_empty))
        .route("/api/v10/users/@me/channels", post(create_dm))
        .route(
            "/api/v10/webhooks/{app}/{token}/messages/@original",
            axum::routing::patch(edit_original),
        )
        .route("/cdn/{name}", get(cdn))
        .route("/api/v10/attachments/refresh-urls", post(refresh_urls))
        .route("/api/v10/applications/{app}/commands", put(record_list))
        .route("/api/v10/applications/{app}/guilds/{guild}/commands", put(record_list))
        .fallback(record_empty)
        .layer(axum::middleware::from_fn(bot_token_checked))
        .with_state(shared)
}

/// Discord answers a REST call with a wrong bot token with 401 (`GET /gateway`, interaction
/// webhooks and the CDN need none).
async fn bot_token_checked(request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let exempt = !path.starts_with("/api/")
        || path == "/api/v10/gateway"
        || path.starts_with("/api/v10/webhooks/")
        || path.starts_with("/api/v10/interactions/");
    let auth = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if exempt || auth.is_some_and(|a| a.starts_with("Bot ") && a.ends_with(TOKEN)) {
        return next.run(request).await;
    }
    let body = json!({ "message": "401: Unauthorized", "code": 0 });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn gateway_url(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "url": shared.gateway_url, "shards": 1,
        "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 },
    }))
}

/// Reads a request's JSON body, or a multipart request's `payload_json` and files.
async fn record(shared: &Shared, req: Request) -> Call {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024).await.unwrap_or_default();
    let (body, files) = if content_type.starts_with("multipart/form-data") {
        parse_multipart(&content_type, bytes).await
    } else {
        (serde_json::from_slice(&bytes).unwrap_or(Value::Null), Vec::new())
    };
    // The emoji of a reaction route arrives percent-encoded.
    let path = percent_decode(&path);
    let call = Call { method, path, body, files, at: Instant::now() };
    shared.calls.lock().unwrap().push(call.clone());
    call
}

async fn parse_multipart(content_type: &str, bytes: Bytes) -> (Value, Vec<(String, Vec<u8>)>) {
    let req = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .unwrap();
    let mut form = match axum::extract::Multipart::from_request(req, &()).await {
        Ok(f) => f,
        Err(_) => return (Value::Null, Vec::new()),
    };
    let mut body = Value::Null;
    let mut files = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        let file = field.file_name().map(str::to_owned);
        let data = field.bytes().await.unwrap_or_default();
        if name == "payload_json" {
            body = serde_json::from_slice(&data).unwrap_or(Value::Null);
        } else {
            files.push((file.unwrap_or(name), data.to_vec()));
        }
    }
    (body, files)
}

use axum::extract::FromRequest;

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How long Discord waits for an interaction's first answer.
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

/// Discord's answer to a call over the rate limit, when a storm is on: 429, the wait in the
/// `retry-after` header and the body; the call is not taken (and not recorded).
fn rate_limited(shared: &Shared) -> Option<Response> {
    let mut left = shared.rate_limits.lock().unwrap();
    if *left == 0 || shared.storm_calls.fetch_add(1, Ordering::SeqCst) % 3 == 2 {
        return None;
    }
    *left -= 1;
    shared.rate_limited.fetch_add(1, Ordering::SeqCst);
    let body = json!({ "message": "You are being rate limited.", "retry_after": 0.2, "global": false, "code": 0 });
    // The header is in whole seconds, rounded up; the body has the exact wait.
    let headers = [
        ("retry-after", "1"),
        ("x-ratelimit-scope", "user"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset-after", "0.2"),
    ];
    Some((StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response())
}

async fn record_empty(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if req.uri().path().contains("/reactions/") {
        if let Some(limited) = rate_limited(&shared) {
            return limited;
        }
    }
    let call = record(&shared, req).await;
    // `/interactions/{id}/{token}/callback` after the deadline: 10062 Unknown interaction.
    if let Some(id) =
        call.path.strip_prefix("/api/v10/interactions/").and_then(|r| r.split('/').next())
    {
        let sent = shared.interactions.lock().unwrap().get(id).copied();
        if sent.is_some_and(|at| at.elapsed() > INTERACTION_DEADLINE) {
            let body = json!({ "message": "Unknown interaction", "code": 10062 });
            return (StatusCode::NOT_FOUND, Json(body)).into_response();
        }
    }
    if call.path.contains("/reactions/")
        || call.path.contains("/interactions/")
        || call.path.ends_with("/thread-members/@me")
    {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let body = json!({ "message": "404: Not Found", "code": 0 });
        (StatusCode::NOT_FOUND, Json(body)).into_response()
    }
}

async fn record_list(State(shared): State<Arc<Shared>>, req: Request) -> Json<Value> {
    record(&shared, req).await;
    Json(json!([]))
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<u64>,
    req: Request,
) -> Response {
    if let Some(limited) = rate_limited(&shared) {
        return limited;
    }
    let call = record(&shared, req).await;
    if let Some((status, code, message)) = shared.channel_errors.lock().unwrap().get(&channel) {
        let status = StatusCode::from_u16(*status).unwrap();
        return (status, Json(json!({ "message": message, "code": code }))).into_response();
    }
    let id = shared.ids.fetch_add(1, Ordering::SeqCst);
    let content = call.body["content"].as_str().unwrap_or("");
    let m = message_json(id, channel, &bot_user(), content, Vec::new());
    checked::<serenity::all::Message>(&m);
    Json(m).into_response()
}

/// `GET /channels/{id}/messages?after=&limit=`, as Discord answers it: at most `limit` (≤ 100)
/// messages after `after`, newest first, without `guild_id` or `member` (REST messages carry
/// neither), each with the reactions the bot has left on it (`me: true`).
async fn list_messages(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<u64>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    req: Request,
) -> Json<Value> {
    record(&shared, req).await;
    let after: u64 = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50).min(100);
    let calls = shared.calls.lock().unwrap().clone();
    let mut found: Vec<Value> = shared
        .history
        .lock()
        .unwrap()
        .get(&channel)
        .into_iter()
        .flatten()
        .filter(|m| m["id"].as_str().unwrap().parse::<u64>().unwrap() > after)
        .cloned()
        .collect();
    // The oldest `limit` after `after`, then newest first.
    found.sort_by_key(|m| m["id"].as_str().unwrap().parse::<u64>().unwrap());
    found.truncate(limit);
    found.reverse();
    for m in &mut found {
        let obj = m.as_object_mut().unwrap();
        obj.remove("guild_id");
        obj.remove("member");
        let reactions = reactions_of(&shared, &calls, obj["id"].as_str().unwrap());
        obj.insert("reactions".into(), reactions);
        checked::<serenity::all::Message>(m);
    }
    Json(json!(found))
}

/// A message's `reactions` as Discord lists them: the bot's (from its calls) and people's,
/// one entry per emoji with its count and whether the bot is among them.
fn reactions_of(shared: &Shared, calls: &[Call], id: &str) -> Value {
    let needle = format!("/messages/{id}/reactions/");
    let mut mine: Vec<String> = Vec::new();
    for c in calls {
        let Some(rest) = c.path.split(&needle).nth(1) else { continue };
        let emoji = rest.trim_end_matches("/@me").to_owned();
        match c.method.as_str() {
            "PUT" if !mine.contains(&emoji) => mine.push(emoji),
            "DELETE" => mine.retain(|e| *e != emoji),
            _ => {}
        }
    }
    let people = shared.people_reactions.lock().unwrap();
    let people = people.get(&id.parse().unwrap()).cloned().unwrap_or_default();
    let mut emojis = mine.clone();
    for (_, e) in &people {
        if !emojis.contains(e) {
            emojis.push(e.clone());
        }
    }
    let list: Vec<Value> = emojis
        .iter()
        .map(|e| {
            let me = mine.contains(e);
            let count = people.iter().filter(|(_, p)| p == e).count() + usize::from(me);
            json!({
                "count": count, "count_details": { "burst": 0, "normal": count }, "me": me,
                "me_burst": false, "burst_colors": [], "emoji": { "id": null, "name": e },
            })
        })
        .collect();
    json!(list)
}

/// `GET /channels/{channel}`: a thread the fake made (the guild's own channels come in
/// GUILD_CREATE); 404 Unknown Channel otherwise.
async fn get_channel(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<u64>,
    req: Request,
) -> Response {
    record(&shared, req).await;
    let id = channel.to_string();
    let found = shared.channels.lock().unwrap().iter().find(|c| c["id"] == id.as_str()).cloned();
    match found {
        Some(mut c) => {
            c.as_object_mut().unwrap().remove("newly_created");
            Json(c).into_response()
        }
        None => {
            let body = json!({ "message": "Unknown Channel", "code": 10003 });
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
    }
}

/// `GET /channels/{channel}/messages/{message}`: one message, as the history has it.
async fn get_message(
    State(shared): State<Arc<Shared>>,
    Path((channel, message)): Path<(u64, u64)>,
    req: Request,
) -> Response {
    record(&shared, req).await;
    let calls = shared.calls.lock().unwrap().clone();
    let found = shared.history.lock().unwrap().get(&channel).and_then(|h| {
        h.iter().find(|m| m["id"].as_str() == Some(message.to_string().as_str())).cloned()
    });
    let Some(mut m) = found else {
        let body = json!({ "message": "Unknown Message", "code": 10008 });
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    m["reactions"] = reactions_of(&shared, &calls, &message.to_string());
    checked::<serenity::all::Message>(&m);
    Json(m).into_response()
}

/// The edit of an interaction's deferred answer: the message as it now is.
async fn edit_original(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let call = record(&shared, req).await;
    let id = shared.ids.fetch_add(1, Ordering::SeqCst);
    let content = call.body["content"].as_str().unwrap_or("");
    let m = message_json(id, CHANNELS[0].0, &bot_user(), content, Vec::new());
    checked::<serenity::all::Message>(&m);
    Json(m).into_response()
}

async fn create_dm(State(shared): State<Arc<Shared>>, req: Request) -> Json<Value> {
    let call = record(&shared, req).await;
    let recipient = call.body["recipient_id"].as_str().unwrap_or("1").to_owned();
    let id: u64 = recipient.parse().unwrap_or(1);
    let c = json!({
        "id": DM_CHANNEL.to_string(), "type": 1, "last_message_id": null,
        "recipients": [user_json(&user(id, "someone"))],
    });
    checked::<serenity::all::PrivateChannel>(&c);
    Json(c)
}

/// The signature of a CDN link, as the fake checks it (Discord's is an HMAC of its own).
fn signature(name: &str, ex: u64) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(format!("fake-cdn-key/{name}/{ex:x}"))[..16])
}

fn signed_link(api_url: &str, name: &str, ex: u64) -> String {
    let issued = ex - 24 * 3600;
    format!("{api_url}/cdn/{name}?ex={ex:x}&is={issued:x}&hm={}&", signature(name, ex))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// `POST /attachments/refresh-urls`: `{"attachment_urls": [...]}` → `{"refreshed_urls":
/// [{"original", "refreshed"}]}`, a day more for each link to a file the CDN has.
async fn refresh_urls(State(shared): State<Arc<Shared>>, req: Request) -> Json<Value> {
    let call = record(&shared, req).await;
    let urls = call.body["attachment_urls"].as_array().cloned().unwrap_or_default();
    let cdn = shared.cdn.lock().unwrap();
    let refreshed: Vec<Value> = urls
        .iter()
        .filter_map(|u| {
            let original = u.as_str()?;
            let name = original.split("/cdn/").nth(1)?.split('?').next()?;
            cdn.contains_key(name).then(|| {
                let fresh = signed_link(&shared.api_url, name, now_secs() + 24 * 3600);
                json!({ "original": original, "refreshed": fresh })
            })
        })
        .collect();
    Json(json!({ "refreshed_urls": refreshed }))
}

async fn cdn(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    // Discord's CDN answers an unsigned, tampered or expired link 404.
    let ex = query.get("ex").and_then(|ex| u64::from_str_radix(ex, 16).ok());
    let valid = ex.is_some_and(|ex| {
        ex > now_secs() && query.get("hm").is_some_and(|hm| *hm == signature(&name, ex))
    });
    if !valid {
        return (StatusCode::NOT_FOUND, "This content is no longer available.").into_response();
    }
    {
        let mut failures = shared.cdn_failures.lock().unwrap();
        if let Some(n) = failures.get_mut(&name).filter(|n| **n > 0) {
            *n -= 1;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    shared.cdn_hits.lock().unwrap().push(name.clone());
    match shared.cdn.lock().unwrap().get(&name) {
        Some(bytes) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
