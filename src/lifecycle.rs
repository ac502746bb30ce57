//! How the frame's tasks start and stop: one root [`CancellationToken`] that every task
//! watches, and one [`TaskTracker`] that shutdown waits on.
//!
//! SIGTERM (or the window closing) cancels the root. The HTTP server stops accepting and
//! drains its connections; every other task ends at its next await; shutdown then waits for
//! all of them, up to a grace period, and the process exits 0. Nothing is stopped by dropping
//! a handle or by `abort()`, so a task that outlives the shutdown is a bug that shows in the
//! log ("still running after …"), not a hang.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The frame's tasks. Cheap to clone; clones share the root token and the tracker.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Tasks {
    /// Tasks that stop when `stop` is cancelled.
    pub fn new(stop: CancellationToken) -> Tasks {
        Tasks { stop, tracker: TaskTracker::new() }
    }

    /// Spawns a task with nothing to finish: it is dropped at its next await once the frame
    /// stops.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            stop.run_until_cancelled_owned(task).await;
        })
    }

    /// Spawns a task that watches [`Tasks::token`] itself, to finish what it must first (the
    /// Discord connection closes its gateway session).
    pub fn spawn_graceful<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// The root token: cancelled when the frame stops.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops the frame (SIGTERM, the window closed).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Resolves when the frame is stopping.
    pub async fn stopping(&self) {
        self.stop.cancelled().await;
    }

    /// Stops every task and waits up to `grace` for them. On time out, says how many are left.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), StillRunning> {
        self.stop.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .map_err(|_| StillRunning { tasks: self.tracker.len(), grace })
    }
}

/// Tasks that had not ended when the grace period was over.
#[derive(Debug, thiserror::Error)]
#[error("{tasks} task(s) still running after {grace:?}")]
pub struct StillRunning {
    pub tasks: usize,
    pub grace: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_every_task_and_reports_one_that_does_not_listen() {
        let tasks = Tasks::new(CancellationToken::new());
        // A task with nothing to finish ends at its next await.
        tasks.spawn(std::future::pending());
        // A graceful one finishes its work first.
        let token = tasks.token();
        let graceful = tasks.spawn_graceful(async move {
            token.cancelled().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            "finished"
        });
        tasks.shutdown(Duration::from_secs(5)).await.unwrap();
        assert_eq!(graceful.await.unwrap(), "finished");

        // One that never looks at the token is reported, not waited for forever.
        let tasks = Tasks::new(CancellationToken::new());
        tasks.spawn_graceful(std::future::pending::<()>());
        let late = tasks.shutdown(Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(late.tasks, 1);
    }
}
