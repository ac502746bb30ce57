//! The routes. Handlers are thin: they turn a request into a call on the [`App`], and its
//! outcome into JSON.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::AppError;
use super::AppState;
use crate::app::{DiscordState, ScreenshotError};
use crate::discord::relay::RelayRequest;
use crate::ingest::{IngestRequest, Ingested};
use crate::library::{Photo, Source};
use crate::render::Fit;
use crate::slideshow::Command;

/// The router, with its state: served by `serve`, driven by `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    let limit =
        usize::try_from(state.max_upload_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    let api = Router::new()
        .route("/api/photos", post(upload).get(list))
        .route("/api/photos/{id}", get(original).delete(delete))
        .route("/api/photos/{id}/show", post(show))
        .route("/api/photos/{id}/favourite", post(favourite).delete(unfavourite))
        .route("/api/next", post(next))
        .route("/api/prev", post(prev))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/status", get(status))
        .route("/api/screen", post(screen))
        .route("/api/screenshot.png", get(screenshot))
        .route("/api/discord/messages", post(relay))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(api)
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async {
            AppError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route: see the README's API table",
            )
        })
        .method_not_allowed_fallback(|| async {
            AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method: see the README's API table",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(bounded_head))
        .with_state(state)
}

/// The longest address (path and query) taken: room for a long caption in the query.
const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes taken, names and values together.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Refuses an over-long address or header block with a JSON error that says what to do. The
/// HTTP layer (hyper) has its own, higher limits (a 64 KB address, a 400 KB head), past which
/// it answers a bare 414 or 431 before any route sees the request.
async fn bounded_head(req: Request, next: Next) -> Response {
    let uri = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI_BYTES {
        let msg = format!(
            "the address is {} KB, over the {} KB the frame takes: send a long caption as a \
             form field with the photo (curl -F file=@photo.jpg -F caption=...), not in the \
             address",
            uri.div_ceil(1024),
            MAX_URI_BYTES / 1024
        );
        return AppError::new(StatusCode::URI_TOO_LONG, "uri_too_long", msg).into_response();
    }
    let headers: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if headers > MAX_HEADER_BYTES {
        let msg = format!(
            "the request's headers are {} KB, over the {} KB the frame takes: send fewer or \
             shorter headers",
            headers.div_ceil(1024),
            MAX_HEADER_BYTES / 1024
        );
        let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        return AppError::new(status, "headers_too_large", msg).into_response();
    }
    next.run(req).await
}

/// With `[http] token` set, every `/api` request must carry `Authorization: Bearer <token>`.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        if !given.is_some_and(|g| constant_time_eq(g.trim().as_bytes(), token.as_bytes())) {
            let status = StatusCode::UNAUTHORIZED;
            let msg = "this frame needs a token: send the header `Authorization: Bearer <token>` \
                       with the value of [http] token from its config.toml";
            let mut response = AppError::new(status, "unauthorized", msg).into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(req).await
}

/// The token of an `Authorization: Bearer <token>` header. The scheme's name is matched
/// without regard to case (RFC 7235: `bearer` and `BEARER` are the same scheme).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Compares without returning early, so the time taken does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Optional parameters of an upload, as query parameters or multipart text fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadParams {
    caption: Option<String>,
    fit: Option<String>,
    sender: Option<String>,
}

