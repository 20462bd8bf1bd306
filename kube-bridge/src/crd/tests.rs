use super::*;

/// Asserts that the committed CRD manifests under `crds/` equal `generated`;
/// `KUBE_BRIDGE_REGENERATE=1` rewrites them instead. `test` names the test to re-run.
pub(crate) fn assert_crds_fresh(generated: Vec<(&'static str, String)>, test: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let regenerate = std::env::var_os("KUBE_BRIDGE_REGENERATE").is_some();
    for (file, yaml) in generated {
        let path = dir.join(file);
        if regenerate {
            std::fs::write(&path, &yaml).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == yaml,
            "{} is stale: run `KUBE_BRIDGE_REGENERATE=1 cargo test -p kube-bridge {test}`",
            path.display()
        );
    }
}

/// The committed kubeovn.io CRD manifests equal what the types generate.
#[test]
fn committed_crds_are_fresh() {
    assert_crds_fresh(crd_yaml().unwrap(), "committed_crds_are_fresh");
}

#[test]
fn subnet_reads_kube_ovn_field_names() {
    let s: SubnetSpec = serde_json::from_value(serde_json::json!({
        "cidrBlock": "10.0.0.0/24,fd00::/64", "gateway": "10.0.0.1,fd00::1", "excludeIps": ["10.0.0.2..10.0.0.9"],
        "namespaces": ["a"], "private": true, "allowSubnets": ["10.1.0.0/16"], "gatewayType": "centralized",
        "natOutgoing": true, "enableDHCP": true, "default": true, "vpc": "v"
    }))
    .unwrap();
    assert!(s.enable_dhcp && s.nat_outgoing && s.private && s.default);
    assert_eq!(s.exclude_ips, vec!["10.0.0.2..10.0.0.9"]);
    let v: VpcSpec = serde_json::from_value(serde_json::json!({
        "staticRoutes": [{"cidr": "0.0.0.0/0", "nextHopIP": "10.0.0.254", "policy": "policyDst"}],
        "policyRoutes": [{"priority": 100, "match": "ip4.src == 10.0.0.0/24", "action": "reroute", "nextHopIP": "10.0.0.253"}]
    }))
    .unwrap();
    assert_eq!(v.static_routes[0].next_hop_ip, "10.0.0.254");
    assert_eq!(v.policy_routes[0].matches, "ip4.src == 10.0.0.0/24");
}
