use super::*;
use crate::mock_api::{self, FakeApi, Write};
use crate::objects::Origin;
use crate::translate::{PodAddress, ResolvedSubnet};
use ovn_tests::OvsdbServer;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// A controller [`run`] in the background, and the switch that stops it.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Running {
    fn spawn(client: kube::Client, config: ClusterConfig, metrics: Arc<Metrics>) -> Running {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(client, config, metrics, stop_rx));
        Running { stop, task }
    }

    /// Tells the controller to stop, without waiting.
    fn request_stop(&self) {
        self.stop.send(true).expect("running");
    }

    /// Waits (bounded) for the controller to end, and checks that it ended cleanly.
    async fn joined(self) {
        tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("stops")
            .expect("joined")
            .expect("clean exit");
    }

    /// Stops the controller and checks that it ends cleanly.
    async fn stop(self) {
        self.request_stop();
        self.joined().await;
    }
}

fn objects(docs: Vec<Value>) -> Objects {
    let mut objects = Objects::default();
    for doc in docs {
        objects
            .add_value(
                doc,
                Origin {
                    file: Default::default(),
                    document: 0,
                },
            )
            .expect("a valid object");
    }
    objects
}

fn subnet(name: &str, cidr: &str, namespaces: &[&str]) -> Value {
    json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet",
           "metadata": {"name": name, "uid": format!("uid-{name}")},
           "spec": {"cidrBlock": cidr, "namespaces": namespaces}})
}

fn pod(ns: &str, name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "annotations": annotations},
           "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}})
}

fn ip_cr(ns: &str, pod: &str, subnet: &str, ip: &str, mac: &str) -> Value {
    json!({"apiVersion": "kubeovn.io/v1", "kind": "IP", "metadata": {"name": format!("{pod}.{ns}")},
           "spec": {"podName": pod, "namespace": ns, "subnet": subnet, "nodeName": "node1",
                    "ipAddress": ip, "v4IpAddress": ip, "macAddress": mac}})
}

fn allocated(ip: &str, mac: &str, subnet: &str) -> Value {
    json!({"ovn.kubernetes.io/allocated": "true", "ovn.kubernetes.io/ip_address": ip,
           "ovn.kubernetes.io/mac_address": mac, "ovn.kubernetes.io/logical_switch": subnet})
}

#[test]
fn restore_rebuilds_ipam_from_ip_records_and_annotations() {
    let objects = objects(vec![
        subnet("net1", "10.1.0.0/24", &["ns1"]),
        // Annotations win over a disagreeing record: they are what the pod was set up with.
        pod(
            "ns1",
            "a",
            allocated("10.1.0.5", "00:00:00:00:00:05", "net1"),
        ),
        ip_cr("ns1", "a", "net1", "10.1.0.9", "00:00:00:00:00:09"),
        // A record alone is enough.
        pod("ns1", "b", json!({})),
        ip_cr("ns1", "b", "net1", "10.1.0.6", "00:00:00:00:00:06"),
        // The pod went away while no controller ran.
        ip_cr("ns1", "gone", "net1", "10.1.0.2", "00:00:00:00:00:02"),
        // Not allocated yet: nothing to restore.
        pod("ns1", "new", json!({})),
    ]);
    let records = restore_records(&objects);
    let owners: Vec<(&str, Vec<IpAddr>)> = records
        .iter()
        .map(|r| (r.owner.as_str(), r.ips.clone()))
        .collect();
    let ip = |s: &str| -> IpAddr { s.parse().expect("ip") };
    assert_eq!(
        owners,
        [
            ("a.ns1", vec![ip("10.1.0.5")]),
            ("b.ns1", vec![ip("10.1.0.6")]),
            ("gone.ns1", vec![ip("10.1.0.2")]),
        ]
    );

    let ipam = ipam::Ipam::new();
    let summary = restore_from_cluster(&ipam, &objects);
    assert_eq!(
        summary,
        ClusterRestore {
            restored: 2,
            released: 1,
            conflicts: vec![],
            refused: vec![],
        }
    );
    let held = |owner: &str| {
        ipam.lookup_everywhere(owner)
            .pop()
            .map(|(s, a)| (s, a.ips().collect::<Vec<_>>()))
    };
    assert_eq!(held("a.ns1"), Some(("net1".into(), vec![ip("10.1.0.5")])));
    assert_eq!(held("b.ns1"), Some(("net1".into(), vec![ip("10.1.0.6")])));
    assert_eq!(held("gone.ns1"), None);
    // The gone pod's address was in use: a new pod gets a never-used one.
    let fresh = ipam.allocate("net1", "new.ns1").expect("allocates");
    let fresh: Vec<IpAddr> = fresh.ips().collect();
    assert!(
        !fresh.contains(&ip("10.1.0.2"))
            && !fresh.contains(&ip("10.1.0.5"))
            && !fresh.contains(&ip("10.1.0.6")),
        "{fresh:?}"
    );
}

#[test]
fn restore_reports_an_address_held_twice() {
    let objects = objects(vec![
        subnet("net1", "10.1.0.0/24", &["ns1"]),
        pod(
            "ns1",
            "a",
            allocated("10.1.0.5", "00:00:00:00:00:05", "net1"),
        ),
        pod(
            "ns1",
            "b",
            allocated("10.1.0.5", "00:00:00:00:00:06", "net1"),
        ),
    ]);
    let ipam = ipam::Ipam::new();
    let summary = restore_from_cluster(&ipam, &objects);
    assert_eq!(summary.restored, 1);
    assert_eq!(summary.conflicts.len(), 1, "{summary:?}");
    assert!(summary.conflicts[0].starts_with("b.ns1: "), "{summary:?}");
    let refused: Vec<(&str, &str)> = summary
        .refused
        .iter()
        .map(|e| (e.object.as_str(), e.field.as_str()))
        .collect();
    assert_eq!(
        refused,
        [(
            "Pod/ns1/b",
            "metadata.annotations[ovn.kubernetes.io/ip_address]"
        )]
    );
    assert!(
        summary.refused[0].message.contains("10.1.0.5"),
        "{summary:?}"
    );
}

#[test]
fn default_objects_are_the_missing_ones() {
    let none = Objects::default();
    let (vpcs, subnets) = default_objects(&none, &Defaults::default());
    assert_eq!(
        vpcs.iter().map(|v| v.name_any()).collect::<Vec<_>>(),
        ["ovn-cluster"]
    );
    let by_name: BTreeMap<String, &Subnet> = subnets.iter().map(|s| (s.name_any(), s)).collect();
    let default = &by_name["ovn-default"].spec;
    assert_eq!(
        (
            default.cidr_block.as_str(),
            default.gateway.as_deref(),
            default.default,
            default.nat_outgoing
        ),
        ("10.16.0.0/16", Some("10.16.0.1"), true, true)
    );
    assert_eq!(default.exclude_ips, ["10.16.0.1"]);
    assert_eq!(default.protocol.as_deref(), Some("IPv4"));
    let join = &by_name["join"].spec;
    assert_eq!(
        (
            join.cidr_block.as_str(),
            join.gateway.as_deref(),
            join.default
        ),
        ("100.64.0.0/16", Some("100.64.0.1"), false)
    );

    // Another default subnet, and existing objects, are left alone.
    let mut present = objects(vec![
        subnet("join", "100.64.0.0/16", &[]),
        json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet", "metadata": {"name": "mine"},
               "spec": {"cidrBlock": "10.9.0.0/16", "default": true}}),
        json!({"apiVersion": "kubeovn.io/v1", "kind": "Vpc", "metadata": {"name": "ovn-cluster"},
               "spec": {}}),
    ]);
    let (vpcs, subnets) = default_objects(&present, &Defaults::default());
    assert!(vpcs.is_empty() && subnets.is_empty());
    present.subnets.remove("mine");
    let dual = Defaults {
        default_cidr: "10.16.0.0/16,fd00:10:16::/64".into(),
        ..Defaults::default()
    };
    let (_, subnets) = default_objects(&present, &dual);
    let spec = &subnets[0].spec;
    assert_eq!(spec.gateway.as_deref(), Some("10.16.0.1,fd00:10:16::1"));
    assert_eq!(spec.protocol.as_deref(), Some("Dual"));
}

