//! `ovn-tests`: fixtures that start real Open vSwitch and OVN processes for integration tests.
//!
//! This crate owns process lifecycle: scratch directories, daemons, ports, namespaces,
//! certificates, and bounded waiting. It must not know about our own crates (`ovsdb-client`,
//! `ovn-model`, …): fixtures hand out remotes (`unix:…`, `tcp:…`, `ssl:…`) and file paths, and
//! drive the C tools (`ovn-nbctl`, `ovsdb-client`, `ovs-vsctl`, `ovn-trace`) as reference peers.
//! The integration tests themselves live in `tests/tests/it/` (one test binary, `it`).
//!
//! # Fixtures
//!
//! | fixture | what runs | typical use |
//! |---|---|---|
//! | [`OvsdbServer`] | one ovsdb-server for a schema, on a unix socket, optionally `ptcp:`/`pssl:` | every client test; [`OvsdbServer::kill`] + [`OvsdbServer::start`] for reconnects |
//! | [`Pki`] | nothing: certificates by `ovs-pki`, trusted and untrusted | `ssl:` tests with [`OvsdbServerBuilder::ssl`] |
//! | [`RaftCluster`] | 3 clustered ovsdb-servers on loopback | leader-only mode, leader kill, `monitor_cond_since` resume |
//! | [`Northd`], [`OvnCentral`] | ovn-northd (+ NB and SB) | logical flows, [`Northd::ovn_trace`] |
//! | [`Chassis`], [`Pod`] | ovs-vswitchd (netdev) + ovn-controller in a [`NetNamespace`]; [`Chassis::add_pod`] plugs a namespace into `br-int` | data-plane tests (the `ovn-tests-probe` binary does TCP inside pods) |
//! | [`CniPod`], [`run_cni_plugin`] | a CNI plugin executed as a container runtime does (`CNI_*` environment, netconf on stdin) | plugging pods through the real plugin binary |
//! | [`Underlay`] | a Linux bridge in a namespace of its own; [`ChassisBuilder::underlay`] cables a chassis to it (`br-phy` + `ul0`, encap address on `br-phy`) | several chassis with Geneve between them (userspace tunnelling) |
//!
//! Helper binaries of this crate, run by tests as `env!("CARGO_BIN_EXE_NAME")` (inside a
//! namespace with [`Chassis::spawn`] or `ip netns exec`): `ovn-tests-probe` (TCP echo in pods),
//! `ovn-tests-kube-api` (a read-only Kubernetes API stand-in serving JSON files, for daemons in
//! cluster mode) and `ovn-tests-abort` (the harness's own cleanup test). Test stand-ins live here,
//! never in a shipped binary.
//!
//! # Guarantees
//!
//! - Every fixture runs in a unique [`ScratchDir`] (sockets, databases, logs) and on ports from
//!   [`free_tcp_port`], so tests run in parallel. OVS/OVN default directories are redirected into
//!   the scratch directory: nothing touches `/var/run/openvswitch` or a system daemon.
//! - Daemons are killed when the fixture is dropped, also while a failing test unwinds, and by
//!   the kernel when the test process dies (see `process.rs`). On failure the last lines of each
//!   daemon's log are printed. Set `OVN_TESTS_KEEP=1` to keep the scratch directories.
//! - Nothing sleeps for a fixed time: fixtures poll a condition with a bounded timeout
//!   ([`wait_until`], [`wait_for`], [`wait_until_async`]) and fail with a message saying what
//!   they waited for, plus the daemon's log.
//! - Fixtures install nothing. A missing executable fails with [`Error::MissingTool`] naming
//!   the Debian package; `scripts/test` installs them all.
//! - Fixture methods block (they run processes). From a tokio test, calling them directly is
//!   fine for short calls; the daemons do not depend on the calling thread staying alive.
//!
//! # Conventions for test authors
//!
//! - Add a module to `tests/tests/it/` (`mod my_feature;` in `main.rs`), not a new test binary:
//!   one binary keeps link time low on two cores.
//! - **Name heavy tests by what they start.** A test whose name contains `raft_` (it starts a
//!   [`RaftCluster`]) or `chassis_` (it starts a [`Chassis`]) is put by `.config/nextest.toml`
//!   into the `heavy` test group, which runs one test at a time, so clusters and data planes do
//!   not all start at once on a 2-core CI machine. Everything else runs in parallel.
//! - Wait with [`wait_until`] and a budget ([`DEFAULT_TIMEOUT`], [`ELECTION_TIMEOUT`]); never
//!   assert on wall-clock time.
//! - Tests may return [`Result`]: every fixture error explains itself.
//!
//! ```no_run
//! use ovn_tests::{OvsdbServer, Schema};
//!
//! #[test]
//! fn lists_the_database() -> ovn_tests::Result<()> {
//!     let nb = OvsdbServer::builder(Schema::Northbound).tcp().start()?;
//!     let dbs = nb.ovsdb_client("list-dbs", Vec::<String>::new())?;
//!     assert!(dbs.contains("OVN_Northbound"));
//!     let _remote = nb.tcp_remote().unwrap(); // hand this to the client under test
//!     Ok(())
//! }
//! ```

mod chassis;
mod cni;
mod error;
mod net;
mod northd;
mod ovsdb_server;
mod pki;
mod process;
mod raft;
mod tools;
mod underlay;
mod wait;

pub use chassis::{Chassis, ChassisBuilder, NetNamespace, PHYSICAL_BRIDGE, Pod, PodSandbox};
pub use cni::{CniOutcome, CniPod, run_cni_plugin};
pub use error::{Error, Result};
pub use net::{free_tcp_port, unique_name};
pub use northd::{Northd, OvnCentral};
pub use ovsdb_server::{OvsdbServer, OvsdbServerBuilder, Schema};
pub use pki::{CertificateKind, CertificatePair, Pki};
pub use process::{KEEP_ENV, ScratchDir};
pub use raft::{DEFAULT_ELECTION_TIMER, MemberStatus, RaftCluster, RaftClusterBuilder, Role};
pub use tools::{find_tool, require_tools, run};
pub use underlay::Underlay;
pub use wait::{DEFAULT_TIMEOUT, ELECTION_TIMEOUT, wait_for, wait_until, wait_until_async};
