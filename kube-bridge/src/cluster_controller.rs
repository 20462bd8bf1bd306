//! Cluster mode: API watches feed one work queue; each pass converges NB through the same
//! translation as manifest mode, then writes annotations, statuses, IP resources and Events back.
//!
//! The pieces, in the order a change flows through them:
//! 1. [`crate::cluster::watch`] fills reflector stores; every event queues [`Work::Converge`]
//!    (the queue coalesces a burst into one pass).
//! 2. Only the leader works ([`crate::leader::LeaseLock`]). Each leadership term starts from a
//!    fresh [`Controller`]: it creates the default Vpc and subnets when absent
//!    ([`default_objects`]), then rebuilds IPAM from the `IP` resources and the pod and node
//!    annotations ([`restore_from_cluster`]) before anything is allocated.
//! 3. A converge pass snapshots the stores, converges NB and plans the writes the API server
//!    lacks ([`plan_writeback`]): each becomes its own work key, so a failing write is retried
//!    with backoff on its own and never blocks the others or the next pass.
//!
//! Writes are level-triggered: a key carries no payload, its worker writes whatever the latest
//! pass wants for it, and a write whose object is gone (404) is done.
//!
//! A pod's or a node's port is created only once its annotations record its address
//! (the port gate). A pass that NB does not answer fails (retried with backoff; the
//! `ovsdb_connected` metric reads 0); a pass also runs when the NB connection comes back and
//! every [`ClusterConfig::resync`], since NB rows changed by hand raise no watch event.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::annotations;
use crate::cluster::{self, ClusterEvent, ClusterStores};
use crate::controller::{Controller, NbOptions, PassReport};
use crate::crd::{IPSpec, Subnet, SubnetSpec, SubnetStatus, Vpc, VpcSpec, VpcStatus};
use crate::error::{Error, InputError, Result};
use crate::leader::LeaseLock;
use crate::metrics::Metrics;
use crate::objects::{NsName, Objects, object_ref};
use crate::queue::{Backoff, WorkQueue};
use crate::translate::{
    DEFAULT_CIDR, DEFAULT_SUBNET, DEFAULT_VPC, JOIN_CIDR, JOIN_SUBNET, PodAddress, ResolvedSubnet,
    node_owner_key, owner_key, pod_subnet, resolve_subnets, static_request, wants_port,
};
use crate::writeback::{
    Writer, ip_name, ip_record, node_ip_name, node_ip_record, object_reference, subnet_status,
    vpc_status,
};

/// Workers per leadership term: one runs a converge pass while the others write back.
const WORKERS: usize = 4;

/// The database the NB connection metric is labelled with.
const NB_DATABASE: &str = "OVN_Northbound";

/// The longest pause between attempts to start a leadership term (NB unreachable).
const MAX_TERM_BACKOFF: Duration = Duration::from_secs(30);

/// The default [`ClusterConfig::resync`].
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(300);

/// How long shutdown waits for the lease to be released.
const STEP_DOWN_LIMIT: Duration = Duration::from_secs(10);

/// Lease-based leader election settings.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// How long a renewal holds the lease.
    pub duration: Duration,
    /// The pause between attempts (and renewals).
    pub retry_period: Duration,
}

impl LeaderElection {
    /// The Lease `namespace/kube-ovn-controller`, 15 s per renewal, an attempt every 2 s
    /// (client-go's defaults).
    pub fn new(namespace: &str) -> Self {
        LeaderElection {
            namespace: namespace.to_owned(),
            name: crate::writeback::CONTROLLER_NAME.to_owned(),
            duration: Duration::from_secs(15),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// The default Vpc and subnets' networks (Kube-OVN's `--default-cidr`, `--node-switch-cidr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// The default subnet's CIDR(s), `v4` or `v4,v6`.
    pub default_cidr: String,
    /// Its gateway(s); the first address of each CIDR when `None`.
    pub default_gateway: Option<String>,
    /// The join subnet's CIDR(s).
    pub join_cidr: String,
    /// Its gateway(s); the first address of each CIDR when `None`.
    pub join_gateway: Option<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            default_cidr: DEFAULT_CIDR.to_owned(),
            default_gateway: None,
            join_cidr: JOIN_CIDR.to_owned(),
            join_gateway: None,
        }
    }
}

/// How the cluster controller runs.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// OVN NB remote(s).
    pub nb_remote: String,
    /// Request timeout and inactivity probe of the NB connection.
    pub nb: NbOptions,
    /// This replica's identity: the Lease holder and the Events' reporting instance.
    pub identity: String,
    /// Leader election; `None` makes this replica lead unconditionally (a single replica).
    pub leader_election: Option<LeaderElection>,
    /// Retry backoff of failed passes and writes.
    pub backoff: Backoff,
    /// The default objects created at start-up when absent.
    pub defaults: Defaults,
    /// A full pass at least this often, without any change in the cluster: it repairs NB
    /// rows changed or deleted by hand (no watch event reports those). Default 5 minutes;
    /// `None` converges only on changes.
    pub resync: Option<Duration>,
}

impl ClusterConfig {
    /// Leader election in `kube-system`, the default backoff and networks.
    pub fn new(nb_remote: &str, identity: &str) -> Self {
        ClusterConfig {
            nb_remote: nb_remote.to_owned(),
            nb: NbOptions::default(),
            identity: identity.to_owned(),
            leader_election: Some(LeaderElection::new("kube-system")),
            backoff: Backoff::default(),
            defaults: Defaults::default(),
            resync: Some(DEFAULT_RESYNC),
        }
    }
}

/// One unit of work. Keys carry no payload: the worker writes what the latest pass wants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    /// Snapshot the stores and converge NB and IPAM.
    Converge,
    /// Patch a pod's address annotations.
    PodAnnotations(NsName),
    /// Patch a node's join-address annotations.
    NodeAnnotations(String),
    /// Update a Subnet's status.
    SubnetStatus(String),
    /// Update a Vpc's status.
    VpcStatus(String),
    /// Create, update or delete an `IP` record.
    IpRecord(String),
    /// Emit a Warning Event about bad input (key: object, field and message).
    Event(String),
}

/// One allocation as the cluster sees it: the address and the annotations that carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocated {
    /// The address.
    pub address: PodAddress,
    /// The annotations Kube-OVN writes for it (`ip_address`, `mac_address`, `cidr`,
    /// `gateway`, `logical_switch`, `allocated`, and `routed` on pods).
    pub annotations: BTreeMap<String, String>,
}

