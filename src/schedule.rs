//! `[schedule] on`: when the screen is on, as windows of days and times in the system's time
//! zone (`"mon-fri 06:30-08:30"`, `"sat,sun 08:00-23:30"`, `"22:00-01:00"` past midnight).
//!
//! Pure logic over civil times: whether a moment is inside a window, and when the answer next
//! changes. Daylight-saving changes are the time zone database's business: a window's edges
//! are civil times, turned into instants by the zone (a start that falls in the spring gap
//! happens at the first minute after it; one in the autumn fold, the first time it occurs).

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// Days of the week, as a set (bit 0 is Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Days(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Days {
    const EVERY: Days = Days(0x7f);

    fn has(self, day: Weekday) -> bool {
        self.0 & (1 << day.to_monday_zero_offset()) != 0
    }

    /// `mon-fri`, `sat,sun`, `fri-mon` (wrapping), `daily`.
    fn parse(text: &str) -> Result<Days, String> {
        let text = text.trim().to_ascii_lowercase();
        if matches!(text.as_str(), "daily" | "every" | "all" | "*") {
            return Ok(Days::EVERY);
        }
        let day = |name: &str| {
            let name = name.trim();
            DAY_NAMES.iter().position(|d| name.starts_with(d) && name.len() >= 3).ok_or_else(|| {
                format!("`{name}` is not a day: write mon, tue, wed, thu, fri, sat or sun")
            })
        };
        let mut bits = 0u8;
        for part in text.split(',') {
            match part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day(from)?, day(to)?);
                    let mut d = from;
                    loop {
                        bits |= 1 << d;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => bits |= 1 << day(part)?,
            }
        }
        Ok(Days(bits))
    }
}

/// One window: on from `start` to `end` (minutes after midnight) on `days`. An `end` at or
/// before `start` is on the next day: `22:00-01:00` on Friday lasts into Saturday's first hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    days: Days,
    start: u16,
    end: u16,
}

/// A window that does not read as one; the message says how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a window: {why} (write e.g. \"mon-fri 06:30-08:30\" or \"sat,sun 08:00-23:30\")")]
pub struct WindowError {
    text: String,
    why: String,
}

/// Minutes after midnight for `HH:MM`; `24:00` is the end of the day.
fn minutes(text: &str) -> Result<u16, String> {
    let bad = || format!("`{text}` is not a time of day like 06:30");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Window, WindowError> {
        let fail = |why: String| WindowError { text: text.to_owned(), why };
        let words: Vec<&str> = text.split_whitespace().collect();
        let (days, times) = match words.as_slice() {
            [times] => (Days::EVERY, *times),
            [days, times] => (Days::parse(days).map_err(fail)?, *times),
            _ => return Err(fail("it should be days, a space, and two times".into())),
        };
        let (start, end) = times
            .split_once('-')
            .ok_or_else(|| fail("the times need a `-` between them".into()))?;
        let (start, end) = (minutes(start).map_err(fail)?, minutes(end).map_err(fail)?);
        if start == end {
            return Err(fail("it starts and ends at the same time; all day is 00:00-24:00".into()));
        }
        if start == 24 * 60 {
            return Err(fail("it starts at 24:00, the end of the day".into()));
        }
        Ok(Window { days, start, end })
    }
}

impl<'de> serde::Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Window {
    /// As people write it: `mon-fri 06:30-08:30`, `sat,sun 08:00-23:30`, `fri-mon …`, and
    /// every day without days (`07:00-22:00`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let times = format!("{}-{}", hm(self.start), hm(self.end));
        if self.days == Days::EVERY {
            return f.write_str(&times);
        }
        let set = |d: usize| self.days.0 & (1 << (d % 7)) != 0;
        // From Monday, unless a run goes over the weekend into Monday: then from its start.
        let start =
            if set(6) && set(0) { (0..7).rev().find(|&d| !set(d)).map_or(0, |d| d + 1) } else { 0 };
        let mut parts = Vec::new();
        let mut d = start;
        while d < start + 7 {
            if !set(d) {
                d += 1;
                continue;
            }
            let first = d;
            while d < start + 7 && set(d) {
                d += 1;
            }
            let (a, b) = (DAY_NAMES[first % 7], DAY_NAMES[(d - 1) % 7]);
            parts.push(match d - first {
                1 => a.to_owned(),
                2 => format!("{a},{b}"),
                _ => format!("{a}-{b}"),
            });
        }
        write!(f, "{} {times}", parts.join(","))
    }
}

