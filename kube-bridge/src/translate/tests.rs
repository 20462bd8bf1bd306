use super::*;
use crate::objects::Origin;
use std::path::PathBuf;

fn objects(yaml: &str) -> Objects {
    let mut o = Objects::default();
    let mut errors = Vec::new();
    o.add_yaml(&PathBuf::from("t.yaml"), yaml, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    o
}

fn add(o: &mut Objects, v: serde_json::Value) {
    o.add_value(
        v,
        Origin {
            file: PathBuf::from("t.yaml"),
            document: 0,
        },
    )
    .unwrap();
}

fn pod(
    ns: &str,
    name: &str,
    labels: serde_json::Value,
    annotations: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"namespace":ns,"labels":labels,"annotations":annotations},
        "spec":{"containers":[{"name":"c","image":"x","ports":[{"name":"http","containerPort":8080}]}]}})
}

#[test]
fn subnets_validate_and_defaults_exist() {
    let o = objects(
        "apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: good}\nspec: {cidrBlock: '10.1.0.0/24,fd00::/64'}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: bad}\nspec: {cidrBlock: 10.300.0.0/24}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: gw}\nspec: {cidrBlock: 10.2.0.0/24, gateway: 10.3.0.1}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: overlap}\nspec: {cidrBlock: 10.16.5.0/24}\n",
    );
    let (subnets, errors) = resolve_subnets(&o);
    let names: Vec<&str> = subnets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec![JOIN_SUBNET, DEFAULT_SUBNET, "good"]);
    let good = &subnets[2];
    assert_eq!(good.gateways, vec![ip("10.1.0.1"), ip("fd00::1")]);
    let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("Subnet/bad") && m.contains("spec.cidrBlock")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("Subnet/gw") && m.contains("spec.gateway")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("Subnet/overlap") && m.contains("overlaps subnet ovn-default")),
        "{msgs:?}"
    );
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn pod_subnet_choice_and_ports() {
    let mut o = objects(
        "apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: sn1}\nspec: {cidrBlock: 10.1.0.0/24, namespaces: [prod]}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: sn2}\nspec: {cidrBlock: 10.2.0.0/24}\n",
    );
    add(
        &mut o,
        pod("prod", "a", serde_json::json!({}), serde_json::json!({})),
    );
    add(
        &mut o,
        pod(
            "prod",
            "b",
            serde_json::json!({}),
            serde_json::json!({"ovn.kubernetes.io/logical_switch": "sn2"}),
        ),
    );
    add(
        &mut o,
        pod("other", "c", serde_json::json!({}), serde_json::json!({})),
    );
    let (subnets, _) = resolve_subnets(&o);
    let get = |ns: &str, n: &str| &o.pods[&(ns.to_string(), n.to_string())];
    assert_eq!(
        pod_subnet(&o, &subnets, get("prod", "a")).unwrap().name,
        "sn1"
    );
    assert_eq!(
        pod_subnet(&o, &subnets, get("prod", "b")).unwrap().name,
        "sn2"
    );
    assert_eq!(
        pod_subnet(&o, &subnets, get("other", "c")).unwrap().name,
        DEFAULT_SUBNET
    );

    let mut host: Pod =
        serde_json::from_value(pod("x", "h", serde_json::json!({}), serde_json::json!({})))
            .unwrap();
    host.spec.as_mut().unwrap().host_network = Some(true);
    assert!(!wants_port(&host));
    let mut done: Pod =
        serde_json::from_value(pod("x", "d", serde_json::json!({}), serde_json::json!({})))
            .unwrap();
    done.status = Some(k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Succeeded".into()),
        ..Default::default()
    });
    assert!(!wants_port(&done));
    assert!(wants_port(get("prod", "a")));
}

#[test]
fn static_requests_from_annotations() {
    let p: Pod = serde_json::from_value(pod(
        "n",
        "p",
        serde_json::json!({}),
        serde_json::json!({"ovn.kubernetes.io/ip_address": "10.0.0.5,fd00::5", "ovn.kubernetes.io/mac_address": "0a:00:00:00:00:05"}),
    ))
    .unwrap();
    let r = static_request(&p).unwrap();
    assert_eq!(
        r.addresses,
        ipam::AddressRequest::Static(vec![ip("10.0.0.5"), ip("fd00::5")])
    );
    let bad: Pod = serde_json::from_value(pod(
        "n",
        "p",
        serde_json::json!({}),
        serde_json::json!({"ovn.kubernetes.io/ip_address": "nope"}),
    ))
    .unwrap();
    let (field, msg) = static_request(&bad).unwrap_err();
    assert!(field.contains("ip_address") && msg.contains("nope"));
}

