//! The screen's power under a real wlroots compositor: a headless sway (it refuses to run as
//! root, so as `nobody`) runs the frame in a window; the schedule turns the screen off and on
//! and the frame asks sway through `wlr-output-power-management`. Debian 12's wlroots 0.15
//! cannot power off a headless output, so sway leaves it on without confirming: the frame must
//! say so in `/api/status` and show black, then come back on.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::frame::{Frame, FrameOptions};
use support::wait_for;

const SECS: Duration = Duration::from_secs(1);
const NOBODY: u32 = 65534;

/// A headless sway running as `nobody`, with its sockets in `runtime`; killed on drop.
struct Sway(Child);

impl Sway {
    fn start(runtime: &Path) -> Sway {
        std::os::unix::fs::chown(runtime, Some(NOBODY), Some(NOBODY)).unwrap();
        std::fs::set_permissions(runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        let config = runtime.with_extension("sway");
        std::fs::write(&config, "").unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        let child = Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "env", "-i"])
            .arg("PATH=/usr/bin:/bin")
            .args(["WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman"])
            .arg(format!("XDG_RUNTIME_DIR={}", runtime.display()))
            .args(["sway", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sway (apt install sway) and setpriv");
        let socket = runtime.join("wayland-1");
        wait_for(10 * SECS, || "sway did not start".into(), || socket.exists().then_some(()));
        Sway(child)
    }
}

impl Drop for Sway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screen(frame: &Frame) -> Value {
    frame.status()["screen"].clone()
}

#[test]
#[ignore = "needs sway and root (to run it as another user): run by .ci/run"]
fn under_sway_the_frame_asks_the_compositor_to_power_the_output_off_and_on() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let _sway = Sway::start(&runtime);
    let config = "[schedule]\non = [\"mon-fri 09:00-17:00\"]\n[display]\ntransition = \"0s\"\n";
    let env = [
        ("XDG_RUNTIME_DIR", runtime.to_str().unwrap()),
        ("WAYLAND_DISPLAY", "wayland-1"),
        ("TZ", "Europe/Berlin"),
        ("DISCORD_FRAME_CLOCK", "2026-12-08T08:59:54+01:00"),
    ];
    let frame = Frame::start(FrameOptions {
        config,
        args: vec!["--display".into(), "softbuffer".into()],
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..FrameOptions::headless(&dir.path().join("data"))
    });
    let off = screen(&frame);
    assert_eq!((&off["screen"], &off["power_method"]), (&"off".into(), &"wlr-output-power".into()));
    // wlroots 0.15 leaves a headless output on; a compositor that can would confirm, and the
    // note would be empty.
    let note = off["power_note"].as_str().unwrap_or("");
    assert!(note.is_empty() || note.contains("did not confirm"), "{off}");
    let black = || frame.screenshot().pixels().all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0);
    wait_for(5 * SECS, || "not black while off".into(), || black().then_some(()));
    wait_for(
        15 * SECS,
        || format!("not on: {}", screen(&frame)),
        || (screen(&frame)["screen"] == "on").then_some(()),
    );
    let on = screen(&frame);
    assert_eq!(on["power_method"], "wlr-output-power");
    assert!(on["power_note"].is_null(), "the output is confirmed on: {on}");
    assert!(frame.log().contains("screen on (Schedule, wlr-output-power)"), "{}", frame.log());
}
