//! The endpoint's one error type. Every error is JSON,
//! `{"error": {"status": 415, "code": "unsupported_format", "message": "…"}}`, with a message
//! for the person or program that sent the request; internals go to the log, not the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::discord::relay::RelayError;
use crate::ingest::IngestError;
use crate::render::{ErrorKind, RenderError};

/// An error response.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    /// A stable, machine-readable name: clients branch on this, not on the message.
    pub code: &'static str,
    pub message: String,
    /// More for the client, merged into the error object (the relay's `discord` details).
    pub extra: Option<(&'static str, serde_json::Value)>,
    /// How long the client should wait before it tries again (`Retry-After`), for a 429.
    pub retry_after: Option<std::time::Duration>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError { status, code, message: message.into(), extra: None, retry_after: None }
    }

    pub fn not_found(what: impl std::fmt::Display) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} does not exist"))
    }

    /// A failure of the frame itself: logged in full, reported to the client in short.
    pub fn internal(context: &str, e: impl std::fmt::Display) -> AppError {
        tracing::error!("{context}: {e}");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context}; the frame's log has the details"),
        )
    }

    /// The upload was over `[http] max_upload_mb`.
    pub fn too_large(max_mb: u64) -> AppError {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            format!(
                "the upload is over the {max_mb} MB limit ([http] max_upload_mb): send a smaller \
                 photo"
            ),
        )
    }

    /// The frame's disk is full: nothing is wrong with the photo.
    pub fn disk_full() -> AppError {
        AppError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "disk_full",
            "the frame's disk is full, so the photo was not stored: delete some photos \
             (DELETE /api/photos/<id>) or free space on its card, then send it again",
        )
    }

    /// Prefixes the message, e.g. with the name of the file in a multi-file upload.
    pub fn context(mut self, prefix: &str) -> AppError {
        self.message = format!("{prefix}: {}", self.message);
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let mut error =
            json!({ "status": self.status.as_u16(), "code": self.code, "message": self.message });
        if let Some((key, value)) = &self.extra {
            error[*key] = value.clone();
        }
        json!({ "error": error })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::info!(status = self.status.as_u16(), code = self.code, "{}", self.message);
        }
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, wait.as_secs().max(1).into());
        }
        response
    }
}

impl From<RenderError> for AppError {
    fn from(e: RenderError) -> AppError {
        let (status, code) = match (&e, e.kind()) {
            (RenderError::Empty, _) => (StatusCode::BAD_REQUEST, "empty_upload"),
            (_, ErrorKind::Unsupported) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format")
            }
            (_, ErrorKind::TooLarge) => (StatusCode::UNPROCESSABLE_ENTITY, "photo_too_large"),
            (_, ErrorKind::Damaged) => (StatusCode::UNPROCESSABLE_ENTITY, "damaged_photo"),
        };
        AppError::new(status, code, e.to_string())
    }
}

impl From<IngestError> for AppError {
    fn from(e: IngestError) -> AppError {
        match e {
            IngestError::Photo(e) => e.into(),
            IngestError::Motion(e) => {
                let (status, code) = match e.kind() {
                    _ if e.is_setup() => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "cannot_play_videos"),
                    ErrorKind::Unsupported => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format")
                    }
                    ErrorKind::TooLarge => (StatusCode::UNPROCESSABLE_ENTITY, "video_too_large"),
                    ErrorKind::Damaged => (StatusCode::UNPROCESSABLE_ENTITY, "damaged_video"),
                };
                AppError::new(status, code, e.to_string())
            }
            e if e.is_disk_full() => AppError::disk_full(),
            e if e.is_io_failure() => {
                tracing::error!("{e}");
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_failed",
                    "the frame's card could not write the photo (an input/output error), so it \
                     was not stored: send it again; if this keeps happening, the card may be \
                     failing: copy the photos off it and replace it",
                )
            }
            other => AppError::internal("the frame could not store the photo", other),
        }
    }
}

impl From<RelayError> for AppError {
    fn from(e: RelayError) -> AppError {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        match e {
            RelayError::BadRequest(message) => {
                AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
            }
            RelayError::Discord { status: discord_status, code, ref text } => {
                let details = json!({ "status": discord_status, "code": code, "text": text });
                let mut error = AppError::new(status, "discord_error", e.to_string());
                error.extra = Some(("discord", details));
                error
            }
            RelayError::Unreachable(_) => {
                tracing::warn!("relay: {e}");
                AppError::new(status, "discord_unreachable", e.to_string())
            }
        }
    }
}
