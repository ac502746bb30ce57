//! The serenity event handler: photos and commands from messages, `/frame` from slash
//! commands (`slash.rs`), reactions on photos (`reacted.rs`), deleted messages, and the
//! connection's state for `/api/status`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serenity::all::{
    ChannelId, Context, Embed, EventHandler, GuildId, Interaction, Message, MessageId,
    MessageUpdateEvent, Reaction, Ready, ResumedEvent, ShardStageUpdateEvent, UserId,
};
use serenity::async_trait;
use serenity::gateway::ConnectionStage;
use tokio::sync::watch;

use super::access::{Person, Place};
use super::catch_up::{self, Seen};
use super::commands::{self, FrameCommand, Reply};
use super::feedback::{Feedback, Style};
use super::params::PhotoParams;
use super::photos::{self, Wanted};
use super::reactions::Controls;
use super::readable::readable;
use super::{cdn, BotSettings, Core, DiscordState};
use crate::app::Batch;
use crate::fetch::{FetchError, Fetcher};
use crate::ingest::{IngestError, IngestRequest};
use crate::library::Source;

mod reacted;
mod slash;

/// The bot. serenity calls it from its own tasks, one per event.
pub struct Handler {
    core: Core,
    fetcher: Fetcher,
    /// Signs expired Discord links again.
    refresher: cdn::Refresher,
    style: Arc<Style>,
    /// `[discord] guild_ids`: where `/frame` is registered (globally when empty).
    guild_ids: Vec<GuildId>,
    state: watch::Sender<DiscordState>,
    /// The bot's own id and name, from READY: its own messages are never read, and the name
    /// is what `/api/status` shows again after a reconnect.
    me: OnceLock<(UserId, String)>,
    /// `[discord] catch_up`: how far back a fresh connection looks for missed photos.
    catch_up: Duration,
    /// A catch-up is under way (a second READY during one does not start another).
    catching_up: AtomicBool,
    /// Messages already taken, live or caught up: each is taken once.
    seen: Mutex<Seen>,
    /// `[discord] spoilers`.
    spoilers: photos::Spoilers,
    /// `[discord] quiet_elsewhere`.
    quiet_elsewhere: bool,
    /// Connected without the Message Content intent (see [`DiscordState::Limited`]).
    limited: bool,
    /// Messages waiting for the embed Discord adds to their links a moment later.
    embeds: Mutex<EmbedWaits>,
    /// The reactions that are controls.
    controls: Controls,
}

/// What `/api/status` says while the Message Content intent is off.
const LIMITED: &str = "Discord refused the Message Content intent (gateway close 4014), so only \
    direct messages, messages that mention the bot and slash commands reach the frame: turn on \
    \"Message Content Intent\" at https://discord.com/developers/applications → your app → Bot \
    → Privileged Gateway Intents, save, then restart the frame";

/// How long a message whose links only an embed can fetch waits for that embed.
const EMBED_WAIT: Duration = Duration::from_secs(5);

/// Embeds that Discord adds to a message after it was sent (MESSAGE_UPDATE), handed to the
/// message waiting for them, or kept a moment for one that is not waiting yet (serenity
/// handles each event on its own task: the update can be seen first).
#[derive(Debug, Default)]
struct EmbedWaits {
    waiting: std::collections::HashMap<MessageId, tokio::sync::oneshot::Sender<Vec<Embed>>>,
    early: std::collections::VecDeque<(MessageId, Vec<Embed>)>,
}

impl EmbedWaits {
    const EARLY: usize = 64;

    fn arrived(&mut self, id: MessageId, embeds: Vec<Embed>) {
        match self.waiting.remove(&id) {
            Some(waiter) => {
                let _ = waiter.send(embeds);
            }
            None => {
                self.early.push_back((id, embeds));
                if self.early.len() > Self::EARLY {
                    self.early.pop_front();
                }
            }
        }
    }

    fn wait(&mut self, id: MessageId) -> tokio::sync::oneshot::Receiver<Vec<Embed>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match self.early.iter().position(|(m, _)| *m == id) {
            Some(i) => {
                let (_, embeds) = self.early.remove(i).unwrap_or_default();
                let _ = tx.send(embeds);
            }
            None => {
                self.waiting.insert(id, tx);
            }
        }
        rx
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler").field("guild_ids", &self.guild_ids).finish_non_exhaustive()
    }
}

