//! A running `discord-frame` for the integration tests: the real binary, headless (or in a
//! window under Xvfb), on a free loopback port, with its own data and config, killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Frame {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    /// Everything the process wrote to stderr so far (its log), for failure messages.
    pub log: Arc<Mutex<String>>,
    pub http: reqwest::blocking::Client,
}

/// How to start a frame.
pub struct FrameOptions<'a> {
    pub data_dir: &'a Path,
    /// The config file's text.
    pub config: &'a str,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The binary to run: this build's by default; the benchmarks pass a release build.
    pub bin: PathBuf,
    /// A command that runs the binary (`setpriv --reuid nobody …`); empty: run it directly.
    pub wrapper: Vec<String>,
}

impl<'a> FrameOptions<'a> {
    pub fn headless(data_dir: &'a Path) -> Self {
        FrameOptions {
            data_dir,
            config: "",
            args: vec!["--display".into(), "headless".into(), "--size".into(), "640x360".into()],
            env: Vec::new(),
            bin: PathBuf::from(env!("CARGO_BIN_EXE_discord-frame")),
            wrapper: Vec::new(),
        }
    }
}

impl Frame {
    pub fn start(opts: FrameOptions<'_>) -> Frame {
        let config = opts.data_dir.with_extension("toml");
        std::fs::create_dir_all(opts.data_dir).unwrap();
        std::fs::write(&config, opts.config).unwrap();
        let mut cmd = match opts.wrapper.split_first() {
            None => Command::new(&opts.bin),
            Some((first, rest)) => {
                let mut cmd = Command::new(first);
                cmd.args(rest).arg(&opts.bin);
                cmd
            }
        };
        cmd.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(opts.data_dir)
            .args(["--port", "0", "--log-level", "info"])
            .args(&opts.args)
            .env_remove("DISCORD_BOT_TOKEN")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("discord-frame: serving on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                std::thread::sleep(Duration::from_millis(200));
                panic!("the frame did not start: {line:?}\n{}", log.lock().unwrap())
            })
            .to_owned();
        // Keep reading stdout so that a later line never meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            // A fresh connection per request: after a 413 the server closes the connection
            // without reading the body, and a pooled client would reuse it for the next test
            // step and fail with "incomplete message".
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Frame { child, url, data_dir: opts.data_dir.to_owned(), log, http }
    }

    pub fn headless(data_dir: &Path) -> Frame {
        Frame::start(FrameOptions::headless(data_dir))
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.http.get(format!("{}{path}", self.url)).send().unwrap()
    }

    pub fn post(&self, path: &str) -> reqwest::blocking::Response {
        self.http.post(format!("{}{path}", self.url)).send().unwrap()
    }

    pub fn upload(&self, bytes: Vec<u8>) -> reqwest::blocking::Response {
        self.http.post(format!("{}/api/photos", self.url)).body(bytes).send().unwrap()
    }

    pub fn status(&self) -> Value {
        self.get("/api/status").json().unwrap()
    }

    pub fn current_id(&self) -> Option<i64> {
        self.status()["current"]["id"].as_i64()
    }

    /// Waits up to `within` for `current` to become `id`.
    pub fn wait_current(&self, id: i64, within: Duration) {
        let start = Instant::now();
        while self.current_id() != Some(id) {
            assert!(
                start.elapsed() < within,
                "photo {id} not on screen within {within:?}: {}",
                self.status()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `current` differs from `id`.
    pub fn wait_not_current(&self, id: Option<i64>, within: Duration) -> Option<i64> {
        let start = Instant::now();
        loop {
            let now = self.current_id();
            if now != id {
                return now;
            }
            assert!(start.elapsed() < within, "still showing {id:?} after {within:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits up to `within` until the index on disk says photo `id` is on screen (what a
    /// restart comes back to), reading it as another process would.
    pub fn wait_showing_saved(&self, id: i64, within: Duration) {
        use rusqlite::{Connection, OpenFlags, OptionalExtension};
        let index = self.data_dir.join("library.sqlite3");
        let conn = Connection::open_with_flags(&index, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let start = Instant::now();
        loop {
            let saved: Option<i64> = conn
                .query_row("SELECT value FROM state WHERE key = 'showing'", [], |r| r.get(0))
                .optional()
                .unwrap();
            if saved == Some(id) {
                return;
            }
            assert!(
                start.elapsed() < within,
                "showing {saved:?} on disk, not {id}, after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The screen, waiting (up to 5 s) for the first slide of a frame just started.
    pub fn screenshot(&self) -> image::RgbaImage {
        let start = Instant::now();
        let mut resp = self.get("/api/screenshot.png");
        while resp.status() == 503 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
            resp = self.get("/api/screenshot.png");
        }
        assert_eq!(resp.status(), 200);
        image::load_from_memory(&resp.bytes().unwrap()).unwrap().to_rgba8()
    }

    /// Waits up to `within` for the process to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < within, "still running after {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `within` for `/api/status` to report Discord in `state`.
    pub fn wait_discord(&self, state: &str, within: Duration) -> Value {
        let start = Instant::now();
        loop {
            let status = self.status();
            if status["discord"]["state"] == state {
                return status["discord"].clone();
            }
            assert!(
                start.elapsed() < within,
                "Discord not {state} within {within:?}: {status}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The frame's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the frame's process has used so far (all its threads), in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // After the command name in parentheses: utime and stime are the 12th and 13th fields.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// CPU ticks used so far by each of the frame's threads, by name (for a failure message).
    pub fn thread_ticks(&self) -> Vec<(String, u64)> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).unwrap();
        tasks
            .flatten()
            .filter_map(|t| {
                let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
                let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
                let rest = &stat[stat.rfind(')')? + 2..];
                let f: Vec<&str> = rest.split_whitespace().collect();
                let ticks = f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?;
                Some((comm.trim().to_owned(), ticks))
            })
            .collect()
    }

    /// The frame's child processes (a clip's GStreamer pipeline), by command name.
    pub fn children(&self) -> Vec<String> {
        // A child belongs to the thread that started it: every thread's list is read.
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).unwrap();
        let pids: String = tasks
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
            .collect::<Vec<_>>()
            .join(" ");
        pids.split_whitespace()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
            .map(|c| c.trim().to_owned())
            .collect()
    }

    /// SIGTERM, and the exit status.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no exit 10 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON error body's fields.
pub fn error_of(resp: reqwest::blocking::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().unwrap_or_else(|e| panic!("a {status} without a JSON body: {e}"));
    let err = &body["error"];
    assert_eq!(err["status"].as_u64(), Some(u64::from(status)), "{body}");
    (status, err["code"].as_str().unwrap().to_owned(), err["message"].as_str().unwrap().to_owned())
}