fn addresses(o: &Objects) -> BTreeMap<NsName, PodAddress> {
    o.pods
        .keys()
        .enumerate()
        .map(|(i, k)| {
            (
                k.clone(),
                PodAddress {
                    subnet: DEFAULT_SUBNET.into(),
                    ips: vec![ip(&format!("10.16.0.{}", i + 10))],
                    mac: format!("0a:00:00:00:00:{:02x}", i + 10),
                },
            )
        })
        .collect()
}

#[test]
fn selectors_and_policies() {
    let mut o = Objects::default();
    add(
        &mut o,
        serde_json::json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"prod","labels":{"env":"prod"}}}),
    );
    add(
        &mut o,
        serde_json::json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"dev","labels":{"env":"dev"}}}),
    );
    add(
        &mut o,
        pod(
            "prod",
            "web",
            serde_json::json!({"app":"web"}),
            serde_json::json!({}),
        ),
    );
    add(
        &mut o,
        pod(
            "prod",
            "db",
            serde_json::json!({"app":"db"}),
            serde_json::json!({}),
        ),
    );
    add(
        &mut o,
        pod(
            "dev",
            "client",
            serde_json::json!({"app":"client"}),
            serde_json::json!({}),
        ),
    );
    add(
        &mut o,
        serde_json::json!({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"np","namespace":"prod"},
        "spec":{"podSelector":{"matchExpressions":[{"key":"app","operator":"In","values":["web"]}]},
                "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"env":"dev"}}},{"ipBlock":{"cidr":"192.168.0.0/16","except":["192.168.1.0/24"]}}],
                            "ports":[{"protocol":"TCP","port":"http"},{"port":9000,"endPort":9010}]}],
                "policyTypes":["Ingress","Egress"]}}),
    );
    let addrs = addresses(&o);
    let (subnets, _) = resolve_subnets(&o);
    let (net, errors) = translate(&o, &subnets, &addrs);
    assert!(errors.is_empty());
    let np = &net.policies[0];
    assert_eq!(np.ports, vec!["web.prod".to_string()]);
    let rule = &np.ingress.as_ref().unwrap()[0];
    let client_ip = addrs[&("dev".to_string(), "client".to_string())].ips[0];
    assert_eq!(
        rule.peers.as_ref().unwrap(),
        &vec![
            Peer::Addresses(vec![client_ip]),
            Peer::Block {
                cidr: "192.168.0.0/16".parse().unwrap(),
                except: vec!["192.168.1.0/24".parse().unwrap()]
            }
        ]
    );
    assert_eq!(
        rule.ports[0],
        PortMatch {
            protocol: Protocol::Tcp,
            port: Some(8080),
            end_port: None
        }
    );
    assert_eq!(
        rule.ports[1],
        PortMatch {
            protocol: Protocol::Tcp,
            port: Some(9000),
            end_port: Some(9010)
        }
    );
    assert_eq!(
        np.egress,
        Some(vec![]),
        "Egress listed without rules isolates egress"
    );
}

#[test]
fn services_from_endpoint_slices_or_selected_pods() {
    let mut o = Objects::default();
    add(
        &mut o,
        pod(
            "prod",
            "web1",
            serde_json::json!({"app":"web"}),
            serde_json::json!({}),
        ),
    );
    add(
        &mut o,
        pod(
            "prod",
            "web2",
            serde_json::json!({"app":"web"}),
            serde_json::json!({}),
        ),
    );
    add(
        &mut o,
        serde_json::json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"prod"},
        "spec":{"clusterIP":"10.96.0.10","selector":{"app":"web"},"ports":[{"port":80,"targetPort":"http"}],"sessionAffinity":"ClientIP"}}),
    );
    add(
        &mut o,
        serde_json::json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"api","namespace":"prod"},
        "spec":{"clusterIP":"10.96.0.11","ports":[{"name":"grpc","port":90,"protocol":"UDP"}]}}),
    );
    add(
        &mut o,
        serde_json::json!({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"api-x","namespace":"prod",
        "labels":{"kubernetes.io/service-name":"api"}},"addressType":"IPv4",
        "endpoints":[{"addresses":["10.16.0.50"],"conditions":{"ready":true}},{"addresses":["10.16.0.51"],"conditions":{"ready":false}}],
        "ports":[{"name":"grpc","port":9090,"protocol":"UDP"}]}),
    );
    let addrs = addresses(&o);
    let (subnets, _) = resolve_subnets(&o);
    let (net, _) = translate(&o, &subnets, &addrs);
    let web = net.services.iter().find(|s| s.name == "web").unwrap();
    assert!(web.session_affinity);
    let mut backends = web.ports[0].backends.clone();
    backends.sort();
    assert_eq!(
        backends,
        addrs.values().map(|a| (a.ips[0], 8080)).collect::<Vec<_>>()
    );
    let api = net.services.iter().find(|s| s.name == "api").unwrap();
    assert_eq!(api.ports[0].protocol, Protocol::Udp);
    assert_eq!(
        api.ports[0].backends,
        vec![(ip("10.16.0.50"), 9090)],
        "only ready endpoints"
    );
}

