//! Pairing a browser with the frame: the frame shows a six-digit code on its screen for a few
//! minutes when asked; whoever can read the screen types it on the frame's page (or scans the
//! QR code beside it) and the browser gets a session ([`crate::sessions`]). Being in the room
//! is the proof: no password to remember, nothing to set up.
//!
//! Guessing is bounded: a code takes [`TRIES_PER_CODE`] wrong tries before it is taken off
//! the screen, and the frame takes at most [`WRONG_PER_WINDOW`] wrong codes in
//! [`WINDOW`] from anyone, so a program on the network cannot walk through the million codes.
//! Neither the code nor a session key is ever logged.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::render::card::PairingCard;
use crate::sessions::{Session, SessionError, Sessions};

/// How long a code stays on the screen.
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Wrong tries a code takes before it is taken off the screen.
pub const TRIES_PER_CODE: u32 = 5;
/// Wrong codes the frame takes, from anyone, in [`WINDOW`].
pub const WRONG_PER_WINDOW: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(10 * 60);

/// Why pairing did not happen, in words the page shows as they are.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error(
        "the frame's screen is off, so it cannot show a code: pair when the screen is on (or \
         wake it from a phone that is paired already)"
    )]
    ScreenOff,
    #[error("a pairing code is the 6 digits the frame shows on its screen: type just those")]
    Malformed,
    #[error(
        "no code is showing on the frame right now (codes last {} minutes): ask for a new one",
        CODE_LIFETIME.as_secs() / 60
    )]
    NoCode,
    #[error(
        "that is not the code on the frame's screen: check the digits ({tries_left} tries left \
         for this code)"
    )]
    Wrong { tries_left: u32 },
    #[error(
        "that is not the code on the frame's screen, and it was the last try: the frame took \
         the code off its screen; ask for a new one"
    )]
    Withdrawn,
    #[error(
        "too many wrong codes were typed: the frame takes no more for {} minutes",
        retry_after.as_secs().div_ceil(60).max(1)
    )]
    TooMany { retry_after: Duration },
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("the frame cannot make a random code: {0}")]
    Random(String),
}

#[derive(Debug)]
struct Shown {
    code: String,
    until: Instant,
    tries_left: u32,
    serial: u64,
}

#[derive(Debug, Default)]
struct State {
    shown: Option<Shown>,
    /// When each recent wrong code came, oldest first (at most [`WRONG_PER_WINDOW`]).
    wrong: VecDeque<Instant>,
    serial: u64,
}

/// The pairing code and the paired browsers.
#[derive(Debug)]
pub struct Pairing {
    sessions: Sessions,
    state: Mutex<State>,
    card: watch::Sender<Option<Arc<PairingCard>>>,
}

impl Pairing {
    pub fn new(sessions: Sessions) -> Pairing {
        Pairing { sessions, state: Mutex::default(), card: watch::Sender::new(None) }
    }

    /// What the screen shows for pairing: the slideshow draws it over every slide.
    pub fn card(&self) -> watch::Receiver<Option<Arc<PairingCard>>> {
        self.card.subscribe()
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a code on the screen for [`CODE_LIFETIME`], with a QR code for `page` (the
    /// address the asking browser used), or keeps the one showing. Returns how long it stays.
    pub fn show_code(self: &Arc<Self>, page: &str) -> Result<Duration, PairError> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(shown) = state.shown.as_ref().filter(|s| s.until > now) {
            return Ok(shown.until - now);
        }
        let code = random_code()?;
        state.serial += 1;
        let serial = state.serial;
        let until = now + CODE_LIFETIME;
        let address = format!("{}/#pair={code}", page.trim_end_matches('/'));
        let card =
            PairingCard { code: code.clone(), address, minutes: CODE_LIFETIME.as_secs() / 60 };
        state.shown = Some(Shown { code, until, tries_left: TRIES_PER_CODE, serial });
        drop(state);
        self.card.send_replace(Some(Arc::new(card)));
        tracing::info!("showing a pairing code for {} minutes", CODE_LIFETIME.as_secs() / 60);
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep_until(until).await;
            if let Some(me) = me.upgrade() {
                me.withdraw(serial);
            }
        });
        Ok(CODE_LIFETIME)
    }

    /// Takes code number `serial` off the screen, if it is still there.
    fn withdraw(&self, serial: u64) {
        let mut state = self.lock();
        if state.shown.as_ref().is_some_and(|s| s.serial == serial) {
            state.shown = None;
            drop(state);
            self.card.send_replace(None);
        }
    }

    /// Pairs a browser called `label` if `code` is the one on the screen: the code is used
    /// up, and the new session's key is returned (for the browser's cookie).
    pub async fn pair(&self, code: &str, label: String) -> Result<(String, Session), PairError> {
        let typed: String = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PairError::Malformed);
        }
        let now = Instant::now();
        {
            let mut state = self.lock();
            while state.wrong.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                state.wrong.pop_front();
            }
            if state.wrong.len() >= WRONG_PER_WINDOW {
                let oldest = state.wrong.front().copied().unwrap_or(now);
                return Err(PairError::TooMany {
                    retry_after: WINDOW - now.duration_since(oldest),
                });
            }
            let Some(shown) = state.shown.as_mut().filter(|s| s.until > now) else {
                state.wrong.push_back(now);
                return Err(PairError::NoCode);
            };
            if !constant_time_eq(typed.as_bytes(), shown.code.as_bytes()) {
                shown.tries_left = shown.tries_left.saturating_sub(1);
                let left = shown.tries_left;
                state.wrong.push_back(now);
                tracing::warn!("a wrong pairing code was typed ({left} tries left for this one)");
                if left == 0 {
                    state.shown = None;
                    drop(state);
                    self.card.send_replace(None);
                    return Err(PairError::Withdrawn);
                }
                return Err(PairError::Wrong { tries_left: left });
            }
            // Used up at once, so that a second browser cannot pair with it meanwhile.
            state.shown = None;
        }
        self.card.send_replace(None);
        let (key, session) = self.sessions.create(label).await?;
        tracing::info!("paired a browser ({}) as session {}", session.label, session.id);
        Ok((key, session))
    }
}