#[test]
fn writeback_plans_only_what_the_api_server_lacks() {
    let objects = objects(vec![
        subnet("net1", "10.1.0.0/24", &["ns1"]),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}}),
        pod("ns1", "fresh", json!({})),
        // Already carries everything the pass computes.
        pod(
            "ns1",
            "done",
            json!({"ovn.kubernetes.io/allocated": "true", "ovn.kubernetes.io/routed": "true",
                   "ovn.kubernetes.io/ip_address": "10.1.0.3",
                   "ovn.kubernetes.io/mac_address": "00:00:00:00:00:03",
                   "ovn.kubernetes.io/cidr": "10.1.0.0/24", "ovn.kubernetes.io/gateway": "10.1.0.1",
                   "ovn.kubernetes.io/logical_switch": "net1", "other": "kept"}),
        ),
        ip_cr("ns1", "done", "net1", "10.1.0.3", "00:00:00:00:00:03"),
        ip_cr("ns1", "gone", "net1", "10.1.0.9", "00:00:00:00:00:09"),
        // Someone else's record (not named after its pod): never deleted.
        json!({"apiVersion": "kubeovn.io/v1", "kind": "IP", "metadata": {"name": "static-x"},
               "spec": {"podName": "x", "namespace": "ns1", "subnet": "net1", "ipAddress": "10.1.0.50"}}),
        subnet("bad", "10.0.0.0/33", &[]),
        json!({"apiVersion": "kubeovn.io/v1", "kind": "Vpc", "metadata": {"name": "vpc1"},
               "spec": {"staticRoutes": [{"cidr": "nope", "nextHopIP": "10.1.0.1"}]}}),
    ]);
    let (subnets, mut errors) = resolve_subnets(&objects);
    // The translation reports bad routes; this is its report.
    errors.push(InputError {
        file: None,
        object: "Vpc/vpc1".into(),
        field: "spec.staticRoutes[0]".into(),
        message: "\"nope\" is not a CIDR".into(),
    });
    let net1 = subnets.iter().find(|s| s.name == "net1").expect("net1");
    let join = subnets.iter().find(|s| s.name == "join").expect("join");
    let alloc = |subnet: &ResolvedSubnet, ip: &str, mac: &str| {
        let address = PodAddress {
            subnet: subnet.name.clone(),
            ips: vec![ip.parse().expect("ip")],
            mac: mac.into(),
        };
        Allocated {
            annotations: crate::translate::pod_annotations(&address, subnet),
            address,
        }
    };
    let mut allocated = Allocations::default();
    allocated.pods.insert(
        ("ns1".into(), "fresh".into()),
        alloc(net1, "10.1.0.2", "00:00:00:00:00:02"),
    );
    allocated.pods.insert(
        ("ns1".into(), "done".into()),
        alloc(net1, "10.1.0.3", "00:00:00:00:00:03"),
    );
    allocated.nodes.insert(
        "node1".into(),
        alloc(join, "100.64.0.2", "00:00:00:00:01:02"),
    );
    let ipam = ipam::Ipam::new();
    ipam.add_subnet(net1.ipam_spec().expect("spec"))
        .expect("added");
    ipam.allocate("net1", "fresh.ns1").expect("allocated");
    let now: Timestamp = "2030-01-01T00:00:00Z".parse().expect("time");
    let plan = plan_writeback(&objects, &allocated, &ipam, &errors, now);

    assert_eq!(
        plan.pods.keys().collect::<Vec<_>>(),
        [&("ns1".to_owned(), "fresh".to_owned())]
    );
    let wanted = &plan.pods[&("ns1".to_owned(), "fresh".to_owned())];
    let expected: BTreeMap<String, String> = [
        ("ovn.kubernetes.io/allocated", "true"),
        ("ovn.kubernetes.io/routed", "true"),
        ("ovn.kubernetes.io/ip_address", "10.1.0.2"),
        ("ovn.kubernetes.io/mac_address", "00:00:00:00:00:02"),
        ("ovn.kubernetes.io/cidr", "10.1.0.0/24"),
        ("ovn.kubernetes.io/gateway", "10.1.0.1"),
        ("ovn.kubernetes.io/logical_switch", "net1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(wanted, &expected);
    assert_eq!(
        plan.nodes["node1"]["ovn.kubernetes.io/logical_switch"],
        "join"
    );
    assert_eq!(
        plan.ip_records.keys().collect::<Vec<_>>(),
        ["fresh.ns1", "node-node1"]
    );
    assert_eq!(plan.ip_records["fresh.ns1"].node_name, "node1");
    assert_eq!(plan.ip_records["node-node1"].namespace, "");
    assert_eq!(
        plan.stale_ip_records.iter().collect::<Vec<_>>(),
        ["gone.ns1"]
    );
    // Both subnets get a first status; the bad one says why it is not valid.
    assert_eq!(
        plan.subnet_statuses.keys().collect::<Vec<_>>(),
        ["bad", "net1"]
    );
    assert_eq!(plan.subnet_statuses["net1"].v4_using_ips, 1.0);
    let bad = &plan.subnet_statuses["bad"].conditions[0];
    assert_eq!(
        (bad.type_.as_str(), bad.status.as_str()),
        ("Validated", "False")
    );
    assert!(bad.message.contains("spec.cidrBlock"), "{bad:?}");
    let events: Vec<(&str, Option<&str>)> = plan
        .events
        .values()
        .map(|(e, r)| (e.object.as_str(), r.uid.as_deref()))
        .collect();
    assert_eq!(
        events,
        [("Subnet/bad", Some("uid-bad")), ("Vpc/vpc1", None)]
    );
    let vpc = &plan.vpc_statuses["vpc1"];
    assert_eq!(vpc.router, "vpc1");
    assert_eq!(
        (
            vpc.conditions[0].status.as_str(),
            vpc.conditions[0].message.as_str()
        ),
        (
            "False",
            "field spec.staticRoutes[0]: \"nope\" is not a CIDR"
        )
    );
    assert_eq!(plan.keys().len(), 1 + 1 + 2 + 1 + 2 + 1 + 2);
}

fn lists() -> Vec<(&'static str, &'static str, &'static str, Vec<Value>)> {
    let pod = |name: &str| {
        json!({"metadata": {"name": name, "namespace": "ns1", "uid": format!("uid-{name}")},
               "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}})
    };
    vec![
        (
            "/api/v1/namespaces",
            "v1",
            "Namespace",
            vec![json!({"metadata": {"name": "ns1"}})],
        ),
        (
            "/api/v1/nodes",
            "v1",
            "Node",
            vec![json!({"metadata": {"name": "node1"}})],
        ),
        (
            "/api/v1/pods",
            "v1",
            "Pod",
            vec![pod("web-0"), pod("web-1")],
        ),
        ("/api/v1/services", "v1", "Service", vec![]),
        (
            "/apis/discovery.k8s.io/v1/endpointslices",
            "discovery.k8s.io/v1",
            "EndpointSlice",
            vec![],
        ),
        (
            "/apis/networking.k8s.io/v1/networkpolicies",
            "networking.k8s.io/v1",
            "NetworkPolicy",
            vec![],
        ),
        (
            "/apis/kubeovn.io/v1/subnets",
            "kubeovn.io/v1",
            "Subnet",
            vec![
                json!({"metadata": {"name": "net1", "uid": "uid-net1"},
                       "spec": {"cidrBlock": "10.1.0.0/24", "namespaces": ["ns1"]}}),
                json!({"metadata": {"name": "bad", "uid": "uid-bad"},
                       "spec": {"cidrBlock": "10.0.0.0/33"}}),
            ],
        ),
        ("/apis/kubeovn.io/v1/vpcs", "kubeovn.io/v1", "Vpc", vec![]),
        ("/apis/kubeovn.io/v1/ips", "kubeovn.io/v1", "IP", vec![]),
    ]
}

fn find<'a>(writes: &'a [Write], method: &str, path: &str) -> Option<&'a Write> {
    writes
        .iter()
        .rev()
        .find(|w| w.method == method && w.path == path)
}

fn created<'a>(writes: &'a [Write], path: &str, name: &str) -> Option<&'a Write> {
    writes.iter().find(|w| {
        w.method == "POST"
            && w.path == path
            && w.body
                .as_ref()
                .is_some_and(|b| b["metadata"]["name"] == name)
    })
}

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
const IPS: &str = "/apis/kubeovn.io/v1/ips";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

