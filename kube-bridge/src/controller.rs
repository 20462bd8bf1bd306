//! The controller's convergence pass: objects to IPAM to OVN NB.
//!
//! One pass ([`Controller::converge`]) validates subnets, keeps IPAM's subnets in step, gives
//! every node a join address (its NB port `node-<name>`) and every pod that needs one an address (idempotently: a pod keeps what it has), releases the
//! addresses of pods that are gone, translates everything into the OVN model and reconciles NB.
//!
//! **Restart recovery.** Before the first allocation, IPAM is rebuilt from the owned NB
//! Logical_Switch_Ports: their `external_ids` (`pod` and `namespace`, or `node`; `ip_address`,
//! `mac_address`, `logical_switch`) are the allocation record. Pods that still exist keep
//! their addresses. The ports of pods deleted while the controller was down are restored and
//! released at once, so their addresses count as used before and new pods get never-used ones;
//! the same pass removes those ports (Kube-OVN's issue #4304: stale ports there collide with
//! new pods' addresses).
//!
//! **An invalid edit keeps what stands.** A Subnet that was accepted and is then edited into
//! something invalid (a CIDR typo, a gateway outside it, an overlap with another subnet) is
//! reported, and its last accepted version stays in force: its switch, its pods' ports and
//! their addresses are kept, as Kube-OVN keeps a subnet whose update fails validation. A
//! subnet that is new or edited to overlap an accepted one is the one refused, whatever the
//! names' order.
//!
//! **Held objects** ([`Objects::held`]: declared, but their contents do not decode now) keep
//! what they have: a held pod or node keeps its address and its port, a held Service,
//! NetworkPolicy or Vpc its rows, a held Subnet its last accepted version. (A held Subnet
//! never accepted, or a held object of another kind, has nothing kept here: the caller must not
//! converge without it.)
//!
//! **NB down.** Every NB request is bounded ([`NbOptions::request_timeout`]) and the connection
//! is probed for inactivity, so a pass never hangs on an NB that accepted the connection and
//! went silent: once NB has been unreachable for a whole request timeout the pass stops
//! writing and says so ([`PassReport::nb_unavailable`]); the caller retries it later. IPAM is
//! untouched by that: the next pass writes what this one could not.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ovn_model::reconcile::{Reconciler, Report, Scope};
use ovsdb_client::client::{Client, ClientConfig, ConnectionState};
use ovsdb_client::{MonitorRequests, Replica};

use crate::crd::Subnet;
use crate::error::{Error, InputError};
use crate::objects::{NsName, Objects, object_ref};
use crate::translate::{
    Allocation, JOIN_SUBNET, PodAddress, ResolvedSubnet, node_owner_key, owner_key, pod_subnet,
    resolve_subnets, static_request, static_request_from, translate_cluster, wants_port,
};

/// The owner value of every NB row this controller writes.
pub const OWNER: &str = "kube-ovn";

/// How the controller talks to OVN NB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbOptions {
    /// Bound on each NB request, and on how long a pass waits for a lost NB connection to
    /// come back before it gives up (Kube-OVN's `--ovn-timeout`, default 60 s).
    pub request_timeout: Duration,
    /// The inactivity probe: an `echo` after this long without input from NB, the connection
    /// dropped (and re-established) after twice as long (default 5 s, OVS's; `None` disables
    /// it, and a silent NB is then only noticed through the request timeout).
    pub probe_interval: Option<Duration>,
}

