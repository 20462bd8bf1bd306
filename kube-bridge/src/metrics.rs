//! The controller's Prometheus metrics (OpenMetrics text via `prometheus-client`) and a minimal
//! HTTP responder serving them on `/metrics`.
//!
//! Metrics:
//! - `kube_ovn_reconciles_total`, `kube_ovn_reconcile_errors_total` (a pass that failed),
//!   `kube_ovn_input_errors_total` (objects reported as bad input);
//! - `kube_ovn_reconcile_duration_seconds` (histogram of pass latency);
//! - `kube_ovn_subnet_available_ips` / `kube_ovn_subnet_used_ips` per `subnet` and `family`;
//! - `kube_ovn_ovsdb_connected` per `database` (1 connected, 0 not; in cluster mode the
//!   leader's own NB connection, and 0 on a follower, which holds none).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use ipam::SubnetUsage;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The longest request head the responder reads; scrapers send a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How long a connection may take to send its request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubnetLabels {
    subnet: String,
    family: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatabaseLabels {
    database: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The controller's metrics; cheap to share behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    reconcile_errors: Counter,
    input_errors: Counter,
    latency: Histogram,
    available: Family<SubnetLabels, FloatGauge>,
    used: Family<SubnetLabels, FloatGauge>,
    ovsdb_connected: Family<DatabaseLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All metrics registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kube_ovn");
        let reconciles = Counter::default();
        let reconcile_errors = Counter::default();
        let input_errors = Counter::default();
        // 1 ms to ~65 s: an unchanged pass is milliseconds, a 10k-pod cold start tens of seconds.
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 17));
        let available = Family::<SubnetLabels, FloatGauge>::default();
        let used = Family::<SubnetLabels, FloatGauge>::default();
        let ovsdb_connected = Family::<DatabaseLabels, Gauge>::default();
        registry.register("reconciles", "Reconcile passes run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconcile passes that failed",
            reconcile_errors.clone(),
        );
        registry.register(
            "input_errors",
            "Objects reported as bad input",
            input_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile pass latency",
            latency.clone(),
        );
        registry.register(
            "subnet_available_ips",
            "Addresses free per subnet and family",
            available.clone(),
        );
        registry.register(
            "subnet_used_ips",
            "Addresses in use per subnet and family",
            used.clone(),
        );
        registry.register(
            "ovsdb_connected",
            "Whether the OVSDB connection is up (1) or not (0)",
            ovsdb_connected.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            input_errors,
            latency,
            available,
            used,
            ovsdb_connected,
        }
    }

    /// Records one reconcile pass: its latency, whether it failed, and how many objects it
    /// reported as bad input.
    pub fn observe_reconcile(&self, elapsed: Duration, failed: bool, input_errors: usize) {
        self.reconciles.inc();
        if failed {
            self.reconcile_errors.inc();
        }
        self.input_errors
            .inc_by(u64::try_from(input_errors).unwrap_or(u64::MAX));
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// Sets a subnet's usage (from `ipam::Ipam::usage`); a family the subnet lacks is removed.
    pub fn set_subnet_usage(&self, subnet: &str, usage: &SubnetUsage) {
        for (family, u) in [("ipv4", usage.v4), ("ipv6", usage.v6)] {
            let labels = SubnetLabels {
                subnet: subnet.to_owned(),
                family: family.to_owned(),
            };
            match u {
                // Exposition values are floats; counts beyond 2^53 round.
                Some(u) => {
                    self.available
                        .get_or_create(&labels)
                        .set(u.available as f64);
                    self.used.get_or_create(&labels).set(u.used as f64);
                }
                None => {
                    self.available.remove(&labels);
                    self.used.remove(&labels);
                }
            }
        }
    }

    /// Drops a deleted subnet's series.
    pub fn forget_subnet(&self, subnet: &str) {
        for family in ["ipv4", "ipv6"] {
            let labels = SubnetLabels {
                subnet: subnet.to_owned(),
                family: family.to_owned(),
            };
            self.available.remove(&labels);
            self.used.remove(&labels);
        }
    }

    /// Sets whether the connection to `database` (e.g. `OVN_Northbound`) is up.
    pub fn set_ovsdb_connected(&self, database: &str, connected: bool) {
        self.ovsdb_connected
            .get_or_create(&DatabaseLabels {
                database: database.to_owned(),
            })
            .set(i64::from(connected));
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an error would be a prometheus-client bug, and an
        // empty scrape is then the honest answer.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A set of metrics that can be scraped: its OpenMetrics text. Implemented by this crate's
/// [`Metrics`] and by other controllers' registries (Captain's), which share [`serve`].
pub trait Exposition: Send + Sync + 'static {
    /// The OpenMetrics text exposition.
    fn encode(&self) -> String;
}

impl Exposition for Metrics {
    fn encode(&self) -> String {
        Metrics::encode(self)
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped or accepting fails. Other
/// paths get 404, other methods 405; each connection answers one request and closes.
pub async fn serve<M: Exposition>(listener: TcpListener, metrics: Arc<M>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = respond(stream, &*metrics).await {
                tracing::debug!(%peer, error = %e, "metrics connection failed");
            }
        });
    }
}