fn nbctl(nb: &OvsdbServer, args: &[&str]) -> String {
    nb.nbctl(args).expect("ovn-nbctl runs").trim().to_owned()
}

/// The whole wiring: watches of a stand-in API server, leader election, a real NB, and the
/// writes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_converges_nb_and_writes_back() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists());
    let metrics = Arc::new(Metrics::new());
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = Some(LeaderElection {
        retry_period: Duration::from_millis(200),
        ..LeaderElection::new("kube-system")
    });
    let controller = Running::spawn(client, config, metrics.clone());

    // Nothing is written before the lease is held.
    let first = api.next_write().await;
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("POST", LEASES)
    );
    let lease = first.body.expect("a lease");
    assert_eq!(lease["metadata"]["name"], "kube-ovn-controller");
    assert_eq!(lease["spec"]["holderIdentity"], "replica-a");

    let pod_path = |name: &str| format!("/api/v1/namespaces/ns1/pods/{name}");
    let writes = api
        .writes_until(|w| {
            find(w, "PATCH", &pod_path("web-0")).is_some()
                && find(w, "PATCH", &pod_path("web-1")).is_some()
                && find(w, "PATCH", "/api/v1/nodes/node1").is_some()
                && created(w, IPS, "node-node1").is_some()
                && created(w, IPS, "web-0.ns1").is_some()
                && created(w, IPS, "web-1.ns1").is_some()
                && find(w, "PATCH", "/apis/kubeovn.io/v1/subnets/net1/status").is_some()
                && find(w, "PATCH", "/apis/kubeovn.io/v1/subnets/bad/status").is_some()
                && find(w, "POST", EVENTS).is_some()
        })
        .await;

    // The default objects were created first, as Kube-OVN does at start-up.
    let subnets = "/apis/kubeovn.io/v1/subnets";
    assert!(created(&writes, "/apis/kubeovn.io/v1/vpcs", "ovn-cluster").is_some());
    let default = created(&writes, subnets, "ovn-default").expect("ovn-default created");
    assert_eq!(
        default.body.as_ref().expect("body")["spec"]["cidrBlock"],
        "10.16.0.0/16"
    );
    assert!(created(&writes, subnets, "join").is_some());

    // Each pod's annotations: one merge patch with the Kube-OVN keys, matching its NB port.
    let mut addresses = BTreeSet::new();
    for name in ["web-0", "web-1"] {
        let patch = find(&writes, "PATCH", &pod_path(name)).expect("patched");
        assert_eq!(
            patch.content_type.as_deref(),
            Some("application/merge-patch+json")
        );
        let body = patch.body.as_ref().expect("a body");
        let a = body["metadata"]["annotations"]
            .as_object()
            .expect("annotations only");
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
        assert_eq!(a["ovn.kubernetes.io/logical_switch"], "net1");
        assert_eq!(a["ovn.kubernetes.io/cidr"], "10.1.0.0/24");
        assert_eq!(a["ovn.kubernetes.io/gateway"], "10.1.0.1");
        assert_eq!(a["ovn.kubernetes.io/allocated"], "true");
        assert_eq!(a["ovn.kubernetes.io/routed"], "true");
        let ip: IpAddr = a["ovn.kubernetes.io/ip_address"]
            .as_str()
            .expect("ip")
            .parse()
            .expect("an address");
        let net: IpNet = "10.1.0.0/24".parse().expect("net");
        assert!(net.contains(&ip) && ip.to_string() != "10.1.0.1", "{ip}");
        assert!(addresses.insert(ip), "{ip} handed out twice");
        let mac = a["ovn.kubernetes.io/mac_address"].as_str().expect("mac");
        let lsp = format!("{name}.ns1");
        assert_eq!(
            nbctl(&nb, &["get", "Logical_Switch_Port", &lsp, "addresses"]),
            format!("[\"{mac} {ip}\"]")
        );
        assert_eq!(
            nbctl(&nb, &["lsp-get-ls", &lsp]).split_whitespace().last(),
            Some("(net1)")
        );
        let record = created(&writes, IPS, &lsp).expect("recorded");
        let spec = &record.body.as_ref().expect("body")["spec"];
        assert_eq!(
            (&spec["podName"], &spec["namespace"], &spec["subnet"]),
            (&json!(name), &json!("ns1"), &json!("net1"))
        );
        assert_eq!(spec["ipAddress"], json!(ip.to_string()));
        assert_eq!(spec["macAddress"], json!(mac));
        assert_eq!(spec["nodeName"], "node1");
    }

    // The node's join address, as annotations and as its NB port.
    let node = find(&writes, "PATCH", "/api/v1/nodes/node1").expect("node patched");
    let a = &node.body.as_ref().expect("body")["metadata"]["annotations"];
    assert_eq!(a["ovn.kubernetes.io/logical_switch"], "join");
    assert_eq!(a["ovn.kubernetes.io/cidr"], "100.64.0.0/16");
    assert_eq!(a["ovn.kubernetes.io/gateway"], "100.64.0.1");
    assert!(a.get("ovn.kubernetes.io/routed").is_none(), "{a}");
    assert_eq!(
        nbctl(
            &nb,
            &["get", "Logical_Switch_Port", "node-node1", "addresses"]
        ),
        format!(
            "[\"{} {}\"]",
            a["ovn.kubernetes.io/mac_address"].as_str().expect("mac"),
            a["ovn.kubernetes.io/ip_address"].as_str().expect("ip")
        )
    );
    let record = created(&writes, IPS, "node-node1").expect("node recorded");
    assert_eq!(
        record.body.as_ref().expect("body")["spec"]["subnet"],
        "join"
    );

    // Subnet statuses through the status subresource, with the counts and conditions.
    let status = |name: &str| {
        find(
            &writes,
            "PATCH",
            &format!("/apis/kubeovn.io/v1/subnets/{name}/status"),
        )
        .and_then(|w| w.body.clone())
        .expect("a status patch")["status"]
            .clone()
    };
    let net1 = status("net1");
    assert_eq!(net1["v4UsingIps"], json!(2.0), "{net1}");
    assert_eq!(net1["conditions"][0]["type"], "Validated");
    assert_eq!(net1["conditions"][0]["status"], "True");
    let bad = status("bad");
    assert_eq!(bad["conditions"][0]["status"], "False", "{bad}");
    assert_eq!(bad["conditions"][0]["reason"], "ValidationFailed");

    // Bad input: a Warning Event regarding the Subnet, naming the field.
    let events: Vec<&Value> = writes
        .iter()
        .filter(|w| w.method == "POST" && w.path == EVENTS)
        .filter_map(|w| w.body.as_ref())
        .collect();
    assert_eq!(events.len(), 1, "one Event per bad input: {events:#?}");
    let event = events[0];
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "InvalidInput");
    assert_eq!(
        event["regarding"],
        json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet", "name": "bad", "uid": "uid-bad",
               "fieldPath": "spec.cidrBlock"})
    );
    assert_eq!(event["reportingInstance"], "replica-a");

    // Deleting a pod (a watch event) removes its port and its IP record.
    api.push(
        "/api/v1/pods",
        json!({"type": "DELETED", "object": {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-1", "namespace": "ns1", "resourceVersion": "500"},
               "spec": {"containers": [{"name": "c", "image": "i"}]}}}),
    );
    let ip_path = format!("{IPS}/web-1.ns1");
    api.writes_until(|w| find(w, "DELETE", &ip_path).is_some())
        .await;
    assert_eq!(
        nbctl(
            &nb,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Logical_Switch_Port",
                "name=web-1.ns1"
            ]
        ),
        ""
    );
    assert_ne!(
        nbctl(
            &nb,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Logical_Switch_Port",
                "name=web-0.ns1"
            ]
        ),
        ""
    );

    let exposition = metrics.encode();
    assert!(
        exposition.contains("kube_ovn_subnet_used_ips{subnet=\"net1\",family=\"ipv4\"} 1.0"),
        "{exposition}"
    );
    assert!(
        !exposition.contains("kube_ovn_reconciles_total 0\n"),
        "{exposition}"
    );

    // Shutdown releases the lease.
    controller.request_stop();
    let released = api
        .writes_until(|w| {
            w.iter().any(|w| {
                w.method == "PUT"
                    && w.path == format!("{LEASES}/kube-ovn-controller")
                    && w.body
                        .as_ref()
                        .is_some_and(|b| b["spec"]["holderIdentity"].is_null())
            })
        })
        .await;
    assert!(!released.is_empty());
    controller.joined().await;
}