/// What IPAM holds after a pass, for the objects that exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allocations {
    /// Pods with an address.
    pub pods: BTreeMap<NsName, Allocated>,
    /// Nodes with a join address.
    pub nodes: BTreeMap<String, Allocated>,
    /// Pods among [`Allocations::pods`] whose port waits for their annotations: they get the
    /// annotation patch but no `IP` record yet (a record is what a restart trusts to let a
    /// pod's port through, so it is written only once the annotations are).
    pub waiting: BTreeSet<NsName>,
    /// Nodes among [`Allocations::nodes`] whose port `node-<name>` waits for their
    /// annotations, as [`Allocations::waiting`] for pods.
    pub waiting_nodes: BTreeSet<String>,
}

/// The annotation naming a node's NB port (Kube-OVN's `ovn.kubernetes.io/port_name`); its
/// daemon reads it to set up `ovn0`.
pub const NODE_PORT_NAME: &str = "ovn.kubernetes.io/port_name";

/// The annotations Kube-OVN writes on a node for its join address: the allocation's
/// (`allocated`, `ip_address`, `mac_address`, `cidr`, `gateway`, `logical_switch`) and
/// `port_name`.
pub fn node_annotations(
    node: &str,
    address: &PodAddress,
    join: &ResolvedSubnet,
) -> BTreeMap<String, String> {
    let mut a = crate::translate::node_annotations(address, join);
    a.insert(NODE_PORT_NAME.to_owned(), node_port_name(node));
    a
}

/// A node's NB port, `node-<name>`.
fn node_port_name(node: &str) -> String {
    format!("node-{node}")
}

impl From<&PassReport> for Allocations {
    /// The pass's allocations: pods' annotations with `routed`, nodes' without.
    fn from(report: &PassReport) -> Self {
        let pods = report
            .pod_allocations
            .iter()
            .map(|(key, a)| {
                let mut annotations = a.annotations();
                annotations.insert(annotations::ROUTED.to_owned(), "true".to_owned());
                let address = a.address();
                (
                    key.clone(),
                    Allocated {
                        address,
                        annotations,
                    },
                )
            })
            .collect();
        let nodes = report
            .node_allocations
            .iter()
            .map(|(name, a)| {
                let mut annotations = a.annotations();
                annotations.insert(NODE_PORT_NAME.to_owned(), node_port_name(name));
                (
                    name.clone(),
                    Allocated {
                        address: a.address(),
                        annotations,
                    },
                )
            })
            .collect();
        Allocations {
            pods,
            nodes,
            waiting: BTreeSet::new(),
            waiting_nodes: BTreeSet::new(),
        }
    }
}

/// The writes a pass calls for: what the API server's objects lack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Writeback {
    /// Annotations to merge into pods.
    pub pods: BTreeMap<NsName, BTreeMap<String, String>>,
    /// Annotations to merge into nodes.
    pub nodes: BTreeMap<String, BTreeMap<String, String>>,
    /// Subnet statuses to write.
    pub subnet_statuses: BTreeMap<String, SubnetStatus>,
    /// Vpc statuses to write.
    pub vpc_statuses: BTreeMap<String, VpcStatus>,
    /// `IP` records to create or update.
    pub ip_records: BTreeMap<String, IPSpec>,
    /// `IP` records whose allocation is gone.
    pub stale_ip_records: BTreeSet<String>,
    /// Events about bad input, by [`event_key`], with the object they regard.
    pub events: BTreeMap<String, (InputError, ObjectReference)>,
}

impl Writeback {
    /// The work keys of every write.
    pub fn keys(&self) -> Vec<Work> {
        let mut keys: Vec<Work> = Vec::new();
        keys.extend(self.pods.keys().cloned().map(Work::PodAnnotations));
        keys.extend(self.nodes.keys().cloned().map(Work::NodeAnnotations));
        keys.extend(self.subnet_statuses.keys().cloned().map(Work::SubnetStatus));
        keys.extend(self.vpc_statuses.keys().cloned().map(Work::VpcStatus));
        keys.extend(self.ip_records.keys().cloned().map(Work::IpRecord));
        keys.extend(self.stale_ip_records.iter().cloned().map(Work::IpRecord));
        keys.extend(self.events.keys().cloned().map(Work::Event));
        keys
    }
}

/// The identity of one bad-input report, so each is emitted as an Event once.
pub fn event_key(e: &InputError) -> String {
    format!("{}\u{1f}{}\u{1f}{}", e.object, e.field, e.message)
}

/// Whether `current` already carries every entry of `wanted`.
fn carries(current: &Option<BTreeMap<String, String>>, wanted: &BTreeMap<String, String>) -> bool {
    let empty = BTreeMap::new();
    let current = current.as_ref().unwrap_or(&empty);
    wanted.iter().all(|(k, v)| current.get(k) == Some(v))
}

/// Plans the writes after a pass: annotations of pods and nodes whose allocation they do not
/// carry yet, `IP` records that are missing, differ or are stale, Subnet and Vpc statuses that
/// changed,
/// and an Event per bad-input report in `errors` (all of them; [`run`] emits each once).
pub fn plan_writeback(
    objects: &Objects,
    allocated: &Allocations,
    ipam: &ipam::Ipam,
    errors: &[InputError],
    now: Timestamp,
) -> Writeback {
    let mut plan = Writeback::default();
    let mut records: BTreeMap<String, IPSpec> = BTreeMap::new();
    for ((ns, name), allocation) in &allocated.pods {
        let Some(pod) = objects.pods.get(&(ns.clone(), name.clone())) else {
            continue;
        };
        let wanted = &allocation.annotations;
        if !carries(&pod.metadata.annotations, wanted) {
            plan.pods.insert((ns.clone(), name.clone()), wanted.clone());
        }
        if allocated.waiting.contains(&(ns.clone(), name.clone())) {
            continue;
        }
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        records.insert(
            ip_name(ns, name),
            ip_record(ns, name, &node, &allocation.address),
        );
    }
    for (name, allocation) in &allocated.nodes {
        let Some(node) = objects.nodes.get(name) else {
            continue;
        };
        let wanted = &allocation.annotations;
        if !carries(&node.metadata.annotations, wanted) {
            plan.nodes.insert(name.clone(), wanted.clone());
        }
        if allocated.waiting_nodes.contains(name) {
            continue;
        }
        records.insert(
            node_ip_name(name),
            node_ip_record(name, &allocation.address),
        );
    }
    for (name, spec) in records {
        if objects.ips.get(&name).map(|ip| &ip.spec) != Some(&spec) {
            plan.ip_records.insert(name, spec);
        }
    }
    for (name, ip) in &objects.ips {
        let allocated = match record_owner(name, &ip.spec) {
            Some(Owner::Pod(key)) => allocated.pods.contains_key(&key),
            Some(Owner::Node(node)) => allocated.nodes.contains_key(&node),
            // Not a record this controller names: someone else's business.
            None => true,
        };
        if !allocated {
            plan.stale_ip_records.insert(name.clone());
        }
    }
    for (name, subnet) in &objects.subnets {
        let oref = object_ref("Subnet", None, name);
        let error = errors.iter().find(|e| e.object == oref);
        let usage = ipam.usage(name).ok();
        let status = subnet_status(usage.as_ref(), error, subnet.status.as_ref(), now);
        if subnet.status.as_ref() != Some(&status) {
            plan.subnet_statuses.insert(name.clone(), status);
        }
    }
    for (name, vpc) in &objects.vpcs {
        let oref = object_ref("Vpc", None, name);
        let error = errors.iter().find(|e| e.object == oref);
        let status = vpc_status(name, error, vpc.status.as_ref(), now);
        if vpc.status.as_ref() != Some(&status) {
            plan.vpc_statuses.insert(name.clone(), status);
        }
    }
    for e in errors {
        if let Some(regarding) = object_reference(objects, &e.object) {
            plan.events.insert(event_key(e), (e.clone(), regarding));
        }
    }
    plan
}

