//! An X server for the window tests: Xvfb on a display number it picks itself, with Mesa's
//! software Vulkan (lavapipe) for `pixels`. Stopped on drop. A missing Xvfb fails the test
//! loudly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start(width: u32, height: u32) -> Xvfb {
        // `-displayfd 1`: Xvfb picks a free display number and writes it to stdout once it
        // accepts connections. Waiting for the socket file instead raced the server's start,
        // and a socket left by a killed server passed for a live one.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &format!("{width}x{height}x24")])
            .args(["-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start Xvfb ({e}): install the package `xvfb` (.ci/run does)")
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        let number: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not come up (it printed {line:?})"));
        Xvfb { child, display: format!(":{number}") }
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
        // SIGTERM, so that Xvfb removes its socket and lock file (SIGKILL leaves them).
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}
