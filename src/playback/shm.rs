//! A clip's frames through shared memory: the reading side of GStreamer's `shmsink`.
//!
//! Over a pipe every frame is copied twice by the kernel (into the pipe, out of it): 3 MB at
//! 1080p, 30 times a second, which measured a fifth of the child's and the frame's CPU
//! together. With `shmsink` the child's scaler writes each frame straight into memory both
//! processes map, the frame converts it from there, and only a 24-byte message goes each way.
//! A frame is not copied out either: the slide that shows it holds it where the child wrote
//! it ([`ShmFrame`]), and it is given back when the last slide holding it is dropped.
//!
//! `shmsink` is in gstreamer1.0-plugins-bad, which not every system has: without it the clip
//! comes over the pipe as before ([`super::video`] chooses).
//!
//! The protocol (GStreamer's `sys/shm/shmpipe.c`) is C structs sent whole over a Unix socket,
//! `{ u32 type; i32 area; union { { size_t size; u32 path_len; },
//! { ulong offset; ulong size; } } }`: 24 bytes on a 64-bit system, 16 on a 32-bit one. The child announces its memory
//! area by name (type 1, the name after it), each frame by its place in it (type 3), and the
//! frame gives each back once it is done with it (type 4); type 2 retires an area.
//!
//! What the child says is checked like anything from outside: an area is at most
//! [`MAX_AREA`], at most `MAX_AREAS` at a time, mapped read-only and only as far as the
//! object really is long; a frame must lie inside its area and be the size asked for. A child
//! that crashes closes the socket and the clip ends, as with the pipe. (One that had been
//! taken over by a hostile clip could shrink the object under the mapping, but it runs as the
//! frame's user and could signal the frame anyway: the isolation is from crashes and garbage,
//! as the pipe's was.)

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memmap2::Mmap;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::MsgFlags;
use nix::sys::stat::Mode;

/// The largest area a child may announce: 16 frames of 4K I420 and then some.
pub const MAX_AREA: usize = 256 << 20;
/// Areas mapped at once (a child makes a new one only when it resizes).
const MAX_AREAS: usize = 4;
/// How long the child may take to open its socket: it does so on start, before it reads the
/// clip, so this is only reached by a child that is stuck.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Times in a row the holder of lent frames is asked for them back, the child quiet, before
/// the reader gives up on the clip: a holder that never lets go would otherwise keep the
/// child, and the thread reading it, waiting for ever.
const ASKS: u32 = 50;

const NEW_AREA: u32 = 1;
const CLOSE_AREA: u32 = 2;
const NEW_BUFFER: u32 = 3;
const ACK_BUFFER: u32 = 4;

/// `sizeof(unsigned long)` and `sizeof(size_t)` in the child, which is built for this system.
const WORD: usize = std::mem::size_of::<usize>();
/// `sizeof(struct CommandBuffer)`: two 32-bit fields, then a union of two words.
const COMMAND: usize = 8 + 2 * WORD;

/// One message, as `struct CommandBuffer` lays it out: the union's two words are `first` and
/// `second` (for a new area, its size and its name's length, a C `unsigned int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    kind: u32,
    area: i32,
    first: usize,
    second: usize,
}

impl Message {
    fn from_bytes(b: &[u8; COMMAND]) -> Message {
        let second = if u32::from_ne_bytes(b[0..4].try_into().expect("4 bytes")) == NEW_AREA {
            u32::from_ne_bytes(b[8 + WORD..12 + WORD].try_into().expect("4 bytes")) as usize
        } else {
            word(&b[8 + WORD..])
        };
        Message {
            kind: u32::from_ne_bytes(b[0..4].try_into().expect("4 bytes")),
            area: i32::from_ne_bytes(b[4..8].try_into().expect("4 bytes")),
            first: word(&b[8..8 + WORD]),
            second,
        }
    }

    fn to_bytes(self) -> [u8; COMMAND] {
        let mut b = [0u8; COMMAND];
        b[0..4].copy_from_slice(&self.kind.to_ne_bytes());
        b[4..8].copy_from_slice(&self.area.to_ne_bytes());
        b[8..8 + WORD].copy_from_slice(&self.first.to_ne_bytes());
        if self.kind == NEW_AREA {
            b[8 + WORD..12 + WORD].copy_from_slice(&(self.second as u32).to_ne_bytes());
        } else {
            b[8 + WORD..].copy_from_slice(&self.second.to_ne_bytes());
        }
        b
    }
}

