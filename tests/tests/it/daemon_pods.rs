//! kube-ovn-daemon and the `kube-ovn` CNI plugin end to end on a real data plane: NB, SB,
//! northd, a chassis (ovs-vswitchd netdev + ovn-controller in its own namespace), the
//! controller in manifest mode and the daemon in the chassis namespace. Pods are namespaces
//! plugged by executing the `kube-ovn` binary as a container runtime does; every assertion is a
//! real packet, sent by `kube-ovn-pinger` inside a namespace.

use std::path::{Path, PathBuf};

use ovn_tests::{
    Chassis, CniOutcome, CniPod, DEFAULT_TIMEOUT, OvnCentral, PodSandbox, Result, ScratchDir,
    run_cni_plugin, wait_until,
};

fn binary(name: &str, env: &str) -> PathBuf {
    crate::cli_common::workspace_binary(name, env)
}

pub(crate) fn plugin() -> PathBuf {
    binary("kube-ovn", "KUBE_OVN_CNI")
}

pub(crate) fn pinger() -> String {
    binary("kube-ovn-pinger", "KUBE_OVN_PINGER")
        .display()
        .to_string()
}

/// Parses what the plugin printed: the CNI result, or the Error JSON on failure.
pub(crate) trait CniJson {
    /// Stdout as JSON; panics with the output when it is not.
    fn json(&self) -> serde_json::Value;
}

impl CniJson for CniOutcome {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "plugin output is not JSON ({e}): {}
stderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs the plugin with exactly `env` and `netconf` on stdin.
fn run_plugin(env: &[(&str, &str)], netconf: &str) -> CniOutcome {
    run_cni_plugin(&plugin(), env, netconf).expect("the plugin runs")
}

/// The netconf a runtime passes `kube-ovn` for a daemon listening on `socket`.
pub(crate) fn netconf(socket: &Path) -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "kube-ovn",
        "type": "kube-ovn",
        "server_socket": socket,
    })
    .to_string()
}

/// One pod: its sandbox and what the runtime passed.
pub(crate) struct TestPod {
    pub(crate) sandbox: PodSandbox,
    pub(crate) container_id: String,
    pub(crate) name: String,
    pub(crate) namespace: String,
}

impl TestPod {
    /// Executes the `kube-ovn` plugin as a container runtime does; the daemon's own timeouts
    /// (address, ovn-installed) bound it.
    pub(crate) fn cni(&self, command: &str, socket: &Path) -> CniOutcome {
        CniPod {
            container_id: &self.container_id,
            netns: &self.sandbox.path(),
            namespace: &self.namespace,
            name: &self.name,
        }
        .run(&plugin(), command, &netconf(socket))
        .expect("the plugin runs")
    }

    pub(crate) fn ping(&self, ip: &str) -> bool {
        self.sandbox
            .exec([pinger().as_str(), "ping", ip, "1000"])
            .is_ok()
    }

    pub(crate) fn tcp(&self, target: &str) -> bool {
        self.sandbox
            .exec([pinger().as_str(), "tcp", target, "1000"])
            .is_ok()
    }
}

/// NB, SB, northd, a chassis, the controller on a manifest directory and the daemon.
pub(crate) struct Node {
    central: OvnCentral,
    pub(crate) chassis: Chassis,
    socket: PathBuf,
    daemon_console: PathBuf,
    _manifests: ScratchDir,
}

impl Node {
    /// Starts everything; `manifests` gets the node's (chassis's) name and returns the YAML the
    /// controller reads.
    pub(crate) fn start(manifests: impl FnOnce(&str) -> String) -> Result<Node> {
        let (central, chassis, dir) = Node::start_without_daemon(manifests)?;
        let nb = central.nb.remote();
        Node::start_daemon(central, chassis, dir, &["--ovn-nb", &nb])
    }

