//! Who may use the API, and pairing a browser with the frame.
//!
//! A request is let in when it comes from the frame itself (loopback) and no `[http] token`
//! is set, when it carries the token (`Authorization: Bearer …`, for programs), or when it
//! carries the cookie of a paired browser. A browser pairs with the code the frame shows on
//! its screen ([`crate::pairing`]): `POST /api/pairing/code` puts one there, `POST
//! /api/pairing {"code"}` turns it into a session cookie (HttpOnly, SameSite=Strict, so no
//! script reads it and no other site's page sends it). `GET /api/sessions` lists the paired
//! browsers and `DELETE /api/sessions/{id}` unpairs one.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::AppError;
use super::AppState;
use crate::pairing::{constant_time_eq, PairError};
use crate::sessions::{Session, SessionError};

/// The session cookie's name.
pub const COOKIE: &str = "frame_session";
/// How long a browser keeps the cookie: 400 days, the most browsers allow. Unpairing on the
/// page ends a session sooner.
const COOKIE_DAYS: u64 = 400;

/// The most a pairing request's body may be: `{"code": "123 456"}` is 20 bytes. These routes
/// are open to the whole network, so they do not take the upload limit's megabytes.
const MAX_PAIR_BODY: usize = 1024;

/// Pairing: open to anyone who can reach the frame (the code on the screen is the proof).
pub fn pairing_routes() -> Router<AppState> {
    Router::new()
        .route("/api/pairing/code", post(show_code))
        .route("/api/pairing", post(pair))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PAIR_BODY))
}

/// The paired browsers: for those let in already.
pub fn session_routes() -> Router<AppState> {
    Router::new().route("/api/sessions", get(list)).route("/api/sessions/{id}", delete(unpair))
}

