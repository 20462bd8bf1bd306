//! The node's Open_vSwitch database: ports on the integration bridge, and ovn-controller's
//! `ovn-installed` mark, through our ovsdb-client and a replica of the tables involved.
//!
//! Every write is one self-contained transaction, pipelined on the shared connection, so
//! concurrent ADDs never wait for each other beyond the server's round trip. Waiting for a
//! condition re-reads the replica each time a monitor update arrives.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ovsdb_client::client::{Client, ClientConfig};
use ovsdb_client::{
    Atom, Condition, Datum, MonitorRequest, MonitorRequests, Mutation, Mutator, Operation, Replica,
    ReplicaRow, Row, Uuid,
};
use tokio::sync::watch;

use crate::error::{Error, Result};

const DB: &str = "Open_vSwitch";

/// A pod's bandwidth limits, in Mbit/s as Kube-OVN's annotations give them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    /// Traffic into the pod.
    pub ingress_mbps: Option<u64>,
    /// Traffic out of the pod.
    pub egress_mbps: Option<u64>,
}

/// The node's Open_vSwitch database and its integration bridge.
#[derive(Debug, Clone)]
pub struct Ovs {
    client: Client,
    replica: Arc<RwLock<Replica>>,
    changes: watch::Receiver<u64>,
    bridge: String,
    netdev: bool,
}

/// Replicates `tables` (name -> columns) of `db` and bumps a counter on every update, so
/// waiters can re-check the replica.
pub(crate) async fn replicate(
    client: &Client,
    db: &str,
    tables: &[(&str, &[&str])],
) -> Result<(Arc<RwLock<Replica>>, watch::Receiver<u64>)> {
    let requests: MonitorRequests = tables
        .iter()
        .map(|(table, columns)| {
            (
                (*table).to_owned(),
                MonitorRequest::columns(columns.iter().copied()),
            )
        })
        .collect();
    let replicated = client
        .replicate(db, requests)
        .await
        .map_err(Error::ovsdb(format!("replicate {db}")))?;
    let (tx, rx) = watch::channel(0u64);
    let mut events = replicated.events;
    tokio::spawn(async move {
        while events.recv().await.is_some() {
            tx.send_modify(|n| *n += 1);
        }
    });
    Ok((replicated.replica, rx))
}

/// Waits until `check` returns `Some`, re-checking after every replica update, for at most
/// `timeout`.
pub(crate) async fn wait_for<T>(
    changes: &watch::Receiver<u64>,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let mut changes = changes.clone();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        changes.borrow_and_update();
        if let Some(found) = check() {
            return Some(found);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            // The replica's connection task ended: nothing will change any more.
            Ok(Err(_)) | Err(_) => return check(),
        }
    }
}

fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Datum {
    Datum::map(pairs)
}

