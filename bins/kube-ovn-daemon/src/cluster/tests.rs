//! Cluster mode against a stand-in API server: a kube-rs client over a `tower-test` mock.
//! Subnet and Node collection list/watch requests (the reflectors') are answered in the
//! background from a script; every other request reaches the test, which checks and answers it
//! in order.

use std::time::Duration;

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower_test::mock::SendResponse;

use super::*;

type Respond = SendResponse<Response<Body>>;

/// The stand-in API server.
struct Mock {
    requests: mpsc::UnboundedReceiver<(String, Respond)>,
    subnet_events: mpsc::UnboundedSender<Value>,
    node_events: mpsc::UnboundedSender<Value>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn respond(send: Respond, status: u16, body: &Value) {
    send.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(body).expect("JSON")))
            .expect("response"),
    );
}

/// Ends a watch with these events, one JSON line each (the client then watches again).
fn respond_events(send: Respond, events: &[Value]) {
    let mut text = String::new();
    for e in events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    send.send_response(
        Response::builder()
            .status(200)
            .body(Body::from(text.into_bytes()))
            .expect("response"),
    );
}

const SUBNETS: &str = "/apis/kubeovn.io/v1/subnets";
const NODES: &str = "/api/v1/nodes";

/// One collection a reflector lists and watches: its items, then scripted watch events.
struct Collection {
    list: Value,
    held_watch: Option<Respond>,
    queued: Vec<Value>,
}

impl Collection {
    fn new(api_version: &str, kind: &str, items: Vec<Value>) -> Self {
        Collection {
            list: json!({"apiVersion": api_version, "kind": kind,
                         "metadata": {"resourceVersion": "1"}, "items": items}),
            held_watch: None,
            queued: Vec::new(),
        }
    }

    fn request(&mut self, uri: &str, send: Respond) {
        if !uri.contains("watch=true") {
            respond(send, 200, &self.list);
        } else if self.queued.is_empty() {
            self.held_watch = Some(send);
        } else {
            respond_events(send, &std::mem::take(&mut self.queued));
        }
    }

    fn event(&mut self, event: Value) {
        match self.held_watch.take() {
            Some(send) => respond_events(send, &[event]),
            None => self.queued.push(event),
        }
    }
}

/// A client whose Subnets are `subnets` and whose Node collection starts empty, and the
/// server end.
fn mock(subnets: Vec<Value>) -> (Client, Mock) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let (to_test, requests) = mpsc::unbounded_channel();
    let (subnet_events, mut subnet_rx) = mpsc::unbounded_channel::<Value>();
    let (node_events, mut node_rx) = mpsc::unbounded_channel::<Value>();
    let task = tokio::spawn(async move {
        let mut subnets = Collection::new("kubeovn.io/v1", "SubnetList", subnets);
        let mut nodes = Collection::new("v1", "NodeList", Vec::new());
        loop {
            tokio::select! {
                next = handle.next_request() => {
                    let Some((request, send)) = next else { return };
                    let uri = request.uri().to_string();
                    match request.uri().path() {
                        SUBNETS => subnets.request(&uri, send),
                        NODES => nodes.request(&uri, send),
                        _ => {
                            let _ = to_test.send((format!("{} {uri}", request.method()), send));
                        }
                    }
                }
                Some(event) = subnet_rx.recv() => subnets.event(event),
                Some(event) = node_rx.recv() => nodes.event(event),
            }
        }
    });
    (
        Client::new(service, "default"),
        Mock {
            requests,
            subnet_events,
            node_events,
            task,
        },
    )
}

impl Mock {
    /// The next request other than a Subnet's: `"METHOD URI"` and where to answer.
    async fn next(&mut self) -> (String, Respond) {
        tokio::time::timeout(Duration::from_secs(30), self.requests.recv())
            .await
            .expect("a request within 30 s")
            .expect("the mock runs")
    }

    /// Expects a request starting with `prefix` and containing each of `parts`.
    async fn expect(&mut self, prefix: &str, parts: &[&str]) -> Respond {
        let (seen, send) = self.next().await;
        assert!(seen.starts_with(prefix), "expected {prefix}…, got {seen}");
        for part in parts {
            assert!(seen.contains(part), "{seen} lacks {part}");
        }
        send
    }
}

