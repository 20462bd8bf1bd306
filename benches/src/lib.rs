//! Benchmark drivers: the workloads of the anchor scripts (`../shared/anchors/`), run with our
//! own OVSDB client so `scripts/bench` can compare them with the anchors on the same server.
//!
//! This crate owns the workloads (`lsp-add` in three modes, the cold `sync`), their one-line JSON
//! reports, and synthetic monitor replies for the criterion benches. It must not know how the
//! client works inside: it uses only `ovsdb-client`'s public API, as an operator would.

pub mod error;
pub mod lsp_add;
pub mod nbctl;
pub mod report;
pub mod sync;
pub mod synthetic;

pub use error::{BenchError, Result};

/// The database every workload runs against.
pub const NORTHBOUND: &str = "OVN_Northbound";

/// The client configuration every workload uses: OVS's defaults, except that the inactivity
/// probe is off. A loaded machine can starve ovsdb-server for longer than two probe intervals
/// while it composes a large reply; the anchors (raw sockets, python-ovs without probes) would
/// keep waiting, so ours must too, or it measures a disconnect instead of the workload.
pub fn client_config(remote: &str) -> Result<ovsdb_client::client::ClientConfig> {
    Ok(ovsdb_client::client::ClientConfig::new(remote)?.probe_interval(None))
}
