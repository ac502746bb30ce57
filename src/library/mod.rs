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
//!
//! Here are the library's writing and reading; `photo` is what a stored photo is, `error`
//! what can go wrong, `index` the SQLite side (the schema, its migrations, rows into photos),
//! and `recover` what `open` tidies.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

mod error;
mod index;
mod photo;
mod recover;

#[cfg(test)]
mod tests;

pub use error::LibraryError;
pub use photo::{Added, Kind, NewPhoto, Photo, Source};

use error::{is_corrupt, is_sqlite_full};
use index::{get_in, open_index, open_reader, photo_from_row, COLUMNS};
use recover::move_aside;

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
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
