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

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ovn_model::reconcile::{Reconciler, Report, Scope};
use ovsdb_client::client::{Client, ClientConfig, ConnectionState};
use ovsdb_client::{MonitorRequests, Replica};

use crate::error::{Error, InputError};
use crate::objects::{NsName, Objects, object_ref};
use crate::translate::{
    Allocation, JOIN_SUBNET, PodAddress, ResolvedSubnet, node_owner_key, owner_key, pod_subnet,
    resolve_subnets, static_request, static_request_from, translate_cluster, wants_port,
};

/// The owner value of every NB row this controller writes.
pub const OWNER: &str = "kube-ovn";

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
    replica: Arc<RwLock<Replica>>,
    ipam: ipam::Ipam,
    reconciler: Reconciler,
    /// Owners IPAM holds addresses for.
    owners: BTreeSet<String>,
    restored: bool,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("owners", &self.owners.len())
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Connects to NB and loads its replica.
    pub async fn connect(nb_remote: &str) -> Result<Controller, Error> {
        let client = Client::connect(ClientConfig::new(nb_remote)?).await?;
        let replicated = client
            .replicate("OVN_Northbound", MonitorRequests::new())
            .await?;
        Ok(Controller {
            client,
            replica: replicated.replica,
            ipam: ipam::Ipam::new(),
            reconciler: Reconciler::new(OWNER),
            owners: BTreeSet::new(),
            restored: false,
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
        match self.ipam.lookup(owner) {
            Some((s, a)) if s == subnet => Ok((a, false)),
            other => {
                if other.is_some() {
                    self.ipam.release(owner);
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
        let (subnets, errors) = resolve_subnets(objects);
        report.errors.extend(errors);
        let subnets = self.sync_ipam_subnets(objects, subnets, &mut report.errors);
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
        // Pods and nodes that are gone give their addresses back.
        for gone in self
            .owners
            .difference(&current)
            .cloned()
            .collect::<Vec<_>>()
        {
            self.ipam.release(&gone);
            self.owners.remove(&gone);
            report.released += 1;
        }
        report.pods = addresses.len();
        report.nodes = node_addresses.len();
        let (network, nodes, errors) =
            translate_cluster(objects, &subnets, &addresses, &node_addresses);
        report.errors.extend(errors);
        report.reconcile = self
            .reconciler
            .reconcile(
                &self.client,
                &self.replica,
                &network.desired_with(&nodes),
                Scope::Everything,
            )
            .await;
        report
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
                    if self.ipam.lookup(&owner).is_some_and(|(s, _)| s == name) {
                        self.ipam.release(&owner);
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
                            .is_some_and(wants_port),
                    ),
                    (_, _, Some(node)) => (node_owner_key(node), objects.nodes.contains_key(node)),
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
            self.ipam.release(owner);
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

    #[tokio::test]
    async fn connection_state_follows_the_controllers_own_nb_connection() {
        let nb = OvsdbServer::nb().expect("NB starts");
        let controller = Controller::connect(&nb.unix_remote())
            .await
            .expect("controller connects");
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
