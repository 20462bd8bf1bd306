//! `kube-ovn-controller --manifests --once` with a manifest that is valid YAML but does not
//! decode (a Pod with `spec: 5`): the object is known to exist, so it is held, not deleted.
//! Reading it as absent would remove its port and release its address over a typo.

use std::collections::BTreeMap;

use ovn_tests::{OvnCentral, ScratchDir};

use crate::controller_manifest::run;

const CLUSTER: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: kube-1}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-prod}
spec: {cidrBlock: 10.30.0.0/24, namespaces: [prod]}
"#;

/// A pod of app `web` in namespace `prod`.
fn pod(name: &str) -> String {
    crate::controller_manifest::pod("prod", name, "web")
}

/// Each owned pod port: name to (addresses, ip_address from external_ids).
fn pod_ports(central: &OvnCentral) -> BTreeMap<String, (String, String)> {
    let out = central
        .nb
        .nbctl([
            "--format=csv",
            "--data=bare",
            "--no-headings",
            "--columns=name,addresses,external_ids",
            "list",
            "Logical_Switch_Port",
        ])
        .unwrap();
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let mut fields = line.splitn(3, ',');
        let (Some(name), Some(addresses), Some(ids)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let ip = ids
            .split(' ')
            .find_map(|kv| kv.trim_matches('"').strip_prefix("ip_address="))
            .map(str::to_owned);
        if ids.contains("pod=") {
            m.insert(
                name.to_owned(),
                (addresses.to_owned(), ip.unwrap_or_default()),
            );
        }
    }
    m
}

#[test]
fn controller_held_pod_that_does_not_decode_keeps_its_port_and_address() {
    let central = OvnCentral::start().unwrap();
    let nb = central.nb.remote();
    let dir = ScratchDir::new("manifests-held").unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), CLUSTER).unwrap();
    let pods = dir.path().join("pods.yaml");
    std::fs::write(&pods, format!("{}{}", pod("web-a"), pod("web-b"))).unwrap();
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    let before = pod_ports(&central);
    assert_eq!(before.len(), 2, "{before:?}");

    // web-a's spec becomes an integer: valid YAML, not a Pod. It is reported with its file
    // and field, the pass exits 2, and its port keeps its address; the rest converges (a new
    // pod gets a port of its own).
    let broken = pod("web-a").replace("spec: {containers: [{name: c, image: x}]}", "spec: 5");
    std::fs::write(&pods, format!("{broken}{}{}", pod("web-b"), pod("web-c"))).unwrap();
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("pods.yaml") && err.contains("Pod/prod/web-a") && err.contains("spec"),
        "{err}"
    );
    let held = pod_ports(&central);
    assert_eq!(
        held.get("web-a.prod"),
        before.get("web-a.prod"),
        "the held pod keeps its port and address: {held:?}"
    );
    assert_eq!(held.get("web-b.prod"), before.get("web-b.prod"));
    let new_ip = held
        .get("web-c.prod")
        .map(|(_, ip)| ip.clone())
        .unwrap_or_else(|| panic!("the rest converges: web-c has a port: {held:?}"));
    assert!(
        before.values().all(|(_, ip)| *ip != new_ip),
        "web-c did not get a held address: {held:?}"
    );
    // Run again: still held, still nothing lost (the address was not released for reuse).
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        pod_ports(&central).get("web-a.prod"),
        before.get("web-a.prod")
    );

    // Fixed: everyone keeps their address.
    std::fs::write(
        &pods,
        format!("{}{}{}", pod("web-a"), pod("web-b"), pod("web-c")),
    )
    .unwrap();
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    let after = pod_ports(&central);
    assert_eq!(after.len(), 3, "{after:?}");
    for (name, port) in &before {
        assert_eq!(&after[name], port, "{name} kept its address");
    }
    assert_eq!(after["web-c.prod"].1, new_ip, "web-c kept its address");
}