/// Whose allocation an `IP` record is.
enum Owner {
    Pod(NsName),
    Node(String),
}

/// The owner of a record this controller names (`<pod>.<ns>` or `node-<node>`), if it is one.
fn record_owner(name: &str, spec: &IPSpec) -> Option<Owner> {
    if spec.pod_name.is_empty() {
        None
    } else if !spec.namespace.is_empty() && name == ip_name(&spec.namespace, &spec.pod_name) {
        Some(Owner::Pod((spec.namespace.clone(), spec.pod_name.clone())))
    } else if spec.namespace.is_empty() && name == node_ip_name(&spec.pod_name) {
        Some(Owner::Node(spec.pod_name.clone()))
    } else {
        None
    }
}

fn parse_ips(list: &str) -> Vec<IpAddr> {
    list.split(',')
        .filter_map(|i| i.trim().split('/').next()?.parse().ok())
        .collect()
}

fn record(
    owner: String,
    subnet: &str,
    ips: &str,
    mac: Option<&str>,
) -> Option<ipam::RestoreRecord> {
    let ips = parse_ips(ips);
    (!ips.is_empty() && !subnet.is_empty()).then(|| ipam::RestoreRecord {
        owner,
        subnet: subnet.to_owned(),
        ips,
        mac: mac.and_then(|m| m.parse().ok()),
    })
}

/// The allocation records the cluster holds, one per owner: the `IP` resources, overridden by
/// the annotations of pods and nodes marked `allocated` (what the pod's network was actually
/// set up with).
pub fn restore_records(objects: &Objects) -> Vec<ipam::RestoreRecord> {
    let mut by_owner: BTreeMap<String, ipam::RestoreRecord> = BTreeMap::new();
    for (name, ip) in &objects.ips {
        let s = &ip.spec;
        let owner = match record_owner(name, s) {
            Some(Owner::Pod((ns, pod))) => owner_key(&ns, &pod),
            Some(Owner::Node(node)) => node_owner_key(&node),
            None => continue,
        };
        let mac = Some(s.mac_address.as_str()).filter(|m| !m.is_empty());
        if let Some(r) = record(owner, &s.subnet, &s.ip_address, mac) {
            by_owner.insert(r.owner.clone(), r);
        }
    }
    let annotated = |map: &Option<BTreeMap<String, String>>, owner: String| {
        let map = map.as_ref()?;
        if map.get(annotations::ALLOCATED).map(String::as_str) != Some("true") {
            return None;
        }
        record(
            owner,
            map.get(annotations::LOGICAL_SWITCH)?,
            map.get(annotations::IP_ADDRESS)?,
            map.get(annotations::MAC_ADDRESS).map(String::as_str),
        )
    };
    for ((ns, name), pod) in &objects.pods {
        if let Some(r) = annotated(&pod.metadata.annotations, owner_key(ns, name)) {
            by_owner.insert(r.owner.clone(), r);
        }
    }
    for (name, node) in &objects.nodes {
        if let Some(r) = annotated(&node.metadata.annotations, node_owner_key(name)) {
            by_owner.insert(r.owner.clone(), r);
        }
    }
    by_owner.into_values().collect()
}

/// What [`restore_from_cluster`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterRestore {
    /// Records held after the restore (their owners still exist).
    pub restored: usize,
    /// Records of owners gone while no controller ran: restored, then released at once.
    pub released: usize,
    /// Records refused (an address held twice, outside its subnet, …), as messages.
    pub conflicts: Vec<String>,
    /// The refused records of pods and nodes that exist, as bad input regarding them (for an
    /// Event): such a pod or node gets a new address, unlike what it was set up with.
    pub refused: Vec<InputError>,
}

/// Rebuilds `ipam` (fresh, before any allocation) from the cluster's allocation records
/// ([`restore_records`]). The subnets are added first. Records of pods and nodes that no longer
/// exist are restored and released at once, so their addresses count as used and new pods get
/// never-used ones (Kube-OVN's issue #4304).
pub fn restore_from_cluster(ipam: &ipam::Ipam, objects: &Objects) -> ClusterRestore {
    add_missing_subnets(ipam, objects);
    let records = restore_records(objects);
    let existing: BTreeSet<String> = objects
        .pods
        .iter()
        .filter(|(_, pod)| wants_port(pod))
        .map(|((ns, n), _)| owner_key(ns, n))
        .chain(objects.nodes.keys().map(|n| node_owner_key(n)))
        .collect();
    let exists = |owner: &str| existing.contains(owner);
    let gone: Vec<String> = records
        .iter()
        .filter(|r| !exists(&r.owner))
        .map(|r| r.owner.clone())
        .collect();
    let report = ipam.restore(records);
    let mut out = ClusterRestore {
        conflicts: report
            .conflicts
            .iter()
            .map(|c| format!("{}: {}", c.owner, c.error))
            .collect(),
        ..ClusterRestore::default()
    };
    for c in &report.conflicts {
        if !exists(&c.owner) {
            continue;
        }
        let object = match c.owner.strip_prefix("node/") {
            Some(node) => object_ref("Node", None, node),
            // `<pod>.<namespace>`: a namespace has no dot.
            None => match c.owner.rsplit_once('.') {
                Some((pod, ns)) => object_ref("Pod", Some(ns), pod),
                None => continue,
            },
        };
        out.refused.push(InputError {
            file: None,
            object,
            field: format!("metadata.annotations[{}]", annotations::IP_ADDRESS),
            message: format!("its allocation record was not restored: {}", c.error),
        });
    }
    for owner in &gone {
        if !ipam.release_everywhere(owner).is_empty() {
            out.released += 1;
        }
    }
    out.restored = report.restored.saturating_sub(out.released);
    out
}

