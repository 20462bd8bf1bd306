use super::*;
use serde_json::json;

#[test]
fn manifests_split_into_objects_and_refs_default_the_namespace() {
    let manifest = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/empty.yaml\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n";
    let objs = split_objects(manifest).unwrap();
    assert_eq!(objs.len(), 2);
    let map = ResourceMap::default();
    let a = map.object_ref(&objs[0], "web").unwrap();
    assert_eq!(a.to_string(), "ConfigMap web/a");
    let r = map.object_ref(&objs[1], "web").unwrap();
    assert_eq!(r.namespace, None);
    let (res, namespaced) = map.resource("networking.k8s.io/v1", "NetworkPolicy");
    assert_eq!((res.plural.as_str(), namespaced), ("networkpolicies", true));
    assert!(map.object_ref(&json!({"kind": "ConfigMap"}), "x").is_err());
    assert!(split_objects("a: [1").is_err());
}

#[test]
fn crds_of_the_chart_teach_plurals_and_scope() {
    let mut map = ResourceMap::default();
    map.learn_crd(&json!({"spec": {"group": "ex.io", "scope": "Cluster",
        "names": {"kind": "Widget", "plural": "widgetz"}}}));
    let (res, namespaced) = map.resource("ex.io/v1", "Widget");
    assert_eq!((res.plural.as_str(), namespaced), ("widgetz", false));
}

#[test]
fn release_metadata_keep_and_owner() {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a",
        "annotations": {"helm.sh/resource-policy": "keep"}}});
    set_release_metadata(&mut obj, "rel", "ns");
    assert_eq!(obj["metadata"]["labels"][MANAGED_BY_LABEL], "Helm");
    assert_eq!(owner_of(&obj), Some(("ns".into(), "rel".into())));
    assert!(is_kept(&obj));
    assert!(!is_kept(&json!({"metadata": {}})));
}

#[test]
fn drift_ignores_server_added_fields_only() {
    let desired = json!({"data": {"a": "1"}, "spec": {"replicas": 2, "ports": [{"port": 80}]}});
    let live = json!({"data": {"a": "1"}, "spec": {"replicas": 2.0, "ports": [{"port": 80, "protocol": "TCP"}]},
        "status": {"x": 1}, "metadata": {"uid": "u"}});
    assert!(!drifted(&desired, &live));
    let changed = json!({"data": {"a": "2"}, "spec": {"replicas": 2, "ports": [{"port": 80}]}});
    assert!(drifted(&changed, &live));
    assert!(drifted(&json!({"data": {"b": "1"}}), &live));
}

#[test]
fn client_side_managers_fold_into_captain() {
    let live = json!({"metadata": {"managedFields": [
        {"manager": "helm", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:a": {}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}},
        {"manager": "captain", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:b": {}}}}
    ]}});
    let out = migrated_managed_fields(&live).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["manager"], "kube-controller-manager");
    assert_eq!(out[1]["manager"], "captain");
    assert_eq!(
        out[1]["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}})
    );
    assert!(
        migrated_managed_fields(&json!({"metadata": {"managedFields": [out[1].clone()]}}))
            .is_none()
    );
}