impl Window {
    /// Whether the civil time `at` is inside this window.
    fn contains(&self, at: DateTime) -> bool {
        let minute = at.hour() as u16 * 60 + at.minute() as u16;
        let today = at.date().weekday();
        if self.start < self.end {
            self.days.has(today) && (self.start..self.end).contains(&minute)
        } else {
            // Past midnight: the evening of a listed day, or the small hours after one.
            (self.days.has(today) && minute >= self.start)
                || (self.days.has(today.previous()) && minute < self.end)
        }
    }

    /// The civil times at which this window starts and ends, for a window starting on `day`.
    fn edges(&self, day: Date) -> [Option<DateTime>; 2] {
        let at = |date: Date, m: u16| -> Option<DateTime> {
            if m == 24 * 60 {
                Some(date.tomorrow().ok()?.at(0, 0, 0, 0))
            } else {
                Some(date.at((m / 60) as i8, (m % 60) as i8, 0, 0))
            }
        };
        let end_day = if self.end > self.start { Some(day) } else { day.tomorrow().ok() };
        [at(day, self.start), end_day.and_then(|d| at(d, self.end))]
    }
}

/// The windows the screen is on in. Empty: always on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    windows: Vec<Window>,
}

impl Schedule {
    pub fn new(windows: Vec<Window>) -> Schedule {
        Schedule { windows }
    }

    /// Whether the screen is on at the civil time `at`.
    pub fn is_on_at(&self, at: DateTime) -> bool {
        self.windows.is_empty() || self.windows.iter().any(|w| w.contains(at))
    }

    /// Whether the screen is on at `now`.
    pub fn is_on(&self, now: &Zoned) -> bool {
        self.is_on_at(now.datetime())
    }

    /// When the screen next turns on or off after `now` (in `now`'s zone); `None` when it
    /// never does (no windows, or windows that cover every minute).
    pub fn next_change(&self, now: &Zoned) -> Option<Zoned> {
        if self.windows.is_empty() {
            return None;
        }
        let tz: &TimeZone = now.time_zone();
        let on = self.is_on(now);
        let today = now.date();
        // Every edge from yesterday (a window past midnight) to a week and a day ahead,
        // as instants; the first one where the answer differs is the change.
        let mut edges: Vec<Zoned> = (-1i64..=8)
            .filter_map(|d| today.checked_add(jiff::Span::new().days(d)).ok())
            .flat_map(|day| self.windows.iter().flat_map(move |w| w.edges(day)))
            .flatten()
            .filter_map(|civil| tz.to_zoned(civil).ok())
            .filter(|z| z.timestamp() > now.timestamp())
            .collect();
        edges.sort_by_key(Zoned::timestamp);
        edges.dedup_by_key(|z| z.timestamp());
        edges.into_iter().find(|z| self.is_on(z) != on)
    }
}

/// The clock the screen follows: the system's, or (for tests of a schedule, which cannot wait
/// for 9 in the morning) one that starts at a given moment and runs at the system's pace.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: TimeZone,
    /// Added to the system time.
    offset: jiff::SignedDuration,
}

impl Clock {
    /// The system clock in the system's time zone (`TZ`, else `/etc/localtime`).
    pub fn system() -> Clock {
        let tz = TimeZone::try_system().unwrap_or_else(|e| {
            tracing::warn!("cannot read the system's time zone ({e}): the schedule uses UTC");
            TimeZone::UTC
        });
        Clock { tz, offset: jiff::SignedDuration::ZERO }
    }