/// Resolves the objects' subnets and adds to `ipam` those it lacks. A subnet IPAM refuses is
/// left out here; the converge pass that follows reports it.
/// The address `owner` holds in `subnet`, or one allocated there now as `request` asks (one
/// it holds in another subnet is released first); counts what it allocates in `allocated`.
/// An error is the annotation field to blame and why.
fn gate_allocation(
    ipam: &ipam::Ipam,
    owner: &str,
    subnet: &str,
    request: impl FnOnce() -> Result<ipam::Request, (String, String)>,
    allocated: &mut usize,
) -> Result<ipam::Allocation, (String, String)> {
    match ipam.lookup(subnet, owner) {
        Some(a) => Ok(a),
        None => {
            // A pod holds one address at a time: whatever it holds elsewhere goes back.
            ipam.release_everywhere(owner);
            let req = request()?;
            let allocation = ipam.allocate_with(subnet, owner, &req).map_err(|e| {
                (
                    format!("metadata.annotations[{}]", annotations::IP_ADDRESS),
                    e.to_string(),
                )
            })?;
            *allocated += 1;
            Ok(allocation)
        }
    }
}

fn add_missing_subnets(ipam: &ipam::Ipam, objects: &Objects) -> Vec<ResolvedSubnet> {
    let (subnets, _) = resolve_subnets(objects);
    for s in &subnets {
        if ipam.subnet_spec(&s.name).is_some() {
            continue;
        }
        if let Ok(spec) = s.ipam_spec() {
            let _ = ipam.add_subnet(spec);
        }
    }
    subnets
}

/// Whether a pod's annotations record `wanted`'s address: `allocated`, `ip_address`,
/// `mac_address` and `logical_switch` as wanted (what a daemon reads to set the pod up; the
/// subnet's `cidr` and `gateway` may lag and are patched later).
fn records_address(
    current: &Option<BTreeMap<String, String>>,
    wanted: &BTreeMap<String, String>,
) -> bool {
    let Some(current) = current else {
        return false;
    };
    [
        annotations::ALLOCATED,
        annotations::IP_ADDRESS,
        annotations::MAC_ADDRESS,
        annotations::LOGICAL_SWITCH,
    ]
    .iter()
    .all(|k| current.get(*k) == wanted.get(*k))
}

/// A pod whose port waits for its annotations.
#[derive(Debug, Clone)]
struct HeldPod {
    /// The pod, taken out of the pass's objects.
    pod: Pod,
    /// Its subnet.
    subnet: String,
    /// What IPAM holds for it.
    allocation: ipam::Allocation,
    /// The address and the annotations to patch.
    allocated: Allocated,
}

/// A node whose port `node-<name>` waits for its annotations.
#[derive(Debug, Clone)]
struct HeldNode {
    /// The node, taken out of the pass's objects.
    node: Node,
    /// What IPAM holds for it in the join subnet.
    allocation: ipam::Allocation,
    /// The address and the annotations to patch.
    allocated: Allocated,
}

/// What [`PortGate::hold_back`] did in one pass.
#[derive(Debug, Default)]
struct HeldBack {
    /// Pods allocated whose annotations do not record their address yet.
    pods: BTreeMap<NsName, HeldPod>,
    /// Pods whose allocation failed (a static address outside its subnet or taken, an
    /// unparsable annotation), also taken out of the pass.
    refused: BTreeMap<NsName, Pod>,
    /// Nodes allocated whose annotations do not record their join address yet.
    nodes: BTreeMap<String, HeldNode>,
    /// Nodes taken out of the pass without an allocation to patch: no join subnet yet, or a
    /// refused static join address.
    nodes_out: BTreeMap<String, Node>,
    /// Why.
    errors: Vec<InputError>,
    /// Addresses newly allocated.
    allocated: usize,
}

/// Kube-OVN's order for a new pod: allocate, write the annotations, then create the port, so
/// a daemon that sees the port can always read the pod's network from its annotations.
///
/// A pod goes through to the controller's pass (which creates its Logical_Switch_Port) once
/// its annotations record the address IPAM holds for it. Until then the gate allocates for it
/// directly in IPAM (same owner key, same static-address rules as the pass) and keeps it out of
/// the pass; the pass's writeback patches the annotations. A failed patch only delays the port:
/// the address stays with the pod and the patch is retried with backoff.
///
/// Once through, a pod stays through for the term while its uid is unchanged: its port may
/// exist, and hiding it would remove the port. A pod re-created under the same name waits for
/// its own annotations.
///
/// Nodes follow the same order for their join address and NB port `node-<name>` (the
/// daemon's `ovn0`): allocate, patch the node's annotations, then create the port.
#[derive(Debug, Default)]
struct PortGate {
    /// Pods let through this term, with the uid they had.
    through: BTreeMap<NsName, Option<String>>,
    /// Nodes let through this term, with the uid they had.
    nodes_through: BTreeMap<String, Option<String>>,
}

impl PortGate {
    /// The gate at the start of a term: every pod IPAM holds an address for after the restore
    /// goes through. Its allocation was recorded (an `IP` record, written only after the
    /// annotations, or the annotations themselves), so its port may already exist.
    fn after_restore(ipam: &ipam::Ipam, objects: &Objects) -> PortGate {
        let through = objects
            .pods
            .iter()
            .filter(|((ns, name), pod)| {
                wants_port(pod) && !ipam.lookup_everywhere(&owner_key(ns, name)).is_empty()
            })
            .map(|(key, pod)| (key.clone(), pod.metadata.uid.clone()))
            .collect();
        let nodes_through = objects
            .nodes
            .iter()
            .filter(|(name, _)| !ipam.lookup_everywhere(&node_owner_key(name)).is_empty())
            .map(|(name, node)| (name.clone(), node.metadata.uid.clone()))
            .collect();
        PortGate {
            through,
            nodes_through,
        }
    }

