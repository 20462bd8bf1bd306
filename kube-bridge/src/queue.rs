//! A work queue of object keys with per-key serialisation and retries with exponential backoff.
//!
//! The guarantees, as a controller needs them:
//! - a key is never handed to two workers at once;
//! - a key added while it is being processed is handed out again once that processing ends
//!   (the change that arrived mid-way is not lost);
//! - a key added many times while waiting is processed once;
//! - a failed key comes back after `base * 2^(failures-1)`, capped at `max`; success forgets
//!   its failures.
//!
//! The queue knows nothing of Kubernetes: keys are any `Clone + Eq + Hash` value.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Exponential backoff for failed keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 5 ms doubling up to 5 minutes, as client-go's default controller rate limiter.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay before the retry that follows the `failures`-th consecutive failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(63);
        let factor = 1u64 << exp;
        let nanos = (self.base.as_nanos()).saturating_mul(u128::from(factor));
        let max = self.max.as_nanos();
        Duration::from_nanos(u64::try_from(nanos.min(max)).unwrap_or(u64::MAX))
    }
}

struct State<K> {
    /// Keys ready to hand out, in order of arrival.
    ready: VecDeque<K>,
    /// Keys in `ready` (so adding twice queues once).
    queued: HashSet<K>,
    /// Keys waiting for a retry deadline.
    delayed: HashMap<K, Instant>,
    /// Keys being processed by a worker.
    processing: HashSet<K>,
    /// Keys added while being processed: they go back to `ready` when processing ends.
    dirty: HashSet<K>,
    /// Consecutive failures per key.
    failures: HashMap<K, u32>,
    shut_down: bool,
}

