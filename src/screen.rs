//! The screen's day: on or off by `[schedule]`, by request (sleep and wake, from any
//! transport), and lit for a while by a new photo at night (`wake_on_photo`).
//!
//! [`Plan`] is the decision, pure and tested against a fake clock. One task owns it: it asks
//! the plan what the screen should be now, switches the panel through the best [`Power`]
//! method the setup has, tells the slideshow (which renders nothing while the screen is off),
//! and sleeps until the next change or request. Asleep, nothing wakes but those.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{Timestamp, Zoned};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::lifecycle::Tasks;
use crate::power::Power;
use crate::schedule::{Clock, Schedule};
use crate::slideshow::{Command, Slideshow};

/// Why the screen is as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// `[schedule] on` (or no schedule: always on).
    Schedule,
    /// Someone asked: `sleep`, `wake`, `POST /api/screen`, a key.
    Asked,
    /// A photo arrived while it was off (`wake_on_photo`).
    Photo,
}

/// A request that holds the screen on or off until `until` (`None`: until asked again).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    on: bool,
    until: Option<Timestamp>,
    why: Why,
}

/// What decides whether the screen is on.
#[derive(Debug, Clone)]
pub struct Plan {
    schedule: Schedule,
    wake_on_photo: Option<Duration>,
    held: Option<Held>,
}

impl Plan {
    pub fn new(schedule: Schedule, wake_on_photo: Option<Duration>) -> Plan {
        Plan { schedule, wake_on_photo, held: None }
    }

    /// Forgets a hold whose time is over.
    fn expire(&mut self, now: &Zoned) {
        if let Some(Held { until: Some(until), .. }) = self.held {
            if until <= now.timestamp() {
                self.held = None;
            }
        }
    }

    /// Whether the screen is on at `now`, and why.
    pub fn state(&mut self, now: &Zoned) -> (bool, Why) {
        self.expire(now);
        match &self.held {
            Some(held) => (held.on, held.why),
            None => (self.schedule.is_on(now), Why::Schedule),
        }
    }

    /// When the screen may next change by itself: the end of a hold, or the schedule's next
    /// change (which also ends a hold).
    pub fn next_change(&mut self, now: &Zoned) -> Option<Zoned> {
        self.expire(now);
        let scheduled = self.schedule.next_change(now);
        let held =
            self.held.as_ref().and_then(|h| h.until).map(|t| t.to_zoned(now.time_zone().clone()));
        match (scheduled, held) {
            (Some(a), Some(b)) => Some(if a.timestamp() <= b.timestamp() { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Someone asked for the screen `on` or off, for `lasting` (`None`: until the schedule's
    /// next change, or until asked again without a schedule). A hold never outlasts the
    /// schedule's next change: `sleep 2h` at 22:50 ends when the schedule turns it off at 23:00
    /// anyway, and `wake` at night ends when the morning turns it on.
    pub fn ask(&mut self, now: &Zoned, on: bool, lasting: Option<Duration>) {
        let scheduled = self.schedule.next_change(now).map(|z| z.timestamp());
        let asked = lasting.and_then(|d| now.timestamp().checked_add(d).ok());
        let until = match (asked, scheduled) {
            (Some(a), Some(s)) => Some(a.min(s)),
            (a, s) => a.or(s),
        };
        self.held = Some(Held { on, until, why: Why::Asked });
    }

    /// A photo arrived: with `wake_on_photo`, an off screen lights up for that long.
    pub fn photo_arrived(&mut self, now: &Zoned) {
        let Some(lit) = self.wake_on_photo else { return };
        if self.state(now).0 {
            return;
        }
        let until = now.timestamp().checked_add(lit).ok();
        self.held = Some(Held { on: true, until, why: Why::Photo });
    }
}

/// The longest a sleep or a wake can be asked for: a week, then the schedule rules again.
pub const MAX_LASTING: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a sleep or wake lasts, as people write it (`30m`, `2h`, `1d`).
pub fn lasting(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a length of time: write it like 30m, 2h or 1d"))?;
    if d.is_zero() || d > MAX_LASTING {
        return Err(format!("`{text}`: a sleep or a wake lasts from a second to 7 days"));
    }
    Ok(d)
}

/// What `/api/status` and the commands say about the screen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScreenStatus {
    /// `"on"` or `"off"`.
    pub screen: &'static str,
    pub why: Why,
    /// How the panel is switched: `wlr-output-power`, `x11-dpms`, `backlight`, `black`.
    pub power_method: &'static str,
    /// Why the method is what it is, or what went wrong with it, in words.
    pub power_note: Option<String>,
    /// When the screen next turns on or off by itself (RFC 3339, with the zone).
    pub next_change: Option<String>,
}

impl ScreenStatus {
    pub fn is_on(&self) -> bool {
        self.screen == "on"
    }

    /// One line for people: "on until 23:00", "off until Mon 09:00".
    pub fn describe(&self) -> String {
        let state = if self.is_on() { "on" } else { "off" };
        let until = self.next_change.as_deref().and_then(|t| t.parse::<Zoned>().ok());
        match until {
            Some(t) => format!("The screen is {state} until {}.", t.strftime("%a %H:%M")),
            None => format!("The screen is {state}."),
        }
    }
}

enum Request {
    Set { on: bool, lasting: Option<Duration>, done: oneshot::Sender<ScreenStatus> },
    PhotoArrived,
}

/// The handle every transport holds. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Screen {
    requests: mpsc::Sender<Request>,
    status: watch::Receiver<ScreenStatus>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Set { on, lasting, .. } => write!(f, "Set({on}, {lasting:?})"),
            Request::PhotoArrived => write!(f, "PhotoArrived"),
        }
    }
}

/// How long a screen task sleeps at most before it looks at the clock again: a Pi has no
/// real-time clock, and NTP may step the time by hours after boot.
const RECHECK: Duration = Duration::from_secs(60);

impl Screen {
    /// Starts the screen's task: it switches the screen now (the frame may start at night)
    /// and at every change.
    pub fn spawn(
        tasks: &Tasks,
        plan: Plan,
        clock: Clock,
        power: Box<dyn Power>,
        slideshow: Slideshow,
    ) -> Screen {
        let (requests, rx) = mpsc::channel(16);
        let power = Arc::new(Mutex::new(power));
        let mut task = Task { plan, clock, power, slideshow, applied: None, note: None };
        let first = task.status();
        let (status_tx, status) = watch::channel(first);
        let stop = tasks.token();
        tasks.spawn(async move { task.run(rx, status_tx, stop).await });
        Screen { requests, status }
    }

