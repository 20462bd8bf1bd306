//! Bounded polling: the only way the harness (and the tests built on it) waits.
//!
//! A test never sleeps for a fixed time hoping something happened. It states the condition, and
//! how long it is allowed to take, and gets a descriptive error when the budget runs out.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The budget for things that normally take well under a second: a daemon opening its socket, a
/// tool answering. Generous because CI runs on two loaded cores.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The budget for RAFT elections: several election timers (see
/// [`RaftClusterBuilder::election_timer`](crate::RaftClusterBuilder::election_timer)).
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(60);

const FIRST_POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(200);

/// Polls `condition` until it returns `true`, for at most `timeout`.
///
/// `what` describes the condition ("ovsdb-server nb to accept connections"); it becomes the
/// message of the [`Error::Timeout`] returned when the budget runs out. The poll interval starts
/// at a few milliseconds and grows to 200 ms, so fast conditions are seen quickly and slow ones
/// cost little CPU.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Result<()> {
    wait_for(timeout, what, || condition().then_some(()))
}

/// Polls `probe` until it returns `Some`, for at most `timeout`, and returns that value.
///
/// Like [`wait_until`], for conditions that produce something (a leader's index, a row's uuid).
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut interval = FIRST_POLL;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                timeout,
                details: String::new(),
            });
        }
        std::thread::sleep(interval.min(deadline - now));
        interval = (interval * 2).min(MAX_POLL);
    }
}

/// The async form of [`wait_until`], for tokio tests: polls `condition` until it resolves to
/// `true`, sleeping with `tokio::time::sleep` in between, for at most `timeout`.
///
/// The deadline is measured in tokio's clock, so it also works under a paused clock.
pub async fn wait_until_async<F, Fut>(timeout: Duration, what: &str, mut condition: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut interval = FIRST_POLL;
    loop {
        if condition().await {
            return Ok(());
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                timeout,
                details: String::new(),
            });
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 2).min(MAX_POLL);
    }
}
