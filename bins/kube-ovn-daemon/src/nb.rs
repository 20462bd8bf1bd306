//! Manifest mode: a pod's network as the controller wrote it on the NB Logical_Switch_Port
//! `<pod>.<ns>` (the annotation names as `external_ids`), and the subnets the node routes to.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ipnet::IpNet;
use ovsdb_client::client::{Client, ClientConfig};
use ovsdb_client::{Datum, Replica};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::network::{PortNetwork, parse_network};
use crate::ovs::{map_column, replicate, wait_for};

const DB: &str = "OVN_Northbound";
/// The join subnet's switch (node addresses), as Kube-OVN names it.
pub const JOIN_SWITCH: &str = "join";

/// A replica of the NB tables the daemon reads.
#[derive(Debug, Clone)]
pub struct Northbound {
    _client: Client,
    replica: Arc<RwLock<Replica>>,
    changes: watch::Receiver<u64>,
}

impl Northbound {
    /// Connects to NB at `remote` and replicates the switches and their ports.
    pub async fn connect(remote: &str) -> Result<Self> {
        let config = ClientConfig::new(remote).map_err(Error::ovsdb(format!("remote {remote}")))?;
        let client = Client::connect(config)
            .await
            .map_err(Error::ovsdb(format!("connect to {remote}")))?;
        let (replica, changes) = replicate(
            &client,
            DB,
            &[
                ("Logical_Switch_Port", &["name", "external_ids"]),
                ("Logical_Switch", &["name", "other_config", "external_ids"]),
            ],
        )
        .await?;
        Ok(Northbound {
            _client: client,
            replica,
            changes,
        })
    }

    /// A receiver that changes whenever NB does.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// The port's network now: `Ok(None)` while the controller has not allocated it.
    pub fn port_network(&self, port: &str) -> Result<Option<PortNetwork>> {
        let row = {
            let replica = self.replica.read().unwrap_or_else(|e| e.into_inner());
            replica
                .table("Logical_Switch_Port")
                .and_then(|t| t.find_one("name", &Datum::scalar(port)))
        };
        let Some(row) = row else { return Ok(None) };
        let ids = map_column(&row, "external_ids");
        parse_network(port, |field| ids.get(field).map(String::as_str)).map_err(|e| {
            Error::BadPortData {
                port: port.to_owned(),
                reason: format!("external_ids:{} {}", e.field, e.reason),
            }
        })
    }

    /// Waits up to `timeout` for the controller to allocate `port`.
    pub async fn wait_port(&self, port: &str, timeout: Duration) -> Result<PortNetwork> {
        let mut last_error = None;
        let found = wait_for(&self.changes, timeout, || match self.port_network(port) {
            Ok(found) => found,
            Err(e) => {
                last_error = Some(e);
                None
            }
        })
        .await;
        match (found, last_error) {
            (Some(network), _) => Ok(network),
            (None, Some(error)) => Err(error),
            (None, None) => Err(Error::NotAllocated {
                object: format!("logical switch port {port}"),
                seconds: timeout.as_secs(),
                reason: "the controller has not written the logical switch port with \
                         ip_address and mac_address in external_ids"
                    .to_owned(),
            }),
        }
    }

    /// The CIDRs of every subnet but the join subnet `join`: what the node routes through
    /// ovn0.
    pub fn pod_subnets(&self, join: &str) -> Vec<IpNet> {
        let replica = self.replica.read().unwrap_or_else(|e| e.into_inner());
        let Some(table) = replica.table("Logical_Switch") else {
            return Vec::new();
        };
        let mut out: Vec<IpNet> = table
            .rows()
            .filter(|row| {
                row.get("name")
                    .and_then(Datum::as_scalar)
                    .and_then(|a| a.as_str())
                    != Some(join)
            })
            .flat_map(|row| {
                map_column(row, "other_config")
                    .get("subnet")
                    .map(|s| {
                        s.split(',')
                            .filter_map(|c| c.trim().parse::<IpNet>().ok())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