async fn respond<M: Exposition>(mut stream: TcpStream, metrics: &M) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let complete = tokio::time::timeout(REQUEST_TIMEOUT, async {
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
    })
    .await
    .unwrap_or(Ok(false))?;
    let request_line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut words = request_line.split(|b| *b == b' ');
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    let (status, content_type, body) = if !complete {
        ("400 Bad Request", "text/plain", "bad request\n".to_owned())
    } else if path != b"/metrics" {
        ("404 Not Found", "text/plain", "not found\n".to_owned())
    } else if method != b"GET" {
        (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_owned(),
        )
    } else {
        ("200 OK", CONTENT_TYPE, metrics.encode())
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipam::Usage;

    const LIMIT: Duration = Duration::from_secs(30);

    async fn scrape(addr: std::net::SocketAddr, request: &str) -> String {
        tokio::time::timeout(LIMIT, async {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(request.as_bytes()).await.expect("send");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("read");
            out
        })
        .await
        .expect("an answer within the limit")
    }

    #[tokio::test]
    async fn scraping_metrics_over_http_shows_every_family() {
        let metrics = Arc::new(Metrics::new());
        metrics.observe_reconcile(Duration::from_millis(3), false, 0);
        metrics.observe_reconcile(Duration::from_millis(20), true, 2);
        let v4 = Usage {
            total: 253,
            used: 3,
            available: 250,
        };
        let v6 = Usage {
            total: 1 << 64,
            used: 1,
            available: (1 << 64) - 1,
        };
        metrics.set_subnet_usage(
            "net1",
            &SubnetUsage {
                v4: Some(v4),
                v6: Some(v6),
                pools: Vec::new(),
            },
        );
        metrics.set_subnet_usage(
            "net1",
            &SubnetUsage {
                v4: Some(v4),
                v6: None,
                pools: Vec::new(),
            },
        );
        metrics.set_subnet_usage(
            "gone",
            &SubnetUsage {
                v4: Some(v4),
                v6: None,
                pools: Vec::new(),
            },
        );
        metrics.forget_subnet("gone");
        metrics.set_ovsdb_connected("OVN_Northbound", true);

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(serve(listener, metrics.clone()));
        let reply = scrape(
            addr,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
        )
        .await;
        let (head, body) = reply.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Type: {CONTENT_TYPE}")),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        for line in [
            "kube_ovn_reconciles_total 2",
            "kube_ovn_reconcile_errors_total 1",
            "kube_ovn_input_errors_total 2",
            "kube_ovn_reconcile_duration_seconds_count 2",
            "kube_ovn_reconcile_duration_seconds_bucket{le=\"0.004\"} 1",
            "kube_ovn_reconcile_duration_seconds_bucket{le=\"0.032\"} 2",
            "kube_ovn_subnet_available_ips{subnet=\"net1\",family=\"ipv4\"} 250.0",
            "kube_ovn_subnet_used_ips{subnet=\"net1\",family=\"ipv4\"} 3.0",
            "kube_ovn_ovsdb_connected{database=\"OVN_Northbound\"} 1",
        ] {
            assert!(
                body.lines().any(|l| l == line),
                "missing {line:?} in\n{body}"
            );
        }
        assert!(
            !body.contains("family=\"ipv6\""),
            "a family the subnet lost stays gone\n{body}"
        );
        assert!(
            !body.contains("subnet=\"gone\""),
            "a forgotten subnet stays gone\n{body}"
        );
        assert!(body.ends_with("# EOF\n"), "{body}");

        metrics.set_ovsdb_connected("OVN_Northbound", false);
        let again = scrape(addr, "GET /metrics?x=1 HTTP/1.1\r\n\r\n").await;
        assert!(
            again
                .lines()
                .any(|l| l == "kube_ovn_ovsdb_connected{database=\"OVN_Northbound\"} 0"),
            "{again}"
        );

        let missing = scrape(addr, "GET / HTTP/1.1\r\n\r\n").await;
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );
        let post = scrape(addr, "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(
            post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{post}"
        );
        let oversized = scrape(addr, &"X".repeat(MAX_REQUEST_HEAD)).await;
        assert!(
            oversized.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{oversized}"
        );
        server.abort();
    }
}
