//! Decode + fit to a 1920×1080 slide, against the naive baseline
//! `image::load_from_memory(..).resize(.., Lanczos3)`, and the two scaled JPEG decoders the
//! choice was made between. Ratios matter, not absolute times: the machine is shared.
//!
//! Inputs: `bench-photos/{12mp,48mp}.jpg` from `scripts/make-bench-photos.sh` when present
//! (montages of real photographs); otherwise mosaics of the committed test photo, made once.
//!
//!     cargo bench --bench pipeline

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use discord_frame::render::{self, RenderOptions};

fn photo(name: &str, size: (u32, u32)) -> Vec<u8> {
    let prepared = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-photos").join(name);
    let path = if prepared.exists() { prepared } else { support::large_jpeg(size.0, size.1) };
    eprintln!("{name}: {}", path.display());
    std::fs::read(path).unwrap()
}

fn inputs() -> [(&'static str, Vec<u8>); 2] {
    [("12mp", photo("12mp.jpg", (4032, 3024))), ("48mp", photo("48mp.jpg", (8000, 6000)))]
}

fn decode_and_fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_fit_1920x1080");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, bytes) in inputs() {
        let opts = RenderOptions::new(1920, 1080);
        group.bench_with_input(BenchmarkId::new("discord-frame", name), &bytes, |b, bytes| {
            b.iter(|| render::render(black_box(bytes), &opts).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("naive", name), &bytes, |b, bytes| {
            b.iter(|| {
                image::load_from_memory(black_box(bytes)).unwrap().resize(
                    1920,
                    1080,
                    image::imageops::FilterType::Lanczos3,
                )
            })
        });
    }
    group.finish();
}

/// The decision behind the JPEG path: libjpeg-turbo (mozjpeg crate) against jpeg-decoder,
/// both decoding at the same reduced DCT scale, to at least 1440×1080.
fn scaled_jpeg_decoders(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaled_jpeg_decode");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for (name, bytes) in inputs() {
        group.bench_with_input(BenchmarkId::new("libjpeg-turbo", name), &bytes, |b, bytes| {
            b.iter(|| {
                let mut d = mozjpeg::Decompress::new_mem(bytes).unwrap();
                let n = (8 * 1080usize).div_ceil(d.height()).clamp(1, 8) as u8;
                d.scale(n);
                let mut started = d.to_colorspace(mozjpeg::ColorSpace::JCS_EXT_RGBX).unwrap();
                let mut pixels = vec![0u8; started.width() * started.height() * 4];
                started.read_scanlines_into(&mut pixels).unwrap();
                pixels
            })
        });
        group.bench_with_input(BenchmarkId::new("jpeg-decoder", name), &bytes, |b, bytes| {
            b.iter(|| {
                let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
                d.read_info().unwrap();
                d.scale(1440, 1080).unwrap();
                d.decode().unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_and_fit, scaled_jpeg_decoders);
criterion_main!(benches);
