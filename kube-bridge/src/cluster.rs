//! The cluster source: kube-rs watchers with reflector stores for every kind the translation
//! reads, merged into one event stream, and a snapshot of the stores as [`Objects`].
//!
//! The stream must be polled for the stores to fill: the caller drives it (typically feeding a
//! [`crate::queue::WorkQueue`]) and snapshots once [`ClusterStores::wait_until_ready`] returns.

use std::fmt::Debug;
use std::path::PathBuf;

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::InputError;
use crate::crd::{IP, Subnet, Vpc};
use crate::objects::{Objects, Origin, object_ref};

/// The kinds the cluster source watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `v1` Namespace.
    Namespace,
    /// `v1` Node.
    Node,
    /// `v1` Pod.
    Pod,
    /// `v1` Service.
    Service,
    /// `discovery.k8s.io/v1` EndpointSlice.
    EndpointSlice,
    /// `networking.k8s.io/v1` NetworkPolicy.
    NetworkPolicy,
    /// `kubeovn.io/v1` Subnet.
    Subnet,
    /// `kubeovn.io/v1` Vpc.
    Vpc,
    /// `kubeovn.io/v1` IP.
    Ip,
}

impl Kind {
    /// Every watched kind.
    pub const ALL: [Kind; 9] = [
        Kind::Namespace,
        Kind::Node,
        Kind::Pod,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::NetworkPolicy,
        Kind::Subnet,
        Kind::Vpc,
        Kind::Ip,
    ];
}

/// What the watchers saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// An object was listed, created or changed; `object` is `Kind/namespace/name` (or
    /// `Kind/name`), the form [`Objects::origins`] and [`InputError::object`] use.
    Applied {
        /// The kind.
        kind: Kind,
        /// The object reference.
        object: String,
    },
    /// An object was deleted.
    Deleted {
        /// The kind.
        kind: Kind,
        /// The object reference.
        object: String,
    },
    /// The kind's initial list (or a relist) completed: its store is complete.
    Synced(Kind),
    /// The kind's watch failed; it is retried with backoff.
    WatchError {
        /// The kind.
        kind: Kind,
        /// The error.
        message: String,
    },
}

/// The reflector stores, one per kind, filled while the event stream is polled.
#[derive(Clone)]
pub struct ClusterStores {
    /// Namespaces.
    pub namespaces: Store<Namespace>,
    /// Nodes.
    pub nodes: Store<Node>,
    /// Pods.
    pub pods: Store<Pod>,
    /// Services.
    pub services: Store<Service>,
    /// EndpointSlices.
    pub endpoint_slices: Store<EndpointSlice>,
    /// NetworkPolicies.
    pub network_policies: Store<NetworkPolicy>,
    /// Subnets.
    pub subnets: Store<Subnet>,
    /// Vpcs.
    pub vpcs: Store<Vpc>,
    /// IP records.
    pub ips: Store<IP>,
}

/// Starts watching every kind in all namespaces: the stores, and the one stream of their
/// events (which must be polled for anything to happen).
pub fn watch(client: Client) -> (ClusterStores, BoxStream<'static, ClusterEvent>) {
    let (namespaces, s1) = source(Api::all(client.clone()), Kind::Namespace);
    let (nodes, s2) = source(Api::all(client.clone()), Kind::Node);
    let (pods, s3) = source(Api::all(client.clone()), Kind::Pod);
    let (services, s4) = source(Api::all(client.clone()), Kind::Service);
    let (endpoint_slices, s5) = source(Api::all(client.clone()), Kind::EndpointSlice);
    let (network_policies, s6) = source(Api::all(client.clone()), Kind::NetworkPolicy);
    let (subnets, s7) = source(Api::all(client.clone()), Kind::Subnet);
    let (vpcs, s8) = source(Api::all(client.clone()), Kind::Vpc);
    let (ips, s9) = source(Api::all(client), Kind::Ip);
    let stores = ClusterStores {
        namespaces,
        nodes,
        pods,
        services,
        endpoint_slices,
        network_policies,
        subnets,
        vpcs,
        ips,
    };
    (
        stores,
        stream::select_all([s1, s2, s3, s4, s5, s6, s7, s8, s9]).boxed(),
    )
}

fn source<K>(api: Api<K>, kind: Kind) -> (Store<K>, BoxStream<'static, ClusterEvent>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let object = move |o: &K| {
        let namespaced = matches!(
            kind,
            Kind::Pod | Kind::Service | Kind::EndpointSlice | Kind::NetworkPolicy
        );
        let ns = o.namespace().unwrap_or_else(|| "default".to_owned());
        object_ref(
            &K::kind(&()),
            namespaced.then_some(ns.as_str()),
            &o.name_any(),
        )
    };
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .filter_map(move |ev| {
            let out = match ev {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    Some(ClusterEvent::Applied {
                        kind,
                        object: object(&o),
                    })
                }
                Ok(watcher::Event::Delete(o)) => Some(ClusterEvent::Deleted {
                    kind,
                    object: object(&o),
                }),
                Ok(watcher::Event::InitDone) => Some(ClusterEvent::Synced(kind)),
                Ok(watcher::Event::Init) => None,
                Err(e) => Some(ClusterEvent::WatchError {
                    kind,
                    message: e.to_string(),
                }),
            };
            futures::future::ready(out)
        });
    (reader, events.boxed())
}