/// A private folder for the socket, removed with it.
#[derive(Debug)]
pub struct SocketDir(PathBuf);

/// How every socket folder's name begins. The frame's process id follows it, so that a folder
/// left by a frame that was killed can be told from one in use.
const FOLDER_PREFIX: &str = "discord-frame-clip.";

/// The socket's name in its folder: where the child listens, and what a sweep removes.
const SOCKET: &str = "frames";

impl SocketDir {
    /// A new folder in the temporary folder. The first in a process first sweeps away the
    /// folders that frames no longer running left there (`sweep`).
    pub fn new() -> io::Result<SocketDir> {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        let base = std::env::temp_dir();
        SWEPT.call_once(|| sweep(&base));
        SocketDir::under(&base)
    }

    /// A new folder in `base`.
    pub fn under(base: &Path) -> io::Result<SocketDir> {
        use std::os::unix::fs::DirBuilderExt;
        for _ in 0..16 {
            let name = format!("{FOLDER_PREFIX}{}.{:016x}", std::process::id(), fastrand::u64(..));
            let dir = base.join(name);
            // A Unix socket's path is at most 107 bytes (a long TMPDIR, say): the pipe then.
            if dir.join(SOCKET).as_os_str().len() > 107 {
                return Err(io::Error::other("the temporary folder's path is too long"));
            }
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(SocketDir(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free folder name"))
    }

    /// Where the child listens.
    pub fn socket(&self) -> PathBuf {
        self.0.join(SOCKET)
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        // The child removes its socket when it stops, but not when it is killed, and the
        // reader removes it once connected.
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Removes the socket folders in `base` that frames killed while a clip's child was starting
/// left behind: a killed frame runs no [`Drop`], and its folder is only removed once it has
/// connected to the child. A folder is swept when it is this user's and named for a process
/// that is not running. Only its socket goes, and then the folder if that left it empty:
/// anything else in it is not the frame's, and stays.
fn sweep(base: &Path) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(entries) = std::fs::read_dir(base) else { return };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|name| name.strip_prefix(FOLDER_PREFIX));
        let pid = pid.and_then(|rest| rest.split_once('.')).and_then(|(pid, _)| pid.parse().ok());
        let Some(pid) = pid.filter(|&pid: &i32| pid > 0) else { continue };
        // `symlink_metadata`: a link named like a folder is not followed.
        let dir = entry.path();
        let ours = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == me);
        if !ours || running(pid) {
            continue;
        }
        let socket = dir.join(SOCKET);
        if std::fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(&socket);
        }
        if std::fs::remove_dir(&dir).is_ok() {
            tracing::debug!("removed {}, left by a frame that is no longer running", dir.display());
        }
    }
}

/// Whether process `pid` is running: signal 0 checks without sending anything. One that runs
/// as another user answers EPERM, and counts as running.
fn running(pid: i32) -> bool {
    let pid = nix::unistd::Pid::from_raw(pid);
    !matches!(nix::sys::signal::kill(pid, None), Err(Errno::ESRCH))
}

/// One area the child announced, mapped: shared with the frames lent from it, so that a frame
/// on screen stays readable after the child retired its area, or ended.
#[derive(Debug)]
struct Area {
    id: i32,
    map: Arc<Mmap>,
}

/// The way frames go back to the child, shared by the reader and every frame it lent.
#[derive(Debug)]
struct Giver {
    socket: UnixStream,
    /// Frames lent and not yet given back.
    lent: AtomicUsize,
}

/// A frame where the child wrote it, borrowed until dropped: it is then given back, and the
/// child may write another frame there.
#[derive(Debug)]
pub struct ShmFrame {
    map: Arc<Mmap>,
    area: i32,
    offset: usize,
    len: usize,
    giver: Arc<Giver>,
}

impl AsRef<[u8]> for ShmFrame {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.offset..self.offset + self.len]
    }
}

