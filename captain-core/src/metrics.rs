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

use kube_bridge::metrics::Exposition;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// The `Content-Type` of an OpenMetrics scrape.
pub use kube_bridge::metrics::CONTENT_TYPE;

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

impl Exposition for Metrics {
    fn encode(&self) -> String {
        Metrics::encode(self)
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped: kube-bridge's scrape
/// endpoint, over Captain's registry.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<()> {
    kube_bridge::metrics::serve(listener, metrics).await
}

/// Test support: `GET /metrics` from `addr`, the body only.
#[cfg(test)]
pub(crate) async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
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
