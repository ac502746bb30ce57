//! The `--fit`/`--duration`/caption options read from a Discord message's text.
#![no_main]

use discord_frame::discord::params::PhotoParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(params) = PhotoParams::parse(text, &["https://example.invalid/x".to_owned()]) {
            let _ = params.echo();
        }
    }
});
