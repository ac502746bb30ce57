//! Video clips through GStreamer's command-line tools, run as child processes: what ingest
//! learns of a clip (`gst-discoverer-1.0`), and its frames at the size they are shown
//! (`gst-launch-1.0`, paced by the pipeline's own clock), sent as raw I420 and kept so until
//! the screen converts them ([`crate::render::i420`] says why).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::shm::{self, ShmReader, SocketDir};
use super::{MotionError, MotionInfo, MotionLimits};
use crate::render::i420::{FrameBytes, I420};

/// How long `gst-discoverer-1.0` may take to read a clip's headers.
const DISCOVER_TIMEOUT_S: u32 = 15;

/// The containers a phone or Discord sends clips in, by the bytes' signature.
/// Returns the container's name, as the library stores it.
pub fn container(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes).and_then(|k| match k.mime_type() {
        "video/mp4" | "video/x-m4v" => Some("MP4"),
        "video/quicktime" => Some("MOV"),
        "video/webm" => Some("WebM"),
        "video/x-matroska" => Some("MKV"),
        _ => None,
    })
}

/// A video in a container the frame does not take (AVI, WMV, FLV, MPEG), by its usual name.
pub fn other_container(bytes: &[u8]) -> Option<String> {
    let kind = infer::get(bytes)?;
    let other = kind.matcher_type() == infer::MatcherType::Video && container(bytes).is_none();
    other.then(|| kind.extension().to_uppercase())
}

/// The GStreamer tool `name`, where the system has it.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Whether this system can play clips at all (GStreamer's tools are installed).
pub fn available() -> bool {
    tool("gst-launch-1.0").is_some() && tool("gst-discoverer-1.0").is_some()
}

/// How long the child may be quiet, with frames lent, before they are asked for back: over
/// two frames' time at the slowest rate phones record at (24 a second). Asked too soon (a clip
/// whose frames come slower), the screen only copies the frame it shows.
const QUIET: Duration = Duration::from_millis(100);

/// Frames of a clip the screen may hold in shared memory at once (the one shown, the one
/// coming, and one a fade or a screenshot keeps); any more are copied out.
const LEND: usize = 3;
/// Frames the shared memory has room for: those lent, the one the child is writing and the
/// one it waits to send, and two to spare.
const ROOM: usize = LEND + 4;

/// At most this much of a discovery report is read. The verbose one prints the clip's tags
/// whole, and a tag is as long as whoever made the clip wanted.
const REPORT_LIMIT: u64 = 1 << 20;

/// Reads what a clip is: its picture's upright size and its length, checked against `limits`.
/// Blocking (child processes, up to `DISCOVER_TIMEOUT_S`).
///
/// Two reports: the facts from the plain one, which prints nothing the clip's maker wrote,
/// and the rotation from the verbose one, which alone has the tags. A tag's text is printed
/// as it is, line breaks and all, so in the verbose report a tag can forge a `Duration:` or
/// `Width:` line; only the rotation is taken from it, and a forged one merely turns the
/// layout of a picture whose size is already checked.
pub fn probe(path: &Path, limits: &MotionLimits) -> Result<MotionInfo, MotionError> {
    let discoverer = tool("gst-discoverer-1.0").ok_or(MotionError::NoGStreamer)?;
    // Both at once: on two cores the second costs no time (~110 ms each here).
    let plain = Discovery::start(&discoverer, path, &[])?;
    let verbose = Discovery::start(&discoverer, path, &["--verbose"])?;
    let mut info = parse_discovery(&plain.report())?;
    if info.duration > limits.max_duration {
        return Err(MotionError::TooLong { length: info.duration, limit: limits.max_duration });
    }
    if u64::from(info.width) * u64::from(info.height) > limits.max_pixels {
        return Err(MotionError::TooManyPixels {
            width: info.width,
            height: info.height,
            limit_mp: limits.max_pixels as f64 / 1e6,
        });
    }
    if is_turned(&verbose.report()) {
        (info.width, info.height) = (info.height, info.width);
    }
    Ok(info)
}

/// A `gst-discoverer-1.0` child at work on a clip; dropped, it is killed.
struct Discovery(Child);

