//! The SQLite index: its schema and the migrations to it, how it is opened (the writer and the
//! reader), and how a row becomes a [`Photo`].

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row};

use super::{Kind, Photo, Source};
use crate::render::Fit;

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
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: photos know their sender's Discord id, which (unlike a username) cannot change.
    "ALTER TABLE photos ADD COLUMN sender_id INTEGER;",
    // 2: favourites, kept by retention; spoilers, shown veiled.
    "ALTER TABLE photos ADD COLUMN favourite INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE photos ADD COLUMN spoiler INTEGER NOT NULL DEFAULT 0;",
    // 3: motion: animations and videos, with their length.
    "ALTER TABLE photos ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo';
     ALTER TABLE photos ADD COLUMN duration_ms INTEGER;",
];

pub(super) const COLUMNS: &str =
    "id, sha256, source, sender, caption, channel_id, message_id, received_at, \
                       width, height, bytes, format, fit, sender_id, favourite, spoiler, kind, \
                       duration_ms";

/// Opens the index, and checks that SQLite can read it as one.
pub(super) fn open_index(path: &Path) -> rusqlite::Result<Connection> {
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
pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

pub(super) fn get_in(conn: &Connection, id: i64) -> rusqlite::Result<Option<Photo>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM photos WHERE id = ?1"), [id], photo_from_row)
        .optional()
}

pub(super) fn photo_from_row(r: &Row<'_>) -> rusqlite::Result<Photo> {
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