    /// NB, SB, northd, a chassis and the controller on the manifests: everything but the
    /// daemon.
    fn start_without_daemon(
        manifests: impl FnOnce(&str) -> String,
    ) -> Result<(OvnCentral, Chassis, ScratchDir)> {
        let central = OvnCentral::start()?;
        let mut chassis = Chassis::start(&central.sb.remote())?;
        let dir = ScratchDir::new("daemon-manifests")?;
        std::fs::write(dir.join("cluster.yaml"), manifests(chassis.name())).unwrap();
        let nb = central.nb.remote();
        let controller = binary("kube-ovn-controller", "KUBE_OVN_CONTROLLER");
        chassis.spawn(
            "controller",
            controller.to_str().unwrap(),
            ["--manifests", dir.path().to_str().unwrap(), "--ovn-nb", &nb],
            &[("RUST_LOG", "warn")],
        )?;
        Ok((central, chassis, dir))
    }

    /// Starts the daemon in the chassis namespace, learning networks as `source_args` say
    /// (`--ovn-nb REMOTE` or `--kubeconfig FILE`).
    fn start_daemon(
        central: OvnCentral,
        mut chassis: Chassis,
        dir: ScratchDir,
        source_args: &[&str],
    ) -> Result<Node> {
        let socket = chassis.dir().join("kube-ovn-daemon.sock");
        let daemon = binary("kube-ovn-daemon", "KUBE_OVN_DAEMON");
        let node_name = chassis.name().to_owned();
        let ovs = chassis.ovs_remote();
        let mut args = vec![
            "--node",
            &node_name,
            "--ovs-db",
            &ovs,
            "--socket",
            socket.to_str().unwrap(),
            "--datapath",
            "netdev",
            "--address-timeout",
            "15",
        ];
        args.extend_from_slice(source_args);
        let daemon_console = chassis.spawn(
            "daemon",
            daemon.to_str().unwrap(),
            args,
            &[("RUST_LOG", "info")],
        )?;
        wait_until(
            DEFAULT_TIMEOUT,
            "the daemon to listen on its socket",
            || socket.exists(),
        )?;
        Ok(Node {
            central,
            chassis,
            socket,
            daemon_console,
            _manifests: dir,
        })
    }

    /// Replaces the controller's manifest directory content (it watches the directory).
    pub(crate) fn rewrite_manifests(&self, yaml: &str) {
        let file = self._manifests.join("cluster.yaml");
        let staged = self._manifests.join(".cluster.yaml.new");
        std::fs::write(&staged, yaml).unwrap();
        // A rename, so the controller never reads half a file.
        std::fs::rename(&staged, &file).unwrap();
    }

    /// Runs ovn-nbctl against the node's NB.
    pub(crate) fn nbctl<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        args: I,
    ) -> Result<String> {
        self.central.nb.nbctl(args)
    }

    pub(crate) fn daemon_log(&self) -> String {
        std::fs::read_to_string(&self.daemon_console).unwrap_or_default()
    }

    /// Plugs a new sandbox as pod `namespace/name` with ADD; panics with the daemon's log
    /// if ADD fails.
    pub(crate) fn plug(&self, namespace: &str, name: &str) -> (TestPod, serde_json::Value) {
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
            "ADD {namespace}/{name}: {}\ndaemon log:\n{}",
            add.stdout,
            self.daemon_log()
        );
        let result = add.json();
        (pod, result)
    }
}

/// A container id unique in this process and among test processes. All of them share their
/// first 12 characters: Kube-OVN named the host veth after those, so concurrent pods here would
/// collide if the daemon still did.
fn container_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("c0ffee000000{:08x}{n:044x}", std::process::id())
}

/// The pod's addresses from an ADD result, v4 first.
pub(crate) fn addresses(result: &serde_json::Value) -> Vec<String> {
    result["ips"]
        .as_array()
        .expect("ips")
        .iter()
        .map(|ip| {
            let cidr = ip["address"].as_str().unwrap();
            cidr.split('/').next().unwrap().to_owned()
        })
        .collect()
}

