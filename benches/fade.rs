//! The crossfade's CPU cost per frame at 1920×1080: what the softbuffer presenter computes
//! for each frame of a fade (the blend into 0RGB words), and the RGBA blend pixels uploads.
//! And a clip's frame (I420) into softbuffer's buffer and into pixels' RGBA: converted
//! straight into it, against converted to RGBA and then copied, as it was before; and a
//! phone's upright clip, letterboxed under a caption: converted into its place with the still
//! copied around it, against composed in RGBA and then copied, as it was before.
//! The whole frame, present included, is measured in a real window by
//! `scripts/bench-frame.py --display softbuffer` (from the frame's own log).
//!
//!     cargo bench --bench fade

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use discord_frame::display::fade;
use discord_frame::render::i420::{FrameBytes, I420};
use discord_frame::render::{text, Backdrop, Fit, Layout, Slide};
use std::sync::Arc;

fn crossfade(c: &mut Criterion) {
    let (w, h) = (1920usize, 1080usize);
    let from: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
    let to: Vec<u8> = (0..w * h * 4).map(|i| (i * 13 % 241) as u8).collect();
    let mut words = vec![0u32; w * h];
    let mut rgba = vec![0u8; w * h * 4];
    let mut group = c.benchmark_group("crossfade_1080p");
    group.bench_function("softbuffer_xrgb", |b| {
        b.iter(|| fade::blend_xrgb(black_box(&from), black_box(&to), 100, &mut words))
    });
    group.bench_function("pixels_rgba", |b| {
        b.iter(|| fade::blend_rgba(black_box(&from), black_box(&to), 100, &mut rgba))
    });
    group.bench_function("copy_xrgb", |b| b.iter(|| fade::copy_xrgb(black_box(&to), &mut words)));
    group.finish();
}

fn clip_frame(c: &mut Criterion) {
    let layout = I420::new(1920, 1080);
    let raw: Vec<u8> = (0..layout.size).map(|i| (16 + i * 7 % 219) as u8).collect();
    let mut words = vec![0u32; 1920 * 1080];
    let mut rgba = vec![0u8; 1920 * 1080 * 4];
    let mut group = c.benchmark_group("clip_frame_1080p");
    group.bench_function("i420_to_xrgb", |b| {
        b.iter(|| layout.to_xrgb(black_box(&raw), &mut words, 1920).unwrap())
    });
    // What `pixels` gets: the frame converted into its buffer, against made as the slide's
    // RGBA (fresh memory each frame) and then copied, as it was before.
    group.bench_function("i420_to_rgba_in_place", |b| {
        b.iter(|| layout.to_rgba(black_box(&raw), &mut rgba, 1920).unwrap())
    });
    group.bench_function("i420_to_new_rgba_then_copy", |b| {
        b.iter(|| rgba.copy_from_slice(&layout.rgba(black_box(&raw)).unwrap()))
    });
    group.bench_function("i420_to_rgba_then_copy_xrgb", |b| {
        b.iter(|| {
            layout.to_rgba(black_box(&raw), &mut rgba, 1920).unwrap();
            fade::copy_xrgb(&rgba, &mut words);
        })
    });
    group.finish();

    let layout = Layout::new((1080, 1920), (1920, 1080), Fit::Contain);
    let mut still = Slide::filled(1920, 1080, [20, 30, 40, 255]);
    text::caption(&mut still, "Emma's first steps");
    let backdrop = Arc::new(Backdrop::new(Arc::new(still), &layout, Some("Emma's first steps")));
    let (w, h) = backdrop.frame_size();
    let upright = I420::new(w, h);
    let raw: Vec<u8> = (0..upright.size).map(|i| (16 + i * 7 % 219) as u8).collect();
    let slide = backdrop.frame(upright, FrameBytes::Owned(raw.clone()));
    let mut group = c.benchmark_group("upright_clip_frame_1080p");
    // A buffer never presented: the still is copied around the picture every time.
    group.bench_function("in_place_xrgb", |b| {
        let mut kept = fade::Kept::default();
        b.iter(|| fade::slide_into(black_box(&slide), words.as_mut_slice(), &mut kept, 0).unwrap())
    });
    // A buffer that keeps what was presented (softbuffer on X11, pixels): the picture alone.
    group.bench_function("in_place_xrgb_still_kept", |b| {
        let mut kept = fade::Kept::default();
        b.iter(|| fade::slide_into(black_box(&slide), words.as_mut_slice(), &mut kept, 1).unwrap())
    });
    group.bench_function("composed_then_copy_xrgb", |b| {
        b.iter(|| {
            let composed = backdrop.compose(&upright.rgba(black_box(&raw)).unwrap());
            fade::copy_xrgb(composed.rgba(), &mut words);
        })
    });
    group.finish();
}

criterion_group!(benches, crossfade, clip_frame);
criterion_main!(benches);
