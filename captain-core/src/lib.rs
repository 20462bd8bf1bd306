//! Captain's controller logic: chart repositories (`ChartRepo`), release storage compatible
//! with Helm v3 (`helm.sh/release.v1` Secrets), and the reconciliation of `HelmRequest`s
//! (install, upgrade, prune, hooks, remediation, drift, uninstall). [`Deployer`] applies a
//! release's objects and performs Helm's rollback for both the controller and the CLI;
//! [`metrics`] is Captain's own `/metrics` (`captain_*`).
//!
//! It builds on `helm-engine` (rendering and the release record) and `kube-bridge` (CRD types
//! and the controller runtime pieces). It must not know about argument parsing beyond the
//! option structs it exposes: the `captain` binary only parses arguments and wires.

pub mod controller;
pub mod deploy;
pub mod error;
pub mod metrics;
pub mod objects;
pub mod reconcile;
pub mod repo;
pub mod storage;

#[cfg(test)]
pub(crate) mod test_api;
#[cfg(test)]
pub(crate) mod test_http;

pub use controller::{ControllerOptions, run};
pub use deploy::Deployer;
pub use error::{Error, Result};
