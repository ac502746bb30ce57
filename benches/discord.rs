//! Message received → photo on screen, through the real bot: the fake Discord dispatches a
//! MESSAGE_CREATE with a 12 MP JPEG attachment on its CDN, and the clock stops when the
//! frame's `/api/status` names the new photo as current. In the same run, for ratios that a
//! noisy machine cannot fake: the same photo uploaded over HTTP (upload → on screen), and
//! `discord-frame render` alone (a whole process decoding and fitting it).
//!
//! `cargo bench --bench discord` builds everything in release. CI, which has a release binary
//! already, runs `DISCORD_FRAME_BIN=target/release/discord-frame cargo test --bench discord`
//! instead: the harness (the fake Discord) is then a debug build, and the frame measured is
//! the release one. `BENCH_N` sets the number of messages (15).
//! Input: `bench-photos/12mp.jpg` (scripts/make-bench-photos.sh) when present, else a 12 MP
//! mosaic of the ladybird fixture made on the spot.
//!
//! Then a phone's clip the same way: a 10 s 1080p30 H.264 MP4 (made by ffmpeg on the spot)
//! sent as a `video/mp4` attachment, timed until its first frame is on screen, against the
//! photo. It needs ffmpeg and GStreamer's tools; without them that part says so and is left
//! out.

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::discord::{user, FakeDiscord, CHANNELS};
use support::frame::{Frame, FrameOptions};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The photo with `i` appended after its end: a different file (not a duplicate) that
/// decodes the same.
fn variant(jpeg: &[u8], i: usize) -> Vec<u8> {
    let mut v = jpeg.to_vec();
    v.extend_from_slice(format!("bench-{i}").as_bytes());
    v
}