    /// Before a pass: allocates for each pod that wants a port and is not through yet, lets
    /// through those whose annotations record their address, and takes the others out of
    /// `objects` (the pass then neither allocates for them nor creates their ports).
    fn hold_back(&mut self, ipam: &ipam::Ipam, objects: &mut Objects) -> HeldBack {
        self.through.retain(|key, uid| {
            objects
                .pods
                .get(key)
                .is_some_and(|p| wants_port(p) && p.metadata.uid == *uid)
        });
        // A subnet created since the last pass is added here, so its pods are allocated
        // before their first pass too.
        let subnets = add_missing_subnets(ipam, objects);
        let mut held = HeldBack::default();
        let mut through = Vec::new();
        for (key, pod) in &objects.pods {
            if !wants_port(pod) || self.through.contains_key(key) {
                continue;
            }
            // A pod naming no valid subnet goes through: the pass reports it, and has
            // nothing to create for it.
            let Some(subnet) = pod_subnet(objects, &subnets, pod) else {
                through.push(key.clone());
                continue;
            };
            if ipam.subnet_spec(&subnet.name).is_none() {
                through.push(key.clone());
                continue;
            }
            let (ns, name) = key;
            let owner = owner_key(ns, name);
            let allocation = gate_allocation(
                ipam,
                &owner,
                &subnet.name,
                || static_request(pod),
                &mut held.allocated,
            );
            let allocation = match allocation {
                Ok(a) => a,
                Err((field, message)) => {
                    held.errors.push(objects.input_error(
                        object_ref("Pod", Some(ns), name),
                        field,
                        message,
                    ));
                    held.refused.insert(key.clone(), pod.clone());
                    continue;
                }
            };
            let address = PodAddress {
                subnet: subnet.name.clone(),
                ips: allocation.ips().collect(),
                mac: allocation.mac.map(|m| m.to_string()).unwrap_or_default(),
            };
            let annotations = crate::translate::pod_annotations(&address, subnet);
            if records_address(&pod.metadata.annotations, &annotations) {
                through.push(key.clone());
                continue;
            }
            held.pods.insert(
                key.clone(),
                HeldPod {
                    pod: pod.clone(),
                    subnet: subnet.name.clone(),
                    allocation,
                    allocated: Allocated {
                        address,
                        annotations,
                    },
                },
            );
        }
        for key in through {
            let uid = objects.pods[&key].metadata.uid.clone();
            self.through.insert(key, uid);
        }
        for key in held.pods.keys().chain(held.refused.keys()) {
            objects.pods.remove(key);
        }
        self.hold_back_nodes(ipam, &subnets, objects, &mut held);
        held
    }

    /// [`PortGate::hold_back`] for nodes and their join addresses.
    fn hold_back_nodes(
        &mut self,
        ipam: &ipam::Ipam,
        subnets: &[ResolvedSubnet],
        objects: &mut Objects,
        held: &mut HeldBack,
    ) {
        self.nodes_through.retain(|name, uid| {
            objects
                .nodes
                .get(name)
                .is_some_and(|n| n.metadata.uid == *uid)
        });
        let join = subnets
            .iter()
            .find(|s| s.name == JOIN_SUBNET && ipam.subnet_spec(&s.name).is_some());
        let mut through = Vec::new();
        for (name, node) in &objects.nodes {
            if self.nodes_through.contains_key(name) {
                continue;
            }
            // No join subnet: there is nothing to allocate or create for the node yet, and
            // letting it through now would create its port before its annotations later.
            let Some(join) = join else {
                held.nodes_out.insert(name.clone(), node.clone());
                continue;
            };
            let owner = node_owner_key(name);
            let allocation = gate_allocation(
                ipam,
                &owner,
                &join.name,
                || crate::translate::static_request_from(&node.metadata.annotations),
                &mut held.allocated,
            );
            let allocation = match allocation {
                Ok(a) => a,
                Err((field, message)) => {
                    held.errors.push(objects.input_error(
                        object_ref("Node", None, name),
                        field,
                        message,
                    ));
                    held.nodes_out.insert(name.clone(), node.clone());
                    continue;
                }
            };
            let address = PodAddress {
                subnet: join.name.clone(),
                ips: allocation.ips().collect(),
                mac: allocation.mac.map(|m| m.to_string()).unwrap_or_default(),
            };
            let annotations = node_annotations(name, &address, join);
            if records_address(&node.metadata.annotations, &annotations) {
                through.push(name.clone());
                continue;
            }
            held.nodes.insert(
                name.clone(),
                HeldNode {
                    node: node.clone(),
                    allocation,
                    allocated: Allocated {
                        address,
                        annotations,
                    },
                },
            );
        }
        for name in through {
            let uid = objects.nodes[&name].metadata.uid.clone();
            self.nodes_through.insert(name, uid);
        }
        for name in held.nodes.keys().chain(held.nodes_out.keys()) {
            objects.nodes.remove(name);
        }
    }

    /// After the pass: a held pod whose address the pass released (it was the controller's
    /// before, under an earlier uid or before the term's restore) takes it back, so its
    /// annotations name what it holds; one that cannot is dropped from `held` (no patch this
    /// pass, the next pass allocates again). The held and refused pods go back into `objects`.
    fn after_pass(&mut self, ipam: &ipam::Ipam, held: &mut HeldBack, objects: &mut Objects) {
        held.pods.retain(|(ns, name), h| {
            let owner = owner_key(ns, name);
            if ipam.lookup(&h.subnet, &owner) == Some(h.allocation) {
                return true;
            }
            ipam.release_everywhere(&owner);
            let req = ipam::Request {
                addresses: ipam::AddressRequest::Static(h.allocation.ips().collect()),
                pool: None,
                mac: h
                    .allocation
                    .mac
                    .map_or(ipam::MacRequest::None, ipam::MacRequest::Static),
            };
            match ipam.allocate_with(&h.subnet, &owner, &req) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(%owner, error = %e, "cannot take the address back; allocating again");
                    false
                }
            }
        });
        for (key, h) in &held.pods {
            objects.pods.insert(key.clone(), h.pod.clone());
        }
        for (key, pod) in std::mem::take(&mut held.refused) {
            objects.pods.insert(key, pod);
        }
        held.nodes.retain(|name, h| {
            let owner = node_owner_key(name);
            if ipam.lookup(&h.allocated.address.subnet, &owner) == Some(h.allocation) {
                return true;
            }
            ipam.release_everywhere(&owner);
            let req = ipam::Request {
                addresses: ipam::AddressRequest::Static(h.allocation.ips().collect()),
                pool: None,
                mac: h
                    .allocation
                    .mac
                    .map_or(ipam::MacRequest::None, ipam::MacRequest::Static),
            };
            match ipam.allocate_with(&h.allocated.address.subnet, &owner, &req) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(%owner, error = %e, "cannot take the join address back; allocating again");
                    false
                }
            }
        });
        for (name, h) in &held.nodes {
            objects.nodes.insert(name.clone(), h.node.clone());
        }
        for (name, node) in std::mem::take(&mut held.nodes_out) {
            objects.nodes.insert(name, node);
        }
    }
}

