//! discord-frame: a native, fullscreen photo frame for the Raspberry Pi that family and friends
//! fill from the Discord app. See `README.md` for what it does and `shared/DESIGN.md` for how a
//! photo travels from a chat to the screen.
//!
//! # Layout
//!
//! - [`render`]: a photo's bytes to a screen-sized slide. Sniffs the format from the bytes,
//!   checks the header against [`render::Limits`] before decoding, decodes JPEGs at a reduced
//!   DCT scale, resizes with SIMD, applies the EXIF orientation and composes the slide over a
//!   matte. Pure functions with one error type, [`render::RenderError`], whose messages are
//!   written for the person who sent the photo.
//! - [`cli`]: the command line (clap), parsed in `main.rs`, which stays thin.
//!
//! The library, slideshow, display, HTTP endpoint and Discord bot arrive with their issues, in
//! the modules `shared/DESIGN.md` names.

pub mod cli;
pub mod render;
