//! The library on real files and a real SQLite index: durability, duplicates, retention,
//! recovery from crashes, deleted or damaged indexes, and full disks.

use super::index::MIGRATIONS;
use super::*;
use crate::render::Fit;

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
    assert_eq!((recovered.width, recovered.height, recovered.format.as_str()), (640, 400, "PNG"));
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