/// `POST /api/photos`: a raw image body, or a multipart form with one or more files.
async fn upload(
    State(state): State<AppState>,
    query: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    req: Request,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Query(mut params) = query.map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_parameter",
            format!(
                "{}: the parameters are caption, fit (contain or cover) and sender",
                e.body_text()
            ),
        )
    })?;
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    let max_mb = state.max_upload_mb;
    let mut files: Vec<(String, Bytes)> = Vec::new();
    if is_multipart {
        let mut form = Multipart::from_request(req, &state)
            .await
            .map_err(|e| AppError::new(e.status(), "bad_multipart", e.body_text()))?;
        let field_err = |e: axum::extract::multipart::MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::too_large(max_mb)
            } else {
                AppError::new(
                    e.status(),
                    "bad_multipart",
                    format!("the form is malformed: {}", e.body_text()),
                )
            }
        };
        while let Some(field) = form.next_field().await.map_err(field_err)? {
            let name = field.name().unwrap_or("").to_owned();
            let file_name = field.file_name().map(str::to_owned);
            match (name.as_str(), file_name) {
                ("caption", None) => params.caption = Some(field.text().await.map_err(field_err)?),
                ("fit", None) => params.fit = Some(field.text().await.map_err(field_err)?),
                ("sender", None) => params.sender = Some(field.text().await.map_err(field_err)?),
                (_, file_name) => {
                    let label = file_name.unwrap_or(name);
                    files.push((label, field.bytes().await.map_err(field_err)?));
                }
            }
        }
    } else {
        let body = Bytes::from_request(req, &state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::too_large(max_mb)
            } else {
                AppError::new(e.status(), "bad_body", e.body_text())
            }
        })?;
        files.push(("the body".to_owned(), body));
    }
    if files.is_empty() {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "no_photo",
            "the request has no photo: send the image as the body, or as file fields of a \
             multipart form (curl -F file=@photo.jpg)",
        ));
    }
    let fit =
        match params.fit.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(word) => Some(word.parse::<Fit>().map_err(|e| {
                AppError::new(StatusCode::BAD_REQUEST, "bad_parameter", e.to_string())
            })?),
        };

    let count = files.len();
    // Each part is stored before the next is looked at (see `Batch`).
    let mut batch = state.app.batch();
    let mut rejected: Vec<AppError> = Vec::new();
    for (n, (label, bytes)) in files.into_iter().enumerate() {
        if n >= MAX_FILES_PER_UPLOAD {
            rejected.push(AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_files",
                format!(
                    "{label}: not stored, an upload takes at most {MAX_FILES_PER_UPLOAD} photos: \
                     send the rest in another upload"
                ),
            ));
            continue;
        }
        let mut req = IngestRequest::new(Vec::from(bytes), Source::Http);
        req.caption = params.caption.clone();
        req.sender = params.sender.clone();
        req.fit = fit;
        if let Err(e) = batch.ingest(req).await {
            let e = AppError::from(e);
            rejected.push(if count > 1 { e.context(&label) } else { e });
        }
    }
    let stored: Vec<Value> = batch.finish(None).await.iter().map(photo_json).collect();
    if stored.is_empty() {
        // Nothing was stored: the first reason is the answer (all of them when several).
        let mut first = rejected.remove(0);
        for more in rejected {
            first.message.push_str("; ");
            first.message.push_str(&more.message);
        }
        return Err(first);
    }
    let rejected: Vec<Value> = rejected.iter().map(|e| e.body()["error"].clone()).collect();
    let mut body = json!({ "photos": stored });
    if !rejected.is_empty() {
        body["rejected"] = Value::Array(rejected);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

/// How many photos one upload may carry: enough for an album, few enough that one request
/// cannot keep the frame busy for long.
pub const MAX_FILES_PER_UPLOAD: usize = 100;

fn photo_json(done: &Ingested) -> Value {
    let mut v = serde_json::to_value(&done.photo).unwrap_or(Value::Null);
    v["duplicate"] = Value::Bool(done.duplicate);
    v
}

/// The parameters of `GET /api/photos`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// `true`: only favourites; `false`: only the others.
    favourite: Option<bool>,
}

/// `GET /api/photos`: the library, newest first; `?favourite=true` for the favourites.
async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, AppError> {
    let Query(params) = query.map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_parameter",
            format!("{}: the one parameter is favourite=true or favourite=false", e.body_text()),
        )
    })?;
    let mut photos =
        state.app.photos().await.map_err(|e| AppError::internal("cannot list the library", e))?;
    if let Some(favourite) = params.favourite {
        photos.retain(|p| p.favourite == favourite);
    }
    Ok(Json(json!({ "photos": photos })))
}

/// A photo id from the path; anything but a number is a JSON 400, like every other error.
struct PhotoId(i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PhotoId {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<PhotoId, AppError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_parameter", e.body_text()))?;
        raw.parse().map(PhotoId).map_err(|_| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_parameter",
                format!(
                    "`{raw}` is not a photo id: ids are numbers, as GET /api/photos lists them"
                ),
            )
        })
    }
}

