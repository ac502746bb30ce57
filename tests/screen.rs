//! The screen's day, end to end: a frame started (by its clock) just before its schedule turns
//! the screen on, photos stored while it is off, sleep and wake over HTTP. Headless, so the
//! power method is black: what a person would see is what the screenshot shows.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::frame::{error_of, Frame, FrameOptions};
use support::{fixture, wait_for};

const SECS: Duration = Duration::from_secs(1);

/// Whether every pixel of the screen is black.
fn black(frame: &Frame) -> bool {
    frame.screenshot().pixels().all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0)
}

fn screen(frame: &Frame) -> Value {
    frame.status()["screen"].clone()
}

/// A headless frame in Berlin whose clock starts at `clock` (RFC 3339).
fn start_at(dir: &std::path::Path, config: &'static str, clock: &str) -> Frame {
    let env = vec![
        ("TZ".to_owned(), "Europe/Berlin".to_owned()),
        ("DISCORD_FRAME_CLOCK".to_owned(), clock.to_owned()),
    ];
    Frame::start(FrameOptions { config, env, ..FrameOptions::headless(&dir.join("data")) })
}

fn set_screen(frame: &Frame, body: Value) -> reqwest::blocking::Response {
    frame.http.post(format!("{}/api/screen", frame.url)).json(&body).send().unwrap()
}

/// Tuesday 2026-12-08, six seconds before a 09:00 start: off, a photo arrives and is stored
/// without lighting the screen, then at 09:00 the screen comes on with that photo. Sleep and
/// wake over HTTP follow.
#[test]
fn the_schedule_turns_the_screen_on_with_the_photo_that_came_at_night_and_sleep_and_wake_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[schedule]\non = [\"mon-fri 09:00-17:00\"]\n[display]\ntransition = \"0s\"\n";
    let frame = start_at(dir.path(), config, "2026-12-08T08:59:54+01:00");
    let off = screen(&frame);
    assert_eq!(off["screen"], "off", "{off}");
    assert_eq!(off["why"], "schedule");
    assert_eq!(off["power_method"], "black");
    assert_eq!(off["next_change"], "2026-12-08T09:00:00+01:00[Europe/Berlin]");
    wait_for(5 * SECS, || "off is not black".into(), || black(&frame).then_some(()));

    let resp = frame.upload(fixture("ladybird.jpg"));
    assert_eq!(resp.status(), 201, "stored and acknowledged while off");
    let id = resp.json::<Value>().unwrap()["photos"][0]["id"].as_i64().unwrap();
    assert_eq!(frame.current_id(), Some(id), "it is what shows at wake");
    assert_eq!(screen(&frame)["screen"], "off");
    assert!(black(&frame), "a photo does not light the screen");

    wait_for(
        15 * SECS,
        || format!("not on: {}", screen(&frame)),
        || (screen(&frame)["screen"] == "on").then_some(()),
    );
    assert_eq!(screen(&frame)["next_change"], "2026-12-08T17:00:00+01:00[Europe/Berlin]");
    wait_for(5 * SECS, || "still black".into(), || (!black(&frame)).then_some(()));
    assert_eq!(frame.current_id(), Some(id));

    // Sleep for a minute: off, until then; wake: on again.
    let asleep: Value = set_screen(&frame, json!({ "on": false, "for": "1m" })).json().unwrap();
    assert_eq!((&asleep["screen"], &asleep["why"]), (&json!("off"), &json!("asked")));
    assert!(asleep["next_change"].as_str().unwrap().starts_with("2026-12-08T09:01:"), "{asleep}");
    wait_for(5 * SECS, || "not black asleep".into(), || black(&frame).then_some(()));
    let awake: Value = set_screen(&frame, json!({ "on": true })).json().unwrap();
    assert_eq!(awake["screen"], "on");
    wait_for(5 * SECS, || "still black awake".into(), || (!black(&frame)).then_some(()));

    // Mistakes are explained.
    let (status, code, message) = error_of(set_screen(&frame, json!({ "on": "maybe" })));
    assert_eq!((status, code.as_str()), (400, "bad_parameter"));
    assert!(message.contains("\"for\": \"2h\""), "{message}");
    let (status, _, message) = error_of(set_screen(&frame, json!({ "on": false, "for": "ever" })));
    assert_eq!(status, 400);
    assert!(message.contains("`ever` is not a length of time"), "{message}");
}

/// At night, a photo lights the screen for `wake_on_photo`, then it goes dark again by
/// itself; a motion sensor that this machine does not have is explained in the status, and
/// the frame goes on without it.
#[test]
fn a_photo_at_night_lights_the_screen_for_a_while_and_a_missing_sensor_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[schedule]\non = [\"mon-fri 09:00-17:00\"]\nwake_on_photo = \"3s\"\n\
                  motion_gpio = \"GPIO17\"\n[display]\ntransition = \"0s\"\n";
    let frame = start_at(dir.path(), config, "2026-12-08T23:00:00+01:00");
    let off = screen(&frame);
    assert_eq!(off["screen"], "off", "{off}");
    let sensor = off["motion_sensor"].as_str().unwrap_or_default().to_owned();
    assert!(sensor.contains("GPIO17"), "{off}");

    assert_eq!(frame.upload(fixture("ladybird.jpg")).status(), 201);
    wait_for(
        5 * SECS,
        || format!("a photo did not light the screen: {}", screen(&frame)),
        || (screen(&frame)["why"] == "photo" && !black(&frame)).then_some(()),
    );
    assert_eq!(screen(&frame)["screen"], "on");
    wait_for(
        10 * SECS,
        || format!("still lit after wake_on_photo: {}", screen(&frame)),
        || (screen(&frame)["screen"] == "off" && black(&frame)).then_some(()),
    );
    assert_eq!(screen(&frame)["why"], "schedule");
}