fn first_address(net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) => IpAddr::V4(u32::from(n.network()).wrapping_add(1).into()),
        IpNet::V6(n) => IpAddr::V6(u128::from(n.network()).wrapping_add(1).into()),
    }
}

fn default_subnet(name: &str, cidr: &str, gateway: Option<&str>, default: bool) -> Subnet {
    let nets: Vec<IpNet> = cidr
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let gateway = gateway.map(str::to_owned).or_else(|| {
        (!nets.is_empty()).then(|| {
            nets.iter()
                .map(|n| first_address(n).to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
    });
    let protocol = match (
        nets.iter().any(|n| matches!(n, IpNet::V4(_))),
        nets.iter().any(|n| matches!(n, IpNet::V6(_))),
    ) {
        (true, true) => Some("Dual"),
        (false, true) => Some("IPv6"),
        (true, false) => Some("IPv4"),
        (false, false) => None,
    };
    Subnet::new(
        name,
        SubnetSpec {
            default,
            vpc: Some(DEFAULT_VPC.to_owned()),
            cidr_block: cidr.to_owned(),
            exclude_ips: gateway
                .iter()
                .flat_map(|g| g.split(','))
                .map(str::to_owned)
                .collect(),
            gateway,
            protocol: protocol.map(str::to_owned),
            gateway_type: Some("distributed".to_owned()),
            nat_outgoing: default,
            ..SubnetSpec::default()
        },
    )
}

/// The objects Kube-OVN creates at start-up when absent: the Vpc `ovn-cluster`, the default
/// subnet `ovn-default` (unless another subnet is the default) and the join subnet `join`.
pub fn default_objects(objects: &Objects, defaults: &Defaults) -> (Vec<Vpc>, Vec<Subnet>) {
    let mut vpcs = Vec::new();
    let mut subnets = Vec::new();
    if !objects.vpcs.contains_key(DEFAULT_VPC) {
        vpcs.push(Vpc::new(DEFAULT_VPC, VpcSpec::default()));
    }
    if !objects.subnets.contains_key(DEFAULT_SUBNET)
        && !objects.subnets.values().any(|s| s.spec.default)
    {
        subnets.push(default_subnet(
            DEFAULT_SUBNET,
            &defaults.default_cidr,
            defaults.default_gateway.as_deref(),
            true,
        ));
    }
    if !objects.subnets.contains_key(JOIN_SUBNET) {
        subnets.push(default_subnet(
            JOIN_SUBNET,
            &defaults.join_cidr,
            defaults.join_gateway.as_deref(),
            false,
        ));
    }
    (vpcs, subnets)
}

/// Objects this term created that the stores have not shown yet; passes see them meanwhile.
#[derive(Debug, Default)]
struct Overlay {
    vpcs: Vec<Vpc>,
    subnets: Vec<Subnet>,
}

impl Overlay {
    /// Adds what the snapshot lacks, and forgets what the stores now hold.
    fn apply(&mut self, objects: &mut Objects) {
        self.vpcs
            .retain(|v| !objects.vpcs.contains_key(&v.name_any()));
        self.subnets
            .retain(|s| !objects.subnets.contains_key(&s.name_any()));
        for v in &self.vpcs {
            objects.vpcs.insert(v.name_any(), v.clone());
        }
        for s in &self.subnets {
            objects.subnets.insert(s.name_any(), s.clone());
        }
    }
}

/// What stays across leadership terms.
struct Shared {
    stores: ClusterStores,
    queue: WorkQueue<Work>,
    writer: Writer,
    metrics: Arc<Metrics>,
    config: ClusterConfig,
}

/// What one pass at a time works on: the controller (fresh IPAM each term) and the gate that
/// holds a pod's port back until its annotations are written.
struct Pass {
    controller: Controller,
    gate: PortGate,
}

/// One leadership term: its controller and gate, and the writes its passes planned.
struct Term {
    pass: tokio::sync::Mutex<Pass>,
    pending: Mutex<Writeback>,
    /// Events already emitted (by [`event_key`]) while their error persists.
    emitted: Mutex<BTreeSet<String>>,
    overlay: Mutex<Overlay>,
    /// Subnets with usage series, to drop the series of removed ones.
    measured: Mutex<BTreeSet<String>>,
    /// Allocation records the term's restore refused: reported by every pass of the term (an
    /// Event each, once), since a pass may replace the writes an earlier one planned.
    refused: Vec<InputError>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a few map operations that cannot leave a half-done state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs the cluster controller until `shutdown` turns true (or its sender is dropped): watches,
/// leader election, converge passes and writebacks; see the module documentation. Retries
/// failures (NB unreachable, API errors) with backoff; returns an error
/// ([`Error::WatchEnded`]) only when the watches end before the first list completes.
pub async fn run(
    client: Client,
    config: ClusterConfig,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let (stores, events) = cluster::watch(client.clone());
    let queue: WorkQueue<Work> = WorkQueue::new(config.backoff);
    let _pump = AbortOnDrop(tokio::spawn(pump(events, queue.clone())));
    let _resync = config.resync.map(|period| {
        let queue = queue.clone();
        AbortOnDrop(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                queue.add(Work::Converge);
            }
        }))
    });
    // Only a leader holds an NB connection; until one is up the metric says so.
    metrics.set_ovsdb_connected(NB_DATABASE, false);
    let (leading_tx, mut leading) = watch::channel(config.leader_election.is_none());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut always_leading = Some(leading_tx);
    let campaign = config.leader_election.clone().and_then(|le| {
        let leading_tx = always_leading.take()?;
        let lock = LeaseLock::new(
            client.clone(),
            &le.namespace,
            &le.name,
            &config.identity,
            le.duration,
        );
        Some(tokio::spawn(async move {
            lock.campaign(le.retry_period, leading_tx, stop_rx).await
        }))
    });
    let shared = Shared {
        stores,
        queue,
        writer: Writer::new(client, &config.identity),
        metrics,
        config,
    };
    let result = async {
        tokio::select! {
            ready = shared.stores.wait_until_ready() => {
                ready.map_err(|_| Error::WatchEnded)?;
            }
            _ = stopped(&mut shutdown) => return Ok(()),
        }
        tracing::info!("every watched kind is listed");
        let mut pause = Duration::from_millis(500);
        loop {
            if !*leading.borrow_and_update() {
                tracing::info!(identity = %shared.config.identity, "following");
                tokio::select! {
                    changed = leading.changed() => if changed.is_err() { return Ok(()) },
                    _ = stopped(&mut shutdown) => return Ok(()),
                }
                continue;
            }
            tracing::info!(identity = %shared.config.identity, "leading");
            let term = tokio::select! {
                term = lead(&shared, leading.clone()) => term,
                _ = stopped(&mut shutdown) => return Ok(()),
            };
            match term {
                Ok(()) => pause = Duration::from_millis(500),
                Err(e) => {
                    tracing::error!(error = %e, retry_in = ?pause, "cannot lead");
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stopped(&mut shutdown) => return Ok(()),
                    }
                    pause = (pause * 2).min(MAX_TERM_BACKOFF);
                }
            }
        }
    }
    .await;
    tracing::info!("shutting down");
    shared.queue.shut_down();
    let _ = stop_tx.send(true);
    drop(always_leading);
    if let Some(campaign) = campaign {
        match tokio::time::timeout(STEP_DOWN_LIMIT, campaign).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "could not release the lease"),
            Ok(Err(e)) => tracing::warn!(error = %e, "leader election task failed"),
            Err(_) => tracing::warn!("releasing the lease timed out"),
        }
    }
    result
}

