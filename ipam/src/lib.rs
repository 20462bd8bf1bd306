//! IP and MAC address management for the Kubernetes controller: subnets (IPv4, IPv6, dual
//! stack) with gateways, excludes and named pools; allocation keyed by an owner such as
//! `pod.namespace/eth0` within a subnet (next free, static, random, from a pool), release,
//! MACs unique across the allocator, exact usage figures, and a bulk restore at start-up.
//! Semantics follow Kube-OVN's IPAM, which also names an owner per subnet: one key may hold
//! addresses in several subnets, and [`Ipam::release_everywhere`] frees them all.
//!
//! The allocate and release path takes no global lock: addresses are claimed by
//! compare-and-swap in atomic bitmap words (two bits per address: in use, ever used, so
//! never-used addresses go out before released ones), and each subnet keeps its owners in a
//! sharded map of its own, so threads working in different subnets share no lock.
//!
//! Tests: `cargo test -p ipam` runs unit tests, the model-based property tests, the
//! multi-thread stress test and the error cases. The word-level CAS protocol is also checked
//! exhaustively with loom: `RUSTFLAGS="--cfg loom" cargo test -p ipam --lib loom` (which
//! `scripts/test` runs, in its own target directory).
//! [`reference::MutexIpam`] is the one-global-mutex allocator the benchmarks compare against.
//!
//! This crate is a pure library. It must not know about Kubernetes objects, OVN, annotations,
//! I/O or async runtimes; callers translate their objects into [`SubnetSpec`]s, owner keys and
//! [`RestoreRecord`]s.

mod allocator;
pub mod bitmap;
mod error;
mod owners;
pub mod reference;
mod space;
mod subnet;
mod types;

pub use allocator::Ipam;
pub use bitmap::AddressBitmap;
pub use error::{IpamError, Result};
pub use types::{
    AddressRequest, Allocation, Family, IpRange, MacAddr, MacRequest, PoolSpec, PoolUsage, Request,
    RestoreConflict, RestoreRecord, RestoreReport, SubnetSpec, SubnetUsage, Usage,
};

/// Atomics of the bitmap words, swapped for loom's under `--cfg loom`.
mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
}
