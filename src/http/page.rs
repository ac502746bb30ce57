//! The frame's own page at `/`: what is on the screen with the controls, the library as a grid
//! of thumbnails, sending photos from a phone or a computer, and the frame's state. Three
//! files compiled into the binary (`web/`), no build step; they only call the documented API
//! (`/api/...`), and follow it live through `GET /api/events`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

const INDEX: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/page.js");
const STYLE: &str = include_str!("../../web/page.css");

/// The page's files take nothing from anyone: every request it makes goes to the frame, and
/// no other site may frame it (clickjacking a "delete").
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      img-src 'self' blob:; media-src 'self'; connect-src 'self'; \
                      form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { file(INDEX, "text/html; charset=utf-8") }))
        .route("/page.js", get(|| async { file(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/page.css", get(|| async { file(STYLE, "text/css; charset=utf-8") }))
}

fn file(body: &'static str, mime: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // A new version of the frame brings a new page: always asked again (a cheap 200 on
    // loopback or the home network).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The page's weight in bytes, for the tests and the benchmark.
pub fn weight() -> usize {
    INDEX.len() + SCRIPT.len() + STYLE.len()
}
