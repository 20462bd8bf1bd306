//! The logical-network model reconciled into a real NB, checked with ovn-northd and ovn-trace.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ovn_model::network::{
    ExternalPort, Nat, NatKind, Network, NetworkPolicy, Peer, PodPort, PolicyRule, PortMatch,
    Protocol, Service, ServicePort, StaticRoute, Subnet, Vpc,
};
use ovn_model::reconcile::{Reconciler, Report, Scope};
use ovn_tests::OvnCentral;
use ovsdb_client::client::Client;
use ovsdb_client::{Datum, MonitorRequests, Replica};

use crate::client_common::config;

const OWNER: &str = "model-test";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn subnet(name: &str, vpc: &str, cidrs: &[&str], gws: &[&str], mac: &str) -> Subnet {
    Subnet {
        name: name.into(),
        vpc: vpc.into(),
        cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
        gateways: gws.iter().map(|g| ip(g)).collect(),
        exclude_ips: vec![],
        router_mac: mac.into(),
        enable_dhcp: true,
        private: false,
        allow_subnets: vec![],
    }
}

fn pod(name: &str, ns: &str, subnet: &str, mac: &str, ips: &[&str]) -> PodPort {
    PodPort {
        pod: name.into(),
        namespace: ns.into(),
        subnet: subnet.into(),
        mac: mac.into(),
        ips: ips.iter().map(|i| ip(i)).collect(),
    }
}

/// Two Vpcs, three subnets (sn2 dual stack), six pods, a service, a policy that lets only
/// namespace `dev` reach `a1` on TCP 80, a static route and an SNAT.
fn network(policy_port: u16) -> Network {
    Network {
        vpcs: vec![
            Vpc {
                name: "vpc1".into(),
                static_routes: vec![StaticRoute {
                    prefix: "0.0.0.0/0".parse().unwrap(),
                    nexthop: ip("172.16.0.254"),
                    by_source: false,
                    route_table: String::new(),
                }],
                policy_routes: vec![],
                nat: vec![Nat {
                    kind: NatKind::Snat,
                    external_ip: ip("172.16.0.10"),
                    logical_ip: "10.0.0.0/24".into(),
                    logical_port: None,
                }],
                external: Some(ExternalPort {
                    mac: "00:00:00:00:ff:01".into(),
                    networks: vec!["172.16.0.10/24".into()],
                    gateway_chassis: vec![("gw1".into(), 10)],
                }),
            },
            Vpc {
                name: "vpc2".into(),
                ..Default::default()
            },
        ],
        subnets: vec![
            subnet(
                "sn1",
                "vpc1",
                &["10.0.0.0/24"],
                &["10.0.0.1"],
                "00:00:00:00:01:01",
            ),
            subnet(
                "sn2",
                "vpc1",
                &["10.1.0.0/24", "fd00:1::/64"],
                &["10.1.0.1", "fd00:1::1"],
                "00:00:00:00:01:02",
            ),
            subnet(
                "sn3",
                "vpc2",
                &["10.2.0.0/24"],
                &["10.2.0.1"],
                "00:00:00:00:01:03",
            ),
        ],
        pods: vec![
            pod("a1", "prod", "sn1", "0a:00:00:00:00:a1", &["10.0.0.11"]),
            pod("a2", "prod", "sn1", "0a:00:00:00:00:a2", &["10.0.0.12"]),
            pod(
                "b1",
                "dev",
                "sn2",
                "0a:00:00:00:00:b1",
                &["10.1.0.11", "fd00:1::11"],
            ),
            pod(
                "b2",
                "dev",
                "sn2",
                "0a:00:00:00:00:b2",
                &["10.1.0.12", "fd00:1::12"],
            ),
            pod("c1", "other", "sn3", "0a:00:00:00:00:c1", &["10.2.0.11"]),
            pod("c2", "other", "sn3", "0a:00:00:00:00:c2", &["10.2.0.12"]),
        ],
        services: vec![Service {
            name: "web".into(),
            namespace: "prod".into(),
            vpc: "vpc1".into(),
            ports: vec![ServicePort {
                protocol: Protocol::Tcp,
                vip: ip("10.96.0.10"),
                port: 80,
                backends: vec![(ip("10.0.0.11"), 8080), (ip("10.0.0.12"), 8080)],
            }],
            session_affinity: false,
        }],
        policies: vec![NetworkPolicy {
            name: "only-dev".into(),
            namespace: "prod".into(),
            ports: vec!["a1.prod".into()],
            ingress: Some(vec![PolicyRule {
                peers: Some(vec![Peer::Addresses(vec![
                    ip("10.1.0.11"),
                    ip("10.1.0.12"),
                    ip("fd00:1::11"),
                    ip("fd00:1::12"),
                ])]),
                ports: vec![PortMatch {
                    protocol: Protocol::Tcp,
                    port: Some(policy_port),
                    end_port: None,
                }],
            }]),
            egress: None,
        }],
    }
}

