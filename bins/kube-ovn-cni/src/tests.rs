use super::*;

#[test]
fn cni_args_parse_and_reject_garbage() {
    let args = parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=prod").unwrap();
    assert_eq!(args["K8S_POD_NAME"], "web");
    assert_eq!(args["K8S_POD_NAMESPACE"], "prod");
    assert!(parse_cni_args("").unwrap().is_empty());
    let err = parse_cni_args("K8S_POD_NAME").unwrap_err();
    assert_eq!(err.code, codes::INVALID_ENVIRONMENT);
    assert!(err.msg.contains("K8S_POD_NAME"), "{}", err.msg);
}

#[test]
fn responses_round_trip_in_the_spec_shape() {
    let result = CniResult {
        cni_version: "1.0.0".into(),
        interfaces: vec![CniInterface {
            name: "eth0".into(),
            mac: "0a:00:00:00:00:01".into(),
            sandbox: Some("/var/run/netns/p".into()),
        }],
        ips: vec![CniIp {
            version: None,
            address: "10.0.0.2/24".into(),
            gateway: Some("10.0.0.1".into()),
            interface: Some(0),
        }],
        routes: vec![CniRoute {
            dst: "0.0.0.0/0".into(),
            gw: Some("10.0.0.1".into()),
        }],
        dns: CniDns::default(),
    };
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["cniVersion"], "1.0.0");
    assert_eq!(json["ips"][0]["address"], "10.0.0.2/24");
    assert_eq!(json["interfaces"][0]["sandbox"], "/var/run/netns/p");
    assert!(json["ips"][0].get("version").is_none());
    let response = DaemonResponse::Ok {
        result: Some(result),
    };
    let text = serde_json::to_string(&response).unwrap();
    assert_eq!(
        serde_json::from_str::<DaemonResponse>(&text).unwrap(),
        response
    );
    let error = DaemonResponse::Error(CniError::new(codes::PLUG_FAILED, "boom"));
    let text = serde_json::to_string(&error).unwrap();
    assert!(text.contains(r#""status":"error""#), "{text}");
    assert_eq!(
        serde_json::from_str::<DaemonResponse>(&text).unwrap(),
        error
    );
}

#[test]
fn netconf_reads_kube_ovn_fields() {
    let conf: NetConf = serde_json::from_str(
        r#"{"cniVersion":"1.0.0","name":"kube-ovn","type":"kube-ovn","server_socket":"/run/x.sock","extra":1}"#,
    )
    .unwrap();
    assert_eq!(conf.server_socket.as_deref(), Some("/run/x.sock"));
    assert_eq!(conf.plugin_type, "kube-ovn");
    assert!(serde_json::from_str::<NetConf>(r#"{"name":"x"}"#).is_err());
}

#[test]
fn an_absent_daemon_is_reported_not_panicked() {
    let dir = std::env::temp_dir().join(format!("no-daemon-{}", std::process::id()));
    let request = DaemonRequest {
        command: CniCommand::Add,
        container_id: "c".into(),
        netns: "/var/run/netns/x".into(),
        ifname: "eth0".into(),
        pod_name: "p".into(),
        pod_namespace: "n".into(),
        cni_version: "1.0.0".into(),
        prev_result: None,
    };
    let err = call_daemon(&dir.join("sock"), &request, Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.code, codes::DAEMON_UNREACHABLE);
    assert!(err.msg.contains("sock"), "{}", err.msg);
}