/// The stand-in's lists for the restart test: pods with the given annotations, the IP records
/// written so far, one Subnet, no election.
fn restart_lists(
    pods: &[(&str, Value)],
    ips: Vec<Value>,
) -> Vec<(&'static str, &'static str, &'static str, Vec<Value>)> {
    let mut lists = lists();
    lists[2].3 = pods
        .iter()
        .map(|(name, annotations)| {
            json!({"metadata": {"name": name, "namespace": "ns1", "annotations": annotations},
                   "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}})
        })
        .collect();
    lists[6].3.truncate(1);
    lists[8].3 = ips;
    lists
}

/// Runs the controller (no election) until `done` holds for its writes, then stops it.
async fn run_until(
    nb: &OvsdbServer,
    lists: Vec<(&'static str, &'static str, &'static str, Vec<Value>)>,
    done: impl Fn(&[Write]) -> bool,
) -> Vec<Write> {
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists);
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    let controller = Running::spawn(client, config, Arc::new(Metrics::new()));
    let writes = api.writes_until(done).await;
    controller.stop().await;
    writes
}

fn annotations_of(writes: &[Write], pod: &str) -> Value {
    find(
        writes,
        "PATCH",
        &format!("/api/v1/namespaces/ns1/pods/{pod}"),
    )
    .and_then(|w| w.body.clone())
    .expect("annotated")["metadata"]["annotations"]
        .clone()
}

/// A restart: IPAM comes back from the annotations and IP records (NB lost some ports meanwhile).
/// Pods keep their addresses
/// (nothing is re-annotated), the pod deleted while the controller was down loses its port and
/// record, and a new pod that sorts first gets a never-used address (a fresh allocator would hand it web-1's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_restores_ipam_from_the_cluster_and_collects_the_deleted() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let pods = ["web-0", "web-1", "web-2"];
    let first = run_until(
        &nb,
        restart_lists(&pods.map(|p| (p, json!({}))), vec![]),
        |w| {
            pods.iter()
                .all(|p| created(w, IPS, &format!("{p}.ns1")).is_some())
                && pods.iter().all(|p| {
                    find(w, "PATCH", &format!("/api/v1/namespaces/ns1/pods/{p}")).is_some()
                })
        },
    )
    .await;
    let records: Vec<Value> = pods
        .iter()
        .map(|p| {
            let mut r = created(&first, IPS, &format!("{p}.ns1"))
                .and_then(|w| w.body.clone())
                .expect("recorded");
            r.as_object_mut().expect("object").remove("apiVersion");
            r.as_object_mut().expect("object").remove("kind");
            r
        })
        .collect();
    let old: BTreeMap<&str, Value> = pods
        .iter()
        .map(|p| (*p, annotations_of(&first, p)))
        .collect();

    // While the controller is down, web-0 is deleted and a-new created; NB loses the ports of
    // web-1 and web-2, so only the cluster's records (not NB's) can give their addresses back.
    nbctl(&nb, &["lsp-del", "web-1.ns1", "--", "lsp-del", "web-2.ns1"]);
    let second = run_until(
        &nb,
        restart_lists(
            &[
                ("web-1", old["web-1"].clone()),
                ("web-2", old["web-2"].clone()),
                ("a-new", json!({})),
            ],
            records,
        ),
        |w| {
            find(w, "DELETE", &format!("{IPS}/web-0.ns1")).is_some()
                && find(w, "PATCH", "/api/v1/namespaces/ns1/pods/a-new").is_some()
                && created(w, IPS, "a-new.ns1").is_some()
        },
    )
    .await;
    for p in ["web-1", "web-2"] {
        assert!(
            find(
                &second,
                "PATCH",
                &format!("/api/v1/namespaces/ns1/pods/{p}")
            )
            .is_none(),
            "{p} was re-annotated"
        );
        let lsp = format!("{p}.ns1");
        let a = &old[p];
        assert_eq!(
            nbctl(&nb, &["get", "Logical_Switch_Port", &lsp, "addresses"]),
            format!(
                "[\"{} {}\"]",
                a["ovn.kubernetes.io/mac_address"].as_str().expect("mac"),
                a["ovn.kubernetes.io/ip_address"].as_str().expect("ip")
            )
        );
    }
    let new_ip = annotations_of(&second, "a-new")["ovn.kubernetes.io/ip_address"].clone();
    for p in pods {
        assert_ne!(
            new_ip, old[p]["ovn.kubernetes.io/ip_address"],
            "a-new got {p}'s address"
        );
    }
    assert_eq!(
        nbctl(
            &nb,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Logical_Switch_Port",
                "name=web-0.ns1"
            ]
        ),
        ""
    );
}

