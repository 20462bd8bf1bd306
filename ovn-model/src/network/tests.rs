use super::*;

fn subnet(name: &str, vpc: &str, cidrs: &[&str], gws: &[&str]) -> Subnet {
    Subnet {
        name: name.into(),
        vpc: vpc.into(),
        cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
        gateways: gws.iter().map(|g| g.parse().unwrap()).collect(),
        exclude_ips: vec!["10.0.0.1..10.0.0.5".into()],
        router_mac: "00:00:00:00:00:01".into(),
        enable_dhcp: true,
        private: true,
        allow_subnets: vec!["10.1.0.0/16".parse().unwrap()],
    }
}

fn row<'a>(g: &'a Group, table: &str, key: &str) -> &'a DesiredRow {
    g.rows
        .iter()
        .find(|r| r.key.table == table && r.key.key == key)
        .unwrap_or_else(|| panic!("no {table} {key} in {:#?}", g.rows))
}

fn value(r: &DesiredRow, col: &str) -> Datum {
    match &r.columns[col] {
        Cell::Value(d) => d.clone(),
        Cell::Refs(_) => panic!("{col} is refs"),
    }
}

#[test]
fn subnet_realises_switch_router_pair_dhcp_and_private_acls() {
    let g = subnet(
        "sn1",
        "vpc1",
        &["10.0.0.0/24", "fd00::/64"],
        &["10.0.0.1", "fd00::1"],
    )
    .group();
    assert_eq!(g.id, "subnet/sn1");
    let ls = row(&g, "Logical_Switch", "ls/sn1");
    assert_eq!(
        value(ls, "other_config").get_str("subnet"),
        Some("10.0.0.0/24,fd00::/64")
    );
    assert_eq!(
        value(ls, "other_config").get_str("exclude_ips"),
        Some("10.0.0.1..10.0.0.5")
    );
    let lrp = row(&g, "Logical_Router_Port", "lrp/vpc1-sn1");
    assert_eq!(
        value(lrp, "networks"),
        Datum::set(["10.0.0.1/24", "fd00::1/64"])
    );
    assert_eq!(
        lrp.parent.as_ref().unwrap().0,
        RowKey::new("Logical_Router", "lr/vpc1")
    );
    let lsp = row(&g, "Logical_Switch_Port", "lsp/sn1-vpc1");
    assert_eq!(value(lsp, "type"), Datum::scalar("router"));
    assert_eq!(
        value(lsp, "options").get_str("router-port"),
        Some("vpc1-sn1")
    );
    let v4 = row(&g, "DHCP_Options", "dhcp/sn1/v4");
    assert_eq!(value(v4, "options").get_str("router"), Some("10.0.0.1"));
    row(&g, "DHCP_Options", "dhcp/sn1/v6");
    let drop = row(&g, "ACL", "acl/subnet/sn1/drop/ip4");
    assert_eq!(value(drop, "priority"), Datum::scalar(PRIORITY_SUBNET_DROP));
    let allow = row(&g, "ACL", "acl/subnet/sn1/allow/ip4/1");
    assert_eq!(
        value(allow, "match"),
        Datum::scalar("ip4.src == 10.1.0.0/16 && ip4.dst == 10.0.0.0/24")
    );
    // The v6 family has no allowSubnets: only the subnet itself.
    assert!(
        g.rows
            .iter()
            .all(|r| r.key.key != "acl/subnet/sn1/allow/ip6/1")
    );
}

