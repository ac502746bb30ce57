//! Hostile and broken files through the real `render` command: each must end in one plain line
//! on stderr and exit status 1 — no panic, no crash, and no allocation for what a header claims
//! (the process runs with its address space capped, so trying would kill it).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use discord_frame::render::{self, ErrorKind, RenderError, RenderOptions};
use support::*;

/// Address space for one `render` of a small file: generous for the real thing, far below
/// what any of the claimed sizes would need (100000² RGBA is 40 GB).
const CAP_MB: u64 = 1024;

/// Renders `bytes` through the binary and returns its one line of error.
fn refuse(name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let out_path = dir.path().join("out.png");
    let out = render_cmd(&input, "1920x1080", &out_path, Some(CAP_MB));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{name}: status {:?}, stderr: {err}", out.status);
    assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line, got: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert!(!out_path.exists(), "{name}: no slide is written for a refused photo");
    err
}

fn assert_says(err: &str, words: &[&str]) {
    for w in words {
        assert!(err.contains(w), "expected {w:?} in: {err}");
    }
}

#[test]
fn empty_file() {
    let err = refuse("empty.jpg", b"");
    assert_says(&err, &["empty.jpg", "the file is empty (0 bytes)", "send the photo again"]);
}

#[test]
fn text_named_jpg() {
    let err = refuse("notes.jpg", b"Dear Grandma,\nhere are the photos from Sunday!\n");
    assert_says(&err, &["this is text, not a photo", "send a JPEG, PNG"]);
}

#[test]
fn web_page_named_jpg() {
    let err = refuse("photo.jpg", b"<!DOCTYPE html><html><body>404 Not Found</body></html>");
    assert_says(&err, &["a web page (HTML)"]);
}

#[test]
fn random_bytes() {
    // A fixed xorshift stream: the same "random" file on every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..65_536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let err = refuse("random.jpg", &bytes);
    assert_says(&err, &["no format the frame recognises"]);
}

#[test]
fn heic_from_an_iphone() {
    let err = refuse("IMG_0001.JPG", &fixture("ladybird.heic"));
    assert_says(&err, &["this is a HEIC image, which the frame cannot decode yet", "JPEG"]);
}

#[test]
fn svg_pdf_and_video_are_named() {
    let svg =
        br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#;
    assert_says(&refuse("logo.png", svg), &["an SVG image"]);
    assert_says(&refuse("doc.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), &["a PDF document"]);
    let mp4 = [&[0, 0, 0, 0x18][..], b"ftypmp42", &[0, 0, 0, 0], b"isommp42"].concat();
    assert_says(&refuse("clip.jpg", &mp4), &["a video (MP4)"]);
}

#[test]
fn headers_claiming_huge_sizes_are_refused_before_decoding() {
    for (name, size) in [
        ("huge-100000x100000.png", "100000×100000"),
        ("huge-65000x65000.jpg", "65000×65000"),
        ("huge-65535x65535.gif", "65535×65535"),
    ] {
        let err = refuse(name, &fixture(name));
        assert_says(&err, &[size, "over the 250 MP limit", "[limits] max_megapixels"]);
    }
    // Under the pixel limit, but over the memory budget for decoding.
    let err = refuse("huge.png", &fixture("huge-15000x15000.png"));
    assert_says(&err, &["15000×15000", "256 MB budget", "[limits] max_decode_mb"]);
}

/// A GIF of a few dozen bytes whose logical screen is 8192×8192, with one 1×1 frame: the
/// decoder would allocate the whole canvas, and a copy of the frame, before any pixel is read.
fn gif_bomb() -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&8192u16.to_le_bytes());
    gif.extend_from_slice(&8192u16.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0]); // a global palette of two colours
    gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    gif.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]); // one 1×1 frame at 0,0
    gif.extend_from_slice(&[2, 2, 0x44, 0x01, 0, 0x3B]);
    gif
}