/// The names of NB's Logical_Switch_Ports called `name` (empty when there is none).
fn lsp_named(nb: &OvsdbServer, name: &str) -> String {
    nbctl(
        nb,
        &[
            "--bare",
            "--columns=name",
            "find",
            "Logical_Switch_Port",
            &format!("name={name}"),
        ],
    )
}

/// Kube-OVN's order for a new pod: allocate, patch the annotations, then create the port. Each
/// pod annotation patch is held at the stand-in API server while the test looks at the real
/// NB: no pod has a port before its patch lands. web-0's patch fails twice: its port waits,
/// the patch is retried with the same address, and web-1 is not held up meanwhile. Its `IP`
/// record is written only after its annotations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_are_patched_before_the_port_and_a_failed_patch_holds_the_port_back() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let (client, server) = mock_api::client();
    let pod_path = |name: &str| format!("/api/v1/namespaces/ns1/pods/{name}");
    let (web0, web1) = (pod_path("web-0"), pod_path("web-1"));
    let mut api = FakeApi::start_holding(server, lists(), &[&web0, &web1]);
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    let controller = Running::spawn(client, config, Arc::new(Metrics::new()));

    // Every attempt to annotate each pod, as sent; web-0's first two are refused.
    let mut attempts: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let answer = |api_held: mock_api::Held, attempts: &mut BTreeMap<String, Vec<Value>>| {
        let pod = api_held
            .write
            .path
            .rsplit('/')
            .next()
            .expect("a pod name")
            .to_owned();
        assert_eq!(api_held.write.method, "PATCH");
        assert_eq!(
            lsp_named(&nb, &format!("{pod}.ns1")),
            "",
            "{pod} has a port before its annotations are written"
        );
        let tried = attempts.entry(pod.clone()).or_default();
        tried.push(api_held.write.body.clone().expect("a patch body"));
        if pod == "web-0" && tried.len() <= 2 {
            api_held.fail(500, "InternalError");
        } else {
            api_held.apply();
        }
    };
    // Until web-1 has its port and web-0's patch has failed twice, web-0 has no port.
    let deadline = Instant::now() + LIMIT;
    loop {
        let web0_failed = attempts.get("web-0").map_or(0, Vec::len) >= 2;
        if web0_failed && lsp_named(&nb, "web-1.ns1") == "web-1.ns1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "web-1's port and web-0's retries within {LIMIT:?}: {attempts:#?}"
        );
        tokio::select! {
            held = api.next_held() => answer(held, &mut attempts),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    assert_eq!(
        lsp_named(&nb, "web-0.ns1"),
        "",
        "web-0's patch has not landed"
    );
    // The next attempt lands; the port follows.
    while attempts.get("web-0").map_or(0, Vec::len) < 3 {
        answer(api.next_held().await, &mut attempts);
    }
    let deadline = Instant::now() + LIMIT;
    while lsp_named(&nb, "web-0.ns1") != "web-0.ns1" {
        assert!(Instant::now() < deadline, "web-0's port within {LIMIT:?}");
        tokio::select! {
            held = api.next_held() => answer(held, &mut attempts),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }

    // Every attempt carried the same address: it stayed web-0's while the patch failed.
    let tried = &attempts["web-0"];
    assert!(tried.iter().all(|b| b == &tried[0]), "{tried:#?}");
    for (pod, tried) in &attempts {
        let a = &tried[0]["metadata"]["annotations"];
        assert_eq!(a["ovn.kubernetes.io/allocated"], "true");
        assert_eq!(a["ovn.kubernetes.io/logical_switch"], "net1");
        assert_eq!(a["ovn.kubernetes.io/cidr"], "10.1.0.0/24");
        assert_eq!(a["ovn.kubernetes.io/gateway"], "10.1.0.1");
        assert_eq!(a["ovn.kubernetes.io/routed"], "true");
        assert_eq!(
            nbctl(
                &nb,
                &[
                    "get",
                    "Logical_Switch_Port",
                    &format!("{pod}.ns1"),
                    "addresses"
                ]
            ),
            format!(
                "[\"{} {}\"]",
                a["ovn.kubernetes.io/mac_address"].as_str().expect("mac"),
                a["ovn.kubernetes.io/ip_address"].as_str().expect("ip")
            )
        );
    }

    // The API calls for web-0, in order: two refused patches, the patch that landed, then its
    // IP record.
    let writes = api
        .writes_until(|w| created(w, IPS, "web-0.ns1").is_some())
        .await;
    let calls: Vec<(&str, &str)> = writes
        .iter()
        .filter(|w| {
            w.path == web0
                || (w.path == IPS
                    && w.body
                        .as_ref()
                        .is_some_and(|b| b["metadata"]["name"] == "web-0.ns1"))
        })
        .map(|w| (w.method.as_str(), w.path.as_str()))
        .collect();
    let landed = calls
        .iter()
        .position(|c| *c == ("POST", IPS))
        .expect("recorded");
    assert!(landed >= 3, "{calls:?}");
    assert!(
        calls[..landed]
            .iter()
            .all(|c| *c == ("PATCH", web0.as_str())),
        "{calls:?}"
    );
    controller.stop().await;
}

/// `/metrics` served for `metrics` on a free loopback port, as the binary serves it.
struct MetricsEndpoint {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MetricsEndpoint {
    async fn start(metrics: Arc<Metrics>) -> MetricsEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("bound");
        let task = tokio::spawn(crate::metrics::serve(listener, metrics));
        MetricsEndpoint { addr, task }
    }

    /// One scrape's body.
    async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let reply = tokio::time::timeout(LIMIT, async {
            let mut s = tokio::net::TcpStream::connect(self.addr)
                .await
                .expect("connects");
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: controller\r\n\r\n")
                .await
                .expect("sends");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("reads");
            out
        })
        .await
        .expect("a scrape within the limit");
        let (head, body) = reply.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        body.to_owned()
    }

    /// Scrapes until `metric` has a value `accept` takes; fails after [`LIMIT`] with
    /// the last scrape.
    async fn wait_for(&self, metric: &str, accept: impl Fn(f64) -> bool) -> String {
        self.wait_until(metric, |body| {
            metrics_line(body, metric).is_some_and(&accept)
        })
        .await
    }

    /// Scrapes until a body satisfies `accept`; fails after [`LIMIT`] with the last scrape,
    /// naming `what` was awaited.
    async fn wait_until(&self, what: &str, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let body = self.scrape().await;
            if accept(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not as expected within {LIMIT:?}:\n{body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// How many client sessions NB's ovsdb-server has (its `memory/show` figure).
fn nb_sessions(nb: &OvsdbServer) -> Option<u64> {
    let shown = nb.appctl(["memory/show"]).ok()?;
    shown
        .split_whitespace()
        .find_map(|w| w.strip_prefix("sessions:")?.parse().ok())
}

const NB_CONNECTED: &str = "kube_ovn_ovsdb_connected{database=\"OVN_Northbound\"}";

/// The OVSDB connection state on `/metrics` is the controller's own NB connection (no second
/// one): 1 while it is up, 0 while NB is down, 1 again once the controller reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nb_connection_state_on_metrics_is_the_controllers_own_connection() {
    let mut nb = OvsdbServer::nb().expect("NB starts");
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists());
    let metrics = Arc::new(Metrics::new());
    let endpoint = MetricsEndpoint::start(metrics.clone()).await;
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    let controller = Running::spawn(client, config, metrics);

    api.writes_until(|w| find(w, "PATCH", "/api/v1/namespaces/ns1/pods/web-0").is_some())
        .await;
    endpoint.wait_for(NB_CONNECTED, |v| v == 1.0).await;
    assert_eq!(nb_sessions(&nb), Some(1), "one NB connection");

    nb.stop().expect("NB stops");
    endpoint.wait_for(NB_CONNECTED, |v| v == 0.0).await;
    nb.start().expect("NB starts again");
    endpoint.wait_for(NB_CONNECTED, |v| v == 1.0).await;

    controller.stop().await;
    assert_eq!(
        metrics_line(&endpoint.scrape().await, NB_CONNECTED),
        Some(0.0),
        "no NB connection once stopped"
    );
}

/// The value of the sample `metric` (name and labels) in a scrape.
fn metrics_line(body: &str, metric: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(metric)?.strip_prefix(' ')?.parse().ok())
}

/// Bad input in a cluster: an overlapping Subnet, a pod whose static address is outside its
/// subnet, and a pod asking for an address another pod holds. Each gets exactly one Warning
/// Event naming the field (the Subnet also a `Validated: False` status condition), gets no
/// port, and the rest converges: the first claimant keeps the static address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_in_a_cluster_gets_one_event_each_and_the_rest_converges() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let mut lists = lists();
    let pod = |name: &str, ip: Option<&str>| {
        let annotations = ip.map_or(json!({}), |ip| json!({"ovn.kubernetes.io/ip_address": ip}));
        json!({"metadata": {"name": name, "namespace": "ns1", "uid": format!("uid-{name}"),
                            "annotations": annotations},
               "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}})
    };
    lists[2].3 = vec![
        pod("fine", None),
        pod("outside", Some("10.9.9.9")),
        pod("taken-a", Some("10.1.0.20")),
        pod("taken-b", Some("10.1.0.20")),
    ];
    lists[6].3 = vec![
        json!({"metadata": {"name": "net1", "uid": "uid-net1"},
               "spec": {"cidrBlock": "10.1.0.0/24", "namespaces": ["ns1"]}}),
        json!({"metadata": {"name": "overlap", "uid": "uid-overlap"},
               "spec": {"cidrBlock": "10.1.0.128/25"}}),
    ];
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists);
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    let controller = Running::spawn(client, config, Arc::new(Metrics::new()));

    let pod_events = "/apis/events.k8s.io/v1/namespaces/ns1/events";
    let events_of = |w: &[Write]| -> Vec<Value> {
        w.iter()
            .filter(|w| w.method == "POST" && (w.path == EVENTS || w.path == pod_events))
            .filter_map(|w| w.body.clone())
            .collect()
    };
    let mut writes = api
        .writes_until(|w| {
            events_of(w).len() >= 3
                && created(w, IPS, "taken-a.ns1").is_some()
                && created(w, IPS, "fine.ns1").is_some()
                && find(w, "PATCH", "/apis/kubeovn.io/v1/subnets/overlap/status").is_some()
        })
        .await;
    // Later passes must not repeat an Event: one more pod, and the passes that place it.
    api.push(
        "/api/v1/pods",
        json!({"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "later", "namespace": "ns1", "uid": "uid-later",
                            "resourceVersion": "500"},
               "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}}}),
    );
    writes.extend(
        api.writes_until(|w| created(w, IPS, "later.ns1").is_some())
            .await,
    );
    let mut events: Vec<(String, String, String)> = events_of(&writes)
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "Warning", "{e}");
            assert_eq!(e["reason"], "InvalidInput", "{e}");
            let r = &e["regarding"];
            (
                format!(
                    "{}/{}",
                    r["kind"].as_str().expect("kind"),
                    r["name"].as_str().expect("name")
                ),
                r["fieldPath"].as_str().expect("a field").to_owned(),
                e["note"].as_str().expect("a note").to_owned(),
            )
        })
        .collect();
    events.sort();
    let ip_field = "metadata.annotations[ovn.kubernetes.io/ip_address]";
    assert_eq!(
        events
            .iter()
            .map(|(o, f, _)| (o.as_str(), f.as_str()))
            .collect::<Vec<_>>(),
        [
            ("Pod/outside", ip_field),
            ("Pod/taken-b", ip_field),
            ("Subnet/overlap", "spec.cidrBlock"),
        ],
        "{events:#?}"
    );
    assert!(events[0].2.contains("10.9.9.9"), "{events:#?}");
    assert!(events[1].2.contains("10.1.0.20"), "{events:#?}");
    assert!(events[2].2.contains("overlaps subnet net1"), "{events:#?}");
    let overlap = find(
        &writes,
        "PATCH",
        "/apis/kubeovn.io/v1/subnets/overlap/status",
    )
    .and_then(|w| w.body.clone())
    .expect("a status")["status"]["conditions"][0]
        .clone();
    assert_eq!(
        (&overlap["type"], &overlap["status"], &overlap["reason"]),
        (
            &json!("Validated"),
            &json!("False"),
            &json!("ValidationFailed")
        ),
        "{overlap}"
    );

    // The rest converged; the refused pods have no port and no annotations.
    assert_eq!(
        nbctl(
            &nb,
            &["get", "Logical_Switch_Port", "taken-a.ns1", "addresses"]
        )
        .split_whitespace()
        .last(),
        Some("10.1.0.20\"]")
    );
    assert_eq!(lsp_named(&nb, "fine.ns1"), "fine.ns1");
    for refused in ["outside", "taken-b"] {
        assert_eq!(lsp_named(&nb, &format!("{refused}.ns1")), "");
        assert!(
            find(
                &writes,
                "PATCH",
                &format!("/api/v1/namespaces/ns1/pods/{refused}")
            )
            .is_none(),
            "{refused} annotated"
        );
    }

    controller.stop().await;
}

