//! Caption layout: any text, clipped as ingest clips it, drawn on a slide. Fitting must give
//! a line no wider than the room, in time bounded by the width (the fuzzer's timeout catches
//! a return of the quadratic layout).
#![no_main]

use discord_frame::ingest::clip_caption;
use discord_frame::render::text::{self, Weight};
use discord_frame::render::Slide;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Some(caption) = clip_caption(text) else { return };
    let line = text::fit_width(&caption, 20.0, Weight::Regular, 300.0);
    assert!(text::measure(&line, 20.0, Weight::Regular) <= 300.0);
    let mut slide = Slide::filled(320, 120, [0, 0, 0, 255]);
    text::caption(&mut slide, &caption);
});
