//! The Kubernetes side of the control plane: the `kubeovn.io` custom resources, the objects
//! the controller works from (from the API server or a manifest directory), the pod annotation
//! protocol, and the translation of objects plus IPAM results into the OVN model.
//!
//! It builds on `ovn-model` (the logical network and its reconciler) and `ipam`; it knows
//! nothing of OVSDB rows: the model does the OVN realisation.

pub mod annotations;
pub mod captain_crd;
pub mod cluster;
pub mod cluster_controller;
pub mod controller;
pub mod crd;
pub mod error;
pub mod leader;
pub mod metrics;
pub mod objects;
pub mod queue;
pub mod translate;
pub mod writeback;

#[cfg(test)]
mod mock_api;

pub use error::{Error, InputError, Result};
pub use objects::Objects;