/// The gate without any server: a new pod is allocated and held out of the pass until its
/// annotations record the address; a pod re-created under the same name waits for its own
/// annotations (keeping the address); an address the pass released comes back; a bad static
/// address is refused with the field named.
#[test]
fn port_gate_holds_a_pod_until_its_annotations_record_its_address() {
    let mut objects = objects(vec![
        subnet("net1", "10.1.0.0/24", &["ns1"]),
        pod("ns1", "a", json!({})),
        pod(
            "ns1",
            "bad",
            json!({"ovn.kubernetes.io/ip_address": "10.9.9.9"}),
        ),
    ]);
    let key = ("ns1".to_owned(), "a".to_owned());
    objects.pods.get_mut(&key).expect("a").metadata.uid = Some("u1".into());
    let ipam = ipam::Ipam::new();
    restore_from_cluster(&ipam, &objects);
    let mut gate = PortGate::after_restore(&ipam, &objects);
    assert!(gate.through.is_empty());

    let mut pass = objects.clone();
    let mut held = gate.hold_back(&ipam, &mut pass);
    assert!(pass.pods.is_empty(), "both pods are kept out of the pass");
    assert_eq!(held.allocated, 1);
    assert_eq!(
        held.refused.keys().collect::<Vec<_>>(),
        [&("ns1".to_owned(), "bad".to_owned())]
    );
    assert_eq!(
        (
            held.errors[0].object.as_str(),
            held.errors[0].field.as_str()
        ),
        (
            "Pod/ns1/bad",
            "metadata.annotations[ovn.kubernetes.io/ip_address]"
        )
    );
    let first = held.pods[&key].allocation;
    // The pass released it (as the controller does for an owner it no longer sees): it
    // comes back.
    ipam.release("net1", "a.ns1");
    gate.after_pass(&ipam, &mut held, &mut pass);
    assert_eq!(pass.pods.len(), 2, "the pods are back for the writeback");
    assert_eq!(ipam.lookup("net1", "a.ns1"), Some(first));
    let wanted = held.pods[&key].allocated.annotations.clone();

    // Once the annotations record the address, the pod goes through, with that address.
    objects.pods.get_mut(&key).expect("a").metadata.annotations = Some(wanted);
    let mut pass = objects.clone();
    let held = gate.hold_back(&ipam, &mut pass);
    assert!(held.pods.is_empty() && pass.pods.contains_key(&key));
    assert_eq!(ipam.lookup("net1", "a.ns1"), Some(first));

    // Re-created under the same name: it waits for its own annotations, same address.
    let pod_a = objects.pods.get_mut(&key).expect("a");
    pod_a.metadata.uid = Some("u2".into());
    pod_a.metadata.annotations = None;
    let mut pass = objects.clone();
    let held = gate.hold_back(&ipam, &mut pass);
    assert!(!pass.pods.contains_key(&key));
    assert_eq!(held.pods[&key].allocation, first);
}

