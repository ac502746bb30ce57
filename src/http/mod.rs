//! The local HTTP endpoint (axum): photos and commands from programs on the Pi, or from the
//! network with a token. Routes and status codes follow the contract in `shared/DESIGN.md`;
//! [`routes::app`] builds the router, so tests can drive it without a socket.

pub mod error;
pub mod routes;
pub mod server;

use std::sync::Arc;

use tokio::sync::watch;

use crate::discord::DiscordState;
use crate::display::FrameSink;
use crate::ingest::Ingest;
use crate::library::Library;
use crate::slides::Renderer;
use crate::slideshow::Slideshow;

pub use routes::app;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub ingest: Ingest,
    pub library: Arc<Library>,
    pub slideshow: Slideshow,
    /// The screen, for `/api/screenshot.png` and the backend's name.
    pub sink: Arc<dyn FrameSink>,
    /// The screen's size now.
    pub renderer: Renderer,
    pub discord: watch::Receiver<DiscordState>,
    /// Discord's REST API with the bot's token, for the relay; `None` without a token.
    pub discord_http: Option<Arc<serenity::http::Http>>,
    /// `[http] token`: when set, every `/api` request must carry it as a bearer token.
    pub token: Option<Arc<str>>,
    /// `[http] max_upload_mb`.
    pub max_upload_mb: u64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("backend", &self.sink.backend()).finish_non_exhaustive()
    }
}