struct Env {
    central: OvnCentral,
    client: Client,
    replica: Arc<RwLock<Replica>>,
    reconciler: Reconciler,
}

impl Env {
    async fn start() -> Env {
        let central = OvnCentral::start().expect("NB, SB and northd start");
        let client = Client::connect(config(&central.nb.remote()))
            .await
            .expect("client connects");
        let replicated = client
            .replicate("OVN_Northbound", MonitorRequests::new())
            .await
            .expect("replica loads");
        Env {
            central,
            client,
            replica: replicated.replica,
            reconciler: Reconciler::new(OWNER),
        }
    }

    async fn reconcile(&self, net: &Network) -> Report {
        let report = self
            .reconciler
            .reconcile(
                &self.client,
                &self.replica,
                &net.desired(),
                Scope::Everything,
            )
            .await;
        assert!(
            report.failed.is_empty(),
            "failed groups: {:?}",
            report.failed
        );
        assert!(
            report.incomplete.is_empty(),
            "incomplete groups: {:?}",
            report.incomplete
        );
        self.central.wait_synced().expect("northd catches up");
        report
    }

    /// `ovn-trace --minimal DATAPATH MICROFLOW`.
    fn trace(&self, datapath: &str, flow: &str) -> String {
        self.central
            .ovn_trace(["--minimal", datapath, flow])
            .expect("ovn-trace runs")
    }

    fn names(&self, table: &str) -> Vec<String> {
        let r = self.replica.read().unwrap();
        let mut v: Vec<String> = r
            .table(table)
            .unwrap()
            .rows()
            .filter_map(|row| {
                row.get("name")
                    .and_then(Datum::as_scalar)
                    .and_then(|a| a.as_str().map(str::to_owned))
            })
            .collect();
        v.sort();
        v
    }
}

fn icmp4(inport: &str, src_mac: &str, dst_mac: &str, src: &str, dst: &str) -> String {
    format!(
        "inport == \"{inport}\" && eth.src == {src_mac} && eth.dst == {dst_mac} && ip4.src == {src} && ip4.dst == {dst} && ip.ttl == 64 && icmp4 && icmp4.type == 8"
    )
}

