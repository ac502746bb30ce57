//! The photo library: the originals on disk, content-addressed, and a SQLite index of who sent
//! what and when.
//!
//! Durability is the point of this module. A photo is written to `tmp/`, fsynced, renamed into
//! `photos/` and the directory fsynced; only then is its row committed, and only after the
//! commit does `add` return (so only then does a sender hear "done"). A crash at any step
//! leaves either nothing or a file without a row; never a row without its file. Deleting goes
//! the other way round: the row first, then the file (on a full disk, where the row cannot be
//! deleted first, the file goes first to make room).
//!
//! Nothing the family sent is ever deleted by `open`: an original without a row (a crash
//! before the commit, or an index that was deleted or damaged) is indexed again from its
//! bytes; only `.part` files in `tmp/` are cleaned up; a row loses its file only when the file
//! is proven absent (`ENOENT`), never because it could not be read; and a damaged index is
//! moved aside (`library.sqlite3.corrupt-<time>`) and rebuilt from the photos. What `open`
//! found is kept as [`Library::notices`] for the owner (log, status, screen).
//!
//! The same bytes twice are one entry: the second arrival moves it to the front and shows it
//! again rather than storing a copy.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::render::Fit;

/// Why the library could not do what was asked. These are the owner's problems (a full disk,
/// a read-only card), not the sender's, so each names the file or the database it is about.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the library index {}: {source}", path.display())]
    Db { path: PathBuf, source: rusqlite::Error },
    #[error(
        "cannot write in the data directory {}: {source}; the user the frame runs as must own it \
         (for the kiosk: sudo chown -R frame:frame {})",
        dir.display(), dir.display()
    )]
    NotWritable { dir: PathBuf, source: std::io::Error },
    /// The worker thread running a library call stopped (a bug: it panicked).
    #[error("the library's worker stopped: {0}")]
    Worker(String),
}

impl LibraryError {
    /// The disk (or the file system) is full: the owner must free space; nothing else is wrong.
    pub fn is_disk_full(&self) -> bool {
        match self {
            LibraryError::Io { source, .. } | LibraryError::NotWritable { source, .. } => {
                is_enospc(source)
            }
            LibraryError::Db { source, .. } => is_sqlite_full(source),
            LibraryError::Worker(_) => false,
        }
    }

    /// The card answered an input/output error: it may be failing. Nothing is wrong with the
    /// photo, and trying again may work.
    pub fn is_io_failure(&self) -> bool {
        match self {
            LibraryError::Io { source, .. } | LibraryError::NotWritable { source, .. } => {
                source.raw_os_error() == Some(libc::EIO)
            }
            LibraryError::Db { source, .. } => {
                source.sqlite_error_code() == Some(rusqlite::ErrorCode::SystemIoFailure)
            }
            LibraryError::Worker(_) => false,
        }
    }
}

fn is_enospc(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT)
}

fn is_sqlite_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// An index that SQLite cannot read as one: not a database at all, or a damaged one.
fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Where a photo came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Http,
    Discord,
    /// Found in `photos/` without an index entry and indexed again from its bytes: who sent
    /// it, and its caption, are not known any more.
    Recovered,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Http => "http",
            Source::Discord => "discord",
            Source::Recovered => "recovered",
        }
    }

    fn parse(s: &str) -> Source {
        match s {
            "discord" => Source::Discord,
            "recovered" => Source::Recovered,
            _ => Source::Http,
        }
    }
}

/// What the library is told about a photo besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewPhoto {
    pub source: Option<Source>,
    /// Who sent it: a Discord username, or whatever an HTTP client calls itself.
    pub sender: Option<String>,
    /// The sender's Discord user id: who owns the photo (a username can change).
    pub sender_id: Option<u64>,
    /// The text sent with it; drawn on the slide when `[display] captions` is on.
    pub caption: Option<String>,
    /// Discord's ids, so that deleting the message deletes the photo.
    pub channel_id: Option<u64>,
    pub message_id: Option<u64>,
    /// The format's name, as sniffed ("JPEG"), for the `Content-Type` it is served with.
    pub format: String,
    /// The size as shown (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// A per-photo `contain`/`cover` that overrides `[display] fit`.
    pub fit: Option<Fit>,
    /// Sent as a spoiler (`[discord] spoilers = "blur"`): shown veiled.
    pub spoiler: bool,
    /// A photo, an animation or a video.
    pub kind: Kind,
    /// How long one play of an animation or a video lasts.
    pub duration_ms: Option<u64>,
}

/// One stored photo, as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Photo {
    pub id: i64,
    pub sha256: String,
    pub source: Source,
    pub sender: Option<String>,
    /// The sender's Discord user id (`None` for HTTP uploads and for photos stored before
    /// the frame kept ids). Not part of the API: it decides who may delete a photo.
    #[serde(skip)]
    pub sender_id: Option<u64>,
    pub caption: Option<String>,
    pub channel_id: Option<u64>,
    pub message_id: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    pub width: u32,
    pub height: u32,
    /// The original's size on disk.
    pub bytes: u64,
    pub format: String,
    pub fit: Option<Fit>,
    /// Marked as a favourite: kept by retention.
    pub favourite: bool,
    /// Sent as a spoiler: shown veiled, never in full.
    pub spoiler: bool,
    /// A photo, an animation or a video.
    pub kind: Kind,
    /// How long one play of an animation or a video lasts, in milliseconds.
    pub duration_ms: Option<u64>,
}

/// What a stored original is: a still photo, an animated image (GIF, WebP, APNG) or a video
/// clip. Written as its word everywhere (API, index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Photo,
    Animation,
    Video,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Photo => "photo",
            Kind::Animation => "animation",
            Kind::Video => "video",
        }
    }

    /// Whether it moves on screen.
    pub fn moves(self) -> bool {
        self != Kind::Photo
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        match s {
            "photo" => Ok(Kind::Photo),
            "animation" => Ok(Kind::Animation),
            "video" => Ok(Kind::Video),
            other => Err(format!("`{other}` is not a kind: photo, animation or video")),
        }
    }
}

impl rusqlite::types::ToSql for Kind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Kind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Kind> {
        value.as_str()?.parse().map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

/// What `add` did.
#[derive(Debug, Clone)]
pub struct Added {
    pub photo: Photo,
    /// The bytes were already in the library; the entry was moved to the front.
    pub duplicate: bool,
    /// Photos removed to stay within the retention limits.
    pub removed: Vec<i64>,
}

/// What `index` did: the row, whether it was there already, and what retention removed (ids
/// and hashes, whose files go after the commit).
type Indexed = (Photo, bool, Vec<(i64, String)>);

/// How much the library keeps; 0 means no limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub max_photos: u64,
    pub max_bytes: u64,
}

