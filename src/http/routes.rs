//! The routes. Handlers are thin: they turn a request into a call on the
//! [`App`](crate::app::App), and its outcome into JSON.

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
use crate::app::{DiscordState, ScreenshotError, ThumbnailError};
use crate::discord::relay::RelayRequest;
use crate::ingest::{IngestRequest, Ingested};
use crate::library::{Photo, Source};
use crate::render::Fit;
use crate::slides::ThumbnailFailure;
use crate::slideshow::Command;

/// The router, with its state: served by `serve`, driven by `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    let limit =
        usize::try_from(state.max_upload_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    let api = Router::new()
        .route("/api/photos", post(upload).get(list))
        .route("/api/photos/{id}", get(original).delete(delete).patch(edit))
        .route("/api/photos/{id}/thumbnail", get(thumbnail))
        .route("/api/photos/{id}/show", post(show))
        .route("/api/photos/{id}/favourite", post(favourite).delete(unfavourite))
        .route("/api/next", post(next))
        .route("/api/prev", post(prev))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/status", get(status))
        .route("/api/screen", post(screen))
        .route("/api/screenshot.png", get(screenshot))
        .route("/api/screenshot.jpg", get(screenshot_jpeg))
        .route("/api/events", get(super::events::events))
        .route("/api/discord/messages", post(relay))
        .merge(super::access::session_routes())
        .merge(super::settings::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), super::access::require_access));
    Router::new()
        .merge(api)
        .merge(super::access::pairing_routes())
        .merge(super::page::routes())
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
        .layer(middleware::from_fn(same_origin))
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

/// Refuses a change (any method but GET and HEAD) sent by a web page from another site: a
/// page anywhere on the internet could otherwise make a family member's browser post to the
/// frame on their home network. Browsers say where a request comes from in `Origin`;
/// programs such as curl send none and are not affected.
async fn same_origin(req: Request, next: Next) -> Response {
    let method = req.method();
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return next.run(req).await;
    }
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let same = match (origin, host) {
        (None, _) => {
            // An old browser without `Origin` still says whether the request is cross-site.
            headers.get("sec-fetch-site").is_none_or(|site| site != "cross-site")
        }
        (Some(origin), Some(host)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    };
    if same {
        return next.run(req).await;
    }
    let from = origin.unwrap_or("another site");
    let msg = format!(
        "this change was sent by a web page from {from}, and only the frame's own page may \
         change it: open the frame's page (http://{}/) instead",
        host.unwrap_or("the frame's address")
    );
    AppError::new(StatusCode::FORBIDDEN, "cross_origin", msg).into_response()
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

/// The body of `PATCH /api/photos/{id}`: what to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhotoEdit {
    /// The new caption; `null` or blank: none.
    caption: Option<String>,
}

/// `PATCH /api/photos/{id}` `{"caption": "At the lake"}`: a new caption, on screen too.
async fn edit(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
    body: Result<Json<PhotoEdit>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, AppError> {
    let Json(edit) = body.map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_parameter",
            format!("{}: send JSON like {{\"caption\": \"At the lake\"}}", e.body_text()),
        )
    })?;
    let photo = state
        .app
        .recaption(id, edit.caption)
        .await
        .map_err(|e| AppError::internal("cannot change the caption", e))?
        .ok_or_else(|| AppError::not_found(format!("photo {id}")))?;
    Ok(Json(serde_json::to_value(photo).unwrap_or(Value::Null)))
}