    /// The system clock, unless `DISCORD_FRAME_CLOCK` names the moment it should read now
    /// (an RFC 3339 time, e.g. `2026-12-07T17:05:00+01:00`): how the tests start a frame at
    /// 17:05 without waiting for it. The zone stays the system's.
    pub fn from_env() -> Clock {
        let system = Clock::system();
        let Ok(start) = std::env::var("DISCORD_FRAME_CLOCK") else { return system };
        match start.parse::<Timestamp>() {
            Ok(start) => {
                tracing::warn!("DISCORD_FRAME_CLOCK: the schedule's clock starts at {start}");
                Clock::starting_at(start, system.tz)
            }
            Err(e) => {
                tracing::warn!("DISCORD_FRAME_CLOCK=`{start}` is not a time ({e}): ignored");
                system
            }
        }
    }

    /// A clock that reads `start` now and runs on from there.
    pub fn starting_at(start: Timestamp, tz: TimeZone) -> Clock {
        Clock { tz, offset: start.duration_since(Timestamp::now()) }
    }

    pub fn now(&self) -> Zoned {
        let now = Timestamp::now().checked_add(self.offset).unwrap_or_else(|_| Timestamp::now());
        now.to_zoned(self.tz.clone())
    }

    /// How long from now until `at` (zero if it has passed).
    pub fn until(&self, at: &Zoned) -> std::time::Duration {
        let left = at.timestamp().duration_since(self.now().timestamp());
        std::time::Duration::try_from(left).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(windows: &[&str]) -> Schedule {
        Schedule::new(windows.iter().map(|w| w.parse().unwrap()).collect())
    }

    fn at(tz: &str, text: &str) -> Zoned {
        let civil: DateTime = text.parse().unwrap();
        civil.to_zoned(TimeZone::get(tz).unwrap()).unwrap()
    }

    fn next(s: &Schedule, now: &Zoned) -> String {
        s.next_change(now).map(|z| z.datetime().to_string()).unwrap_or_default()
    }

    #[test]
    fn windows_read_as_written_and_mistakes_say_how_to_write_them() {
        let w: Window = "mon-fri 06:30-08:30".parse().unwrap();
        assert_eq!(w.to_string(), "mon-fri 06:30-08:30");
        let w: Window = "Fri-Mon 22:00-01:00".parse().unwrap();
        assert_eq!(w.to_string(), "fri-mon 22:00-01:00");
        let w: Window = "07:00-24:00".parse().unwrap();
        assert_eq!(w.to_string(), "07:00-24:00");
        // What it writes reads back as the same window.
        for text in ["sat,sun 08:00-23:30", "mon,wed,fri 09:00-10:00", "sun-tue,thu 01:00-02:00"] {
            let w: Window = text.parse().unwrap();
            assert_eq!(w.to_string(), text);
            assert_eq!(w.to_string().parse::<Window>().unwrap(), w);
        }
        let w: Window = "mon,wed,fri,sat,sun 09:00-10:00".parse().unwrap();
        assert_eq!(w.to_string(), "fri-mon,wed 09:00-10:00");
        for (bad, says) in [
            ("mon-fry 06:30-08:30", "`fry` is not a day"),
            ("mon-fri 6.30-8.30", "`6.30` is not a time of day"),
            ("mon 0800", "the times need a `-`"),
            ("mon-fri 06:30-25:00", "`25:00` is not a time"),
            ("mon 08:00-08:00", "all day is 00:00-24:00"),
            ("mon fri 08:00-09:00", "days, a space, and two times"),
        ] {
            let err = bad.parse::<Window>().unwrap_err().to_string();
            assert!(err.contains(says) && err.contains("mon-fri 06:30-08:30"), "{bad}: {err}");
        }
    }

    #[test]
    fn on_inside_windows_off_outside_and_past_midnight_belongs_to_the_evening_before() {
        let s = schedule(&["mon-fri 06:30-08:30", "fri 22:00-01:00", "sat,sun 08:00-23:30"]);
        // 2026-12-07 is a Monday.
        let z = |t: &str| at("Europe/Berlin", t);
        assert!(s.is_on(&z("2026-12-07T06:30")) && s.is_on(&z("2026-12-07T08:29")));
        assert!(!s.is_on(&z("2026-12-07T08:30")) && !s.is_on(&z("2026-12-07T06:29")));
        assert!(s.is_on(&z("2026-12-11T23:00")), "Friday night");
        assert!(s.is_on(&z("2026-12-12T00:30")), "Friday's window goes on into Saturday");
        assert!(!s.is_on(&z("2026-12-13T00:30")), "Saturday has no night window");
        assert!(!s.is_on(&z("2026-12-12T01:00")));
        assert!(Schedule::default().is_on(&z("2026-12-12T03:00")), "no windows: always on");
    }

    #[test]
    fn the_next_change_is_found_across_days_and_weekends() {
        let s = schedule(&["mon-fri 09:00-17:00"]);
        let z = |t: &str| at("Europe/Berlin", t);
        assert_eq!(next(&s, &z("2026-12-07T17:05")), "2026-12-08T09:00:00");
        assert_eq!(next(&s, &z("2026-12-08T09:00")), "2026-12-08T17:00:00");
        assert_eq!(next(&s, &z("2026-12-11T17:00")), "2026-12-14T09:00:00", "over the weekend");
        // Back-to-back windows are one stretch.
        let s = schedule(&["mon 08:00-12:00", "mon 12:00-14:00"]);
        assert_eq!(next(&s, &z("2026-12-07T09:00")), "2026-12-07T14:00:00");
        // Every minute covered: no change ever.
        let s = schedule(&["00:00-24:00"]);
        assert_eq!(s.next_change(&z("2026-12-07T09:00")), None);
        assert_eq!(Schedule::default().next_change(&z("2026-12-07T09:00")), None);
    }

    #[test]
    fn daylight_saving_changes_move_the_instant_not_the_civil_time() {
        let s = schedule(&["06:00-23:00"]);
        // Europe/Berlin springs forward on 2027-03-28 at 02:00 (to 03:00) and falls back on
        // 2026-10-25 at 03:00 (to 02:00).
        let spring = at("Europe/Berlin", "2027-03-27T23:30");
        let on = s.next_change(&spring).unwrap();
        assert_eq!(on.datetime().to_string(), "2027-03-28T06:00:00");
        // Six and a half hours of civil time, five and a half of real time.
        let real = on.timestamp().duration_since(spring.timestamp());
        assert_eq!(real, jiff::SignedDuration::from_mins(5 * 60 + 30));
        let autumn = at("Europe/Berlin", "2026-10-24T23:30");
        let on = s.next_change(&autumn).unwrap();
        let real = on.timestamp().duration_since(autumn.timestamp());
        assert_eq!(real, jiff::SignedDuration::from_mins(7 * 60 + 30));
        // A window that starts in the spring gap starts at the gap's end.
        let s = schedule(&["02:30-05:00"]);
        let on = s.next_change(&at("Europe/Berlin", "2027-03-28T01:00")).unwrap();
        assert_eq!(on.datetime().to_string(), "2027-03-28T03:30:00");
        assert!(s.is_on(&on));
    }

    #[test]
    fn a_clock_started_at_a_moment_reads_that_moment_and_runs_on() {
        let start: Timestamp = "2026-12-07T16:05:00Z".parse().unwrap();
        let clock = Clock::starting_at(start, TimeZone::get("Europe/Berlin").unwrap());
        let now = clock.now();
        assert_eq!(now.hour(), 17);
        assert!(now.timestamp().duration_since(start).as_secs() < 5);
        let later = at("Europe/Berlin", "2026-12-07T17:06");
        let wait = clock.until(&later).as_secs();
        assert!((55..=60).contains(&wait), "{wait}");
    }
}