/// The library. Cheap to share behind an `Arc`. Every method is synchronous and may block on
/// the disk (an SD card's fsync takes a quarter of a second), so async code calls it through
/// [`Library::call`], which runs it on tokio's blocking pool.
#[derive(Debug)]
pub struct Library {
    /// The data directory: `library.sqlite3`, `photos/`, `tmp/`.
    dir: PathBuf,
    /// The reading connection. With WAL, a reader sees the last commit without waiting for
    /// the writer, so that `status` and the slideshow never wait for an fsync. Declared (so
    /// dropped) before the writer: the last connection to close checkpoints the WAL into the
    /// database file, and a read-only one cannot.
    reader: Mutex<Connection>,
    /// The one writing connection, serialised: a frame's write rate is a few photos a minute,
    /// and one writer means no `SQLITE_BUSY` to handle. It is held through each commit's fsync.
    conn: Mutex<Connection>,
    /// Held by `add` and `delete` from the file check to the commit: a delete of the same photo
    /// cannot slip between `add`'s check that the file exists and its commit.
    writing: Mutex<()>,
    retention: Retention,
    /// Makes temporary file names unique within the process.
    tmp_counter: AtomicU64,
    /// What `open` found and the owner should know (a rebuilt index, unreadable files).
    notices: Vec<String>,
    /// The last write failed because the disk was full (cleared by the next one that works).
    full: AtomicBool,
}

/// A temporary file, removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The data directory's disk, for `/api/status`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DiskUsage {
    pub free_mb: u64,
    pub total_mb: u64,
    /// The last write failed for want of space.
    pub full: bool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    sender TEXT,
    caption TEXT,
    channel_id INTEGER,
    message_id INTEGER,
    received_at INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    format TEXT NOT NULL,
    fit TEXT
);
CREATE INDEX IF NOT EXISTS photos_received ON photos (received_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS photos_message ON photos (message_id);
-- What the frame remembers across restarts: `showing`, the photo on screen.
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER);
";

/// The changes to [`SCHEMA`] since the first release, in order: the index's
/// `PRAGMA user_version` says how many have been applied. Each runs once, in one transaction
/// with the new version, so that an index written by an older frame is upgraded in place and
/// never half-way.
const MIGRATIONS: &[&str] = &[
    // 1: photos know their sender's Discord id, which (unlike a username) cannot change.
    "ALTER TABLE photos ADD COLUMN sender_id INTEGER;",
    // 2: favourites, kept by retention; spoilers, shown veiled.
    "ALTER TABLE photos ADD COLUMN favourite INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE photos ADD COLUMN spoiler INTEGER NOT NULL DEFAULT 0;",
    // 3: motion: animations and videos, with their length.
    "ALTER TABLE photos ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo';
     ALTER TABLE photos ADD COLUMN duration_ms INTEGER;",
];

const COLUMNS: &str = "id, sha256, source, sender, caption, channel_id, message_id, received_at, \
                       width, height, bytes, format, fit, sender_id, favourite, spoiler, kind, \
                       duration_ms";

