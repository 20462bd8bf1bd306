//! Two chassis, each in its own network namespace with its own ovs-vswitchd and ovn-controller,
//! joined by Geneve: pods on different nodes reach each other.
//!
//! Topology (see `ovn_tests::Underlay` for why each chassis needs `br-phy`):
//!
//! ```text
//!  host: NB + SB ovsdb-servers, ovn-northd, each chassis's Open_vSwitch ovsdb-server
//!  node A = namespace ovnt-…: ovs-vswitchd (br-int, br-phy 192.168.200.1 + ul0), ovn-controller,
//!           kube-ovn-controller (manifest mode), kube-ovn-daemon (socket A)
//!  node B = namespace ovnt-…: ovs-vswitchd (br-int, br-phy 192.168.200.2 + ul0), ovn-controller,
//!           kube-ovn-daemon (socket B)
//!  underlay = namespace ovnu-…: Linux bridge br0 with the other ends of both ul0 cables
//!  pods = namespaces ovnp-…, plugged by executing the `kube-ovn` CNI binary against the daemon
//!         of the node the pod is scheduled on (`spec.nodeName`)
//! ```
//!
//! The only link between the node namespaces is the underlay, so every packet between pods on
//! different nodes crossed it inside a Geneve tunnel that ovs-vswitchd pushed and popped in
//! userspace.

use std::path::PathBuf;

use crate::daemon_pods::{CniJson, TestPod, addresses, pinger};
use ovn_tests::{
    Chassis, DEFAULT_TIMEOUT, OvnCentral, PodSandbox, Result, ScratchDir, Underlay, wait_until,
};

fn binary(name: &str, env: &str) -> PathBuf {
    crate::cli_common::workspace_binary(name, env)
}

/// A node: a chassis on the underlay plus its kube-ovn-daemon.
struct Node {
    chassis: Chassis,
    socket: PathBuf,
    daemon_console: PathBuf,
}

impl Node {
    /// Starts a chassis cabled to `underlay` and registered in `central`'s SB.
    fn chassis(central: &OvnCentral, underlay: &Underlay) -> Result<Chassis> {
        Chassis::builder(&central.sb.remote())
            .underlay(underlay)
            .start()
    }

    /// Starts the node's daemon inside its chassis namespace. Several daemons on one host are
    /// told apart by their node name, Open_vSwitch database and socket, all per chassis.
    fn start_daemon(mut chassis: Chassis, nb: &str) -> Result<Node> {
        let socket = chassis.dir().join("kube-ovn-daemon.sock");
        let daemon = binary("kube-ovn-daemon", "KUBE_OVN_DAEMON");
        let node_name = chassis.name().to_owned();
        let ovs = chassis.ovs_remote();
        let daemon_console = chassis.spawn(
            "daemon",
            daemon.to_str().unwrap(),
            [
                "--node",
                &node_name,
                "--ovs-db",
                &ovs,
                "--socket",
                socket.to_str().unwrap(),
                "--ovn-nb",
                nb,
                "--datapath",
                "netdev",
                "--address-timeout",
                "15",
            ],
            &[("RUST_LOG", "info")],
        )?;
        wait_until(
            DEFAULT_TIMEOUT,
            &format!("the daemon of {node_name} to listen on its socket"),
            || socket.exists(),
        )?;
        Ok(Node {
            chassis,
            socket,
            daemon_console,
        })
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(&self.daemon_console).unwrap_or_default()
    }

    /// Plugs a new sandbox as pod `namespace/name` with ADD, as the node's runtime does;
    /// panics with the daemon's log if ADD fails. Returns the pod and its addresses (v4 first).
    fn plug(&self, namespace: &str, name: &str) -> (TestPod, Vec<String>) {
        let pod = TestPod {
            sandbox: PodSandbox::new().unwrap(),
            container_id: container_id(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        };
        let add = pod.cni("ADD", &self.socket);
        assert_eq!(
            add.code,
            Some(0),
            "ADD {namespace}/{name} on {}: {}\ndaemon log:\n{}",
            self.chassis.name(),
            add.stdout,
            self.daemon_log()
        );
        let result = add.json();
        (pod, addresses(&result))
    }
}

/// A container id unique among test processes, differing in its first 12 characters (the
/// daemon names the host veth after them). The `c2` tag keeps it apart from daemon_pods' ids.
fn container_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("c2{n:02x}{:08x}{:052x}", std::process::id(), 0)
}

