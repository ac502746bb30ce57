//! discord-frame: a native, fullscreen photo frame for the Raspberry Pi that family and friends
//! fill from the Discord app. See `README.md` for what it does and `docs/ARCHITECTURE.md` for how a
//! photo travels from a chat to the screen.
//!
//! # Layout
//!
//! - [`config`]: `config.toml`'s schema, defaults and validation; every error names its key.
//! - [`frame`]: start-up and shutdown: settings in effect, logging, the runtime thread, the
//!   display on the main thread, SIGTERM.
//! - [`http`]: the local endpoint (axum): uploads, library, slideshow control, status,
//!   screenshot, the page, pairing, the live settings (`http::settings`); who may use it
//!   (`http::access`). One error type, JSON for
//!   every failure.
//! - [`events`]: what changes on the frame (photos, the slide shown, the screen, Discord) as
//!   one stream, for the page and for `GET /api/events`.
//! - [`ingest`]: the one path from bytes to library for every source: sniff, limits, render
//!   (which proves the photo decodes), store.
//! - [`library`]: the originals, content-addressed, and the SQLite index; durable against
//!   power loss; retention.
//! - [`slideshow`]: what is on screen and when; owns every timer; renders the next slide ahead.
//! - [`thumbnails`]: the page's thumbnails, made by the slide pipeline and cached on disk.
//! - [`rotation`]: the order photos come up in: newest, shuffle, weighted rounds.
//! - [`schedule`]: `[schedule] on` windows and their next change in the system's zone.
//! - [`screen`]: on or off: the plan (schedule, sleep and wake, a photo or motion at night)
//!   and the task that switches the panel through [`power`] (CEC, wlr, DPMS, backlight,
//!   black); [`motion`]: the PIR sensor on a GPIO line.
//! - [`slides`]: rendering slides for the screen (one decode at a time), the welcome slide.
//! - [`display`]: the [`display::FrameSink`] the core talks to; the winit window with its
//!   `pixels` and `softbuffer` presenters and crossfades; the headless sink.
//! - [`playback`]: animations and clips on the screen: GStreamer's tools as child processes for
//!   clips (what ingest learns of one, and its frames), the player thread, the still they play
//!   over.
//! - [`render`]: a photo's bytes to a screen-sized slide. Sniffs the format from the bytes,
//!   checks the header against [`render::Limits`] before decoding, decodes JPEGs at a reduced
//!   DCT scale, resizes with SIMD, applies the EXIF orientation and composes the slide over a
//!   matte; text (captions, the welcome slide) with the bundled font.
//! - [`discord`]: the Discord source: a serenity bot that feeds photos to ingest, answers
//!   commands by wake word and slash command, and relays messages for local programs.
//! - [`discord_state`]: the connection to Discord as `status`, the welcome slide and the
//!   events stream see it.
//! - [`fetch`]: downloads of linked and attached photos: allowed hosts, size cap, timeouts,
//!   retries.
//! - [`lifecycle`]: the root cancellation token and task tracker every task runs under;
//!   shutdown cancels, drains and waits.
//! - [`pairing`]: the code the frame shows to pair a browser, and how often one may guess;
//!   [`sessions`]: the paired browsers (their keys' hashes in `sessions.json`).
//! - [`settings`]: the settings the page changes live, written back to `config.toml` with its
//!   comments kept.
//! - [`service`]: systemd's `Type=notify` and watchdog (READY once the first slide shows,
//!   WATCHDOG while the display loop answers).
//! - [`cli`]: the command line (clap), parsed in `main.rs`, which stays thin.

pub mod app;
pub mod cli;
pub mod config;
pub mod discord;
pub mod discord_state;
pub mod display;
pub mod events;
pub mod fetch;
pub mod frame;
pub mod http;
pub mod ingest;
pub mod library;
pub mod lifecycle;
pub mod motion;
pub mod pairing;
pub mod playback;
pub mod power;
pub mod render;
pub mod rotation;
pub mod schedule;
pub mod screen;
pub mod service;
pub mod sessions;
pub mod settings;
pub mod slides;
pub mod slideshow;
pub mod thumbnails;
