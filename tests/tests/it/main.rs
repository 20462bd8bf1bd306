//! The integration tests: one binary against real OVS/OVN processes started by `ovn-tests`.
//!
//! Add your tests as a module here (`mod my_feature;` plus `my_feature.rs` beside this file).
//! Name tests that start a RAFT cluster `raft_…` and tests that start a chassis `chassis_…`:
//! nextest runs those one at a time (`.config/nextest.toml`).

mod chassis_two;
mod cli_common;
mod cli_ovsdb;
mod client_common;
mod client_locks;
mod client_methods;
mod client_monitor;
mod client_raft;
mod client_ssl;
mod client_timeout;
mod controller_gateway;
mod controller_held;
mod controller_manifest;
mod controller_nb_down;
mod daemon_node;
mod daemon_pods;
mod harness;
mod model_reconcile;
mod replica_random;
mod typed_tables;