impl Default for NbOptions {
    fn default() -> Self {
        NbOptions {
            request_timeout: ovsdb_client::client::DEFAULT_REQUEST_TIMEOUT,
            probe_interval: Some(Duration::from_secs(5)),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    /// Invalid input: objects left out (the rest converged).
    pub errors: Vec<InputError>,
    /// The reconcile's figures.
    pub reconcile: Report,
    /// Pods with an address.
    pub pods: usize,
    /// Addresses restored from NB at start-up.
    pub restored: usize,
    /// Addresses newly allocated.
    pub allocated: usize,
    /// Addresses released (pods or nodes gone).
    pub released: usize,
    /// Nodes with a join address.
    pub nodes: usize,
    /// Each pod's allocation with its subnet's network (what its annotations carry).
    pub pod_allocations: BTreeMap<NsName, Allocation>,
    /// Each node's join allocation (what its annotations carry).
    pub node_allocations: BTreeMap<String, Allocation>,
    /// NB stayed unreachable for a whole request timeout, so the reconcile was cut short
    /// ([`PassReport::reconcile`] is partial): retry the pass later. Always a retryable
    /// [`ovsdb_client::Error::Timeout`].
    pub nb_unavailable: Option<ovsdb_client::Error>,
}

/// The model's view of an IPAM allocation in `subnet`.
fn address(subnet: &str, a: &ipam::Allocation) -> PodAddress {
    PodAddress {
        subnet: subnet.to_owned(),
        ips: a.ips().collect(),
        mac: a.mac.map(|m| m.to_string()).unwrap_or_default(),
    }
}

/// The controller's state across passes.
pub struct Controller {
    client: Client,
    nb_remote: String,
    options: NbOptions,
    replica: Arc<RwLock<Replica>>,
    ipam: ipam::Ipam,
    reconciler: Reconciler,
    /// Owners IPAM holds addresses for.
    owners: BTreeSet<String>,
    restored: bool,
    /// Each Subnet object as last accepted, with its resolution: what stays in force when an
    /// edit makes it invalid.
    last_valid: BTreeMap<String, (Subnet, ResolvedSubnet)>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("owners", &self.owners.len())
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Connects to NB and loads its replica, with the default [`NbOptions`].
    pub async fn connect(nb_remote: &str) -> Result<Controller, Error> {
        Self::connect_with(nb_remote, &NbOptions::default()).await
    }

    /// Connects to NB and loads its replica.
    pub async fn connect_with(nb_remote: &str, options: &NbOptions) -> Result<Controller, Error> {
        let config = ClientConfig::new(nb_remote)?
            .request_timeout(Some(options.request_timeout))
            .probe_interval(options.probe_interval);
        let client = Client::connect(config).await?;
        let replicated = client
            .replicate("OVN_Northbound", MonitorRequests::new())
            .await?;
        Ok(Controller {
            client,
            nb_remote: nb_remote.to_owned(),
            options: options.clone(),
            replica: replicated.replica,
            ipam: ipam::Ipam::new(),
            reconciler: Reconciler::new(OWNER),
            owners: BTreeSet::new(),
            restored: false,
            last_valid: BTreeMap::new(),
        })
    }

    /// The state of this controller's own NB connection, as a watch that changes on connect,
    /// disconnect and shutdown (for the OVSDB connection-state metric: no second connection
    /// needed). The receiver outlives the controller; after its client is gone it reads
    /// [`ConnectionState::Shutdown`] and `changed()` returns an error.
    pub fn connection_state(&self) -> tokio::sync::watch::Receiver<ConnectionState> {
        self.client.state()
    }

    /// The IPAM state (for usage figures).
    pub fn ipam(&self) -> &ipam::Ipam {
        &self.ipam
    }

    /// Gives `owner` an address in `subnet`: the one it holds there, else a new one as `req`
    /// asks (an address held in another subnet is released first). `Ok(true)` in the second
    /// element when newly allocated.
    fn hold(
        &mut self,
        owner: &str,
        subnet: &str,
        req: impl FnOnce() -> Result<ipam::Request, (String, String)>,
    ) -> Result<(ipam::Allocation, bool), (String, String)> {
        match self.ipam.lookup(subnet, owner) {
            Some(a) => Ok((a, false)),
            None => {
                // An owner holds one address at a time: whatever it holds elsewhere goes back.
                if !self.ipam.release_everywhere(owner).is_empty() {
                    self.owners.remove(owner);
                }
                let req = req()?;
                let a = self.ipam.allocate_with(subnet, owner, &req).map_err(|e| {
                    (
                        format!("metadata.annotations[{}]", crate::annotations::IP_ADDRESS),
                        e.to_string(),
                    )
                })?;
                Ok((a, true))
            }
        }
    }

    /// Converges NB (and IPAM) to `objects`.
    pub async fn converge(&mut self, objects: &Objects) -> PassReport {
        let mut report = PassReport::default();
        let (effective, subnets, errors) = self.resolve_keeping_valid(objects);
        let objects: &Objects = &effective;
        report.errors.extend(errors);
        let subnets = self.sync_ipam_subnets(objects, subnets, &mut report.errors);
        self.last_valid = subnets
            .iter()
            .filter_map(|s| {
                let object = objects.subnets.get(&s.name)?;
                Some((s.name.clone(), (object.clone(), s.clone())))
            })
            .collect();
        if !self.restored {
            report.restored = self.restore(objects, &subnets, &mut report.errors);
            self.restored = true;
        }
        let mut current: BTreeSet<String> = BTreeSet::new();
        // Nodes: a join address each, for the daemon's ovn0 and the gateway routes.
        let mut node_addresses: BTreeMap<String, PodAddress> = BTreeMap::new();
        let join = subnets.iter().find(|s| s.name == JOIN_SUBNET);
        for name in objects.nodes.keys() {
            let Some(join) = join else { break };
            let owner = node_owner_key(name);
            let node = &objects.nodes[name];
            match self.hold(&owner, &join.name, || {
                static_request_from(&node.metadata.annotations)
            }) {
                Ok((allocation, new)) => {
                    report.allocated += usize::from(new);
                    self.owners.insert(owner.clone());
                    current.insert(owner);
                    let addr = address(&join.name, &allocation);
                    report
                        .node_allocations
                        .insert(name.clone(), Allocation::new(&addr, join));
                    node_addresses.insert(name.clone(), addr);
                }
                Err((field, message)) => report.errors.push(objects.input_error(
                    object_ref("Node", None, name),
                    field,
                    message,
                )),
            }
        }
        let mut addresses: BTreeMap<NsName, PodAddress> = BTreeMap::new();
        for (key, pod) in &objects.pods {
            if !wants_port(pod) {
                continue;
            }
            let (ns, name) = key;
            let oref = object_ref("Pod", Some(ns), name);
            let Some(subnet) = pod_subnet(objects, &subnets, pod) else {
                report.errors.push(objects.input_error(
                    oref,
                    "metadata.annotations[ovn.kubernetes.io/logical_switch]",
                    "names no valid subnet".into(),
                ));
                continue;
            };
            let owner = owner_key(ns, name);
            match self.hold(&owner, &subnet.name, || static_request(pod)) {
                Ok((allocation, new)) => {
                    report.allocated += usize::from(new);
                    self.owners.insert(owner.clone());
                    current.insert(owner);
                    let addr = address(&subnet.name, &allocation);
                    report
                        .pod_allocations
                        .insert(key.clone(), Allocation::new(&addr, subnet));
                    addresses.insert(key.clone(), addr);
                }
                Err((field, message)) => {
                    report
                        .errors
                        .push(objects.input_error(oref, field, message));
                }
            }
        }
        // Held pods and nodes keep what they hold, as if they were there.
        let held = held_parts(objects);
        for owner in &held.owners {
            if self.owners.contains(owner) {
                current.insert(owner.clone());
            }
        }
        // Pods and nodes that are gone give their addresses back.
        for gone in self
            .owners
            .difference(&current)
            .cloned()
            .collect::<Vec<_>>()
        {
            self.ipam.release_everywhere(&gone);
            self.owners.remove(&gone);
            report.released += 1;
        }
        report.pods = addresses.len();
        report.nodes = node_addresses.len();
        let (network, nodes, errors) =
            translate_cluster(objects, &subnets, &addresses, &node_addresses);
        report.errors.extend(errors);
        let mut desired = network.desired_with(&nodes);
        desired.hold(held.groups);
        let reconcile =
            self.reconciler
                .reconcile(&self.client, &self.replica, &desired, Scope::Everything);
        let gone = nb_gone_for(self.client.state(), self.options.request_timeout);
        tokio::select! {
            r = reconcile => report.reconcile = r,
            limit = gone => {
                tracing::warn!(remote = %self.nb_remote, ?limit, "OVN NB unreachable; pass cut short");
                report.nb_unavailable = Some(ovsdb_client::Error::Timeout {
                    method: format!("reconnecting to OVN NB {}", self.nb_remote),
                    timeout: limit,
                });
            }
        }
        report
    }

    /// The objects with every Subnet that was accepted before and is refused now standing in
    /// its last accepted version, their resolution, and the errors of the objects as given.
    /// A subnet (new or edited) that overlaps such a subnet gives way to it: it stands in its
    /// own last accepted version, or is left out.
    fn resolve_keeping_valid<'o>(
        &self,
        objects: &'o Objects,
    ) -> (Cow<'o, Objects>, Vec<ResolvedSubnet>, Vec<InputError>) {
        let (subnets, errors) = resolve_subnets(objects);
        let subnet_ref = |name: &str| object_ref("Subnet", None, name);
        // The accepted version of `name`, when it is still the same object (same uid).
        let previous = |name: &str| {
            let (old, resolved) = self.last_valid.get(name)?;
            let now = objects.subnets.get(name)?;
            (now.metadata.uid == old.metadata.uid).then_some((old, resolved))
        };
        let unchanged = |name: &str| {
            previous(name).is_some_and(|(old, _)| objects.subnets[name].spec == old.spec)
        };
        let fallback: Vec<&String> = objects
            .subnets
            .keys()
            .filter(|name| !subnets.iter().any(|s| &s.name == *name) && previous(name).is_some())
            .collect();
        // A held Subnet stands in its accepted version, if it has one.
        let held: Vec<(&str, &Subnet)> = objects
            .held
            .keys()
            .filter_map(|oref| oref.strip_prefix("Subnet/"))
            .filter(|name| !objects.subnets.contains_key(*name))
            .filter_map(|name| self.last_valid.get(name).map(|(old, _)| (name, old)))
            .collect();
        if fallback.is_empty() && held.is_empty() {
            return (Cow::Borrowed(objects), subnets, errors);
        }
        let mut effective = objects.clone();
        for (name, old) in held {
            effective.subnets.insert(name.to_owned(), old.clone());
        }
        let mut gave_way: Vec<InputError> = Vec::new();
        for name in fallback {
            let Some((old, kept)) = previous(name) else {
                continue;
            };
            effective.subnets.insert(name.clone(), old.clone());
            for s in &subnets {
                let clash = s.name != *name
                    && s.vpc == kept.vpc
                    && objects.subnets.contains_key(&s.name)
                    && !unchanged(&s.name)
                    && s.cidrs.iter().any(|a| {
                        kept.cidrs
                            .iter()
                            .any(|b| a.contains(&b.network()) || b.contains(&a.network()))
                    });
                if !clash {
                    continue;
                }
                match previous(&s.name) {
                    Some((prev, _)) => effective.subnets.insert(s.name.clone(), prev.clone()),
                    None => effective.subnets.remove(&s.name),
                };
                gave_way.push(objects.input_error(
                    subnet_ref(&s.name),
                    "spec.cidrBlock",
                    format!("overlaps subnet {name} in Vpc {}", kept.vpc),
                ));
            }
        }
        let (subnets, effective_errors) = resolve_subnets(&effective);
        let stands = |object: &str| {
            subnets.iter().any(|s| subnet_ref(&s.name) == object)
                && objects.subnets.iter().any(|(name, now)| {
                    subnet_ref(name) == object
                        && same_subnet(effective.subnets.get(name), Some(now))
                })
        };
        // What is wrong with the objects as given, except a charge against a subnet that
        // stands as given (an accepted subnet reported for the overlap a newcomer made), plus
        // what is still wrong with the effective set.
        let mut out: Vec<InputError> = errors.into_iter().filter(|e| !stands(&e.object)).collect();
        out.extend(gave_way);
        for e in effective_errors {
            if !out.iter().any(|o| o.object == e.object) {
                out.push(e);
            }
        }
        for name in self.last_valid.keys() {
            if !same_subnet(effective.subnets.get(name), objects.subnets.get(name)) {
                tracing::warn!(subnet = %name, "invalid edit refused; the last accepted version stays in force");
            }
        }
        (Cow::Owned(effective), subnets, out)
    }

    /// Adds, updates and removes IPAM subnets; returns the subnets IPAM accepted.
    fn sync_ipam_subnets(
        &mut self,
        objects: &Objects,
        subnets: Vec<ResolvedSubnet>,
        errors: &mut Vec<InputError>,
    ) -> Vec<ResolvedSubnet> {
        let mut accepted = Vec::new();
        for s in subnets {
            let result = s.ipam_spec().map_err(|e| e.to_string()).and_then(|spec| {
                if self.ipam.subnet_spec(&s.name).is_some() {
                    self.ipam.update_subnet(spec).map_err(|e| e.to_string())
                } else {
                    self.ipam.add_subnet(spec).map_err(|e| e.to_string())
                }
            });
            match result {
                Ok(()) => accepted.push(s),
                Err(message) => errors.push(objects.input_error(
                    object_ref("Subnet", None, &s.name),
                    "spec",
                    message,
                )),
            }
        }
        let keep: BTreeSet<&str> = accepted.iter().map(|s| s.name.as_str()).collect();
        for name in self.ipam.subnet_names() {
            if !keep.contains(name.as_str()) {
                // Pods of a removed subnet lose their addresses in this pass anyway.
                for owner in self.owners.clone() {
                    if self.ipam.release(&name, &owner).is_some() {
                        self.owners.remove(&owner);
                    }
                }
                let _ = self.ipam.remove_subnet(&name);
            }
        }
        accepted
    }

    /// Rebuilds IPAM from the owned pod and node ports in NB; those of pods and nodes that
    /// are gone are released at once.
    fn restore(
        &mut self,
        objects: &Objects,
        subnets: &[ResolvedSubnet],
        errors: &mut Vec<InputError>,
    ) -> usize {
        let mut records = Vec::new();
        let mut gone = Vec::new();
        {
            let replica = self.replica.read().unwrap_or_else(|e| e.into_inner());
            let Some(lsps) = replica.table("Logical_Switch_Port") else {
                return 0;
            };
            for row in lsps.rows() {
                let Some(ids) = row.get("external_ids") else {
                    continue;
                };
                if ids.get_str(ovn_model::desired::OWNER) != Some(OWNER) {
                    continue;
                }
                let (Some(ips), Some(ls)) =
                    (ids.get_str("ip_address"), ids.get_str("logical_switch"))
                else {
                    continue;
                };
                if !subnets.iter().any(|s| s.name == ls) {
                    continue;
                }
                // A pod (or node) deleted while the controller was down is restored too and
                // released right after: its address then counts as used before, so a new pod
                // does not get it while peers may still hold it in caches and conntrack.
                let (owner, still_there) = match (
                    ids.get_str("pod"),
                    ids.get_str("namespace"),
                    ids.get_str("node"),
                ) {
                    (Some(pod), Some(ns), _) => (
                        owner_key(ns, pod),
                        objects
                            .pods
                            .get(&(ns.to_owned(), pod.to_owned()))
                            .is_some_and(wants_port)
                            || objects.held.contains_key(&object_ref("Pod", Some(ns), pod)),
                    ),
                    (_, _, Some(node)) => (
                        node_owner_key(node),
                        objects.nodes.contains_key(node)
                            || objects.held.contains_key(&object_ref("Node", None, node)),
                    ),
                    _ => continue,
                };
                if !still_there {
                    gone.push(owner.clone());
                }
                let ips: Vec<IpAddr> = ips.split(',').filter_map(|i| i.parse().ok()).collect();
                let mac = ids.get_str("mac_address").and_then(|m| m.parse().ok());
                records.push(ipam::RestoreRecord {
                    owner,
                    subnet: ls.to_owned(),
                    ips,
                    mac,
                });
            }
        }
        let owners: Vec<String> = records.iter().map(|r| r.owner.clone()).collect();
        let report = self.ipam.restore(records);
        for c in &report.conflicts {
            errors.push(InputError {
                file: None,
                object: c.owner.clone(),
                field: String::new(),
                message: format!("allocation record in NB conflicts: {}", c.error),
            });
        }
        for owner in &gone {
            self.ipam.release_everywhere(owner);
        }
        let failed: BTreeSet<&str> = report.conflicts.iter().map(|c| c.owner.as_str()).collect();
        self.owners.extend(
            owners
                .into_iter()
                .filter(|o| !failed.contains(o.as_str()) && !gone.contains(o)),
        );
        report.restored - gone.len().min(report.restored)
    }
}

/// What held objects keep: the IPAM owners of held pods and nodes, and the NB groups of every
/// held object whose rows are its own.
#[derive(Debug, Default)]
struct HeldParts {
    owners: Vec<String>,
    groups: Vec<String>,
}

fn held_parts(objects: &Objects) -> HeldParts {
    let mut out = HeldParts::default();
    for oref in objects.held.keys() {
        let mut parts = oref.splitn(3, '/');
        let (Some(kind), Some(first)) = (parts.next(), parts.next()) else {
            continue;
        };
        match (kind, parts.next()) {
            ("Pod", Some(name)) => {
                out.owners.push(owner_key(first, name));
                out.groups.push(format!("pod/{first}/{name}"));
            }
            ("Node", None) => {
                out.owners.push(node_owner_key(first));
                out.groups.push(format!("node/{first}"));
            }
            ("Service", Some(name)) => out.groups.push(format!("service/{first}/{name}")),
            ("NetworkPolicy", Some(name)) => out.groups.push(format!("policy/{first}/{name}")),
            ("Vpc", None) => out.groups.push(format!("vpc/{first}")),
            _ => {}
        }
    }
    out
}

/// Whether two Subnet objects are the same object with the same spec.
fn same_subnet(a: Option<&Subnet>, b: Option<&Subnet>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.spec == b.spec && a.metadata.uid == b.metadata.uid,
        (None, None) => true,
        _ => false,
    }
}

