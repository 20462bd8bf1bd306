//! Kubernetes objects of a release as plain JSON: splitting a manifest into objects, naming
//! them, mapping kinds to API resources without discovery, the metadata that lets `helm` adopt
//! them, drift comparison, and the migration of client-side-apply field ownership to Captain's
//! server-side-apply manager.

use std::collections::BTreeMap;
use std::fmt;

use kube::api::ApiResource;
use kube::core::GroupVersionKind;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "captain";
/// Label Helm sets on release objects.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Annotation naming the owning release.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
/// Annotation naming the owning release's namespace.
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// Annotation that keeps an object when the release no longer has it or is uninstalled.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// Managers whose client-side writes are taken over: stock Helm's and kubectl's.
const CLIENT_SIDE_MANAGERS: &[&str] = &["helm", "kubectl-client-side-apply", "before-first-apply"];

/// Kinds that are not namespaced (the common built-ins).
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CSINode",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Where an object lives: enough to address it in the API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `group/version` or `v1`.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// The namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Maps kinds to API resources: built-in plural rules, cluster-scoped built-ins, and the
/// resources that CRDs of the chart define.
#[derive(Debug, Clone, Default)]
pub struct ResourceMap {
    /// `(group, kind)` -> (plural, namespaced), learned from CRDs.
    custom: BTreeMap<(String, String), (String, bool)>,
}

impl ResourceMap {
    /// Learns the resources a CustomResourceDefinition object defines.
    pub fn learn_crd(&mut self, crd: &Value) {
        let spec = &crd["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            return;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        self.custom.insert(
            (group.to_owned(), kind.to_owned()),
            (plural.to_owned(), namespaced),
        );
    }

    /// The API resource of `api_version`/`kind` and whether it is namespaced.
    pub fn resource(&self, api_version: &str, kind: &str) -> (ApiResource, bool) {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        if let Some((plural, namespaced)) = self.custom.get(&(group.to_owned(), kind.to_owned())) {
            return (ApiResource::from_gvk_with_plural(&gvk, plural), *namespaced);
        }
        (ApiResource::from_gvk(&gvk), !CLUSTER_SCOPED.contains(&kind))
    }

    /// The reference of a rendered object, defaulting its namespace to `release_namespace`
    /// when its kind is namespaced.
    pub fn object_ref(&self, obj: &Value, release_namespace: &str) -> Result<ObjectRef> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(Error::Input(format!(
                "a rendered object lacks apiVersion, kind or metadata.name: {}",
                short(obj)
            )));
        }
        let (_, namespaced) = self.resource(api_version, kind);
        let namespace = namespaced.then(|| {
            obj["metadata"]["namespace"]
                .as_str()
                .filter(|ns| !ns.is_empty())
                .unwrap_or(release_namespace)
                .to_owned()
        });
        Ok(ObjectRef {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace,
            name: name.to_owned(),
        })
    }
}

fn short(obj: &Value) -> String {
    let mut s = obj.to_string();
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// The objects of a manifest (documents separated by `---` lines), in order; empty
/// documents are skipped.
pub fn split_objects(manifest: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in manifest.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    docs.push(current);
    let mut out = Vec::new();
    for doc in docs {
        if doc
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let value: Value = serde_saphyr::from_str(&doc)
            .map_err(|e| Error::Input(format!("a rendered manifest is not valid YAML: {e}")))?;
        if value.is_object() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Adds the label and annotations through which `helm` recognises the object as the
/// release's.
pub fn set_release_metadata(obj: &mut Value, release: &str, namespace: &str) {
    let Some(meta) = obj
        .as_object_mut()
        .map(|o| {
            o.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    if let Some(l) = labels.as_object_mut() {
        l.insert(MANAGED_BY_LABEL.into(), "Helm".into());
    }
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    if let Some(a) = annotations.as_object_mut() {
        a.insert(RELEASE_NAME_ANNOTATION.into(), release.into());
        a.insert(RELEASE_NAMESPACE_ANNOTATION.into(), namespace.into());
    }
}

/// Whether an object asks to be kept (`helm.sh/resource-policy: keep`).
pub fn is_kept(obj: &Value) -> bool {
    obj["metadata"]["annotations"][RESOURCE_POLICY_ANNOTATION]
        .as_str()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("keep"))
}

/// The release (`namespace/name`) a live object claims to belong to, when it says.
pub fn owner_of(live: &Value) -> Option<(String, String)> {
    let a = &live["metadata"]["annotations"];
    Some((
        a[RELEASE_NAMESPACE_ANNOTATION].as_str()?.to_owned(),
        a[RELEASE_NAME_ANNOTATION].as_str()?.to_owned(),
    ))
}

/// Whether `live` differs from `desired` in a field `desired` sets: fields the server adds
/// (defaults, status, metadata it manages) are not drift.
pub fn drifted(desired: &Value, live: &Value) -> bool {
    !contains(desired, live)
}

fn contains(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => contains(dv, lv),
            // An empty or null desired field the server dropped is no drift.
            None => is_empty_value(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| contains(dv, lv))
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        (d, l) => d == l,
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The `metadata.managedFields` of `live` with every client-side (`Update`) entry of stock
/// Helm or kubectl folded into Captain's `Apply` entry, so the next server-side apply owns
/// those fields and can remove them (as Flux's csaupgrade does). `None` when there is nothing
/// to migrate.
pub fn migrated_managed_fields(live: &Value) -> Option<Vec<Value>> {
    let entries = live["metadata"]["managedFields"].as_array()?;
    let is_csa = |e: &Value| {
        e["operation"].as_str() == Some("Update")
            && e["manager"]
                .as_str()
                .is_some_and(|m| CLIENT_SIDE_MANAGERS.contains(&m))
            && e["subresource"].as_str().unwrap_or("").is_empty()
    };
    if !entries.iter().any(is_csa) {
        return None;
    }
    let mut merged = Value::Object(Map::new());
    let mut api_version = None;
    let mut out = Vec::new();
    let mut ours: Option<Value> = None;
    for e in entries {
        if is_csa(e) {
            merge_fields(&mut merged, &e["fieldsV1"]);
            api_version = api_version.or_else(|| e["apiVersion"].as_str().map(str::to_owned));
        } else if e["manager"].as_str() == Some(FIELD_MANAGER)
            && e["operation"].as_str() == Some("Apply")
        {
            ours = Some(e.clone());
        } else {
            out.push(e.clone());
        }
    }
    let mut entry = ours.unwrap_or_else(|| {
        serde_json::json!({
            "manager": FIELD_MANAGER,
            "operation": "Apply",
            "apiVersion": api_version.clone().unwrap_or_default(),
            "fieldsType": "FieldsV1",
            "fieldsV1": {}
        })
    });
    let mut fields = entry["fieldsV1"].take();
    if !fields.is_object() {
        fields = Value::Object(Map::new());
    }
    merge_fields(&mut fields, &merged);
    entry["fieldsV1"] = fields;
    out.push(entry);
    Some(out)
}

/// Union of two `fieldsV1` trees.
fn merge_fields(into: &mut Value, from: &Value) {
    let (Some(dst), Some(src)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (k, v) in src {
        match dst.get_mut(k) {
            Some(existing) if existing.is_object() && v.is_object() => merge_fields(existing, v),
            Some(_) => {}
            None => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