fn pod(name: &str, namespace: &str, version: &str, annotations: &[(&str, &str)]) -> Value {
    let annotations: serde_json::Map<String, Value> = annotations
        .iter()
        .map(|(k, v)| (format!("ovn.kubernetes.io/{k}"), json!(v)))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": version,
                     "annotations": annotations}
    })
}

const DUAL_STACK: &[(&str, &str)] = &[
    ("allocated", "true"),
    ("ip_address", "10.120.0.5,fd00:120::5"),
    ("mac_address", "0a:58:0a:78:00:05"),
    ("cidr", "10.120.0.0/24,fd00:120::/64"),
    ("gateway", "10.120.0.1,fd00:120::1"),
    ("logical_switch", "sn-dev"),
    ("ingress_rate", "3"),
    ("egress_rate", "5"),
];

#[tokio::test]
async fn add_waits_for_the_controllers_annotation_then_reads_the_network() {
    let (client, mut api) = mock(Vec::new());
    let source = ClusterSource::start(client, "node1");
    let waiting = tokio::spawn(async move {
        source
            .pod_network("dev", "client-a", Duration::from_secs(60))
            .await
    });
    // Not yet allocated: the daemon watches that one pod from the version it read.
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods/client-a", &[])
        .await;
    respond(
        send,
        200,
        &pod("client-a", "dev", "7", &[("logical_switch", "sn-dev")]),
    );
    let send = api
        .expect(
            "GET /api/v1/namespaces/dev/pods?",
            &[
                "watch=true",
                "fieldSelector=metadata.name%3Dclient-a",
                "resourceVersion=7",
            ],
        )
        .await;
    // An unrelated change first, then the allocation.
    respond_events(
        send,
        &[
            json!({"type": "MODIFIED", "object": pod("client-a", "dev", "8", &[("logical_switch", "sn-dev")])}),
            json!({"type": "MODIFIED", "object": pod("client-a", "dev", "9", DUAL_STACK)}),
        ],
    );
    let network = waiting.await.unwrap().expect("the pod's network");
    assert_eq!(network.port, "client-a.dev");
    assert_eq!(
        network.addresses,
        vec![
            "10.120.0.5/24".parse::<IpNet>().unwrap(),
            "fd00:120::5/64".parse().unwrap()
        ]
    );
    assert_eq!(
        network.gateways,
        vec![
            "10.120.0.1".parse::<std::net::IpAddr>().unwrap(),
            "fd00:120::1".parse().unwrap()
        ]
    );
    assert_eq!(network.mac, "0a:58:0a:78:00:05");
    assert_eq!(network.subnet, "sn-dev");
    assert_eq!(
        (network.ingress_rate, network.egress_rate),
        (Some(3), Some(5))
    );
}

#[tokio::test]
async fn a_pod_already_allocated_needs_one_read_and_a_watch_that_ends_reads_again() {
    let (client, mut api) = mock(Vec::new());
    let source = ClusterSource::start(client, "node1");
    let s = source.clone();
    let first = tokio::spawn(async move {
        s.pod_network("dev", "client-a", Duration::from_secs(60))
            .await
    });
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods/client-a", &[])
        .await;
    respond(send, 200, &pod("client-a", "dev", "9", DUAL_STACK));
    assert_eq!(first.await.unwrap().unwrap().mac, "0a:58:0a:78:00:05");

    // A pod that does not exist yet, then exists unallocated, whose watch the server ends
    // empty, then is allocated: each step reads it again.
    let second = tokio::spawn(async move {
        source
            .pod_network("dev", "late", Duration::from_secs(60))
            .await
    });
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods/late", &[])
        .await;
    respond(
        send,
        404,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "reason": "NotFound", "code": 404, "message": "pods \"late\" not found"}),
    );
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods/late", &[])
        .await;
    respond(send, 200, &pod("late", "dev", "3", &[]));
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods?", &["watch=true"])
        .await;
    respond_events(send, &[]);
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods/late", &[])
        .await;
    respond(send, 200, &pod("late", "dev", "4", DUAL_STACK));
    assert_eq!(second.await.unwrap().unwrap().port, "late.dev");
}

