//! The slideshow's and the screen's routes: next, previous, pause and resume, the status (and
//! its live events, served by `events`), the screen on or off, a screenshot, and messages
//! relayed to Discord.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{DiscordState, ScreenshotError};
use crate::discord::relay::RelayRequest;
use crate::http::error::AppError;
use crate::http::AppState;
use crate::library::Photo;
use crate::slideshow::Command;

/// The slideshow's and the screen's routes; `app` puts them behind the access check with the
/// rest of the API.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/next", post(next))
        .route("/api/prev", post(prev))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/status", get(status))
        .route("/api/screen", post(screen))
        .route("/api/screenshot.png", get(screenshot))
        .route("/api/screenshot.jpg", get(screenshot_jpeg))
        .route("/api/events", get(crate::http::events::events))
        .route("/api/discord/messages", post(relay))
}

async fn control(state: &AppState, command: Command) -> Json<Value> {
    state.app.control(command).await;
    Json(json!({ "ok": true }))
}

async fn next(State(state): State<AppState>) -> Json<Value> {
    control(&state, Command::Next).await
}

async fn prev(State(state): State<AppState>) -> Json<Value> {
    control(&state, Command::Prev).await
}

async fn pause(State(state): State<AppState>) -> Json<Value> {
    control(&state, Command::Pause).await
}

async fn resume(State(state): State<AppState>) -> Json<Value> {
    control(&state, Command::Resume).await
}

/// `GET /api/status`.
async fn status(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let now =
        state.app.status().await.map_err(|e| AppError::internal("cannot count the photos", e))?;
    let (width, height) = now.size;
    let discord = match &now.discord {
        DiscordState::Disabled => json!({ "state": "disabled", "user": null }),
        DiscordState::Connecting => json!({ "state": "connecting", "user": null }),
        DiscordState::Connected { user } => json!({ "state": "connected", "user": user }),
        DiscordState::Limited { user, message } => {
            json!({ "state": "limited", "user": user, "message": message })
        }
        DiscordState::Error { message } => {
            json!({ "state": "error", "user": null, "message": message })
        }
    };
    let showing = |p: Photo| json!({ "id": p.id, "source": p.source, "sender": p.sender, "caption": p.caption });
    let current = now.current.map(showing);
    let beside = now.beside.map(showing);
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "display": { "backend": now.backend, "width": width, "height": height },
        "discord": discord,
        "photos": now.photos,
        "library": { "notices": now.notices, "disk": now.disk },
        "paused": now.paused,
        "current": current,
        "beside": beside,
        "screen": now.screen,
        "videos": { "playable": now.videos.is_none(), "message": now.videos },
    })))
}

/// The body of `POST /api/screen`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenRequest {
    on: bool,
    /// How long (`"2h"`, `"30m"`); without it, until the schedule's next change.
    #[serde(rename = "for")]
    lasting: Option<String>,
}

/// `POST /api/screen` `{"on": false, "for": "2h"}`: sleep or wake; answers the screen's state.
async fn screen(
    State(state): State<AppState>,
    body: Result<Json<ScreenRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, AppError> {
    let bad = |message: String| AppError::new(StatusCode::BAD_REQUEST, "bad_parameter", message);
    let Json(request) = body.map_err(|e| {
        bad(format!(
            "{}: send JSON like {{\"on\": false, \"for\": \"2h\"}} (\"for\" is optional: \
             without it, until the schedule's next change)",
            e.body_text()
        ))
    })?;
    let lasting = match request.lasting.as_deref() {
        None => None,
        Some(text) => Some(crate::screen::lasting(text).map_err(bad)?),
    };
    let now = state.app.set_screen(request.on, lasting).await;
    Ok(Json(serde_json::to_value(now).unwrap_or(Value::Null)))
}

/// `POST /api/discord/messages`: `{"channel_id" | "user_id", "content"}`, sent by the bot.
async fn relay(
    State(state): State<AppState>,
    body: Result<Json<RelayRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(req) = body.map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "{}: send JSON like {{\"channel_id\": \"123\", \"content\": \"hello\"}}",
                e.body_text()
            ),
        )
    })?;
    let http = state.discord_http.as_ref().map(|rest| rest.borrow().clone()).ok_or_else(|| {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "discord_disabled",
            "Discord is off on this frame: set [discord] token (or DISCORD_BOT_TOKEN) first",
        )
    })?;
    let (channel_id, id) = crate::discord::relay::send(&http, req).await?;
    let body = json!({ "channel_id": channel_id.to_string(), "id": id.to_string() });
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/screenshot.png`: the slide on screen, at the display's size.
async fn screenshot(State(state): State<AppState>) -> Result<Response, AppError> {
    let png = state.app.screenshot_png().await.map_err(screenshot_error)?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png)
        .into_response())
}

fn screenshot_error(e: ScreenshotError) -> AppError {
    match e {
        ScreenshotError::NotReady => {
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string())
        }
        ScreenshotError::Encode(_) => AppError::internal("cannot encode the screenshot", e),
    }
}

/// The parameters of `GET /api/screenshot.jpg`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenshotParams {
    /// At most this wide (the screen's width when absent or larger).
    width: Option<u32>,
    /// Ignored: lets a page ask again at a new address.
    #[allow(dead_code)]
    t: Option<String>,
}

/// `GET /api/screenshot.jpg?width=960`: the slide on screen as a JPEG, for the page: a tenth
/// of the PNG's bytes over a phone's Wi-Fi, and far less work for a Pi.
async fn screenshot_jpeg(
    State(state): State<AppState>,
    query: Result<Query<ScreenshotParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = query.map_err(|e| {
        let msg = format!("{}: the one parameter is width, in pixels", e.body_text());
        AppError::new(StatusCode::BAD_REQUEST, "bad_parameter", msg)
    })?;
    let width = params.width.unwrap_or(u32::MAX).max(16);
    let jpeg = state.app.screenshot_jpeg(width).await.map_err(screenshot_error)?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], jpeg)
        .into_response())
}
