//! The photo library: the originals on disk, content-addressed, and a SQLite index of who sent
//! what and when.
//!
//! Durability is the point of this module. A photo is written to `tmp/`, fsynced, renamed into
//! `photos/` and the directory fsynced; only then is its row committed, and only after the
//! commit does `add` return (so only then does a sender hear "done"). A crash at any step
//! leaves either nothing or a file without a row, which `open` removes; never a row without
//! its file. Deleting goes the other way round: the row first, then the file.
//!
//! The same bytes twice are one entry: the second arrival moves it to the front and shows it
//! again rather than storing a copy.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Why the library could not do what was asked. These are the owner's problems (a full disk,
/// a read-only card), not the sender's, so each names the file or the database it is about.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the library index {}: {source}", path.display())]
    Db { path: PathBuf, source: rusqlite::Error },
}

/// Where a photo came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Http,
    Discord,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Http => "http",
            Source::Discord => "discord",
        }
    }

    fn parse(s: &str) -> Source {
        if s == "discord" {
            Source::Discord
        } else {
            Source::Http
        }
    }
}

/// What the library is told about a photo besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewPhoto {
    pub source: Option<Source>,
    /// Who sent it: a Discord username, or whatever an HTTP client calls itself.
    pub sender: Option<String>,
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
    pub fit: Option<String>,
}

/// One stored photo, as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Photo {
    pub id: i64,
    pub sha256: String,
    pub source: Source,
    pub sender: Option<String>,
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
    pub fit: Option<String>,
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

/// How much the library keeps; 0 means no limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub max_photos: u64,
    pub max_bytes: u64,
}

/// The library. Cheap to share behind an `Arc`; every method is synchronous and may block on
/// the disk, so async callers use `spawn_blocking` for `add` and `delete`.
#[derive(Debug)]
pub struct Library {
    /// The data directory: `library.sqlite3`, `photos/`, `tmp/`.
    dir: PathBuf,
    /// One connection, serialised: a frame's write rate is a few photos a minute, and one
    /// writer means no `SQLITE_BUSY` to handle.
    conn: Mutex<Connection>,
    retention: Retention,
    /// Makes temporary file names unique within the process.
    tmp_counter: AtomicU64,
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

const COLUMNS: &str = "id, sha256, source, sender, caption, channel_id, message_id, received_at, \
                       width, height, bytes, format, fit";

impl Library {
    /// Opens (creating if needed) the library in `dir`, and tidies what a crash may have left:
    /// temporary files, and originals whose row was never committed.
    pub fn open(dir: &Path, retention: Retention) -> Result<Library, LibraryError> {
        for sub in ["photos", "tmp"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|source| LibraryError::Io {
                action: "cannot create the directory",
                path,
                source,
            })?;
        }
        let db_path = dir.join("library.sqlite3");
        let db = |source| LibraryError::Db { path: db_path.clone(), source };
        let conn = Connection::open(&db_path).map_err(db)?;
        // WAL with synchronous=FULL: a committed photo survives power loss, and readers do not
        // wait for the writer.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        let library = Library {
            dir: dir.to_owned(),
            conn: Mutex::new(conn),
            retention,
            tmp_counter: AtomicU64::new(0),
        };
        library.recover()?;
        Ok(library)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Remembers the photo on screen (`None`: the welcome slide), so that after a restart or
    /// a power cut the frame comes back to it.
    pub fn set_showing(&self, id: Option<i64>) -> Result<(), LibraryError> {
        self.conn()
            .execute(
                "INSERT INTO state (key, value) VALUES ('showing', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [id],
            )
            .map(drop)
            .map_err(|e| self.db_err(e))
    }

