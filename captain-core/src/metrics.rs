//! Captain's Prometheus metrics, served on `/metrics` in the OpenMetrics text format:
//!
//! - `captain_reconciles_total{kind}` and `captain_reconcile_errors_total{kind}`: reconciles of
//!   HelmRequests and ChartRepos, and those that failed (to be retried with backoff);
//! - `captain_reconcile_duration_seconds{kind}`: reconcile latency (histogram);
//! - `captain_helmrequests{phase}`: HelmRequests per phase (`Pending`, `Synced`, `Failed`,
//!   `Unknown` before the first sync), counted over the controller's watch cache.
//!
//! Kube-OVN's controller has its own set (`kube_ovn_*`, in `kube-bridge`); the two never share
//! a registry, so a scrape tells the controllers apart.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The phases `captain_helmrequests` always reports (0 when none).
pub const PHASES: [&str; 4] = ["Pending", "Synced", "Failed", "Unknown"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 18))
}

/// The registry and its metrics; share it behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindLabels, Counter>,
    errors: Family<KindLabels, Counter>,
    latency: Family<KindLabels, Histogram, fn() -> Histogram>,
    phases: Family<PhaseLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every `captain_*` metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("captain");
        let reconciles = Family::<KindLabels, Counter>::default();
        let errors = Family::<KindLabels, Counter>::default();
        let latency: Family<KindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let phases = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "reconciles",
            "Reconciles run, by resource kind",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed and are retried with backoff, by resource kind",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile latency, by resource kind",
            latency.clone(),
        );
        registry.register("helmrequests", "HelmRequests per phase", phases.clone());
        for phase in PHASES {
            let _ = phases.get_or_create(&PhaseLabels {
                phase: phase.into(),
            });
        }
        Metrics {
            registry,
            reconciles,
            errors,
            latency,
            phases,
        }
    }

    /// Records one reconcile of `kind` (`HelmRequest`, `ChartRepo`).
    pub fn observe_reconcile(&self, kind: &str, elapsed: Duration, failed: bool) {
        let labels = KindLabels { kind: kind.into() };
        self.reconciles.get_or_create(&labels).inc();
        if failed {
            self.errors.get_or_create(&labels).inc();
        }
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Sets how many HelmRequests are in each phase; phases absent from `counts` become 0.
    pub fn set_phases<'a>(&self, counts: impl IntoIterator<Item = (&'a str, i64)>) {
        for phase in PHASES {
            self.phases
                .get_or_create(&PhaseLabels {
                    phase: phase.into(),
                })
                .set(0);
        }
        for (phase, n) in counts {
            self.phases
                .get_or_create(&PhaseLabels {
                    phase: phase.into(),
                })
                .inc_by(n);
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The longest request head a scrape may send.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` on `listener` until the task is dropped; other paths get 404.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = respond(stream, &metrics).await {
                tracing::debug!(%peer, error = %e, "metrics connection failed");
            }
        });
    }
}

async fn respond(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let read_head = async {
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if head.len() >= MAX_REQUEST_HEAD {
                return Ok(false);
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(false);
            }
            head.extend_from_slice(&chunk[..n]);
        }
        Ok::<bool, std::io::Error>(true)
    };
    let complete = tokio::time::timeout(REQUEST_TIMEOUT, read_head)
        .await
        .unwrap_or(Ok(false))?;
    if !complete {
        return Ok(());
    }
    let line = String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default())
        .into_owned();
    let mut words = line.split(' ');
    let method = words.next().unwrap_or_default();
    let path = words
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", CONTENT_TYPE, metrics.encode()),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Test support: `GET /metrics` from `addr`, the body only.
#[cfg(test)]
pub(crate) async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
