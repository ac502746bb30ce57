//! Catching up after the frame was off: photos sent while nobody listened are in the
//! channels' history. On a fresh connection (READY, not a resumed one) the bot reads each
//! channel it listens to from the newest photo it stored from there (or from
//! `[discord] catch_up` ago, whichever is later), oldest first, at most
//! [`MAX_PER_CHANNEL`] messages, and takes every message it has not answered yet as if it
//! had just arrived. Messages it answered (its done or error reaction is on them) are
//! skipped; so are commands, which were meant for then, not now.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serenity::all::{ChannelId, GetMessages, Message, MessageId, ReactionType};
use serenity::http::Http;

/// The most messages read back from one channel.
pub const MAX_PER_CHANNEL: usize = 200;

/// Discord's ids start counting milliseconds at 2015-01-01.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// The id of a message sent at `at`: history "after" it is everything sent since.
pub fn id_at(at: SystemTime) -> u64 {
    let ms = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    ms.saturating_sub(DISCORD_EPOCH_MS) << 22
}

/// Where to start reading `channel`: after the newest message a photo came from, but not
/// before `window` ago.
pub fn start_after(newest_stored: Option<u64>, window: Duration, now: SystemTime) -> u64 {
    let earliest = id_at(now.checked_sub(window).unwrap_or(UNIX_EPOCH));
    newest_stored.unwrap_or(0).max(earliest)
}

/// Whether the bot has already answered `msg`: its done or error reaction is on it.
pub fn answered(msg: &Message, done: &ReactionType, error: &ReactionType) -> bool {
    msg.reactions.iter().any(|r| {
        r.me && (same_emoji(&r.reaction_type, done) || same_emoji(&r.reaction_type, error))
    })
}

/// Discord drops the variation selector of some emoji (`⏱️` comes back as `⏱`).
fn same_emoji(a: &ReactionType, b: &ReactionType) -> bool {
    match (a, b) {
        (ReactionType::Unicode(a), ReactionType::Unicode(b)) => {
            let bare = |s: &str| s.replace('\u{fe0f}', "");
            bare(a) == bare(b)
        }
        (ReactionType::Custom { id: a, .. }, ReactionType::Custom { id: b, .. }) => a == b,
        _ => false,
    }
}

/// The messages of `channel` after `after`, oldest first, at most [`MAX_PER_CHANNEL`].
/// Discord answers at most 100 at a time, newest first: pages are read forward from `after`.
pub async fn history(
    http: &Http,
    channel: ChannelId,
    mut after: u64,
) -> serenity::Result<Vec<Message>> {
    let mut out: Vec<Message> = Vec::new();
    while out.len() < MAX_PER_CHANNEL {
        let page = GetMessages::new().after(MessageId::new(after.max(1))).limit(100);
        let mut messages = channel.messages(http, page).await?;
        let full = messages.len() == 100;
        messages.sort_by_key(|m| m.id);
        let Some(last) = messages.last() else { break };
        after = last.id.get();
        out.extend(messages);
        if !full {
            break;
        }
    }
    out.truncate(MAX_PER_CHANNEL);
    Ok(out)
}

/// The message ids this connection has already taken (live or caught up), so that a message
/// arriving while its channel's history is read is taken once. Bounded: the oldest go first.
#[derive(Debug, Default)]
pub struct Seen {
    order: VecDeque<u64>,
    ids: HashSet<u64>,
}

impl Seen {
    const CAPACITY: usize = 4096;

    /// `true` the first time `id` is seen.
    pub fn first(&mut self, id: u64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_time_and_the_window_bounds_the_start() {
        // Discord's documented example: 175928847299117063 was made at 1462015105796 ms.
        let at = UNIX_EPOCH + Duration::from_millis(1_462_015_105_796);
        assert_eq!(id_at(at), 175_928_847_299_117_063 >> 22 << 22);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let day = Duration::from_secs(86_400);
        let two_days_ago = id_at(now - 2 * day);
        assert_eq!(start_after(None, 2 * day, now), two_days_ago);
        // A photo stored an hour ago: read from there.
        let recent = id_at(now - Duration::from_secs(3600));
        assert_eq!(start_after(Some(recent), 2 * day, now), recent);
        // One stored a week ago: no further back than the window.
        assert_eq!(start_after(Some(id_at(now - 7 * day)), 2 * day, now), two_days_ago);
    }

    #[test]
    fn the_same_emoji_with_or_without_its_variation_selector() {
        let a = ReactionType::Unicode("⏱️".into());
        let b = ReactionType::Unicode("⏱".into());
        assert!(same_emoji(&a, &b));
        assert!(!same_emoji(&a, &ReactionType::Unicode("💯".into())));
    }

    #[test]
    fn seen_takes_each_id_once_and_stays_bounded() {
        let mut seen = Seen::default();
        assert!(seen.first(1));
        assert!(!seen.first(1));
        for id in 2..=(Seen::CAPACITY as u64 + 1) {
            assert!(seen.first(id));
        }
        assert!(seen.first(1), "the oldest was forgotten");
        assert!(seen.order.len() <= Seen::CAPACITY);
    }
}