/// `GET /api/photos/{id}/thumbnail`: a square JPEG for the page's grid, made once and kept.
async fn thumbnail(
    State(state): State<AppState>,
    PhotoId(id): PhotoId,
) -> Result<Response, AppError> {
    let jpeg = state.app.thumbnail(id).await.map_err(|e| match e {
        ThumbnailError::Library(e) => AppError::internal("cannot read the photo", e),
        // GStreamer is missing: the owner's to install, said as the upload would say it, and
        // not logged again at every view of the grid.
        ThumbnailError::Render { detail: ThumbnailFailure::Clip(e), .. } if e.is_setup() => {
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "cannot_play_videos", e.to_string())
        }
        e @ ThumbnailError::Render { .. } => AppError::internal("cannot make the thumbnail", e),
    })?;
    let jpeg = jpeg.ok_or_else(|| AppError::not_found(format!("photo {id}")))?;
    // The page asks with `?v=` and the photo's hash: an id the library gives again after a
    // delete is a new address, so a day's caching cannot show the wrong photo.
    let headers =
        [(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, max-age=86400")];
    Ok((headers, jpeg).into_response())
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use tower::ServiceExt;

    /// The router's state over a real library in a temporary directory, without a socket.
    pub(in crate::http) fn state(dir: &std::path::Path, token: Option<&str>) -> AppState {
        AppState {
            app: crate::app::tests::app(dir),
            discord_http: None,
            token: token.map(Arc::from),
            max_upload_mb: 1,
        }
    }

    pub(in crate::http) async fn call(state: &AppState, req: Request) -> (StatusCode, Value) {
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
    }

    pub(in crate::http) fn request(method: &str, path: &str, body: Body) -> Request {
        Request::builder().method(method).uri(path).body(body).unwrap()
    }

    #[tokio::test]
    async fn a_change_from_another_site_is_refused_and_the_frames_own_page_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let from = |origin: Option<&str>, site: Option<&str>| {
            let mut req = Request::post("/api/next").header(header::HOST, "frame.local:8080");
            if let Some(origin) = origin {
                req = req.header(header::ORIGIN, origin);
            }
            if let Some(site) = site {
                req = req.header("sec-fetch-site", site);
            }
            req.body(Body::empty()).unwrap()
        };
        let (status, body) = call(&state, from(Some("http://evil.example"), None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "cross_origin");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("http://frame.local:8080/"), "{message}");
        assert!(message.contains("own page may change it"), "{message}");
        assert_eq!(call(&state, from(Some("null"), None)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(call(&state, from(None, Some("cross-site"))).await.0, StatusCode::FORBIDDEN);
        // The page itself, and programs (no Origin), may.
        assert_eq!(
            call(&state, from(Some("http://frame.local:8080"), None)).await.0,
            StatusCode::OK
        );
        assert_eq!(call(&state, from(None, Some("same-origin"))).await.0, StatusCode::OK);
        assert_eq!(call(&state, from(None, None)).await.0, StatusCode::OK);
        // Reading is not a change: a GET with a foreign Origin is answered (CORS keeps the
        // answer from the other site's script, as no Access-Control header is sent).
        let req = Request::get("/api/status").header(header::ORIGIN, "http://evil.example");
        let resp = app(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[tokio::test]
    async fn the_page_is_served_small_with_a_strict_policy() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        for (path, mime) in
            [("/", "text/html"), ("/page.js", "text/javascript"), ("/page.css", "text/css")]
        {
            let resp =
                app(state.clone()).oneshot(request("GET", path, Body::empty())).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let h = resp.headers();
            assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with(mime), "{path}");
            assert!(h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"));
        }
        let weight = crate::http::page::weight();
        assert!(weight < 60 * 1024, "the page weighs {weight} bytes");
    }

    #[tokio::test]
    async fn captions_are_edited_and_thumbnails_made_once_kept_and_removed_with_the_photo() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let photo = include_bytes!("../../tests/fixtures/ladybird.jpg").to_vec();
        let (_, body) = call(&state, request("POST", "/api/photos", photo.into())).await;
        let id = body["photos"][0]["id"].as_i64().unwrap();
        let sha = body["photos"][0]["sha256"].as_str().unwrap().to_owned();

        let edit = |json: &str| {
            Request::patch(format!("/api/photos/{id}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_owned()))
                .unwrap()
        };
        let (status, body) = call(&state, edit(r#"{"caption": "At the lake"}"#)).await;
        assert_eq!((status, &body["caption"]), (StatusCode::OK, &json!("At the lake")), "{body}");
        let (status, body) = call(&state, edit(r#"{"caption": "  "}"#)).await;
        assert_eq!((status, &body["caption"]), (StatusCode::OK, &Value::Null), "{body}");
        let (status, body) = call(&state, edit(r#"{"title": "x"}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("caption"), "{body}");

        let thumbnail = format!("/api/photos/{id}/thumbnail?v={}", &sha[..12]);
        let resp = app(state.clone()).oneshot(request("GET", &thumbnail, Body::empty()));
        let resp = resp.await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "image/jpeg");
        let jpeg = resp.into_body().collect().await.unwrap().to_bytes();
        let image = image::load_from_memory(&jpeg).unwrap();
        assert_eq!(
            (image.width(), image.height()),
            (crate::thumbnails::SIDE, crate::thumbnails::SIDE)
        );
        // Kept on disk (written off the request's path: wait for it), and served from there.
        let kept = dir.path().join("thumbnails").join(&sha[..2]).join(format!("{sha}.jpg"));
        for _ in 0..100 {
            if kept.exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(std::fs::read(&kept).unwrap(), jpeg);
        // Served from there: what the cache holds is what comes back.
        let marked = [&jpeg[..jpeg.len() - 2], b"cached\xff\xd9"].concat();
        std::fs::write(&kept, &marked).unwrap();
        let again = app(state.clone()).oneshot(request("GET", &thumbnail, Body::empty()));
        let again = again.await.unwrap().into_body().collect().await.unwrap().to_bytes();
        assert_eq!(again, marked);
        // A torn one (a power cut) is made again.
        std::fs::write(&kept, &jpeg[..jpeg.len() / 2]).unwrap();
        let torn = app(state.clone()).oneshot(request("GET", &thumbnail, Body::empty()));
        let torn = torn.await.unwrap().into_body().collect().await.unwrap().to_bytes();
        assert!(image::load_from_memory(&torn).is_ok());

        let (status, _) =
            call(&state, request("DELETE", &format!("/api/photos/{id}"), Body::empty())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!kept.exists(), "the thumbnail went with its photo");
        let (status, body) = call(&state, request("GET", &thumbnail, Body::empty())).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    }

    #[tokio::test]
    async fn the_events_stream_says_the_state_then_what_changes() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let resp = app(state.clone()).oneshot(request("GET", "/api/events", Body::empty()));
        let resp = resp.await.unwrap();
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
        let mut body = resp.into_body();
        let mut text = String::new();
        // The next event: its name and data.
        let mut next = async || -> (String, Value) {
            loop {
                if let Some(end) = text.find("\n\n") {
                    let block: String = text.drain(..end + 2).collect();
                    let parsed =
                        block.strip_prefix("event: ").and_then(|b| b.split_once("\ndata: "));
                    if let Some((event, data)) = parsed {
                        return (event.to_owned(), serde_json::from_str(data.trim_end()).unwrap());
                    }
                    continue;
                }
                let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame());
                let frame = frame.await.unwrap_or_else(|_| panic!("no event in 5 s: {text}"));
                if let Ok(data) = frame.unwrap().unwrap().into_data() {
                    text.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
        };
        // First the state as it is, in this order.
        let (name, data) = next().await;
        assert_eq!((name.as_str(), &data["current"]), ("shown", &Value::Null));
        let (name, data) = next().await;
        assert_eq!((name.as_str(), &data["screen"]), ("screen", &json!("on")));
        let (name, data) = next().await;
        assert_eq!((name.as_str(), &data["state"]), ("discord", &json!("disabled")));

        // A photo arrives: it is added, and shown (the two may come in either order).
        let photo = include_bytes!("../../tests/fixtures/ladybird.jpg").to_vec();
        let (_, body) = call(&state, request("POST", "/api/photos", photo.into())).await;
        let id = body["photos"][0]["id"].as_i64().unwrap();
        let (mut added, mut shown) = (false, false);
        while !(added && shown) {
            let (name, data) = next().await;
            added |= name == "added" && data["photos"][0]["id"] == id;
            shown |= name == "shown" && data["current"]["id"] == id;
        }
        call(&state, request("DELETE", &format!("/api/photos/{id}"), Body::empty())).await;
        loop {
            let (name, data) = next().await;
            if name == "removed" {
                assert_eq!(data["ids"], json!([id]));
                break;
            }
        }
    }
}