    /// The photo that was on screen last, if it is still in the library.
    pub fn showing(&self) -> Result<Option<i64>, LibraryError> {
        self.conn()
            .query_row(
                "SELECT p.id FROM state s JOIN photos p ON p.id = s.value WHERE s.key = 'showing'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db_err(e))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn db_err(&self, source: rusqlite::Error) -> LibraryError {
        LibraryError::Db { path: self.dir.join("library.sqlite3"), source }
    }

    fn photo_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("photos").join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` durably and indexes them. Returns once both are on disk.
    pub fn add(&self, bytes: &[u8], new: NewPhoto) -> Result<Added, LibraryError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let final_path = self.photo_path(&sha256);
        if !final_path.exists() {
            self.write_durably(bytes, &final_path)?;
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.db_err(e))?;
        // Arrival order must be strict even within one millisecond (and across a clock stepped
        // back by NTP at boot): the newest photo is always first.
        let latest: i64 = tx
            .query_row("SELECT COALESCE(MAX(received_at), 0) FROM photos", [], |r| r.get(0))
            .map_err(|e| self.db_err(e))?;
        let now = now_ms().max(latest + 1);
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM photos WHERE sha256 = ?1", [&sha256], |r| r.get(0))
            .optional()
            .map_err(|e| self.db_err(e))?;
        let (id, duplicate) = match existing {
            Some(id) => {
                tx.execute("UPDATE photos SET received_at = ?1 WHERE id = ?2", params![now, id])
                    .map_err(|e| self.db_err(e))?;
                (id, true)
            }
            None => {
                tx.execute(
                    "INSERT INTO photos (sha256, source, sender, caption, channel_id, message_id, \
                     received_at, width, height, bytes, format, fit) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
                        bytes.len() as i64,
                        new.format,
                        new.fit,
                    ],
                )
                .map_err(|e| self.db_err(e))?;
                (tx.last_insert_rowid(), false)
            }
        };
        let removed = self.apply_retention(&tx, id)?;
        let photo = get_in(&tx, id).map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        drop(conn);
        self.remove_files(&removed);
        let photo = photo.ok_or_else(|| self.db_err(rusqlite::Error::QueryReturnedNoRows))?;
        Ok(Added { photo, duplicate, removed: removed.into_iter().map(|(id, _)| id).collect() })
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
        let mut file = File::create(&tmp).map_err(io("cannot create", &tmp))?;
        file.write_all(bytes).map_err(io("cannot write", &tmp))?;
        file.sync_all().map_err(io("cannot flush to disk", &tmp))?;
        drop(file);
        let parent = final_path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent).map_err(io("cannot create the directory", parent))?;
        fs::rename(&tmp, final_path).map_err(io("cannot move the photo into", final_path))?;
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io("cannot flush the directory", parent))?;
        Ok(())
    }

    /// Deletes the oldest photos (never `keep`) until the library is within its limits.
    /// Returns the removed ids and hashes; their files go after the commit.
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
                    "SELECT id, sha256, bytes FROM photos WHERE id != ?1 \
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

    /// Removes originals whose rows are gone. A failure only leaves a file that the next
    /// `open` removes, so it is logged, not returned.
    fn remove_files(&self, removed: &[(i64, String)]) {
        for (_, sha) in removed {
            let path = self.photo_path(sha);
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }

    /// One photo's index entry.
    pub fn get(&self, id: i64) -> Result<Option<Photo>, LibraryError> {
        get_in(&self.conn(), id).map_err(|e| self.db_err(e))
    }

    /// Every photo, newest first.
    pub fn list(&self) -> Result<Vec<Photo>, LibraryError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM photos ORDER BY received_at DESC, id DESC"))
            .map_err(|e| self.db_err(e))?;
        let rows = stmt.query_map([], photo_from_row).map_err(|e| self.db_err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))
    }

    /// How many photos there are.
    pub fn count(&self) -> Result<u64, LibraryError> {
        self.conn()
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

    /// Removes a photo; `false` if there was none with that id.
    pub fn delete(&self, id: i64) -> Result<bool, LibraryError> {
        let sha: Option<String> = {
            let conn = self.conn();
            let sha = conn
                .query_row("SELECT sha256 FROM photos WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(|e| self.db_err(e))?;
            conn.execute("DELETE FROM photos WHERE id = ?1", [id]).map_err(|e| self.db_err(e))?;
            sha
        };
        match sha {
            Some(sha) => {
                self.remove_files(&[(id, sha)]);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes the photos that came with a Discord message; returns their ids.
    pub fn delete_by_message(&self, message_id: u64) -> Result<Vec<i64>, LibraryError> {
        let ids: Vec<i64> = {
            let conn = self.conn();
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

    /// Removes temporary files and originals without a committed row (a crash between the
    /// rename and the commit), and rows whose original is missing (a damaged card).
    fn recover(&self) -> Result<(), LibraryError> {
        let tmp = self.dir.join("tmp");
        if let Ok(entries) = fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        let known: std::collections::HashSet<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT sha256 FROM photos").map_err(|e| self.db_err(e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.db_err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.db_err(e))?
        };
        let photos = self.dir.join("photos");
        for shard in fs::read_dir(&photos).into_iter().flatten().flatten() {
            for file in fs::read_dir(shard.path()).into_iter().flatten().flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if !known.contains(&name) {
                    tracing::info!("removing {}: no index entry (an interrupted upload)", name);
                    let _ = fs::remove_file(file.path());
                }
            }
        }
        let missing: Vec<i64> = {
            let conn = self.conn();
            let mut stmt =
                conn.prepare("SELECT id, sha256 FROM photos").map_err(|e| self.db_err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| self.db_err(e))?;
            rows.filter_map(Result::ok)
                .filter(|(_, sha)| !self.photo_path(sha).exists())
                .map(|(id, _)| id)
                .collect()
        };
        for id in missing {
            tracing::warn!("photo {id}: its file is missing; removing it from the index");
            self.conn()
                .execute("DELETE FROM photos WHERE id = ?1", [id])
                .map_err(|e| self.db_err(e))?;
        }
        Ok(())
    }
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
        fit: r.get(12)?,
    })
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

    #[test]
    fn reopening_keeps_photos_and_removes_what_a_crash_left() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let lib = Library::open(dir.path(), Retention::default()).unwrap();
            lib.add(b"kept", new("JPEG")).unwrap().photo.id
        };
        // A crash after the rename, before the commit; and one during the write.
        let orphan = dir.path().join("photos/ab/ab00");
        fs::create_dir_all(orphan.parent().unwrap()).unwrap();
        fs::write(&orphan, b"orphan").unwrap();
        fs::write(dir.path().join("tmp/1-0.part"), b"half").unwrap();
        let lib = Library::open(dir.path(), Retention::default()).unwrap();
        assert_eq!(lib.read(id).unwrap().unwrap().1, b"kept");
        assert!(!orphan.exists());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
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
}