impl Library {
    /// Opens (creating if needed) the library in `dir`, and tidies what a crash may have left:
    /// `.part` files are removed, originals without a row are indexed again, a damaged index
    /// is moved aside and rebuilt. Nothing else is ever removed.
    pub fn open(dir: &Path, retention: Retention) -> Result<Library, LibraryError> {
        for sub in ["photos", "tmp"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|source| LibraryError::Io {
                action: "cannot create the directory",
                path,
                source,
            })?;
        }
        // A read-only directory would otherwise be reported as a database error.
        let probe = dir.join("tmp").join(format!(".writable-{}", std::process::id()));
        File::create(&probe)
            .and_then(|_| fs::remove_file(&probe))
            .map_err(|source| LibraryError::NotWritable { dir: dir.to_owned(), source })?;
        let mut notices = Vec::new();
        let db_path = dir.join("library.sqlite3");
        let conn = match open_index(&db_path) {
            Ok(conn) => conn,
            Err(e) if is_corrupt(&e) => {
                let aside = move_aside(&db_path)?;
                let notice = format!(
                    "the photo index was damaged ({e}): it was moved to {} and rebuilt from the \
                     photos, which are all kept; their captions and senders are lost",
                    aside.display()
                );
                tracing::error!("{notice}");
                notices.push(notice);
                open_index(&db_path)
                    .map_err(|source| LibraryError::Db { path: db_path.clone(), source })?
            }
            Err(source) => return Err(LibraryError::Db { path: db_path, source }),
        };
        let reader =
            open_reader(&db_path).map_err(|source| LibraryError::Db { path: db_path, source })?;
        let mut library = Library {
            dir: dir.to_owned(),
            reader: Mutex::new(reader),
            conn: Mutex::new(conn),
            writing: Mutex::new(()),
            retention,
            tmp_counter: AtomicU64::new(0),
            notices: Vec::new(),
            full: AtomicBool::new(false),
        };
        library.recover(&mut notices)?;
        // The log has them all; the status and the screen need the gist.
        const SHOWN: usize = 20;
        if notices.len() > SHOWN {
            let more = notices.len() - SHOWN;
            notices.truncate(SHOWN);
            notices.push(format!("and {more} more: the frame's log has them all"));
        }
        library.notices = notices;
        Ok(library)
    }

    /// What `open` found that the owner should know, in plain words.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Free and total space on the data directory's disk.
    pub fn disk_usage(&self) -> Option<DiskUsage> {
        let st = nix::sys::statvfs::statvfs(&self.dir).ok()?;
        let mb = |blocks: u64| blocks.saturating_mul(st.fragment_size()) / (1024 * 1024);
        Some(DiskUsage {
            free_mb: mb(st.blocks_available()),
            total_mb: mb(st.blocks()),
            full: self.full.load(Ordering::Relaxed),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` on tokio's blocking pool, so that an async task never waits for the disk.
    pub async fn call<T, F>(self: &Arc<Self>, f: F) -> Result<T, LibraryError>
    where
        F: FnOnce(&Library) -> Result<T, LibraryError> + Send + 'static,
        T: Send + 'static,
    {
        let library = self.clone();
        tokio::task::spawn_blocking(move || f(&library))
            .await
            .unwrap_or_else(|e| Err(LibraryError::Worker(e.to_string())))
    }

    /// Remembers the photo on screen (`None`: the welcome slide), so that after a restart or
    /// a power cut the frame comes back to it. Without an fsync of its own: it changes every
    /// few seconds, and losing the last change in a power cut only means another photo shows
    /// first (the next photo's commit makes it durable anyway).
    pub fn set_showing(&self, id: Option<i64>) -> Result<(), LibraryError> {
        self.set_state("showing", id)
    }

    /// Writes one value of the `state` table, without an fsync of its own (`synchronous =
    /// NORMAL` for this one write): what is kept there is worth no wait on a slow card.
    fn set_state(&self, key: &str, value: impl rusqlite::ToSql) -> Result<(), LibraryError> {
        let conn = self.conn();
        let write = || {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            let written = conn.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            );
            conn.pragma_update(None, "synchronous", "FULL")?;
            written
        };
        write().map(drop).map_err(|e| self.db_err(e))
    }

    /// The photo that was on screen last, if it is still in the library.
    pub fn showing(&self) -> Result<Option<i64>, LibraryError> {
        self.reader()
            .query_row(
                "SELECT p.id FROM state s JOIN photos p ON p.id = s.value WHERE s.key = 'showing'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db_err(e))
    }

    /// Remembers the slideshow's rounds (`[display] order` shuffles) and where the current
    /// one started, so that a restart goes on with the round instead of starting a new one.
    /// Written once a round, like [`Library::set_showing`] without an fsync of its own.
    pub fn set_round(&self, ids: &[i64], start: usize) -> Result<(), LibraryError> {
        self.set_state("round", serde_json::json!({ "ids": ids, "start": start }).to_string())
    }

    /// The rounds remembered by [`Library::set_round`], if any could be read back (a value
    /// that does not read is ignored: a new round starts).
    pub fn round(&self) -> Result<Option<(Vec<i64>, usize)>, LibraryError> {
        let text: Option<String> = self
            .reader()
            .query_row("SELECT CAST(value AS TEXT) FROM state WHERE key = 'round'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.db_err(e))?;
        #[derive(serde::Deserialize)]
        struct Saved {
            ids: Vec<i64>,
            start: usize,
        }
        Ok(text
            .and_then(|t| serde_json::from_str::<Saved>(&t).ok())
            .map(|saved| (saved.ids, saved.start)))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn db_err(&self, source: rusqlite::Error) -> LibraryError {
        LibraryError::Db { path: self.dir.join("library.sqlite3"), source }
    }

    fn photo_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("photos").join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` durably and indexes them. Returns once both are on disk. The same bytes
    /// again are one entry, moved to the front; a caption or fit sent with them replaces the
    /// stored one.
    pub fn add(&self, bytes: &[u8], new: NewPhoto) -> Result<Added, LibraryError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let final_path = self.photo_path(&sha256);
        let writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let wrote = !final_path.exists();
        let result = if wrote { self.write_durably(bytes, &final_path) } else { Ok(()) }
            .and_then(|()| self.index(bytes.len(), &sha256, new));
        if result.is_err() && wrote {
            // The row was never committed: the file this call wrote must not outlive it.
            let _ = fs::remove_file(&final_path);
        }
        drop(writing);
        self.note_write(&result);
        let (photo, duplicate, removed) = result?;
        self.remove_files(&removed);
        Ok(Added { photo, duplicate, removed: removed.into_iter().map(|(id, _)| id).collect() })
    }

    /// Remembers whether the last write found the disk full.
    fn note_write<T>(&self, result: &Result<T, LibraryError>) {
        let full = result.as_ref().err().is_some_and(LibraryError::is_disk_full);
        self.full.store(full, Ordering::Relaxed);
    }

    /// The transaction of `add`: a new row, or the existing one moved to the front.
    fn index(&self, len: usize, sha256: &str, new: NewPhoto) -> Result<Indexed, LibraryError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.db_err(e))?;
        // Arrival order must be strict even within one millisecond (and across a clock stepped
        // back by NTP at boot): the newest photo is always first.
        let latest: i64 = tx
            .query_row("SELECT COALESCE(MAX(received_at), 0) FROM photos", [], |r| r.get(0))
            .map_err(|e| self.db_err(e))?;
        let now = now_ms().max(latest + 1);
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM photos WHERE sha256 = ?1", [sha256], |r| r.get(0))
            .optional()
            .map_err(|e| self.db_err(e))?;
        let (id, duplicate) = match existing {
            Some(id) => {
                tx.execute(
                    "UPDATE photos SET received_at = ?1, caption = COALESCE(?2, caption), \
                     fit = COALESCE(?3, fit) WHERE id = ?4",
                    params![now, new.caption, new.fit, id],
                )
                .map_err(|e| self.db_err(e))?;
                (id, true)
            }
            None => {
                tx.execute(
                    "INSERT INTO photos (sha256, source, sender, caption, channel_id, message_id, \
                     received_at, width, height, bytes, format, fit, sender_id, spoiler, kind, \
                     duration_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16)",
                    params![
                        sha256,
                        new.source.unwrap_or(Source::Http).as_str(),
                        new.sender,
                        new.caption,
                        new.channel_id.map(|v| v as i64),
                        new.message_id.map(|v| v as i64),
                        now,
                        new.width,
                        new.height,
                        len as i64,
                        new.format,
                        new.fit,
                        new.sender_id.map(|v| v as i64),
                        new.spoiler,
                        new.kind,
                        new.duration_ms.map(|v| v as i64),
                    ],
                )
                .map_err(|e| self.db_err(e))?;
                (tx.last_insert_rowid(), false)
            }
        };
        let removed = self.apply_retention(&tx, id)?;
        let photo = get_in(&tx, id).map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        let photo = photo.ok_or_else(|| self.db_err(rusqlite::Error::QueryReturnedNoRows))?;
        Ok((photo, duplicate, removed))
    }

    /// Writes `bytes` to a temporary file (not synced: it is read once and removed) for a tool
    /// that reads files, not memory: a clip for GStreamer before it is stored. A crash leaves
    /// a `.part` file, which the next start removes.
    pub fn scratch(&self, bytes: &[u8]) -> Result<Scratch, LibraryError> {
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join("tmp").join(format!("{}-{n}-scratch.part", std::process::id()));
        fs::write(&path, bytes).map_err(|source| {
            let _ = fs::remove_file(&path);
            LibraryError::Io { action: "cannot write", path: path.clone(), source }
        })?;
        Ok(Scratch(path))
    }

    /// Where a stored original's file is (a clip is played from it).
    pub fn original_path(&self, photo: &Photo) -> PathBuf {
        self.photo_path(&photo.sha256)
    }

    /// Writes to a unique temporary name, fsyncs, renames into place and fsyncs the directory,
    /// so the final name only ever holds complete bytes.
    fn write_durably(&self, bytes: &[u8], final_path: &Path) -> Result<(), LibraryError> {
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join("tmp").join(format!("{}-{n}.part", std::process::id()));
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| LibraryError::Io { action, path, source }
        };
        let written = (|| {
            let mut file = File::create(&tmp).map_err(io("cannot create", &tmp))?;
            file.write_all(bytes).map_err(io("cannot write", &tmp))?;
            file.sync_all().map_err(io("cannot flush to disk", &tmp))?;
            drop(file);
            let parent = final_path.parent().unwrap_or(&self.dir);
            fs::create_dir_all(parent).map_err(io("cannot create the directory", parent))?;
            fs::rename(&tmp, final_path).map_err(io("cannot move the photo into", final_path))
        })();
        if written.is_err() {
            // A half-written temporary file would take the space the next upload needs.
            let _ = fs::remove_file(&tmp);
        }
        written?;
        let parent = final_path.parent().unwrap_or(&self.dir);
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io("cannot flush the directory", parent))?;
        Ok(())
    }

    /// Deletes the oldest photos (never `keep`, never a favourite) until the library is within
    /// its limits, or only favourites are left. Returns the removed ids and hashes; their files
    /// go after the commit.
    fn apply_retention(
        &self,
        tx: &rusqlite::Transaction<'_>,
        keep: i64,
    ) -> Result<Vec<(i64, String)>, LibraryError> {
        let Retention { max_photos, max_bytes } = self.retention;
        let mut removed = Vec::new();
        if max_photos == 0 && max_bytes == 0 {
            return Ok(removed);
        }
        let (mut count, mut total): (u64, u64) = tx
            .query_row("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM photos", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.db_err(e))?;
        let over = |count: u64, total: u64| {
            (max_photos > 0 && count > max_photos) || (max_bytes > 0 && total > max_bytes)
        };
        if !over(count, total) {
            return Ok(removed);
        }
        let oldest: Vec<(i64, String, u64)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, sha256, bytes FROM photos WHERE id != ?1 AND favourite = 0 \
                     ORDER BY received_at ASC, id ASC",
                )
                .map_err(|e| self.db_err(e))?;
            let rows = stmt
                .query_map([keep], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))
                .map_err(|e| self.db_err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))?
        };
        for (id, sha, bytes) in oldest {
            if !over(count, total) {
                break;
            }
            tx.execute("DELETE FROM photos WHERE id = ?1", [id]).map_err(|e| self.db_err(e))?;
            count -= 1;
            total = total.saturating_sub(bytes);
            removed.push((id, sha));
        }
        Ok(removed)
    }

    /// Removes originals whose rows are gone. A failure leaves a file that the next `open`
    /// indexes again (a photo shown once more is better than one lost), so it is logged, not
    /// returned.
    fn remove_files(&self, removed: &[(i64, String)]) {
        for (_, sha) in removed {
            let path = self.photo_path(sha);
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
            crate::thumbnails::forget(&self.dir, sha);
        }
    }

    /// Runs `f` while photo `id` is sure to stay (no delete can run meanwhile); `None`, without
    /// running it, when there is no such photo. For what must not outlive its photo (a
    /// thumbnail written after the photo was deleted would be kept forever).
    pub fn while_present<T>(
        &self,
        id: i64,
        f: impl FnOnce() -> T,
    ) -> Result<Option<T>, LibraryError> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.get(id)?.map(|_| f()))
    }

    /// One photo's index entry.
    pub fn get(&self, id: i64) -> Result<Option<Photo>, LibraryError> {
        get_in(&self.reader(), id).map_err(|e| self.db_err(e))
    }

    /// Every photo, newest first.
    pub fn list(&self) -> Result<Vec<Photo>, LibraryError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM photos ORDER BY received_at DESC, id DESC"))
            .map_err(|e| self.db_err(e))?;
        let rows = stmt.query_map([], photo_from_row).map_err(|e| self.db_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))
    }

    /// How many photos there are.
    pub fn count(&self) -> Result<u64, LibraryError> {
        self.reader()
            .query_row("SELECT COUNT(*) FROM photos", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.db_err(e))
    }

    /// The original bytes of a photo, or `None` if there is no such photo.
    pub fn read(&self, id: i64) -> Result<Option<(Photo, Vec<u8>)>, LibraryError> {
        let Some(photo) = self.get(id)? else { return Ok(None) };
        let path = self.photo_path(&photo.sha256);
        let bytes = fs::read(&path).map_err(|source| LibraryError::Io {
            action: "cannot read",
            path,
            source,
        })?;
        Ok(Some((photo, bytes)))
    }

    /// Removes a photo; `false` if there was none with that id. Works on a full disk too: when
    /// the index cannot record the delete for want of space, the original goes first to make
    /// room (were the frame to stop right then, `open` would drop the row of the absent file).
    pub fn delete(&self, id: i64) -> Result<bool, LibraryError> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let sha: Option<String> = self
            .conn()
            .query_row("SELECT sha256 FROM photos WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.db_err(e))?;
        let Some(sha) = sha else { return Ok(false) };
        let delete_row = || self.conn().execute("DELETE FROM photos WHERE id = ?1", [id]);
        match delete_row() {
            Ok(_) => self.remove_files(&[(id, sha)]),
            Err(e) if is_sqlite_full(&e) => {
                tracing::warn!("the disk is full: removing photo {id}'s file before its row");
                self.remove_files(&[(id, sha)]);
                delete_row().map_err(|e| self.db_err(e))?;
            }
            Err(e) => return Err(self.db_err(e)),
        }
        self.full.store(false, Ordering::Relaxed);
        Ok(true)
    }

    /// Sets the caption of the photos a Discord message brought (the sender edited it);
    /// returns them as they are now. `None` clears the caption.
    pub fn recaption_message(
        &self,
        message_id: u64,
        caption: Option<String>,
    ) -> Result<Vec<Photo>, LibraryError> {
        let mut conn = self.conn();
        let result = (|| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE photos SET caption = ?1 WHERE message_id = ?2",
                params![caption, message_id as i64],
            )?;
            let ids: Vec<i64> = {
                let mut stmt = tx.prepare("SELECT id FROM photos WHERE message_id = ?1")?;
                let rows = stmt.query_map([message_id as i64], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut photos = Vec::new();
            for id in ids {
                photos.extend(get_in(&tx, id)?);
            }
            tx.commit()?;
            Ok(photos)
        })();
        let result = result.map_err(|e| self.db_err(e));
        self.note_write(&result);
        result
    }

    /// Gives photo `id` a new caption; returns it as it is now (`None`: no such photo).
    pub fn recaption(
        &self,
        id: i64,
        caption: Option<String>,
    ) -> Result<Option<Photo>, LibraryError> {
        let result = (|| {
            let conn = self.conn();
            conn.execute("UPDATE photos SET caption = ?1 WHERE id = ?2", params![caption, id])?;
            get_in(&conn, id)
        })();
        let result = result.map_err(|e| self.db_err(e));
        self.note_write(&result);
        result
    }

    /// Marks photo `id` a favourite, or not; returns it as it is now (`None`: no such photo).
    pub fn set_favourite(&self, id: i64, favourite: bool) -> Result<Option<Photo>, LibraryError> {
        let result = (|| {
            let conn = self.conn();
            conn.execute("UPDATE photos SET favourite = ?1 WHERE id = ?2", params![favourite, id])?;
            get_in(&conn, id)
        })();
        let result = result.map_err(|e| self.db_err(e));
        self.note_write(&result);
        result
    }

    /// The photos a Discord message brought.
    pub fn by_message(&self, message_id: u64) -> Result<Vec<Photo>, LibraryError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM photos WHERE message_id = ?1 ORDER BY received_at, id"
            ))
            .map_err(|e| self.db_err(e))?;
        let rows =
            stmt.query_map([message_id as i64], photo_from_row).map_err(|e| self.db_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))
    }

    /// The newest Discord message each channel brought a photo from: `(channel, message)`.
    /// Catching up after a restart starts there.
    pub fn newest_messages(&self) -> Result<Vec<(u64, u64)>, LibraryError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare(
                "SELECT channel_id, MAX(message_id) FROM photos \
                 WHERE channel_id IS NOT NULL AND message_id IS NOT NULL GROUP BY channel_id",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))
            .map_err(|e| self.db_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))
    }

    /// Removes the photos that came with a Discord message; returns their ids.
    pub fn delete_by_message(&self, message_id: u64) -> Result<Vec<i64>, LibraryError> {
        let ids: Vec<i64> = {
            let conn = self.reader();
            let mut stmt = conn
                .prepare("SELECT id FROM photos WHERE message_id = ?1")
                .map_err(|e| self.db_err(e))?;
            let rows =
                stmt.query_map([message_id as i64], |r| r.get(0)).map_err(|e| self.db_err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))?
        };
        for &id in &ids {
            self.delete(id)?;
        }
        Ok(ids)
    }

    /// Tidies what a crash (or an owner) left: removes `.part` files; indexes again every
    /// original that has no row; drops the rows of originals proven absent. Anything it cannot
    /// read is kept as it is and reported in `notices`.
    fn recover(&self, notices: &mut Vec<String>) -> Result<(), LibraryError> {
        let tmp = self.dir.join("tmp");
        for entry in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "part") {
                let _ = fs::remove_file(entry.path());
            }
        }
        let rows: Vec<(i64, String)> = {
            let conn = self.conn();
            let mut stmt =
                conn.prepare("SELECT id, sha256 FROM photos").map_err(|e| self.db_err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| self.db_err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))?
        };
        let known: std::collections::HashSet<&str> = rows.iter().map(|(_, s)| s.as_str()).collect();
        let mut reindexed = 0;
        let photos = self.dir.join("photos");
        let unreadable = |notices: &mut Vec<String>, path: &Path, e: &dyn std::fmt::Display| {
            let notice = format!(
                "cannot read {} ({e}): the photos there are kept but cannot be checked or \
                 shown; the user the frame runs as must be able to read it",
                path.display()
            );
            tracing::error!("{notice}");
            notices.push(notice);
        };
        match fs::read_dir(&photos) {
            Err(e) => unreadable(notices, &photos, &e),
            Ok(shards) => {
                for shard in shards.flatten() {
                    let files = match fs::read_dir(shard.path()) {
                        Ok(files) => files,
                        Err(e) => {
                            unreadable(notices, &shard.path(), &e);
                            continue;
                        }
                    };
                    for file in files.flatten() {
                        let name = file.file_name().to_string_lossy().into_owned();
                        if known.contains(name.as_str()) {
                            continue;
                        }
                        match self.reindex(&file.path(), &name) {
                            Ok(()) => reindexed += 1,
                            Err(why) => {
                                let notice = format!("{}: {why}", file.path().display());
                                tracing::warn!("{notice}");
                                notices.push(notice);
                            }
                        }
                    }
                }
            }
        }
        if reindexed > 0 {
            let notice = format!(
                "{reindexed} photos had no entry in the index and were indexed again (their \
                 captions and senders are not known)"
            );
            tracing::warn!("{notice}");
            notices.push(notice);
        }
        let mut unreadable_rows = Vec::new();
        for (id, sha) in rows {
            let path = self.photo_path(&sha);
            match fs::metadata(&path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::warn!(
                        "photo {id}: its file {} is gone; removing it from the index",
                        path.display()
                    );
                    self.conn()
                        .execute("DELETE FROM photos WHERE id = ?1", [id])
                        .map_err(|e| self.db_err(e))?;
                }
                Err(e) => unreadable_rows.push(format!("{} ({e})", path.display())),
            }
        }
        if let Some(first) = unreadable_rows.first() {
            // One line for them all: a folder with the wrong owner makes every photo unreadable.
            let notice = format!(
                "{} photos cannot be read (the first: {first}): they are kept, and shown again \
                 once the user the frame runs as can read them",
                unreadable_rows.len()
            );
            tracing::error!("{notice}");
            notices.push(notice);
        }
        Ok(())
    }

    /// Indexes an original found without a row, from its bytes. The error says why it was
    /// left as it is (never removed).
    fn reindex(&self, path: &Path, name: &str) -> Result<(), String> {
        let is_sha = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_sha || path.parent().and_then(Path::file_name) != Some(name[..2].as_ref()) {
            return Err(
                "not a photo of the library's (not named by its SHA-256): left as it is".into()
            );
        }
        let bytes = fs::read(path).map_err(|e| format!("cannot read it ({e}): left as it is"))?;
        if hex::encode(Sha256::digest(&bytes)) != name {
            return Err("its contents do not match its name (damaged?): left as it is".into());
        }
        // An original is never refused for its size: the limits apply to new photos.
        let (format, (width, height), kind, duration) = recovered_shape(path, &bytes)?;
        let received = fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or_else(now_ms, |d| d.as_millis() as i64);
        self.conn()
            .execute(
                "INSERT INTO photos (sha256, source, received_at, width, height, bytes, format, \
                 kind, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    name,
                    Source::Recovered.as_str(),
                    received,
                    width,
                    height,
                    bytes.len() as i64,
                    format,
                    kind,
                    duration.map(|d| d.as_millis() as i64),
                ],
            )
            .map_err(|e| format!("cannot index it ({e}): left as it is"))?;
        Ok(())
    }
}

/// An original's format, upright size, kind and length (of one play).
type Shape = (String, (u32, u32), Kind, Option<std::time::Duration>);

/// What an original found without a row is: its format, upright size, kind and length. A clip
/// is read by GStreamer (where the system has it); the limits for new photos do not apply.
fn recovered_shape(path: &Path, bytes: &[u8]) -> Result<Shape, String> {
    use crate::playback::{animation, video, MotionLimits};
    let unlimited = MotionLimits { max_duration: std::time::Duration::MAX, max_pixels: u64::MAX };
    if let Some(container) = video::container(bytes) {
        let info = video::probe(path, &unlimited).map_err(|e| {
            format!("a video the frame cannot read now ({e}): left as it is, and indexed again at a later start")
        })?;
        return Ok((container.into(), (info.width, info.height), Kind::Video, Some(info.duration)));
    }
    let limits = crate::render::Limits { max_pixels: u64::MAX, max_decode_bytes: u64::MAX };
    let info = crate::render::probe(bytes, &limits)
        .map_err(|e| format!("the frame cannot read it as a photo ({e}): left as it is"))?;
    let motion = animation::is_animated(bytes, info.format)
        .then(|| animation::probe(bytes, info.format, &unlimited).ok())
        .flatten();
    let kind = if motion.is_some() { Kind::Animation } else { Kind::Photo };
    Ok((info.format.name().into(), info.upright_size(), kind, motion.map(|m| m.duration)))
}

/// Opens the index, and checks that SQLite can read it as one.
fn open_index(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    // WAL with synchronous=FULL: a committed photo survives power loss, and readers do not
    // wait for the writer.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    migrate(&mut conn)?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(check),
        ));
    }
    Ok(conn)
}

/// Brings an index written by an older frame up to date (see [`MIGRATIONS`]).
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?.max(0) as usize;
    if version > MIGRATIONS.len() {
        // A newer frame wrote it (a downgrade): its extra columns are not read, and the
        // queries here name their columns, so it still works.
        tracing::warn!(
            "the photo index is from a newer version of the frame (schema {version}, this one \
             knows {}): using it as it is",
            MIGRATIONS.len()
        );
        return Ok(());
    }
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", done as i64 + 1)?;
        tx.commit()?;
        tracing::info!("the photo index was upgraded to schema {}", done + 1);
    }
    Ok(())
}

/// Opens the reading connection (after `open_index` made and checked the file).
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Moves a damaged index (and its WAL and shared-memory files) to
/// `library.sqlite3.corrupt-<time>`, so that a new one can be built and nothing is lost.
fn move_aside(db: &Path) -> Result<PathBuf, LibraryError> {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let aside = db.with_file_name(format!("library.sqlite3.corrupt-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        let to = PathBuf::from(format!("{}{suffix}", aside.display()));
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
            Err(source) => {
                return Err(LibraryError::Io {
                    action: "cannot move the damaged index aside to",
                    path: to,
                    source,
                })
            }
        }
    }
    Ok(aside)
}

fn get_in(conn: &Connection, id: i64) -> rusqlite::Result<Option<Photo>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM photos WHERE id = ?1"), [id], photo_from_row)
        .optional()
}

fn photo_from_row(r: &Row<'_>) -> rusqlite::Result<Photo> {
    Ok(Photo {
        id: r.get(0)?,
        sha256: r.get(1)?,
        source: Source::parse(&r.get::<_, String>(2)?),
        sender: r.get(3)?,
        caption: r.get(4)?,
        channel_id: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
        message_id: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        received_at: r.get(7)?,
        width: r.get(8)?,
        height: r.get(9)?,
        bytes: r.get::<_, i64>(10)? as u64,
        format: r.get(11)?,
        // A fit this version does not know (written by a newer one) leaves the photo with the
        // frame's own: the photo still shows.
        fit: r.get::<_, Option<Fit>>(12).unwrap_or(None),
        sender_id: r.get::<_, Option<i64>>(13)?.map(|v| v as u64),
        favourite: r.get(14)?,
        spoiler: r.get(15)?,
        // A kind this version does not know is shown as a photo: its still still decodes.
        kind: r.get::<_, Kind>(16).unwrap_or(Kind::Photo),
        duration_ms: r.get::<_, Option<i64>>(17)?.map(|v| v.max(0) as u64),
    })
}

/// A fit is stored as its word (`contain`, `cover`), as the API and the config write it.
impl rusqlite::types::ToSql for Fit {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Fit {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Fit> {
        let word = value.as_str()?;
        word.parse().map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(format: &str) -> NewPhoto {
        NewPhoto { format: format.into(), width: 10, height: 10, ..Default::default() }
    }

    #[test]
    fn add_list_read_delete() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        let a = lib.add(b"photo a", new("JPEG")).unwrap();
        let b = lib.add(b"photo b", new("PNG")).unwrap();
        assert!(!a.duplicate && !b.duplicate);
        let ids: Vec<i64> = lib.list().unwrap().iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![b.photo.id, a.photo.id], "newest first");
        assert_eq!(lib.read(a.photo.id).unwrap().unwrap().1, b"photo a");
        assert!(lib.delete(a.photo.id).unwrap());
        assert!(!lib.delete(a.photo.id).unwrap());
        assert_eq!(lib.count().unwrap(), 1);
        assert!(!lib.photo_path(&a.photo.sha256).exists());
    }

    #[test]
    fn the_same_bytes_twice_are_one_entry_moved_to_the_front() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        let a = lib.add(b"same", new("JPEG")).unwrap();
        let _b = lib.add(b"other", new("JPEG")).unwrap();
        let again = lib.add(b"same", new("JPEG")).unwrap();
        assert!(again.duplicate);
        assert_eq!(again.photo.id, a.photo.id);
        assert_eq!(lib.count().unwrap(), 2);
        assert_eq!(lib.list().unwrap()[0].id, a.photo.id);
    }

    #[test]
    fn favourites_are_kept_by_retention_and_flagged_in_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention { max_photos: 2, max_bytes: 0 }).unwrap();
        let a = lib.add(b"1", new("JPEG")).unwrap().photo;
        let b = lib.add(b"2", new("JPEG")).unwrap().photo;
        assert!(lib.set_favourite(a.id, true).unwrap().unwrap().favourite);
        assert_eq!(lib.set_favourite(999, true).unwrap(), None);
        // The oldest is a favourite: the next oldest goes instead.
        let c = lib.add(b"3", new("JPEG")).unwrap();
        assert_eq!(c.removed, vec![b.id]);
        // Only favourites left to remove: the library stays over its limit rather than lose one.
        lib.set_favourite(c.photo.id, true).unwrap();
        let d = lib.add(b"4", new("JPEG")).unwrap();
        assert!(d.removed.is_empty());
        assert_eq!(lib.count().unwrap(), 3);
        lib.set_favourite(a.id, false).unwrap();
        let e = lib.add(b"5", new("JPEG")).unwrap();
        assert_eq!(e.removed, vec![a.id, d.photo.id]);
        let spoiler = lib.add(b"6", NewPhoto { spoiler: true, ..new("PNG") }).unwrap().photo;
        assert!(spoiler.spoiler && !spoiler.favourite);
        assert!(lib.get(c.photo.id).unwrap().unwrap().favourite, "the flag is stored");
    }

    #[test]
    fn retention_removes_the_oldest_by_count_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention { max_photos: 2, max_bytes: 0 }).unwrap();
        let a = lib.add(b"1", new("JPEG")).unwrap();
        lib.add(b"2", new("JPEG")).unwrap();
        let c = lib.add(b"3", new("JPEG")).unwrap();
        assert_eq!(c.removed, vec![a.photo.id]);
        assert_eq!(lib.count().unwrap(), 2);

        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention { max_photos: 0, max_bytes: 10 }).unwrap();
        lib.add(b"aaaa", new("JPEG")).unwrap();
        lib.add(b"bbbb", new("JPEG")).unwrap();
        // 12 bytes > 10: the oldest goes, never the one just added, even if it alone is over.
        lib.add(b"cccc", new("JPEG")).unwrap();
        assert_eq!(lib.count().unwrap(), 2);
        lib.add(&[7u8; 64], new("JPEG")).unwrap();
        assert_eq!(lib.count().unwrap(), 1);
    }

    fn fixture(name: &str) -> Vec<u8> {
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
    }

    /// A library with two real photos in it, as the frame would have stored them.
    fn library_with_two_photos(dir: &Path) -> (i64, i64) {
        let lib = Library::open(dir, Retention::default()).unwrap();
        let mut a = new("JPEG");
        a.caption = Some("Grandma's garden".into());
        let a = lib.add(&fixture("ladybird.jpg"), a).unwrap().photo.id;
        let b = lib.add(&fixture("ladybird.png"), new("PNG")).unwrap().photo.id;
        (a, b)
    }

    fn shas(lib: &Library) -> Vec<String> {
        let mut shas: Vec<String> = lib.list().unwrap().into_iter().map(|p| p.sha256).collect();
        shas.sort();
        shas
    }

    #[test]
    fn reopening_keeps_every_original_and_removes_only_part_files() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let lib = Library::open(dir.path(), Retention::default()).unwrap();
            lib.add(b"kept", new("JPEG")).unwrap().photo.id
        };
        // A crash after the rename, before the commit: a real photo without a row.
        let photo = fixture("ladybird.png");
        let sha = hex::encode(Sha256::digest(&photo));
        let orphan = dir.path().join("photos").join(&sha[..2]).join(&sha);
        fs::create_dir_all(orphan.parent().unwrap()).unwrap();
        fs::write(&orphan, &photo).unwrap();
        // Something the frame did not write, and a photo file damaged on the card.
        let stranger = dir.path().join("photos/ab/holiday.jpg");
        fs::create_dir_all(stranger.parent().unwrap()).unwrap();
        fs::write(&stranger, b"not ours").unwrap();
        let damaged = dir.path().join("photos/ab").join(format!("ab{}", "0".repeat(62)));
        fs::write(&damaged, b"bytes that do not hash to the name").unwrap();
        // A crash during a write.
        fs::write(dir.path().join("tmp/1-0.part"), b"half").unwrap();

        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert_eq!(lib.read(id).unwrap().unwrap().1, b"kept");
        let recovered = lib.list().unwrap().into_iter().find(|p| p.sha256 == sha).unwrap();
        assert_eq!(recovered.source, Source::Recovered);
        assert_eq!(
            (recovered.width, recovered.height, recovered.format.as_str()),
            (640, 400, "PNG")
        );
        assert_eq!(lib.read(recovered.id).unwrap().unwrap().1, photo);
        assert!(stranger.exists() && damaged.exists(), "nothing is deleted for looking wrong");
        assert_eq!(lib.count().unwrap(), 2);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        let notices = lib.notices().join("\n");
        assert!(notices.contains("holiday.jpg") && notices.contains("do not match"), "{notices}");
        assert!(notices.contains("1 photos had no entry"), "{notices}");
    }

    #[test]
    fn a_deleted_or_emptied_index_is_rebuilt_from_the_photos() {
        for damage in ["delete", "empty"] {
            let dir = tempfile::tempdir().unwrap();
            library_with_two_photos(dir.path());
            let before = shas(&Library::open(dir.path(), Retention::default()).unwrap());
            let db = dir.path().join("library.sqlite3");
            for suffix in ["", "-wal", "-shm"] {
                let path = PathBuf::from(format!("{}{suffix}", db.display()));
                match damage {
                    "delete" => drop(fs::remove_file(path)),
                    _ => drop(File::create(path)),
                }
            }
            let lib = Library::open(dir.path(), Retention::default()).unwrap();
            assert_eq!(shas(&lib), before, "{damage}: every photo is back in the index");
            for photo in lib.list().unwrap() {
                assert_eq!(photo.source, Source::Recovered);
                assert!(lib.read(photo.id).unwrap().is_some());
            }
        }
    }

    #[test]
    fn a_corrupt_index_is_moved_aside_and_rebuilt() {
        for garbage in [&b"this is not a database, it is a shopping list"[..], &[0u8; 4096][..]] {
            let dir = tempfile::tempdir().unwrap();
            library_with_two_photos(dir.path());
            let db = dir.path().join("library.sqlite3");
            let mut header = fs::read(&db).unwrap();
            if garbage[0] == 0 {
                // A database cut short: its header promises pages that are not there.
                header.truncate(4096);
                header[100..].fill(0xAA);
            } else {
                header[..garbage.len()].copy_from_slice(garbage);
            }
            fs::write(&db, header).unwrap();
            let _ = fs::remove_file(dir.path().join("library.sqlite3-wal"));
            let lib = Library::open(dir.path(), Retention::default()).unwrap();
            assert_eq!(lib.count().unwrap(), 2);
            let aside: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("library.sqlite3.corrupt-"))
                .collect();
            assert_eq!(aside.len(), 1, "the damaged index is kept beside the new one");
            let notices = lib.notices().join("\n");
            assert!(notices.contains("damaged") && notices.contains(&aside[0]), "{notices}");
        }
    }

    #[test]
    fn a_photo_that_cannot_be_read_keeps_its_row_and_comes_back_when_it_can() {
        let dir = tempfile::tempdir().unwrap();
        library_with_two_photos(dir.path());
        let before = shas(&Library::open(dir.path(), Retention::default()).unwrap());
        // Every shard made unreachable (ENOTDIR: what root sees where another user would see
        // EACCES): the rows must stay, and nothing may be deleted.
        let photos = dir.path().join("photos");
        let away = dir.path().join("photos-away");
        fs::rename(&photos, &away).unwrap();
        fs::create_dir(&photos).unwrap();
        for sha in &before {
            fs::write(photos.join(&sha[..2]), b"").unwrap();
        }
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert_eq!(shas(&lib), before, "rows of unreadable files are kept");
        assert!(lib.notices().iter().any(|n| n.contains("cannot read")), "{:?}", lib.notices());
        drop(lib);
        fs::remove_dir_all(&photos).unwrap();
        fs::rename(&away, &photos).unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert_eq!(shas(&lib), before);
        assert_eq!(lib.list().unwrap().iter().filter(|p| p.caption.is_some()).count(), 1);
        assert!(lib.notices().is_empty(), "{:?}", lib.notices());
    }

    #[test]
    fn a_file_proven_gone_drops_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = library_with_two_photos(dir.path());
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        fs::remove_file(lib.photo_path(&lib.get(a).unwrap().unwrap().sha256)).unwrap();
        drop(lib);
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert_eq!(lib.list().unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), vec![b]);
    }

    #[test]
    fn a_duplicate_with_a_new_caption_keeps_the_new_caption() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        let mut first = new("JPEG");
        first.caption = Some("old".into());
        lib.add(b"same", first).unwrap();
        let mut again = new("JPEG");
        again.caption = Some("new".into());
        let added = lib.add(b"same", again).unwrap();
        assert_eq!(added.photo.caption.as_deref(), Some("new"));
        assert_eq!(lib.list().unwrap()[0].caption.as_deref(), Some("new"));
        // Sent again without a caption: the caption it had stays.
        let added = lib.add(b"same", new("JPEG")).unwrap();
        assert_eq!(added.photo.caption.as_deref(), Some("new"));
    }

    #[test]
    fn deleting_a_message_deletes_its_photos() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        let mut m = new("JPEG");
        m.message_id = Some(42);
        let a = lib.add(b"x", m.clone()).unwrap();
        let b = lib.add(b"y", m).unwrap();
        lib.add(b"z", new("JPEG")).unwrap();
        assert_eq!(lib.delete_by_message(42).unwrap(), vec![a.photo.id, b.photo.id]);
        assert_eq!(lib.count().unwrap(), 1);
    }

    /// Copies a directory tree (the fixture library) so that a test can change it.
    fn copy_tree(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    fn user_version(dir: &Path) -> i64 {
        let conn = Connection::open(dir.join("library.sqlite3")).unwrap();
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn an_index_from_the_first_release_is_upgraded_in_place() {
        // tests/fixtures/library-v0 was written by the frame before the index had versions:
        // a Discord photo from "grandma" with a caption and a per-photo fit, and an HTTP one.
        let dir = tempfile::tempdir().unwrap();
        let v0 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/library-v0");
        copy_tree(&v0, dir.path());
        assert_eq!(user_version(dir.path()), 0);

        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert!(lib.notices().is_empty(), "{:?}", lib.notices());
        let photos = lib.list().unwrap();
        assert_eq!(photos.len(), 2);
        let grandma = photos.iter().find(|p| p.source == Source::Discord).unwrap();
        assert_eq!(grandma.sender.as_deref(), Some("grandma"));
        assert_eq!(grandma.sender_id, None);
        assert_eq!(grandma.caption.as_deref(), Some("At the lake"));
        assert_eq!((grandma.channel_id, grandma.message_id), (Some(111), Some(222)));
        assert_eq!(grandma.fit, Some(Fit::Cover));
        assert_eq!(lib.showing().unwrap(), Some(grandma.id));
        assert!(lib.read(grandma.id).unwrap().is_some());

        // A new photo keeps its sender's id; the upgrade is done once.
        let id = lib
            .add(&fixture("ladybird.png"), NewPhoto { sender_id: Some(u64::MAX - 1), ..new("PNG") })
            .unwrap()
            .photo
            .id;
        assert_eq!(lib.get(id).unwrap().unwrap().sender_id, Some(u64::MAX - 1));
        drop(lib);
        assert_eq!(user_version(dir.path()), MIGRATIONS.len() as i64);
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert_eq!(lib.count().unwrap(), 3);
        assert_eq!(lib.get(id).unwrap().unwrap().sender_id, Some(u64::MAX - 1));
    }

    #[test]
    fn a_new_index_starts_at_the_latest_schema_and_closes_into_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        lib.add(&fixture("ladybird.jpg"), new("JPEG")).unwrap();
        assert!(lib.list().unwrap().len() == 1);
        drop(lib);
        // Closed cleanly, the library leaves everything in the database file itself.
        assert!(!dir.path().join("library.sqlite3-wal").exists(), "the WAL was not checkpointed");
        assert_eq!(user_version(dir.path()), MIGRATIONS.len() as i64);
    }

    #[test]
    fn readers_do_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Arc::new(Library::open(dir.path(), Retention::default()).unwrap());
        let id = lib.add(&fixture("ladybird.jpg"), new("JPEG")).unwrap().photo.id;
        // The writer's connection is held as it is through a commit's fsync.
        let writing = lib.conn();
        let reader = lib.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let seen = (reader.list().unwrap().len(), reader.count().unwrap());
            let got = reader.get(id).unwrap().map(|p| p.id);
            let _ = tx.send((seen, got, reader.showing().unwrap()));
        });
        let answer = rx.recv_timeout(std::time::Duration::from_secs(10));
        drop(writing);
        assert_eq!(answer.expect("a reader waited for the writer"), ((1, 1), Some(id), None));
    }
}
