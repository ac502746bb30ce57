//! The library's routes: upload, list, an original, a thumbnail, a caption, favourites, delete,
//! and showing one photo now.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::ThumbnailError;
use crate::http::error::AppError;
use crate::http::AppState;
use crate::ingest::{IngestRequest, Ingested};
use crate::library::Source;
use crate::render::Fit;
use crate::slides::ThumbnailFailure;

/// The library's routes; `app` puts them behind the access check with the rest of the API.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/photos", post(upload).get(list))
        .route("/api/photos/{id}", get(original).delete(delete).patch(edit))
        .route("/api/photos/{id}/thumbnail", get(thumbnail))
        .route("/api/photos/{id}/show", post(show))
        .route("/api/photos/{id}/favourite", post(favourite).delete(unfavourite))
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