/// `GET /api/photos/{id}`: the original bytes.
async fn original(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
) -> Result<Response, AppError> {
    let found =
        state.app.original(id).await.map_err(|e| AppError::internal("cannot read the photo", e))?;
    let (photo, bytes) = found.ok_or_else(|| AppError::not_found(format!("photo {id}")))?;
    let mime = match photo.format.as_str() {
        "JPEG" => "image/jpeg",
        "PNG" => "image/png",
        "WebP" => "image/webp",
        "GIF" => "image/gif",
        "BMP" => "image/bmp",
        "TIFF" => "image/tiff",
        "MP4" => "video/mp4",
        "MOV" => "video/quicktime",
        "WebM" => "video/webm",
        "MKV" => "video/x-matroska",
        _ => "application/octet-stream",
    };
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// `DELETE /api/photos/{id}`.
async fn delete(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
) -> Result<Json<Value>, AppError> {
    let deleted =
        state.app.delete(id).await.map_err(|e| AppError::internal("cannot delete the photo", e))?;
    if !deleted {
        return Err(AppError::not_found(format!("photo {id}")));
    }
    Ok(Json(json!({ "deleted": id })))
}

/// `POST /api/photos/{id}/favourite`: kept by retention.
async fn favourite(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
) -> Result<Json<Value>, AppError> {
    set_favourite(&state, id, true).await
}

/// `DELETE /api/photos/{id}/favourite`.
async fn unfavourite(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
) -> Result<Json<Value>, AppError> {
    set_favourite(&state, id, false).await
}

async fn set_favourite(state: &AppState, id: i64, on: bool) -> Result<Json<Value>, AppError> {
    let photo = state
        .app
        .set_favourite(id, on)
        .await
        .map_err(|e| AppError::internal("cannot mark the photo", e))?
        .ok_or_else(|| AppError::not_found(format!("photo {id}")))?;
    Ok(Json(serde_json::to_value(photo).unwrap_or(Value::Null)))
}

/// `POST /api/photos/{id}/show`.
async fn show(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
) -> Result<Json<Value>, AppError> {
    if state.app.show(id).await {
        Ok(Json(json!({ "showing": id })))
    } else {
        Err(AppError::not_found(format!("photo {id}")))
    }
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
    let png = state.app.screenshot_png().await.map_err(|e| match e {
        ScreenshotError::NotReady => {
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string())
        }
        ScreenshotError::Encode(_) => AppError::internal("cannot encode the screenshot", e),
    })?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use tower::ServiceExt;

    /// The router over a real library in a temporary directory, without a socket.
    fn state(dir: &std::path::Path, token: Option<&str>) -> AppState {
        AppState {
            app: crate::app::tests::app(dir),
            discord_http: None,
            token: token.map(Arc::from),
            max_upload_mb: 1,
        }
    }

    async fn call(state: &AppState, req: Request) -> (StatusCode, Value) {
        let resp = app(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn uploads_over_the_limit_are_413_json() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let req = Request::post("/api/photos").body(Body::from(vec![0u8; 2 << 20])).unwrap();
        let (status, body) = call(&state, req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "upload_too_large");
        let photo = include_bytes!("../../tests/fixtures/ladybird.jpg").to_vec();
        let req = Request::post("/api/photos?caption=hi").body(Body::from(photo)).unwrap();
        let (status, body) = call(&state, req).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["photos"][0]["caption"], "hi");
    }

    #[tokio::test]
    async fn an_over_long_address_or_header_block_is_json_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let caption = "a".repeat(MAX_URI_BYTES);
        let req = Request::post(format!("/api/photos?caption={caption}")).body(Body::empty());
        let (status, body) = call(&state, req.unwrap()).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        assert!(body["error"]["message"].as_str().unwrap().contains("-F caption="), "{body}");
        let mut req = Request::get("/api/status");
        for i in 0..(MAX_HEADER_BYTES / 1000 + 1) {
            req = req.header(format!("x-filler-{i}"), "b".repeat(1000));
        }
        let (status, body) = call(&state, req.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(body["error"]["code"], "headers_too_large", "{body}");
        // Just under both limits: served.
        let fits = format!("/api/status?x={}", "a".repeat(MAX_URI_BYTES - 20));
        let (status, _) = call(&state, Request::get(fits).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn favourites_are_marked_unmarked_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let photo = include_bytes!("../../tests/fixtures/ladybird.jpg").to_vec();
        let (_, body) =
            call(&state, Request::post("/api/photos").body(photo.into()).unwrap()).await;
        let id = body["photos"][0]["id"].as_i64().unwrap();
        assert_eq!(body["photos"][0]["favourite"], false);
        let mark = |method: &str, path: String| {
            Request::builder().method(method).uri(path).body(Body::empty()).unwrap()
        };
        let (status, body) =
            call(&state, mark("POST", format!("/api/photos/{id}/favourite"))).await;
        assert_eq!((status, &body["favourite"]), (StatusCode::OK, &Value::Bool(true)), "{body}");
        let list = |q: &'static str| call(&state, mark("GET", format!("/api/photos{q}")));
        let ids = |body: Value| -> Vec<i64> {
            body["photos"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect()
        };
        assert_eq!(ids(list("?favourite=true").await.1), [id]);
        assert!(ids(list("?favourite=false").await.1).is_empty());
        let (status, body) = list("?favourite=maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("favourite=true"), "{body}");
        let (status, _) = call(&state, mark("DELETE", format!("/api/photos/{id}/favourite"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(ids(list("?favourite=true").await.1).is_empty());
        let (status, body) = call(&state, mark("POST", "/api/photos/999/favourite".into())).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    }

    #[tokio::test]
    async fn the_token_guards_the_api_but_not_the_health_check() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), Some("s3cret"));
        let (status, body) =
            call(&state, Request::get("/api/status").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "unauthorized");
        let req = Request::get("/api/status")
            .header(header::AUTHORIZATION, "Bearer s3cret")
            .body(Body::empty())
            .unwrap();
        let (status, body) = call(&state, req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["discord"]["state"], "disabled");
        assert_eq!(body["display"]["backend"], "headless");
        for (value, ok) in
            [("bearer s3cret", true), ("BEARER s3cret", true), ("Basic s3cret", false)]
        {
            let req = Request::get("/api/status")
                .header(header::AUTHORIZATION, value)
                .body(Body::empty())
                .unwrap();
            assert_eq!(call(&state, req).await.0 == StatusCode::OK, ok, "{value}");
        }
        let resp = app(state).oneshot(Request::get("/healthz").body(Body::empty()).unwrap());
        assert_eq!(resp.await.unwrap().status(), StatusCode::OK);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
