//! The order photos come up in (`[display] order`): newest first, a shuffle, or a weighted
//! shuffle where recent photos and favourites come up `boost` times as often. Pure: the
//! slideshow asks for a round, shows it, and asks for the next.
//!
//! A round shows every photo at least once. In a weighted round a boosted photo comes up
//! `boost` times, once in each of `boost` stretches of the round, so that its showings are
//! spread out and no photo follows itself.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[display] order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Newest to oldest, then again.
    Newest,
    /// Every photo once per round, in a new random order each round.
    Shuffle,
    /// A shuffle where recent photos and favourites come up `boost` times per round.
    #[default]
    Weighted,
}

impl Order {
    /// As `config.toml` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Newest => "newest",
            Order::Shuffle => "shuffle",
            Order::Weighted => "weighted",
        }
    }
}

impl std::str::FromStr for Order {
    type Err = String;

    fn from_str(text: &str) -> Result<Order, String> {
        [Order::Newest, Order::Shuffle, Order::Weighted]
            .into_iter()
            .find(|o| o.as_str() == text.trim())
            .ok_or_else(|| format!("`{text}` is not an order: write newest, shuffle or weighted"))
    }
}

/// What a round is made from: one entry per photo in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    /// When it was received, in seconds since the Unix epoch.
    pub received_at: i64,
    pub favourite: bool,
}

/// Makes rounds.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub order: Order,
    /// Photos received within this are recent.
    pub recent: Duration,
    /// How many times per round a recent photo or a favourite comes up (1: like the others).
    pub boost: u32,
    rng: fastrand::Rng,
}

impl Rotation {
    /// `seed` makes the rounds repeatable (tests); `None` seeds from the system.
    pub fn new(order: Order, recent: Duration, boost: u32, seed: Option<u64>) -> Rotation {
        let rng = seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Rotation { order, recent, boost: boost.max(1), rng }
    }

    /// Newest first, as before there was a choice (tests that count on the order).
    pub fn newest() -> Rotation {
        Rotation::new(Order::Newest, Duration::ZERO, 1, Some(0))
    }

    /// Whether rounds follow one another (shuffles) rather than one order over and over.
    pub fn shuffles(&self) -> bool {
        self.order != Order::Newest
    }

    /// The next round, made at `now` (seconds since the epoch). `after` is the photo on
    /// screen, which does not open the round if another can.
    pub fn round(&mut self, photos: &[Entry], now: i64, after: Option<i64>) -> Vec<i64> {
        let mut round = match self.order {
            Order::Newest => {
                let mut sorted = photos.to_vec();
                sorted.sort_by_key(|e| (std::cmp::Reverse(e.received_at), std::cmp::Reverse(e.id)));
                return sorted.into_iter().map(|e| e.id).collect();
            }
            Order::Shuffle => {
                let mut ids: Vec<i64> = photos.iter().map(|e| e.id).collect();
                self.rng.shuffle(&mut ids);
                ids
            }
            Order::Weighted => self.weighted(photos, now),
        };
        // No photo twice in a row across the rounds' seam.
        if round.len() > 1 && round.first() == after.as_ref() {
            let last = round.len() - 1;
            let swap = (1..=last).find(|&i| Some(&round[i]) != after.as_ref()).unwrap_or(last);
            round.swap(0, swap);
        }
        round
    }

    fn boosted(&self, entry: &Entry, now: i64) -> bool {
        let recent = i64::try_from(self.recent.as_secs()).unwrap_or(i64::MAX);
        entry.favourite || now.saturating_sub(entry.received_at) <= recent
    }

    fn weighted(&mut self, photos: &[Entry], now: i64) -> Vec<i64> {
        let (boosted, mut plain): (Vec<&Entry>, Vec<&Entry>) =
            photos.iter().partition(|e| self.boosted(e, now));
        let stretches = if boosted.is_empty() || plain.is_empty() && boosted.len() < 2 {
            1
        } else {
            self.boost as usize
        };
        self.rng.shuffle(&mut plain);
        let mut round: Vec<i64> = Vec::with_capacity(plain.len() + boosted.len() * stretches);
        for k in 0..stretches {
            // Each stretch: every boosted photo once, and its share of the others.
            let share = plain.len() * (k + 1) / stretches - plain.len() * k / stretches;
            let from = plain.len() * k / stretches;
            let mut stretch: Vec<i64> = boosted.iter().map(|e| e.id).collect();
            stretch.extend(plain[from..from + share].iter().map(|e| e.id));
            self.rng.shuffle(&mut stretch);
            // The stretch does not open with the photo that closed the last one.
            if let (Some(&last), true) = (round.last(), stretch.len() > 1) {
                if stretch[0] == last {
                    let i = self.rng.usize(1..stretch.len());
                    stretch.swap(0, i);
                }
            }
            round.extend(stretch);
        }
        round
    }
}