    /// Turns the screen on or off for `lasting` (see [`Plan::ask`]); answers once it is done.
    pub async fn set(&self, on: bool, lasting: Option<Duration>) -> ScreenStatus {
        let (done, answer) = oneshot::channel();
        if self.requests.send(Request::Set { on, lasting, done }).await.is_err() {
            return self.status();
        }
        answer.await.unwrap_or_else(|_| self.status())
    }

    /// A photo was stored.
    pub fn photo_arrived(&self) {
        let _ = self.requests.try_send(Request::PhotoArrived);
    }

    pub fn status(&self) -> ScreenStatus {
        self.status.borrow().clone()
    }
}

struct Task {
    plan: Plan,
    clock: Clock,
    /// Shared with the blocking pool, where it is called.
    power: Arc<Mutex<Box<dyn Power>>>,
    slideshow: Slideshow,
    /// What the screen was last switched to.
    applied: Option<bool>,
    /// The power method's last failure, for the status.
    note: Option<String>,
}

impl Task {
    async fn run(
        &mut self,
        mut requests: mpsc::Receiver<Request>,
        status: watch::Sender<ScreenStatus>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            self.apply().await;
            status.send_replace(self.status());
            let now = self.clock.now();
            let wait = self.plan.next_change(&now).map_or(RECHECK, |t| self.clock.until(&t));
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(wait.min(RECHECK)) => {}
                request = requests.recv() => match request {
                    None => break,
                    Some(Request::Set { on, lasting, done }) => {
                        self.plan.ask(&self.clock.now(), on, lasting);
                        self.apply().await;
                        let now = self.status();
                        status.send_replace(now.clone());
                        let _ = done.send(now);
                    }
                    Some(Request::PhotoArrived) => self.plan.photo_arrived(&self.clock.now()),
                },
            }
        }
        // The frame is stopping: a panel switched off by the frame is switched on again, so
        // that the desktop (or the next start) is not left dark.
        if self.applied == Some(false) {
            let _ = self.switch(true).await;
        }
    }

    /// Switches the screen to what the plan says, if it is not so already.
    async fn apply(&mut self) {
        let (on, why) = self.plan.state(&self.clock.now());
        if self.applied == Some(on) {
            return;
        }
        let method = self.method();
        tracing::info!("screen {} ({why:?}, {method})", if on { "on" } else { "off" });
        // Off: the slideshow goes black first, then the panel goes dark. On: the panel
        // lights, then the slideshow draws.
        if !on {
            self.slideshow.send(Command::Screen(false)).await;
            // Black is up before anyone hears "off".
            self.slideshow.sync().await;
        }
        self.note = self.switch(on).await.err();
        if on {
            self.slideshow.send(Command::Screen(true)).await;
        }
        self.applied = Some(on);
    }

    async fn switch(&mut self, on: bool) -> Result<(), String> {
        let power = self.power.clone();
        let result = tokio::task::spawn_blocking(move || {
            power.lock().unwrap_or_else(|e| e.into_inner()).set(on)
        })
        .await
        .unwrap_or_else(|e| Err(format!("the power switch failed: {e}")));
        if let Err(e) = &result {
            tracing::warn!("cannot switch the screen {}: {e}", if on { "on" } else { "off" });
        }
        result
    }

    fn lock_power(&self) -> std::sync::MutexGuard<'_, Box<dyn Power>> {
        self.power.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn method(&self) -> &'static str {
        self.lock_power().method()
    }

    fn status(&mut self) -> ScreenStatus {
        let now = self.clock.now();
        let (on, why) = self.plan.state(&now);
        ScreenStatus {
            screen: if on { "on" } else { "off" },
            why,
            power_method: self.method(),
            power_note: self.note.clone().or_else(|| self.lock_power().note()),
            next_change: self.plan.next_change(&now).map(|t| t.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::DateTime;
    use jiff::tz::TimeZone;

    fn at(text: &str) -> Zoned {
        let civil: DateTime = text.parse().unwrap();
        civil.to_zoned(TimeZone::get("Europe/Berlin").unwrap()).unwrap()
    }

    fn plan(wake_on_photo: Option<Duration>) -> Plan {
        let schedule = Schedule::new(vec!["mon-fri 09:00-17:00".parse().unwrap()]);
        Plan::new(schedule, wake_on_photo)
    }

    fn hm(z: Option<Zoned>) -> String {
        z.map(|z| z.strftime("%a %H:%M").to_string()).unwrap_or_default()
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_request_lasts_its_time_or_until_the_schedule_changes() {
        let mut p = plan(None);
        // Monday 2026-12-07, after hours.
        let evening = at("2026-12-07T17:05");
        assert_eq!(p.state(&evening), (false, Why::Schedule));
        assert_eq!(hm(p.next_change(&evening)), "Tue 09:00");
        p.ask(&evening, true, Some(30 * MIN));
        assert_eq!(p.state(&evening), (true, Why::Asked));
        assert_eq!(hm(p.next_change(&evening)), "Mon 17:35");
        assert_eq!(p.state(&at("2026-12-07T17:35")), (false, Why::Schedule), "its time is up");
        // Without a time: until the schedule's next change.
        p.ask(&evening, true, None);
        assert_eq!(p.state(&at("2026-12-08T03:00")), (true, Why::Asked));
        assert_eq!(p.state(&at("2026-12-08T09:00")), (true, Why::Schedule));
        // Asked off for two hours at 16:30: the schedule's 17:00 ends the request.
        let late = at("2026-12-08T16:30");
        p.ask(&late, false, Some(120 * MIN));
        assert_eq!(hm(p.next_change(&late)), "Tue 17:00");
        assert_eq!(p.state(&at("2026-12-08T18:00")), (false, Why::Schedule));
        assert_eq!(p.state(&at("2026-12-09T09:10")), (true, Why::Schedule));
    }

    #[test]
    fn without_a_schedule_sleep_lasts_until_wake() {
        let mut p = Plan::new(Schedule::default(), None);
        let now = at("2026-12-07T12:00");
        assert_eq!(p.state(&now), (true, Why::Schedule));
        assert_eq!(p.next_change(&now), None);
        p.ask(&now, false, None);
        assert_eq!(p.state(&at("2026-12-20T12:00")), (false, Why::Asked));
        p.ask(&now, true, None);
        assert!(p.state(&now).0);
    }

    #[test]
    fn a_photo_at_night_lights_the_screen_for_a_while_only_with_wake_on_photo() {
        let night = at("2026-12-07T23:00");
        let mut off = plan(None);
        off.photo_arrived(&night);
        assert!(!off.state(&night).0, "off by default");
        let mut p = plan(Some(5 * MIN));
        p.photo_arrived(&night);
        assert_eq!(p.state(&night), (true, Why::Photo));
        assert_eq!(hm(p.next_change(&night)), "Mon 23:05");
        assert!(!p.state(&at("2026-12-07T23:05")).0);
        // By day it changes nothing.
        let day = at("2026-12-08T10:00");
        p.photo_arrived(&day);
        assert_eq!(p.state(&day), (true, Why::Schedule));
    }

    #[test]
    fn the_status_line_says_until_when() {
        let s = ScreenStatus {
            screen: "off",
            why: Why::Schedule,
            power_method: "black",
            power_note: None,
            next_change: Some(at("2026-12-08T09:00").to_string()),
        };
        assert_eq!(s.describe(), "The screen is off until Tue 09:00.");
    }
}
