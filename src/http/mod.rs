//! The local HTTP endpoint (axum): photos and commands from programs on the Pi, or from the
//! network with a token. A transport: each handler parses its request, calls [`App`] and
//! renders the outcome as JSON with a status code. [`routes::app`] builds the router, so
//! tests can drive it without a socket.

pub mod access;
pub mod error;
pub mod events;
pub mod page;
pub mod reach;
pub mod routes;
pub mod server;
pub mod settings;

use std::sync::Arc;

use crate::app::App;

pub use routes::app;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// Discord's REST API with the bot's token, for the relay; `None` without a token.
    pub discord_http: Option<tokio::sync::watch::Receiver<Arc<serenity::http::Http>>>,
    /// `[http] token`: when set, every `/api` request must carry it as a bearer token or come
    /// from a paired browser (see [`access`]).
    pub token: Option<Arc<str>>,
    /// `[http] max_upload_mb`.
    pub max_upload_mb: u64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("app", &self.app).finish_non_exhaustive()
    }
}
