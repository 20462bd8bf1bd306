//! Helpers shared by the `client_*` tests: a client config with short timers, rows, waiting.

use std::time::Duration;

use ovsdb_client::client::ClientConfig;
use ovsdb_client::{Atom, Datum, Operation, Row, WaitUntil};

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

/// What a [`Proxy`] does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forwards both ways.
    Forward,
    /// Swallows what the client sends (the server never sees it); still forwards replies.
    Hold,
    /// Closes every connection and refuses new ones.
    Refuse,
}

/// A TCP proxy in front of a server, to cut a client off and let it back in at will.
pub struct Proxy {
    /// `tcp:127.0.0.1:PORT` to give the client.
    pub remote: String,
    mode: tokio::sync::watch::Sender<ProxyMode>,
    /// Bytes swallowed in [`ProxyMode::Hold`].
    held: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`tcp:IP:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = upstream
            .strip_prefix("tcp:")
            .expect("a tcp: remote")
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let remote = format!("tcp:{}", listener.local_addr().unwrap());
        let (mode, _) = tokio::sync::watch::channel(ProxyMode::Forward);
        let modes = mode.clone();
        let held = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let held_count = held.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if *modes.borrow() == ProxyMode::Refuse {
                    continue;
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream.as_str()).await else {
                    continue;
                };
                let mut rx = modes.subscribe();
                let held = held_count.clone();
                tokio::spawn(async move {
                    let (mut cb, mut sb) = (vec![0u8; 65536], vec![0u8; 65536]);
                    loop {
                        tokio::select! {
                            n = client.read(&mut cb) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) if *rx.borrow() == ProxyMode::Forward => if server.write_all(&cb[..n]).await.is_err() { return },
                                Ok(n) => { held.fetch_add(n, std::sync::atomic::Ordering::SeqCst); }
                            },
                            n = server.read(&mut sb) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) => if client.write_all(&sb[..n]).await.is_err() { return },
                            },
                            r = rx.changed() => if r.is_err() || *rx.borrow() == ProxyMode::Refuse { return },
                        }
                    }
                });
            }
        });
        Proxy {
            remote,
            mode,
            held,
            task,
        }
    }

    /// Waits until the proxy has swallowed some bytes in [`ProxyMode::Hold`].
    pub async fn wait_held(&self) {
        within(30, "the client to send into the held connection", async {
            while self.held.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
    }

    /// Switches what the proxy does.
    pub fn set(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set(ProxyMode::Refuse);
        self.task.abort();
    }
}

/// A `wait` on the empty Logical_Switch table for a change that never comes: the server holds
/// the transaction for ten minutes, so a test can act while it is in flight.
pub fn blocked_wait() -> Operation {
    Operation::Wait {
        table: "Logical_Switch".into(),
        conditions: vec![],
        columns: vec!["name".into()],
        until: WaitUntil::NotEqual,
        rows: vec![],
        timeout: Some(600_000),
    }
}