#[test]
fn annotations_written_for_a_pod() {
    let (subnets, _) = resolve_subnets(&Objects::default());
    let sn = subnets.iter().find(|s| s.name == DEFAULT_SUBNET).unwrap();
    let a = pod_annotations(
        &PodAddress {
            subnet: sn.name.clone(),
            ips: vec![ip("10.16.0.2")],
            mac: "0a:00:00:00:00:02".into(),
        },
        sn,
    );
    assert_eq!(a["ovn.kubernetes.io/ip_address"], "10.16.0.2");
    assert_eq!(a["ovn.kubernetes.io/cidr"], "10.16.0.0/16");
    assert_eq!(a["ovn.kubernetes.io/gateway"], "10.16.0.1");
    assert_eq!(a["ovn.kubernetes.io/logical_switch"], "ovn-default");
    assert_eq!(a["ovn.kubernetes.io/allocated"], "true");
}

#[test]
fn nodes_get_join_ports_and_annotations() {
    let o = objects(
        "apiVersion: v1\nkind: Node\nmetadata: {name: kube-1}\n---\n\
         apiVersion: v1\nkind: Node\nmetadata: {name: kube-2, annotations: {ovn.kubernetes.io/ip_address: 100.64.0.9}}\n",
    );
    let (subnets, errors) = resolve_subnets(&o);
    assert!(errors.is_empty(), "{errors:?}");
    let join = subnets.iter().find(|s| s.name == JOIN_SUBNET).unwrap();
    let req = static_request_from(&o.nodes["kube-2"].metadata.annotations).unwrap();
    assert_eq!(
        req.addresses,
        ipam::AddressRequest::Static(vec![ip("100.64.0.9")])
    );
    let addr = PodAddress {
        subnet: join.name.clone(),
        ips: vec![ip("100.64.0.2")],
        mac: "0a:00:00:00:00:09".into(),
    };
    let nodes = BTreeMap::from([("kube-1".to_owned(), addr.clone())]);
    let (net, node_net, errors) = translate_cluster(&o, &subnets, &BTreeMap::new(), &nodes);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(net.pods.is_empty());
    assert_eq!(
        node_net.nodes,
        vec![NodePort {
            node: "kube-1".into(),
            subnet: "join".into(),
            mac: "0a:00:00:00:00:09".into(),
            ips: vec![ip("100.64.0.2")],
        }]
    );
    let a = node_annotations(&addr, join);
    assert_eq!(a["ovn.kubernetes.io/ip_address"], "100.64.0.2");
    assert_eq!(a["ovn.kubernetes.io/cidr"], "100.64.0.0/16");
    assert_eq!(a["ovn.kubernetes.io/gateway"], "100.64.0.1");
    assert_eq!(a["ovn.kubernetes.io/logical_switch"], "join");
    assert_eq!(a["ovn.kubernetes.io/allocated"], "true");
    assert!(!a.contains_key("ovn.kubernetes.io/routed"));
    assert_eq!(Allocation::new(&addr, join).address(), addr);
    assert_ne!(node_owner_key("a.b"), owner_key("b", "a"));
}

