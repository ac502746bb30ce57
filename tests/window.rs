//! A real window under Xvfb, for both presenters: what X shows must be what
//! `/api/screenshot.png` says is on the screen. Run by `.ci/run`, which installs Xvfb, Mesa's
//! lavapipe (software Vulkan, for pixels) and ImageMagick.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::fixture;
use support::frame::{Frame, FrameOptions};
use support::xvfb::Xvfb;

/// The largest difference of any channel between two images of the same size.
fn max_diff(a: &image::RgbaImage, b: &image::RgbaImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .chunks_exact(4)
        .zip(b.as_raw().chunks_exact(4))
        .map(|(p, q)| (0..3).map(|i| p[i].abs_diff(q[i])).max().unwrap())
        .max()
        .unwrap()
}

fn start(x: &Xvfb, backend: &str, data: &std::path::Path) -> Frame {
    let mut opts = FrameOptions::headless(data);
    opts.args = vec!["--display".into(), backend.into()];
    opts.config = "[display]\ntransition = \"300ms\"\n";
    opts.env =
        vec![("DISPLAY".into(), x.display.clone()), ("WAYLAND_DISPLAY".into(), String::new())];
    Frame::start(opts)
}

/// Waits until the X screen shows what the frame says it shows (the fade has ended).
fn assert_screen_matches(x: &Xvfb, frame: &Frame, tolerance: u8) {
    let start = Instant::now();
    loop {
        let (screen, shot) = (x.capture(), frame.screenshot());
        let diff = max_diff(&screen, &shot);
        if diff <= tolerance {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the X screen differs from /api/screenshot.png by up to {diff}\n{}",
            frame.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn window_shows_the_photos(backend: &str, tolerance: u8) {
    let x = Xvfb::start(800, 480);
    let dir = tempfile::tempdir().unwrap();
    let frame = start(&x, backend, &dir.path().join("data"));
    let status = frame.status();
    assert_eq!(status["display"]["backend"], backend, "{status}");
    // The window covers the monitor: slides are rendered at its size.
    assert_eq!(
        (status["display"]["width"].as_u64(), status["display"]["height"].as_u64()),
        (Some(800), Some(480)),
        "{status}"
    );

    // The welcome slide, then two photos (the second fades in over the first).
    assert_screen_matches(&x, &frame, tolerance);
    for name in ["ladybird.jpg", "orient-6.jpg"] {
        let body: Value = frame.upload(fixture(name)).json().unwrap();
        let id = body["photos"][0]["id"].as_i64().unwrap();
        frame.wait_current(id, Duration::from_secs(2));
        assert_screen_matches(&x, &frame, tolerance);
    }
    let status = frame.terminate();
    assert!(status.success(), "SIGTERM: {status}");
}

#[test]
#[ignore = "needs Xvfb: run by .ci/run"]
fn softbuffer_window_under_xvfb() {
    window_shows_the_photos("softbuffer", 0);
}

#[test]
#[ignore = "needs Xvfb and Mesa's lavapipe: run by .ci/run"]
fn pixels_window_under_xvfb() {
    // wgpu renders through an sRGB texture: a channel may round differently by one or two.
    window_shows_the_photos("pixels", 2);
}

#[test]
#[ignore = "needs Xvfb and Mesa's lavapipe: run by .ci/run"]
fn auto_picks_softbuffer_when_the_only_gpu_is_a_cpu_one() {
    let x = Xvfb::start(640, 360);
    let dir = tempfile::tempdir().unwrap();
    let frame = start(&x, "auto", &dir.path().join("data"));
    let start = Instant::now();
    while frame.status()["display"]["backend"] == "starting" {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(frame.status()["display"]["backend"], "softbuffer", "{}", frame.log());
    assert!(
        frame.log().contains("CPU rasteriser") || frame.log().contains("no Vulkan GPU"),
        "{}",
        frame.log()
    );
}
