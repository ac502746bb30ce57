//! The screen's day: on or off by `[schedule]`, by request (sleep and wake, from any
//! transport), lit for a while by a new photo at night (`wake_on_photo`) and by motion in
//! the room (`motion_gpio`; `motion_only` keeps it dark without).
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
    /// The motion sensor saw someone (or, with `motion_only`, saw no one for a while).
    Motion,
}

/// What the motion sensor does to the screen (`[schedule] motion_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotionRule {
    /// How long the screen stays lit after the sensor last saw motion.
    pub lit: Duration,
    /// On only while there is motion (within the schedule's windows, if any).
    pub only: bool,
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
    motion: Option<MotionRule>,
    /// The sensor's line is active now (someone is moving in front of it).
    moving: bool,
    /// When the light from the last motion goes out.
    motion_until: Option<Timestamp>,
}

impl Plan {
    pub fn new(schedule: Schedule, wake_on_photo: Option<Duration>) -> Plan {
        Plan {
            schedule,
            wake_on_photo,
            held: None,
            motion: None,
            moving: false,
            motion_until: None,
        }
    }

    /// The screen follows a motion sensor too.
    pub fn with_motion(mut self, rule: MotionRule) -> Plan {
        self.motion = Some(rule);
        self
    }

    /// Forgets a hold, and a motion's light, whose time is over.
    fn expire(&mut self, now: &Zoned) {
        if let Some(Held { until: Some(until), .. }) = self.held {
            if until <= now.timestamp() {
                self.held = None;
            }
        }
        if self.motion_until.is_some_and(|until| until <= now.timestamp()) {
            self.motion_until = None;
        }
    }

    /// Whether the screen is on at `now`, and why. A request (or a photo at night) comes
    /// first, then motion, then the schedule.
    pub fn state(&mut self, now: &Zoned) -> (bool, Why) {
        self.expire(now);
        if let Some(held) = &self.held {
            return (held.on, held.why);
        }
        let scheduled = self.schedule.is_on(now);
        let sensed = self.moving || self.motion_until.is_some();
        match self.motion {
            // Only while someone is there, and only in the windows: a bedroom stays dark at
            // night whoever walks by.
            Some(MotionRule { only: true, .. }) => {
                (scheduled && sensed, if scheduled { Why::Motion } else { Why::Schedule })
            }
            Some(_) if sensed && !scheduled => (true, Why::Motion),
            _ => (scheduled, Why::Schedule),
        }
    }

    /// The motion sensor's line became active (`true`: motion) or inactive. While it is
    /// active the screen stays lit; `lit` counts from when it went inactive. A sensor that
    /// misses its falling edge still lets the screen go dark `lit` after the last rise.
    pub fn motion(&mut self, now: &Zoned, active: bool) {
        let Some(rule) = self.motion else { return };
        self.moving = active;
        self.motion_until = now.timestamp().checked_add(rule.lit).ok();
    }

