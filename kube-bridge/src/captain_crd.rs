//! The `app.alauda.io` custom resources of Captain: `v1` HelmRequest and `v1beta1` ChartRepo.
//!
//! Field names follow the Go Captain (`alauda/captain`, `pkg/apis/app`), so existing manifests
//! keep working; the status gains Flux-style conditions. The CRD manifests are generated from
//! these types ([`captain_crd_yaml`]) and committed under `kube-bridge/crds/`; a test
//! regenerates them and fails when they are stale.

use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::crd::Condition;

/// Annotation: when `"true"`, the HelmRequest is left alone (neither synced nor uninstalled).
pub const NO_SYNC_ANNOTATION: &str = "captain-no-sync";
/// Annotation: when `"true"`, deleting the HelmRequest removes the release record but keeps
/// the objects it deployed.
pub const KEEP_RESOURCES_ANNOTATION: &str = "captain-keep-resources";
/// Annotation: when `"true"`, objects owned by another release are taken over instead of
/// refused.
pub const FORCE_ADOPT_ANNOTATION: &str = "captain-force-adopt-resources";
/// The finalizer through which a HelmRequest's release is uninstalled, as the Go Captain names
/// it.
pub const FINALIZER: &str = "captain.cpaas.io";

/// A chart to install as a Helm release, and the values to install it with.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "app.alauda.io",
    version = "v1",
    kind = "HelmRequest",
    plural = "helmrequests",
    shortname = "hr",
    namespaced,
    status = "HelmRequestStatus",
    printcolumn = r#"{"name":"Chart","type":"string","jsonPath":".spec.chart"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.version"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct HelmRequestSpec {
    /// `<repo>/<chart>`: a chart of the ChartRepo named `<repo>`.
    #[serde(default)]
    pub chart: String,
    /// A semver constraint (`1.2.3`, `^1.2`, `>=1 <2`); the newest version when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The release namespace; the HelmRequest's namespace when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The release name; the HelmRequest's name when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub release_name: String,
    /// Values, as in a `values.yaml`; they override `valuesFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub values: Option<serde_json::Value>,
    /// ConfigMap or Secret keys holding values YAML, merged in order before `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesFromSource>,
    /// HelmRequests of the same namespace that must be Synced before this one is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Where the chart comes from when not from a ChartRepo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ChartSource>,
    /// When true, the release is left as it is until this turns false again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// One source of values: exactly one of its refs is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesFromSource {
    /// A key of a ConfigMap in the HelmRequest's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyRef>,
    /// A key of a Secret in the HelmRequest's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyRef>,
}

/// A key of a ConfigMap or Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    /// The object's name.
    pub name: String,
    /// The key; `values.yaml` when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// When true, a missing object or key is skipped instead of failing the HelmRequest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

impl KeyRef {
    /// The key to read: `key`, or `values.yaml` when empty.
    pub fn key_or_default(&self) -> &str {
        if self.key.is_empty() {
            "values.yaml"
        } else {
            &self.key
        }
    }
}

/// A chart source other than a ChartRepo.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSource {
    /// A chart archive downloaded from a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSource>,
}

/// A chart archive (`.tgz`) at a URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpSource {
    /// The archive's URL.
    pub url: String,
    /// A Secret (same namespace) with `username`/`password` for basic auth and an optional
    /// `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// A reference to an object of the same namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    /// The object's name.
    pub name: String,
}

/// What the controller reports about a HelmRequest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRequestStatus {
    /// `Pending`, `Synced` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<HelmRequestPhase>,
    /// `Ready`, `Released`, `Drifted`, `Remediated`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The hash of the spec and values last installed or upgraded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_spec_hash: String,
    /// The chart version installed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The chart's rendered `NOTES.txt`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The hash of the spec and values last tried, successfully or not.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_hash: String,
    /// Consecutive failed installs or upgrades of `lastAttemptedHash` (bounds remediation).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The phase of a HelmRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HelmRequestPhase {
    /// Waiting: for dependencies, a retry, or the first sync.
    Pending,
    /// The release matches the spec.
    Synced,
    /// The last attempt failed; the conditions say why.
    Failed,
}

/// A Helm chart repository (an HTTP server with an `index.yaml`).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "app.alauda.io",
    version = "v1beta1",
    kind = "ChartRepo",
    plural = "chartrepos",
    shortname = "ctr",
    namespaced,
    status = "ChartRepoStatus",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ChartRepoSpec {
    /// The repository's base URL (`index.yaml` is read below it).
    pub url: String,
    /// A Secret with `username`/`password` for basic auth and an optional `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretReference>,
}

/// A reference to a Secret, possibly in another namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretReference {
    /// The Secret's name.
    pub name: String,
    /// Its namespace; the referrer's when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// What the controller reports about a ChartRepo.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartRepoStatus {
    /// `Synced` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ChartRepoPhase>,
    /// Why the last sync failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// When the index was last read successfully (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_sync: String,
    /// How many charts (names, not versions) the index lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_count: Option<u32>,
}

/// The phase of a ChartRepo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ChartRepoPhase {
    /// The index was read.
    Synced,
    /// The index could not be read; `reason` says why.
    Failed,
}

/// Values are free-form YAML: an object whose fields the API server keeps as given.
fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "nullable": true
    })
}

/// The CRD manifests, by file name, as committed under `kube-bridge/crds/`.
pub fn captain_crd_yaml() -> Result<Vec<(&'static str, String)>, serde_saphyr::ser::Error> {
    Ok(vec![
        (
            "helmrequests.app.alauda.io.yaml",
            serde_saphyr::to_string(&HelmRequest::crd())?,
        ),
        (
            "chartrepos.app.alauda.io.yaml",
            serde_saphyr::to_string(&ChartRepo::crd())?,
        ),
    ])
}

#[cfg(test)]
#[path = "captain_crd/tests.rs"]
mod tests;
