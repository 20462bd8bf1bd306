//! ADD, DEL and CHECK: a pod's veth pair, its addresses and routes, and its br-int port.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use kube_ovn_cni::{CniInterface, CniIp, CniResult, CniRoute, DaemonRequest};

use crate::error::{Error, Result};
use crate::netlink::{Netlink, link_mac, parse_mac};
use crate::network::PortNetwork;
use crate::ovs::{Ovs, Rates};
use crate::source::NetworkSource;

/// Everything the daemon needs to plug pods on this node.
#[derive(Debug, Clone)]
pub struct Plugger {
    /// The Open_vSwitch database.
    pub ovs: Ovs,
    /// Where pods' networks come from (NB in manifest mode, the API in a cluster).
    pub source: NetworkSource,
    /// Netlink in the daemon's namespace (where br-int's ports live).
    pub netlink: Netlink,
    /// Turn tx checksum offload off (the userspace datapath needs it for TCP).
    pub netdev: bool,
    /// MTU of pod interfaces.
    pub mtu: u32,
    /// How long ADD waits for the controller's allocation.
    pub address_timeout: Duration,
    /// How long ADD waits for ovn-controller's `ovn-installed`.
    pub install_timeout: Duration,
}

/// The host end's name for the pod interface `ifname` of container `container_id`: 12
/// characters of a SHA-256 digest of both, then `_h` (14 bytes, within IFNAMSIZ's 15).
///
/// Kube-OVN names it after the container id's first 12 characters, so two containers sharing
/// them, or two interfaces of one container, took the same name and the second ADD tore down
/// the first pod's port. The digest's 60 bits make that practically impossible, and the name is
/// a pure function of what every ADD, CHECK and DEL of that interface receives, so DEL finds it
/// again, also after a daemon restart.
pub fn host_veth_name(container_id: &str, ifname: &str) -> Result<String> {
    veth_name(container_id, ifname, "_h")
}

