//! `POST /api/discord/messages`: local programs send a message through the frame's bot (the
//! seed's proxy), so that they need neither a token nor a Discord library. Discord's own
//! errors come back with their HTTP status (5xx as 502: the frame is the gateway here) and
//! Discord's status, code and text.

use serde::Deserialize;
use serenity::all::{ChannelId, CreateMessage, UserId};
use serenity::http::Http;

use crate::config::Snowflake;

/// The request body: a channel or a user (for a DM), and the text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayRequest {
    pub channel_id: Option<Snowflake>,
    pub user_id: Option<Snowflake>,
    pub content: String,
    /// Let `<@id>` mentions in `content` ping the people they name (off by default: a
    /// program's message pings nobody).
    #[serde(default)]
    pub ping: bool,
}

/// Why a relayed message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("{0}")]
    BadRequest(String),
    /// Discord answered with an error.
    #[error("Discord refused the message: {text} (HTTP {status}, Discord code {code})")]
    Discord { status: u16, code: isize, text: String },
    /// Discord could not be reached, or answered something that is not an error response.
    #[error("cannot reach Discord: {0}")]
    Unreachable(String),
}

impl RelayError {
    /// The status the endpoint answers with: Discord's for 400/401/403/404/429 (and other
    /// client errors), 502 for Discord's server errors and for no answer at all.
    pub fn status(&self) -> u16 {
        match self {
            RelayError::BadRequest(_) => 400,
            RelayError::Discord { status, .. } if (400..500).contains(status) => *status,
            RelayError::Discord { .. } | RelayError::Unreachable(_) => 502,
        }
    }
}

impl From<serenity::Error> for RelayError {
    fn from(e: serenity::Error) -> RelayError {
        use serenity::http::HttpError;
        match e {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => RelayError::Discord {
                status: r.status_code.as_u16(),
                code: r.error.code,
                text: r.error.message,
            },
            other => RelayError::Unreachable(other.to_string()),
        }
    }
}

/// Sends `req` through the bot; returns the new message's channel and id.
pub async fn send(http: &Http, req: RelayRequest) -> Result<(u64, u64), RelayError> {
    if req.content.trim().is_empty() {
        return Err(RelayError::BadRequest("`content` is empty: write the message's text".into()));
    }
    if req.content.chars().count() > 2000 {
        return Err(RelayError::BadRequest(
            "`content` is over Discord's 2000-character limit: split the message".into(),
        ));
    }
    let channel = match (req.channel_id, req.user_id) {
        (Some(c), None) => ChannelId::new(c.get()),
        (None, Some(u)) => UserId::new(u.get()).create_dm_channel(http).await?.id,
        _ => {
            return Err(RelayError::BadRequest(
                "give exactly one of `channel_id` (a channel) or `user_id` (a direct message)"
                    .into(),
            ))
        }
    };
    let mentions = match req.ping {
        true => serenity::all::CreateAllowedMentions::new().all_users(true),
        false => super::feedback::no_pings(),
    };
    let message = CreateMessage::new().content(req.content).allowed_mentions(mentions);
    let message = channel.send_message(http, message).await?;
    Ok((message.channel_id.get(), message.id.get()))
}
