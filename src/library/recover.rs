//! What `open` tidies: `.part` files, originals without a row (indexed again from their bytes),
//! rows whose original is proven absent, and a damaged index (moved aside, never deleted).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::params;
use sha2::{Digest, Sha256};

use super::{now_ms, Kind, Library, LibraryError, Source};

impl Library {
    /// Tidies what a crash (or an owner) left: removes `.part` files; indexes again every
    /// original that has no row; drops the rows of originals proven absent. Anything it cannot
    /// read is kept as it is and reported in `notices`.
    pub(super) fn recover(&self, notices: &mut Vec<String>) -> Result<(), LibraryError> {
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

/// Moves a damaged index (and its WAL and shared-memory files) to
/// `library.sqlite3.corrupt-<time>`, so that a new one can be built and nothing is lost.
pub(super) fn move_aside(db: &Path) -> Result<PathBuf, LibraryError> {
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
