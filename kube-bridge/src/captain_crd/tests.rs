use super::*;

/// The committed app.alauda.io CRD manifests equal what the types generate;
/// `KUBE_BRIDGE_REGENERATE=1` rewrites them.
#[test]
fn committed_captain_crds_are_fresh() {
    crate::crd::tests::assert_crds_fresh(
        captain_crd_yaml().unwrap(),
        "committed_captain_crds_are_fresh",
    );
}

#[test]
fn helm_request_reads_go_captain_field_names() {
    let hr: HelmRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
        "metadata": {"name": "nginx", "namespace": "default"},
        "spec": {
            "chart": "stable/nginx-ingress", "version": "^1.2", "namespace": "web",
            "releaseName": "edge", "dependencies": ["cert-manager"],
            "values": {"replicas": 2, "image": {"tag": "x"}},
            "valuesFrom": [
                {"configMapKeyRef": {"name": "defaults", "key": "values.yaml", "optional": true}},
                {"secretKeyRef": {"name": "creds"}}
            ],
            "source": {"http": {"url": "https://example.com/c-1.0.0.tgz", "secretRef": {"name": "auth"}}},
            "suspend": true
        },
        "status": {"phase": "Synced", "lastSpecHash": "15900028196316601597", "notes": "hi",
                   "conditions": [{"type": "Ready", "status": "True"}], "observedGeneration": 3}
    }))
    .unwrap();
    assert_eq!(hr.spec.chart, "stable/nginx-ingress");
    assert_eq!(hr.spec.release_name, "edge");
    assert_eq!(
        hr.spec.values_from[0]
            .config_map_key_ref
            .as_ref()
            .unwrap()
            .optional,
        Some(true)
    );
    assert_eq!(
        hr.spec.values_from[1]
            .secret_key_ref
            .as_ref()
            .unwrap()
            .key_or_default(),
        "values.yaml"
    );
    assert_eq!(
        hr.spec
            .source
            .unwrap()
            .http
            .unwrap()
            .secret_ref
            .unwrap()
            .name,
        "auth"
    );
    assert!(hr.spec.suspend);
    let status = hr.status.unwrap();
    assert_eq!(status.phase, Some(HelmRequestPhase::Synced));
    assert_eq!(status.observed_generation, Some(3));

    let repo: ChartRepo = serde_json::from_value(serde_json::json!({
        "apiVersion": "app.alauda.io/v1beta1", "kind": "ChartRepo",
        "metadata": {"name": "stable", "namespace": "captain"},
        "spec": {"url": "https://charts.example.com", "secret": {"name": "new"}}
    }))
    .unwrap();
    assert_eq!(repo.spec.secret.unwrap().name, "new");
}

#[test]
fn values_keep_unknown_fields_in_the_schema() {
    let crd = serde_json::to_value(HelmRequest::crd()).unwrap();
    let values = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["values"];
    assert_eq!(values["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(values["type"], "object");
}