/// Lets a request in, or answers 401 with what to do. A paired browser's request carries its
/// [`Session`] on from here.
pub async fn require_access(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    // The server puts the peer's address on every request; a router driven without a socket
    // (the tests) is the frame talking to itself.
    let local = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_none_or(|ConnectInfo(peer)| peer.ip().to_canonical().is_loopback());
    let headers = req.headers();
    let token_ok = state.token.as_ref().is_some_and(|token| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
    });
    let cookie = session_key(headers);
    let session = cookie.as_deref().and_then(|key| state.app.session(key));
    if let Some(session) = session {
        req.extensions_mut().insert(session);
        return next.run(req).await;
    }
    if token_ok || (local && state.token.is_none()) {
        return next.run(req).await;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("the frame");
    let pair = format!("a browser pairs on the frame's page (http://{host}/) with the code the frame shows on its screen");
    let msg = match (&state.token, cookie.is_some()) {
        (_, true) => format!(
            "this browser is no longer paired with the frame (it was unpaired on the page): {pair}"
        ),
        (Some(_), false) => format!(
            "this frame needs a token or a paired browser: programs send the header \
             `Authorization: Bearer <token>` with the value of [http] token from its \
             config.toml; {pair}"
        ),
        (None, false) => format!(
            "from the network, only paired browsers may use this frame: {pair} (programs on \
             the frame itself need nothing; for programs elsewhere, set [http] token)"
        ),
    };
    let mut response = AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The token of an `Authorization: Bearer <token>` header. The scheme's name is matched
/// without regard to case (RFC 7235: `bearer` and `BEARER` are the same scheme).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The session key in the request's `Cookie` headers, if any.
fn session_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `POST /api/pairing/code`: shows a code on the screen, with a QR code of the page's address
/// as the asking browser reached it.
async fn show_code(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255)
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .ok_or_else(|| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_host",
                "the request has no usable Host header, so the frame cannot say its own \
                 address: ask from a browser",
            )
        })?;
    let lasts = state.app.show_pairing_code(&format!("http://{host}")).map_err(pair_error)?;
    Ok(Json(json!({
        "shown": true,
        "seconds_left": lasts.as_secs(),
        "message": "the frame shows a pairing code on its screen now: type it here",
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairBody {
    code: String,
}

/// `POST /api/pairing {"code": "123456"}`: the session cookie for the code on the screen.
async fn pair(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    let body = body.map_err(|_| {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!(
                "a pairing request is at most {MAX_PAIR_BODY} bytes: send {{\"code\": \"123456\"}} \
                 with the code the frame shows"
            ),
        )
    })?;
    let PairBody { code } = serde_json::from_slice(&body).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{e}: send {{\"code\": \"123456\"}} with the code the frame shows"),
        )
    })?;
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let label = crate::sessions::label(user_agent);
    let (key, session) = state.app.pair(&code, label).await.map_err(pair_error)?;
    let cookie = format!(
        "{COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        COOKIE_DAYS * 86_400
    );
    let mut response = (StatusCode::CREATED, Json(json!({ "session": session }))).into_response();
    let value = HeaderValue::from_str(&cookie)
        .map_err(|e| AppError::internal("cannot set the session cookie", e))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn pair_error(e: PairError) -> AppError {
    let (status, code) = match e {
        PairError::Session(e) => return session_error(e),
        PairError::Random(_) => return AppError::internal("cannot pair", e),
        PairError::ScreenOff => (StatusCode::CONFLICT, "screen_off"),
        PairError::Malformed => (StatusCode::BAD_REQUEST, "bad_code"),
        PairError::NoCode => (StatusCode::CONFLICT, "no_code"),
        PairError::Wrong { .. } | PairError::Withdrawn => (StatusCode::UNAUTHORIZED, "wrong_code"),
        PairError::TooMany { retry_after } => {
            let mut err =
                AppError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_tries", e.to_string());
            err.retry_after = Some(retry_after);
            return err;
        }
    };
    AppError::new(status, code, e.to_string())
}

/// A session that could not be made or removed, for pairing and unpairing alike.
fn session_error(e: SessionError) -> AppError {
    match e {
        SessionError::Full => {
            AppError::new(StatusCode::CONFLICT, "too_many_browsers", e.to_string())
        }
        SessionError::Save { .. } => {
            tracing::error!("{e}");
            AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot_save_session", e.to_string())
        }
        SessionError::Random(_) => AppError::internal("cannot make a session", e),
    }
}

/// `GET /api/sessions`: the paired browsers, the asking one marked `this`.
async fn list(State(state): State<AppState>, me: Option<Extension<Session>>) -> Json<Value> {
    let me = me.map(|Extension(s)| s.id);
    let sessions: Vec<Value> = state
        .app
        .sessions()
        .into_iter()
        .map(|s| {
            let this = Some(s.id) == me;
            let mut v = json!(s);
            v["this"] = json!(this);
            v
        })
        .collect();
    Json(json!({ "sessions": sessions }))
}

/// `DELETE /api/sessions/{id}`: unpairs a browser (the asking one too, if it is that one).
async fn unpair(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, AppError> {
    match state.app.unpair(id).await {
        Ok(true) => Ok(Json(json!({ "unpaired": id }))),
        Ok(false) => Err(AppError::not_found(format!("paired browser {id}"))),
        Err(e) => Err(session_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::tests::state;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use std::time::Duration;
    use tower::ServiceExt;

    async fn call(state: &AppState, req: Request) -> (StatusCode, HeaderMap, Value) {
        let resp = super::super::app(state.clone()).oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    fn req(method: &str, path: &str, cookie: Option<&str>, body: &str) -> Request {
        let mut r = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "frame.local:8080")
            .header(header::USER_AGENT, "Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile");
        if let Some(cookie) = cookie {
            r = r.header(header::COOKIE, format!("theme=dark; {cookie}"));
        }
        r.body(Body::from(body.to_owned())).unwrap()
    }

    /// The code as a phone's camera reads it off the frame's screen.
    async fn code_on_screen(state: &AppState) -> Option<String> {
        let png = state.app.screenshot_png().await.ok()?;
        let image = image::load_from_memory(&png).ok()?.to_rgba8();
        let slide =
            crate::render::Slide::new(image.width(), image.height(), image.into_raw()).ok()?;
        let read = crate::render::card::read_qr(&slide);
        let address = read.first()?;
        assert!(address.starts_with("http://frame.local:8080/#pair="), "{address}");
        address.rsplit('=').next().map(str::to_owned)
    }

    #[tokio::test]
    async fn a_browser_pairs_with_the_code_on_the_screen_and_can_be_unpaired() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), Some("s3cret"));
        // Wait for the welcome slide, then ask for a code.
        while state.app.screenshot_png().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (status, _, body) = call(&state, req("POST", "/api/next", None, "")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("pairs on the frame's page"));
        assert_eq!(code_on_screen(&state).await, None);

        let (status, _, body) = call(&state, req("POST", "/api/pairing/code", None, "")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut code = None;
        for _ in 0..500 {
            code = code_on_screen(&state).await;
            if code.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let code = code.expect("the code on the screen");

        let wrong = if code == "000000" { "000001" } else { "000000" };
        let body = format!(r#"{{"code":"{wrong}"}}"#);
        let (status, headers, answer) =
            call(&state, req("POST", "/api/pairing", None, &body)).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!("wrong_code"))
        );
        assert!(headers.get(header::SET_COOKIE).is_none());

        let right = format!(r#"{{"code":"{code}"}}"#);
        let (status, headers, answer) =
            call(&state, req("POST", "/api/pairing", None, &right)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["session"]["label"], "Chrome on Android");
        let set = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
            assert!(set.contains(part), "{set}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        assert!(!cookie.contains(&code));

        let (status, _, body) = call(&state, req("POST", "/api/next", Some(&cookie), "")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, _, list) = call(&state, req("GET", "/api/sessions", Some(&cookie), "")).await;
        let sessions = list["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0]["this"], true);
        let id = sessions[0]["id"].as_u64().unwrap();
        // The code is used up, and off the screen.
        let (status, _, _) = call(&state, req("POST", "/api/pairing", None, &right)).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let path = format!("/api/sessions/{id}");
        let (status, _, _) = call(&state, req("DELETE", &path, Some(&cookie), "")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, body) = call(&state, req("POST", "/api/next", Some(&cookie), "")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["error"]["message"].as_str().unwrap().contains("no longer paired"), "{body}");
        let (status, _, _) = call(&state, req("DELETE", &path, None, "")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn without_a_token_the_frame_itself_is_let_in_and_the_network_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let from = |ip: [u8; 4]| {
            let mut r = req("POST", "/api/next", None, "");
            r.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
            r
        };
        assert_eq!(call(&state, from([127, 0, 0, 1])).await.0, StatusCode::OK);
        let (status, _, body) = call(&state, from([192, 168, 1, 30])).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["error"]["message"].as_str().unwrap().contains("only paired browsers"));
        // Pairing itself is open to the network.
        let mut ask = req("POST", "/api/pairing", None, r#"{"code":"123456"}"#);
        ask.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 168, 1, 30], 4))));
        let (status, _, body) = call(&state, ask).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::CONFLICT, &json!("no_code")));
    }

    #[tokio::test]
    async fn guessing_is_answered_429_with_retry_after_and_a_dark_screen_shows_no_code() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        for _ in 0..crate::pairing::WRONG_PER_WINDOW {
            call(&state, req("POST", "/api/pairing", None, r#"{"code":"123456"}"#)).await;
        }
        let (status, headers, body) =
            call(&state, req("POST", "/api/pairing", None, r#"{"code":"123456"}"#)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        let wait: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=600).contains(&wait), "{wait}");
        let (status, _, body) = call(&state, req("POST", "/api/pairing", None, "{}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // Open to the network, so bounded far below the upload limit.
        let big = format!(r#"{{"code":"{}"}}"#, " ".repeat(MAX_PAIR_BODY));
        let (status, _, body) = call(&state, req("POST", "/api/pairing", None, &big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

        state.app.set_screen(false, None).await;
        let (status, _, body) = call(&state, req("POST", "/api/pairing/code", None, "")).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::CONFLICT, &json!("screen_off")));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; frame_session=abc ; b=2"));
        assert_eq!(session_key(&headers).as_deref(), Some("abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("frame_session="));
        assert_eq!(session_key(&headers), None);
        assert!(bearer_token("Bearer x").is_some() && bearer_token("Basic x").is_none());
    }
}
