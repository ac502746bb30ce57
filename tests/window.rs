//! A real window under Xvfb, for both presenters: what X shows must be what
//! `/api/screenshot.png` says is on the screen. Run by `.ci/run`, which installs Xvfb, Mesa's
//! lavapipe (software Vulkan, for pixels) and ImageMagick.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::frame::{Frame, FrameOptions};
use support::xvfb::Xvfb;
use support::{fixture, wait_for};

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
    start_with(x, backend, data, "[display]\ntransition = \"300ms\"\n")
}

fn start_with(x: &Xvfb, backend: &str, data: &std::path::Path, config: &'static str) -> Frame {
    let mut opts = FrameOptions::headless(data);
    opts.args = vec!["--display".into(), backend.into()];
    opts.config = config;
    opts.env =
        vec![("DISPLAY".into(), x.display.clone()), ("WAYLAND_DISPLAY".into(), String::new())];
    Frame::start(opts)
}

/// Waits until the X screen shows what the frame says it shows (the fade has ended).
fn assert_screen_matches(x: &Xvfb, frame: &Frame, tolerance: u8) {
    assert_screen_shows(x, frame, tolerance, |shot| shot);
}

/// Waits until the X screen shows the screenshot as `turn` makes it (a screen mounted turned).
fn assert_screen_shows(
    x: &Xvfb,
    frame: &Frame,
    tolerance: u8,
    turn: impl Fn(image::RgbaImage) -> image::RgbaImage,
) {
    let start = Instant::now();
    loop {
        let (screen, shot) = (x.capture(), turn(frame.screenshot()));
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

/// A screen mounted turned a quarter (`rotate = 90`): slides are composed upright for a
/// portrait screen (the screenshot, what a person sees), and the panel gets them turned a
/// quarter clockwise, on both presenters.
fn a_turned_screen_shows_upright_photos(backend: &str, tolerance: u8) {
    let x = Xvfb::start(800, 480);
    let dir = tempfile::tempdir().unwrap();
    let config = "[display]\ntransition = \"0s\"\nrotate = 90\n";
    let frame = start_with(&x, backend, &dir.path().join("data"), config);
    let status = frame.status();
    assert_eq!(
        (status["display"]["width"].as_u64(), status["display"]["height"].as_u64()),
        (Some(480), Some(800)),
        "composed for the portrait screen: {status}"
    );
    let quarter = |shot: image::RgbaImage| image::imageops::rotate90(&shot);
    assert_screen_shows(&x, &frame, tolerance, quarter);
    let body: Value = frame.upload(fixture("orient-6.jpg")).json().unwrap();
    frame.wait_current(body["photos"][0]["id"].as_i64().unwrap(), Duration::from_secs(2));
    assert_eq!(frame.screenshot().dimensions(), (480, 800));
    assert_screen_shows(&x, &frame, tolerance, quarter);
}

#[test]
#[ignore = "needs Xvfb: run by .ci/run"]
fn a_turned_screen_under_xvfb_softbuffer() {
    a_turned_screen_shows_upright_photos("softbuffer", 0);
}

#[test]
#[ignore = "needs Xvfb and Mesa's lavapipe: run by .ci/run"]
fn a_turned_screen_under_xvfb_pixels() {
    a_turned_screen_shows_upright_photos("pixels", 2);
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

/// Asleep, the real window is black. Xvfb has no DPMS extension, so the frame says that it
/// falls back to black, and why; awake, the window shows the slide again.
#[test]
#[ignore = "needs Xvfb: run by .ci/run"]
fn asleep_the_window_is_black_and_the_status_says_why_not_dpms() {
    let x = Xvfb::start(640, 360);
    let dir = tempfile::tempdir().unwrap();
    let frame = start(&x, "softbuffer", &dir.path().join("data"));
    assert_screen_matches(&x, &frame, 0);
    let set = |on: bool| {
        let url = format!("{}/api/screen", frame.url);
        let resp = frame.http.post(url).json(&serde_json::json!({ "on": on })).send().unwrap();
        resp.json::<serde_json::Value>().unwrap()
    };
    let off = set(false);
    assert_eq!((&off["screen"], &off["power_method"]), (&"off".into(), &"black".into()));
    let note = off["power_note"].as_str().unwrap();
    assert!(note.contains("no DPMS extension"), "{note}");
    let black = || x.capture().pixels().all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0);
    let five = Duration::from_secs(5);
    wait_for(five, || "the window is not black".into(), || black().then_some(()));
    assert_eq!(set(true)["screen"], "on");
    assert_screen_matches(&x, &frame, 0);
    assert!(!black());
}

/// A clip plays in the real window: what X shows changes while it plays, and is a frame of
/// the clip (ffmpeg's own decode, placed as the frame places it: 800×450 between black bars).
/// A clip of `size` plays on an 800×480 window, as ffmpeg scales it with `fit` (a filter).
fn a_clip_plays_in_the_window(backend: &str, size: &str, fit: &str) {
    let x = Xvfb::start(800, 480);
    let dir = tempfile::tempdir().unwrap();
    let config = "[display]\ntransition = \"0s\"\nmatte = \"black\"\n";
    let frame = start_with(&x, backend, &dir.path().join("data"), config);
    let testsrc = format!("testsrc2=size={size}:rate=10");
    let src = ["-f", "lavfi", "-i", &testsrc, "-t", "4"];
    let clip = support::ffmpeg_clip(
        &[&src[..], &["-c:v", "libx264", "-pix_fmt", "yuv420p"]].concat(),
        "mp4",
    );
    let resp = frame.upload(clip);
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().unwrap()["photos"][0]["id"].as_i64().unwrap();
    let frames = {
        let out = std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error"])
            .args(src)
            .args(["-vf", fit, "-f", "rawvideo"])
            .args(["-pix_fmt", "rgba", "-"])
            .output()
            .unwrap();
        out.stdout
            .chunks_exact(800 * 480 * 4)
            .map(|f| image::RgbaImage::from_raw(800, 480, f.to_vec()).unwrap())
            .collect::<Vec<_>>()
    };
    // The still is decoded after the upload answers: on a busy machine that can outlast a
    // fixed wait, and the window would still show the welcome slide.
    frame.wait_current(id, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let first = x.capture();
    std::thread::sleep(Duration::from_secs(1));
    let second = x.capture();
    assert!(max_diff(&first, &second) > 30, "the window did not change while the clip played");
    for shot in [&first, &second] {
        let best = frames.iter().map(|f| support::psnr(shot, f)).fold(0.0_f64, f64::max);
        println!("{backend}: the window shows a frame of the clip at {best:.1} dB");
        assert!(best >= 28.0, "{backend}: the window is not a frame of the clip ({best:.1} dB)");
    }
}

#[test]
#[ignore = "needs Xvfb, GStreamer and ffmpeg: run by .ci/run"]
fn a_clip_plays_under_xvfb_softbuffer() {
    a_clip_plays_in_the_window("softbuffer", "640x360", LETTERBOXED);
}

/// A clip of the window's shape: softbuffer converts its frames straight into the window's
/// buffer, without RGBA between (the colours must come out right all the same).
#[test]
#[ignore = "needs Xvfb, GStreamer and ffmpeg: run by .ci/run"]
fn a_clip_that_fills_the_window_plays_under_xvfb_softbuffer() {
    a_clip_plays_in_the_window("softbuffer", "400x240", "scale=800:480");
}

#[test]
#[ignore = "needs Xvfb, Mesa's lavapipe, GStreamer and ffmpeg: run by .ci/run"]
fn a_clip_plays_under_xvfb_pixels() {
    a_clip_plays_in_the_window("pixels", "640x360", LETTERBOXED);
}

/// A 16:9 clip on the 5:3 window, fitted: black bars above and below.
const LETTERBOXED: &str = "scale=800:450,pad=800:480:0:15:black";

/// A phone's upright clip under a caption, on the landscape window: the presenters write the
/// still around the picture once and keep it while the frames change (their buffers hold what
/// was presented), so what X shows around the picture must stay the still, matte and caption
/// band alike, frame after frame.
fn an_upright_clip_keeps_its_still_around_it(backend: &str, tolerance: u8) {
    let x = Xvfb::start(800, 480);
    let dir = tempfile::tempdir().unwrap();
    let frame =
        start_with(&x, backend, &dir.path().join("data"), "[display]\ntransition = \"0s\"\n");
    let testsrc = ["-f", "lavfi", "-i", "testsrc2=size=240x400:rate=10", "-t", "4"];
    let h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"];
    let clip = support::ffmpeg_clip(&[&testsrc[..], &h264[..]].concat(), "mp4");
    let url = format!("{}/api/photos?caption=At%20the%20lake", frame.url);
    let resp = frame.http.post(url).body(clip).send().unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().unwrap()["photos"][0]["id"].as_i64().unwrap();
    // 240×400 fitted to 800×480 is 288×480 from x = 256: the columns left and right of it.
    let around = |img: &image::RgbaImage| -> Vec<u8> {
        img.enumerate_pixels()
            .filter(|(x, _, _)| *x < 250 || *x >= 550)
            .flat_map(|(_, _, p)| [p[0], p[1], p[2]])
            .collect()
    };
    let picture =
        |img: &image::RgbaImage| image::imageops::crop_imm(img, 260, 0, 280, 400).to_image();
    frame.wait_current(id, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let still = around(&frame.screenshot());
    assert!(still.iter().any(|&c| c > 40), "the matte around the picture is not black");
    let first = x.capture();
    std::thread::sleep(Duration::from_secs(1));
    let second = x.capture();
    assert!(
        max_diff(&picture(&first), &picture(&second)) > 30,
        "{backend}: the picture did not change while the clip played"
    );
    for shot in [&first, &second] {
        let diff = around(shot).iter().zip(&still).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(
            diff <= tolerance,
            "{backend}: around the picture X differs from the still by {diff}"
        );
    }
}

#[test]
#[ignore = "needs Xvfb, GStreamer and ffmpeg: run by .ci/run"]
fn an_upright_clip_keeps_its_still_around_it_under_xvfb_softbuffer() {
    an_upright_clip_keeps_its_still_around_it("softbuffer", 0);
}

#[test]
#[ignore = "needs Xvfb, Mesa's lavapipe, GStreamer and ffmpeg: run by .ci/run"]
fn an_upright_clip_keeps_its_still_around_it_under_xvfb_pixels() {
    // wgpu renders through an sRGB texture: a channel may round differently by one or two.
    an_upright_clip_keeps_its_still_around_it("pixels", 2);
}
