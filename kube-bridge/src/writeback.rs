//! The writes the controller makes to the API server: a pod's address annotations, a Subnet's
//! status, an `IP` record per allocation, and an Event naming the field at fault on bad input.
//!
//! The functions here build the exact request bodies from translation and IPAM results; they
//! decide nothing about what to allocate or realise.

use std::collections::BTreeMap;

use ipam::SubnetUsage;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde_json::json;

use crate::InputError;
use crate::crd::{Condition, IP, IPSpec, Subnet, SubnetStatus, Vpc, VpcStatus};
use crate::objects::Objects;
use crate::translate::PodAddress;

/// The controller's name, as `reportingController` of its Events.
pub const CONTROLLER_NAME: &str = "kube-ovn-controller";

/// The longest Event note the API server accepts (bytes).
const NOTE_LIMIT: usize = 1024;

/// Writes to the API server on the controller's behalf.
#[derive(Clone)]
pub struct Writer {
    client: Client,
    instance: String,
}

impl Writer {
    /// A writer whose Events name `instance` (this replica, e.g. the pod name) as reporter.
    pub fn new(client: Client, instance: &str) -> Self {
        Writer {
            client,
            instance: instance.to_owned(),
        }
    }

    /// Merges `annotations` (from [`crate::translate::pod_annotations`]) into a pod's
    /// annotations with a JSON merge patch, leaving the pod's other annotations alone.
    pub async fn patch_pod_annotations(
        &self,
        namespace: &str,
        name: &str,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Pod, kube::Error> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({ "metadata": { "annotations": annotations } });
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
    }

    /// Merges `annotations` into a node's annotations (its join address), as
    /// [`Writer::patch_pod_annotations`] does for pods.
    pub async fn patch_node_annotations(
        &self,
        name: &str,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Node, kube::Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({ "metadata": { "annotations": annotations } });
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
    }

