//! Sniffing, decoding and composing whatever bytes arrive, at a small screen size and a small
//! budget: a refusal is fine, a panic, a hang or an allocation over the budget is not.
#![no_main]

use discord_frame::render::{self, Limits, RenderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut opts = RenderOptions::new(64, 48);
    opts.limits = Limits { max_pixels: 4_000_000, max_decode_bytes: 32 * 1024 * 1024 };
    if let Ok(slide) = render::render(bytes, &opts) {
        assert_eq!(slide.rgba().len(), 64 * 48 * 4);
    }
});
