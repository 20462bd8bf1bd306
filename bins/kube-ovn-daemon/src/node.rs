//! The node's own port: `ovn0`, an internal br-int port bound to the logical port
//! `node-<node>` on the join switch, with routes to every pod subnet via the join gateway, so
//! the node (kubelet probes, host-network pods) reaches pods.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::nb::JOIN_SWITCH;
use crate::netlink::{Netlink, parse_mac};
use crate::network::PortNetwork;
use crate::ovs::{Ovs, Rates};
use crate::source::NetworkSource;

/// The node port's interface name.
pub const NODE_INTERFACE: &str = "ovn0";

/// Creates ovn0 once the controller has allocated the node's join address, then keeps the
/// routes to pod subnets current as subnets come and go. Runs until the daemon stops.
pub async fn run_node_port(
    node: String,
    source: NetworkSource,
    ovs: Ovs,
    netlink: Netlink,
    mtu: u32,
    timeout: Duration,
) {
    let port = format!("node-{node}");
    let (index, mut join) = loop {
        match ensure_ovn0(&node, &source, &ovs, &netlink, mtu, timeout).await {
            Ok(ready) => break ready,
            Err(error) => {
                tracing::warn!(%error, "ovn0 is not ready; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    tracing::info!(port, "ovn0 is up");
    let mut changes = source.changes();
    loop {
        changes.borrow_and_update();
        // A Node deleted and created again (or a join subnet re-addressed) gets a new join
        // address: ovn0 follows it, or the node would keep an address OVN no longer routes.
        match source.current_node_network(&node) {
            Ok(Some(now)) if now != join => {
                match readdress_ovn0(&join, &now, &ovs, &netlink, index).await {
                    Ok(()) => {
                        tracing::info!(port, addresses = ?now.addresses, "ovn0 re-addressed");
                        join = now;
                    }
                    Err(error) => tracing::warn!(%error, "re-addressing ovn0"),
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reading the node's join address"),
        }
        if let Err(error) = route_pod_subnets(&join, &source, &netlink, index).await {
            tracing::warn!(%error, "routing pod subnets through ovn0");
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

async fn ensure_ovn0(
    node: &str,
    source: &NetworkSource,
    ovs: &Ovs,
    netlink: &Netlink,
    mtu: u32,
    timeout: Duration,
) -> Result<(u32, PortNetwork)> {
    let network = source.node_network(node, timeout).await?;
    let port = network.port.as_str();
    let mac = parse_mac(&network.mac).ok_or_else(|| Error::BadPortData {
        port: port.to_owned(),
        reason: format!("mac_address {:?}", network.mac),
    })?;
    let ips: Vec<String> = network
        .addresses
        .iter()
        .map(|a| a.addr().to_string())
        .collect();
    let ids = BTreeMap::from([
        ("iface-id".to_owned(), port.to_owned()),
        ("ip".to_owned(), ips.join(",")),
    ]);
    if ovs
        .interface_ids(NODE_INTERFACE)
        .as_ref()
        .and_then(|i| i.get("iface-id"))
        != Some(&port.to_owned())
    {
        ovs.add_port(NODE_INTERFACE, Some("internal"), &ids, Rates::default())
            .await?;
    }
    // ovs-vswitchd creates the device asynchronously.
    let deadline = tokio::time::Instant::now() + timeout;
    let index = loop {
        if let Some(index) = netlink.index(NODE_INTERFACE).await? {
            break index;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Database(format!(
                "ovs-vswitchd did not create {NODE_INTERFACE} within {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    netlink.set_mac(index, mac).await?;
    netlink.set_mtu(index, mtu).await?;
    for address in &network.addresses {
        netlink.add_address(index, *address).await?;
    }
    netlink.set_up(index).await?;
    ovs.wait_installed(NODE_INTERFACE, timeout).await?;
    Ok((index, network))
}

/// Moves ovn0 from network `old` to `new`: its MAC, its addresses (those of `old` that `new`
/// lacks go, so the node answers only for what OVN routes to it) and the interface's `ip` id.
/// The routes follow on the next pass, through `new`'s gateways.
async fn readdress_ovn0(
    old: &PortNetwork,
    new: &PortNetwork,
    ovs: &Ovs,
    netlink: &Netlink,
    index: u32,
) -> Result<()> {
    if new.mac != old.mac {
        let mac = parse_mac(&new.mac).ok_or_else(|| Error::BadPortData {
            port: new.port.clone(),
            reason: format!("mac_address {:?}", new.mac),
        })?;
        netlink.set_mac(index, mac).await?;
    }
    let (gone, added) = address_changes(&old.addresses, &new.addresses);
    for address in gone {
        netlink.delete_address(index, address).await?;
    }
    for address in added {
        netlink.add_address(index, address).await?;
    }
    let ips: Vec<String> = new.addresses.iter().map(|a| a.addr().to_string()).collect();
    ovs.set_interface_id(NODE_INTERFACE, "ip", &ips.join(","))
        .await
}

/// The addresses to remove (in `old`, not in `new`) and to add (in `new`, not in `old`).
pub fn address_changes(old: &[IpNet], new: &[IpNet]) -> (Vec<IpNet>, Vec<IpNet>) {
    let gone = old.iter().filter(|a| !new.contains(a)).copied().collect();
    let added = new.iter().filter(|a| !old.contains(a)).copied().collect();
    (gone, added)
}

/// A route out of ovn0: destination and gateway.
pub type Route = (IpNet, IpAddr);

/// The routes ovn0 should carry: each pod subnet via the join gateway of its family (a
/// subnet of a family the join subnet lacks is unreachable from the node and skipped).
pub fn wanted_routes(join: &PortNetwork, subnets: &[IpNet]) -> BTreeMap<IpNet, IpAddr> {
    subnets
        .iter()
        .filter_map(|subnet| {
            join.gateway_of_family(subnet.addr().is_ipv4())
                .map(|gateway| (*subnet, gateway))
        })
        .collect()
}

/// What to change on ovn0: our routes to delete (unwanted, or via another gateway) and the
/// wanted routes to add. Routes without our protocol mark never appear in `ours`.
pub fn route_changes(wanted: &BTreeMap<IpNet, IpAddr>, ours: &[Route]) -> (Vec<Route>, Vec<Route>) {
    let stale = ours
        .iter()
        .filter(|(dst, gw)| wanted.get(dst) != Some(gw))
        .copied()
        .collect();
    let missing = wanted
        .iter()
        .map(|(dst, gw)| (*dst, *gw))
        .filter(|route| !ours.contains(route))
        .collect();
    (stale, missing)
}

/// Makes ovn0's routes (those marked as ours) exactly the wanted ones; routes someone else
/// added stay untouched, even when they are in the way of a wanted one.
async fn route_pod_subnets(
    join: &PortNetwork,
    source: &NetworkSource,
    netlink: &Netlink,
    index: u32,
) -> Result<()> {
    let join_subnet = if join.subnet.is_empty() {
        JOIN_SWITCH
    } else {
        join.subnet.as_str()
    };
    let wanted = wanted_routes(join, &source.pod_subnets(join_subnet));
    let ours = netlink.owned_routes(index).await?;
    let (stale, missing) = route_changes(&wanted, &ours);
    for (destination, gateway) in stale {
        netlink
            .delete_owned_route(destination, gateway, index)
            .await?;
        tracing::info!(%destination, %gateway, "removed the route through ovn0");
    }
    for (destination, gateway) in missing {
        if netlink.add_owned_route(destination, gateway, index).await? {
            tracing::info!(%destination, %gateway, "routed through ovn0");
        } else {
            tracing::warn!(
                %destination,
                "a route the daemon did not create is in the way; leaving it"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn routes_are_reconciled_per_family_through_the_join_gateway() {
        let join = PortNetwork {
            port: "node-n1".into(),
            addresses: vec![net("100.64.0.2/16")],
            gateways: vec![ip("100.64.0.1")],
            mac: "0a:00:00:00:00:02".into(),
            subnet: "join".into(),
            ingress_rate: None,
            egress_rate: None,
        };
        let wanted = wanted_routes(
            &join,
            &[
                net("10.16.0.0/16"),
                net("10.120.0.0/24"),
                net("fd00:120::/64"),
            ],
        );
        assert_eq!(
            wanted.keys().copied().collect::<Vec<_>>(),
            vec![net("10.16.0.0/16"), net("10.120.0.0/24")],
            "no v6 join gateway, no v6 route"
        );
        let ours = [
            (net("10.16.0.0/16"), ip("100.64.0.1")),
            (net("10.120.0.0/24"), ip("100.64.0.9")),
            (net("10.130.0.0/24"), ip("100.64.0.1")),
        ];
        let (stale, missing) = route_changes(&wanted, &ours);
        assert_eq!(
            stale,
            vec![
                (net("10.120.0.0/24"), ip("100.64.0.9")),
                (net("10.130.0.0/24"), ip("100.64.0.1"))
            ]
        );
        assert_eq!(missing, vec![(net("10.120.0.0/24"), ip("100.64.0.1"))]);
        let (stale, missing) = route_changes(&wanted, &[]);
        assert!(stale.is_empty());
        assert_eq!(missing.len(), 2);
    }

    #[test]
    fn a_new_join_address_replaces_only_what_changed() {
        let old = [net("100.64.0.2/16"), net("fd00:100:64::2/64")];
        let new = [net("100.64.0.7/16"), net("fd00:100:64::2/64")];
        let (gone, added) = address_changes(&old, &new);
        assert_eq!(gone, vec![net("100.64.0.2/16")]);
        assert_eq!(added, vec![net("100.64.0.7/16")]);
        let (gone, added) = address_changes(&new, &new);
        assert!(gone.is_empty() && added.is_empty());
        // A prefix change is a different address.
        let (gone, added) = address_changes(&[net("100.64.0.2/16")], &[net("100.64.0.2/17")]);
        assert_eq!((gone.len(), added.len()), (1, 1));
    }
}