impl ClusterStores {
    /// Waits until every kind's initial list has landed in its store. Fails only when the
    /// event stream was dropped before that.
    pub async fn wait_until_ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.namespaces.wait_until_ready().await?;
        self.nodes.wait_until_ready().await?;
        self.pods.wait_until_ready().await?;
        self.services.wait_until_ready().await?;
        self.endpoint_slices.wait_until_ready().await?;
        self.network_policies.wait_until_ready().await?;
        self.subnets.wait_until_ready().await?;
        self.vpcs.wait_until_ready().await?;
        self.ips.wait_until_ready().await
    }

    /// The stores' current contents as [`Objects`], with the objects that do not fit the
    /// translation's types (as [`InputError`]s without a file).
    pub fn snapshot(&self) -> (Objects, Vec<InputError>) {
        let mut objects = Objects::default();
        let mut errors = Vec::new();
        add_all(&mut objects, &mut errors, &self.namespaces);
        add_all(&mut objects, &mut errors, &self.nodes);
        add_all(&mut objects, &mut errors, &self.pods);
        add_all(&mut objects, &mut errors, &self.services);
        add_all(&mut objects, &mut errors, &self.endpoint_slices);
        add_all(&mut objects, &mut errors, &self.network_policies);
        add_all(&mut objects, &mut errors, &self.subnets);
        add_all(&mut objects, &mut errors, &self.vpcs);
        add_all(&mut objects, &mut errors, &self.ips);
        (objects, errors)
    }
}