/// The rounds remembered before a restart, made to fit the library as it is now: photos
/// deleted meanwhile are left out, photos that are not in the rounds (they came while the
/// frame was off) come next, and the place is the photo that was showing, looked for from
/// where the round started (a photo may come up more than once in a weighted round).
/// `library` is the library's ids, newest first. Returns the rounds and the place.
pub fn resume(
    mut ids: Vec<i64>,
    start: usize,
    showing: Option<i64>,
    library: &[i64],
) -> (Vec<i64>, usize) {
    // Sets: the rounds hold up to a few times the library, which may be thousands of photos.
    let kept: HashSet<i64> = library.iter().copied().collect();
    let start = start.min(ids.len());
    let gone_before_start = ids[..start].iter().filter(|id| !kept.contains(id)).count();
    ids.retain(|id| kept.contains(id));
    let start = start - gone_before_start;
    let find = |ids: &[i64]| {
        let s = showing?;
        let from_start = ids.iter().skip(start).position(|&id| id == s).map(|i| i + start);
        from_start.or_else(|| ids.iter().position(|&id| id == s))
    };
    let anchor = find(&ids).unwrap_or(start.min(ids.len().saturating_sub(1)));
    let in_rounds: HashSet<i64> = ids.iter().copied().collect();
    let missing: Vec<i64> = library.iter().filter(|id| !in_rounds.contains(id)).copied().collect();
    let at = (anchor + 1).min(ids.len());
    ids.splice(at..at, missing);
    // The photo showing may be one of those that were not in the rounds (stored after the
    // rounds were last written): it is found among them.
    let place = find(&ids).unwrap_or(anchor);
    (ids, place)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const DAY: i64 = 24 * 3600;
    const NOW: i64 = 1_796_000_000;

    fn library() -> Vec<Entry> {
        // 40 old photos, 5 recent ones, one old favourite, one recent favourite.
        let mut photos: Vec<Entry> = (1..=40)
            .map(|id| Entry { id, received_at: NOW - 100 * DAY - id, favourite: false })
            .collect();
        photos.extend((41..=45).map(|id| Entry { id, received_at: NOW - DAY, favourite: false }));
        photos.push(Entry { id: 46, received_at: NOW - 300 * DAY, favourite: true });
        photos.push(Entry { id: 47, received_at: NOW - 2 * DAY, favourite: true });
        photos
    }

    fn rotation(order: Order, seed: u64) -> Rotation {
        Rotation::new(order, Duration::from_secs(14 * DAY as u64), 3, Some(seed))
    }

    #[test]
    fn over_a_thousand_turns_recent_photos_and_favourites_come_up_boost_times_as_often() {
        let photos = library();
        let mut r = rotation(Order::Weighted, 7);
        let mut seen: HashMap<i64, usize> = HashMap::new();
        let mut turns = Vec::new();
        while turns.len() < 1000 {
            let round = r.round(&photos, NOW, turns.last().copied());
            // Every photo at least once per round.
            for p in &photos {
                assert!(round.contains(&p.id), "photo {} missing from a round", p.id);
            }
            turns.extend(round);
        }
        turns.truncate(1000);
        for id in &turns {
            *seen.entry(*id).or_default() += 1;
        }
        let old = seen[&1] as f64;
        for boosted in [41, 46, 47] {
            let ratio = seen[&boosted] as f64 / old;
            assert!(ratio >= 2.0, "photo {boosted}: {ratio:.2}× an old photo's turns");
        }
        assert!(turns.windows(2).all(|w| w[0] != w[1]), "a photo followed itself");
    }

    #[test]
    fn a_shuffle_shows_each_photo_once_per_round_and_is_repeatable_under_a_seed() {
        let photos = library();
        let a = rotation(Order::Shuffle, 1).round(&photos, NOW, None);
        let b = rotation(Order::Shuffle, 1).round(&photos, NOW, None);
        let c = rotation(Order::Shuffle, 2).round(&photos, NOW, None);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=47).collect::<Vec<_>>());
        // The next round does not open with the photo on screen.
        let mut r = rotation(Order::Shuffle, 3);
        for _ in 0..50 {
            let round = r.round(&photos, NOW, Some(5));
            assert_ne!(round[0], 5);
        }
    }

    #[test]
    fn a_restart_goes_on_with_the_round_where_it_was() {
        // Two rounds remembered, the second started at 4; photo 3 was showing in it (it also
        // came up in the first round). Photo 5 was deleted, photo 9 came while off.
        let saved = vec![3, 1, 5, 2, 5, 2, 3, 1];
        let library = [9, 3, 2, 1];
        let (order, place) = resume(saved, 4, Some(3), &library);
        assert_eq!(order, [3, 1, 2, 2, 3, 9, 1]);
        assert_eq!((place, order[place]), (4, 3), "the second round's 3, not the first's");
        // The photo showing was deleted: the round goes on from where it started.
        let (order, place) = resume(vec![4, 6, 7], 0, Some(8), &[7, 6, 4]);
        assert_eq!((order, place), (vec![4, 6, 7], 0));
        // The photo showing came after the rounds were written: the place is at it.
        let (order, place) = resume(vec![1, 1], 1, Some(2), &[4, 3, 2, 1]);
        assert_eq!((order, place), (vec![1, 1, 4, 3, 2], 4));
        // Nothing left of the rounds: the library is the order.
        assert_eq!(resume(vec![5], 0, None, &[2, 1]), (vec![2, 1], 0));
    }

    #[test]
    fn newest_is_newest_first_and_small_libraries_work() {
        let photos = library();
        let round = rotation(Order::Newest, 0).round(&photos, NOW, None);
        assert_eq!(&round[..7], &[45, 44, 43, 42, 41, 47, 1]);
        assert_eq!(*round.last().unwrap(), 46, "the oldest last");
        let mut r = rotation(Order::Weighted, 0);
        assert!(r.round(&[], NOW, None).is_empty());
        let one = [Entry { id: 9, received_at: NOW, favourite: true }];
        assert_eq!(r.round(&one, NOW, Some(9)), [9], "one photo: once, even if boosted");
    }
}
