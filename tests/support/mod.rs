//! Helpers shared by the integration tests: fixtures, a picture-quality measure, and large
//! photos made at test time from the committed (small, real) ones.
#![allow(dead_code)] // Each test crate uses a different subset.
#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{imageops, RgbImage, RgbaImage};

/// Polls `done` every 10 ms until it gives `Some`; after `within`, fails the test with
/// `what()` (evaluated only then, so it can describe the state that was waited for).
pub fn wait_for<T>(
    within: std::time::Duration,
    what: impl Fn() -> String,
    mut done: impl FnMut() -> Option<T>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(t) = done() {
            return t;
        }
        assert!(start.elapsed() < within, "after {within:?}: {}", what());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Peak signal-to-noise ratio of two same-sized RGB(A) images over their colour channels, in
/// dB: above ~40 the difference is invisible, below ~25 it is plain to see.
pub fn psnr(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "PSNR of images of different sizes");
    let mut sum = 0.0;
    let mut n = 0.0;
    for (pa, pb) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            let d = f64::from(pa[c]) - f64::from(pb[c]);
            sum += d * d;
            n += 1.0;
        }
    }
    let mse = sum / n;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// A `width`×`height` mosaic of the ladybird photo at its native resolution, every other tile
/// mirrored, so that the whole frame has real photographic detail (not an upscaled blur).
pub fn mosaic(width: u32, height: u32) -> RgbImage {
    let tile = image::load_from_memory(&fixture("ladybird.png")).unwrap().to_rgb8();
    let flipped = imageops::flip_horizontal(&tile);
    let mut out = RgbImage::new(width, height);
    for (ty, y) in (0..height).step_by(tile.height() as usize).enumerate() {
        for (tx, x) in (0..width).step_by(tile.width() as usize).enumerate() {
            let t = if (tx + ty) % 2 == 0 { &tile } else { &flipped };
            imageops::replace(&mut out, t, i64::from(x), i64::from(y));
        }
    }
    out
}

/// A JPEG (q90) of [`mosaic`], written once per build under the target dir and reused.
pub fn large_jpeg(width: u32, height: u32) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("mosaic-{width}x{height}.jpg"));
    if !path.exists() {
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&mosaic(width, height))
            .unwrap();
        // Written under a temporary name and renamed, so that parallel tests never read half.
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// Runs the real binary.
pub fn discord_frame(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_discord-frame")).args(args).output().unwrap()
}

/// Runs the real binary with its address space capped (`ulimit -v`), so that a file which
/// made it allocate for the size its header claims would crash it instead of passing.
pub fn discord_frame_capped(cap_mb: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", cap_mb * 1024))
        .arg(env!("CARGO_BIN_EXE_discord-frame"))
        .args(args)
        .output()
        .unwrap()
}

/// `discord-frame render INPUT --size SIZE --out OUT`, with the address space capped at
/// `cap_mb` when given.
pub fn render_cmd(input: &Path, size: &str, out: &Path, cap_mb: Option<u64>) -> Output {
    let args = ["render", input.to_str().unwrap(), "--size", size, "--out", out.to_str().unwrap()];
    match cap_mb {
        Some(cap) => discord_frame_capped(cap, &args),
        None => discord_frame(&args),
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
pub mod discord;
pub mod frame;
pub mod xvfb;

/// A clip or animation made by ffmpeg (Debian's) at test time: `args` are its input and
/// encoding options, `ext` the container. Tests that call this are ignored by default and run
/// by `.ci/run`, which installs ffmpeg.
pub fn ffmpeg_clip(args: &[&str], ext: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("clip.{ext}"));
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run ffmpeg ({e}): apt install ffmpeg"));
    assert!(status.success(), "ffmpeg {args:?} failed");
    std::fs::read(&out).unwrap()
}