/// Resolves (with `limit`) once the connection watched by `state` has been down for `limit`
/// without a break: NB is unavailable, not merely reconnecting. Never resolves while it stays up
/// or comes back in time.
async fn nb_gone_for(
    mut state: tokio::sync::watch::Receiver<ConnectionState>,
    limit: Duration,
) -> Duration {
    let up = |s: &ConnectionState| matches!(s, ConnectionState::Connected(_));
    loop {
        // Up: wait until it goes down. A watch whose client is gone never changes again;
        // the requests' own timeouts end the pass then.
        while up(&state.borrow_and_update()) {
            if state.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
        // Down: up again within the limit, or gone.
        let back = async {
            loop {
                if state.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
                if up(&state.borrow_and_update()) {
                    return;
                }
            }
        };
        if tokio::time::timeout(limit, back).await.is_err() {
            return limit;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ovn_tests::OvsdbServer;
    use ovsdb_client::client::ConnectionState;

    use super::Controller;

    /// Waits (bounded) until the watch reads a state `want` accepts.
    async fn wait_for(
        state: &mut tokio::sync::watch::Receiver<ConnectionState>,
        want: impl Fn(&ConnectionState) -> bool,
    ) -> ConnectionState {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let now = state.borrow_and_update().clone();
                if want(&now) {
                    return now;
                }
                if state.changed().await.is_err() {
                    return state.borrow().clone();
                }
            }
        })
        .await
        .expect("the connection state changes within 20 s")
    }

    /// A fresh NB and a controller connected to it over its unix socket.
    async fn connected() -> (OvsdbServer, Controller) {
        let nb = OvsdbServer::nb().expect("NB starts");
        let controller = Controller::connect(&nb.unix_remote())
            .await
            .expect("controller connects");
        (nb, controller)
    }

    fn objects(docs: Vec<serde_json::Value>) -> crate::Objects {
        let mut objects = crate::Objects::default();
        for doc in docs {
            objects
                .add_value(
                    doc,
                    crate::objects::Origin {
                        file: Default::default(),
                        document: 0,
                    },
                )
                .expect("a valid object");
        }
        objects
    }

    fn subnet(name: &str, cidr: &str, namespaces: &[&str]) -> serde_json::Value {
        serde_json::json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet",
            "metadata": {"name": name, "uid": format!("uid-{name}")},
            "spec": {"cidrBlock": cidr, "namespaces": namespaces}})
    }

    fn pod(ns: &str, name: &str) -> serde_json::Value {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}})
    }

    fn lsp_addresses(nb: &OvsdbServer, name: &str) -> String {
        nb.nbctl([
            "--if-exists",
            "get",
            "Logical_Switch_Port",
            name,
            "addresses",
        ])
        .expect("ovn-nbctl runs")
        .trim()
        .to_owned()
    }

    /// An accepted subnet edited into something invalid keeps its last accepted version: the
    /// edit is reported (naming the field), the switch, the pod's port and its address stay.
    /// A new subnet overlapping an accepted one is the one refused, though it sorts first, and
    /// the accepted one is not charged with the overlap. Fixing the edit changes nothing.
    #[tokio::test]
    async fn an_invalid_subnet_edit_keeps_the_last_accepted_version() {
        let (nb, mut controller) = connected().await;
        let good = || vec![subnet("net1", "10.1.0.0/24", &["ns1"]), pod("ns1", "a")];
        let report = controller.converge(&objects(good())).await;
        assert_eq!(report.errors, []);
        let address = lsp_addresses(&nb, "a.ns1");
        assert!(address.contains("10.1.0."), "{address}");

        // A typo in the CIDR.
        let report = controller
            .converge(&objects(vec![
                subnet("net1", "10.1.0.0/33", &["ns1"]),
                pod("ns1", "a"),
            ]))
            .await;
        let charged: Vec<(&str, &str)> = report
            .errors
            .iter()
            .map(|e| (e.object.as_str(), e.field.as_str()))
            .collect();
        assert_eq!(charged, [("Subnet/net1", "spec.cidrBlock")]);
        assert_eq!(
            lsp_addresses(&nb, "a.ns1"),
            address,
            "the pod keeps its port"
        );
        assert!(
            report
                .pod_allocations
                .contains_key(&("ns1".into(), "a".into()))
        );
        assert_eq!(report.released, 0);

        // A newcomer that sorts first and overlaps net1.
        let mut docs = good();
        docs.push(subnet("aaa", "10.1.0.0/25", &["ns2"]));
        docs.push(pod("ns2", "b"));
        let report = controller.converge(&objects(docs)).await;
        let charged: Vec<(&str, &str, &str)> = report
            .errors
            .iter()
            .map(|e| (e.object.as_str(), e.field.as_str(), e.message.as_str()))
            .collect();
        assert!(
            charged.iter().any(|(o, f, m)| *o == "Subnet/aaa"
                && *f == "spec.cidrBlock"
                && m.contains("net1")),
            "{charged:?}"
        );
        assert!(
            !charged.iter().any(|(o, _, _)| *o == "Subnet/net1"),
            "{charged:?}"
        );
        assert_eq!(lsp_addresses(&nb, "a.ns1"), address);

        // Fixed (and the newcomer gone, its pod with it): nothing else moves.
        let report = controller.converge(&objects(good())).await;
        assert_eq!(report.errors, []);
        assert_eq!((report.allocated, report.released), (0, 1));
        assert_eq!(lsp_addresses(&nb, "a.ns1"), address);
    }

    /// A pod whose namespace moves to another subnet gets an address there, and the one it
    /// held in the first subnet goes back: IPAM names an owner per subnet, so the controller
    /// itself keeps a pod to one address.
    #[tokio::test]
    async fn a_pod_moved_to_another_subnet_gives_back_its_first_address() {
        let (nb, mut controller) = connected().await;
        let report = controller
            .converge(&objects(vec![
                subnet("net1", "10.1.0.0/24", &["ns1"]),
                subnet("net2", "10.2.0.0/24", &[]),
                pod("ns1", "a"),
            ]))
            .await;
        assert_eq!(report.errors, []);
        assert!(lsp_addresses(&nb, "a.ns1").contains("10.1.0."));

        let report = controller
            .converge(&objects(vec![
                subnet("net1", "10.1.0.0/24", &[]),
                subnet("net2", "10.2.0.0/24", &["ns1"]),
                pod("ns1", "a"),
            ]))
            .await;
        assert_eq!(report.errors, []);
        assert_eq!(report.allocated, 1);
        let address = lsp_addresses(&nb, "a.ns1");
        assert!(address.contains("10.2.0."), "{address}");
        let held: Vec<String> = controller
            .ipam()
            .lookup_everywhere("a.ns1")
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(held, ["net2"]);
        let used = |s: &str| {
            controller
                .ipam()
                .usage(s)
                .expect("subnet")
                .v4
                .expect("v4")
                .used
        };
        assert_eq!((used("net1"), used("net2")), (0, 1));
    }

    /// Held objects (declared, contents not decodable now) keep what they have: the held pod
    /// its port and address (a new pod does not get it), the held Subnet its switch and its
    /// pods; once they decode again nothing moves.
    #[tokio::test]
    async fn held_objects_keep_their_ports_and_addresses() {
        let (nb, mut controller) = connected().await;
        let all = || {
            vec![
                subnet("net1", "10.1.0.0/24", &["ns1"]),
                pod("ns1", "a"),
                pod("ns1", "b"),
            ]
        };
        let report = controller.converge(&objects(all())).await;
        assert_eq!(report.errors, []);
        let (a, b) = (lsp_addresses(&nb, "a.ns1"), lsp_addresses(&nb, "b.ns1"));
        assert!(b.contains("10.1.0."), "{b}");

        // b and net1 do not decode; c is new.
        let mut now = objects(vec![pod("ns1", "a"), pod("ns1", "c")]);
        for held in ["Pod/ns1/b", "Subnet/net1"] {
            let origin = crate::objects::Origin {
                file: "apps.yaml".into(),
                document: 0,
            };
            now.held.insert(held.to_owned(), origin);
        }
        let report = controller.converge(&now).await;
        assert_eq!(report.released, 0, "{report:?}");
        assert!(report.reconcile.failed.is_empty(), "{report:?}");
        assert_eq!(
            lsp_addresses(&nb, "b.ns1"),
            b,
            "the held pod keeps its port"
        );
        assert_eq!(lsp_addresses(&nb, "a.ns1"), a, "net1 stands as accepted");
        let c = lsp_addresses(&nb, "c.ns1");
        assert!(c.contains("10.1.0."), "c is placed in net1: {c}");
        let ip = |lsp: &str| {
            lsp.trim_end_matches("\"]")
                .rsplit(' ')
                .next()
                .map(str::to_owned)
        };
        assert_ne!(ip(&c), ip(&b), "c got b's address");

        // Decoded again: nothing moves.
        let mut docs = all();
        docs.push(pod("ns1", "c"));
        let report = controller.converge(&objects(docs)).await;
        assert_eq!(report.errors, []);
        assert_eq!((report.allocated, report.released), (0, 0));
        assert_eq!(lsp_addresses(&nb, "b.ns1"), b);
        assert_eq!(lsp_addresses(&nb, "c.ns1"), c);
    }

    #[tokio::test]
    async fn connection_state_follows_the_controllers_own_nb_connection() {
        let (nb, controller) = connected().await;
        let mut state = controller.connection_state();
        let connected = wait_for(&mut state, |s| matches!(s, ConnectionState::Connected(_))).await;
        assert!(
            matches!(connected, ConnectionState::Connected(_)),
            "{connected:?}"
        );
        // The server going away is seen on the same watch.
        drop(nb);
        let lost = wait_for(&mut state, |s| !matches!(s, ConnectionState::Connected(_))).await;
        assert_eq!(lost, ConnectionState::Connecting);
        // Dropping the controller shuts its client down.
        drop(controller);
        let last = wait_for(&mut state, |s| *s == ConnectionState::Shutdown).await;
        assert_eq!(last, ConnectionState::Shutdown);
    }
}