impl Discovery {
    fn start(discoverer: &Path, path: &Path, flags: &[&str]) -> Result<Discovery, MotionError> {
        Command::new(discoverer)
            .arg(format!("--timeout={DISCOVER_TIMEOUT_S}"))
            .args(flags)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map(Discovery)
            .map_err(|_| MotionError::NoGStreamer)
    }

    /// Its report: the first [`REPORT_LIMIT`] bytes.
    fn report(mut self) -> String {
        let mut report = Vec::new();
        if let Some(out) = self.0.stdout.take() {
            let _ = out.take(REPORT_LIMIT).read_to_end(&mut report);
        }
        String::from_utf8_lossy(&report).into_owned()
    }
}

impl Drop for Discovery {
    /// A report past the limit, or one no longer wanted, is not read to its end: the tool must
    /// not wait on a pipe nobody reads.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a verbose discovery report tags the picture to be turned a quarter: a phone held
/// upright records landscape pixels and such a tag.
pub fn is_turned(report: &str) -> bool {
    report
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image orientation: "))
        .any(|v| matches!(v, "rotate-90" | "rotate-270" | "flip-rotate-90" | "flip-rotate-270"))
}

/// Reads `gst-discoverer-1.0`'s plain report: the duration, the first video stream's size as
/// stored, and whether a plugin is missing.
pub fn parse_discovery(report: &str) -> Result<MotionInfo, MotionError> {
    let value = |line: &str, key: &str| line.trim().strip_prefix(key).map(|v| v.trim().to_owned());
    if report.contains("Missing plugins") {
        // The line after names what is missing: "(gstreamer|1.0|…|H.265 (Main Profile)
        // decoder|decoder-video/x-h265…)".
        let codec = report
            .lines()
            .skip_while(|l| !l.contains("Missing plugins"))
            .nth(1)
            .and_then(|l| l.split('|').nth(3))
            .map(|d| d.trim_end_matches(" decoder").to_owned())
            .unwrap_or_else(|| "these".into());
        return Err(MotionError::MissingDecoder { codec, package: "gstreamer1.0-libav" });
    }
    if let Some(i) = report.find("An error was encountered while discovering the file") {
        let detail = report[i..].lines().nth(1).unwrap_or("").trim().trim_end_matches('.');
        let detail = if detail.is_empty() { "GStreamer could not read it" } else { detail };
        return Err(MotionError::Damaged { detail: detail.to_lowercase() });
    }
    if report.contains("Analyzing URI timed out") {
        // Seen once on a busy machine with garbage after a valid header: the tool gave up
        // where it usually refuses the file at once.
        let detail = format!("GStreamer could not make sense of it in {DISCOVER_TIMEOUT_S} s");
        return Err(MotionError::Damaged { detail });
    }
    let mut duration = None;
    let (mut width, mut height, mut in_video) = (None, None, false);
    for line in report.lines() {
        let t = line.trim();
        if let Some(v) = value(t, "Duration:") {
            duration = parse_clock(&v);
        } else if t.starts_with("video #") {
            in_video = width.is_none();
        } else if t.starts_with("audio #") || t.starts_with("subtitles #") {
            in_video = false;
        } else if in_video {
            if let Some(v) = value(t, "Width:") {
                width = v.parse::<u32>().ok();
            } else if let Some(v) = value(t, "Height:") {
                height = v.parse::<u32>().ok();
            }
        }
    }
    let (Some(w), Some(h)) = (width, height) else {
        // Only a report that lists the file's streams shows that none of them is a picture;
        // any other (the tool ended early, or said nothing) is about a file it could not read.
        if report.contains("Properties:") {
            return Err(MotionError::NoPicture);
        }
        let detail = "GStreamer could not read it".into();
        return Err(MotionError::Damaged { detail });
    };
    if w == 0 || h == 0 {
        return Err(MotionError::Damaged { detail: format!("its picture is {w}×{h}") });
    }
    let duration = duration
        .filter(|d| !d.is_zero())
        .ok_or_else(|| MotionError::Damaged { detail: "it does not say how long it is".into() })?;
    Ok(MotionInfo { width: w, height: h, duration })
}

/// `0:00:03.000000000` as a duration.
fn parse_clock(v: &str) -> Option<Duration> {
    let mut parts = v.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    (s.is_finite() && s >= 0.0)
        .then(|| Duration::from_secs(h * 3600 + m * 60) + Duration::from_secs_f64(s))
}

/// How a clip is cut and scaled for the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Pixels cut from the upright picture's left and right, top and bottom (`cover`).
    pub crop: (u32, u32),
    /// The frames' size once scaled: the picture's rectangle on the slide.
    pub out: (u32, u32),
}

