//! Telling systemd how the frame is doing (`sd_notify`), for units with `Type=notify` and
//! `WatchdogSec=`: `READY=1` once the endpoint listens and the first slide is on the screen;
//! `WATCHDOG=1` at half the watchdog interval for as long as both the runtime (which sends it)
//! and the display loop (which must answer a ping first) are alive, so that a frozen screen
//! gets the frame restarted; `STOPPING=1` on shutdown. Outside systemd (no `NOTIFY_SOCKET`)
//! every call does nothing.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::watch;

use crate::display::FrameSink;
use crate::slideshow::State;

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// Sends `READY=1` (and a status line) once the first slide has been shown.
pub async fn ready_when_shown(mut state: watch::Receiver<State>, url: String) {
    if state.wait_for(|s| s.shown > 0).await.is_err() {
        return;
    }
    let status = format!("serving on {url}");
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    tracing::debug!("told systemd: ready");
}

/// Feeds systemd's watchdog while the display answers; returns at once when the unit has no
/// watchdog.
pub async fn watchdog(sink: Arc<dyn FrameSink>) {
    let Some(interval) = watchdog_interval() else { return };
    let every = interval / 2;
    tracing::info!("systemd watchdog: {interval:?}, fed every {every:?}");
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (answer, answered) = tokio::sync::oneshot::channel();
        sink.ping(answer);
        match tokio::time::timeout(every, answered).await {
            Ok(Ok(())) => notify(&[NotifyState::Watchdog]),
            _ => tracing::warn!(
                "the display loop has not answered for {every:?}: not feeding the watchdog"
            ),
        }
    }
}

/// Sends `STOPPING=1`.
pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// `WATCHDOG_USEC`, when the watchdog is meant for this process: `WATCHDOG_PID` unset, ours,
/// or our parent's. The last case is the kiosk: systemd's main process is the compositor
/// (cage) and the frame its child, which the unit allows with `NotifyAccess=all`.
/// (`sd_notify::watchdog_enabled` accepts only our own pid.)
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    let pid = std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok());
    let ours =
        pid.is_none_or(|p| p == std::process::id() || p == std::os::unix::process::parent_id());
    (ours && usec > 0).then(|| Duration::from_micros(usec))
}
