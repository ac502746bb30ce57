//! Reactions as controls: the favourite reaction (⭐) on a message marks its photos
//! favourites, which retention keeps; the again reaction (🔁) puts its photo on screen now.
//! The bot only reads these: it adds none and removes nobody's.

use serenity::all::ReactionType;

use super::access::Guarded;
use crate::config::DiscordConfig;

/// What a reaction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Favourite,
    Again,
}

impl Control {
    /// What `[discord] admin_commands` calls it.
    pub fn guarded(self) -> Guarded {
        match self {
            Control::Favourite => Guarded::Favourite,
            Control::Again => Guarded::Again,
        }
    }
}

/// `[discord] favourite_reaction` and `again_reaction`, as the bot matches them.
#[derive(Debug, Clone)]
pub struct Controls {
    favourite: String,
    again: String,
}

impl Controls {
    pub fn new(config: &DiscordConfig) -> Controls {
        Controls {
            favourite: normalise(&config.favourite_reaction),
            again: normalise(&config.again_reaction),
        }
    }

    /// The control `emoji` stands for, if any. A server's own emoji matches by its name
    /// (`favourite_reaction = "gold_star"` or `":gold_star:"`).
    pub fn of(&self, emoji: &ReactionType) -> Option<Control> {
        let name = match emoji {
            ReactionType::Unicode(s) => normalise(s),
            ReactionType::Custom { name: Some(name), .. } => normalise(name),
            _ => return None,
        };
        if name.is_empty() {
            None
        } else if name == self.favourite {
            Some(Control::Favourite)
        } else if name == self.again {
            Some(Control::Again)
        } else {
            None
        }
    }

    /// Whether `emoji`, as a message's reaction list names it, is the favourite reaction.
    pub fn is_favourite(&self, emoji: &ReactionType) -> bool {
        self.of(emoji) == Some(Control::Favourite)
    }
}

/// An emoji as compared: without the variation selector some keyboards add (⭐ and ⭐️ are one
/// reaction to a person), and without the colons of a custom emoji's name.
fn normalise(emoji: &str) -> String {
    emoji.trim().trim_matches(':').chars().filter(|&c| c != '\u{FE0F}').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_match_with_or_without_variation_selector_and_custom_ones_by_name() {
        let mut config = DiscordConfig::default();
        let controls = Controls::new(&config);
        let unicode = |s: &str| ReactionType::Unicode(s.to_owned());
        assert_eq!(controls.of(&unicode("⭐")), Some(Control::Favourite));
        assert_eq!(controls.of(&unicode("⭐\u{FE0F}")), Some(Control::Favourite));
        assert_eq!(controls.of(&unicode("🔁")), Some(Control::Again));
        assert_eq!(controls.of(&unicode("👍")), None);
        config.favourite_reaction = ":gold_star:".into();
        config.again_reaction = String::new();
        let controls = Controls::new(&config);
        let custom: ReactionType = serde_json::from_value(serde_json::json!({
            "id": "123", "name": "gold_star", "animated": false
        }))
        .unwrap();
        assert!(controls.is_favourite(&custom));
        assert_eq!(controls.of(&unicode("⭐")), None);
        assert_eq!(controls.of(&unicode("🔁")), None, "\"\" turns it off");
        assert_eq!(controls.of(&unicode("")), None);
    }
}