fn tcp4(inport: &str, src_mac: &str, dst_mac: &str, src: &str, dst: &str, port: u16) -> String {
    format!(
        "inport == \"{inport}\" && eth.src == {src_mac} && eth.dst == {dst_mac} && ip4.src == {src} && ip4.dst == {dst} && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == {port}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_converges_and_ovn_trace_proves_it() {
    let env = Env::start().await;
    // A row another writer owns, inside a switch we will own: it must survive everything.
    env.central.nb.nbctl(["ls-add", "foreign-switch"]).unwrap();

    let first = env.reconcile(&network(80)).await;
    assert!(first.transactions > 0);
    env.central
        .nb
        .nbctl(["lsp-add", "sn1", "foreign-port"])
        .unwrap();

    // Same subnet.
    let t = env.trace(
        "sn1",
        &icmp4(
            "a1.prod",
            "0a:00:00:00:00:a1",
            "0a:00:00:00:00:a2",
            "10.0.0.11",
            "10.0.0.12",
        ),
    );
    assert!(t.contains("output(\"a2.prod\")"), "a1 -> a2:\n{t}");
    // Across subnets of one Vpc, through the router.
    let t = env.trace(
        "sn1",
        &icmp4(
            "a2.prod",
            "0a:00:00:00:00:a2",
            "00:00:00:00:01:01",
            "10.0.0.12",
            "10.1.0.11",
        ),
    );
    assert!(t.contains("output(\"b1.dev\")"), "a2 -> b1:\n{t}");
    // Across Vpcs: no way.
    let t = env.trace(
        "sn1",
        &icmp4(
            "a2.prod",
            "0a:00:00:00:00:a2",
            "00:00:00:00:01:01",
            "10.0.0.12",
            "10.2.0.11",
        ),
    );
    assert!(
        !t.contains("output(\"c1.other\")"),
        "a2 -> c1 must not arrive:\n{t}"
    );
    // IPv6 in the dual-stack subnet.
    let t = env.trace(
        "sn2",
        "inport == \"b1.dev\" && eth.src == 0a:00:00:00:00:b1 && eth.dst == 0a:00:00:00:00:b2 && ip6.src == fd00:1::11 && ip6.dst == fd00:1::12 && ip.ttl == 64 && icmp6 && icmp6.type == 128",
    );
    assert!(t.contains("output(\"b2.dev\")"), "b1 -> b2 over IPv6:\n{t}");
    // The service VIP is load-balanced to the backends.
    let t = env.trace(
        "sn2",
        &tcp4(
            "b1.dev",
            "0a:00:00:00:00:b1",
            "00:00:00:00:01:02",
            "10.1.0.11",
            "10.96.0.10",
            80,
        ),
    );
    assert!(t.contains("ct_lb"), "service VIP:\n{t}");
    // With the balancer's choice fixed, the packet reaches that backend.
    let flow = tcp4(
        "b1.dev",
        "0a:00:00:00:00:b1",
        "00:00:00:00:01:02",
        "10.1.0.11",
        "10.96.0.10",
        80,
    );
    let t = env
        .central
        .ovn_trace(["--minimal", "--lb-dst=10.0.0.12:8080", "sn2", &flow])
        .unwrap();
    assert!(t.contains("output(\"a2.prod\")"), "VIP to backend a2:\n{t}");
    // The policy: dev may reach a1 on TCP 80 ...
    let t = env.trace(
        "sn2",
        &tcp4(
            "b1.dev",
            "0a:00:00:00:00:b1",
            "00:00:00:00:01:02",
            "10.1.0.11",
            "10.0.0.11",
            80,
        ),
    );
    assert!(
        t.contains("output(\"a1.prod\")"),
        "dev -> a1:80 allowed:\n{t}"
    );
    // ... but not on another port, and prod's own a2 may not at all.
    let t = env.trace(
        "sn2",
        &tcp4(
            "b1.dev",
            "0a:00:00:00:00:b1",
            "00:00:00:00:01:02",
            "10.1.0.11",
            "10.0.0.11",
            81,
        ),
    );
    assert!(
        !t.contains("output(\"a1.prod\")"),
        "dev -> a1:81 dropped:\n{t}"
    );
    let t = env.trace(
        "sn1",
        &tcp4(
            "a2.prod",
            "0a:00:00:00:00:a2",
            "0a:00:00:00:00:a1",
            "10.0.0.12",
            "10.0.0.11",
            80,
        ),
    );
    assert!(
        !t.contains("output(\"a1.prod\")"),
        "a2 -> a1:80 dropped:\n{t}"
    );
    // The reply direction of the allowed flow, and a1's own traffic out, are not isolated.
    let t = env.trace(
        "sn1",
        "inport == \"a1.prod\" && eth.src == 0a:00:00:00:00:a1 && eth.dst == 00:00:00:00:01:01 && ip4.src == 10.0.0.11 && ip4.dst == 10.1.0.11 && ip.ttl == 64 && tcp && tcp.src == 80 && tcp.dst == 40000",
    );
    assert!(t.contains("output(\"b1.dev\")"), "a1 -> b1 reply:\n{t}");

    // Pods get their subnet's DHCP options.
    let dhcp = env
        .central
        .nb
        .nbctl([
            "get",
            "Logical_Switch_Port",
            "b1.dev",
            "dhcpv4_options",
            "dhcpv6_options",
        ])
        .unwrap();
    assert_eq!(
        dhcp.lines()
            .filter(|l| !l.trim().is_empty() && l.trim() != "[]")
            .count(),
        2,
        "{dhcp}"
    );

    // Idempotence: the same model again sends nothing.
    let again = env.reconcile(&network(80)).await;
    assert_eq!(again.transactions, 0, "second pass wrote: {again:?}");

    // Change the model: c2 goes, the policy moves to 8080, the service goes, sn3 goes
    // (and its remaining pod with it).
    let mut changed = network(8080);
    changed.pods.retain(|p| p.subnet != "sn3");
    changed.subnets.retain(|s| s.name != "sn3");
    changed.services.clear();
    env.reconcile(&changed).await;
    let t = env.trace(
        "sn2",
        &tcp4(
            "b1.dev",
            "0a:00:00:00:00:b1",
            "00:00:00:00:01:02",
            "10.1.0.11",
            "10.0.0.11",
            80,
        ),
    );
    assert!(
        !t.contains("output(\"a1.prod\")"),
        "dev -> a1:80 now dropped:\n{t}"
    );
    let t = env.trace(
        "sn2",
        &tcp4(
            "b1.dev",
            "0a:00:00:00:00:b1",
            "00:00:00:00:01:02",
            "10.1.0.11",
            "10.0.0.11",
            8080,
        ),
    );
    assert!(
        t.contains("output(\"a1.prod\")"),
        "dev -> a1:8080 now allowed:\n{t}"
    );
    let t = env.trace(
        "sn2",
        &tcp4(
            "b1.dev",
            "0a:00:00:00:00:b1",
            "00:00:00:00:01:02",
            "10.1.0.11",
            "10.96.0.10",
            80,
        ),
    );
    assert!(!t.contains("ct_lb"), "service gone:\n{t}");
    assert!(!env.names("Logical_Switch").contains(&"sn3".to_string()));
    assert!(
        env.names("Load_Balancer").is_empty(),
        "{:?}",
        env.names("Load_Balancer")
    );
    let ports = env.names("Logical_Switch_Port");
    assert!(
        !ports
            .iter()
            .any(|p| p.starts_with("c1.") || p.starts_with("c2.") || p.starts_with("sn3-")),
        "{ports:?}"
    );
    // Other writers' rows survived.
    assert!(
        env.names("Logical_Switch")
            .contains(&"foreign-switch".to_string())
    );
    assert!(ports.contains(&"foreign-port".to_string()), "{ports:?}");
    assert_eq!(env.reconcile(&changed).await.transactions, 0);

    // Everything gone: only the foreign rows are left.
    env.reconcile(&Network::default()).await;
    assert_eq!(
        env.names("Logical_Switch"),
        vec!["foreign-switch".to_string()]
    );
    assert!(env.names("Logical_Router").is_empty());
    assert!(env.names("Port_Group").is_empty());
    assert!(env.names("Address_Set").is_empty());
    let r = env.replica.read().unwrap();
    for t in [
        "ACL",
        "NAT",
        "Logical_Router_Static_Route",
        "Logical_Router_Port",
        "DHCP_Options",
        "Gateway_Chassis",
    ] {
        assert_eq!(r.table(t).unwrap().len(), 0, "{t} left behind");
    }
}