/// Resolves once `rx` turns true or its sender is gone.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Resolves once this replica no longer leads.
async fn lost(rx: &mut watch::Receiver<bool>) {
    while *rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every watch event asks for a pass; the queue coalesces bursts.
async fn pump(mut events: BoxStream<'static, ClusterEvent>, queue: WorkQueue<Work>) {
    while let Some(event) = events.next().await {
        match event {
            ClusterEvent::Applied { object, .. } | ClusterEvent::Deleted { object, .. } => {
                tracing::debug!(%object, "changed");
                queue.add(Work::Converge);
            }
            ClusterEvent::Synced(kind) => {
                tracing::debug!(?kind, "listed");
                queue.add(Work::Converge);
            }
            ClusterEvent::WatchError { kind, message } => {
                tracing::warn!(?kind, error = %message, "watch failed; retrying");
            }
        }
    }
}

/// Publishes the state of a term's NB connection (the controller's own) as the
/// `ovsdb_connected` metric while the term lasts; once it ends (dropped), the metric reads 0:
/// no NB connection is held. Each time the connection comes back it asks for a pass: NB may
/// have lost writes (a restore from backup) or missed some while it was away, and nothing in
/// the cluster would otherwise trigger one.
struct NbConnectionMetric {
    task: tokio::task::JoinHandle<()>,
    metrics: Arc<Metrics>,
}

impl NbConnectionMetric {
    fn start(
        mut state: watch::Receiver<ovsdb_client::client::ConnectionState>,
        metrics: Arc<Metrics>,
        queue: WorkQueue<Work>,
    ) -> Self {
        let publish = metrics.clone();
        let task = tokio::spawn(async move {
            let mut was_up = true;
            loop {
                let up = matches!(
                    *state.borrow_and_update(),
                    ovsdb_client::client::ConnectionState::Connected(_)
                );
                publish.set_ovsdb_connected(NB_DATABASE, up);
                if up && !was_up {
                    tracing::info!("OVN NB is back; converging");
                    queue.add(Work::Converge);
                }
                was_up = up;
                if state.changed().await.is_err() {
                    publish.set_ovsdb_connected(NB_DATABASE, false);
                    return;
                }
            }
        });
        NbConnectionMetric { task, metrics }
    }
}

impl Drop for NbConnectionMetric {
    fn drop(&mut self) {
        self.task.abort();
        self.metrics.set_ovsdb_connected(NB_DATABASE, false);
    }
}

/// One leadership term: a fresh controller, the default objects, IPAM restored from the
/// cluster, then workers until leadership is lost.
async fn lead(shared: &Shared, leading: watch::Receiver<bool>) -> Result<()> {
    let controller = Controller::connect_with(&shared.config.nb_remote, &shared.config.nb).await?;
    let _nb_connection = NbConnectionMetric::start(
        controller.connection_state(),
        shared.metrics.clone(),
        shared.queue.clone(),
    );
    let (mut objects, _) = shared.stores.snapshot();
    let mut overlay = Overlay::default();
    let (vpcs, subnets) = default_objects(&objects, &shared.config.defaults);
    for vpc in vpcs {
        match shared.writer.create_vpc_if_absent(&vpc).await {
            Ok(created) => {
                tracing::info!(vpc = %vpc.name_any(), "created the default Vpc");
                overlay.vpcs.push(created.unwrap_or(vpc));
            }
            Err(e) => tracing::warn!(vpc = %vpc.name_any(), error = %e, "cannot create"),
        }
    }
    for subnet in subnets {
        match shared.writer.create_subnet_if_absent(&subnet).await {
            Ok(created) => {
                tracing::info!(subnet = %subnet.name_any(), "created a default subnet");
                overlay.subnets.push(created.unwrap_or(subnet));
            }
            Err(e) => tracing::warn!(subnet = %subnet.name_any(), error = %e, "cannot create"),
        }
    }
    overlay.apply(&mut objects);
    let restored = restore_from_cluster(controller.ipam(), &objects);
    tracing::info!(
        restored = restored.restored,
        released = restored.released,
        conflicts = restored.conflicts.len(),
        "IPAM rebuilt from IP resources and annotations"
    );
    for c in &restored.conflicts {
        tracing::warn!(conflict = %c, "allocation record not restored");
    }
    let gate = PortGate::after_restore(controller.ipam(), &objects);
    let term = Term {
        pass: tokio::sync::Mutex::new(Pass { controller, gate }),
        pending: Mutex::new(Writeback::default()),
        emitted: Mutex::new(BTreeSet::new()),
        overlay: Mutex::new(overlay),
        measured: Mutex::new(BTreeSet::new()),
        refused: restored.refused,
    };
    shared.queue.add(Work::Converge);
    let workers = (0..WORKERS).map(|_| worker(shared, &term, leading.clone()));
    futures::future::join_all(workers).await;
    tracing::info!("leadership lost");
    Ok(())
}

async fn worker(shared: &Shared, term: &Term, mut leading: watch::Receiver<bool>) {
    loop {
        let work = tokio::select! {
            work = shared.queue.next() => work,
            _ = lost(&mut leading) => return,
        };
        let Some(work) = work else { return };
        match process(shared, term, &work).await {
            Ok(()) => shared.queue.done(&work),
            Err(e) => {
                let delay = shared.queue.retry(&work);
                tracing::warn!(?work, error = %e, retry_in = ?delay, "failed");
            }
        }
    }
}

/// A write's outcome: done, or the API error naming `action` (an object gone counts as done:
/// there is nothing left to write to).
fn written<T>(action: impl FnOnce() -> String, result: Result<T, kube::Error>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
        Err(e) => Err(Error::kube(action(), e)),
    }
}

