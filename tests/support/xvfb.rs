//! An X server for the window tests: Xvfb on a free display number, with Mesa's software
//! Vulkan (lavapipe) for `pixels`. Killed on drop. A missing Xvfb fails the test loudly.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start(width: u32, height: u32) -> Xvfb {
        // A display number per test process and call, so parallel tests do not collide.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = 100
            + (std::process::id() % 500) * 4
            + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([&display, "-screen", "0", &format!("{width}x{height}x24"), "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start Xvfb ({e}): install the package `xvfb` (.ci/run does)")
            });
        let socket = format!("/tmp/.X11-unix/X{n}");
        let start = Instant::now();
        while !Path::new(&socket).exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "Xvfb {display} did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Xvfb { child, display }
    }

    /// The whole screen, as ImageMagick's `import` sees it.
    pub fn capture(&self) -> image::RgbaImage {
        let out = Command::new("import")
            .args(["-display", &self.display, "-window", "root", "png:-"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run `import` ({e}): install imagemagick"));
        assert!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));
        image::load_from_memory(&out.stdout).unwrap().to_rgba8()
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
