//! What a sender sees: `[discord.style]`'s reactions on their message (ack on receipt,
//! in-progress while fetching and decoding, done once the photo is stored and on screen, error
//! when it is not) and replies in plain words.
//!
//! Feedback never stops the work: a reaction Discord refuses (no Add Reactions permission, a
//! deleted message) is logged, and the photo is stored all the same. A reaction or reply
//! refused for going too fast (429) is sent again a little later: see [`patiently`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateAttachment, CreateMessage, MessageId, MessageReference,
    ReactionType,
};
use serenity::http::Http;

use crate::config::DiscordStyle;

/// The reactions, parsed once from `[discord.style]`.
#[derive(Debug, Clone)]
pub struct Style {
    pub ack: ReactionType,
    pub in_progress: ReactionType,
    pub done: ReactionType,
    pub error: ReactionType,
    /// `reply_with_params`.
    pub echo_params: bool,
}

impl Style {
    pub fn new(style: &DiscordStyle) -> Style {
        // Anything that is not a custom emoji (`<:name:id>`) is taken as a Unicode emoji.
        let parse = |s: &str| {
            ReactionType::try_from(s.trim()).unwrap_or_else(|_| ReactionType::Unicode(s.into()))
        };
        Style {
            ack: parse(&style.ack_emoji),
            in_progress: parse(&style.in_prog_emoji),
            done: parse(&style.done_emoji),
            error: parse(&style.error_emoji),
            echo_params: style.reply_with_params,
        }
    }
}

/// Mentions that ping nobody: not the sender replied to, not a user or role named in the
/// text, not @everyone. Discord pings the replied-to author unless told not to.
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

/// Feedback on one message.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub http: Arc<Http>,
    pub channel: ChannelId,
    pub message: MessageId,
    pub style: Arc<Style>,
}

/// The waits before each new try of a call Discord answered 429 ("You are being rate
/// limited"), doubling: about 30 s in all, well beyond the quarter-second Discord asks between
/// reactions in one channel, and beyond a catch-up's burst.
const RATE_LIMIT_WAITS: [Duration; 7] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

/// Runs `call`, and again after a wait each time Discord answers 429, a bounded number of
/// times. serenity's own rate limiter waits as Discord asks, but it cannot be used with
/// `[discord] api_url` (it sends to discord.com whatever the proxy), and a burst of photos
/// from several people can still meet a shared limit; a lost ✅ would leave a sender thinking
/// their photo did not arrive.
pub async fn patiently<T, F, Fut>(mut call: F) -> serenity::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = serenity::Result<T>>,
{
    for wait in RATE_LIMIT_WAITS {
        match call().await {
            Err(serenity::Error::Http(e))
                if e.status_code() == Some(serenity::http::StatusCode::TOO_MANY_REQUESTS) =>
            {
                tracing::debug!("Discord: rate limited; trying again in {wait:?}");
                tokio::time::sleep(wait).await;
            }
            result => return result,
        }
    }
    call().await
}

impl Feedback {
    pub async fn react(&self, reaction: &ReactionType) {
        let call = || self.http.create_reaction(self.channel, self.message, reaction);
        if let Err(e) = patiently(call).await {
            tracing::warn!("Discord: cannot react to message {}: {e}", self.message);
        }
    }

    pub async fn unreact(&self, reaction: &ReactionType) {
        let call = || self.http.delete_reaction_me(self.channel, self.message, reaction);
        if let Err(e) = patiently(call).await {
            tracing::warn!("Discord: cannot remove a reaction from message {}: {e}", self.message);
        }
    }

    pub async fn ack(&self) {
        self.react(&self.style.ack).await;
    }

    pub async fn working(&self) {
        self.react(&self.style.in_progress).await;
    }

    /// The photo is stored and on screen: in-progress off, done on.
    pub async fn done(&self) {
        self.unreact(&self.style.in_progress).await;
        self.react(&self.style.done).await;
    }

    /// In-progress off, error on.
    pub async fn failed(&self) {
        self.unreact(&self.style.in_progress).await;
        self.react(&self.style.error).await;
    }

    /// Replies to the message (without pinging its author), with a JPEG if given.
    pub async fn reply(&self, text: &str, jpeg: Option<Vec<u8>>) {
        let mut message = CreateMessage::new()
            .content(text)
            .reference_message(MessageReference::from((self.channel, self.message)))
            .allowed_mentions(no_pings());
        if let Some(jpeg) = jpeg {
            message = message.add_file(CreateAttachment::bytes(jpeg, "frame.jpg"));
        }
        let send = || self.channel.send_message(&self.http, message.clone());
        if let Err(e) = patiently(send).await {
            tracing::warn!("Discord: cannot reply to message {}: {e}", self.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_and_custom_emoji() {
        let style = DiscordStyle { ack_emoji: "<:frame:123456>".into(), ..DiscordStyle::default() };
        let s = Style::new(&style);
        assert!(matches!(s.ack, ReactionType::Custom { id, .. } if id.get() == 123_456));
        assert_eq!(s.done, ReactionType::Unicode("💯".into()));
        assert_eq!(s.in_progress, ReactionType::Unicode("⏱️".into()));
    }
}
