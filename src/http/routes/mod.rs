//! The routes. Handlers are thin: they turn a request into a call on the
//! [`App`](crate::app::App), and its outcome into JSON.
//!
//! Here the router and what every request passes through (bounds on its head, the same-origin
//! check); the library's routes in `photos`; the slideshow's, the screen's and the status's in
//! `control`.

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::AppError;
use super::AppState;

mod control;
mod photos;
#[cfg(test)]
pub(super) mod tests;

/// The router, with its state: served by `serve`, driven by `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    let limit =
        usize::try_from(state.max_upload_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    let api = photos::routes()
        .merge(control::routes())
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