/// How long "done" waits for the photo to reach the screen before saying done anyway (it is
/// stored; a slow render must not leave the sender with an hourglass).
const ON_SCREEN_WAIT: Duration = Duration::from_secs(10);

impl Handler {
    pub fn new(
        core: Core,
        settings: &BotSettings,
        fetcher: Fetcher,
        refresher: cdn::Refresher,
        state: watch::Sender<DiscordState>,
        limited: bool,
    ) -> Handler {
        Handler {
            limited,
            core,
            fetcher,
            refresher,
            style: Arc::new(Style::new(&settings.config.style)),
            guild_ids: settings.config.guild_ids.iter().map(|g| GuildId::new(g.get())).collect(),
            state,
            me: OnceLock::new(),
            catch_up: settings.config.catch_up,
            catching_up: AtomicBool::new(false),
            seen: Mutex::new(Seen::default()),
            spoilers: settings.config.spoilers,
            quiet_elsewhere: settings.config.quiet_elsewhere,
            embeds: Mutex::new(EmbedWaits::default()),
            controls: Controls::new(&settings.config),
        }
    }

    /// Takes a message (live, or caught up on): a command, or photos. `false` when it was
    /// neither, or not for this frame, or already taken.
    async fn take(&self, ctx: &Context, msg: &Message, live: bool) -> bool {
        let member = msg.member.as_deref();
        let person = Person {
            id: msg.author.id.get(),
            username: msg.author.name.clone(),
            bot: msg.author.bot || self.me.get().is_some_and(|(id, _)| *id == msg.author.id),
            roles: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            // (serenity asserts that a member's user, when given, is the author.)
            manager: msg.guild_id.zip(member).is_some_and(|(guild, member)| {
                if member.user.as_ref().is_some_and(|u| u.id != msg.author.id) {
                    return false;
                }
                let guild = ctx.cache.guild(guild);
                guild.is_some_and(|g| {
                    g.partial_member_permissions(msg.author.id, member).manage_guild()
                })
            }),
        };
        let place = Self::place(ctx, msg.channel_id, msg.guild_id).await;
        if !self.core.access.listens(&person, &place) {
            tracing::debug!(
                "Discord: not listening to {} in {}",
                person.username,
                place.channel_id
            );
            return false;
        }
        if !self.seen.lock().unwrap_or_else(|e| e.into_inner()).first(msg.id.get()) {
            return false;
        }
        let feedback = Feedback {
            http: ctx.http.clone(),
            channel: msg.channel_id,
            message: msg.id,
            style: self.style.clone(),
        };
        if let Some(text) = self.command_text(msg.content.trim()) {
            self.on_command(&feedback, text, &person).await;
            tracing::info!("Discord: answered message {}", msg.id);
            return true;
        }
        let mut found = photos::find(msg, self.spoilers);
        let with_embeds;
        let mut msg = msg;
        // A link to a host the frame does not fetch from (i.imgur.com) can only come through
        // Discord's media proxy, in the embed Discord adds a moment after the message.
        let policy = self.fetcher.policy();
        if live && photos::awaits_embed(msg, |url| policy.allows(url)) {
            let arrived = self.embeds.lock().unwrap_or_else(|e| e.into_inner()).wait(msg.id);
            let embeds = tokio::time::timeout(EMBED_WAIT, arrived).await;
            self.embeds.lock().unwrap_or_else(|e| e.into_inner()).waiting.remove(&msg.id);
            if let Ok(Ok(embeds)) = embeds {
                let mut updated = msg.clone();
                updated.embeds = embeds;
                with_embeds = updated;
                msg = &with_embeds;
                found = photos::find(msg, self.spoilers);
            }
        }
        if found.wanted.is_empty() {
            // A video or a spoiler sent to the bot alone gets a word; in a server the message
            // was for people, and a live one only (catch-up would say it at every start).
            let note = found.skipped.iter().find_map(|s| s.note());
            if let (Some(note), true, true) = (note, place.is_dm, live) {
                feedback.reply(note, None).await;
            }
            if !found.skipped.is_empty() {
                tracing::debug!("Discord: skipped {:?} from {}", found.skipped, person.username);
            }
            return false;
        }
        tracing::info!("Discord: {} photo(s) from {}", found.wanted.len(), person.username);
        let text = readable(&ctx.cache, photos::text(msg), &msg.mentions, msg.guild_id);
        self.on_photos(msg, &text, &feedback, found.wanted).await;
        // The last word said: tests (and whoever reads the log) know the message is done.
        tracing::info!("Discord: answered message {}", msg.id);
        true
    }

