//! `GET /api/events`: the frame's changes as Server-Sent Events (see [`crate::events`]). Each
//! event has a name and one line of JSON:
//!
//! | event | data |
//! |---|---|
//! | `shown` | `{"current": photo or null, "beside": photo or null, "paused": bool}` |
//! | `added` | `{"photos": [photo, ...]}`, as `GET /api/photos` lists them |
//! | `removed` | `{"ids": [id, ...]}` |
//! | `changed` | `{"photos": [photo, ...]}`: a caption or a favourite mark changed |
//! | `screen` | the `screen` object of `GET /api/status` |
//! | `discord` | the `discord` object of `GET /api/status` |
//! | `missed` | `{"count": n}`: the reader was too slow; read `GET /api/photos` again |
//!
//! The first events describe the state as it is (`screen`, `discord`, `shown`); a comment
//! line every 15 s keeps proxies and phones from closing a quiet stream.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::response::Sse as SseResponse;
use axum::Extension;
use futures_util::Stream;
use serde_json::{json, Value};

use super::AppState;
use crate::events::{Change, Event};
use crate::sessions::Session;

/// `GET /api/events`.
pub async fn events(
    State(state): State<AppState>,
    me: Option<Extension<Session>>,
) -> SseResponse<impl Stream<Item = Result<Sse, Infallible>>> {
    let me = me.map(|Extension(session)| session.id);
    let app = state.app.clone();
    let stream = futures_util::stream::unfold(state.app.events(), move |mut events| {
        let app = app.clone();
        async move {
            let event = events.next().await?;
            // A browser unpaired meanwhile hears no more: its stream ends at the next event.
            if me.is_some_and(|id| !app.is_paired(id)) {
                return None;
            }
            Some((Ok(sse(&event)), events))
        }
    });
    SseResponse::new(stream).keep_alive(KeepAlive::default())
}

/// One event in the stream's words.
fn sse(event: &Event) -> Sse {
    let (name, data): (&str, Value) = match event {
        Event::Library(Change::Added(photos)) => ("added", json!({ "photos": photos })),
        Event::Library(Change::Removed(ids)) => ("removed", json!({ "ids": ids })),
        Event::Library(Change::Changed(photos)) => ("changed", json!({ "photos": photos })),
        Event::Shown { current, beside, paused } => {
            ("shown", json!({ "current": current, "beside": beside, "paused": paused }))
        }
        Event::Screen(status) => ("screen", json!(status)),
        Event::Discord(state) => ("discord", json!(state)),
        Event::Missed(count) => ("missed", json!({ "count": count })),
    };
    Sse::default().event(name).data(data.to_string())
}
