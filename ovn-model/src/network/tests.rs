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
    let mut sets = AddressSets::default();
    let g = np.group(&mut sets);
    let sets = sets.into_groups();
    let pg = np.port_group_name();
    assert_eq!(pg, "np_prod_allow_web");
    // One allow set and one except set, each its own group named after its contents.
    assert_eq!(sets.len(), 2, "{sets:#?}");
    let set_with = |addresses: Datum| -> String {
        let g = sets
            .iter()
            .find(|g| g.rows[0].members["addresses"] == Cell::Value(addresses.clone()))
            .unwrap_or_else(|| panic!("no set holding {addresses:?} in {sets:#?}"));
        assert_eq!(g.phase, 3);
        let name =
            g.id.strip_prefix("addrset/")
                .expect("addrset/ group")
                .to_owned();
        assert_eq!(
            g.rows[0].key,
            RowKey::new("Address_Set", format!("as/{name}"))
        );
        assert_eq!(value(&g.rows[0], "name"), Datum::scalar(name.as_str()));
        assert_eq!(name, match_name(&name), "usable in a match");
        name
    };
    // Named after their first (here: only) rule, as Kube-OVN names them.
    let allow_set = set_with(Datum::set(["10.0.0.5", "192.168.0.0/16"]));
    assert_eq!(allow_set, format!("{pg}_ingress_allow_ip4_0"));
    let except_set = set_with(Datum::set(["192.168.1.0/24"]));
    assert_eq!(except_set, format!("{pg}_ingress_except_ip4_0"));
    let allow = row(&g, "ACL", &format!("acl/{pg}/ingress/allow/0/ip4"));
    assert_eq!(
        value(allow, "match"),
        Datum::scalar(format!(
            "outport == @{pg} && ip4.src == ${allow_set} && ip4.src != ${except_set} && ((tcp.dst == 80) || (tcp.dst >= 8000 && tcp.dst <= 8080))"
        ))
    );
    assert_eq!(value(allow, "action"), Datum::scalar("allow-related"));
    // No v6 peers: no v6 allow ACL.
    assert!(
        g.rows
            .iter()
            .all(|r| r.key.key != format!("acl/{pg}/ingress/allow/0/ip6"))
    );
    // The policy's own group holds no address set: they are shared.
    assert!(g.rows.iter().all(|r| r.key.table != "Address_Set"));
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

fn policy_from(ns: &str, name: &str, ingress: Vec<Peer>, egress: Vec<Peer>) -> NetworkPolicy {
    NetworkPolicy {
        name: name.into(),
        namespace: ns.into(),
        ports: vec![format!("p.{ns}")],
        ingress: Some(vec![PolicyRule {
            peers: Some(ingress),
            ports: vec![],
        }]),
        egress: Some(vec![PolicyRule {
            peers: Some(egress),
            ports: vec![],
        }]),
    }
}

fn ips(list: &[&str]) -> Peer {
    Peer::Addresses(list.iter().map(|a| a.parse().unwrap()).collect())
}

/// The set names an ACL's match uses (`$name`).
fn sets_named(g: &Group, acl_key: &str) -> Vec<String> {
    let Datum::Set(m) = value(row(g, "ACL", acl_key), "match") else {
        panic!()
    };
    let Atom::String(m) = &m[0] else { panic!() };
    m.split('$')
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn policies_with_the_same_peer_addresses_share_one_address_set() {
    // Two policies in different namespaces whose peers resolve to the same addresses (in a
    // different order, one with a duplicate, one split over two peers) name one set; a third,
    // different list gets its own.
    let a = policy_from(
        "a",
        "p",
        vec![ips(&["10.0.0.2", "10.0.0.1", "fd00::1"])],
        vec![ips(&["10.0.0.9"])],
    );
    let b = policy_from(
        "b",
        "p",
        vec![
            ips(&["10.0.0.1"]),
            ips(&["fd00::1", "10.0.0.2", "10.0.0.1"]),
        ],
        vec![ips(&["10.0.0.8"])],
    );
    let net = Network {
        policies: vec![a.clone(), b.clone()],
        ..Network::default()
    };
    let d = net.desired();
    let set_groups: Vec<&Group> = d
        .groups
        .values()
        .filter(|g| g.id.starts_with("addrset/"))
        .collect();
    // ingress v4 (shared), ingress v6 (shared), and each policy's own egress v4.
    assert_eq!(set_groups.len(), 4, "{set_groups:#?}");
    let ga = &d.groups["policy/a/p"];
    let gb = &d.groups["policy/b/p"];
    let pa = a.port_group_name();
    let pb = b.port_group_name();
    for fam in ["ip4", "ip6"] {
        assert_eq!(
            sets_named(ga, &format!("acl/{pa}/ingress/allow/0/{fam}")),
            sets_named(gb, &format!("acl/{pb}/ingress/allow/0/{fam}")),
        );
    }
    assert_ne!(
        sets_named(ga, &format!("acl/{pa}/egress/allow/0/ip4")),
        sets_named(gb, &format!("acl/{pb}/egress/allow/0/ip4")),
    );
    // Every name an ACL uses is a set in the desired state.
    for g in [ga, gb] {
        for r in g.rows.iter().filter(|r| r.key.table == "ACL") {
            for name in sets_named(g, &r.key.key) {
                assert!(
                    d.groups.contains_key(&format!("addrset/{name}")),
                    "{name} missing"
                );
            }
        }
    }
    // The name is the first rule's: policy a's. Alone, b's rule names its own set.
    assert_eq!(
        sets_named(ga, &format!("acl/{pa}/ingress/allow/0/ip4")),
        vec![format!("{pa}_ingress_allow_ip4_0")]
    );
    let alone = Network {
        policies: vec![b.clone()],
        ..Network::default()
    }
    .desired();
    assert_ne!(
        sets_named(
            &alone.groups["policy/b/p"],
            &format!("acl/{pb}/ingress/allow/0/ip4")
        ),
        sets_named(gb, &format!("acl/{pb}/ingress/allow/0/ip4")),
    );
    // A set no policy names any more is absent from the desired state (a full reconcile
    // removes it).
    assert!(!alone.groups.contains_key(&format!(
        "addrset/{}",
        sets_named(ga, &format!("acl/{pa}/egress/allow/0/ip4"))[0]
    )));
}

#[test]
fn address_sets_with_colliding_hashes_keep_distinct_names() {
    // Force a collision: the first list's bucket is moved under the second list's hash. The
    // second list must still get a set (and name) of its own.
    let hash_of = |a: &str| {
        let mut h = Fnv::default();
        h.write(a.as_bytes());
        h.write_u8(b' ');
        h.finish()
    };
    let mut sets = AddressSets::default();
    let first = sets.intern(vec!["10.0.0.1".into()], || "first".into());
    assert_eq!(first.as_deref(), Some("first"));
    let idx = sets.by_hash.remove(&hash_of("10.0.0.1")).unwrap();
    sets.by_hash.insert(hash_of("10.0.0.2"), idx);
    let second = sets.intern(vec!["10.0.0.2".into()], || "second".into());
    assert_eq!(second.as_deref(), Some("second"));
    assert_eq!(
        sets.intern(vec!["10.0.0.2".into()], || "third".into()),
        second
    );
    assert_eq!(sets.intern(vec![], || "empty".into()), None);
    assert_eq!(sets.into_groups().len(), 2);
}