/// The cluster: two nodes, a dual-stack subnet spanning both, a second subnet on node B, and a
/// Service whose only backend (web) runs on node B, with a policy admitting TCP 8080 from dev.
fn manifests(node_a: &str, node_b: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Node
metadata: {{name: {node_a}}}
---
apiVersion: v1
kind: Node
metadata: {{name: {node_b}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: dev, labels: {{env: dev}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: prod}}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {{name: sn-dev}}
spec: {{cidrBlock: "10.120.0.0/24,fd00:120::/64", namespaces: [dev]}}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {{name: sn-prod}}
spec: {{cidrBlock: 10.110.0.0/24, namespaces: [prod]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: prod}}
spec:
  clusterIP: 10.96.0.100
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web-8080-from-dev, namespace: prod}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - from: [{{namespaceSelector: {{matchLabels: {{env: dev}}}}}}]
    ports: [{{protocol: TCP, port: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client-a, namespace: dev}}
spec: {{nodeName: {node_a}, containers: [{{name: c, image: x}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: client-b, namespace: dev}}
spec: {{nodeName: {node_b}, containers: [{{name: c, image: x}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: prod, labels: {{app: web}}}}
spec: {{nodeName: {node_b}, containers: [{{name: c, image: x}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: batch, namespace: prod}}
spec: {{nodeName: {node_b}, containers: [{{name: c, image: x}}]}}
"#
    )
}

/// `ovn-sbctl --bare --columns=COLUMN find TABLE CONDITION`, trimmed.
fn sb_find(central: &OvnCentral, column: &str, table: &str, condition: &str) -> Result<String> {
    let out = central.sb.sbctl([
        "--bare",
        &format!("--columns={column}"),
        "find",
        table,
        condition,
    ])?;
    Ok(out.trim().to_owned())
}

#[test]
fn chassis_two_nodes_pods_talk_over_geneve() -> Result<()> {
    let central = OvnCentral::start()?;
    let underlay = Underlay::new()?;
    let chassis_a = Node::chassis(&central, &underlay)?;
    let chassis_b = Node::chassis(&central, &underlay)?;
    let (name_a, name_b) = (chassis_a.name().to_owned(), chassis_b.name().to_owned());

    // The underlay works before OVN uses it: the kernel of A reaches B's br-phy through A's
    // br-phy, the cable, the bridge and B's br-phy.
    let probe = pinger();
    wait_until(
        DEFAULT_TIMEOUT,
        "node A to ping node B on the underlay",
        || {
            chassis_a
                .exec([probe.as_str(), "ping", chassis_b.encap_ip(), "1000"])
                .is_ok()
        },
    )?;

    let nb = central.nb.remote();
    let manifests_dir = ScratchDir::new("two-chassis-manifests")?;
    std::fs::write(
        manifests_dir.join("cluster.yaml"),
        manifests(&name_a, &name_b),
    )
    .unwrap();
    let mut chassis_a = chassis_a;
    let controller = binary("kube-ovn-controller", "KUBE_OVN_CONTROLLER");
    chassis_a.spawn(
        "controller",
        controller.to_str().unwrap(),
        [
            "--manifests",
            manifests_dir.path().to_str().unwrap(),
            "--ovn-nb",
            &nb,
        ],
        &[("RUST_LOG", "warn")],
    )?;
    let node_a = Node::start_daemon(chassis_a, &nb)?;
    let node_b = Node::start_daemon(chassis_b, &nb)?;

    // Each node's runtime plugs its own pods, concurrently across nodes.
    let ((client_a, a), [(client_b, b), (mut web, web_ips), (batch, batch_ips)]) =
        std::thread::scope(|scope| {
            let a = scope.spawn(|| node_a.plug("dev", "client-a"));
            let b = scope.spawn(|| {
                [("dev", "client-b"), ("prod", "web"), ("prod", "batch")]
                    .map(|(namespace, name)| node_b.plug(namespace, name))
            });
            (a.join().expect("ADD on A"), b.join().expect("ADD on B"))
        });
    assert!(a[0].starts_with("10.120.0.") && a.len() == 2, "{a:?}");
    assert!(b[0].starts_with("10.120.0.") && b.len() == 2, "{b:?}");
    let web_ip = web_ips[0].clone();
    let batch_ip = batch_ips[0].clone();
    assert!(web_ip.starts_with("10.110.0."), "{web_ip}");
    assert!(batch_ip.starts_with("10.110.0."), "{batch_ip}");

    // SB: two chassis, each with one Geneve encap on its underlay address, and each pod's port
    // bound to the chassis of the node that plugged it.
    for node in [&node_a, &node_b] {
        let chassis = &node.chassis;
        let encaps = sb_find(
            &central,
            "encaps",
            "Chassis",
            &format!("name={}", chassis.name()),
        )?;
        let encap = encaps.split_whitespace().collect::<Vec<_>>();
        assert_eq!(encap.len(), 1, "{} has one encap: {encaps}", chassis.name());
        let kind = central.sb.sbctl(["get", "Encap", encap[0], "type"])?;
        assert_eq!(kind.trim(), "geneve");
        let ip = central.sb.sbctl(["get", "Encap", encap[0], "ip"])?;
        assert_eq!(ip.trim().trim_matches('"'), chassis.encap_ip());
    }
    let all = central
        .sb
        .sbctl(["--bare", "--columns=name", "list", "Chassis"])?;
    let mut names = all.split_whitespace().collect::<Vec<_>>();
    names.sort_unstable();
    let mut expected = vec![name_a.as_str(), name_b.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected, "exactly the two chassis");
    for (port, node) in [
        ("client-a.dev", &node_a),
        ("client-b.dev", &node_b),
        ("web.prod", &node_b),
        ("batch.prod", &node_b),
    ] {
        let chassis_uuid = sb_find(
            &central,
            "_uuid",
            "Chassis",
            &format!("name={}", node.chassis.name()),
        )?;
        let bound = sb_find(
            &central,
            "chassis",
            "Port_Binding",
            &format!("logical_port={port}"),
        )?;
        assert_eq!(
            bound,
            chassis_uuid,
            "{port} is bound on {}",
            node.chassis.name()
        );
    }
    // ovn-controller on A made a Geneve port towards B's underlay address, in userspace.
    let tunnels = node_a.chassis.vsctl([
        "--bare",
        "--columns=options",
        "find",
        "Interface",
        "type=geneve",
    ])?;
    assert!(
        tunnels
            .replace('"', "")
            .contains(&format!("remote_ip={}", node_b.chassis.encap_ip())),
        "{tunnels}"
    );

    // One subnet across the nodes, v4 then v6 (the first packets may wait for the tunnel
    // endpoint's ARP resolution).
    let debug = || {
        for node in [&node_a, &node_b] {
            eprintln!(
                "--- {}\ntnl/arp/show: {:?}\novs/route/show: {:?}\ntnl/ports/show: {:?}\n\
                 dpctl/dump-flows: {:?}\ndaemon log:\n{}",
                node.chassis.name(),
                node.chassis.vswitchd_appctl(["tnl/arp/show"]),
                node.chassis.vswitchd_appctl(["ovs/route/show"]),
                node.chassis.vswitchd_appctl(["tnl/ports/show", "-v"]),
                node.chassis.vswitchd_appctl(["dpctl/dump-flows"]),
                node.daemon_log(),
            );
        }
    };
    wait_until(
        DEFAULT_TIMEOUT,
        "client-a (A) to ping client-b (B), v4",
        || client_a.ping(&b[0]),
    )
    .inspect_err(|_| debug())?;
    assert!(client_b.ping(&a[0]), "and back, B to A");
    wait_until(
        DEFAULT_TIMEOUT,
        "client-a (A) to ping client-b (B), v6",
        || client_a.ping(&b[1]),
    )
    .inspect_err(|_| debug())?;
    // The tunnel endpoint was resolved by ovs-vswitchd itself, on br-phy.
    let arp = node_a.chassis.vswitchd_appctl(["tnl/arp/show"])?;
    assert!(
        arp.contains(node_b.chassis.encap_ip()) && arp.contains(ovn_tests::PHYSICAL_BRIDGE),
        "{arp}"
    );
    // And the packets were tunnelled in userspace: A's datapath pushes a Geneve header towards
    // B, B's pops it. (Datapath flows expire when idle, so each look follows a fresh ping.)
    for (node, action) in [(&node_a, "tnl_push"), (&node_b, "tnl_pop")] {
        let mut flows = String::new();
        wait_until(
            DEFAULT_TIMEOUT,
            &format!("{} to {action} Geneve", node.chassis.name()),
            || {
                flows = node
                    .chassis
                    .vswitchd_appctl(["dpctl/dump-flows"])
                    .unwrap_or_default();
                client_a.ping(&b[0])
                    && flows.lines().any(|l| {
                        l.contains(action) && (action == "tnl_pop" || l.contains("geneve"))
                    })
            },
        )
        .inspect_err(|_| eprintln!("datapath flows:\n{flows}"))?;
    }

    // Another subnet on the other node, through the logical router.
    wait_until(
        DEFAULT_TIMEOUT,
        "client-a (sn-dev, A) to ping batch (sn-prod, B)",
        || client_a.ping(&batch_ip),
    )
    .inspect_err(|_| debug())?;
    assert!(batch.ping(&a[0]), "and back, sn-prod on B to sn-dev on A");

    // TCP to the Service ClusterIP: the load balancer on A's switch picks web, on B.
    web.sandbox
        .spawn("listen-8080", &probe, ["listen", "8080", "120"])?;
    web.sandbox
        .spawn("listen-9090", &probe, ["listen", "9090", "120"])?;
    wait_until(
        DEFAULT_TIMEOUT,
        "client-a (A) to reach the web service (backend on B)",
        || client_a.tcp("10.96.0.100:80"),
    )
    .inspect_err(|_| debug())?;
    assert!(client_a.tcp(&format!("{web_ip}:8080")), "and web directly");
    // Both listeners are up (seen from inside web), so a refused flow below is the policy.
    for port in [8080, 9090] {
        wait_until(DEFAULT_TIMEOUT, &format!("web to listen on {port}"), || {
            web.tcp(&format!("127.0.0.1:{port}"))
        })?;
    }
    // The policy holds across nodes: what B's chassis admits into web is decided by the ACLs,
    // wherever the client runs.
    assert!(
        !client_a.tcp(&format!("{web_ip}:9090")),
        "web admits TCP 8080 only, even from dev"
    );
    assert!(
        !batch.tcp(&format!("{web_ip}:8080")),
        "web admits the dev namespace only, even on its own node"
    );
    assert!(
        client_b.tcp(&format!("{web_ip}:8080")),
        "client-b (dev, B) reaches web on its own node"
    );

    // Host network across nodes: node A, through its ovn0 on the join subnet, reaches a pod on
    // node B, and the pod answers back through the tunnel.
    wait_until(
        DEFAULT_TIMEOUT,
        "node A to ping client-b (B) through ovn0",
        || {
            node_a
                .chassis
                .exec([probe.as_str(), "ping", &b[0], "1000"])
                .is_ok()
        },
    )
    .inspect_err(|_| {
        eprintln!("node A routes: {:?}", node_a.chassis.exec(["ip", "route"]));
        debug();
    })?;

    // DEL on B releases the binding there; the same pod started again on A (rescheduled, as a
    // StatefulSet pod keeps its name) is bound to A and keeps its address.
    let binding = |port: &str| {
        sb_find(
            &central,
            "chassis",
            "Port_Binding",
            &format!("logical_port={port}"),
        )
    };
    let del = client_b.cni("DEL", &node_b.socket);
    assert_eq!(del.code, Some(0), "DEL client-b on B: {}", del.stdout);
    wait_until(DEFAULT_TIMEOUT, "client-b.dev to be unbound", || {
        binding("client-b.dev").is_ok_and(|c| c.is_empty())
    })?;
    assert!(!client_a.ping(&b[0]), "client-b is gone from B");
    let (moved, moved_ips) = node_a.plug("dev", "client-b");
    assert_eq!(moved_ips, b, "the controller's address follows the pod");
    let chassis_a_uuid = sb_find(
        &central,
        "_uuid",
        "Chassis",
        &format!("name={}", node_a.chassis.name()),
    )?;
    wait_until(DEFAULT_TIMEOUT, "client-b.dev to be bound on A", || {
        binding("client-b.dev").is_ok_and(|c| c == chassis_a_uuid)
    })?;
    wait_until(
        DEFAULT_TIMEOUT,
        "batch (B) to ping client-b, now on A",
        || batch.ping(&b[0]),
    )
    .inspect_err(|_| debug())?;

    let (mut node_a, mut node_b) = (node_a, node_b);
    node_a.chassis.check_spawned()?;
    node_b.chassis.check_spawned()?;
    drop((client_a, client_b, web, batch, moved));
    drop((node_a, node_b));
    drop(underlay);
    drop(central);
    Ok(())
}

/// The fixture alone, with OVN's own tools and no kube-ovn binary: two chassis on an
/// underlay carry TCP between pods through Geneve, and everything goes away on drop. A failure
/// here points at the harness (or OVS), not at the daemon.
#[test]
fn chassis_two_fixture_tunnels_tcp_and_cleans_up() -> Result<()> {
    let central = OvnCentral::start()?;
    central.nb.nbctl([
        "ls-add",
        "sw0",
        "--",
        "lsp-add",
        "sw0",
        "pod-a",
        "--",
        "lsp-set-addresses",
        "pod-a",
        "0a:00:00:00:01:0a 10.9.1.10",
        "--",
        "lsp-add",
        "sw0",
        "pod-b",
        "--",
        "lsp-set-addresses",
        "pod-b",
        "0a:00:00:00:01:0b 10.9.1.11",
    ])?;
    central.wait_synced()?;
    let underlay = Underlay::new()?;
    let chassis_a = Node::chassis(&central, &underlay)?;
    let chassis_b = Node::chassis(&central, &underlay)?;
    assert_ne!(chassis_a.encap_ip(), chassis_b.encap_ip());
    let a = chassis_a.add_pod("pod-a", "0a:00:00:00:01:0a", "10.9.1.10/24", None)?;
    let mut b = chassis_b.add_pod("pod-b", "0a:00:00:00:01:0b", "10.9.1.11/24", None)?;
    let probe = env!("CARGO_BIN_EXE_ovn-tests-probe");
    b.spawn("listener", probe, ["listen", "7000"])?;
    wait_until(
        DEFAULT_TIMEOUT,
        "pod-a (A) to reach pod-b (B) over TCP",
        || a.exec([probe, "connect", "10.9.1.11:7000"]).is_ok(),
    )?;

    let namespaces = [
        chassis_a.netns().name().to_owned(),
        chassis_b.netns().name().to_owned(),
        underlay.netns().name().to_owned(),
        a.netns().name().to_owned(),
        b.netns().name().to_owned(),
    ];
    let name_b = chassis_b.name().to_owned();
    drop((a, b));
    drop(chassis_b);
    // B's ovn-controller left gracefully and took its Chassis row (and encap) with it.
    let left = sb_find(&central, "name", "Chassis", &format!("name={name_b}"))?;
    assert!(left.is_empty(), "{left}");
    drop((chassis_a, underlay));
    let listed = std::fs::read_dir("/run/netns")
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for namespace in namespaces {
        assert!(!listed.contains(&namespace), "{namespace} is gone");
    }
    Ok(())
}
