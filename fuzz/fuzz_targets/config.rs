//! The config parser and its validation: any text gives a config or an error naming a key.
#![no_main]

use std::path::Path;

use discord_frame::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(config) = Config::parse(text, Path::new("config.toml")) {
            // What `check-config` prints must parse back to the same settings.
            let _ = config.to_redacted_toml();
        }
    }
});
