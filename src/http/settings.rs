//! `GET` and `PATCH /api/settings`: the settings the page may change while the frame runs,
//! in the config file's own words. Saved first, then applied (see [`crate::settings`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

use super::error::AppError;
use super::AppState;
use crate::rotation::Order;
use crate::schedule::Window;
use crate::settings::{SettingsChange, SettingsError, MAX_WINDOWS};

/// The most a settings change may be: 32 windows of ~30 bytes and the rest fit many times.
const MAX_SETTINGS_BODY: usize = 16 * 1024;

/// What a settings change looks like, for the error messages.
const EXAMPLE: &str = r#"{"interval": "5m", "transition": "800ms", "captions": true, "order": "shuffle", "schedule": ["mon-fri 06:30-08:30", "sat,sun 08:00-23:30"]}"#;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/settings",
        get(settings).patch(change).layer(DefaultBodyLimit::max(MAX_SETTINGS_BODY)),
    )
}

/// `GET /api/settings`: the settings the page may change, where they are saved, and the rest
/// (read-only, secrets redacted).
async fn settings(State(state): State<AppState>) -> Json<Value> {
    let (live, file) = state.app.settings();
    Json(json!({ "live": live, "file": file, "fixed": state.app.fixed_settings() }))
}

/// The body of `PATCH /api/settings`: each setting to change, in the config file's words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    interval: Option<String>,
    transition: Option<String>,
    captions: Option<bool>,
    order: Option<String>,
    /// `[schedule] on`, whole: `[]` is always on.
    schedule: Option<Vec<String>>,
}

/// `PATCH /api/settings` `{"interval": "5m"}`: saved to the config file (comments kept), then
/// applied; answers like `GET /api/settings`.
async fn change(
    State(state): State<AppState>,
    body: Result<Json<SettingsBody>, JsonRejection>,
) -> Result<Json<Value>, AppError> {
    let bad = |message: String| AppError::new(StatusCode::BAD_REQUEST, "bad_parameter", message);
    let Json(body) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("a settings change is at most {MAX_SETTINGS_BODY} bytes: send {EXAMPLE}"),
            );
        }
        bad(format!("{}: send JSON like {EXAMPLE}", e.body_text()))
    })?;
    let length = |key: &str, text: Option<String>| -> Result<Option<Duration>, AppError> {
        text.map(|t| {
            humantime::parse_duration(t.trim()).map_err(|_| {
                bad(format!("{key}: `{t}` is not a length of time: write it like 30s, 5m or 1h"))
            })
        })
        .transpose()
    };
    let order = body
        .order
        .map(|o| o.parse::<Order>().map_err(|e| bad(format!("order: {e}"))))
        .transpose()?;
    let schedule = body.schedule.map(windows).transpose().map_err(bad)?;
    let change = SettingsChange {
        interval: length("interval", body.interval)?,
        transition: length("transition", body.transition)?,
        captions: body.captions,
        order,
        schedule,
    };
    state.app.change_settings(change).await.map_err(|e| match e {
        SettingsError::NoFile => {
            AppError::new(StatusCode::CONFLICT, "no_config_file", e.to_string())
        }
        SettingsError::Invalid(_) => bad(e.to_string()),
        SettingsError::Write { .. } | SettingsError::Worker(_) => {
            AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot_save_settings", e.to_string())
        }
    })?;
    Ok(settings(State(state)).await)
}

/// The schedule's windows, each as the config file writes it; blank lines are left out.
fn windows(texts: Vec<String>) -> Result<Vec<Window>, String> {
    let texts: Vec<&str> = texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect();
    if texts.len() > MAX_WINDOWS {
        return Err(format!(
            "schedule: {} windows is too many; at most {MAX_WINDOWS} (a window can name \
             several days: \"mon-fri 07:00-22:00\")",
            texts.len()
        ));
    }
    texts.iter().map(|t| t.parse().map_err(|e| format!("schedule: {e}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::tests::{call, request, state};
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::header;

    fn patch(json: &str) -> Request {
        Request::patch("/api/settings")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_owned()))
            .unwrap()
    }

    #[tokio::test]
    async fn settings_without_a_config_file_or_with_a_wrong_value_are_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let refused = [
            (r#"{"interval": "soon"}"#, "30s, 5m or 1h"),
            (r#"{"order": "random"}"#, "write newest, shuffle or weighted"),
            (r#"{"schedule": ["mon-fri 7-22"]}"#, "is not a time of day like 06:30"),
            (r#"{"schedule": ["someday 07:00-22:00"]}"#, "`someday` is not a day"),
            (r#"{"schedule": "07:00-22:00"}"#, "send JSON like"),
            (r#"{"colour": "blue"}"#, "unknown field `colour`"),
        ];
        for (json, words) in refused {
            let (status, body) = call(&state, patch(json)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(words), "{json}: {message}");
        }
        let many: Vec<String> = (0..=MAX_WINDOWS).map(|_| "\"07:00-08:00\"".into()).collect();
        let (status, body) =
            call(&state, patch(&format!("{{\"schedule\": [{}]}}", many.join(",")))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("at most 32"), "{body}");
        let huge = format!("{{\"schedule\": [\"{}\"]}}", "x".repeat(MAX_SETTINGS_BODY));
        let (status, body) = call(&state, patch(&huge)).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::PAYLOAD_TOO_LARGE, &json!("request_too_large"))
        );

        let (status, body) = call(&state, patch(r#"{"interval": "5m"}"#)).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::CONFLICT, &json!("no_config_file"))
        );
        let (status, body) = call(&state, request("GET", "/api/settings", Body::empty())).await;
        assert_eq!((status, &body["live"]["interval"]), (StatusCode::OK, &json!("1m")), "{body}");
        assert_eq!(
            (&body["live"]["order"], &body["live"]["schedule"]),
            (&json!("weighted"), &json!([]))
        );
    }

    #[tokio::test]
    async fn a_schedule_and_an_order_are_saved_in_the_files_words() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let text = "[display]\norder = \"newest\" # for now\n\n[schedule]\n# Evenings.\non = [\"18:00-23:00\"]\n";
        std::fs::write(&config, text).unwrap();
        let mut state = state(&dir.path().join("data"), None);
        let parsed = crate::config::Config::parse(text, &config).unwrap();
        state.app = state.app.with_settings(
            crate::settings::SettingsFile::new(Some(config.clone())),
            crate::settings::LiveSettings::from(&parsed),
        );
        let json = r#"{"order": "shuffle", "schedule": ["Mon-Fri 06:30-08:30", " ", "sat,sun 08:00-23:30"]}"#;
        let (status, body) = call(&state, patch(json)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["live"]["order"], "shuffle");
        assert_eq!(body["live"]["schedule"], json!(["mon-fri 06:30-08:30", "sat,sun 08:00-23:30"]));
        let written = std::fs::read_to_string(&config).unwrap();
        assert_eq!(
            written,
            "[display]\norder = \"shuffle\" # for now\n\n[schedule]\n# Evenings.\non = [\"mon-fri 06:30-08:30\", \"sat,sun 08:00-23:30\"]\n"
        );
    }
}
