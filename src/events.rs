//! What changes on the frame, as one stream: photos added, removed and changed, what is on the
//! screen, the screen going on and off, Discord's state. The frame's page follows it, and so
//! can a local program or home automation (`GET /api/events` serves it as Server-Sent Events).
//!
//! The library's changes are told through a broadcast channel by [`crate::app::App`], which
//! makes every change; the rest is watched where it lives (the slideshow, the screen, the
//! Discord connection). A subscriber first gets the state as it is now, then each change.

use tokio::sync::{broadcast, watch};

use crate::discord_state::DiscordState;
use crate::library::Photo;
use crate::screen::ScreenStatus;
use crate::slideshow;

/// A change to the library, as [`crate::app::App`] tells it.
#[derive(Debug, Clone)]
pub enum Change {
    Added(Vec<Photo>),
    Removed(Vec<i64>),
    /// A caption or a favourite mark changed.
    Changed(Vec<Photo>),
}

/// How many library changes wait for a slow subscriber before it misses some (and is told so).
const BACKLOG: usize = 256;

/// The sending side, held by the app.
#[derive(Debug, Clone)]
pub struct Changes(broadcast::Sender<Change>);

impl Default for Changes {
    fn default() -> Changes {
        Changes(broadcast::channel(BACKLOG).0)
    }
}

impl Changes {
    /// Tells every subscriber; nobody listening is fine.
    pub fn send(&self, change: Change) {
        let _ = self.0.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.subscribe()
    }
}

/// One event of the stream.
#[derive(Debug, Clone)]
pub enum Event {
    Library(Change),
    /// What is on the screen (or `None`: the welcome slide), and whether the show is paused.
    Shown {
        current: Option<Box<Photo>>,
        beside: Option<Box<Photo>>,
        paused: bool,
    },
    Screen(ScreenStatus),
    Discord(DiscordState),
    /// The subscriber read too slowly and missed this many library changes: read the library
    /// again (`GET /api/photos`).
    Missed(u64),
}

/// A subscription: the state now, then every change, until the frame stops.
#[derive(Debug)]
pub struct Events {
    first: Vec<Event>,
    library: broadcast::Receiver<Change>,
    show: watch::Receiver<slideshow::State>,
    /// `None` once its sender is gone (the task stopped): the stream goes on without it.
    screen: Option<watch::Receiver<ScreenStatus>>,
    discord: Option<watch::Receiver<DiscordState>>,
}

impl Events {
    pub fn new(
        library: broadcast::Receiver<Change>,
        mut show: watch::Receiver<slideshow::State>,
        mut screen: watch::Receiver<ScreenStatus>,
        mut discord: watch::Receiver<DiscordState>,
    ) -> Events {
        // The state as it is now, marked seen so that only later changes wake `next`.
        let mut first = vec![shown(&show.borrow_and_update())];
        first.push(Event::Screen(screen.borrow_and_update().clone()));
        first.push(Event::Discord(discord.borrow_and_update().clone()));
        first.reverse();
        Events { first, library, show, screen: Some(screen), discord: Some(discord) }
    }

    /// The next event; `None` when the frame is stopping.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.first.pop() {
            return Some(event);
        }
        loop {
            tokio::select! {
                change = self.library.recv() => match change {
                    Ok(change) => return Some(Event::Library(change)),
                    Err(broadcast::error::RecvError::Lagged(n)) => return Some(Event::Missed(n)),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                changed = self.show.changed() => match changed {
                    Ok(()) => return Some(shown(&self.show.borrow_and_update())),
                    Err(_) => return None,
                },
                changed = watched(&mut self.screen) => match changed {
                    Some(status) => return Some(Event::Screen(status)),
                    None => self.screen = None,
                },
                changed = watched(&mut self.discord) => match changed {
                    Some(state) => return Some(Event::Discord(state)),
                    None => self.discord = None,
                },
            }
        }
    }
}

fn shown(state: &slideshow::State) -> Event {
    Event::Shown {
        current: state.current.clone().map(Box::new),
        beside: state.beside.clone().map(Box::new),
        paused: state.paused,
    }
}

/// The next value of a watched state; `None` when its sender is gone. Pending forever when
/// there is no receiver, so that `select!` waits on the others.
async fn watched<T: Clone>(rx: &mut Option<watch::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_gets_the_state_now_then_each_change_and_is_told_what_it_missed() {
        let changes = Changes::default();
        let (show_tx, show) = watch::channel(slideshow::State::default());
        let status = ScreenStatus {
            screen: "on",
            why: crate::screen::Why::Schedule,
            power_method: "black",
            power_note: None,
            next_change: None,
            motion_sensor: None,
        };
        let (screen_tx, screen) = watch::channel(status);
        let (discord_tx, discord) = watch::channel(DiscordState::Connecting);
        let mut events = Events::new(changes.subscribe(), show, screen, discord);
        assert!(matches!(events.next().await, Some(Event::Shown { current: None, .. })));
        assert!(matches!(events.next().await, Some(Event::Screen(_))));
        assert!(matches!(events.next().await, Some(Event::Discord(DiscordState::Connecting))));

        changes.send(Change::Removed(vec![7]));
        assert!(
            matches!(events.next().await, Some(Event::Library(Change::Removed(ids))) if ids == [7])
        );
        // Discord's task ended: the stream goes on without it.
        drop(discord_tx);
        show_tx.send_modify(|s| s.paused = true);
        assert!(matches!(events.next().await, Some(Event::Shown { paused: true, .. })));
        for n in 0..BACKLOG + 3 {
            changes.send(Change::Removed(vec![n as i64]));
        }
        assert!(matches!(events.next().await, Some(Event::Missed(3))));
        while let Ok(Some(Event::Library(_))) =
            tokio::time::timeout(std::time::Duration::from_millis(50), events.next()).await
        {
        }
        drop(screen_tx);
        // The slideshow stopped: so does the stream.
        drop(show_tx);
        assert!(events.next().await.is_none());
    }
}