fn add_all<K>(objects: &mut Objects, errors: &mut Vec<InputError>, store: &Store<K>)
where
    K: Resource<DynamicType = ()> + Clone + Serialize + 'static,
{
    for o in store.state() {
        let result = match serde_json::to_value(&*o) {
            Ok(mut value) => {
                // Objects from a watch carry no apiVersion/kind of their own in some
                // encodings; the translation keys on them, so they are set from the type.
                if let Some(map) = value.as_object_mut() {
                    map.insert("apiVersion".into(), K::api_version(&()).into_owned().into());
                    map.insert("kind".into(), K::kind(&()).into_owned().into());
                }
                objects.add_value(
                    value,
                    Origin {
                        file: PathBuf::new(),
                        document: 0,
                    },
                )
            }
            Err(e) => Err(InputError {
                file: None,
                object: object_ref(&K::kind(&()), o.namespace().as_deref(), &o.name_any()),
                field: String::new(),
                message: format!("cannot serialize: {e}"),
            }),
        };
        if let Err(mut e) = result {
            e.file = None;
            errors.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_api;
    use http::Response;
    use kube::client::Body;
    use serde_json::{Value, json};
    use std::time::Duration;

    const LIMIT: Duration = Duration::from_secs(60);

    /// The list answer for a path, and the kind name for the watch test.
    fn list_for(path: &str) -> Option<Value> {
        let (api_version, kind, items) = match path {
            "/api/v1/namespaces" => (
                "v1",
                "Namespace",
                vec![json!({"metadata": {"name": "ns1", "resourceVersion": "5"}})],
            ),
            "/api/v1/nodes" => (
                "v1",
                "Node",
                vec![json!({"metadata": {"name": "node1", "resourceVersion": "5"}})],
            ),
            "/api/v1/pods" => (
                "v1",
                "Pod",
                vec![
                    json!({"metadata": {"name": "web-0", "namespace": "ns1", "resourceVersion": "5"},
                            "spec": {"containers": [{"name": "c", "image": "i"}]}}),
                ],
            ),
            "/api/v1/services" => ("v1", "Service", vec![]),
            "/apis/discovery.k8s.io/v1/endpointslices" => {
                ("discovery.k8s.io/v1", "EndpointSlice", vec![])
            }
            "/apis/networking.k8s.io/v1/networkpolicies" => {
                ("networking.k8s.io/v1", "NetworkPolicy", vec![])
            }
            "/apis/kubeovn.io/v1/subnets" => (
                "kubeovn.io/v1",
                "Subnet",
                vec![
                    json!({"metadata": {"name": "net1", "resourceVersion": "5"}, "spec": {"cidrBlock": "10.1.0.0/24"}}),
                ],
            ),
            "/apis/kubeovn.io/v1/vpcs" => ("kubeovn.io/v1", "Vpc", vec![]),
            "/apis/kubeovn.io/v1/ips" => ("kubeovn.io/v1", "IP", vec![]),
            _ => return None,
        };
        let items: Vec<Value> = items
            .into_iter()
            .map(|mut i| {
                i["apiVersion"] = api_version.into();
                i["kind"] = kind.into();
                i
            })
            .collect();
        Some(
            json!({"apiVersion": api_version, "kind": format!("{kind}List"),
                    "metadata": {"resourceVersion": "10"}, "items": items}),
        )
    }

    #[tokio::test]
    async fn watchers_fill_stores_and_one_stream_reports_every_kind() {
        let (client, mut server) = mock_api::client();
        let (stores, mut events) = watch(client);
        let (paths_tx, mut paths_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        // The nine watchers ask concurrently, so the stand-in answers by path, not by order.
        let api = tokio::spawn(async move {
            let mut held = Vec::new();
            let mut pods_watched = false;
            while let Some((request, send)) = server.0.next_request().await {
                let uri = request.uri().clone();
                let path = uri.path().to_owned();
                let query = uri.query().unwrap_or_default().to_owned();
                assert_eq!(request.method(), "GET", "{uri}");
                let _ = paths_tx.send(format!("{path}?{query}"));
                if query.contains("watch=true") {
                    if path == "/api/v1/pods" && !pods_watched {
                        pods_watched = true;
                        let event = json!({"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": "web-1", "namespace": "ns1", "resourceVersion": "11"},
                            "spec": {"containers": [{"name": "c", "image": "i"}]}}});
                        let body = format!("{event}\n");
                        send.send_response(
                            Response::builder()
                                .status(200)
                                .body(Body::from(body.into_bytes()))
                                .unwrap(),
                        );
                    } else {
                        // Watches stay open and silent.
                        held.push(send);
                    }
                } else {
                    let list = list_for(&path).unwrap_or_else(|| panic!("unexpected list {uri}"));
                    let body = serde_json::to_vec(&list).unwrap();
                    send.send_response(
                        Response::builder()
                            .status(200)
                            .body(Body::from(body))
                            .unwrap(),
                    );
                }
            }
        });

        let mut synced = std::collections::BTreeSet::new();
        let mut applied = std::collections::BTreeSet::new();
        tokio::time::timeout(LIMIT, async {
            while synced.len() < Kind::ALL.len() || !applied.contains("Pod/ns1/web-1") {
                match events.next().await.expect("the stream continues") {
                    ClusterEvent::Synced(kind) => {
                        synced.insert(kind);
                    }
                    ClusterEvent::Applied { object, .. } => {
                        applied.insert(object);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        })
        .await
        .expect("all kinds synced and the watched pod seen");
        tokio::time::timeout(LIMIT, stores.wait_until_ready())
            .await
            .expect("ready")
            .expect("writers alive");
        for object in [
            "Namespace/ns1",
            "Node/node1",
            "Pod/ns1/web-0",
            "Subnet/net1",
            "Pod/ns1/web-1",
        ] {
            assert!(
                applied.contains(object),
                "{object} not reported in {applied:?}"
            );
        }

        let (objects, errors) = stores.snapshot();
        assert_eq!(errors, []);
        assert_eq!(objects.namespaces.keys().collect::<Vec<_>>(), ["ns1"]);
        assert_eq!(objects.nodes.keys().collect::<Vec<_>>(), ["node1"]);
        let pods: Vec<_> = objects
            .pods
            .keys()
            .map(|(ns, n)| format!("{ns}/{n}"))
            .collect();
        assert_eq!(pods, ["ns1/web-0", "ns1/web-1"]);
        assert_eq!(objects.subnets["net1"].spec.cidr_block, "10.1.0.0/24");
        assert!(objects.services.is_empty() && objects.vpcs.is_empty() && objects.ips.is_empty());

        // Every list was cluster-wide, and every kind was then watched from its list's version.
        let mut seen = Vec::new();
        while let Ok(p) = paths_rx.try_recv() {
            seen.push(p);
        }
        for path in [
            "/api/v1/namespaces",
            "/api/v1/nodes",
            "/api/v1/pods",
            "/api/v1/services",
            "/apis/discovery.k8s.io/v1/endpointslices",
            "/apis/networking.k8s.io/v1/networkpolicies",
            "/apis/kubeovn.io/v1/subnets",
            "/apis/kubeovn.io/v1/vpcs",
            "/apis/kubeovn.io/v1/ips",
        ] {
            assert!(
                seen.iter().any(|s| s.starts_with(&format!("{path}?"))
                    && s.contains("watch=true")
                    && s.contains("resourceVersion=10")),
                "no watch of {path} from resourceVersion 10 in {seen:#?}"
            );
        }
        drop(events);
        api.abort();
    }
}
