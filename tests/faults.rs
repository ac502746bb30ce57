//! Faults injected into a running frame (the real binary, headless): a deleted, emptied or
//! corrupt index, an unreadable photo folder, a full disk, hostile uploads, stray signals.
//! In every case nothing the family sent may be lost, and the answer says what happened.
//!
//! The tests that need root (a tmpfs of a few MB, running the frame as another user) are
//! `#[ignore]`d and run by `.ci/run`, which runs as root.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::fixture;
use support::frame::{error_of, Frame, FrameOptions};

const PHOTOS: [&str; 3] = ["ladybird.jpg", "ladybird.png", "orient-6.jpg"];

/// Stores the three photos, stops the frame, and returns their hashes, sorted.
fn library_of_three(data: &Path) -> Vec<String> {
    let frame = Frame::headless(data);
    for name in PHOTOS {
        assert_eq!(frame.upload(fixture(name)).status(), 201);
    }
    assert!(frame.terminate().success());
    photo_files(data)
}

/// The hashes of the originals in `photos/`, sorted.
fn photo_files(data: &Path) -> Vec<String> {
    let mut shas = Vec::new();
    for shard in std::fs::read_dir(data.join("photos")).unwrap() {
        for file in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            shas.push(file.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    shas.sort();
    shas
}

fn listed(frame: &Frame) -> Vec<String> {
    let body: Value = frame.get("/api/photos").json().unwrap();
    let mut shas: Vec<String> = body["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sha256"].as_str().unwrap().to_owned())
        .collect();
    shas.sort();
    shas
}

#[test]
fn a_deleted_or_emptied_index_keeps_every_photo_and_is_rebuilt() {
    for damage in ["deleted", "emptied"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let before = library_of_three(&data);
        assert_eq!(before.len(), 3);
        for suffix in ["", "-wal", "-shm"] {
            let db = data.join(format!("library.sqlite3{suffix}"));
            if damage == "deleted" {
                let _ = std::fs::remove_file(db);
            } else {
                std::fs::write(db, b"").unwrap();
            }
        }
        let frame = Frame::headless(&data);
        assert_eq!(listed(&frame), before, "{damage}: every photo is listed again");
        assert_eq!(photo_files(&data), before, "{damage}: every original is still on disk");
        let status = frame.status();
        assert_eq!(status["photos"], 3);
        let notices = status["library"]["notices"].to_string();
        assert!(notices.contains("3 photos had no entry"), "{damage}: {notices}");
        // The photos are shown, and can be fetched whole.
        let first =
            support::wait_for(Duration::from_secs(5), || frame.log(), || frame.current_id());
        let original = frame.get(&format!("/api/photos/{first}"));
        assert_eq!(original.status(), 200);
    }
}

#[test]
fn a_corrupt_index_is_moved_aside_and_the_frame_starts_with_its_photos() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let before = library_of_three(&data);
    // A header of garbage, as a bad SD card or a stray `echo >` leaves it.
    let db = data.join("library.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&db, bytes).unwrap();
    let frame = Frame::headless(&data);
    assert_eq!(listed(&frame), before);
    let notices = frame.status()["library"]["notices"].to_string();
    assert!(notices.contains("damaged") && notices.contains("corrupt-"), "{notices}");
    let aside = std::fs::read_dir(&data)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert_eq!(aside, 1, "the damaged index is kept for whoever wants to look at it");
    assert!(frame.log().contains("moved to"), "{}", frame.log());
}

#[test]
fn a_photo_sent_again_with_a_new_caption_keeps_the_new_caption() {
    let dir = tempfile::tempdir().unwrap();
    let frame = Frame::headless(&dir.path().join("data"));
    let send = |caption: &str| {
        let url = format!("{}/api/photos?caption={caption}", frame.url);
        let resp = frame.http.post(url).body(fixture("ladybird.jpg")).send().unwrap();
        resp.json::<Value>().unwrap()["photos"][0].clone()
    };
    let first = send("Sunday");
    let again = send("Monday");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["caption"], "Monday");
    assert_eq!(frame.status()["current"]["caption"], "Monday");
    let listed: Value = frame.get("/api/photos").json().unwrap();
    assert_eq!(listed["photos"][0]["caption"], "Monday");
}

#[test]
fn a_huge_caption_is_cut_and_a_huge_form_is_refused_past_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let frame = Frame::headless(&dir.path().join("data"));
    // 1 MB of caption: stored cut to 1000 characters, and the upload answers.
    let caption = "word ".repeat(200_000);
    let form = reqwest::blocking::multipart::Form::new().text("caption", caption).part(
        "file",
        reqwest::blocking::multipart::Part::bytes(fixture("ladybird.jpg")).file_name("a.jpg"),
    );
    let resp = frame.http.post(format!("{}/api/photos", frame.url)).multipart(form).send().unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().unwrap();
    let stored = body["photos"][0]["caption"].as_str().unwrap();
    assert_eq!(stored.chars().count(), 1000);
    assert!(stored.ends_with('…'));

    // 300 tiny PNGs in one form: the first 100 are stored, the rest named as refused.
    let mut form = reqwest::blocking::multipart::Form::new();
    for n in 0..300u32 {
        let pixel = image::RgbImage::from_pixel(1, 1, image::Rgb([n as u8, (n >> 8) as u8, 7]));
        let mut bytes = Vec::new();
        pixel.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        form = form.part(
            "file",
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(format!("{n}.png")),
        );
    }
    let resp = frame.http.post(format!("{}/api/photos", frame.url)).multipart(form).send().unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["photos"].as_array().unwrap().len(), 100);
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 200);
    assert_eq!(rejected[0]["code"], "too_many_files");
    let message = rejected[0]["message"].as_str().unwrap();
    assert!(message.starts_with("100.png") && message.contains("another upload"), "{message}");
    assert_eq!(frame.status()["photos"], 101);
}