    /// Creates a Subnet unless one of that name exists. `Ok(None)` when it existed.
    pub async fn create_subnet_if_absent(
        &self,
        subnet: &Subnet,
    ) -> Result<Option<Subnet>, kube::Error> {
        let api: Api<Subnet> = Api::all(self.client.clone());
        match api.create(&PostParams::default(), subnet).await {
            Ok(s) => Ok(Some(s)),
            Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a Vpc unless one of that name exists. `Ok(None)` when it existed.
    pub async fn create_vpc_if_absent(&self, vpc: &Vpc) -> Result<Option<Vpc>, kube::Error> {
        let api: Api<Vpc> = Api::all(self.client.clone());
        match api.create(&PostParams::default(), vpc).await {
            Ok(v) => Ok(Some(v)),
            Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces a Subnet's status through the status subresource (build it with
    /// [`subnet_status`]).
    pub async fn update_subnet_status(
        &self,
        name: &str,
        status: &SubnetStatus,
    ) -> Result<Subnet, kube::Error> {
        let api: Api<Subnet> = Api::all(self.client.clone());
        let patch = json!({ "status": status });
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
    }

    /// Replaces a Vpc's status through the status subresource (build it with [`vpc_status`]).
    pub async fn update_vpc_status(
        &self,
        name: &str,
        status: &VpcStatus,
    ) -> Result<Vpc, kube::Error> {
        let api: Api<Vpc> = Api::all(self.client.clone());
        let patch = json!({ "status": status });
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
    }

    /// Records an allocation as an `IP` object named `name` (see [`ip_name`]). When the record
    /// already exists (a restart, or an earlier attempt that timed out after landing), its spec
    /// is merged instead.
    pub async fn record_ip(&self, name: &str, spec: &IPSpec) -> Result<IP, kube::Error> {
        let api: Api<IP> = Api::all(self.client.clone());
        match api
            .create(&PostParams::default(), &IP::new(name, spec.clone()))
            .await
        {
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                api.patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(&json!({ "spec": spec })),
                )
                .await
            }
            other => other,
        }
    }

    /// Deletes the `IP` record `name` once its address is released. An absent record is not
    /// an error (already deleted, or never recorded).
    pub async fn delete_ip(&self, name: &str) -> Result<(), kube::Error> {
        let api: Api<IP> = Api::all(self.client.clone());
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Emits a Warning Event (`events.k8s.io/v1`) about bad input on `regarding`, at `now`.
    /// Its reason is `InvalidInput`, its note names the field, and `regarding.fieldPath` is
    /// the field. Events about cluster-scoped objects (Subnets, Vpcs, Nodes) go to the
    /// `default` namespace, as Kubernetes' own recorders do.
    pub async fn emit_input_error(
        &self,
        error: &InputError,
        regarding: &ObjectReference,
        now: Timestamp,
    ) -> Result<Event, kube::Error> {
        let event = input_error_event(error, regarding, CONTROLLER_NAME, &self.instance, now);
        let namespace = event
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        api.create(&PostParams::default(), &event).await
    }
}

/// The Event [`Writer::emit_input_error`] creates.
pub fn input_error_event(
    error: &InputError,
    regarding: &ObjectReference,
    controller: &str,
    instance: &str,
    now: Timestamp,
) -> Event {
    let namespace = regarding
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let object_name = regarding.name.clone().unwrap_or_default();
    let nanos = u128::try_from(now.as_nanosecond()).unwrap_or(0);
    let mut note = if error.field.is_empty() {
        error.message.clone()
    } else {
        format!("field {}: {}", error.field, error.message)
    };
    if note.len() > NOTE_LIMIT {
        let mut end = NOTE_LIMIT;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    let mut regarding = regarding.clone();
    if !error.field.is_empty() {
        regarding.field_path = Some(error.field.clone());
    }
    Event {
        metadata: ObjectMeta {
            // `<object>.<unix nanoseconds in hex>`, the name Kubernetes' recorders use.
            name: Some(format!("{object_name}.{nanos:x}")),
            namespace: Some(namespace),
            ..ObjectMeta::default()
        },
        event_time: Some(MicroTime(now)),
        type_: Some("Warning".to_owned()),
        reason: Some("InvalidInput".to_owned()),
        action: Some("Validate".to_owned()),
        note: Some(note),
        regarding: Some(regarding),
        reporting_controller: Some(controller.to_owned()),
        reporting_instance: Some(instance.to_owned()),
        ..Event::default()
    }
}

/// A Subnet status: available and used counts per family from IPAM, and the `Validated` and
/// `Ready` conditions (false with the error when the spec is bad). Each condition keeps its
/// `lastTransitionTime` from `previous` while its status does not change.
pub fn subnet_status(
    usage: Option<&SubnetUsage>,
    error: Option<&InputError>,
    previous: Option<&SubnetStatus>,
    now: Timestamp,
) -> SubnetStatus {
    // Status fields are JSON numbers (Kube-OVN's float64); counts beyond 2^53 round.
    let count = |n: u128| n as f64;
    let (mut status, valid) = (SubnetStatus::default(), error.is_none());
    if let Some(u) = usage {
        if let Some(v4) = u.v4 {
            status.v4_available_ips = count(v4.available);
            status.v4_using_ips = count(v4.used);
        }
        if let Some(v6) = u.v6 {
            status.v6_available_ips = count(v6.available);
            status.v6_using_ips = count(v6.used);
        }
    }
    status.conditions = conditions(
        valid && usage.is_some(),
        error,
        previous.map(|p| &p.conditions[..]),
        now,
    );
    status
}

/// A Vpc status: its router, and the `Validated` and `Ready` conditions (false with the error
/// when the spec is bad), keeping each condition's `lastTransitionTime` from `previous` while
/// its status does not change.
pub fn vpc_status(
    name: &str,
    error: Option<&InputError>,
    previous: Option<&VpcStatus>,
    now: Timestamp,
) -> VpcStatus {
    VpcStatus {
        conditions: conditions(
            error.is_none(),
            error,
            previous.map(|p| &p.conditions[..]),
            now,
        ),
        router: name.to_owned(),
    }
}

/// `Validated` (false with `error`) and `Ready` (`ready`, false when invalid).
fn conditions(
    ready: bool,
    error: Option<&InputError>,
    previous: Option<&[Condition]>,
    now: Timestamp,
) -> Vec<Condition> {
    let valid = error.is_none();
    let message = error.map(|e| {
        if e.field.is_empty() {
            e.message.clone()
        } else {
            format!("field {}: {}", e.field, e.message)
        }
    });
    let condition = |type_: &str, ok: bool, reason: &str| {
        let status = if ok { "True" } else { "False" }.to_owned();
        let since = previous
            .and_then(|p| p.iter().find(|c| c.type_ == type_ && c.status == status))
            .map(|c| c.last_transition_time.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| now.to_string());
        Condition {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: if ok {
                String::new()
            } else {
                message.clone().unwrap_or_default()
            },
            last_transition_time: since,
        }
    };
    vec![
        condition(
            "Validated",
            valid,
            if valid {
                "ValidationSucceeded"
            } else {
                "ValidationFailed"
            },
        ),
        condition(
            "Ready",
            valid && ready,
            if valid {
                "Allocatable"
            } else {
                "ValidationFailed"
            },
        ),
    ]
}

/// The name of a pod's `IP` record: `<pod>.<namespace>`, as Kube-OVN names it.
pub fn ip_name(namespace: &str, pod: &str) -> String {
    format!("{pod}.{namespace}")
}

/// The `IP` record of a pod's allocation.
pub fn ip_record(namespace: &str, pod: &str, node: &str, addr: &PodAddress) -> IPSpec {
    let family = |v4: bool| {
        addr.ips
            .iter()
            .find(|ip| ip.is_ipv4() == v4)
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    IPSpec {
        pod_name: pod.to_owned(),
        namespace: namespace.to_owned(),
        subnet: addr.subnet.clone(),
        node_name: node.to_owned(),
        ip_address: addr
            .ips
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        v4_ip_address: family(true),
        v6_ip_address: family(false),
        mac_address: addr.mac.clone(),
    }
}

/// The name of a node's `IP` record: `node-<name>`, as Kube-OVN names it (the node's NB port).
pub fn node_ip_name(node: &str) -> String {
    format!("node-{node}")
}

/// The `IP` record of a node's join address: no namespace, the node as pod and node name.
pub fn node_ip_record(node: &str, addr: &PodAddress) -> IPSpec {
    IPSpec {
        namespace: String::new(),
        ..ip_record("", node, node, addr)
    }
}

/// The reference to the object an [`InputError`] names (`Kind/namespace/name` or
/// `Kind/name`), with its uid and resourceVersion when `objects` holds it. `None` when the
/// error names no object of a known kind (e.g. a manifest document without a kind).
pub fn object_reference(objects: &Objects, object: &str) -> Option<ObjectReference> {
    let mut parts = object.splitn(3, '/');
    let kind = parts.next()?;
    let (namespace, name) = match (parts.next(), parts.next()) {
        (Some(ns), Some(name)) => (Some(ns.to_owned()), name.to_owned()),
        (Some(name), None) => (None, name.to_owned()),
        _ => return None,
    };
    let key = (namespace.clone().unwrap_or_default(), name.clone());
    fn meta_of<K: Resource<DynamicType = ()>>(o: Option<&K>) -> (String, Option<ObjectMeta>) {
        (
            K::api_version(&()).into_owned(),
            o.map(|o| o.meta().clone()),
        )
    }
    let (api_version, meta) = match kind {
        "Namespace" => meta_of(objects.namespaces.get(&name)),
        "Node" => meta_of(objects.nodes.get(&name)),
        "Pod" => meta_of(objects.pods.get(&key)),
        "Service" => meta_of(objects.services.get(&key)),
        "EndpointSlice" => meta_of(objects.endpoint_slices.get(&key)),
        "NetworkPolicy" => meta_of(objects.network_policies.get(&key)),
        "Subnet" => meta_of(objects.subnets.get(&name)),
        "Vpc" => meta_of(objects.vpcs.get(&name)),
        "IP" => meta_of(objects.ips.get(&name)),
        _ => return None,
    };
    Some(ObjectReference {
        api_version: Some(api_version),
        kind: Some(kind.to_owned()),
        namespace,
        name: Some(name),
        uid: meta.as_ref().and_then(|m| m.uid.clone()),
        resource_version: meta.and_then(|m| m.resource_version),
        field_path: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_api::{self, status_failure};
    use crate::objects::Origin;
    use ipam::Usage;
    use serde_json::Value;

    fn now() -> Timestamp {
        "2030-01-01T00:00:00Z".parse().expect("timestamp")
    }

    #[tokio::test]
    async fn pod_annotations_are_a_merge_patch_of_metadata_annotations() {
        let (client, mut server) = mock_api::client();
        let annotations = BTreeMap::from([
            ("ovn.kubernetes.io/allocated".to_owned(), "true".to_owned()),
            (
                "ovn.kubernetes.io/ip_address".to_owned(),
                "10.16.0.5".to_owned(),
            ),
        ]);
        let task = tokio::spawn(async move {
            Writer::new(client, "pod-a")
                .patch_pod_annotations("ns1", "web-0", &annotations)
                .await
        });
        let seen = server
            .answer(
                200,
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "ns1"}}),
            )
            .await;
        assert_eq!(seen.method, "PATCH");
        assert_eq!(seen.uri, "/api/v1/namespaces/ns1/pods/web-0?");
        assert_eq!(
            seen.content_type.as_deref(),
            Some("application/merge-patch+json")
        );
        assert_eq!(
            seen.body,
            Some(json!({"metadata": {"annotations": {
                "ovn.kubernetes.io/allocated": "true", "ovn.kubernetes.io/ip_address": "10.16.0.5"
            }}}))
        );
        let pod = task.await.expect("joined").expect("patched");
        assert_eq!(pod.metadata.name.as_deref(), Some("web-0"));
    }

    #[tokio::test]
    async fn patch_failure_is_the_api_error() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            Writer::new(client, "pod-a")
                .patch_pod_annotations("ns1", "gone", &BTreeMap::new())
                .await
        });
        server
            .answer(
                404,
                status_failure(404, "NotFound", "pods \"gone\" not found"),
            )
            .await;
        let err = task.await.expect("joined").expect_err("not found");
        assert!(matches!(err, kube::Error::Api(s) if s.is_not_found()));
    }

    #[tokio::test]
    async fn subnet_status_goes_through_the_status_subresource() {
        let (client, mut server) = mock_api::client();
        let usage = SubnetUsage {
            v4: Some(Usage {
                total: 253,
                used: 3,
                available: 250,
            }),
            v6: None,
            pools: Vec::new(),
        };
        let status = subnet_status(Some(&usage), None, None, now());
        let task = tokio::spawn(async move {
            Writer::new(client, "pod-a")
                .update_subnet_status("net1", &status)
                .await
        });
        let seen = server
            .answer(
                200,
                json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet", "metadata": {"name": "net1"},
                       "spec": {"cidrBlock": "10.1.0.0/24"}}),
            )
            .await;
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("PATCH", "/apis/kubeovn.io/v1/subnets/net1/status?")
        );
        assert_eq!(
            seen.content_type.as_deref(),
            Some("application/merge-patch+json")
        );
        let body = seen.body.expect("a body");
        assert_eq!(body["status"]["v4AvailableIps"], json!(250.0), "{body}");
        assert_eq!(body["status"]["v4UsingIps"], json!(3.0), "{body}");
        assert_eq!(
            body["status"]["conditions"],
            json!([
                {"type": "Validated", "status": "True", "reason": "ValidationSucceeded",
                 "lastTransitionTime": "2030-01-01T00:00:00Z"},
                {"type": "Ready", "status": "True", "reason": "Allocatable",
                 "lastTransitionTime": "2030-01-01T00:00:00Z"}
            ])
        );
        task.await.expect("joined").expect("updated");
    }

    #[test]
    fn bad_subnet_status_names_the_field_and_keeps_transition_times() {
        let error = InputError {
            file: None,
            object: "Subnet/net1".into(),
            field: "spec.cidrBlock".into(),
            message: "invalid CIDR 10.0.0.0/33".into(),
        };
        let first = subnet_status(None, Some(&error), None, now());
        assert_eq!(first.conditions[0].status, "False");
        assert_eq!(
            first.conditions[0].message,
            "field spec.cidrBlock: invalid CIDR 10.0.0.0/33"
        );
        let later: Timestamp = "2030-01-02T00:00:00Z".parse().expect("timestamp");
        let again = subnet_status(None, Some(&error), Some(&first), later);
        assert_eq!(
            again.conditions[0].last_transition_time,
            "2030-01-01T00:00:00Z"
        );
        let fixed = subnet_status(None, None, Some(&again), later);
        assert_eq!(fixed.conditions[0].status, "True");
        assert_eq!(
            fixed.conditions[0].last_transition_time,
            "2030-01-02T00:00:00Z"
        );
    }

    fn address() -> PodAddress {
        PodAddress {
            subnet: "net1".into(),
            ips: vec![
                "10.1.0.7".parse().expect("ip"),
                "fd00::7".parse().expect("ip"),
            ],
            mac: "00:00:00:aa:bb:cc".into(),
        }
    }

    #[tokio::test]
    async fn ip_record_is_created_then_merged_when_it_exists() {
        let (client, mut server) = mock_api::client();
        let spec = ip_record("ns1", "web-0", "node1", &address());
        let task = tokio::spawn(async move {
            let w = Writer::new(client, "pod-a");
            w.record_ip(&ip_name("ns1", "web-0"), &spec).await
        });
        let record = json!({
            "podName": "web-0", "namespace": "ns1", "subnet": "net1", "nodeName": "node1",
            "ipAddress": "10.1.0.7,fd00::7", "v4IpAddress": "10.1.0.7", "v6IpAddress": "fd00::7",
            "macAddress": "00:00:00:aa:bb:cc"
        });
        let body = server
            .expect(
                "POST",
                "/apis/kubeovn.io/v1/ips?",
                409,
                status_failure(409, "AlreadyExists", "exists"),
            )
            .await;
        assert_eq!(
            body,
            Some(
                json!({"apiVersion": "kubeovn.io/v1", "kind": "IP", "metadata": {"name": "web-0.ns1"}, "spec": record})
            )
        );
        let seen = server
            .answer(
                200,
                json!({"apiVersion": "kubeovn.io/v1", "kind": "IP", "metadata": {"name": "web-0.ns1"}, "spec": record}),
            )
            .await;
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("PATCH", "/apis/kubeovn.io/v1/ips/web-0.ns1?")
        );
        assert_eq!(seen.body, Some(json!({"spec": record})));
        let ip = task.await.expect("joined").expect("recorded");
        assert_eq!(ip.spec.ip_address, "10.1.0.7,fd00::7");
    }

    #[tokio::test]
    async fn ip_record_deletion_tolerates_an_absent_record() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            let w = Writer::new(client, "pod-a");
            w.delete_ip("web-0.ns1").await?;
            w.delete_ip("web-1.ns1").await
        });
        let gone =
            json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}});
        let seen = server.answer(200, gone).await;
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("DELETE", "/apis/kubeovn.io/v1/ips/web-0.ns1?")
        );
        let seen = server
            .answer(404, status_failure(404, "NotFound", "not found"))
            .await;
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("DELETE", "/apis/kubeovn.io/v1/ips/web-1.ns1?")
        );
        task.await.expect("joined").expect("both deletions succeed");
    }

    #[tokio::test]
    async fn bad_input_becomes_a_warning_event_naming_the_field() {
        let mut objects = Objects::default();
        objects
            .add_value(
                json!({"apiVersion": "kubeovn.io/v1", "kind": "Subnet",
                       "metadata": {"name": "net1", "uid": "u-1", "resourceVersion": "7"},
                       "spec": {"cidrBlock": "10.0.0.0/33"}}),
                Origin {
                    file: Default::default(),
                    document: 0,
                },
            )
            .expect("a subnet");
        let error = InputError {
            file: None,
            object: "Subnet/net1".into(),
            field: "spec.cidrBlock".into(),
            message: "invalid CIDR 10.0.0.0/33".into(),
        };
        let regarding = object_reference(&objects, &error.object).expect("known kind");
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            Writer::new(client, "pod-a")
                .emit_input_error(&error, &regarding, now())
                .await
        });
        let reply: Value = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "net1.7118b1a7a6c0000", "namespace": "default"},
            "eventTime": "2030-01-01T00:00:00.000000Z"});
        let body = server
            .expect(
                "POST",
                "/apis/events.k8s.io/v1/namespaces/default/events?",
                201,
                reply,
            )
            .await;
        let nanos: u128 = 1_893_456_000_000_000_000;
        assert_eq!(
            body,
            Some(json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": format!("net1.{nanos:x}"), "namespace": "default"},
                "eventTime": "2030-01-01T00:00:00.000000Z",
                "type": "Warning", "reason": "InvalidInput", "action": "Validate",
                "note": "field spec.cidrBlock: invalid CIDR 10.0.0.0/33",
                "regarding": {"apiVersion": "kubeovn.io/v1", "kind": "Subnet", "name": "net1",
                              "uid": "u-1", "resourceVersion": "7", "fieldPath": "spec.cidrBlock"},
                "reportingController": "kube-ovn-controller", "reportingInstance": "pod-a"
            }))
        );
        task.await.expect("joined").expect("created");
    }

    #[test]
    fn references_for_namespaced_objects_and_unknown_kinds() {
        let objects = Objects::default();
        let r = object_reference(&objects, "Pod/ns1/web-0").expect("pod");
        assert_eq!(
            (r.api_version.as_deref(), r.namespace.as_deref()),
            (Some("v1"), Some("ns1"))
        );
        assert_eq!(r.uid, None);
        assert_eq!(object_reference(&objects, "Deployment/ns1/x"), None);
        assert_eq!(object_reference(&objects, "Pod"), None);
    }

    #[test]
    fn long_notes_are_cut_at_a_char_boundary() {
        let error = InputError {
            file: None,
            object: "Pod/a/b".into(),
            field: String::new(),
            message: "é".repeat(600),
        };
        let e = input_error_event(&error, &ObjectReference::default(), "c", "i", now());
        let note = e.note.expect("note");
        assert!(note.len() <= NOTE_LIMIT && note.len() >= NOTE_LIMIT - 1);
    }
}