async fn process(shared: &Shared, term: &Term, work: &Work) -> Result<()> {
    let w = &shared.writer;
    match work {
        Work::Converge => converge_pass(shared, term).await,
        Work::PodAnnotations(key) => {
            let Some(wanted) = lock(&term.pending).pods.get(key).cloned() else {
                return Ok(());
            };
            written(
                || format!("patch the annotations of pod {}/{}", key.0, key.1),
                w.patch_pod_annotations(&key.0, &key.1, &wanted).await,
            )?;
            tracing::debug!(namespace = %key.0, pod = %key.1, "annotated");
            forget(&mut lock(&term.pending).pods, key, &wanted);
            Ok(())
        }
        Work::NodeAnnotations(node) => {
            let Some(wanted) = lock(&term.pending).nodes.get(node).cloned() else {
                return Ok(());
            };
            written(
                || format!("patch the annotations of node {node}"),
                w.patch_node_annotations(node, &wanted).await,
            )?;
            tracing::debug!(%node, "annotated");
            forget(&mut lock(&term.pending).nodes, node, &wanted);
            Ok(())
        }
        Work::SubnetStatus(name) => {
            let Some(status) = lock(&term.pending).subnet_statuses.get(name).cloned() else {
                return Ok(());
            };
            written(
                || format!("update the status of Subnet {name}"),
                w.update_subnet_status(name, &status).await,
            )?;
            forget(&mut lock(&term.pending).subnet_statuses, name, &status);
            Ok(())
        }
        Work::VpcStatus(name) => {
            let Some(status) = lock(&term.pending).vpc_statuses.get(name).cloned() else {
                return Ok(());
            };
            written(
                || format!("update the status of Vpc {name}"),
                w.update_vpc_status(name, &status).await,
            )?;
            forget(&mut lock(&term.pending).vpc_statuses, name, &status);
            Ok(())
        }
        Work::IpRecord(name) => {
            let (spec, stale) = {
                let p = lock(&term.pending);
                (
                    p.ip_records.get(name).cloned(),
                    p.stale_ip_records.contains(name),
                )
            };
            if let Some(spec) = spec {
                w.record_ip(name, &spec)
                    .await
                    .map_err(|e| Error::kube(format!("record IP {name}"), e))?;
                forget(&mut lock(&term.pending).ip_records, name, &spec);
            } else if stale {
                w.delete_ip(name)
                    .await
                    .map_err(|e| Error::kube(format!("delete IP {name}"), e))?;
                lock(&term.pending).stale_ip_records.remove(name);
            }
            Ok(())
        }
        Work::Event(key) => {
            let Some((error, regarding)) = lock(&term.pending).events.get(key).cloned() else {
                return Ok(());
            };
            w.emit_input_error(&error, &regarding, Timestamp::now())
                .await
                .map_err(|e| Error::kube(format!("emit an Event about {}", error.object), e))?;
            lock(&term.emitted).insert(key.clone());
            lock(&term.pending).events.remove(key);
            Ok(())
        }
    }
}

/// Drops a done write unless a later pass changed what it wants meanwhile.
fn forget<K: Ord, V: PartialEq>(map: &mut BTreeMap<K, V>, key: &K, written: &V) {
    if map.get(key) == Some(written) {
        map.remove(key);
    }
}

async fn converge_pass(shared: &Shared, term: &Term) -> Result<()> {
    let (mut objects, mut errors) = shared.stores.snapshot();
    errors.extend(term.refused.iter().cloned());
    lock(&term.overlay).apply(&mut objects);
    let mut pass = term.pass.lock().await;
    let Pass { controller, gate } = &mut *pass;
    let started = Instant::now();
    let mut held = gate.hold_back(controller.ipam(), &mut objects);
    let report = controller.converge(&objects).await;
    gate.after_pass(controller.ipam(), &mut held, &mut objects);
    let elapsed = started.elapsed();
    errors.append(&mut held.errors);
    errors.extend(report.errors.iter().cloned());
    let failed = !report.reconcile.failed.is_empty() || report.nb_unavailable.is_some();
    shared
        .metrics
        .observe_reconcile(elapsed, failed, errors.len());
    let ipam = controller.ipam();
    {
        let mut measured = lock(&term.measured);
        let names: BTreeSet<String> = ipam.subnet_names().into_iter().collect();
        for gone in measured.difference(&names) {
            shared.metrics.forget_subnet(gone);
        }
        for name in &names {
            if let Ok(usage) = ipam.usage(name) {
                shared.metrics.set_subnet_usage(name, &usage);
            }
        }
        *measured = names;
    }
    let mut allocated = Allocations::from(&report);
    for (key, h) in held.pods {
        allocated.waiting.insert(key.clone());
        allocated.pods.insert(key, h.allocated);
    }
    for (name, h) in held.nodes {
        allocated.waiting_nodes.insert(name.clone());
        allocated.nodes.insert(name, h.allocated);
    }
    let mut plan = plan_writeback(&objects, &allocated, ipam, &errors, Timestamp::now());
    drop(pass);
    {
        let mut emitted = lock(&term.emitted);
        // An error that went away may come back later: it is then reported again.
        emitted.retain(|k| plan.events.contains_key(k));
        plan.events.retain(|k, _| !emitted.contains(k));
    }
    for e in &errors {
        tracing::warn!(object = %e.object, field = %e.field, message = %e.message, "invalid input");
    }
    tracing::info!(
        pods = allocated.pods.len(),
        nodes = allocated.nodes.len(),
        allocated = report.allocated + held.allocated,
        waiting = allocated.waiting.len(),
        released = report.released,
        transactions = report.reconcile.transactions,
        operations = report.reconcile.operations,
        invalid = errors.len(),
        writes = plan.keys().len(),
        elapsed_ms = elapsed.as_millis() as u64,
        "converged"
    );
    let keys = plan.keys();
    *lock(&term.pending) = plan;
    for key in keys {
        shared.queue.add(key);
    }
    if let Some(e) = report.nb_unavailable {
        return Err(Error::Ovsdb(e));
    }
    if failed {
        for (group, e) in &report.reconcile.failed {
            tracing::warn!(%group, error = %e, "could not converge");
        }
        let first = report
            .reconcile
            .failed
            .iter()
            .next()
            .map(|(group, e)| format!("{group}: {e}"))
            .unwrap_or_default();
        return Err(Error::NbWrite {
            groups: report.reconcile.failed.keys().cloned().collect(),
            first,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "cluster_controller/tests.rs"]
mod tests;