/// A cloneable handle to one work queue; all clones share it.
pub struct WorkQueue<K> {
    state: Arc<Mutex<State<K>>>,
    wake: Arc<Notify>,
    backoff: Backoff,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        WorkQueue {
            state: self.state.clone(),
            wake: self.wake.clone(),
            backoff: self.backoff,
        }
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    /// An empty queue retrying with `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        WorkQueue {
            state: Arc::new(Mutex::new(State {
                ready: VecDeque::new(),
                queued: HashSet::new(),
                delayed: HashMap::new(),
                processing: HashSet::new(),
                dirty: HashSet::new(),
                failures: HashMap::new(),
                shut_down: false,
            })),
            wake: Arc::new(Notify::new()),
            backoff,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<K>> {
        // A worker that panicked while holding the lock left the state consistent (every
        // mutation is a few infallible collection operations), so the poison is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `key` now. A key waiting for a retry is moved up; a key being processed runs
    /// again after its current processing ends.
    pub fn add(&self, key: K) {
        let mut s = self.lock();
        if s.shut_down {
            return;
        }
        if s.processing.contains(&key) {
            s.dirty.insert(key);
            return;
        }
        s.delayed.remove(&key);
        if s.queued.insert(key.clone()) {
            s.ready.push_back(key);
            drop(s);
            self.wake.notify_waiters();
        }
    }

    /// Waits for the next key to process and marks it as being processed. Returns `None`
    /// once the queue is shut down. The caller must end the processing with
    /// [`WorkQueue::done`] or [`WorkQueue::retry`].
    pub async fn next(&self) -> Option<K> {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            // Registered before looking at the state, so an add between the look and the
            // wait is not missed.
            woken.as_mut().enable();
            let deadline = {
                let mut s = self.lock();
                if s.shut_down {
                    return None;
                }
                let now = Instant::now();
                let due: Vec<K> = s
                    .delayed
                    .iter()
                    .filter(|(_, at)| **at <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in due {
                    s.delayed.remove(&key);
                    if s.processing.contains(&key) {
                        s.dirty.insert(key);
                    } else if s.queued.insert(key.clone()) {
                        s.ready.push_back(key);
                    }
                }
                if let Some(key) = s.ready.pop_front() {
                    s.queued.remove(&key);
                    s.processing.insert(key.clone());
                    return Some(key);
                }
                s.delayed.values().min().copied()
            };
            match deadline {
                Some(at) => {
                    tokio::select! {
                        _ = &mut woken => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => woken.await,
            }
        }
    }

    /// Ends the processing of `key` with success: its failures are forgotten, and it is
    /// queued again if it was added meanwhile.
    pub fn done(&self, key: &K) {
        let mut s = self.lock();
        s.failures.remove(key);
        self.finish(s, key);
    }

    /// Ends the processing of `key` with failure: it comes back after the backoff delay for
    /// its consecutive failures (or at once if it was added meanwhile). Returns the delay.
    pub fn retry(&self, key: &K) -> Duration {
        let mut s = self.lock();
        let failures = s.failures.entry(key.clone()).or_insert(0);
        *failures = failures.saturating_add(1);
        let delay = self.backoff.delay(*failures);
        if !s.shut_down && !s.dirty.contains(key) {
            s.delayed.insert(key.clone(), Instant::now() + delay);
        }
        self.finish(s, key);
        delay
    }

    fn finish(&self, mut s: MutexGuard<'_, State<K>>, key: &K) {
        s.processing.remove(key);
        if s.dirty.remove(key) && !s.shut_down && s.queued.insert(key.clone()) {
            s.ready.push_back(key.clone());
        }
        drop(s);
        // Also wakes workers so they recompute the earliest retry deadline.
        self.wake.notify_waiters();
    }

    /// Consecutive failures of `key` so far.
    pub fn failures(&self, key: &K) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Keys queued or waiting for a retry (not counting those being processed).
    pub fn len(&self) -> usize {
        let s = self.lock();
        s.ready.len() + s.delayed.len()
    }

    /// Whether nothing is queued or waiting for a retry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops handing out keys: every pending and future [`WorkQueue::next`] returns `None`.
    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(3600);

    fn queue() -> WorkQueue<&'static str> {
        WorkQueue::new(Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
        })
    }

    async fn next(q: &WorkQueue<&'static str>) -> &'static str {
        tokio::time::timeout(LIMIT, q.next())
            .await
            .expect("a key within the limit")
            .expect("not shut down")
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
        };
        let delays: Vec<u64> = (1..=6).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 8, 8]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn duplicates_while_waiting_run_once_in_order() {
        let q = queue();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        assert_eq!(next(&q).await, "a");
        assert_eq!(next(&q).await, "b");
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn same_key_never_handed_out_twice_and_requeue_runs_after() {
        let q = queue();
        q.add("a");
        assert_eq!(next(&q).await, "a");
        // Added while processing: not handed to a second worker...
        q.add("a");
        q.add("b");
        assert_eq!(next(&q).await, "b");
        let second = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        assert!(
            !second.is_finished(),
            "a must wait while the first worker holds it"
        );
        // ...but handed out again once the first processing ends.
        q.done(&"a");
        let got = tokio::time::timeout(LIMIT, second)
            .await
            .expect("woken")
            .expect("joined");
        assert_eq!(got, Some("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_workers_never_overlap_on_a_key() {
        let q: WorkQueue<u32> = WorkQueue::new(Backoff::default());
        let active = Arc::new(Mutex::new(HashSet::new()));
        let runs = Arc::new(Mutex::new(0u32));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (q, active, runs) = (q.clone(), active.clone(), runs.clone());
            workers.push(tokio::spawn(async move {
                while let Some(key) = q.next().await {
                    assert!(
                        active.lock().unwrap().insert(key),
                        "key {key} processed concurrently"
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    active.lock().unwrap().remove(&key);
                    *runs.lock().unwrap() += 1;
                    q.done(&key);
                }
            }));
        }
        for round in 0..5 {
            for key in 0..3 {
                q.add(key);
            }
            tokio::time::sleep(Duration::from_millis(3 + round)).await;
        }
        tokio::time::timeout(LIMIT, async {
            while !(q.is_empty() && active.lock().unwrap().is_empty()) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("drained");
        q.shut_down();
        for w in workers {
            w.await.expect("no worker panicked");
        }
        let runs = *runs.lock().unwrap();
        assert!((3..=15).contains(&runs), "{runs} runs");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_and_success_resets() {
        let q = queue();
        q.add("a");
        let start = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..4 {
            assert_eq!(next(&q).await, "a");
            seen.push((Instant::now() - start).as_secs());
            q.retry(&"a");
        }
        // Handed out at 0, then after 1, 2 and 4 more seconds.
        assert_eq!(seen, [0, 1, 3, 7]);
        assert_eq!(q.failures(&"a"), 4);
        assert_eq!(next(&q).await, "a");
        assert_eq!((Instant::now() - start).as_secs(), 15);
        q.done(&"a");
        assert_eq!(q.failures(&"a"), 0);
        q.add("a");
        assert_eq!(next(&q).await, "a");
        q.retry(&"a");
        let before = Instant::now();
        assert_eq!(next(&q).await, "a");
        assert_eq!(
            (Instant::now() - before).as_secs(),
            1,
            "backoff restarts at base after success"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn add_moves_a_waiting_retry_up() {
        let q = queue();
        q.add("a");
        next(&q).await;
        q.retry(&"a");
        assert_eq!(q.lock().delayed.len(), 1);
        let before = Instant::now();
        q.add("a");
        assert_eq!(next(&q).await, "a");
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn shut_down_releases_waiting_workers() {
        let q = queue();
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(
            tokio::time::timeout(LIMIT, waiter)
                .await
                .expect("released")
                .expect("joined"),
            None
        );
        q.add("a");
        assert!(q.is_empty());
    }
}