pub(crate) const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-prod}
spec: {cidrBlock: 10.110.0.0/24, namespaces: [prod]}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-dev}
spec: {cidrBlock: "10.120.0.0/24,fd00:120::/64", namespaces: [dev]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: 10.96.0.100
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-dev, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {env: dev}}}]
    ports: [{protocol: TCP, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: prod, labels: {app: batch}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client-a, namespace: dev, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client-b, namespace: dev, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
"#;

#[test]
fn chassis_daemon_plugs_pods_that_talk_through_ovn() -> Result<()> {
    let mut node = Node::start(|_| MANIFESTS.to_owned())?;
    // Plugged concurrently, as a node's runtime does when pods start together.
    let [
        (mut web, web_result),
        (batch, batch_result),
        (client_a, a_result),
        (client_b, b_result),
    ] = std::thread::scope(|scope| {
        let node = &node;
        [
            ("prod", "web"),
            ("prod", "batch"),
            ("dev", "client-a"),
            ("dev", "client-b"),
        ]
        .map(|(ns, name)| scope.spawn(move || node.plug(ns, name)))
        .map(|handle| handle.join().expect("ADD"))
    });

    // The result has the spec's shape: host and pod interfaces, addresses with gateways,
    // default routes; dual stack in sn-dev.
    assert_eq!(a_result["cniVersion"], "1.0.0");
    assert_eq!(a_result["interfaces"][1]["name"], "eth0");
    assert_eq!(
        a_result["interfaces"][1]["sandbox"],
        client_a.sandbox.path().display().to_string()
    );
    let a = addresses(&a_result);
    let b = addresses(&b_result);
    let web_ip = addresses(&web_result)[0].clone();
    let batch_ip = addresses(&batch_result)[0].clone();
    assert!(
        a[0].starts_with("10.120.0.") && a[1].starts_with("fd00:120::"),
        "{a:?}"
    );
    assert_eq!(a_result["ips"][0]["gateway"], "10.120.0.1");
    assert_eq!(a_result["routes"][0]["dst"], "0.0.0.0/0");
    assert!(web_ip.starts_with("10.110.0."), "{web_ip}");
    // The pod's interface is as the controller allocated it.
    let link = client_a
        .sandbox
        .exec(["ip", "-o", "addr", "show", "dev", "eth0"])?;
    assert!(link.contains(&format!("{}/24", a[0])), "{link}");
    assert!(link.contains(&format!("{}/64", a[1])), "{link}");
    // The userspace datapath needs tx checksum offload off on both veth ends.
    let features = client_a.sandbox.exec(["ethtool", "-k", "eth0"])?;
    assert!(features.contains("tx-checksumming: off"), "{features}");
    let host = a_result["interfaces"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let features = node.chassis.exec(["ethtool", "-k", &host])?;
    assert!(features.contains("tx-checksumming: off"), "{features}");

    // One subnet, v4 and v6.
    wait_until(DEFAULT_TIMEOUT, "client-a to ping client-b (v4)", || {
        client_a.ping(&b[0])
    })?;
    assert!(client_b.ping(&a[0]));
    wait_until(DEFAULT_TIMEOUT, "client-a to ping client-b (v6)", || {
        client_a.ping(&b[1])
    })?;
    // Two subnets of one Vpc, through the logical router: batch (prod, no policy) reaches the
    // dev clients.
    wait_until(
        DEFAULT_TIMEOUT,
        "batch (sn-prod) to ping client-a (sn-dev)",
        || batch.ping(&a[0]),
    )?;
    assert!(client_b.ping(&batch_ip), "and back, dev to prod");

    // TCP under the policy: web accepts TCP 8080 from dev only.
    let probe = pinger();
    web.sandbox
        .spawn("listen-8080", &probe, ["listen", "8080", "120"])?;
    web.sandbox
        .spawn("listen-9090", &probe, ["listen", "9090", "120"])?;
    wait_until(
        DEFAULT_TIMEOUT,
        "client-a to reach web:8080 over TCP",
        || client_a.tcp(&format!("{web_ip}:8080")),
    )?;
    assert!(
        !client_a.tcp(&format!("{web_ip}:9090")),
        "the policy allows port 8080 only"
    );
    assert!(
        !batch.tcp(&format!("{web_ip}:8080")),
        "the policy admits the dev namespace only"
    );
    assert!(!client_a.ping(&web_ip), "ICMP to web is not allowed either");
    // The service's ClusterIP load-balances to web:8080.
    wait_until(DEFAULT_TIMEOUT, "client-b to reach the web service", || {
        client_b.tcp("10.96.0.100:80")
    })?;

    // CHECK passes on a plugged pod.
    let check = client_a.cni("CHECK", &node.socket);
    assert_eq!(check.code, Some(0), "{}", check.stdout);

    // DEL removes the OVS port and the interfaces; a second DEL succeeds too.
    let ports = node.chassis.vsctl(["list-ports", "br-int"])?;
    assert!(ports.contains(&host), "{ports}");
    let del = client_a.cni("DEL", &node.socket);
    assert_eq!(del.code, Some(0), "{}", del.stdout);
    assert!(
        del.stdout.trim().is_empty(),
        "DEL prints nothing: {}",
        del.stdout
    );
    let ports = node.chassis.vsctl(["list-ports", "br-int"])?;
    assert!(!ports.contains(&host), "{ports}");
    assert!(
        node.chassis
            .exec(["ip", "link", "show", "dev", &host])
            .is_err(),
        "the host end is gone"
    );
    assert!(
        client_a
            .sandbox
            .exec(["ip", "link", "show", "dev", "eth0"])
            .is_err(),
        "the pod end is gone"
    );
    let again = client_a.cni("DEL", &node.socket);
    assert_eq!(again.code, Some(0), "a second DEL: {}", again.stdout);
    // CHECK now reports what is missing, as Error JSON.
    let check = client_a.cni("CHECK", &node.socket);
    assert_ne!(check.code, Some(0));
    let error = check.json();
    assert!(error["code"].as_u64().unwrap() >= 100, "{error}");
    assert!(
        error["msg"].as_str().unwrap().contains("missing"),
        "{error}"
    );

    // DEL after the namespace is gone (a node reboot) succeeds.
    let TestPod {
        sandbox,
        container_id,
        name,
        namespace,
    } = client_b;
    let netns = sandbox.path().display().to_string();
    drop(sandbox);
    let args = format!("K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={name}");
    let del = run_plugin(
        &[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", &container_id),
            ("CNI_NETNS", &netns),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", &args),
        ],
        &netconf(&node.socket),
    );
    assert_eq!(del.code, Some(0), "{}", del.stdout);
    let host_b = b_result["interfaces"][0]["name"].as_str().unwrap();
    let ports = node.chassis.vsctl(["list-ports", "br-int"])?;
    assert!(!ports.contains(host_b), "{ports}");
    node.chassis.check_spawned()?;
    drop(node.central);
    Ok(())
}

#[test]
fn chassis_daemon_reports_failures_and_applies_rate_limits() -> Result<()> {
    let node = Node::start(|_| MANIFESTS.to_owned())?;
    let pod = |name: &str| TestPod {
        sandbox: PodSandbox::new().unwrap(),
        container_id: container_id(),
        name: name.to_owned(),
        namespace: "dev".to_owned(),
    };
    // A pod the manifests do not have: the daemon waits (bounded), then says why.
    let ghost = pod("ghost").cni("ADD", &node.socket);
    assert_eq!(ghost.code, Some(1), "{}", ghost.stdout);
    let error = ghost.json();
    assert_eq!(
        error["code"],
        kube_ovn_cni_codes::ADDRESS_NOT_ALLOCATED,
        "{error}"
    );
    assert!(
        error["msg"].as_str().unwrap().contains("ghost.dev"),
        "{error}"
    );
    // A runtime passing a namespace that does not exist.
    let netns = "/run/netns/no-such-namespace-here";
    let missing = run_plugin(
        &[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "0123456789abcdef"),
            ("CNI_NETNS", netns),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", "K8S_POD_NAMESPACE=dev;K8S_POD_NAME=client-a"),
        ],
        &netconf(&node.socket),
    );
    assert_eq!(missing.code, Some(1), "{}", missing.stdout);
    let error = missing.json();
    assert_eq!(
        error["code"],
        kube_ovn_cni_codes::UNKNOWN_CONTAINER,
        "{error}"
    );
    assert!(error["msg"].as_str().unwrap().contains(netns), "{error}");
    // Nothing was left behind on br-int (ovn0 aside).
    let ports = node.chassis.vsctl(["list-ports", "br-int"])?;
    assert!(
        ports.lines().all(|p| p == "ovn0"),
        "only ovn0 may be on br-int: {ports}"
    );

    // Rate limits on the logical port (Mbit/s, under the annotation names) become OVS
    // policing on the interface (what the pod sends) and a QoS on its port (what it receives).
    let port = "client-b.dev";
    wait_port_allocated(&node.central, port)?;
    node.central.nb.nbctl([
        "set",
        "Logical_Switch_Port",
        port,
        "external_ids:egress_rate=5",
        "external_ids:ingress_rate=3",
    ])?;
    let limited = pod("client-b");
    let mut host = String::new();
    // The daemon's NB replica may lag the write by a moment; ADD is repeatable.
    wait_until(
        DEFAULT_TIMEOUT,
        "ADD to apply client-b's rate limits",
        || {
            let add = limited.cni("ADD", &node.socket);
            assert_eq!(add.code, Some(0), "{}\n{}", add.stdout, node.daemon_log());
            host = add.json()["interfaces"][0]["name"]
                .as_str()
                .unwrap()
                .to_owned();
            node.chassis
                .vsctl(["get", "Interface", &host, "ingress_policing_rate"])
                .is_ok_and(|rate| rate.trim() == "5000")
        },
    )?;
    let qos = node.chassis.vsctl(["get", "Port", &host, "qos"])?;
    let qos = qos.trim();
    assert_eq!(
        node.chassis.vsctl(["get", "QoS", qos, "type"])?.trim(),
        "egress-policer"
    );
    let cir = node
        .chassis
        .vsctl(["get", "QoS", qos, "other_config:cir"])?;
    assert_eq!(
        cir.trim().trim_matches('"'),
        "375000",
        "3 Mbit/s in bytes/s"
    );
    let del = limited.cni("DEL", &node.socket);
    assert_eq!(del.code, Some(0), "{}", del.stdout);
    let left = node
        .chassis
        .vsctl(["--bare", "--columns=_uuid", "list", "QoS"])?;
    assert!(left.trim().is_empty(), "DEL removes the QoS too: {left}");
    Ok(())
}

/// Waits for the controller to write NB port `port` with its address.
fn wait_port_allocated(central: &OvnCentral, port: &str) -> Result<()> {
    wait_until(
        DEFAULT_TIMEOUT,
        &format!("the controller to write {port}"),
        || {
            central
                .nb
                .nbctl([
                    "get",
                    "Logical_Switch_Port",
                    port,
                    "external_ids:ip_address",
                ])
                .is_ok()
        },
    )
}

/// Waits for the controller's NB port `port` and returns its network under the annotation names
/// (`ovn.kubernetes.io/…`), with `allocated=true`: what the cluster controller writes on the
/// pod or node.
fn annotations_from_nb(central: &OvnCentral, port: &str) -> Result<serde_json::Value> {
    wait_port_allocated(central, port)?;
    let mut annotations = serde_json::json!({"ovn.kubernetes.io/allocated": "true"});
    for key in [
        "ip_address",
        "mac_address",
        "cidr",
        "gateway",
        "logical_switch",
    ] {
        let value = central.nb.nbctl([
            "get",
            "Logical_Switch_Port",
            port,
            &format!("external_ids:{key}"),
        ])?;
        annotations[format!("ovn.kubernetes.io/{key}")] = value.trim().trim_matches('"').into();
    }
    Ok(annotations)
}

fn write_json(root: &Path, path: &str, value: &serde_json::Value) {
    let file = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, value.to_string()).unwrap();
}

#[test]
fn chassis_daemon_in_cluster_mode_reads_annotations_from_the_api() -> Result<()> {
    let (central, mut chassis, dir) = Node::start_without_daemon(|name| {
        format!("{MANIFESTS}---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n")
    })?;
    // The API stand-in (read-only, in the node's namespace): the controller's allocations as
    // the cluster controller annotates them, and the Subnets.
    let api = ScratchDir::new("daemon-api")?;
    for pod in ["client-a", "client-b"] {
        let annotations = annotations_from_nb(&central, &format!("{pod}.dev"))?;
        write_json(
            api.path(),
            &format!("/api/v1/namespaces/dev/pods/{pod}"),
            &serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": "dev", "resourceVersion": "10",
                             "annotations": annotations}}),
        );
    }
    let node_name = chassis.name().to_owned();
    let annotations = annotations_from_nb(&central, &format!("node-{node_name}"))?;
    write_json(
        api.path(),
        &format!("/api/v1/nodes/{node_name}"),
        &serde_json::json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node_name, "resourceVersion": "10", "annotations": annotations}}),
    );
    let subnet = |name: &str, cidr: &str| {
        serde_json::json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet",
            "metadata": {"name": name, "resourceVersion": "10"}, "spec": {"cidrBlock": cidr}})
    };
    write_json(
        api.path(),
        "/apis/kubeovn.io/v1/subnets",
        &serde_json::json!({"apiVersion": "kubeovn.io/v1", "kind": "SubnetList",
            "metadata": {"resourceVersion": "10"},
            "items": [subnet("join", "100.64.0.0/16"), subnet("sn-prod", "10.110.0.0/24"),
                      subnet("sn-dev", "10.120.0.0/24,fd00:120::/64")]}),
    );
    let kubeconfig = api.join("kubeconfig.yaml");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\n\
         clusters: [{name: stand-in, cluster: {server: 'http://127.0.0.1:6443'}}]\n\
         users: [{name: stand-in, user: {}}]\n\
         contexts: [{name: stand-in, context: {cluster: stand-in, user: stand-in}}]\n\
         current-context: stand-in\n",
    )
    .unwrap();
    chassis.spawn(
        "api",
        env!("CARGO_BIN_EXE_ovn-tests-kube-api"),
        ["6443", api.path().to_str().unwrap(), "600"],
        &[],
    )?;
    let node = Node::start_daemon(
        central,
        chassis,
        dir,
        &["--kubeconfig", kubeconfig.to_str().unwrap()],
    )?;

    let (client_a, a_result) = node.plug("dev", "client-a");
    let (client_b, b_result) = node.plug("dev", "client-b");
    let a = addresses(&a_result);
    let b = addresses(&b_result);
    assert!(
        a[0].starts_with("10.120.0.") && a[1].starts_with("fd00:120::"),
        "{a:?}"
    );
    wait_until(DEFAULT_TIMEOUT, "client-a to ping client-b (v4)", || {
        client_a.ping(&b[0])
    })?;
    wait_until(DEFAULT_TIMEOUT, "client-b to ping client-a (v6)", || {
        client_b.ping(&a[1])
    })?;
    // ovn0 from the Node's annotations, routes from the Subnets.
    wait_until(
        DEFAULT_TIMEOUT,
        "the node to ping client-a through ovn0",
        || {
            node.chassis
                .exec([pinger().as_str(), "ping", &a[0], "1000"])
                .is_ok()
        },
    )
    .inspect_err(|_| eprintln!("daemon log:\n{}", node.daemon_log()))?;
    let routes = node
        .chassis
        .exec(["ip", "-o", "-4", "route", "show", "dev", "ovn0"])?;
    assert!(
        routes.contains("10.110.0.0/24") && routes.contains("10.120.0.0/24"),
        "{routes}"
    );
    // A pod the API does not have: ADD waits its bound, then names the pod.
    let ghost = TestPod {
        sandbox: PodSandbox::new().unwrap(),
        container_id: container_id(),
        name: "ghost".to_owned(),
        namespace: "dev".to_owned(),
    }
    .cni("ADD", &node.socket);
    assert_eq!(ghost.code, Some(1), "{}", ghost.stdout);
    let error = ghost.json();
    assert_eq!(
        error["code"],
        kube_ovn_cni_codes::ADDRESS_NOT_ALLOCATED,
        "{error}"
    );
    assert!(
        error["msg"].as_str().unwrap().contains("pod dev/ghost"),
        "{error}"
    );
    // DEL works the same in cluster mode.
    let del = client_a.cni("DEL", &node.socket);
    assert_eq!(del.code, Some(0), "{}", del.stdout);
    Ok(())
}

