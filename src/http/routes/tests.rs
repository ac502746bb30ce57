//! The routes' tests: each request goes through the whole router (`oneshot`), over a real
//! library in a temporary folder, with no socket.

use super::*;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{json, Value};
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
    let photo = include_bytes!("../../../tests/fixtures/ladybird.jpg").to_vec();
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
    let photo = include_bytes!("../../../tests/fixtures/ladybird.jpg").to_vec();
    let (_, body) = call(&state, Request::post("/api/photos").body(photo.into()).unwrap()).await;
    let id = body["photos"][0]["id"].as_i64().unwrap();
    assert_eq!(body["photos"][0]["favourite"], false);
    let mark = |method: &str, path: String| {
        Request::builder().method(method).uri(path).body(Body::empty()).unwrap()
    };
    let (status, body) = call(&state, mark("POST", format!("/api/photos/{id}/favourite"))).await;
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
    for (value, ok) in [("bearer s3cret", true), ("BEARER s3cret", true), ("Basic s3cret", false)] {
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
    assert_eq!(call(&state, from(Some("http://frame.local:8080"), None)).await.0, StatusCode::OK);
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
        let resp = app(state.clone()).oneshot(request("GET", path, Body::empty())).await.unwrap();
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
    let photo = include_bytes!("../../../tests/fixtures/ladybird.jpg").to_vec();
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
    assert_eq!((image.width(), image.height()), (crate::thumbnails::SIDE, crate::thumbnails::SIDE));
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
                let parsed = block.strip_prefix("event: ").and_then(|b| b.split_once("\ndata: "));
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
    let photo = include_bytes!("../../../tests/fixtures/ladybird.jpg").to_vec();
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