#[test]
fn subnet_gateways_follow_gateway_type() {
    let mut o = objects(
        "apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: dist}\nspec: {cidrBlock: 10.1.0.0/24, namespaces: [a], natOutgoing: true}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: cent}\nspec: {cidrBlock: 10.2.0.0/24, namespaces: [b], gatewayType: centralized, gatewayNode: 'kube-2:172.18.0.3'}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: nogw}\nspec: {cidrBlock: 10.3.0.0/24, gatewayType: centralized}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: odd}\nspec: {cidrBlock: 10.4.0.0/24, gatewayType: sideways}\n",
    );
    let mut p = pod("a", "p1", serde_json::json!({}), serde_json::json!({}));
    p["spec"]["nodeName"] = "kube-1".into();
    add(&mut o, p);
    let (subnets, errors) = resolve_subnets(&o);
    let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("Subnet/nogw") && m.contains("spec.gatewayNode")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("Subnet/odd") && m.contains("spec.gatewayType")),
        "{msgs:?}"
    );
    let cent = subnets.iter().find(|s| s.name == "cent").unwrap();
    assert!(cent.centralized);
    assert_eq!(cent.gateway_nodes, vec!["kube-2"]);
    let join_addr = |ip: &str| PodAddress {
        subnet: JOIN_SUBNET.into(),
        ips: vec![self::ip(ip)],
        mac: "0a:00:00:00:00:01".into(),
    };
    let nodes = BTreeMap::from([
        ("kube-1".to_owned(), join_addr("100.64.0.2")),
        ("kube-2".to_owned(), join_addr("100.64.0.3")),
    ]);
    let pods = BTreeMap::from([(
        ("a".to_owned(), "p1".to_owned()),
        PodAddress {
            subnet: "dist".into(),
            ips: vec![ip("10.1.0.2")],
            mac: "0a:00:00:00:00:02".into(),
        },
    )]);
    let (_, node_net, errors) = translate_cluster(&o, &subnets, &pods, &nodes);
    assert!(errors.is_empty(), "{errors:?}");
    let gw = |n: &str| node_net.gateways.iter().find(|g| g.subnet == n).unwrap();
    let dist = gw("dist");
    assert!(dist.nat_outgoing);
    let GatewayKind::Distributed(per_node) = &dist.kind else {
        panic!("{dist:?}")
    };
    assert_eq!(per_node.len(), 2);
    assert_eq!(per_node[0].node, "kube-1");
    assert_eq!(per_node[0].ports, vec!["p1.a"]);
    assert_eq!(per_node[0].join_ips, vec![ip("100.64.0.2")]);
    assert!(per_node[1].ports.is_empty());
    assert_eq!(
        gw("cent").kind,
        GatewayKind::Centralized(vec![ip("100.64.0.3")])
    );
    // The join subnet gets its allow only; the default subnet routes through the nodes.
    assert_eq!(gw(JOIN_SUBNET).kind, GatewayKind::Distributed(vec![]));
    assert!(gw(DEFAULT_SUBNET).nat_outgoing);
}

#[test]
fn default_vpc_routes_leave_through_the_join_gateways() {
    let routes = |yaml: &str| -> Vec<(String, String)> {
        let o = objects(yaml);
        let (subnets, errors) = resolve_subnets(&o);
        assert!(errors.is_empty(), "{errors:?}");
        let (net, errors) = translate(&o, &subnets, &BTreeMap::new());
        assert!(errors.is_empty(), "{errors:?}");
        let vpc = net.vpcs.iter().find(|v| v.name == DEFAULT_VPC).unwrap();
        assert!(
            net.vpcs
                .iter()
                .filter(|v| v.name != DEFAULT_VPC)
                .all(|v| v.static_routes.is_empty())
        );
        vpc.static_routes
            .iter()
            .map(|r| {
                assert!(!r.by_source && r.route_table.is_empty());
                (r.prefix.to_string(), r.nexthop.to_string())
            })
            .collect()
    };
    let other_vpc = "apiVersion: kubeovn.io/v1\nkind: Vpc\nmetadata: {name: tenant}\nspec: {}\n";
    // The built-in join subnet (IPv4 only): one route, via its gateway.
    assert_eq!(
        routes(other_vpc),
        vec![("0.0.0.0/0".to_owned(), "100.64.0.1".to_owned())]
    );
    // A dual-stack join subnet with its own gateways: one route per family.
    assert_eq!(
        routes(
            "apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: join}\n\
             spec: {cidrBlock: '100.70.0.0/16,fd00:100:70::/112', gateway: '100.70.0.254,fd00:100:70::fe'}\n"
        ),
        vec![
            ("0.0.0.0/0".to_owned(), "100.70.0.254".to_owned()),
            ("::/0".to_owned(), "fd00:100:70::fe".to_owned()),
        ]
    );
    // The Vpc's own default route wins; its other routes stay, ahead of ours.
    assert_eq!(
        routes(
            "apiVersion: kubeovn.io/v1\nkind: Vpc\nmetadata: {name: ovn-cluster}\n\
             spec: {staticRoutes: [{cidr: 0.0.0.0/0, nextHopIP: 100.64.0.9}, {cidr: 192.168.0.0/16, nextHopIP: 100.64.0.8}]}\n"
        ),
        vec![
            ("0.0.0.0/0".to_owned(), "100.64.0.9".to_owned()),
            ("192.168.0.0/16".to_owned(), "100.64.0.8".to_owned()),
        ]
    );
}