/// A row's string-to-string map column as owned pairs.
pub(crate) fn map_column(row: &ReplicaRow, column: &str) -> BTreeMap<String, String> {
    row.get(column)
        .map(|d| {
            d.as_map()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

impl Ovs {
    /// Connects to the Open_vSwitch database at `remote` and replicates the bridge, port and
    /// interface tables. `netdev` selects the QoS type that works on the userspace datapath.
    pub async fn connect(remote: &str, bridge: &str, netdev: bool) -> Result<Self> {
        let config = ClientConfig::new(remote).map_err(Error::ovsdb(format!("remote {remote}")))?;
        let client = Client::connect(config)
            .await
            .map_err(Error::ovsdb(format!("connect to {remote}")))?;
        let (replica, changes) = replicate(
            &client,
            DB,
            &[
                ("Bridge", &["name", "ports"]),
                ("Port", &["name", "interfaces", "qos"]),
                ("Interface", &["name", "external_ids", "ofport", "error"]),
            ],
        )
        .await?;
        Ok(Ovs {
            client,
            replica,
            changes,
            bridge: bridge.to_owned(),
            netdev,
        })
    }

    fn find(&self, table: &str, name: &str) -> Option<Arc<ReplicaRow>> {
        let replica = self.replica.read().unwrap_or_else(|e| e.into_inner());
        replica.table(table)?.find_one("name", &Datum::scalar(name))
    }

    /// The external_ids of the interface named `name`, if it exists.
    pub fn interface_ids(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.find("Interface", name)
            .map(|row| map_column(&row, "external_ids"))
    }

    /// Whether a port named `name` exists.
    pub fn has_port(&self, name: &str) -> bool {
        self.find("Port", name).is_some()
    }

    /// Adds (or replaces) port `name` with one interface of the same name on the bridge.
    pub async fn add_port(
        &self,
        name: &str,
        interface_type: Option<&str>,
        external_ids: &BTreeMap<String, String>,
        rates: Rates,
    ) -> Result<()> {
        let mut ops = self.removal(name);
        let mut interface = Row::new();
        interface.insert("name".into(), Datum::scalar(name));
        if let Some(kind) = interface_type {
            interface.insert("type".into(), Datum::scalar(kind));
        }
        interface.insert(
            "external_ids".into(),
            string_map(external_ids.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        );
        // OVS polices from the switch's side: what the pod sends is the interface's ingress.
        if let Some(mbps) = rates.egress_mbps.filter(|r| *r > 0) {
            let kbps = i64::try_from(mbps.saturating_mul(1000)).unwrap_or(i64::MAX);
            interface.insert("ingress_policing_rate".into(), Datum::scalar(kbps));
            interface.insert("ingress_policing_burst".into(), Datum::scalar(kbps / 10));
        }
        ops.push(Operation::insert_named("Interface", interface, "iface"));
        let mut port = Row::new();
        port.insert("name".into(), Datum::scalar(name));
        port.insert(
            "interfaces".into(),
            Datum::set([Atom::NamedUuid("iface".into())]),
        );
        if let Some(mbps) = rates.ingress_mbps.filter(|r| *r > 0) {
            let bits = mbps.saturating_mul(1_000_000);
            let (kind, config) = if self.netdev {
                // The userspace datapath's shaper: committed rate and burst in bytes.
                let bytes = bits / 8;
                (
                    "egress-policer",
                    [("cir", bytes), ("cbs", (bytes / 10).max(64_000))],
                )
            } else {
                ("linux-htb", [("max-rate", bits), ("min-rate", 0)])
            };
            let config: Vec<(String, String)> = config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_string()))
                .collect();
            let mut qos = Row::new();
            qos.insert("type".into(), Datum::scalar(kind));
            qos.insert(
                "other_config".into(),
                Datum::map(config.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            );
            qos.insert("external_ids".into(), string_map([("kube-ovn-port", name)]));
            ops.push(Operation::insert_named("QoS", qos, "qos"));
            port.insert("qos".into(), Datum::scalar(Atom::NamedUuid("qos".into())));
        }
        ops.push(Operation::insert_named("Port", port, "port"));
        let bridge_mutate = ops.len();
        ops.push(Operation::mutate(
            "Bridge",
            vec![Condition::eq("name", Datum::scalar(self.bridge.as_str()))],
            vec![Mutation::new(
                "ports",
                Mutator::Insert,
                Datum::set([Atom::NamedUuid("port".into())]),
            )],
        ));
        let results = self.transact(ops, &format!("add port {name}")).await?;
        if results
            .get(bridge_mutate)
            .and_then(|r| r.count)
            .unwrap_or(0)
            == 0
        {
            return Err(Error::Database(format!(
                "bridge {} does not exist in the Open_vSwitch database",
                self.bridge
            )));
        }
        Ok(())
    }

    /// Operations removing port `name` (and its QoS) from the bridge, if the replica has it.
    fn removal(&self, name: &str) -> Vec<Operation> {
        let Some(port) = self.find("Port", name) else {
            return Vec::new();
        };
        let mut ops = vec![Operation::mutate(
            "Bridge",
            vec![Condition::eq("name", Datum::scalar(self.bridge.as_str()))],
            vec![Mutation::new(
                "ports",
                Mutator::Delete,
                Datum::set([Atom::Uuid(port.uuid)]),
            )],
        )];
        // The port goes explicitly (not only by garbage collection at commit), so its QoS, a
        // root row, is unreferenced when its own delete is checked.
        ops.push(Operation::delete("Port", vec![Condition::uuid(port.uuid)]));
        let qos: Vec<Uuid> = port
            .get("qos")
            .map(|d| d.as_set().iter().filter_map(Atom::as_uuid).collect())
            .unwrap_or_default();
        for uuid in qos {
            ops.push(Operation::delete("QoS", vec![Condition::uuid(uuid)]));
        }
        ops
    }

    /// Removes port `name` from the bridge; absent is fine. Returns whether it existed.
    pub async fn del_port(&self, name: &str) -> Result<bool> {
        let ops = self.removal(name);
        if ops.is_empty() {
            return Ok(false);
        }
        self.transact(ops, &format!("delete port {name}")).await?;
        Ok(true)
    }

    /// Sets `external_ids:key=value` on interface `name`, keeping its other ids (ovn-installed
    /// among them: ovn-controller owns that one).
    pub async fn set_interface_id(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let what = format!("set external_ids:{key} of interface {name}");
        let condition = vec![Condition::eq("name", Datum::scalar(name))];
        let ops = vec![
            Operation::mutate(
                "Interface",
                condition.clone(),
                vec![Mutation::new(
                    "external_ids",
                    Mutator::Delete,
                    Datum::set([Atom::from(key)]),
                )],
            ),
            Operation::mutate(
                "Interface",
                condition,
                vec![Mutation::new(
                    "external_ids",
                    Mutator::Insert,
                    string_map([(key, value)]),
                )],
            ),
        ];
        let results = self.transact(ops, &what).await?;
        if results.get(1).and_then(|r| r.count).unwrap_or(0) == 0 {
            return Err(Error::Database(format!("{what}: no such interface")));
        }
        Ok(())
    }

    async fn transact(
        &self,
        ops: Vec<Operation>,
        what: &str,
    ) -> Result<Vec<ovsdb_client::OperationResult>> {
        self.client
            .transact(DB, &ops)
            .await
            .map_err(Error::ovsdb(what.to_owned()))
    }

    /// Waits until ovn-controller marks interface `name` with `external_ids:ovn-installed=true`.
    pub async fn wait_installed(&self, name: &str, timeout: Duration) -> Result<()> {
        let installed = wait_for(&self.changes, timeout, || {
            self.interface_ids(name)
                .filter(|ids| ids.get("ovn-installed").map(String::as_str) == Some("true"))
        })
        .await;
        installed.map(|_| ()).ok_or_else(|| Error::NotInstalled {
            interface: name.to_owned(),
            seconds: timeout.as_secs(),
        })
    }
}