/// Six random digits, every value as likely.
fn random_code() -> Result<String, PairError> {
    // The largest multiple of a million under 2^32: values past it would favour low codes.
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let n = getrandom::u32().map_err(|e| PairError::Random(e.to_string()))?;
        if n < LIMIT {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Compares without returning early, so the time taken does not reveal how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown_code(pairing: &Pairing) -> String {
        pairing.card().borrow().as_ref().map(|c| c.code.clone()).expect("a code on screen")
    }

    #[tokio::test(start_paused = true)]
    async fn the_code_on_screen_pairs_once_and_goes() {
        let pairing = Arc::new(Pairing::new(Sessions::in_memory()));
        assert!(pairing.card().borrow().is_none());
        pairing.show_code("http://frame.local:8080").unwrap();
        let code = shown_code(&pairing);
        assert_eq!(code.len(), 6);
        let card = pairing.card().borrow().clone().unwrap();
        assert_eq!(card.address, format!("http://frame.local:8080/#pair={code}"));
        // Asking again keeps the code that is showing.
        pairing.show_code("http://other").unwrap();
        assert_eq!(shown_code(&pairing), code);

        let spaced = format!("{} {}", &code[..3], &code[3..]);
        let (key, session) = pairing.pair(&spaced, "Chrome on Android".into()).await.unwrap();
        assert_eq!(pairing.sessions().check(&key).map(|s| s.id), Some(session.id));
        assert!(pairing.card().borrow().is_none(), "used up: off the screen");
        assert!(matches!(pairing.pair(&code, "x".into()).await, Err(PairError::NoCode)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_code_leaves_the_screen_after_its_minutes() {
        let pairing = Arc::new(Pairing::new(Sessions::in_memory()));
        pairing.show_code("http://f").unwrap();
        let code = shown_code(&pairing);
        let mut card = pairing.card();
        tokio::time::sleep(CODE_LIFETIME - Duration::from_secs(1)).await;
        assert!(card.borrow_and_update().is_some());
        tokio::time::timeout(Duration::from_secs(2), card.changed()).await.unwrap().unwrap();
        assert!(card.borrow().is_none());
        assert!(matches!(pairing.pair(&code, "x".into()).await, Err(PairError::NoCode)));
    }

    #[tokio::test(start_paused = true)]
    async fn guessing_is_bounded() {
        let pairing = Arc::new(Pairing::new(Sessions::in_memory()));
        assert!(matches!(pairing.pair("12345", "x".into()).await, Err(PairError::Malformed)));
        pairing.show_code("http://f").unwrap();
        let code = shown_code(&pairing);
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for left in (1..TRIES_PER_CODE).rev() {
            match pairing.pair(wrong, "x".into()).await {
                Err(PairError::Wrong { tries_left }) => assert_eq!(tries_left, left),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(pairing.pair(wrong, "x".into()).await, Err(PairError::Withdrawn)));
        assert!(pairing.card().borrow().is_none(), "the guessed-at code is withdrawn");
        // A new code, and more wrong ones, up to the frame's limit for everyone.
        pairing.show_code("http://f").unwrap();
        let code = shown_code(&pairing);
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for _ in TRIES_PER_CODE as usize..WRONG_PER_WINDOW {
            let _ = pairing.pair(wrong, "x".into()).await;
        }
        pairing.show_code("http://f").unwrap();
        let code = shown_code(&pairing);
        let err = pairing.pair(&code, "x".into()).await.unwrap_err();
        assert!(matches!(err, PairError::TooMany { .. }), "{err}");
        assert!(err.to_string().contains("10 minutes"), "{err}");
        tokio::time::advance(WINDOW).await;
        pairing.show_code("http://f").unwrap();
        let code = shown_code(&pairing);
        pairing.pair(&code, "x".into()).await.unwrap();
    }

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> =
            (0..50).map(|_| random_code().unwrap()).collect();
        assert!(codes.len() > 45);
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
    }
}