/// The metrics the issue asks for, scraped over HTTP from a running controller: reconcile
/// counts and latency, bad input, IPAM usage per subnet and family; a pass whose NB
/// transaction is refused counts as a reconcile error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_from_a_running_controller() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists());
    let metrics = Arc::new(Metrics::new());
    let endpoint = MetricsEndpoint::start(metrics.clone()).await;
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    let controller = Running::spawn(client, config, metrics);
    api.writes_until(|w| {
        created(w, IPS, "web-0.ns1").is_some() && created(w, IPS, "web-1.ns1").is_some()
    })
    .await;

    let used =
        |subnet: &str| format!("kube_ovn_subnet_used_ips{{subnet=\"{subnet}\",family=\"ipv4\"}}");
    let available = |subnet: &str| {
        format!("kube_ovn_subnet_available_ips{{subnet=\"{subnet}\",family=\"ipv4\"}}")
    };
    // web-0 and web-1 in net1 (253 usable in a /24), node1's join address. A pass records
    // its count and its latency one after the other, so a scrape taken between the two sees
    // them differ by one: wait for a scrape between passes.
    let value = |body: &str, metric: &str| metrics_line(body, metric).unwrap_or(f64::NAN);
    let body = endpoint
        .wait_until("net1's usage, with every pass timed", |body| {
            value(body, &used("net1")) == 2.0
                && value(body, "kube_ovn_reconcile_duration_seconds_count")
                    == value(body, "kube_ovn_reconciles_total")
        })
        .await;
    assert_eq!(value(&body, &available("net1")), 251.0, "{body}");
    assert_eq!(value(&body, &used("join")), 1.0, "{body}");
    assert_eq!(value(&body, &used("ovn-default")), 0.0, "{body}");
    assert!(
        !body.contains("subnet=\"bad\""),
        "a subnet IPAM never took has no usage\n{body}"
    );
    let passes = value(&body, "kube_ovn_reconciles_total");
    assert!(passes >= 1.0, "{body}");
    assert_eq!(
        value(&body, "kube_ovn_reconcile_duration_seconds_count"),
        passes,
        "every pass is timed\n{body}"
    );
    assert!(
        value(&body, "kube_ovn_reconcile_duration_seconds_sum") > 0.0,
        "{body}"
    );
    assert!(
        value(&body, "kube_ovn_input_errors_total") >= 1.0,
        "the bad subnet\n{body}"
    );
    assert_eq!(
        value(&body, "kube_ovn_reconcile_errors_total"),
        0.0,
        "{body}"
    );

    // NB refuses the next pass: a port named as web-2's would be, on another switch and not
    // the controller's, makes its insert violate the port-name index.
    nbctl(
        &nb,
        &[
            "ls-add",
            "someone-else",
            "--",
            "lsp-add",
            "someone-else",
            "web-2.ns1",
        ],
    );
    api.push(
        "/api/v1/pods",
        json!({"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-2", "namespace": "ns1", "uid": "uid-web-2",
                            "resourceVersion": "500"},
               "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}}}),
    );
    endpoint
        .wait_for("kube_ovn_reconcile_errors_total", |v| v >= 1.0)
        .await;

    controller.stop().await;
}

/// A TCP front for NB's unix socket that can go silent: while stalled it forwards nothing
/// either way and new connections are accepted and left unanswered, as an NB host that
/// vanished without a reset looks to the controller.
struct StallingProxy {
    remote: String,
    stalled: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StallingProxy {
    async fn start(upstream: std::path::PathBuf) -> StallingProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let remote = format!("tcp:{}", listener.local_addr().expect("bound"));
        let (stalled, _) = watch::channel(false);
        let modes = stalled.clone();
        let task = tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(mut server) = tokio::net::UnixStream::connect(&upstream).await else {
                    continue;
                };
                let stalled = modes.subscribe();
                pipes.spawn(async move {
                    let (mut cb, mut sb) = (vec![0u8; 65536], vec![0u8; 65536]);
                    loop {
                        // Bytes read while stalled are dropped: they never arrive.
                        tokio::select! {
                            n = client.read(&mut cb) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) if !*stalled.borrow() => {
                                    if server.write_all(&cb[..n]).await.is_err() { return }
                                }
                                Ok(_) => {}
                            },
                            n = server.read(&mut sb) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) if !*stalled.borrow() => {
                                    if client.write_all(&sb[..n]).await.is_err() { return }
                                }
                                Ok(_) => {}
                            },
                        }
                    }
                });
            }
        });
        StallingProxy {
            remote,
            stalled,
            task,
        }
    }

    fn stall(&self, on: bool) {
        self.stalled.send_replace(on);
    }
}

