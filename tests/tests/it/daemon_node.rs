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

/// ovn0's IPv4 address, if it has one.
fn ovn0_v4(node: &Node) -> Option<String> {
    let out = node
        .chassis
        .exec(["ip", "-o", "-4", "addr", "show", "dev", "ovn0"])
        .ok()?;
    let mut found = out
        .lines()
        .filter_map(|l| l.split_whitespace().skip_while(|w| *w != "inet").nth(1))
        .map(|cidr| cidr.split('/').next().unwrap_or(cidr).to_owned());
    let first = found.next()?;
    assert!(found.next().is_none(), "ovn0 has one IPv4 address:\n{out}");
    Some(first)
}

#[test]
fn chassis_daemon_ovn0_follows_a_recreated_nodes_new_join_address() -> Result<()> {
    let with_node = |name: &str| {
        format!("{MANIFESTS}---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n")
    };
    let node = Node::start(with_node)?;
    let name = node.chassis.name().to_owned();
    let port = format!("node-{name}");
    let (_client, result) = node.plug("dev", "client-a");
    let pod_ip = addresses(&result)[0].clone();
    let mut first = None;
    wait_until(DEFAULT_TIMEOUT, "ovn0 to get its join address", || {
        first = ovn0_v4(&node);
        first.is_some()
    })
    .inspect_err(|_| eprintln!("daemon log:\n{}", node.daemon_log()))?;
    let first = first.unwrap();

    // The Node goes: the controller releases its address and removes its port.
    node.rewrite_manifests(MANIFESTS);
    wait_until(DEFAULT_TIMEOUT, "the node's port to go", || {
        node.nbctl([
            "--bare",
            "--columns=name",
            "find",
            "Logical_Switch_Port",
            &format!("name={port}"),
        ])
        .is_ok_and(|out| out.trim().is_empty())
    })?;
    // It comes back: a never-used join address, which ovn0 takes in place of the old one.
    node.rewrite_manifests(&with_node(&name));
    let mut second = None;
    wait_until(DEFAULT_TIMEOUT, "ovn0 to take the new join address", || {
        second = ovn0_v4(&node).filter(|ip| *ip != first);
        second.is_some()
    })
    .inspect_err(|_| eprintln!("daemon log:\n{}", node.daemon_log()))?;
    let second = second.unwrap();
    let ids = node
        .chassis
        .vsctl(["get", "Interface", "ovn0", "external_ids:ip"])?;
    assert_eq!(ids.trim().trim_matches('"'), second);
    let nb_ids = node.nbctl(["get", "Logical_Switch_Port", &port, "addresses"])?;
    assert!(
        nb_ids.contains(&second),
        "NB port addresses {nb_ids} lack {second}"
    );
    let pinger = pinger();
    wait_until(
        DEFAULT_TIMEOUT,
        "the node to ping the pod from its new address",
        || {
            node.chassis
                .exec([pinger.as_str(), "ping", &pod_ip, "1000"])
                .is_ok()
        },
    )
    .inspect_err(|_| eprintln!("daemon log:\n{}", node.daemon_log()))?;
    Ok(())
}

/// The routes on ovn0, one per line (`ip -o route`), v4 and v6.
fn ovn0_routes(node: &Node) -> String {
    let v4 = node
        .chassis
        .exec(["ip", "-o", "-4", "route", "show", "dev", "ovn0"])
        .unwrap_or_default();
    let v6 = node
        .chassis
        .exec(["ip", "-o", "-6", "route", "show", "dev", "ovn0"])
        .unwrap_or_default();
    format!("{v4}{v6}")
}

fn has_route(routes: &str, cidr: &str) -> bool {
    routes
        .lines()
        .any(|l| l.split_whitespace().next() == Some(cidr))
}

#[test]
fn chassis_daemon_ovn0_routes_follow_subnets_and_spare_foreign_routes() -> Result<()> {
    const EXTRA: &str = "---\napiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: sn-extra}\n\
                         spec: {cidrBlock: \"10.130.0.0/24,fd00:130::/64\"}\n";
    let mut base = String::new();
    let node = Node::start(|name| {
        base = format!("{MANIFESTS}---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n");
        format!("{base}{EXTRA}")
    })?;
    let dump = |node: &Node| {
        eprintln!(
            "ovn0 routes:\n{}\ndaemon log:\n{}",
            ovn0_routes(node),
            node.daemon_log()
        )
    };
    wait_until(
        DEFAULT_TIMEOUT,
        "ovn0 to route every pod subnet (the join subnet is v4 only)",
        || {
            let routes = ovn0_routes(&node);
            ["10.110.0.0/24", "10.120.0.0/24", "10.130.0.0/24"]
                .iter()
                .all(|cidr| has_route(&routes, cidr))
        },
    )
    .inspect_err(|_| dump(&node))?;
    let routes = ovn0_routes(&node);
    let via = routes
        .lines()
        .find(|l| l.starts_with("10.130.0.0/24"))
        .and_then(|l| l.split_whitespace().skip_while(|w| *w != "via").nth(1))
        .expect("a gateway")
        .to_owned();
    // Routes the daemon did not create stay, even to a subnet it stops routing.
    node.chassis.exec([
        "ip",
        "route",
        "add",
        "10.99.0.0/24",
        "via",
        &via,
        "dev",
        "ovn0",
    ])?;
    node.chassis.exec([
        "ip",
        "route",
        "add",
        "10.130.0.128/25",
        "via",
        &via,
        "dev",
        "ovn0",
    ])?;

    // The subnet goes away: its routes go, the others and the foreign ones stay.
    node.rewrite_manifests(&base);
    wait_until(DEFAULT_TIMEOUT, "ovn0's routes to sn-extra to go", || {
        let routes = ovn0_routes(&node);
        !has_route(&routes, "10.130.0.0/24")
    })
    .inspect_err(|_| dump(&node))?;
    let routes = ovn0_routes(&node);
    for cidr in [
        "10.110.0.0/24",
        "10.120.0.0/24",
        "10.99.0.0/24",
        "10.130.0.128/25",
    ] {
        assert!(
            has_route(&routes, cidr),
            "{cidr} is still routed:\n{routes}"
        );
    }

    // It comes back: routed again.
    node.rewrite_manifests(&format!("{base}{EXTRA}"));
    wait_until(DEFAULT_TIMEOUT, "ovn0 to route sn-extra again", || {
        let routes = ovn0_routes(&node);
        has_route(&routes, "10.130.0.0/24")
    })
    .inspect_err(|_| dump(&node))?;
    Ok(())
}