#[tokio::test(start_paused = true)]
async fn a_pod_never_allocated_times_out_naming_the_pod() {
    let (client, mut api) = mock(Vec::new());
    let source = ClusterSource::start(client, "node1");
    let waiting = tokio::spawn(async move {
        source
            .pod_network("dev", "ghost", Duration::from_secs(20))
            .await
    });
    let send = api
        .expect("GET /api/v1/namespaces/dev/pods/ghost", &[])
        .await;
    respond(send, 200, &pod("ghost", "dev", "5", &[]));
    // The watch stays open and silent until the bound passes.
    let _held = api
        .expect("GET /api/v1/namespaces/dev/pods?", &["watch=true"])
        .await;
    let error = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(&error, Error::NotAllocated { object, seconds: 20, .. } if object == "pod dev/ghost"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("dev/ghost") && message.contains("ovn.kubernetes.io/allocated"),
        "{message}"
    );
    assert_eq!(
        error.to_cni().code,
        kube_ovn_cni::codes::ADDRESS_NOT_ALLOCATED
    );
}

#[tokio::test]
async fn a_malformed_annotation_is_a_typed_error_naming_it() {
    let (client, mut api) = mock(Vec::new());
    let source = ClusterSource::start(client, "node1");
    for (annotations, key) in [
        (
            vec![
                ("allocated", "true"),
                ("ip_address", "10.120.0.x"),
                ("mac_address", "0a:58:0a:78:00:05"),
                ("cidr", "10.120.0.0/24"),
            ],
            "ovn.kubernetes.io/ip_address",
        ),
        (
            vec![
                ("allocated", "true"),
                ("ip_address", "10.120.0.5"),
                ("mac_address", "0a:58:0a:78:00:05"),
                ("cidr", "10.120.0.0/24"),
                ("egress_rate", "fast"),
            ],
            "ovn.kubernetes.io/egress_rate",
        ),
        (
            vec![("allocated", "true"), ("cidr", "10.120.0.0/24")],
            "ovn.kubernetes.io/ip_address",
        ),
    ] {
        let s = source.clone();
        let waiting =
            tokio::spawn(async move { s.pod_network("dev", "bad", Duration::from_secs(60)).await });
        let send = api.expect("GET /api/v1/namespaces/dev/pods/bad", &[]).await;
        respond(send, 200, &pod("bad", "dev", "5", &annotations));
        let error = waiting.await.unwrap().unwrap_err();
        match &error {
            Error::BadAnnotation {
                object, annotation, ..
            } => {
                assert_eq!(object, "pod dev/bad");
                assert_eq!(annotation, key);
            }
            other => panic!("expected BadAnnotation for {key}, got {other:?}"),
        }
        assert!(error.to_string().contains(key), "{error}");
    }
}

#[tokio::test]
async fn the_node_annotation_gives_ovn0_its_join_address() {
    let (client, mut api) = mock(Vec::new());
    let source = ClusterSource::start(client, "node1");
    let waiting =
        tokio::spawn(async move { source.node_network("node1", Duration::from_secs(60)).await });
    let send = api.expect("GET /api/v1/nodes/node1", &[]).await;
    respond(
        send,
        200,
        &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1",
            "resourceVersion": "3", "annotations": {
                "ovn.kubernetes.io/allocated": "true",
                "ovn.kubernetes.io/ip_address": "100.64.0.2",
                "ovn.kubernetes.io/mac_address": "0a:58:64:40:00:02",
                "ovn.kubernetes.io/cidr": "100.64.0.0/16",
                "ovn.kubernetes.io/gateway": "100.64.0.1",
                "ovn.kubernetes.io/logical_switch": "join"}}}),
    );
    let network = waiting.await.unwrap().unwrap();
    assert_eq!(network.port, "node-node1");
    assert_eq!(
        network.addresses,
        vec!["100.64.0.2/16".parse::<IpNet>().unwrap()]
    );
    assert_eq!(
        network.gateway_of_family(true),
        Some("100.64.0.1".parse().unwrap())
    );
    assert_eq!(network.subnet, "join");
}