#[test]
fn a_gif_whose_canvas_is_huge_is_refused_before_allocating() {
    let bomb = gif_bomb();
    assert!(bomb.len() < 50, "{} bytes", bomb.len());
    let err = refuse("bomb.gif", &bomb);
    assert_says(&err, &["8192×8192", "512 MB", "256 MB budget", "[limits] max_decode_mb"]);
}

#[test]
fn truncated_png_and_gif_are_damaged() {
    for name in ["ladybird.png", "ladybird-animated.gif", "ladybird.webp", "ladybird.tiff"] {
        let bytes = fixture(name);
        // A quarter: inside the first frame of the animation too.
        let err = refuse(name, &bytes[..bytes.len() / 4]);
        assert_says(&err, &["is damaged or incomplete", "send the photo again"]);
    }
}

#[test]
fn a_jpeg_cut_in_half_shows_what_decoded() {
    // As browsers do: the top half of the photo, the rest filled, rather than nothing.
    let bytes = fixture("ladybird.jpg");
    let half = &bytes[..bytes.len() / 2];
    let slide = render::render(half, &RenderOptions::new(640, 400)).unwrap();
    let full = render::render(&bytes, &RenderOptions::new(640, 400)).unwrap();
    let row = 640 * 4;
    assert_eq!(slide.rgba()[..row * 20].len(), full.rgba()[..row * 20].len());
    let top_diff: u64 = slide.rgba()[..row * 20]
        .iter()
        .zip(&full.rgba()[..row * 20])
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    assert!(top_diff < (row as u64 * 20) / 4, "the top rows match the full photo");
}

#[test]
fn a_jpeg_cut_inside_its_header_is_damaged() {
    let bytes = fixture("ladybird.jpg");
    let err = refuse("cut.jpg", &bytes[..300]);
    assert_says(&err, &["the JPEG file is damaged or incomplete"]);
}

#[test]
fn corrupt_bytes_inside_a_jpeg_never_panic() {
    // Flip bytes all through the entropy-coded data and the headers: any outcome is fine but
    // a panic or a wrong-size slide.
    let original = fixture("ladybird.jpg");
    for step in [7usize, 101, 997, 4099] {
        let mut bytes = original.clone();
        // From byte 4 on: the signature stays, or it would not be a JPEG any more.
        for i in (4..bytes.len()).step_by(step) {
            bytes[i] ^= 0x5A;
        }
        match render::render(&bytes, &RenderOptions::new(320, 200)) {
            Ok(slide) => assert_eq!((slide.width(), slide.height()), (320, 200)),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Damaged, "step {step}: {e}"),
        }
    }
}

#[test]
fn errors_are_sorted_by_what_the_sender_can_do() {
    let opts = RenderOptions::new(64, 64);
    let kind = |bytes: &[u8]| render::render(bytes, &opts).unwrap_err().kind();
    assert_eq!(kind(b""), ErrorKind::Damaged);
    assert_eq!(kind(&fixture("ladybird.heic")), ErrorKind::Unsupported);
    assert_eq!(kind(&fixture("huge-100000x100000.png")), ErrorKind::TooLarge);
    assert!(matches!(render::render(b"plain words", &opts), Err(RenderError::NotAPhoto { .. })));
}

#[test]
fn a_missing_input_names_the_path() {
    let out = discord_frame(&[
        "render",
        "/nonexistent/photo.jpg",
        "--size",
        "10x10",
        "--out",
        "/tmp/x.png",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_says(&stderr(&out), &["cannot read /nonexistent/photo.jpg", "No such file"]);
}

#[test]
fn bad_arguments_exit_2_and_say_the_fix() {
    let out = discord_frame(&["render", "x.jpg", "--size", "big", "--out", "o.png"]);
    assert_eq!(out.status.code(), Some(2));
    assert_says(&stderr(&out), &["WIDTHxHEIGHT"]);
}