fn wait_new_current(frame: &Frame, before: Option<i64>) -> Instant {
    let start = Instant::now();
    loop {
        let now = frame.current_id();
        if now.is_some() && now != before {
            return Instant::now();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the photo never showed");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let prepared = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-photos/12mp.jpg");
    let path = if prepared.exists() { prepared } else { support::large_jpeg(4032, 3024) };
    let jpeg = std::fs::read(&path).unwrap();

    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    // A clip plays once, then rests on its last frame: the next one arrives at an idle frame.
    let config = fake.config("\n[video]\nloops = 1");
    let bin = std::env::var_os("DISCORD_FRAME_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_discord-frame").into());
    let data = dir.path().join("data");
    let mut opts = FrameOptions::headless(&data);
    opts.bin = bin.clone();
    opts.config = &config;
    opts.args = vec!["--display".into(), "headless".into(), "--size".into(), "1920x1080".into()];
    let frame = Frame::start(opts);
    frame.wait_discord("connected", Duration::from_secs(30));

    let anna = user(11, "anna");
    let mut discord = Vec::new();
    let mut http = Vec::new();
    let mut render = Vec::new();
    for i in 0..n {
        // Each timed step starts with the frame idle: after a photo shows, the slideshow renders
        // the next one ahead, and a photo arriving meanwhile waits for that render (one render
        // at a time), which would charge it to whichever path came second.
        std::thread::sleep(Duration::from_millis(400));
        // Over Discord.
        let bytes = variant(&jpeg, 2 * i);
        let name = format!("p{i}.jpg");
        let url = fake.serve_file(&name, bytes.clone());
        let msg = fake.message(CHANNELS[0].0, &anna, "", &[(&name, &url, bytes.len())]);
        discord.push(to_screen(&fake, &frame, &msg));

        // Over HTTP.
        std::thread::sleep(Duration::from_millis(400));
        let before = frame.current_id();
        let body = variant(&jpeg, 2 * i + 1);
        let t0 = Instant::now();
        let resp = frame.http.post(format!("{}/api/photos", frame.url)).body(body).send().unwrap();
        assert_eq!(resp.status(), 201);
        http.push(ms(wait_new_current(&frame, before) - t0));

        // `render` alone.
        let out = dir.path().join("out.png");
        let t0 = Instant::now();
        let done = std::process::Command::new(&bin)
            .arg("render")
            .arg(&path)
            .args(["--size", "1920x1080", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(done.status.success(), "{}", support::stderr(&done));
        render.push(ms(t0.elapsed()));
    }
    let clips = clip_to_screen(&fake, &frame, n.min(5));
    let (d, h, r) = (median(discord), median(http), median(render));
    println!("message received -> on screen, 12 MP JPEG via the fake CDN, 1080p, n={n}");
    println!("  binary: {}", bin.display());
    println!("  discord: median {d:.0} ms (target <= 250 ms)");
    println!("  http upload -> on screen: median {h:.0} ms");
    println!("  render alone (process): median {r:.0} ms");
    println!("  ratio discord/render {:.2}x, discord/http {:.2}x", d / r, d / h);
    match clips {
        Ok(c) => {
            let m = median(c.clone());
            println!(
                "message received -> first frame on screen, 10 s 1080p30 H.264 MP4, n={}",
                c.len()
            );
            println!("  clip: median {m:.0} ms; 12 MP JPEG above: median {d:.0} ms; ratio clip/photo {:.2}x", m / d);
        }
        Err(why) => println!("clip: not measured: {why}"),
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", frame.child.id())).unwrap();
    let rss = status.lines().find(|l| l.starts_with("VmRSS")).unwrap_or("VmRSS: ?");
    println!("  frame after {} photos, Discord connected: {}", 2 * n, rss.replace("  ", " "));
    fake.shutdown();
}

/// Dispatches `msg` and answers the time until its photo (or clip's first frame) is on
/// screen, in ms; then waits for the done reaction, so that the frame is done with it.
fn to_screen(fake: &FakeDiscord, frame: &Frame, msg: &serde_json::Value) -> f64 {
    let before = frame.current_id();
    let t0 = Instant::now();
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    let shown = ms(wait_new_current(frame, before) - t0);
    let id: u64 = msg["id"].as_str().unwrap().parse().unwrap();
    let wait = Instant::now();
    while fake.reactions(id).last().is_none_or(|r| r != "+💯") {
        assert!(wait.elapsed() < Duration::from_secs(30), "no done reaction");
        std::thread::sleep(Duration::from_millis(5));
    }
    shown
}

/// Whether `tool` is on the PATH.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Message received -> first frame on screen for `n` different 10 s 1080p clips, in ms.
fn clip_to_screen(fake: &FakeDiscord, frame: &Frame, n: usize) -> Result<Vec<f64>, String> {
    let missing: Vec<&str> = ["ffmpeg", "gst-launch-1.0", "gst-discoverer-1.0"]
        .into_iter()
        .filter(|tool| !on_path(tool))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} not installed (apt install ffmpeg gstreamer1.0-tools)",
            missing.join(", ")
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let src = "testsrc2=size=1920x1080:rate=30";
    let args = ["-f", "lavfi", "-i", src, "-t", "10", "-c:v", "libx264", "-preset", "veryfast"];
    let encoded = support::ffmpeg_clip(&[&args[..], &["-pix_fmt", "yuv420p"]].concat(), "mp4");
    std::fs::write(&clip, encoded).unwrap();
    let anna = user(12, "anna");
    let mut times = Vec::new();
    for i in 0..n {
        // The same picture in a different file (not a duplicate): remuxed with a tag.
        let tag = format!("comment=bench-{i}");
        let input = clip.to_str().unwrap();
        let bytes = support::ffmpeg_clip(&["-i", input, "-c", "copy", "-metadata", &tag], "mp4");
        let name = format!("clip{i}.mp4");
        let url = fake.serve_file(&name, bytes.clone());
        let attachment = fake.attachment(&name, &url, bytes.len(), "video/mp4");
        let msg = fake.message_with(CHANNELS[0].0, &anna, "", vec![attachment]);
        times.push(to_screen(fake, frame, &msg));
        // It plays once (10 s), then the frame is idle again.
        std::thread::sleep(Duration::from_millis(10_500));
    }
    Ok(times)
}
