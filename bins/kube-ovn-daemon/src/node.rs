//! The node's own port: `ovn0`, an internal br-int port bound to the logical port
//! `node-<node>` on the join switch, with routes to every pod subnet via the join gateway, so
//! the node (kubelet probes, host-network pods) reaches pods.

use std::collections::BTreeMap;
use std::time::Duration;

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
    let (index, join) = loop {
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
    for subnet in source.pod_subnets(join_subnet) {
        let Some(gateway) = join
            .gateways
            .iter()
            .copied()
            .find(|g| g.is_ipv4() == subnet.addr().is_ipv4())
        else {
            continue;
        };
        netlink.add_route(subnet, gateway, index).await?;
    }
    Ok(())
}
