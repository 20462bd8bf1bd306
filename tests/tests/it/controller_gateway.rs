//! Subnet gateways end to end: `kube-ovn-controller --manifests DIR --once` against real NB and
//! northd, asserted with ovn-trace. Distributed subnets leave through the node each pod runs on,
//! centralized ones through their gateway node, and traffic between cluster subnets is routed
//! normally (the 31000 allow beats the 29000 reroute).

use std::path::PathBuf;
use std::process::Command;

use ovn_tests::{OvnCentral, ScratchDir};

fn controller_path() -> PathBuf {
    crate::cli_common::workspace_binary("kube-ovn-controller", "KUBE_OVN_CONTROLLER")
}

/// No Vpc object: the controller gives the default Vpc its default route (towards the join
/// subnet's gateway, as Kube-OVN does), without which traffic leaving the cluster would be
/// dropped at the routing stage before any 29000 policy could pick a node.
const MANIFESTS: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: kube-1}
---
apiVersion: v1
kind: Node
metadata: {name: kube-2}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-dist}
spec: {cidrBlock: 10.30.0.0/24, namespaces: [dist], natOutgoing: true}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-cent}
spec: {cidrBlock: 10.40.0.0/24, namespaces: [cent], gatewayType: centralized, gatewayNode: kube-2}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: dist}
spec: {nodeName: kube-1, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: dist}
spec: {nodeName: kube-2, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: cent}
spec: {nodeName: kube-1, containers: [{name: c, image: x}]}
"#;

fn get(central: &OvnCentral, table: &str, record: &str, column: &str) -> String {
    central
        .nb
        .nbctl(["get", table, record, column])
        .unwrap()
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// The ovn-trace of a TCP packet from a pod port to `dst`, sent to its router.
fn trace(central: &OvnCentral, port: &str, ls: &str, dst: &str) -> String {
    let ids = |k: &str| {
        get(
            central,
            "Logical_Switch_Port",
            port,
            &format!("external_ids:{k}"),
        )
    };
    let router_mac = get(
        central,
        "Logical_Router_Port",
        &format!("ovn-cluster-{ls}"),
        "mac",
    );
    let flow = format!(
        "inport == \"{port}\" && eth.src == {} && eth.dst == {router_mac} && ip4.src == {} && ip4.dst == {dst} && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == 80",
        ids("mac_address"),
        ids("ip_address"),
    );
    central.ovn_trace(["--minimal", ls, &flow]).unwrap()
}

#[test]
fn controller_gateways_reroute_to_node_join_addresses() {
    let central = OvnCentral::start().unwrap();
    let dir = ScratchDir::new("gateway-manifests").unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), MANIFESTS).unwrap();
    let out = Command::new(controller_path())
        .args([
            "--manifests",
            dir.path().to_str().unwrap(),
            "--ovn-nb",
            &central.nb.remote(),
            "--once",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    central.wait_synced().unwrap();
    let join1 = get(
        &central,
        "Logical_Switch_Port",
        "node-kube-1",
        "external_ids:ip_address",
    );
    let join2 = get(
        &central,
        "Logical_Switch_Port",
        "node-kube-2",
        "external_ids:ip_address",
    );
    assert!(join1.starts_with("100.64.") && join2.starts_with("100.64."));
    let routes = central.nb.nbctl(["lr-route-list", "ovn-cluster"]).unwrap();
    let default_route = routes
        .lines()
        .find(|l| l.trim_start().starts_with("0.0.0.0/0"))
        .unwrap_or_else(|| panic!("no default route:\n{routes}"));
    assert!(
        default_route.contains("100.64.0.1") && default_route.contains("dst-ip"),
        "{routes}"
    );
    let policies = central.nb.nbctl(["lr-policy-list", "ovn-cluster"]).unwrap();
    assert!(
        policies.contains("31000") && policies.contains("ip4.dst == 10.30.0.0/24"),
        "{policies}"
    );
    assert!(
        policies.contains("29000") && policies.contains("ip4.src == 10.40.0.0/24"),
        "{policies}"
    );

    // Distributed: each pod leaves through its own node's ovn0.
    let t = trace(&central, "a.dist", "sn-dist", "8.8.8.8");
    assert!(
        t.contains("output(\"node-kube-1\")") && !t.contains("node-kube-2"),
        "a (on kube-1) -> outside:\n{t}"
    );
    let t = trace(&central, "b.dist", "sn-dist", "8.8.8.8");
    assert!(
        t.contains("output(\"node-kube-2\")"),
        "b (on kube-2) -> outside:\n{t}"
    );
    // Centralized: through the gateway node, wherever the pod runs.
    let t = trace(&central, "c.cent", "sn-cent", "8.8.8.8");
    assert!(
        t.contains("output(\"node-kube-2\")"),
        "c (on kube-1, gateway kube-2) -> outside:\n{t}"
    );
    // Between cluster subnets: routed straight to the pod, never to a node.
    let a_ip = get(
        &central,
        "Logical_Switch_Port",
        "a.dist",
        "external_ids:ip_address",
    );
    let t = trace(&central, "c.cent", "sn-cent", &a_ip);
    assert!(
        t.contains("output(\"a.dist\")") && !t.contains("node-kube"),
        "c -> a:\n{t}"
    );
    // natOutgoing is marked on the subnet's reroutes.
    let marked = central
        .nb
        .nbctl([
            "--bare",
            "--columns=match",
            "find",
            "Logical_Router_Policy",
            "external_ids:nat_outgoing=true",
        ])
        .unwrap();
    assert!(marked.contains("sn.dist.kube.1_ip4"), "{marked}");
    assert!(!marked.contains("10.40.0.0/24"), "{marked}");
}
