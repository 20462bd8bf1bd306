//! Helpers shared by the `client_*` tests: a client config with short timers, rows, waiting.

use std::time::Duration;

use ovsdb_client::client::ClientConfig;
use ovsdb_client::{Atom, Datum, Row};

/// A config for tests: reconnects within a fraction of a second instead of OVS's 1-8 s.
pub fn config(remotes: &str) -> ClientConfig {
    let mut c = ClientConfig::new(remotes).expect("remote parses");
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(400);
    c.initial_connect_timeout = Duration::from_secs(60);
    c.connect_timeout = Duration::from_secs(10);
    c
}

/// A row from `(column, datum)` pairs.
pub fn row<const N: usize>(cols: [(&str, Datum); N]) -> Row {
    cols.into_iter().map(|(c, d)| (c.to_owned(), d)).collect()
}

/// A string datum.
pub fn s(v: &str) -> Datum {
    Datum::scalar(Atom::from(v))
}

/// Awaits `f` for at most `secs` seconds, failing the test with `what` otherwise.
pub async fn within<T>(secs: u64, what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {secs} s waiting for {what}"),
    }
}
