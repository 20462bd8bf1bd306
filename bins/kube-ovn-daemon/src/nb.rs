//! Manifest mode: a pod's network as the controller wrote it on the NB Logical_Switch_Port
//! `<pod>.<ns>` (the annotation names as `external_ids`), and the subnets the node routes to.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ipnet::IpNet;
use ovsdb_client::client::{Client, ClientConfig};
use ovsdb_client::{Datum, Replica};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::ovs::{map_column, replicate, wait_for};

const DB: &str = "OVN_Northbound";
/// The join subnet's switch (node addresses), as Kube-OVN names it.
pub const JOIN_SWITCH: &str = "join";

/// One logical port's network, as the pod (or the node's ovn0) gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct PortNetwork {
    /// The logical switch port's name.
    pub port: String,
    /// Addresses with their subnet's prefix length, v4 first as the controller orders them.
    pub addresses: Vec<IpNet>,
    /// The subnet gateways, one per family.
    pub gateways: Vec<IpAddr>,
    /// The MAC address.
    pub mac: String,
    /// The subnet (logical switch).
    pub subnet: String,
    /// `ingress_rate` in Mbit/s, when the port carries it.
    pub ingress_rate: Option<u64>,
    /// `egress_rate` in Mbit/s, when the port carries it.
    pub egress_rate: Option<u64>,
}

impl PortNetwork {
    /// The gateway for `address`'s family.
    pub fn gateway_for(&self, address: &IpNet) -> Option<IpAddr> {
        self.gateways
            .iter()
            .copied()
            .find(|g| g.is_ipv4() == address.addr().is_ipv4())
    }
}

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
        let (Some(ips), Some(mac)) = (ids.get("ip_address"), ids.get("mac_address")) else {
            return Ok(None);
        };
        if ips.is_empty() || mac.is_empty() {
            return Ok(None);
        }
        parse_port(port, &ids, ips, mac).map(Some)
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
                port: port.to_owned(),
                seconds: timeout.as_secs(),
                reason: "the controller has not written the logical switch port with \
                         ip_address and mac_address in external_ids"
                    .to_owned(),
            }),
        }
    }

    /// The CIDRs of every subnet but the join subnet: what the node routes through ovn0.
    pub fn pod_subnets(&self) -> Vec<IpNet> {
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
                    != Some(JOIN_SWITCH)
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

fn parse_port(
    port: &str,
    ids: &std::collections::BTreeMap<String, String>,
    ips: &str,
    mac: &str,
) -> Result<PortNetwork> {
    let bad = |reason: String| Error::BadPortData {
        port: port.to_owned(),
        reason,
    };
    let list = |key: &str| -> Vec<&str> {
        ids.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let cidrs = list("cidr")
        .into_iter()
        .map(|c| {
            c.parse::<IpNet>()
                .map_err(|e| bad(format!("cidr {c:?}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut addresses = Vec::new();
    for ip in ips.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ip: IpAddr = ip
            .parse()
            .map_err(|e| bad(format!("ip_address {ip:?}: {e}")))?;
        let cidr = cidrs
            .iter()
            .find(|c| c.contains(&ip))
            .ok_or_else(|| bad(format!("ip_address {ip} is in none of the cidrs {cidrs:?}")))?;
        addresses.push(IpNet::new(ip, cidr.prefix_len()).map_err(|e| bad(e.to_string()))?);
    }
    let gateways = list("gateway")
        .into_iter()
        .map(|g| {
            g.parse::<IpAddr>()
                .map_err(|e| bad(format!("gateway {g:?}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    if crate::netlink::parse_mac(mac).is_none() {
        return Err(bad(format!("mac_address {mac:?} is not aa:bb:cc:dd:ee:ff")));
    }
    let rate = |key: &str| -> Result<Option<u64>> {
        ids.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|e| bad(format!("{key} {v:?} (Mbit/s): {e}")))
            })
            .transpose()
    };
    Ok(PortNetwork {
        port: port.to_owned(),
        addresses,
        gateways,
        mac: mac.to_owned(),
        subnet: ids.get("logical_switch").cloned().unwrap_or_default(),
        ingress_rate: rate("ingress_rate")?,
        egress_rate: rate("egress_rate")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ids(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn dual_stack_port_data_parses_with_prefixes() {
        let ids = ids(&[
            ("cidr", "10.0.0.0/24,fd00::/64"),
            ("gateway", "10.0.0.1,fd00::1"),
            ("logical_switch", "sn"),
            ("egress_rate", "10"),
        ]);
        let net = parse_port("p.ns", &ids, "10.0.0.5,fd00::5", "0a:00:00:00:00:05").unwrap();
        assert_eq!(
            net.addresses,
            vec![
                "10.0.0.5/24".parse::<IpNet>().unwrap(),
                "fd00::5/64".parse().unwrap()
            ]
        );
        assert_eq!(
            net.gateway_for(&net.addresses[1]),
            Some("fd00::1".parse().unwrap())
        );
        assert_eq!(net.egress_rate, Some(10));
        assert_eq!(net.subnet, "sn");
    }

    #[test]
    fn bad_port_data_names_the_field() {
        let base = ids(&[("cidr", "10.0.0.0/24"), ("gateway", "10.0.0.1")]);
        for (ips, mac, field) in [
            ("10.0.1.5", "0a:00:00:00:00:05", "none of the cidrs"),
            ("10.0.0.x", "0a:00:00:00:00:05", "ip_address"),
            ("10.0.0.5", "zz", "mac_address"),
        ] {
            let err = parse_port("p.ns", &base, ips, mac).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains("p.ns"), "{err}");
        }
        let mut rated = base.clone();
        rated.insert("ingress_rate".into(), "fast".into());
        let err = parse_port("p.ns", &rated, "10.0.0.5", "0a:00:00:00:00:05").unwrap_err();
        assert!(err.to_string().contains("ingress_rate"), "{err}");
    }
}