impl Drop for ShmFrame {
    fn drop(&mut self) {
        let ack = Message { kind: ACK_BUFFER, area: self.area, first: self.offset, second: 0 };
        // Sent without waiting, because the last holder of a frame may be the thread that
        // draws the screen: a child that reads none of its messages (then 200 kB of them) is
        // stuck anyway. A child that has gone cannot take the frame back, and need not.
        let fd = self.giver.socket.as_raw_fd();
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        let _ = nix::sys::socket::send(fd, &ack.to_bytes(), flags);
        self.giver.lent.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The reading end: frames as the child announces them.
#[derive(Debug)]
pub struct ShmReader {
    giver: Arc<Giver>,
    areas: Vec<Area>,
}

impl ShmReader {
    /// Connects to the child's socket once it is there. Fails if the child ends first or does
    /// not open it within `CONNECT_TIMEOUT`.
    pub fn connect(dir: SocketDir, child: &mut Child) -> io::Result<ShmReader> {
        let path = dir.socket();
        let start = Instant::now();
        loop {
            match UnixStream::connect(&path) {
                Ok(socket) => {
                    // Connected, the path is not needed: removed now (by dropping `dir`),
                    // nothing is left in /tmp if the frame is killed while the clip plays.
                    drop(dir);
                    let giver = Arc::new(Giver { socket, lent: AtomicUsize::new(0) });
                    return Ok(ShmReader { giver, areas: Vec::new() });
                }
                Err(e) if start.elapsed() > CONNECT_TIMEOUT => return Err(e),
                Err(_) => {}
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!("the player ended at once ({status})")));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many frames are lent and not yet given back: the child has room for a few only.
    pub fn lent(&self) -> usize {
        self.giver.lent.load(Ordering::Relaxed)
    }

    /// Like [`Self::next`], calling `give_back` each time the child has sent nothing for
    /// `quiet` while frames are lent: `shmsink` waits for its frames to come back before it
    /// ends, and what holds them may not know that the clip is over. Frames still held after
    /// `ASKS` such calls in a row end the clip with an error.
    pub fn next_within(
        &mut self,
        size: usize,
        quiet: Duration,
        give_back: &mut dyn FnMut(),
    ) -> io::Result<Option<ShmFrame>> {
        let timeout = PollTimeout::try_from(quiet).unwrap_or(PollTimeout::MAX);
        let mut asked = 0;
        while self.lent() > 0 {
            let mut fds = [PollFd::new(self.giver.socket.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) if asked == ASKS => {
                    return Err(io::Error::other(format!(
                        "lent frames were not given back within {:?} ({} held)",
                        quiet * ASKS,
                        self.lent()
                    )))
                }
                Ok(0) => {
                    asked += 1;
                    give_back();
                }
                Ok(_) => break,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.next(size)
    }

    /// The next frame, which must be `size` bytes, in the shared memory until it is dropped.
    /// `Ok(None)`: the clip ended (or the child is gone).
    pub fn next(&mut self, size: usize) -> io::Result<Option<ShmFrame>> {
        loop {
            let mut command = [0u8; COMMAND];
            match (&self.giver.socket).read_exact(&mut command) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            let Message { kind, area, first, second } = Message::from_bytes(&command);
            match kind {
                NEW_AREA => self.open_area(area, first, second)?,
                CLOSE_AREA => self.areas.retain(|a| a.id != area),
                NEW_BUFFER => {
                    let (offset, len) = (first, second);
                    let Some(mapped) = self.areas.iter().find(|a| a.id == area) else {
                        return Err(invalid(format!("a frame in area {area}, never announced")));
                    };
                    let map = &mapped.map;
                    if len != size || offset.checked_add(len).is_none_or(|end| end > map.len()) {
                        return Err(invalid(format!(
                            "a frame of {len} bytes at {offset} in an area of {}, for one of {size}",
                            map.len()
                        )));
                    }
                    self.giver.lent.fetch_add(1, Ordering::Relaxed);
                    let (map, giver) = (map.clone(), self.giver.clone());
                    return Ok(Some(ShmFrame { map, area, offset, len, giver }));
                }
                other => return Err(invalid(format!("message type {other}"))),
            }
        }
    }

    /// Maps the area the child named, read-only, and removes its name at once: the mapping
    /// stays, and nothing is left in /dev/shm when the child is killed.
    fn open_area(&mut self, id: i32, size: usize, path_len: usize) -> io::Result<()> {
        if !(1..=255).contains(&path_len) {
            return Err(invalid(format!("an area name of {path_len} bytes")));
        }
        let mut name = vec![0u8; path_len];
        (&self.giver.socket).read_exact(&mut name)?;
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        let name = std::str::from_utf8(name).map_err(|_| invalid("an area name not in UTF-8"))?;
        if !name.starts_with('/') || name[1..].contains('/') || name.len() < 2 {
            return Err(invalid(format!("the area name {name:?}")));
        }
        if size == 0 || size > MAX_AREA {
            return Err(invalid(format!("an area of {size} bytes")));
        }
        if self.areas.len() >= MAX_AREAS {
            return Err(invalid("more areas than a player makes"));
        }
        let fd = nix::sys::mman::shm_open(name, OFlag::O_RDONLY, Mode::empty())?;
        let _ = nix::sys::mman::shm_unlink(name);
        let file = File::from(fd);
        if (file.metadata()?.len() as usize) < size {
            return Err(invalid(format!("an area of {size} bytes that is shorter")));
        }
        let map = map_read_only(&file, size)?;
        self.areas.push(Area { id, map: Arc::new(map) });
        Ok(())
    }
}

/// Maps `size` bytes of `file`, which is at least that long, read-only.
#[allow(unsafe_code)]
fn map_read_only(file: &File, size: usize) -> io::Result<Mmap> {
    // SAFETY: the mapping is read-only, and `Mmap` hands out the bytes only as `&[u8]` for as
    // long as it lives. The object is shared with the child, which writes a frame's bytes
    // only before it announces the frame and not again until the frame is given back; the
    // bytes are plain data, any value valid. The object is at least `size` long (checked by
    // the caller); see the module's notes for a child that shrinks it on purpose.
    unsafe { memmap2::MmapOptions::new().len(size).map(file) }
}

fn word(bytes: &[u8]) -> usize {
    usize::from_ne_bytes(bytes.try_into().expect("a word"))
}

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the player sent {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixListener;
    use std::process::{Command, Stdio};

    /// A stand-in for `shmsink`: an area of `len` bytes named `name`, filled with `fill`.
    struct FakeSink {
        name: String,
        peer: UnixStream,
    }

    impl FakeSink {
        /// Listens where `dir` says, lets a reader connect (with a stand-in child), and
        /// returns both ends.
        fn start(len: usize, fill: impl Fn(usize) -> u8) -> (FakeSink, ShmReader, Child) {
            let name = format!("/discord-frame-test.{:016x}", fastrand::u64(..));
            let fd = nix::sys::mman::shm_open(
                name.as_str(),
                OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL,
                Mode::from_bits_truncate(0o600),
            )
            .unwrap();
            let mut file = File::from(fd);
            let bytes: Vec<u8> = (0..len).map(fill).collect();
            file.write_all(&bytes).unwrap();
            let dir = SocketDir::new().unwrap();
            let listener = UnixListener::bind(dir.socket()).unwrap();
            let mut child = Command::new("sleep").arg("30").stdout(Stdio::null()).spawn().unwrap();
            let folder = dir.socket().parent().unwrap().to_owned();
            let reader = ShmReader::connect(dir, &mut child).unwrap();
            let (peer, _) = listener.accept().unwrap();
            // Connected, the socket's folder is gone: nothing left if the frame is killed.
            assert!(!folder.exists(), "{} is still there", folder.display());
            (FakeSink { name, peer }, reader, child)
        }

        fn send(&mut self, kind: u32, area: i32, first: usize, second: usize) {
            let message = Message { kind, area, first, second };
            self.peer.write_all(&message.to_bytes()).unwrap();
        }

        /// Announces the area as `shmsink` does.
        fn announce(&mut self, id: i32, size: usize) {
            let name = self.name.clone();
            self.announce_named(id, size, &name);
        }

        /// Announces an area of `size` bytes called `name`: the message with the name's
        /// length (its NUL included), then the name.
        fn announce_named(&mut self, id: i32, size: usize, name: &str) {
            let name = format!("{name}\0");
            self.send(NEW_AREA, id, size, name.len());
            self.peer.write_all(name.as_bytes()).unwrap();
        }

        fn read_ack(&mut self) -> (u32, i32, usize) {
            let mut command = [0u8; COMMAND];
            self.peer.read_exact(&mut command).unwrap();
            let Message { kind, area, first, .. } = Message::from_bytes(&command);
            (kind, area, first)
        }
    }

    impl Drop for FakeSink {
        fn drop(&mut self) {
            let _ = nix::sys::mman::shm_unlink(self.name.as_str());
        }
    }

    /// The bytes `shmsink` sends on a 64-bit little-endian system (x86-64, the Pi's aarch64),
    /// written out by hand from `struct CommandBuffer`: the fake above and the reader share
    /// `Message`, so this is what ties them to the C layout.
    #[test]
    #[cfg(all(target_pointer_width = "64", target_endian = "little"))]
    fn messages_are_laid_out_as_shmsink_lays_them_out() {
        let new_area: [u8; 24] =
            [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0];
        let area = Message { kind: NEW_AREA, area: 2, first: 64 << 20, second: 20 };
        assert_eq!(Message::from_bytes(&new_area), area);
        assert_eq!(area.to_bytes(), new_area);
        let buffer: [u8; 24] =
            [3, 0, 0, 0, 2, 0, 0, 0, 0xe8, 3, 0, 0, 0, 0, 0, 0, 0, 0x77, 0x2f, 0, 0, 0, 0, 0];
        let frame = Message { kind: NEW_BUFFER, area: 2, first: 1000, second: 3_110_656 };
        assert_eq!(Message::from_bytes(&buffer), frame);
        assert_eq!(frame.to_bytes(), buffer);
    }

    #[test]
    fn frames_are_read_where_the_child_put_them_and_given_back_when_dropped() {
        let (mut sink, mut reader, mut child) = FakeSink::start(4096, |i| (i % 251) as u8);
        sink.announce(1, 4096);
        for offset in [1000, 2000, 3000] {
            sink.send(NEW_BUFFER, 1, offset, 100);
        }
        let first = reader.next(100).unwrap().unwrap();
        let want: Vec<u8> = (1000..1100).map(|i| (i % 251) as u8).collect();
        assert_eq!(first.as_ref(), want.as_slice());
        // The name is gone once mapped: nothing is left behind if the child is killed.
        assert!(
            nix::sys::mman::shm_open(sink.name.as_str(), OFlag::O_RDONLY, Mode::empty()).is_err()
        );
        let second = reader.next(100).unwrap().unwrap();
        assert_eq!(second.as_ref()[0], (2000 % 251) as u8);
        assert_eq!(reader.lent(), 2);
        // Each is given back when the last holder lets go, in whatever order that is.
        drop(second);
        assert_eq!(sink.read_ack(), (ACK_BUFFER, 1, 2000));
        assert_eq!(reader.lent(), 1);
        // The child retires its area and ends: the frame still held reads as it did.
        sink.send(CLOSE_AREA, 1, 0, 0);
        sink.peer.shutdown(std::net::Shutdown::Write).unwrap();
        let third = reader.next(100).unwrap().unwrap();
        assert!(reader.next(100).unwrap().is_none());
        assert_eq!(first.as_ref(), want.as_slice());
        drop(first);
        assert_eq!(sink.read_ack(), (ACK_BUFFER, 1, 1000));
        // Given back to a child that has gone: nothing happens (no SIGPIPE, no wait).
        drop(sink);
        drop(third);
        assert_eq!(reader.lent(), 0);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// As `shmsink` does, the child ends only once every frame is back: the holder of the last
    /// one is asked for it when the child has been quiet a while.
    #[test]
    fn a_quiet_child_gets_its_frames_asked_back() {
        let (mut sink, mut reader, mut child) = FakeSink::start(4096, |_| 7);
        sink.announce(1, 4096);
        sink.send(NEW_BUFFER, 1, 1000, 100);
        let mut held = Some(reader.next(100).unwrap().unwrap());
        // Never asked, the sink gives up (and closes) rather than wait for ever: the reader
        // then sees the end, and `asked` below fails the test.
        sink.peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let ending = std::thread::spawn(move || {
            assert_eq!(sink.read_ack(), (ACK_BUFFER, 1, 1000));
            sink.peer.shutdown(std::net::Shutdown::Write).unwrap();
            sink
        });
        let mut asked = 0;
        let quiet = Duration::from_millis(50);
        let next = reader.next_within(100, quiet, &mut || {
            asked += 1;
            held = None;
        });
        assert!(next.unwrap().is_none(), "the clip ended");
        assert_eq!(asked, 1);
        drop(ending.join().expect("the sink had its frame back"));
        // With nothing lent, nobody is asked.
        assert!(reader.next_within(100, quiet, &mut || panic!("nothing was lent")).is_ok());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// A holder that never lets go ends the clip after `ASKS` asks, rather than keep the
    /// reader (and the child) waiting for ever.
    #[test]
    fn frames_never_given_back_end_the_clip() {
        let (mut sink, mut reader, mut child) = FakeSink::start(4096, |_| 7);
        sink.announce(1, 4096);
        sink.send(NEW_BUFFER, 1, 1000, 100);
        let held = reader.next(100).unwrap().unwrap();
        // Read on a thread of its own, so that a reader that never gives up fails the test
        // instead of hanging it.
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut asked = 0;
            let quiet = Duration::from_millis(2);
            let next = reader.next_within(100, quiet, &mut || asked += 1);
            let _ = done.send((next.map(|f| f.is_some()), asked));
        });
        let (next, asked) = result
            .recv_timeout(Duration::from_secs(10))
            .expect("the reader gave up on the frames within 10 s");
        let error = next.expect_err("the clip ends").to_string();
        assert_eq!(asked, ASKS);
        assert!(error.contains("not given back within 100ms (1 held)"), "{error}");
        // What the holder has stays readable.
        assert!(held.as_ref().iter().all(|&b| b == 7));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_child_that_points_outside_its_memory_is_refused() {
        type Misdeed<'a> = (&'a str, &'a dyn Fn(&mut FakeSink));
        let cases: [Misdeed<'_>; 5] = [
            ("past the area's end", &|s| {
                s.announce(1, 4096);
                s.send(NEW_BUFFER, 1, 4000, 100);
            }),
            ("an offset that wraps", &|s| {
                s.announce(1, 4096);
                s.send(NEW_BUFFER, 1, usize::MAX - 10, 100);
            }),
            ("an area never announced", &|s| s.send(NEW_BUFFER, 7, 0, 100)),
            ("an area longer than the object", &|s| {
                s.announce(1, 1 << 20);
            }),
            ("a message that is not one", &|s| s.send(99, 1, 0, 0)),
        ];
        for (what, send) in cases {
            let (mut sink, mut reader, mut child) = FakeSink::start(4096, |_| 7);
            send(&mut sink);
            let e = reader.next(100).expect_err(what);
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{what}: {e}");
            assert!(e.to_string().starts_with("the player sent "), "{what}: {e}");
            child.kill().unwrap();
            child.wait().unwrap();
        }
        // A frame of another size than asked for.
        let (mut sink, mut reader, mut child) = FakeSink::start(4096, |_| 7);
        sink.announce(1, 4096);
        sink.send(NEW_BUFFER, 1, 0, 99);
        assert!(reader.next(100).is_err());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn area_names_outside_dev_shm_are_refused() {
        let (mut sink, mut reader, mut child) = FakeSink::start(4096, |_| 7);
        sink.announce_named(1, 4096, "/../etc/passwd");
        let e = reader.next(100).unwrap_err();
        assert!(e.to_string().contains("area name"), "{e}");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// A folder left by a frame that was killed (its process gone) is swept, socket and all.
    /// One named for a process still running (another frame, or this one) is not; from one
    /// that holds anything else only the socket goes; names that are not a frame's own (an
    /// older frame's, without the process id, or a process id of 0 or below, which `kill`
    /// would read as a process group) are not touched.
    #[test]
    fn folders_left_by_frames_no_longer_running_are_swept() {
        let base = tempfile::tempdir().unwrap();
        let mut gone = Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        gone.wait().unwrap();
        let mut alive = Command::new("sleep").arg("30").spawn().unwrap();
        let folder = |name: String| {
            let dir = base.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            // Bound and dropped: the socket stays, as when the child is killed.
            drop(UnixListener::bind(dir.join(SOCKET)).unwrap());
            dir
        };
        let left = folder(format!("{FOLDER_PREFIX}{gone_pid}.{:016x}", 1));
        let running = folder(format!("{FOLDER_PREFIX}{}.{:016x}", alive.id(), 2));
        let mine = SocketDir::under(base.path()).unwrap();
        let kept = folder(format!("{FOLDER_PREFIX}{gone_pid}.{:016x}", 3));
        std::fs::write(kept.join("notes.txt"), "not the frame's").unwrap();
        let unnamed = ["0123456789abcdef", "0.1", "-1.1", "x.1"]
            .map(|rest| folder(format!("{FOLDER_PREFIX}{rest}")));

        sweep(base.path());

        assert!(!left.exists(), "{} is still there", left.display());
        assert!(running.join(SOCKET).exists());
        assert!(mine.socket().parent().unwrap().is_dir());
        assert!(kept.join("notes.txt").exists() && !kept.join(SOCKET).exists());
        for dir in unnamed {
            assert!(dir.join(SOCKET).exists(), "{} was touched", dir.display());
        }
        alive.kill().unwrap();
        alive.wait().unwrap();
    }

    #[test]
    fn a_child_that_never_opens_its_socket_is_given_up_on_when_it_ends() {
        let dir = SocketDir::new().unwrap();
        let mut child = Command::new("true").spawn().unwrap();
        let e = ShmReader::connect(dir, &mut child).unwrap_err();
        assert!(e.to_string().contains("ended at once"), "{e}");
    }
}