/// A running `gst-launch-1.0`. Dropping it kills the child.
#[derive(Debug)]
pub struct Pipeline {
    child: Child,
}

/// A pipeline's frames: raw I420 of `shape.out`, each sent when it is due by the clip's clock.
#[derive(Debug)]
pub struct Frames {
    from: Transport,
    layout: I420,
}

/// How the frames come from the child.
#[derive(Debug)]
enum Transport {
    /// Shared memory (`shmsink`): the frame reads each where the child's scaler wrote it.
    Shm(ShmReader),
    /// The child's standard output, where `shmsink` is missing or failed.
    Pipe { out: std::process::ChildStdout },
}

/// Set once shared memory has failed here: the pipe for the rest of the run.
static SHM_FAILED: AtomicBool = AtomicBool::new(false);

/// Whether GStreamer has `shmsink` here (gstreamer1.0-plugins-bad); asked once.
fn has_shmsink() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        let Some(inspect) = tool("gst-inspect-1.0") else { return false };
        let found = Command::new(inspect)
            .args(["--exists", "shmsink"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            tracing::info!(
                "clips come over a pipe: installing gstreamer1.0-plugins-bad (its shmsink) \
                 saves the copies"
            );
        }
        found
    })
}

impl Pipeline {
    /// Starts playing `path`; `sound` plays its audio on the system's default output.
    pub fn spawn(
        path: &Path,
        shape: Shape,
        sound: bool,
    ) -> Result<(Pipeline, Frames), MotionError> {
        let usable = has_shmsink() && !SHM_FAILED.load(Ordering::Relaxed);
        let shm = if usable { SocketDir::new().ok() } else { None };
        Pipeline::spawn_via(path, shape, sound, shm)
    }

    /// Like [`Self::spawn`], through shared memory with its socket in `shm`, or else the
    /// pipe.
    fn spawn_via(
        path: &Path,
        shape: Shape,
        sound: bool,
        shm: Option<SocketDir>,
    ) -> Result<(Pipeline, Frames), MotionError> {
        let launch = tool("gst-launch-1.0").ok_or(MotionError::NoGStreamer)?;
        let (cx, cy) = shape.crop;
        let (w, h) = shape.out;
        let layout = I420::new(w, h);
        let mut args: Vec<String> = vec!["-q".into(), "filesrc".into()];
        args.push(format!("location={}", path.display()));
        args.extend(["!", "decodebin", "name=d", "d.", "!", "queue", "!"].map(String::from));
        // A camcorder's interlaced clip is woven into whole frames (a progressive one passes
        // through untouched): the frames are then laid out as `I420` reads them.
        args.extend(["deinterlace", "!"].map(String::from));
        // Into BT.709 I420 while the picture is as recorded: a clip that does not say its
        // colours is read as GStreamer's default for its size, which turning it would change.
        // A clip in another matrix (most phones' HD clips are in BT.709 and pass through
        // untouched) is converted on its subsampled chroma as it is: resampling that up and
        // down again (videoconvert's default) blurs every colour edge.
        args.extend(["videoconvert", "chroma-mode=none", "!"].map(String::from));
        args.push("video/x-raw,format=I420,colorimetry=bt709".into());
        // Upright (a phone's rotation tag), then cut, then scale: the cut is in the upright
        // picture's pixels, as the layout computed it.
        args.extend(["!", "videoflip", "video-direction=auto", "!", "videocrop"].map(String::from));
        args.extend([format!("left={cx}"), format!("right={cx}")]);
        args.extend([format!("top={cy}"), format!("bottom={cy}")]);
        args.extend(["!", "videoscale", "!"].map(String::from));
        args.push(format!("video/x-raw,width={w},height={h},pixel-aspect-ratio=1/1"));
        match &shm {
            Some(dir) => {
                // Room for the frames the screen holds ([`LEND`]) and those the child has on
                // its way, with some to spare: the scaler waits for room rather than fail.
                let room = (layout.size * ROOM).min(shm::MAX_AREA);
                args.extend(
                    ["!", "shmsink", "wait-for-connection=true", "sync=true"].map(String::from),
                );
                args.push(format!("socket-path={}", dir.socket().display()));
                args.push(format!("shm-size={room}"));
            }
            None => args.extend(["!", "fdsink", "fd=1", "sync=true"].map(String::from)),
        }
        if sound {
            args.extend(["d.", "!", "queue", "!", "audioconvert", "!"].map(String::from));
            args.extend(["audioresample", "!", "autoaudiosink"].map(String::from));
        }
        let stdout = if shm.is_some() { Stdio::null() } else { Stdio::piped() };
        let mut command = Command::new(launch);
        die_with_parent(&mut command);
        let mut child = command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| MotionError::NoGStreamer)?;
        let from = match shm {
            Some(dir) => match ShmReader::connect(dir, &mut child) {
                Ok(reader) => Transport::Shm(reader),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // A sandbox without /dev/shm, say: the pipe still plays the clip, and the
                    // clips after it (a loop starts a child each time round) go straight to
                    // the pipe rather than fail and warn again. A child that cannot start at
                    // all fails the same way there, and says so.
                    tracing::warn!("shared memory failed ({e}): clips come over a pipe");
                    SHM_FAILED.store(true, Ordering::Relaxed);
                    return Pipeline::spawn_via(path, shape, sound, None);
                }
            },
            None => {
                let out = child.stdout.take().expect("stdout is piped");
                // A frame is megabytes: a larger pipe (1 MB, what an unprivileged process may
                // ask for) means 16 times fewer reads, writes and switches per frame.
                let _ = nix::fcntl::fcntl(&out, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
                Transport::Pipe { out }
            }
        };
        Ok((Pipeline { child }, Frames { from, layout }))
    }
}