fn veth_name(container_id: &str, ifname: &str, suffix: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    // Lower-case base32 ("extended hex"): only characters every interface name tool accepts.
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    if container_id.trim().is_empty() {
        return Err(Error::BadRequest(
            "CNI_CONTAINERID is empty: the veth is named after it".into(),
        ));
    }
    let digest = Sha256::new()
        .chain_update(container_id.as_bytes())
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        .chain_update([0u8])
        .chain_update(ifname.as_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let bits = u64::from_be_bytes(head);
    let stem: String = (0..12)
        .map(|i| char::from(ALPHABET[((bits >> (59 - 5 * i)) & 31) as usize]))
        .collect();
    Ok(format!("{stem}{suffix}"))
}

fn logical_port(request: &DaemonRequest) -> Result<String> {
    if request.pod_name.is_empty() || request.pod_namespace.is_empty() {
        return Err(Error::BadRequest(
            "K8S_POD_NAME and K8S_POD_NAMESPACE are required".into(),
        ));
    }
    Ok(format!("{}.{}", request.pod_name, request.pod_namespace))
}

impl Plugger {
    async fn network(&self, request: &DaemonRequest) -> Result<PortNetwork> {
        self.source
            .pod_network(
                &request.pod_namespace,
                &request.pod_name,
                self.address_timeout,
            )
            .await
    }

    /// ADD: plugs the pod and returns the CNI result once ovn-controller installed its port.
    pub async fn add(&self, request: &DaemonRequest) -> Result<CniResult> {
        let port = logical_port(request)?;
        if request.ifname.is_empty() || request.ifname.len() > 15 {
            return Err(Error::BadRequest(format!(
                "CNI_IFNAME {:?} is not a valid interface name",
                request.ifname
            )));
        }
        let netns = Path::new(&request.netns);
        // Fail fast on a bad namespace, before waiting for an address.
        let pod = Netlink::in_netns(netns).await?;
        let started = tokio::time::Instant::now();
        let network = self.network(request).await?;
        tracing::debug!(
            port,
            wait_ms = started.elapsed().as_millis(),
            "address known"
        );
        let host = host_veth_name(&request.container_id, &request.ifname)?;
        match self.plug(request, &port, &network, &pod, &host).await {
            Ok(result) => Ok(result),
            Err(error) => {
                // Leave nothing half-plugged: the runtime retries ADD or calls DEL.
                let _ = self.netlink.delete(&host).await;
                let _ = self.ovs.del_port(&host).await;
                Err(error)
            }
        }
    }

    async fn plug(
        &self,
        request: &DaemonRequest,
        port: &str,
        network: &PortNetwork,
        pod: &Netlink,
        host: &str,
    ) -> Result<CniResult> {
        let mac = parse_mac(&network.mac).ok_or_else(|| Error::BadPortData {
            port: port.to_owned(),
            reason: format!("mac_address {:?}", network.mac),
        })?;
        let netlink_started = tokio::time::Instant::now();
        // A repeated ADD (runtime retry) starts from scratch.
        self.netlink.delete(host).await?;
        pod.delete(&request.ifname).await?;
        let peer = veth_name(&request.container_id, &request.ifname, "_c")?;
        self.netlink.delete(&peer).await?;
        let (host_index, peer_index) = self.netlink.create_veth(host, &peer, self.mtu).await?;
        self.netlink.set_mac(peer_index, mac).await?;
        if self.netdev {
            // Features survive the move into the pod, so both ends are done from here.
            for device in [host.to_owned(), peer.clone()] {
                tokio::task::spawn_blocking(move || crate::ethtool::tx_checksum_off(&device))
                    .await
                    .map_err(|e| Error::Ethtool {
                        what: "tx checksum offload".into(),
                        reason: e.to_string(),
                    })??;
            }
        }
        self.netlink
            .move_to_netns(peer_index, Path::new(&request.netns))
            .await?;
        self.netlink.set_up(host_index).await?;

        // Renamed inside the pod: the name may be taken in the daemon's namespace.
        let index = pod.index(&peer).await?.ok_or_else(|| {
            Error::Database(format!("{peer} did not arrive in {}", request.netns))
        })?;
        pod.rename(index, &request.ifname).await?;
        for address in &network.addresses {
            pod.add_address(index, *address).await?;
        }
        pod.set_up(index).await?;
        let mut routes = Vec::new();
        for address in &network.addresses {
            if let Some(gateway) = network.gateway_for(address) {
                let default: IpNet = if gateway.is_ipv4() {
                    "0.0.0.0/0".parse().unwrap_or_default()
                } else {
                    "::/0".parse().unwrap_or_default()
                };
                pod.add_route(default, gateway, index).await?;
                routes.push(CniRoute {
                    dst: default.to_string(),
                    gw: Some(gateway.to_string()),
                });
            }
        }

        let ips: Vec<String> = network
            .addresses
            .iter()
            .map(|a| a.addr().to_string())
            .collect();
        let ids = BTreeMap::from([
            ("iface-id".to_owned(), port.to_owned()),
            ("pod_name".to_owned(), request.pod_name.clone()),
            ("pod_namespace".to_owned(), request.pod_namespace.clone()),
            ("ip".to_owned(), ips.join(",")),
            ("pod_netns".to_owned(), request.netns.clone()),
        ]);
        let rates = Rates {
            ingress_mbps: network.ingress_rate,
            egress_mbps: network.egress_rate,
        };
        let ovs_started = tokio::time::Instant::now();
        self.ovs.add_port(host, None, &ids, rates).await?;
        let transacted = ovs_started.elapsed();
        self.ovs.wait_installed(host, self.install_timeout).await?;
        // Where an ADD's time goes: the kernel side, the OVSDB round trip, ovn-controller.
        tracing::debug!(
            port,
            netlink_ms = (ovs_started - netlink_started).as_millis(),
            transact_ms = transacted.as_millis(),
            installed_ms = (ovs_started.elapsed() - transacted).as_millis(),
            "plugged"
        );

        let host_mac = match self.netlink.link(host).await? {
            Some(link) => link_mac(&link).unwrap_or_default(),
            None => String::new(),
        };
        Ok(CniResult {
            cni_version: request.cni_version.clone(),
            interfaces: vec![
                CniInterface {
                    name: host.to_owned(),
                    mac: host_mac,
                    sandbox: None,
                },
                CniInterface {
                    name: request.ifname.clone(),
                    mac: network.mac.clone(),
                    sandbox: Some(request.netns.clone()),
                },
            ],
            ips: network
                .addresses
                .iter()
                .map(|a| CniIp {
                    version: None,
                    address: a.to_string(),
                    gateway: network.gateway_for(a).map(|g| g.to_string()),
                    interface: Some(1),
                })
                .collect(),
            routes,
            dns: Default::default(),
        })
    }

    /// DEL: removes the veth pair and the br-int port. Everything already gone is fine,
    /// the pod's namespace included.
    pub async fn del(&self, request: &DaemonRequest) -> Result<()> {
        let host = host_veth_name(&request.container_id, &request.ifname)?;
        self.netlink.delete(&host).await?;
        self.ovs.del_port(&host).await?;
        // The host end normally takes the pod end with it; a pod end left alone (a crash
        // between creating and moving) is removed too, when the namespace still exists.
        if !request.netns.is_empty() && Path::new(&request.netns).exists() {
            if let Ok(pod) = Netlink::in_netns(Path::new(&request.netns)).await {
                if let Some(link) = pod.link(&request.ifname).await? {
                    let known = match logical_port(request) {
                        Ok(_) => self
                            .source
                            .current_pod_network(&request.pod_namespace, &request.pod_name)
                            .await
                            .unwrap_or_else(|error| {
                                tracing::warn!(%error, "DEL cannot tell whether the pod's interface is ours");
                                None
                            }),
                        Err(_) => None,
                    };
                    let is_ours =
                        known.is_some_and(|n| link_mac(&link).as_deref() == Some(n.mac.as_str()));
                    if is_ours {
                        pod.delete(&request.ifname).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// CHECK: the interface, its addresses and MAC, and the installed br-int port are as ADD
    /// left them.
    pub async fn check(&self, request: &DaemonRequest) -> Result<()> {
        let port = logical_port(request)?;
        let network = self.network(request).await?;
        let host = host_veth_name(&request.container_id, &request.ifname)?;
        if self.netlink.index(&host).await?.is_none() {
            return Err(Error::CheckFailed(format!(
                "host interface {host} is missing"
            )));
        }
        let ids = self
            .ovs
            .interface_ids(&host)
            .ok_or_else(|| Error::CheckFailed(format!("br-int has no interface {host}")))?;
        if ids.get("iface-id") != Some(&port) {
            return Err(Error::CheckFailed(format!(
                "interface {host} has iface-id {:?}, expected {port}",
                ids.get("iface-id")
            )));
        }
        if ids.get("ovn-installed").map(String::as_str) != Some("true") {
            return Err(Error::CheckFailed(format!(
                "ovn-controller has not installed {host}"
            )));
        }
        let pod = Netlink::in_netns(Path::new(&request.netns)).await?;
        let link = pod.link(&request.ifname).await?.ok_or_else(|| {
            Error::CheckFailed(format!(
                "{} is missing in {}",
                request.ifname, request.netns
            ))
        })?;
        if link_mac(&link).as_deref() != Some(network.mac.as_str()) {
            return Err(Error::CheckFailed(format!(
                "{} has MAC {:?}, expected {}",
                request.ifname,
                link_mac(&link),
                network.mac
            )));
        }
        let present = pod.addresses(link.header.index).await?;
        for address in &network.addresses {
            if !present.contains(address) {
                return Err(Error::CheckFailed(format!(
                    "{} lacks address {address} (has {present:?})",
                    request.ifname
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_are_unique_per_container_and_interface_and_stable() {
        let id = "0123456789abcdef0123456789abcdef";
        let name = host_veth_name(id, "eth0").unwrap();
        assert_eq!(name.len(), 14, "{name}");
        assert!(name.ends_with("_h"));
        assert!(
            name[..12]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        // Stable: a pure function of its inputs (DEL recomputes it), pinned so a change of
        // scheme, which would orphan existing ports, is deliberate.
        assert_eq!(name, host_veth_name(id, "eth0").unwrap());
        assert_eq!(name, "1nhv5bn7f3fu_h");
        // Two containers sharing their first 12 characters, and two interfaces of one
        // container, no longer collide.
        let sibling = "0123456789abcdef0123456789abcdee";
        assert_ne!(name, host_veth_name(sibling, "eth0").unwrap());
        assert_ne!(name, host_veth_name(id, "net1").unwrap());
        assert_ne!(
            host_veth_name("ab", "c").unwrap(),
            host_veth_name("a", "bc").unwrap()
        );
        // The pod-side temporary name differs from the host end's.
        assert_ne!(veth_name(id, "eth0", "_c").unwrap(), name);
        assert!(host_veth_name(" ", "eth0").is_err());
        // Over many ids differing only in their tail, no two names are the same.
        let names: std::collections::HashSet<String> = (0..20_000)
            .map(|n| host_veth_name(&format!("0123456789ab{n:052x}"), "eth0").unwrap())
            .collect();
        assert_eq!(names.len(), 20_000);
    }
}