#[test]
fn pod_port_carries_the_annotation_names() {
    let p = PodPort {
        pod: "web".into(),
        namespace: "ns".into(),
        subnet: "sn1".into(),
        mac: "0a:00:00:00:00:02".into(),
        ips: vec!["10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap()],
    };
    let sn = subnet(
        "sn1",
        "vpc1",
        &["10.0.0.0/24", "fd00::/64"],
        &["10.0.0.1", "fd00::1"],
    );
    let g = p.group(Some(&sn));
    let r = row(&g, "Logical_Switch_Port", "lsp/web.ns");
    assert_eq!(value(r, "name"), Datum::scalar("web.ns"));
    assert_eq!(
        value(r, "addresses"),
        Datum::scalar("0a:00:00:00:00:02 10.0.0.2 fd00::2")
    );
    assert_eq!(
        r.columns["dhcpv4_options"],
        Cell::Refs(vec![RowKey::new("DHCP_Options", "dhcp/sn1/v4")])
    );
    assert_eq!(
        r.columns["dhcpv6_options"],
        Cell::Refs(vec![RowKey::new("DHCP_Options", "dhcp/sn1/v6")])
    );
    let ids = value(r, "external_ids");
    for (k, v) in [
        ("pod", "web"),
        ("namespace", "ns"),
        ("ip_address", "10.0.0.2,fd00::2"),
        ("mac_address", "0a:00:00:00:00:02"),
        ("cidr", "10.0.0.0/24,fd00::/64"),
        ("gateway", "10.0.0.1,fd00::1"),
        ("logical_switch", "sn1"),
    ] {
        assert_eq!(ids.get_str(k), Some(v), "{k}");
    }
}

#[test]
fn service_is_one_balancer_per_protocol_without_empty_vips() {
    let svc = Service {
        name: "web".into(),
        namespace: "ns".into(),
        vpc: "vpc1".into(),
        ports: vec![
            ServicePort {
                protocol: Protocol::Tcp,
                vip: "10.96.0.10".parse().unwrap(),
                port: 80,
                backends: vec![
                    ("10.0.0.2".parse().unwrap(), 8080),
                    ("10.0.0.3".parse().unwrap(), 8080),
                ],
            },
            ServicePort {
                protocol: Protocol::Udp,
                vip: "10.96.0.10".parse().unwrap(),
                port: 53,
                backends: vec![],
            },
            ServicePort {
                protocol: Protocol::Tcp,
                vip: "fd00:96::10".parse().unwrap(),
                port: 80,
                backends: vec![("fd00::2".parse().unwrap(), 8080)],
            },
        ],
        session_affinity: true,
    };
    let g = svc.group(&["sn1", "sn2"]);
    assert_eq!(g.rows.len(), 1, "the UDP port has no backends");
    let lb = &g.rows[0];
    let Cell::Value(vips) = &lb.members["vips"] else {
        panic!()
    };
    assert_eq!(
        vips.get_str("10.96.0.10:80"),
        Some("10.0.0.2:8080,10.0.0.3:8080")
    );
    assert_eq!(vips.get_str("[fd00:96::10]:80"), Some("[fd00::2]:8080"));
    assert_eq!(value(lb, "selection_fields"), Datum::scalar("ip_src"));
    assert_eq!(lb.attach.len(), 3);
}

#[test]
fn policy_realises_port_group_address_sets_and_acls() {
    let np = NetworkPolicy {
        name: "allow-web".into(),
        namespace: "prod".into(),
        ports: vec!["web.prod".into()],
        ingress: Some(vec![PolicyRule {
            peers: Some(vec![
                Peer::Addresses(vec!["10.0.0.5".parse().unwrap()]),
                Peer::Block {
                    cidr: "192.168.0.0/16".parse().unwrap(),
                    except: vec!["192.168.1.0/24".parse().unwrap()],
                },
            ]),
            ports: vec![
                PortMatch {
                    protocol: Protocol::Tcp,
                    port: Some(80),
                    end_port: None,
                },
                PortMatch {
                    protocol: Protocol::Tcp,
                    port: Some(8000),
                    end_port: Some(8080),
                },
            ],
        }]),
        egress: Some(vec![]),
    };
    let g = np.group();
    let pg = np.port_group_name();
    assert_eq!(pg, "np_prod_allow_web");
    let allow = row(&g, "ACL", &format!("acl/{pg}/ingress/allow/0/ip4"));
    assert_eq!(
        value(allow, "match"),
        Datum::scalar(format!(
            "outport == @{pg} && ip4.src == ${pg}_ingress_allow_ip4_0 && ip4.src != ${pg}_ingress_except_ip4_0 && ((tcp.dst == 80) || (tcp.dst >= 8000 && tcp.dst <= 8080))"
        ))
    );
    assert_eq!(value(allow, "action"), Datum::scalar("allow-related"));
    // No v6 peers: no v6 allow ACL.
    assert!(
        g.rows
            .iter()
            .all(|r| r.key.key != format!("acl/{pg}/ingress/allow/0/ip6"))
    );
    let as_allow = row(&g, "Address_Set", &format!("as/{pg}_ingress_allow_ip4_0"));
    let Cell::Value(addrs) = &as_allow.members["addresses"] else {
        panic!()
    };
    assert_eq!(addrs, &Datum::set(["10.0.0.5", "192.168.0.0/16"]));
    let egress_drop = row(&g, "ACL", &format!("acl/{pg}/egress/drop"));
    assert_eq!(value(egress_drop, "direction"), Datum::scalar("from-lport"));
    assert_eq!(
        value(egress_drop, "options").get_str("apply-after-lb"),
        Some("true")
    );
    assert_eq!(
        value(egress_drop, "priority"),
        Datum::scalar(PRIORITY_POLICY_DROP)
    );
}

#[test]
fn node_port_is_on_join_with_the_annotation_names() {
    let n = NodePort {
        node: "kube-1".into(),
        subnet: "join".into(),
        mac: "0a:00:00:00:00:09".into(),
        ips: vec!["100.64.0.2".parse().unwrap()],
    };
    let mut join = subnet("join", "ovn-cluster", &["100.64.0.0/16"], &["100.64.0.1"]);
    join.enable_dhcp = false;
    let g = n.group(Some(&join));
    assert_eq!(g.id, "node/kube-1");
    let r = row(&g, "Logical_Switch_Port", "lsp/node-kube-1");
    assert_eq!(value(r, "name"), Datum::scalar("node-kube-1"));
    assert_eq!(
        value(r, "addresses"),
        Datum::scalar("0a:00:00:00:00:09 100.64.0.2")
    );
    assert!(!r.columns.contains_key("port_security"));
    assert_eq!(
        r.parent,
        Some((RowKey::new("Logical_Switch", "ls/join"), "ports"))
    );
    let ids = value(r, "external_ids");
    for (k, v) in [
        ("node", "kube-1"),
        ("ip_address", "100.64.0.2"),
        ("mac_address", "0a:00:00:00:00:09"),
        ("cidr", "100.64.0.0/16"),
        ("gateway", "100.64.0.1"),
        ("logical_switch", "join"),
    ] {
        assert_eq!(ids.get_str(k), Some(v), "{k}");
    }
    assert_eq!(ids.get_str("pod"), None);
    let net = Network {
        subnets: vec![join],
        ..Default::default()
    };
    let d = net.desired_with(&NodeNetwork {
        nodes: vec![n],
        gateways: vec![],
    });
    assert!(d.groups.contains_key("node/kube-1"));
    assert!(d.groups.contains_key("subnet/join"));
}

fn policies(g: &Group) -> Vec<(i64, String, String, Datum)> {
    g.rows
        .iter()
        .filter(|r| r.key.table == "Logical_Router_Policy")
        .map(|r| {
            let prio = match value(r, "priority").as_scalar() {
                Some(Atom::Integer(i)) => *i,
                other => panic!("priority {other:?}"),
            };
            let text = |c: &str| match value(r, c).as_scalar() {
                Some(Atom::String(s)) => s.clone(),
                other => panic!("{c} {other:?}"),
            };
            (prio, text("match"), text("action"), value(r, "nexthops"))
        })
        .collect()
}

#[test]
fn distributed_gateway_reroutes_each_nodes_pods_to_that_node() {
    let g = SubnetGateway {
        subnet: "sn-a".into(),
        vpc: "ovn-cluster".into(),
        cidrs: vec![
            "10.1.0.0/24".parse().unwrap(),
            "fd00:1::/64".parse().unwrap(),
        ],
        nat_outgoing: true,
        kind: GatewayKind::Distributed(vec![NodeGateway {
            node: "kube-1".into(),
            join_ips: vec!["100.64.0.2".parse().unwrap()],
            ports: vec!["web.prod".into()],
        }]),
    }
    .group();
    assert_eq!(g.id, "gateway/sn-a");
    assert_eq!(
        SubnetGateway::port_group_name("sn-a", "kube-1"),
        "sn.a.kube.1"
    );
    let pg = row(&g, "Port_Group", "pg/sn.a.kube.1");
    assert_eq!(
        pg.members["ports"],
        Cell::Refs(vec![RowKey::new("Logical_Switch_Port", "lsp/web.prod")])
    );
    let p = policies(&g);
    assert!(p.contains(&(
        31000,
        "ip4.dst == 10.1.0.0/24".into(),
        "allow".into(),
        Datum::set(Vec::<String>::new())
    )));
    assert!(p.contains(&(
        31000,
        "ip6.dst == fd00:1::/64".into(),
        "allow".into(),
        Datum::set(Vec::<String>::new())
    )));
    assert!(p.contains(&(
        29000,
        "ip4.src == $sn.a.kube.1_ip4".into(),
        "reroute".into(),
        Datum::set(["100.64.0.2".to_owned()])
    )));
    // No v6 join address: no v6 reroute.
    assert_eq!(p.len(), 3, "{p:?}");
    let reroute = row(&g, "Logical_Router_Policy", "gw/sn-a/reroute/kube-1/ip4");
    assert_eq!(
        reroute.parent,
        Some((RowKey::new("Logical_Router", "lr/ovn-cluster"), "policies"))
    );
    let ids = value(reroute, "external_ids");
    assert_eq!(ids.get_str("nat_outgoing"), Some("true"));
    assert_eq!(ids.get_str("node"), Some("kube-1"));
    assert_eq!(ids.get_str("subnet"), Some("sn-a"));
}

#[test]
fn centralized_gateway_reroutes_the_cidr_to_the_gateway_nodes() {
    let g = SubnetGateway {
        subnet: "sn-c".into(),
        vpc: "ovn-cluster".into(),
        cidrs: vec!["10.2.0.0/24".parse().unwrap()],
        nat_outgoing: false,
        kind: GatewayKind::Centralized(vec![
            "100.64.0.2".parse().unwrap(),
            "100.64.0.3".parse().unwrap(),
        ]),
    }
    .group();
    let p = policies(&g);
    assert!(p.contains(&(
        29000,
        "ip4.src == 10.2.0.0/24".into(),
        "reroute".into(),
        Datum::set(["100.64.0.2".to_owned(), "100.64.0.3".to_owned()])
    )));
    assert!(!g.rows.iter().any(|r| r.key.table == "Port_Group"));
    let reroute = row(&g, "Logical_Router_Policy", "gw/sn-c/reroute/ip4");
    assert_eq!(
        value(reroute, "external_ids").get_str("nat_outgoing"),
        Some("false")
    );
}
