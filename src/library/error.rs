//! What can go wrong in the library, and the questions that tell the owner what to do about
//! it: free space (`is_disk_full`), or mind a failing card (`is_io_failure`).

use std::path::PathBuf;

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

pub(super) fn is_sqlite_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// An index that SQLite cannot read as one: not a database at all, or a damaged one.
pub(super) fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}