/// Has the child killed when the thread that started it ends, which includes the frame being
/// killed. Over the pipe a child whose frame had gone died of its next write; `shmsink` with
/// no reader waits for one for ever.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec, and makes one system call
    // (prctl), which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
}

impl Frames {
    /// The next frame as RGBA, or `None` at the end of the clip (or once the child is gone).
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        // Each frame is let go of as soon as it is converted: none is held to give back.
        let raw = self.next_raw(Vec::new(), &mut || {})?;
        // Only a layout that does not match the frame's size fails, and `I420` made both.
        self.layout.rgba(raw.as_slice()).ok()
    }

    /// The next frame as the child sent it, laid out as [`Self::layout`] says: where the child
    /// wrote it in shared memory, or else read into `buffer` (a frame's worth of memory used
    /// before: no fresh pages to fault in at 30 frames a second).
    ///
    /// `give_back` is called when the child has sent nothing for `QUIET` while frames it
    /// lent are held: it should let go of them. `shmsink` waits for every frame to come back
    /// before it ends, so the last frame of a clip, which stays on screen, would otherwise
    /// keep the child (and this call) waiting for ever.
    pub fn next_raw(
        &mut self,
        mut buffer: Vec<u8>,
        give_back: &mut dyn FnMut(),
    ) -> Option<FrameBytes> {
        let size = self.layout.size;
        match &mut self.from {
            Transport::Shm(reader) => match reader.next_within(size, QUIET, give_back) {
                // The child has room for a few frames only, and would wait for one to come
                // back: past a few held (by a screenshot, a fade, a slow screen), the frame is
                // copied out and given back at once.
                Ok(Some(frame)) if reader.lent() > LEND => {
                    buffer.clear();
                    buffer.extend_from_slice(frame.as_ref());
                    Some(FrameBytes::Owned(buffer))
                }
                Ok(frame) => Some(FrameBytes::Lent(Arc::new(frame?))),
                Err(e) => {
                    tracing::warn!("the clip stopped: {e}");
                    None
                }
            },
            Transport::Pipe { out } => {
                buffer.resize(size, 0);
                out.read_exact(&mut buffer).ok()?;
                Some(FrameBytes::Owned(buffer))
            }
        }
    }

    /// How the frames are laid out: their size, and where each plane is.
    pub fn layout(&self) -> I420 {
        self.layout
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first frame of a clip, for its still: the pipeline is stopped once it came.
/// A child that has not given one in `FIRST_FRAME_TIMEOUT` is killed: ingest holds the decode
/// gate meanwhile, and a clip that stalls GStreamer must not stall every photo after it.
pub fn first_frame(path: &Path, shape: Shape) -> Result<Vec<u8>, MotionError> {
    let (pipeline, mut frames) = Pipeline::spawn(path, shape, false)?;
    let (done, waiting) = std::sync::mpsc::channel::<()>();
    // The child is not reaped before `pipeline` drops, so its id cannot be reused meanwhile.
    let pid = nix::unistd::Pid::from_raw(pipeline.child.id() as i32);
    std::thread::spawn(move || {
        let waited = waiting.recv_timeout(FIRST_FRAME_TIMEOUT);
        if waited == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let frame = frames.next_frame();
    drop(done);
    drop(pipeline);
    frame.ok_or_else(|| MotionError::Damaged {
        detail: "not one frame of it could be decoded".into(),
    })
}

/// How long the first frame of a clip may take.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(20);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const H264: &str = "Analyzing file:///tmp/a.mp4
Done discovering file:///tmp/a.mp4

Properties:
  Duration: 0:00:03.000000000
  Seekable: yes
  Live: no
  container #0: Quicktime
    audio #2: MPEG-4 AAC
      Channels: 1 (unknown layout)
    video #1: H.264 (High Profile)
      Stream ID: e2d3/001
      Width: 1280
      Height: 720
      Frame rate: 30/1
";

    /// `gst-discoverer-1.0 --verbose` on a clip recorded sideways and tagged to be turned
    /// (made by ffmpeg; the codec data is shortened).
    const TURNED: &str = "Analyzing file:///tmp/sideways.mp4
Done discovering file:///tmp/sideways.mp4

Properties:
  Duration: 0:00:04.000000000
  Seekable: yes
  Live: no
  Tags: 
      image orientation: rotate-270
      video codec: H.264 / AVC
      container format: ISO MP4/M4A
  container #0: video/quicktime, variant=(string)iso
    Tags:
      encoder: Lavf59.27.100
      container format: ISO MP4/M4A
    
    video #1: video/x-h264, stream-format=(string)avc, alignment=(string)au, \
level=(string)2.2, profile=(string)high, codec_data=(buffer)01640016ffe1, width=(int)720, \
height=(int)406, framerate=(fraction)10/1, pixel-aspect-ratio=(fraction)1/1
      Tags:
        image orientation: rotate-270
        video codec: H.264 / AVC
      
      Codec:
        video/x-h264, stream-format=(string)avc, alignment=(string)au, level=(string)2.2
      Stream ID: 80359d3f577ceaeebe2f9266bece66e1bb01383ae5ef036dd4124ba5a7b176f4/001
      Width: 720
      Height: 406
      Depth: 24
      Frame rate: 10/1
      Pixel aspect ratio: 1/1
      Interlaced: false
";

    #[test]
    fn a_discovery_report_gives_size_and_length() {
        let info = parse_discovery(H264).unwrap();
        assert_eq!(info, MotionInfo { width: 1280, height: 720, duration: Duration::from_secs(3) });
        assert!(is_turned(TURNED));
        assert!(!is_turned(H264));
        assert!(!is_turned(&TURNED.replace("rotate-270", "rotate-180")));
        let sound = H264.replace("    video #1", "    subtitles #1");
        assert_eq!(parse_discovery(&sound), Err(MotionError::NoPicture));
        let broken = "Done discovering file:///x\nAn error was encountered while discovering \
                      the file\n This file contains no playable streams.\n";
        assert_eq!(
            parse_discovery(broken).unwrap_err().to_string(),
            "the video is damaged or incomplete and could not be played (this file contains no \
             playable streams): send it again"
        );
        // Neither a timeout nor a report that ends early is taken for a clip without a
        // picture: both are a file GStreamer could not read.
        let timed_out =
            "Analyzing file:///x\nDone discovering file:///x\nAnalyzing URI timed out\n";
        let err = parse_discovery(timed_out).unwrap_err().to_string();
        assert!(err.contains("damaged or incomplete") && err.contains("in 15 s"), "{err}");
        let cut = parse_discovery("Analyzing file:///x\n").unwrap_err().to_string();
        assert!(cut.contains("damaged or incomplete"), "{cut}");
        let missing = "Done discovering file:///x\nMissing plugins\n \
                       (gstreamer|1.0|gst-discoverer-1.0|H.265 (Main Profile) \
                       decoder|decoder-video/x-h265)\n";
        let err = parse_discovery(missing).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("this frame cannot decode H.265 (Main Profile) videos"));
        assert!(err.is_setup());
    }

    /// The same clip through shared memory and through the pipe gives the same frames, every
    /// one of them, and ends at the same place.
    #[test]
    #[ignore = "needs GStreamer (with gstreamer1.0-plugins-bad) and ffmpeg: run by .ci/run"]
    fn shared_memory_and_the_pipe_give_the_same_frames() {
        assert!(has_shmsink(), "shmsink is missing: install gstreamer1.0-plugins-bad");
        let dir = std::env::temp_dir().join(format!("df-shm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let clip = dir.join("clip.mp4");
        let made = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .args(["testsrc2=size=320x240:rate=30", "-t", "1", "-pix_fmt", "yuv420p"])
            .arg(&clip)
            .status()
            .unwrap();
        assert!(made.success());
        // An odd size: padded rows, as the layout reads them.
        let shape = Shape { crop: (0, 0), out: (201, 151) };
        let play = |shm: Option<SocketDir>, shared: bool| {
            let (_pipeline, mut frames) = Pipeline::spawn_via(&clip, shape, false, shm).unwrap();
            assert_eq!(matches!(frames.from, Transport::Shm(_)), shared);
            std::iter::from_fn(|| frames.next_frame()).collect::<Vec<_>>()
        };
        let shared = play(Some(SocketDir::new().unwrap()), true);
        let piped = play(None, false);
        // Where the child cannot open its socket (here: its folder was removed, as a
        // cleaner of /tmp might), the clip still plays, over the pipe, and nothing is left.
        let gone = SocketDir::new().unwrap();
        std::fs::remove_dir(gone.socket().parent().unwrap()).unwrap();
        let fell_back = play(Some(gone), false);
        // A temporary folder too deep for a socket's path: the pipe from the start.
        assert!(SocketDir::under(&dir.join("d".repeat(120))).is_err());
        assert_eq!(shared.len(), 30);
        assert_eq!(piped.len(), 30);
        assert!(piped == fell_back, "the fallback's frames differ");
        for (n, (a, b)) in shared.iter().zip(&piped).enumerate() {
            assert!(a == b, "frame {n} differs");
        }
        // And the frames move: not one frame sent 30 times.
        assert_ne!(shared[0], shared[29]);
        // A screen that holds on to every frame: the first few stay where the child wrote
        // them, untouched while held, and the rest are copied out, so the child never waits
        // for room and the clip plays to its end.
        let shm = Some(SocketDir::new().unwrap());
        let (mut pipeline, mut frames) = Pipeline::spawn_via(&clip, shape, false, shm).unwrap();
        let layout = frames.layout();
        let (mut held, mut lent) = (Vec::<FrameBytes>::new(), 0);
        loop {
            // Asked for them back (at the end), the holder copies the frames it holds.
            let next = frames.next_raw(Vec::new(), &mut || {
                for frame in &mut held {
                    *frame = FrameBytes::Owned(frame.as_slice().to_vec());
                }
            });
            let Some(frame) = next else { break };
            lent += usize::from(matches!(frame, FrameBytes::Lent(_)));
            held.push(frame);
        }
        // Ended by the child, which had every frame back (not by the reader giving up on
        // them: the child would still be waiting).
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match pipeline.child.try_wait().unwrap() {
                Some(status) => break status,
                None if Instant::now() > deadline => panic!("the child still waits for frames"),
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        // Not killed. (Its exit code says nothing: `shmsink` in GStreamer 1.22 reports "Failed
        // waiting on fd activity" as it stops, so gst-launch exits 1 after a clean end too.)
        assert!(status.code().is_some(), "{status}");
        assert_eq!(held.len(), 30);
        assert_eq!(lent, LEND, "{held:?}");
        for (n, (frame, piped)) in held.iter().zip(&piped).enumerate() {
            assert!(layout.rgba(frame.as_slice()).unwrap() == *piped, "held frame {n} differs");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