#[test]
fn sighup_and_sigusr1_do_not_stop_the_frame() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let frame = Frame::headless(&dir.path().join("data"));
    let pid = Pid::from_raw(frame.child.id() as i32);
    for signal in [Signal::SIGHUP, Signal::SIGUSR1, Signal::SIGUSR2] {
        kill(pid, signal).unwrap();
    }
    support::wait_for(
        Duration::from_secs(5),
        || frame.log(),
        || frame.log().contains("SIGUSR2: ignored").then_some(()),
    );
    assert_eq!(frame.get("/healthz").status(), 200);
    // SIGHUP reads the Discord token again; nothing else.
    assert!(frame.log().contains("SIGHUP: reading the Discord token again"), "{}", frame.log());
    assert!(frame.terminate().success());
}

/// Runs `cmd`, failing the test with its output if it fails.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A tmpfs of `size` mounted on `dir` for as long as it lives.
struct Tmpfs<'a>(&'a Path);

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, size: &str) -> Tmpfs<'a> {
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir));
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// Free bytes on the file system holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let st = nix::sys::statvfs::statvfs(path).unwrap();
    st.blocks_available() * st.fragment_size()
}

#[test]
#[ignore = "needs root (mounts a small tmpfs): run by .ci/run"]
fn on_a_full_disk_uploads_get_507_and_a_delete_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().join("disk");
    let disk = Tmpfs::mount(&mount_point, "8m");
    let data = disk.0.join("data");
    let frame = Frame::headless(&data);
    let big = fixture("ladybird.png");
    let resp = frame.upload(big.clone());
    assert_eq!(resp.status(), 201);
    let first: Value = resp.json().unwrap();
    let first_id = first["photos"][0]["id"].as_i64().unwrap();

    // Fill the disk but for less than another photo needs.
    let filler = disk.0.join("filler");
    let keep = (big.len() / 2) as u64;
    let fill = free_bytes(disk.0).saturating_sub(keep);
    std::fs::write(&filler, vec![0u8; fill as usize]).unwrap();

    let mut other = big.clone();
    other.extend_from_slice(b"another photo");
    for _ in 0..5 {
        let (status, code, message) = error_of(frame.upload(other.clone()));
        assert_eq!((status, code.as_str()), (507, "disk_full"), "{message}");
        assert!(
            message.contains("disk is full") && message.contains("delete some photos"),
            "{message}"
        );
    }
    // Failed writes leave nothing behind that would keep the disk full.
    assert_eq!(std::fs::read_dir(data.join("tmp")).unwrap().count(), 0);
    assert_eq!(photo_files(&data).len(), 1);
    let status = frame.status();
    assert_eq!(status["library"]["disk"]["full"], true, "{status}");

    // The owner deletes a photo through the API, on the full disk; then the upload goes in.
    let resp = frame.http.delete(format!("{}/api/photos/{first_id}", frame.url)).send().unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().unwrap());
    let resp = frame.upload(other);
    assert_eq!(resp.status(), 201, "{}", frame.log());
    assert_eq!(frame.status()["library"]["disk"]["full"], false);
    drop(frame);
    std::fs::remove_file(filler).unwrap();
}

#[test]
#[ignore = "needs root (runs the frame as the user nobody): run by .ci/run"]
fn an_unreadable_photo_folder_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let before = library_of_three(&data);
    run(Command::new("chmod").arg("755").arg(dir.path()));
    run(Command::new("chown").args(["-R", "nobody:nogroup"]).arg(&data));
    let as_nobody = |data: &Path| {
        Frame::start(FrameOptions {
            wrapper: ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
                .map(String::from)
                .to_vec(),
            env: vec![("HOME".into(), "/nonexistent".into())],
            ..FrameOptions::headless(data)
        })
    };
    // The owner's `chmod` gone wrong: the frame cannot read its photos.
    run(Command::new("chmod").arg("000").arg(data.join("photos")));
    let frame = as_nobody(&data);
    let status = frame.status();
    assert_eq!(status["photos"], 3, "no row is dropped for a file it cannot read: {status}");
    let notices = status["library"]["notices"].to_string();
    assert!(notices.contains("cannot read") && notices.contains("photos"), "{notices}");
    assert!(frame.terminate().success());
    run(Command::new("chmod").arg("755").arg(data.join("photos")));
    assert_eq!(photo_files(&data), before, "every original is still there");

    // Fixed: everything is back, with its caption and sender, and no notices.
    let frame = as_nobody(&data);
    assert_eq!(listed(&frame), before);
    assert_eq!(frame.status()["library"]["notices"], Value::Array(vec![]));
}
