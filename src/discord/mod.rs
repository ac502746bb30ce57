//! The Discord source. What exists so far is its state as `/api/status` and the welcome slide
//! report it; the bot itself (serenity) is issue #4.

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
