//! The connection to Discord as the rest of the frame sees it: the bot sets it, `status`, the
//! welcome slide and the events stream read it.

use serde::Serialize;

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
    /// Connected without the Message Content intent: only direct messages, messages that
    /// mention the bot, and slash commands reach the frame.
    Limited {
        user: String,
        /// What to switch on, and where.
        message: String,
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
            DiscordState::Limited { user, .. } => format!(
                "send photos to {user} directly, or mention @{user} with them (the frame's \
                 owner can turn on the Message Content intent for more)."
            ),
            DiscordState::Error { message } => format!("Discord: {message}"),
        }
    }
}