fn subnet(name: &str, cidr: &str, vpc: Option<&str>, version: &str) -> Value {
    let mut spec = json!({"cidrBlock": cidr});
    if let Some(vpc) = vpc {
        spec["vpc"] = json!(vpc);
    }
    json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet",
           "metadata": {"name": name, "resourceVersion": version}, "spec": spec})
}

#[tokio::test]
async fn routed_subnets_follow_the_subnets_of_the_default_vpc() {
    let (client, api) = mock(vec![
        subnet("join", "100.64.0.0/16", None, "1"),
        subnet("ovn-default", "10.16.0.0/16", Some("ovn-cluster"), "1"),
        subnet("sn-dev", "10.120.0.0/24,fd00:120::/64", None, "1"),
        subnet("tenant", "192.168.0.0/24", Some("vpc-a"), "1"),
    ]);
    let source = ClusterSource::start(client, "node1");
    let mut changes = source.changes();
    let wanted = |cidrs: &[&str]| -> Vec<IpNet> {
        let mut v: Vec<IpNet> = cidrs.iter().map(|c| c.parse().unwrap()).collect();
        v.sort();
        v
    };
    let until = |changes: &mut watch::Receiver<u64>, expected: Vec<IpNet>| {
        let source = source.clone();
        let mut changes = changes.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(30), async {
                while source.pod_subnets("join") != expected {
                    changes.changed().await.expect("the watch runs");
                }
            })
            .await
            .unwrap_or_else(|_| panic!("pod subnets {:?}", source.pod_subnets("join")));
        }
    };
    until(
        &mut changes,
        wanted(&["10.16.0.0/16", "10.120.0.0/24", "fd00:120::/64"]),
    )
    .await;
    api.subnet_events
        .send(json!({"type": "DELETED", "object": subnet("sn-dev", "10.120.0.0/24,fd00:120::/64", None, "2")}))
        .unwrap();
    until(&mut changes, wanted(&["10.16.0.0/16"])).await;
}

#[tokio::test]
async fn a_watched_node_annotation_change_reaches_ovn0() {
    let (client, api) = mock(Vec::new());
    let source = ClusterSource::start(client, "node1");
    let mut changes = source.changes();
    assert!(source.current_node_network("node1").unwrap().is_none());
    let node = |ip: &str, version: &str| {
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1",
            "resourceVersion": version, "annotations": {
                "ovn.kubernetes.io/allocated": "true",
                "ovn.kubernetes.io/ip_address": ip,
                "ovn.kubernetes.io/mac_address": "0a:58:64:40:00:02",
                "ovn.kubernetes.io/cidr": "100.64.0.0/16",
                "ovn.kubernetes.io/gateway": "100.64.0.1",
                "ovn.kubernetes.io/logical_switch": "join"}}})
    };
    let until = |changes: &mut watch::Receiver<u64>, ip: &'static str| {
        let source = source.clone();
        let mut changes = changes.clone();
        async move {
            let wanted: IpNet = format!("{ip}/16").parse().unwrap();
            tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    let now = source.current_node_network("node1").unwrap();
                    if now.is_some_and(|n| n.addresses == vec![wanted]) {
                        return;
                    }
                    changes.changed().await.expect("the watch runs");
                }
            })
            .await
            .unwrap_or_else(|_| panic!("node network {:?}", source.current_node_network("node1")));
        }
    };
    api.node_events
        .send(json!({"type": "ADDED", "object": node("100.64.0.2", "2")}))
        .unwrap();
    until(&mut changes, "100.64.0.2").await;
    // Re-created with another address: the change is seen without asking.
    api.node_events
        .send(json!({"type": "MODIFIED", "object": node("100.64.0.9", "3")}))
        .unwrap();
    until(&mut changes, "100.64.0.9").await;
    // Another node's events never reach this store (the watch selects node1 by field); a
    // malformed annotation is a typed error, not a panic.
    let mut bad = node("100.64.0.9", "4");
    bad["metadata"]["annotations"]["ovn.kubernetes.io/ip_address"] = json!("not-an-ip");
    api.node_events
        .send(json!({"type": "MODIFIED", "object": bad}))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        while source.current_node_network("node1").is_ok() {
            changes.changed().await.expect("the watch runs");
        }
    })
    .await
    .expect("the malformed annotation is reported");
}