/// The CNI spec's codes the tests check (kept here: the tests crate does not depend on the
/// plugin's library).
mod kube_ovn_cni_codes {
    pub const UNKNOWN_CONTAINER: u64 = 3;
    pub const INVALID_ENVIRONMENT: u64 = 4;
    pub const DECODE_FAILURE: u64 = 6;
    pub const INCOMPATIBLE_VERSION: u64 = 1;
    pub const DAEMON_UNREACHABLE: u64 = 100;
    pub const ADDRESS_NOT_ALLOCATED: u64 = 102;
}

#[test]
fn daemon_plugin_answers_version_and_reports_bad_input_as_error_json() {
    use kube_ovn_cni_codes::*;
    let version = run_plugin(&[("CNI_COMMAND", "VERSION")], r#"{"cniVersion":"1.0.0"}"#);
    assert_eq!(version.code, Some(0));
    let json = version.json();
    assert!(
        json["supportedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "1.0.0"),
        "{json}"
    );
    let dir = ScratchDir::new("cni-errors").unwrap();
    let socket = dir.join("nobody-listens.sock");
    let conf = netconf(&socket);
    let full = |command: &'static str| {
        vec![
            ("CNI_COMMAND", command),
            ("CNI_CONTAINERID", "abc123"),
            ("CNI_NETNS", "/run/netns/whatever"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", "K8S_POD_NAMESPACE=dev;K8S_POD_NAME=p"),
        ]
    };
    // (environment, stdin, expected code, text the message must contain)
    type Case<'a> = (Vec<(&'a str, &'a str)>, String, u64, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], conf.clone(), INVALID_ENVIRONMENT, "CNI_COMMAND"),
        (
            vec![("CNI_COMMAND", "FROB")],
            conf.clone(),
            INVALID_ENVIRONMENT,
            "FROB",
        ),
        (full("ADD"), "{not json".into(), DECODE_FAILURE, "netconf"),
        (
            full("ADD"),
            r#"{"cniVersion":"9.9.9","name":"x","type":"kube-ovn"}"#.into(),
            INCOMPATIBLE_VERSION,
            "9.9.9",
        ),
        (
            full("ADD")
                .into_iter()
                .filter(|(k, _)| *k != "CNI_NETNS")
                .collect(),
            conf.clone(),
            INVALID_ENVIRONMENT,
            "CNI_NETNS",
        ),
        (
            full("ADD")
                .into_iter()
                .map(|(k, v)| {
                    if k == "CNI_ARGS" {
                        (k, "FOO=1")
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            conf.clone(),
            INVALID_ENVIRONMENT,
            "K8S_POD_NAME",
        ),
        (
            full("ADD"),
            conf.clone(),
            DAEMON_UNREACHABLE,
            "nobody-listens",
        ),
        (
            full("DEL"),
            conf.clone(),
            DAEMON_UNREACHABLE,
            "nobody-listens",
        ),
    ];
    for (env, stdin, code, needle) in cases {
        let out = run_plugin(&env, &stdin);
        assert_eq!(out.code, Some(1), "{env:?}: {}", out.stdout);
        let error = out.json();
        assert_eq!(error["code"], code, "{env:?}: {error}");
        assert!(
            error["msg"].as_str().unwrap().contains(needle),
            "{env:?}: {error}"
        );
    }
}