/// NB stops answering mid-run (connection accepted, nothing comes back): the pass that needs
/// it fails with a retryable error instead of hanging, the failure shows on `/metrics` (NB
/// disconnected, a reconcile error), writes to the API server that need no NB still happen,
/// and once NB answers again the retried pass creates the port it could not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_nb_fails_the_pass_which_is_retried_until_nb_answers() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let proxy = StallingProxy::start(nb.socket_path().to_owned()).await;
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists());
    let metrics = Arc::new(Metrics::new());
    let endpoint = MetricsEndpoint::start(metrics.clone()).await;
    let mut config = ClusterConfig::new(&proxy.remote, "replica-a");
    config.leader_election = None;
    config.nb = NbOptions {
        request_timeout: Duration::from_secs(1),
        probe_interval: Some(Duration::from_millis(200)),
    };
    let controller = Running::spawn(client, config, metrics);
    api.writes_until(|w| created(w, IPS, "web-0.ns1").is_some())
        .await;
    assert_eq!(lsp_named(&nb, "web-0.ns1"), "web-0.ns1");
    endpoint.wait_for(NB_CONNECTED, |v| v == 1.0).await;
    let errors_before = metrics_line(&endpoint.scrape().await, "kube_ovn_reconcile_errors_total")
        .expect("the errors counter");

    proxy.stall(true);
    api.push(
        "/api/v1/pods",
        json!({"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-2", "namespace": "ns1", "uid": "uid-web-2",
                            "resourceVersion": "500"},
               "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "i"}]}}}),
    );
    // The annotations go first and need no NB; the port that follows cannot be written.
    api.writes_until(|w| find(w, "PATCH", "/api/v1/namespaces/ns1/pods/web-2").is_some())
        .await;
    endpoint
        .wait_for("kube_ovn_reconcile_errors_total", |v| v > errors_before)
        .await;
    endpoint.wait_for(NB_CONNECTED, |v| v == 0.0).await;
    assert_eq!(lsp_named(&nb, "web-2.ns1"), "", "NB was unreachable");

    proxy.stall(false);
    endpoint.wait_for(NB_CONNECTED, |v| v == 1.0).await;
    let deadline = Instant::now() + LIMIT;
    while lsp_named(&nb, "web-2.ns1") != "web-2.ns1" {
        assert!(
            Instant::now() < deadline,
            "web-2's port within {LIMIT:?} of NB answering again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.writes_until(|w| created(w, IPS, "web-2.ns1").is_some())
        .await;

    controller.stop().await;
}

/// Kube-OVN's order for a node, as for a pod: allocate its join address, patch the node's
/// annotations, then create its NB port `node-<name>` (the daemon's `ovn0` reads the
/// annotations). Each node patch is held at the stand-in API server while the test looks at
/// the real NB: no port before the patch lands. The first two patches are refused: the port
/// waits, the patch is retried with the same address, the pods are not held up, and the `IP`
/// record follows the annotations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_annotations_are_patched_before_its_port_and_a_failed_patch_holds_it_back() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let (client, server) = mock_api::client();
    let node_path = "/api/v1/nodes/node1";
    let mut api = FakeApi::start_holding(server, lists(), &[node_path]);
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    let controller = Running::spawn(client, config, Arc::new(Metrics::new()));

    let mut attempts: Vec<Value> = Vec::new();
    let mut landed = false;
    let deadline = Instant::now() + LIMIT;
    while !(landed && lsp_named(&nb, "node-node1") == "node-node1") {
        assert!(
            Instant::now() < deadline,
            "node-node1 within {LIMIT:?} ({} patches tried)",
            attempts.len()
        );
        tokio::select! {
            held = api.next_held() => {
                assert_eq!(held.write.method, "PATCH");
                if !landed {
                    assert_eq!(
                        lsp_named(&nb, "node-node1"),
                        "",
                        "node1 has a port before its annotations are written"
                    );
                }
                attempts.push(held.write.body.clone().expect("a patch body"));
                if attempts.len() <= 2 {
                    held.fail(500, "InternalError");
                } else {
                    landed = true;
                    held.apply();
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    assert!(attempts.len() >= 3, "{attempts:#?}");
    assert!(attempts.iter().all(|b| b == &attempts[0]), "{attempts:#?}");
    let a = &attempts[0]["metadata"]["annotations"];
    assert_eq!(a["ovn.kubernetes.io/allocated"], "true");
    assert_eq!(a["ovn.kubernetes.io/logical_switch"], "join");
    assert_eq!(a["ovn.kubernetes.io/cidr"], "100.64.0.0/16");
    assert_eq!(a["ovn.kubernetes.io/gateway"], "100.64.0.1");
    assert_eq!(a["ovn.kubernetes.io/port_name"], "node-node1");
    assert_eq!(
        nbctl(
            &nb,
            &["get", "Logical_Switch_Port", "node-node1", "addresses"]
        ),
        format!(
            "[\"{} {}\"]",
            a["ovn.kubernetes.io/mac_address"].as_str().expect("mac"),
            a["ovn.kubernetes.io/ip_address"].as_str().expect("ip")
        )
    );
    // The pods did not wait for the node.
    assert_eq!(lsp_named(&nb, "web-0.ns1"), "web-0.ns1");

    // The node's API calls in order: the refused patches, the one that landed, then its record.
    let writes = api
        .writes_until(|w| created(w, IPS, "node-node1").is_some())
        .await;
    let calls: Vec<&str> = writes
        .iter()
        .filter_map(|w| {
            if w.path == node_path {
                Some("patch")
            } else if w.path == IPS
                && w.body
                    .as_ref()
                    .is_some_and(|b| b["metadata"]["name"] == "node-node1")
            {
                Some("record")
            } else {
                None
            }
        })
        .collect();
    let record = calls.iter().position(|c| *c == "record").expect("recorded");
    assert!(
        record >= 3 && calls[..record].iter().all(|c| *c == "patch"),
        "{calls:?}"
    );

    controller.stop().await;
}

/// No watch event reports an NB row deleted by hand: the periodic resync puts it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_deleted_by_hand_comes_back_with_the_resync() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let (client, server) = mock_api::client();
    let mut api = FakeApi::start(server, lists());
    let mut config = ClusterConfig::new(&nb.remote(), "replica-a");
    config.leader_election = None;
    config.resync = Some(Duration::from_millis(300));
    let controller = Running::spawn(client, config, Arc::new(Metrics::new()));
    api.writes_until(|w| created(w, IPS, "web-0.ns1").is_some())
        .await;
    let before = nbctl(
        &nb,
        &["get", "Logical_Switch_Port", "web-0.ns1", "addresses"],
    );
    nbctl(&nb, &["lsp-del", "web-0.ns1"]);
    let deadline = Instant::now() + LIMIT;
    while lsp_named(&nb, "web-0.ns1") != "web-0.ns1" {
        assert!(
            Instant::now() < deadline,
            "web-0's port back within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        nbctl(
            &nb,
            &["get", "Logical_Switch_Port", "web-0.ns1", "addresses"]
        ),
        before,
        "same address"
    );
    controller.stop().await;
}

/// A restart that finds one address recorded for two pods (annotations from a controller that
/// handed it out twice): the first keeps it; the second gets a Warning Event saying its record
/// was not restored, naming the address, and no port (no address twice in NB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_recorded_twice_gets_an_event_and_no_second_port() {
    let nb = OvsdbServer::nb().expect("NB starts");
    let twice = allocated("10.1.0.5", "00:00:00:00:00:05", "net1");
    let mut other = twice.clone();
    other["ovn.kubernetes.io/mac_address"] = json!("00:00:00:00:00:06");
    let pod_events = "/apis/events.k8s.io/v1/namespaces/ns1/events";
    let not_restored = |w: &Write| {
        w.method == "POST"
            && w.path == pod_events
            && w.body.as_ref().is_some_and(|b| {
                b["note"]
                    .as_str()
                    .is_some_and(|n| n.contains("not restored"))
            })
    };
    let writes = run_until(
        &nb,
        restart_lists(&[("web-0", twice), ("web-1", other)], vec![]),
        |w| w.iter().any(not_restored) && created(w, IPS, "web-0.ns1").is_some(),
    )
    .await;
    let events: Vec<&Value> = writes
        .iter()
        .filter(|w| not_restored(w))
        .filter_map(|w| w.body.as_ref())
        .collect();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = events[0];
    assert_eq!(event["type"], "Warning", "{event}");
    assert_eq!(event["regarding"]["name"], "web-1", "{event}");
    assert_eq!(
        event["regarding"]["fieldPath"],
        "metadata.annotations[ovn.kubernetes.io/ip_address]"
    );
    assert!(
        event["note"]
            .as_str()
            .is_some_and(|n| n.contains("10.1.0.5")),
        "{event}"
    );
    assert_eq!(
        nbctl(
            &nb,
            &["get", "Logical_Switch_Port", "web-0.ns1", "addresses"]
        ),
        "[\"00:00:00:00:00:05 10.1.0.5\"]"
    );
    assert_eq!(lsp_named(&nb, "web-1.ns1"), "");
}