    /// When the screen may next change by itself: the end of a hold or of a motion's light,
    /// or the schedule's next change (which also ends a hold).
    pub fn next_change(&mut self, now: &Zoned) -> Option<Zoned> {
        self.expire(now);
        let held = self.held.as_ref().and_then(|h| h.until);
        // The light of the last motion going out, once nobody is moving.
        let motion = self.motion_until.filter(|_| !self.moving);
        let ends =
            [held, motion].into_iter().flatten().map(|t| t.to_zoned(now.time_zone().clone()));
        self.schedule.next_change(now).into_iter().chain(ends).min_by_key(Zoned::timestamp)
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

    /// The schedule changed (the page's settings): it rules from now. A sleep or wake asked
    /// for, and a photo's light, end with the old schedule, as they would have ended at its
    /// next change; the motion sensor's light stays (someone is in the room).
    pub fn replan(&mut self, schedule: Schedule) {
        self.schedule = schedule;
        self.held = None;
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
    /// The motion sensor: which line it is on, or what is wrong with it. None: no sensor.
    pub motion_sensor: Option<String>,
}

impl ScreenStatus {
    pub fn is_on(&self) -> bool {
        self.screen == "on"
    }

    /// The welcome slide's line: when the screen next turns on or off by itself ("The screen
    /// turns off at 23:00 on Monday."), or `None` when it stays as it is.
    pub fn next_line(&self) -> Option<String> {
        let at = self.next_change.as_deref()?.parse::<Zoned>().ok()?;
        let turns = if self.is_on() { "off" } else { "on" };
        Some(format!("The screen turns {turns} at {}.", at.strftime("%H:%M on %A")))
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
    Replan { schedule: Schedule, done: oneshot::Sender<ScreenStatus> },
    PhotoArrived,
    Motion(bool),
    Sensor(String),
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
            Request::Replan { schedule, .. } => write!(f, "Replan({schedule:?})"),
            Request::PhotoArrived => write!(f, "PhotoArrived"),
            Request::Motion(active) => write!(f, "Motion({active})"),
            Request::Sensor(note) => write!(f, "Sensor({note})"),
        }
    }
}

/// How long a screen task sleeps at most before it looks at the clock again: a Pi has no
/// real-time clock, and NTP may step the time by hours after boot.
const RECHECK: Duration = Duration::from_secs(60);

impl Screen {
    /// Starts the screen's task: it switches the screen now (the frame may start at night)
    /// and at every change. `sensor` is what the status says about the motion sensor.
    pub fn spawn(
        tasks: &Tasks,
        plan: Plan,
        clock: Clock,
        power: Box<dyn Power>,
        slideshow: Slideshow,
        sensor: Option<String>,
    ) -> Screen {
        let (requests, rx) = mpsc::channel(16);
        let power = Arc::new(Mutex::new(power));
        let mut task = Task { plan, clock, power, slideshow, applied: None, note: None, sensor };
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

    /// Follows `schedule` from now (see [`Plan::replan`]); answers once the screen is as it
    /// says.
    pub async fn replan(&self, schedule: Schedule) -> ScreenStatus {
        let (done, answer) = oneshot::channel();
        if self.requests.send(Request::Replan { schedule, done }).await.is_err() {
            return self.status();
        }
        answer.await.unwrap_or_else(|_| self.status())
    }

    /// A photo was stored.
    pub fn photo_arrived(&self) {
        let _ = self.requests.try_send(Request::PhotoArrived);
    }

    /// The motion sensor's line became active (`true`) or inactive. Called from the
    /// sensor's own task; a full queue drops the edge, and the next one corrects it.
    pub fn motion(&self, active: bool) {
        let _ = self.requests.try_send(Request::Motion(active));
    }

    /// What the status says about the motion sensor: its line, or what went wrong.
    pub fn sensor(&self, note: String) {
        let _ = self.requests.try_send(Request::Sensor(note));
    }

    pub fn status(&self) -> ScreenStatus {
        self.status.borrow().clone()
    }

    /// The status as it changes (at every switch, and at least once a minute).
    pub fn watch(&self) -> watch::Receiver<ScreenStatus> {
        self.status.clone()
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
    /// The motion sensor's line, or what is wrong with it, for the status.
    sensor: Option<String>,
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
                        self.answer(&status, done).await;
                    }
                    Some(Request::Replan { schedule, done }) => {
                        self.plan.replan(schedule);
                        self.answer(&status, done).await;
                    }
                    Some(Request::PhotoArrived) => self.plan.photo_arrived(&self.clock.now()),
                    Some(Request::Motion(active)) => self.plan.motion(&self.clock.now(), active),
                    Some(Request::Sensor(note)) => self.sensor = Some(note),
                },
            }
        }
        // The frame is stopping: a panel switched off by the frame is switched on again, so
        // that the desktop (or the next start) is not left dark.
        if self.applied == Some(false) {
            let _ = self.switch(true).await;
        }
    }

    /// Switches the screen to what the plan now says and answers a request with the status.
    async fn answer(
        &mut self,
        status: &watch::Sender<ScreenStatus>,
        done: oneshot::Sender<ScreenStatus>,
    ) {
        self.apply().await;
        let now = self.status();
        status.send_replace(now.clone());
        let _ = done.send(now);
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
            motion_sensor: self.sensor.clone(),
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
    fn motion_at_night_lights_the_screen_until_motion_on_after_it_stops() {
        let rule = MotionRule { lit: 10 * MIN, only: false };
        let mut p = plan(None).with_motion(rule);
        let night = at("2026-12-07T23:00");
        p.motion(&night, true);
        assert_eq!(p.state(&night), (true, Why::Motion));
        // Someone stays in the room: lit for as long as the line is active.
        assert_eq!(p.state(&at("2026-12-07T23:30")), (true, Why::Motion));
        assert_eq!(hm(p.next_change(&at("2026-12-07T23:30"))), "Tue 09:00", "no end while moving");
        p.motion(&at("2026-12-07T23:31"), false);
        assert_eq!(hm(p.next_change(&at("2026-12-07T23:31"))), "Mon 23:41");
        assert_eq!(p.state(&at("2026-12-07T23:40")), (true, Why::Motion));
        assert_eq!(p.state(&at("2026-12-07T23:41")), (false, Why::Schedule));
        // A new edge before the end starts the ten minutes again.
        p.motion(&at("2026-12-08T01:00"), true);
        p.motion(&at("2026-12-08T01:00"), false);
        p.motion(&at("2026-12-08T01:05"), true);
        p.motion(&at("2026-12-08T01:05"), false);
        assert!(p.state(&at("2026-12-08T01:14")).0);
        assert!(!p.state(&at("2026-12-08T01:15")).0);
        // A request wins over motion: asked to sleep, the screen stays dark.
        let evening = at("2026-12-08T20:00");
        p.ask(&evening, false, Some(60 * MIN));
        p.motion(&evening, true);
        assert_eq!(p.state(&evening), (false, Why::Asked));
    }

    #[test]
    fn motion_only_keeps_the_screen_dark_without_someone_there_and_outside_the_windows() {
        let rule = MotionRule { lit: 10 * MIN, only: true };
        let mut p = plan(None).with_motion(rule);
        let day = at("2026-12-08T10:00");
        assert_eq!(p.state(&day), (false, Why::Motion), "nobody there");
        p.motion(&day, true);
        assert_eq!(p.state(&day), (true, Why::Motion));
        p.motion(&day, false);
        assert!(!p.state(&at("2026-12-08T10:10")).0);
        // At night motion does not light it: the windows still rule.
        let night = at("2026-12-08T23:00");
        p.motion(&night, true);
        assert_eq!(p.state(&night), (false, Why::Schedule));
        // Without a schedule, motion alone decides, all day.
        let mut always = Plan::new(Schedule::default(), None).with_motion(rule);
        assert!(!always.state(&night).0);
        always.motion(&night, true);
        assert!(always.state(&night).0);
        // Without a sensor configured, edges change nothing.
        let mut none = plan(None);
        none.motion(&night, true);
        assert_eq!(none.state(&night), (false, Why::Schedule));
    }

    #[test]
    fn a_new_schedule_rules_at_once_and_ends_what_was_asked_under_the_old_one() {
        let mut p = plan(Some(5 * MIN)).with_motion(MotionRule { lit: 10 * MIN, only: false });
        let evening = at("2026-12-07T20:00");
        p.ask(&evening, true, None);
        assert_eq!(p.state(&evening), (true, Why::Asked));
        p.replan(Schedule::new(vec!["daily 18:00-22:00".parse().unwrap()]));
        assert_eq!(p.state(&evening), (true, Why::Schedule));
        assert_eq!(hm(p.next_change(&evening)), "Mon 22:00");
        // Asked off, then the evening is taken out of the schedule: off by the schedule now,
        // until the new one turns it on.
        p.ask(&evening, false, None);
        p.replan(Schedule::new(vec!["mon-fri 07:00-09:00".parse().unwrap()]));
        assert_eq!(p.state(&evening), (false, Why::Schedule));
        assert_eq!(hm(p.next_change(&evening)), "Tue 07:00");
        // Motion's light is the room's, not the schedule's: it stays.
        p.motion(&evening, true);
        p.replan(Schedule::new(vec!["mon-fri 08:00-09:00".parse().unwrap()]));
        assert_eq!(p.state(&evening), (true, Why::Motion));
        // No windows: always on.
        p.replan(Schedule::default());
        assert_eq!(p.state(&at("2026-12-08T03:00")), (true, Why::Schedule));
        assert_eq!(p.next_change(&evening), None);
    }

    #[test]
    fn the_status_line_says_until_when() {
        let s = ScreenStatus {
            screen: "off",
            why: Why::Schedule,
            power_method: "black",
            power_note: None,
            next_change: Some(at("2026-12-08T09:00").to_string()),
            motion_sensor: None,
        };
        assert_eq!(s.describe(), "The screen is off until Tue 09:00.");
        assert_eq!(s.next_line().unwrap(), "The screen turns on at 09:00 on Tuesday.");
        let always = ScreenStatus { screen: "on", next_change: None, ..s };
        assert_eq!(always.next_line(), None);
    }
}
