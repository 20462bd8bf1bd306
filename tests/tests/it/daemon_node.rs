//! The node's own port, ovn0: kube-ovn-daemon binds it to the controller's `node-<node>` port on
//! the join subnet and routes pod subnets through it, so the node reaches its pods.

use crate::daemon_pods::{MANIFESTS, Node, addresses, pinger};
use ovn_tests::{DEFAULT_TIMEOUT, Result, wait_until};

#[test]
fn chassis_daemon_node_reaches_pods_through_ovn0() -> Result<()> {
    let node = Node::start(|name| {
        format!("{MANIFESTS}---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n")
    })?;
    let name = node.chassis.name().to_owned();
    let (client, result) = node.plug("dev", "client-a");
    let pod_ip = addresses(&result)[0].clone();
    wait_until(DEFAULT_TIMEOUT, "ovn0 to get its join address", || {
        node.chassis
            .exec(["ip", "-o", "-4", "addr", "show", "dev", "ovn0"])
            .is_ok_and(|out| out.contains("100.64."))
    })
    .inspect_err(|_| eprintln!("daemon log:\n{}", node.daemon_log()))?;
    let ids = node
        .chassis
        .vsctl(["get", "Interface", "ovn0", "external_ids:iface-id"])?;
    assert_eq!(ids.trim().trim_matches('"'), format!("node-{name}"));
    let pinger = pinger();
    wait_until(
        DEFAULT_TIMEOUT,
        "the node to ping the pod through ovn0",
        || {
            node.chassis
                .exec([pinger.as_str(), "ping", &pod_ip, "1000"])
                .is_ok()
        },
    )
    .inspect_err(|_| {
        eprintln!(
            "routes: {:?}\ndaemon log:\n{}",
            node.chassis.exec(["ip", "route"]),
            node.daemon_log()
        );
    })?;
    // And the pod reaches the node's join address back (host-network traffic).
    let join = node
        .chassis
        .exec(["ip", "-o", "-4", "addr", "show", "dev", "ovn0"])?;
    let join_ip = join
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .unwrap()
        .to_owned();
    assert!(client.ping(&join_ip), "pod to node {join_ip}");
    Ok(())
}
