//! The endpoint's accept loop: HTTP/1.1 connections served by hyper, with every duration and
//! count that a client controls bounded.
//!
//! - A request's headers must arrive within [`Limits::header_timeout`]; the same timer closes a
//!   keep-alive connection that sends nothing for that long.
//! - A request body that stalls for [`Limits::body_timeout`] ends the request (`408`).
//! - At most [`Limits::max_connections`] connections are open. When one more arrives, the
//!   oldest connection that is not in the middle of a request is closed to make room; when all
//!   are busy, the new one is closed at once. Either way the frame never runs out of file
//!   descriptors, so `/healthz` and uploads keep working while slow clients hold sockets open.
//! - On shutdown, connections finish the request they are in for up to
//!   [`Limits::shutdown_grace`], then are dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The bounds on what a client can hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Limits {
    /// The frame's defaults: connections sized to the process's file-descriptor limit, with
    /// room left for the library, the display and Discord.
    pub fn for_this_process() -> Limits {
        let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(1024, |(soft, _)| soft);
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: max_connections(nofile),
            // With the second the server waits beyond it, inside the frame's five.
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// Half the descriptors, at most 512: a frame has a handful of clients, and the rest of the
/// process (SQLite, the window, Discord's gateway, decoders) needs descriptors too.
fn max_connections(nofile: u64) -> usize {
    usize::try_from((nofile / 2).clamp(16, 512)).unwrap_or(512)
}

/// One open connection, as the accept loop sees it.
#[derive(Debug)]
struct Conn {
    /// Set while a request is being handled.
    busy: Arc<AtomicBool>,
    close: CancellationToken,
}

/// The open connections, oldest first (ids grow).
#[derive(Debug, Default)]
struct Registry {
    conns: Mutex<BTreeMap<u64, Conn>>,
    next: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes room for one more connection; `false` when every open one is in a request.
    fn make_room(&self, max: usize) -> bool {
        let mut conns = self.lock();
        if conns.len() < max {
            return true;
        }
        let idle = conns.iter().find(|(_, c)| !c.busy.load(Ordering::Acquire)).map(|(&id, _)| id);
        match idle.and_then(|id| conns.remove(&id)) {
            Some(conn) => {
                conn.close.cancel();
                true
            }
            None => false,
        }
    }

    fn add(&self, conn: Conn) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, conn);
        id
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout));
    let registry = Arc::new(Registry::default());
    let tracker = TaskTracker::new();
    let mut full_warned = false;
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (another part of the process, or a limit set very
                    // low): wait for some to be freed rather than spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if !registry.make_room(limits.max_connections) {
            if !full_warned {
                tracing::warn!(
                    "{} connections, every one in a request: closing new ones until one ends",
                    limits.max_connections
                );
                full_warned = true;
            }
            drop(stream);
            continue;
        }
        full_warned = false;
        let busy = Arc::new(AtomicBool::new(false));
        let close = CancellationToken::new();
        let id = registry.add(Conn { busy: busy.clone(), close: close.clone() });
        let service = {
            let app = app.clone();
            tower::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                // Who is asking: the API lets the frame's own programs in without a token.
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                let app = app.clone();
                let busy = busy.clone();
                async move {
                    busy.store(true, Ordering::Release);
                    let response = app.oneshot(req).await;
                    busy.store(false, Ordering::Release);
                    Ok::<_, Infallible>(response.unwrap_or_else(|e| match e {}))
                }
            })
        };
        let (registry, stop, grace) = (registry.clone(), stop.clone(), limits.shutdown_grace);
        let header_timeout = limits.header_timeout;
        tracker.spawn(async move {
            let _ = stream.set_nodelay(true);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = close.cancelled() => {}
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(grace, conn.as_mut()).await;
                }
            }
            registry.remove(id);
        });
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(limits.shutdown_grace + Duration::from_secs(1), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace: closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_follow_the_descriptor_limit() {
        assert_eq!(max_connections(1024), 512);
        assert_eq!(max_connections(256), 128);
        assert_eq!(max_connections(8192), 512);
        assert_eq!(max_connections(10), 16);
    }

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        let registry = Registry::default();
        let conns: Vec<(Arc<AtomicBool>, CancellationToken)> =
            (0..3).map(|_| (Arc::new(AtomicBool::new(false)), CancellationToken::new())).collect();
        for (busy, close) in &conns {
            assert!(registry.make_room(3));
            registry.add(Conn { busy: busy.clone(), close: close.clone() });
        }
        conns[0].0.store(true, Ordering::Release);
        assert!(registry.make_room(3));
        assert!(!conns[0].1.is_cancelled(), "a connection in a request is kept");
        assert!(conns[1].1.is_cancelled(), "the oldest idle one is closed");
        conns[2].0.store(true, Ordering::Release);
        registry
            .add(Conn { busy: Arc::new(AtomicBool::new(true)), close: CancellationToken::new() });
        assert!(!registry.make_room(3), "all busy: no room");
    }
}
