//! `model-bench`: reconciles a large logical network into an empty OVN_Northbound and reports
//! time, transactions and bytes, then the no-change pass; with `--nbctl`, the anchor: the same
//! pods' ports created by ovn-nbctl on a second, empty server.
//!
//! ```text
//! model-bench --remote unix:/tmp/nb1/db.sock [--pods 10000 --subnets 20 --services 1000 --policies 500]
//! model-bench --remote … --nbctl unix:/tmp/nb2/db.sock
//! ```
//!
//! Prints one JSON line per pass.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use clap::Parser;
use ovn_benches::nbctl::create_switches_and_ports;
use ovn_model::network::{
    Network, NetworkPolicy, Peer, PodPort, PolicyRule, PortMatch, Protocol, Service, ServicePort,
    Subnet, Vpc,
};
use ovn_model::reconcile::{Reconciler, Scope};
use ovsdb_client::MonitorRequests;
use ovsdb_client::client::{Client, ClientConfig};

#[derive(Parser)]
struct Args {
    /// The NB server to reconcile into (empty).
    #[arg(long)]
    remote: String,
    /// Pods.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Subnets.
    #[arg(long, default_value_t = 20)]
    subnets: usize,
    /// Services.
    #[arg(long, default_value_t = 1_000)]
    services: usize,
    /// NetworkPolicies.
    #[arg(long, default_value_t = 500)]
    policies: usize,
    /// A second empty NB server: ovn-nbctl creates the same switches and pod ports there.
    #[arg(long)]
    nbctl: Option<String>,
}

fn pod_ip(subnet: usize, i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        subnet as u8,
        (i / 250) as u8,
        (i % 250 + 2) as u8,
    ))
}

fn network(a: &Args) -> Network {
    let per_subnet = a.pods.div_ceil(a.subnets);
    let subnets: Vec<Subnet> = (0..a.subnets)
        .map(|s| Subnet {
            name: format!("subnet{s}"),
            vpc: "ovn-cluster".into(),
            cidrs: vec![format!("10.{s}.0.0/16").parse().expect("valid CIDR")],
            gateways: vec![IpAddr::V4(Ipv4Addr::new(10, s as u8, 0, 1))],
            exclude_ips: vec![],
            router_mac: format!("00:00:00:00:{:02x}:01", s),
            enable_dhcp: false,
            private: false,
            allow_subnets: vec![],
        })
        .collect();
    let pods: Vec<PodPort> = (0..a.pods)
        .map(|p| {
            let (s, i) = (p / per_subnet, p % per_subnet);
            PodPort {
                pod: format!("pod{p}"),
                namespace: format!("ns{}", p % 100),
                subnet: format!("subnet{s}"),
                mac: format!("0a:00:00:{:02x}:{:02x}:{:02x}", s, i >> 8, i & 0xff),
                ips: vec![pod_ip(s, i)],
            }
        })
        .collect();
    let services = (0..a.services)
        .map(|v| Service {
            name: format!("svc{v}"),
            namespace: format!("ns{}", v % 100),
            vpc: "ovn-cluster".into(),
            ports: vec![ServicePort {
                protocol: Protocol::Tcp,
                vip: IpAddr::V4(Ipv4Addr::new(10, 96, (v / 250) as u8, (v % 250 + 1) as u8)),
                port: 80,
                backends: (0..2)
                    .map(|b| (pods[(v * 2 + b) % pods.len()].ips[0], 8080))
                    .collect(),
            }],
            session_affinity: v % 2 == 0,
        })
        .collect();
    let policies = (0..a.policies)
        .map(|n| {
            let selected: Vec<&PodPort> =
                (0..20).map(|k| &pods[(n * 20 + k) % pods.len()]).collect();
            let peers: Vec<IpAddr> = (0..20)
                .map(|k| pods[(n * 20 + 20 + k) % pods.len()].ips[0])
                .collect();
            NetworkPolicy {
                name: format!("np{n}"),
                namespace: format!("ns{}", n % 100),
                ports: selected.iter().map(|p| p.port_name()).collect(),
                ingress: Some(vec![PolicyRule {
                    peers: Some(vec![Peer::Addresses(peers)]),
                    ports: vec![PortMatch {
                        protocol: Protocol::Tcp,
                        port: Some(80),
                        end_port: None,
                    }],
                }]),
                egress: None,
            }
        })
        .collect();
    Network {
        vpcs: vec![Vpc {
            name: "ovn-cluster".into(),
            ..Default::default()
        }],
        subnets,
        pods,
        services,
        policies,
    }
}

/// The anchor: ovn-nbctl creating the network's switches and pod ports, 500 per invocation.
fn nbctl(remote: &str, net: &Network) -> Result<(f64, usize), String> {
    let switches: Vec<String> = net.subnets.iter().map(|s| s.name.clone()).collect();
    let ports: Vec<(String, String, String)> = net
        .pods
        .iter()
        .map(|p| {
            (
                p.subnet.clone(),
                p.port_name(),
                format!("{} {}", p.mac, p.ips[0]),
            )
        })
        .collect();
    create_switches_and_ports(remote, &switches, &ports, 500)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let net = network(&args);
    let desired = net.desired();
    let config = ClientConfig::new(&args.remote).map_err(|e| e.to_string())?;
    let client = Client::connect(config).await.map_err(|e| e.to_string())?;
    let replicated = client
        .replicate("OVN_Northbound", MonitorRequests::new())
        .await
        .map_err(|e| e.to_string())?;
    let reconciler = Reconciler::new("model-bench");
    for pass in ["initial", "no-change"] {
        let started = Instant::now();
        let report = reconciler
            .reconcile(&client, &replicated.replica, &desired, Scope::Everything)
            .await;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "workload": "reconcile", "pass": pass, "pods": args.pods, "subnets": args.subnets,
                "services": args.services, "policies": args.policies, "rows": desired.row_count(),
                "seconds": seconds, "transactions": report.transactions,
                "operations": report.operations, "bytes": report.bytes,
                "failed": report.failed.len(), "incomplete": report.incomplete.len(),
            })
        );
    }
    if let Some(remote) = &args.nbctl {
        let (seconds, invocations) = nbctl(remote, &net)?;
        println!(
            "{}",
            serde_json::json!({
                "workload": "nbctl-switches-and-pod-ports", "pods": args.pods,
                "subnets": args.subnets, "seconds": seconds, "invocations": invocations,
            })
        );
    }
    Ok(())
}
