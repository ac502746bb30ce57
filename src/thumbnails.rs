//! The page's thumbnails, cached on disk in the library's directory
//! (`thumbnails/ab/<sha256>.jpg`, `…-veiled.jpg` for a spoiler).
//!
//! They are made by the frame's own pipeline (the render of a slide, cropped to a square) the
//! first time they are asked for, and are only ever a copy: a missing, torn or unwritable one
//! is made again, and a full disk only means it is not kept. They go when their original goes
//! ([`forget`], called by the library's one way of removing originals).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The side of a thumbnail, in pixels: a grid cell of ~160 CSS pixels on a phone's screen of
/// twice the density.
pub const SIDE: u32 = 320;

/// The cache under one library directory.
#[derive(Debug)]
pub struct Thumbnails {
    dir: PathBuf,
    tmp: PathBuf,
    counter: AtomicU64,
}

impl Thumbnails {
    pub fn new(library_dir: &Path) -> Thumbnails {
        Thumbnails {
            dir: library_dir.join("thumbnails"),
            // The library's own place for unfinished files, tidied at every start.
            tmp: library_dir.join("tmp"),
            counter: AtomicU64::new(0),
        }
    }

    /// The cached thumbnail of the original `sha256` (veiled: a spoiler's), if there is a
    /// whole one.
    pub fn get(&self, sha256: &str, veiled: bool) -> Option<Vec<u8>> {
        let bytes = fs::read(path(&self.dir, sha256, veiled)).ok()?;
        // A JPEG ends with its EOI marker: anything else is torn (a power cut before the
        // cache's data reached the card) and is made again.
        bytes.ends_with(&[0xFF, 0xD9]).then_some(bytes)
    }

    /// Keeps a thumbnail. Written whole under a temporary name, then renamed, without fsync:
    /// a copy is not worth a slow card's wait.
    pub fn put(&self, sha256: &str, veiled: bool, jpeg: &[u8]) -> std::io::Result<()> {
        let dest = path(&self.dir, sha256, veiled);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("{}-{n}-thumbnail.part", std::process::id()));
        let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(jpeg));
        match written.and_then(|()| fs::rename(&tmp, &dest)) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn path(dir: &Path, sha256: &str, spoiler: bool) -> PathBuf {
    let name = if spoiler { format!("{sha256}-veiled.jpg") } else { format!("{sha256}.jpg") };
    dir.join(sha256.get(..2).unwrap_or("00")).join(name)
}

/// Removes the thumbnails of an original that is gone; what is not there is fine.
pub fn forget(library_dir: &Path, sha256: &str) {
    let dir = library_dir.join("thumbnails");
    for spoiler in [false, true] {
        let path = path(&dir, sha256, spoiler);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot remove the thumbnail {}: {e}", path.display()),
        }
    }
}