    /// Reads back what was sent while the frame was off (see [`catch_up`]).
    async fn catch_up(&self, ctx: &Context, guilds: Vec<GuildId>) {
        if self.catch_up.is_zero() || self.catching_up.swap(true, Ordering::AcqRel) {
            return;
        }
        // The servers arrive after READY, one GUILD_CREATE each: wait for them, a little.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while guilds.iter().any(|&g| ctx.cache.guild(g).is_none())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let stored = self.core.app.newest_messages().await.unwrap_or_else(|e| {
            tracing::warn!("Discord: cannot read which messages were stored: {e}");
            Vec::new()
        });
        // Text channels, active threads and forum posts of each server, then the channels
        // photos came from before (direct messages, threads archived since), each judged by
        // the same `place` as a live message.
        let mut candidates: Vec<(ChannelId, Option<GuildId>)> = Vec::new();
        for &guild_id in &guilds {
            let Some(guild) = ctx.cache.guild(guild_id).map(|g| g.clone()) else { continue };
            use serenity::all::ChannelType::{News, Text};
            let texts = guild.channels.values().filter(|c| matches!(c.kind, Text | News));
            for id in texts.map(|c| c.id).chain(guild.threads.iter().map(|t| t.id)) {
                candidates.push((id, Some(guild_id)));
            }
        }
        for &(channel, _) in &stored {
            let channel = ChannelId::new(channel);
            if candidates.iter().any(|(c, _)| *c == channel) {
                continue;
            }
            // Not in a server's cache: a DM, or a thread the cache no longer holds.
            let guild = match channel.to_channel(ctx).await {
                Ok(serenity::all::Channel::Guild(c)) => Some(c.guild_id),
                Ok(_) => None,
                Err(e) => {
                    tracing::debug!("Discord: channel {channel} is gone ({e}): not read back");
                    continue;
                }
            };
            candidates.push((channel, guild));
        }
        let mut channels = Vec::new();
        for (channel, guild) in candidates {
            if self.core.access.listens_in(&Self::place(ctx, channel, guild).await) {
                channels.push((channel, guild));
            }
        }
        let now = SystemTime::now();
        let mut taken = 0;
        for (channel, guild) in channels {
            let newest = stored.iter().find(|(c, _)| *c == channel.get()).map(|&(_, m)| m);
            let after = catch_up::start_after(newest, self.catch_up, now);
            let messages = match catch_up::history(&ctx.http, channel, after).await {
                Ok(messages) => messages,
                Err(e) => {
                    tracing::warn!("Discord: cannot read the history of channel {channel}: {e}");
                    continue;
                }
            };
            for mut msg in messages {
                // Commands were meant for then; answered messages were taken before.
                if self.command_text(msg.content.trim()).is_some()
                    || catch_up::answered(&msg, &self.style.done, &self.style.error)
                {
                    continue;
                }
                // Messages read through the REST API carry no server id.
                msg.guild_id = msg.guild_id.or(guild);
                if self.take(ctx, &msg, false).await {
                    taken += 1;
                }
            }
        }
        if taken > 0 {
            tracing::info!("Discord: caught up on {taken} message(s) sent while the frame was off");
        }
        self.catching_up.store(false, Ordering::Release);
    }

    /// Where a message was sent: the channel's and the server's names from the cache, and for
    /// a thread (or a forum post) its parent channel. A thread the cache does not know (an
    /// archived one, say) is looked up once through the API.
    async fn place(ctx: &Context, channel_id: ChannelId, guild_id: Option<GuildId>) -> Place {
        use serenity::all::ChannelType::{NewsThread, PrivateThread, PublicThread};
        let Some(guild_id) = guild_id else {
            return Place { channel_id: channel_id.get(), names: None, is_dm: true, parent: None };
        };
        let cached = ctx.cache.guild(guild_id).map(|guild| {
            let channel = guild
                .channels
                .get(&channel_id)
                .or_else(|| guild.threads.iter().find(|t| t.id == channel_id))
                .map(|c| (c.name.clone(), c.kind, c.parent_id));
            let parent_name = |id: ChannelId| guild.channels.get(&id).map(|c| c.name.clone());
            let parent = channel.as_ref().and_then(|c| c.2).map(|p| (p, parent_name(p)));
            (guild.name.clone(), channel, parent)
        });
        let (server, mut channel, mut parent) = match cached {
            Some((server, channel, parent)) => (Some(server), channel, parent),
            None => (None, None, None),
        };
        if channel.is_none() {
            if let Ok(serenity::all::Channel::Guild(c)) = channel_id.to_channel(ctx).await {
                // The parent is a channel of the server, which the cache knows by name.
                let named = |p: ChannelId| {
                    let guild = ctx.cache.guild(guild_id);
                    guild.and_then(|g| g.channels.get(&p).map(|c| c.name.clone()))
                };
                parent = c.parent_id.map(|p| (p, named(p)));
                channel = Some((c.name, c.kind, c.parent_id));
            }
        }
        // A channel's parent is its category; only a thread's is the channel it belongs to.
        let is_thread = channel
            .as_ref()
            .is_some_and(|c| matches!(c.1, PublicThread | PrivateThread | NewsThread));
        Place {
            channel_id: channel_id.get(),
            names: server.zip(channel.map(|c| c.0)),
            is_dm: false,
            parent: parent.filter(|_| is_thread).map(|(p, name)| (p.get(), name)),
        }
    }

    /// The text after the wake word, when `content` starts with it.
    fn command_text<'a>(&self, content: &'a str) -> Option<&'a str> {
        let wake = self.core.wake_word.as_str();
        let head = content.get(..wake.len())?;
        let rest = &content[wake.len()..];
        (head.eq_ignore_ascii_case(wake)
            && (rest.is_empty() || rest.starts_with(char::is_whitespace)))
        .then_some(rest.trim())
    }

    async fn on_command(&self, feedback: &Feedback, text: &str, person: &Person) {
        let command = FrameCommand::parse(text, &self.core.wake_word)
            .and_then(|c| commands::allowed(&self.core, &c, person).map(|()| c));
        let reply = match command {
            Ok(command) => commands::execute(&self.core, command, person).await,
            Err(message) => Reply { text: message, jpeg: None, failed: true },
        };
        if reply.failed {
            feedback.react(&self.style.error).await;
        } else {
            feedback.ack().await;
        }
        feedback.reply(&reply.text, reply.jpeg).await;
    }

    /// Stores a message's photos; `text` is its text as people read it (the caption's source).
    async fn on_photos(&self, msg: &Message, text: &str, feedback: &Feedback, wanted: Vec<Wanted>) {
        feedback.ack().await;
        let params = match PhotoParams::parse(text, &photos::link_words(text)) {
            Ok(p) => p,
            Err(why) => {
                feedback.react(&self.style.error).await;
                feedback.reply(&format!("Not stored: {why}."), None).await;
                return;
            }
        };
        feedback.working().await;
        let count = wanted.len();
        let mut batch = self.core.app.batch();
        let mut problems: Vec<String> = Vec::new();
        let token = feedback.http.token();
        for want in wanted {
            match self.fetch_and_ingest(&mut batch, msg, &want, &params, token).await {
                Ok(()) => {}
                Err(why) if count > 1 => problems.push(format!("{}: {why}", want.label)),
                Err(why) => problems.push(why),
            }
        }
        let stored = batch.finish(params.duration).await;
        if let Some(last) = stored.last() {
            let id = last.photo.id;
            if !self.core.app.wait_on_screen(id, ON_SCREEN_WAIT).await {
                tracing::warn!("photo {id} is stored but not on screen after {ON_SCREEN_WAIT:?}");
            }
        }
        let mut reply: Vec<String> = Vec::new();
        if problems.is_empty() {
            feedback.done().await;
        } else {
            if stored.is_empty() {
                feedback.failed().await;
            } else {
                feedback.done().await;
                feedback.react(&self.style.error).await;
                reply.push(format!("{} of {count} photos are on the frame.", stored.len()));
            }
            let why = problems.join("\n");
            reply.push(if stored.is_empty() { format!("Not stored: {why}") } else { why });
        }
        if self.style.echo_params && params.explicit && !stored.is_empty() {
            reply.push(format!("`{}`", params.echo()));
        }
        if !reply.is_empty() {
            feedback.reply(&reply.join("\n"), None).await;
        }
    }

    /// Downloads one photo and stores it; the error is for the sender.
    async fn fetch_and_ingest(
        &self,
        batch: &mut Batch<'_>,
        msg: &Message,
        want: &Wanted,
        params: &PhotoParams,
        token: &str,
    ) -> Result<(), String> {
        let policy = self.fetcher.policy();
        if want.size.is_some_and(|s| s > policy.max_bytes) {
            let e = FetchError::TooLarge { limit_mb: policy.max_bytes / (1024 * 1024) };
            return Err(e.to_string());
        }
        let bytes = self.download(&want.url, token).await?;
        let mut req = IngestRequest::new(bytes, Source::Discord);
        // The name the app shows: the server nickname, else the display name, else the
        // username. Ownership goes by the id.
        let nick = msg.member.as_ref().and_then(|m| m.nick.clone());
        req.sender = Some(nick.unwrap_or_else(|| msg.author.display_name().to_owned()));
        req.sender_id = Some(msg.author.id.get());
        req.caption = params.caption.clone();
        req.channel_id = Some(msg.channel_id.get());
        req.message_id = Some(msg.id.get());
        req.fit = params.fit;
        req.spoiler = want.spoiler;
        batch.ingest(req).await.map_err(|e| match e {
            IngestError::Photo(e) => e.to_string(),
            IngestError::Motion(e) => e.to_string(),
            e if e.is_disk_full() => {
                tracing::error!("{e}");
                "the frame's disk is full, so it was not stored: ask the frame's owner to free \
                 some space (or delete some photos), then send it again"
                    .into()
            }
            e if e.is_io_failure() => {
                tracing::error!("{e}");
                "the frame's card could not write it (an input/output error): send it again \
                 later; if this keeps happening, ask the frame's owner to check its card"
                    .into()
            }
            other => {
                tracing::error!("{other}");
                "the frame could not store it (its disk?): the frame's log has the details".into()
            }
        })
    }

    /// Downloads a photo. A Discord link that has expired is signed again first (by its `ex`,
    /// or when the CDN answers 404 or 403 to a signed link), with the bot's `token`.
    async fn download(&self, url: &str, token: &str) -> Result<Vec<u8>, String> {
        let signed = cdn::is_signed(url);
        let expired = signed && cdn::has_expired(url, SystemTime::now());
        let mut url = match expired {
            true => self.renew(url, token).await?,
            false => url.to_owned(),
        };
        let mut result = self.fetcher.fetch(&url).await;
        // A link can also be refused before its `ex` (the file moved, the clock is off).
        if let Err(FetchError::Status(s)) = &result {
            if signed && !expired && matches!(s.as_u16(), 403 | 404) {
                url = self.renew(&url, token).await?;
                result = self.fetcher.fetch(&url).await;
            }
        }
        result.map_err(|e| {
            tracing::info!("Discord: cannot fetch {}: {e}", crate::fetch::loggable(&url));
            e.to_string()
        })
    }

    /// A newly signed link for an expired one, or what to tell the sender.
    async fn renew(&self, url: &str, token: &str) -> Result<String, String> {
        let fresh = self.refresher.refresh(token, url).await.map_err(|e| {
            tracing::info!("Discord: cannot renew {}: {e}", crate::fetch::loggable(url));
            format!("the link had expired and {e}: send the photo again")
        })?;
        tracing::debug!("Discord: renewed the expired link {}", crate::fetch::loggable(url));
        Ok(fresh)
    }

    /// The sender edited a message that brought photos: they take its new caption.
    async fn on_edit(&self, ctx: &Context, event: &MessageUpdateEvent, content: &str) {
        let Some(author) = &event.author else { return };
        let person = Person {
            id: author.id.get(),
            username: author.name.clone(),
            bot: author.bot,
            ..Person::default()
        };
        let place = Self::place(ctx, event.channel_id, event.guild_id).await;
        if !self.core.access.listens(&person, &place) || self.command_text(content).is_some() {
            return;
        }
        let mentions = event.mentions.as_deref().unwrap_or_default();
        let content = readable(&ctx.cache, content, mentions, event.guild_id);
        let params = match PhotoParams::parse(&content, &photos::link_words(&content)) {
            Ok(params) => params,
            Err(why) => {
                tracing::info!("Discord: edit of message {} not applied: {why}", event.id);
                return;
            }
        };
        match self.core.app.recaption_message(event.id.get(), params.caption).await {
            Ok(photos) if !photos.is_empty() => {
                let ids: Vec<i64> = photos.iter().map(|p| p.id).collect();
                tracing::info!("Discord: message {} edited: new caption for {ids:?}", event.id);
            }
            Ok(_) => {}
            Err(e) => tracing::error!("Discord: cannot change a caption after an edit: {e}"),
        }
    }

    async fn forget(&self, message_ids: &[MessageId]) {
        let ids: Vec<u64> = message_ids.iter().map(|m| m.get()).collect();
        let removed = self.core.app.forget_messages(ids).await;
        if !removed.is_empty() {
            tracing::info!("Discord: message deleted, so photos {removed:?} are too");
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn message(&self, ctx: Context, msg: Message) {
        self.take(&ctx, &msg, true).await;
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        // Discord adds a link's embed with an update that is not an edit.
        if let Some(embeds) = event.embeds.clone().filter(|e| !e.is_empty()) {
            self.embeds.lock().unwrap_or_else(|e| e.into_inner()).arrived(event.id, embeds);
        }
        // An edit of the text (only an edit sets `edited_timestamp`): a new caption.
        if let (Some(content), Some(_)) = (&event.content, event.edited_timestamp) {
            self.on_edit(&ctx, &event, content).await;
        }
    }

    /// A new thread (or forum post) where the frame listens: the bot joins it, so that it is
    /// sent the thread's messages whatever the server's settings.
    async fn thread_create(&self, ctx: Context, thread: serenity::all::GuildChannel) {
        if thread.member.is_some() {
            return;
        }
        let place = Self::place(&ctx, thread.id, Some(thread.guild_id)).await;
        if self.core.access.listens_in(&place) {
            match thread.id.join_thread(&ctx.http).await {
                Ok(()) => tracing::info!("Discord: joined the thread \"{}\"", thread.name),
                Err(e) => tracing::warn!("Discord: cannot join the thread {}: {e}", thread.name),
            }
        }
    }

    async fn reaction_add(&self, ctx: Context, reaction: Reaction) {
        self.on_reaction(&ctx, &reaction, true).await;
    }

    async fn reaction_remove(&self, ctx: Context, reaction: Reaction) {
        self.on_reaction(&ctx, &reaction, false).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        if let Interaction::Command(cmd) = interaction {
            self.on_slash(&ctx, &cmd).await;
        }
    }

    async fn message_delete(
        &self,
        _ctx: Context,
        _channel: ChannelId,
        message: MessageId,
        _guild: Option<GuildId>,
    ) {
        self.forget(&[message]).await;
    }

    async fn message_delete_bulk(
        &self,
        _ctx: Context,
        _channel: ChannelId,
        messages: Vec<MessageId>,
        _guild: Option<GuildId>,
    ) {
        self.forget(&messages).await;
    }

    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.me.set((ready.user.id, ready.user.name.clone()));
        tracing::info!("Discord: connected as {}", ready.user.name);
        self.connected();
        self.register(&ctx).await;
        // A resumed connection is sent what it missed; a new one is not: read it back.
        self.catch_up(&ctx, ready.guilds.iter().map(|g| g.id).collect()).await;
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("Discord: connection resumed");
        self.connected();
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        tracing::debug!("Discord: {:?} -> {:?}", event.old, event.new);
        if event.new != ConnectionStage::Connected {
            self.state.send_if_modified(|s| {
                let changed = !matches!(s, DiscordState::Connecting);
                *s = DiscordState::Connecting;
                changed
            });
        } else {
            self.connected();
        }
    }
}

impl Handler {
    /// Back to `connected` after a reconnect (READY sets it the first time).
    fn connected(&self) {
        let Some((_, user)) = self.me.get() else { return };
        let user = user.clone();
        let state = match self.limited {
            false => DiscordState::Connected { user },
            true => DiscordState::Limited { user, message: LIMITED.into() },
        };
        let _ = self.state.send(state);
    }
}
