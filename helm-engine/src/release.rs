//! Helm v3 release records: the JSON document Helm stores, its status lifecycle, hooks, and the
//! `base64(gzip(json))` encoding of a `helm.sh/release.v1` Secret's `data.release`.
//!
//! The types mirror Helm's Go structs field for field (`pkg/release`, `pkg/chart`), and
//! [`encode`] writes the JSON byte-for-byte as Go's `json.Marshal` does, so `helm` reads what we
//! write and we read what it writes. Storage (Secrets, labels, revisions) lives with the caller.

use crate::chart::{self, Chart};
use crate::value::{Map, Value};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};

mod json;
mod manifest;
mod time;

pub use manifest::{RenderedManifests, split_rendered};
pub use time::Time;

/// What can go wrong while encoding or decoding a release record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// `data.release` is not standard base64.
    #[error("release data is not base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// The data starts with the gzip magic bytes but does not decompress.
    #[error("release data is not valid gzip: {0}")]
    Gzip(#[source] std::io::Error),
    /// The (decompressed) data is empty.
    #[error("release data is empty")]
    Empty,
    /// The JSON is not a Helm release record; the message names the field.
    #[error("release JSON is invalid at {path}: {message}")]
    Json {
        /// Where in the document decoding failed, e.g. `info.status`.
        path: String,
        /// What was wrong there.
        message: String,
    },
    /// The record cannot be written as JSON (for example a NaN in the values).
    #[error("release cannot be encoded: {0}")]
    Encode(String),
    /// A rendered manifest that cannot be split into resources and hooks.
    #[error("{0}")]
    Manifest(String),
}

/// A release's status, as Helm's `release.Status` strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Status {
    /// `unknown`: indeterminate.
    #[default]
    Unknown,
    /// `deployed`: the release is live.
    Deployed,
    /// `uninstalled`: uninstalled with its history kept.
    Uninstalled,
    /// `superseded`: a later revision replaced it.
    Superseded,
    /// `failed`: its install, upgrade or rollback failed.
    Failed,
    /// `uninstalling`: an uninstall is under way.
    Uninstalling,
    /// `pending-install`: an install is under way.
    PendingInstall,
    /// `pending-upgrade`: an upgrade is under way.
    PendingUpgrade,
    /// `pending-rollback`: a rollback is under way.
    PendingRollback,
}

impl Status {
    /// Every status, in Helm's declaration order.
    pub const ALL: [Status; 9] = [
        Status::Unknown,
        Status::Deployed,
        Status::Uninstalled,
        Status::Superseded,
        Status::Failed,
        Status::Uninstalling,
        Status::PendingInstall,
        Status::PendingUpgrade,
        Status::PendingRollback,
    ];

    /// Helm's string for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Whether an operation is under way (Helm's `IsPending`).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown release status {s:?}"))
    }
}

impl TryFrom<String> for Status {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            // Go's zero Status; `omitempty` drops it, and Helm treats it as unknown.
            return Ok(Status::Unknown);
        }
        s.parse()
    }
}

impl From<Status> for &'static str {
    fn from(s: Status) -> &'static str {
        s.as_str()
    }
}

/// A release: one revision of a chart installed under a name in a namespace (Helm's
/// `release.Release`). `labels` are the user's custom labels, which Helm keeps on the storage
/// object rather than in the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// The release name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Status, times, description and notes.
    #[serde(default)]
    pub info: Info,
    /// The chart this revision was made from (without subcharts, as Helm stores it).
    #[serde(default)]
    pub chart: ChartRecord,
    /// The user-supplied values (not the chart defaults).
    #[serde(
        default,
        skip_serializing_if = "Map::is_empty",
        serialize_with = "json::serialize_map",
        deserialize_with = "json::deserialize_map"
    )]
    pub config: Map,
    /// The rendered resources, each as `---\n# Source: PATH\nDOC\n`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The rendered hooks.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub hooks: Vec<Hook>,
    /// The revision number, from 1.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub version: u32,
    /// The namespace the release is installed in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Custom labels, stored on the Secret beside Helm's own (`json:"-"` in Helm).
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// A release's status and timeline (Helm's `release.Info`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// When revision 1 was deployed.
    #[serde(default)]
    pub first_deployed: Time,
    /// When this revision was deployed.
    #[serde(default)]
    pub last_deployed: Time,
    /// When the release was uninstalled (zero otherwise).
    #[serde(default)]
    pub deleted: Time,
    /// A human-readable description of what happened, e.g. `Install complete`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The status (Go's empty status is omitted; we never hold one, so it is always written).
    #[serde(default)]
    pub status: Status,
    /// The rendered `NOTES.txt`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// A chart as a release stores it (Helm's `chart.Chart` JSON: no subcharts, no raw files).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartRecord {
    /// `Chart.yaml`.
    #[serde(default)]
    pub metadata: Option<ChartMetadata>,
    /// `Chart.lock`.
    #[serde(default)]
    pub lock: Option<Lock>,
    /// Files under `templates/`, unrendered.
    #[serde(
        default,
        serialize_with = "json::nil_vec::serialize",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub templates: Vec<ChartFileRecord>,
    /// `values.yaml` (`None` when the chart had none).
    #[serde(
        default,
        serialize_with = "json::serialize_opt_map",
        deserialize_with = "json::deserialize_opt_map"
    )]
    pub values: Option<Map>,
    /// `values.schema.json`.
    #[serde(default, with = "json::bytes::opt")]
    pub schema: Option<Vec<u8>>,
    /// Every other file of the chart.
    #[serde(
        default,
        serialize_with = "json::nil_vec::serialize",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub files: Vec<ChartFileRecord>,
}

impl ChartRecord {
    /// The record of a loaded chart, as Helm stores it (subcharts are not stored).
    pub fn from_chart(c: &Chart) -> ChartRecord {
        let file = |f: &chart::ChartFile| ChartFileRecord {
            name: f.name.clone(),
            data: f.data.clone(),
        };
        ChartRecord {
            metadata: Some(ChartMetadata::from_metadata(&c.metadata)),
            lock: None,
            templates: c.templates.iter().map(file).collect(),
            values: Some(c.values.clone()),
            schema: c.schema.clone(),
            files: c.files.iter().map(file).collect(),
        }
    }

    /// The chart name (empty without metadata).
    pub fn name(&self) -> &str {
        self.metadata.as_ref().map_or("", |m| m.name.as_str())
    }

    /// The chart version (empty without metadata).
    pub fn version(&self) -> &str {
        self.metadata.as_ref().map_or("", |m| m.version.as_str())
    }

    /// The chart's appVersion (empty without metadata).
    pub fn app_version(&self) -> &str {
        self.metadata
            .as_ref()
            .map_or("", |m| m.app_version.as_str())
    }
}

/// A chart file in a release record: its path and bytes (base64 in JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartFileRecord {
    /// Path inside the chart, e.g. `templates/service.yaml`.
    #[serde(default)]
    pub name: String,
    /// Contents.
    #[serde(default, with = "json::bytes")]
    pub data: Vec<u8>,
}

/// `Chart.yaml` as Helm's `chart.Metadata` marshals it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartMetadata {
    /// `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `home`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home: String,
    /// `sources`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub sources: Vec<String>,
    /// `version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `keywords`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub keywords: Vec<String>,
    /// `maintainers`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// `apiVersion`.
    #[serde(
        default,
        rename = "apiVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// `condition`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// `tags`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// `appVersion`.
    #[serde(
        default,
        rename = "appVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub app_version: String,
    /// `deprecated`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    /// `annotations`.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nil_map"
    )]
    pub annotations: BTreeMap<String, String>,
    /// `kubeVersion`.
    #[serde(
        default,
        rename = "kubeVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub kube_version: String,
    /// `dependencies`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub dependencies: Vec<ChartDependency>,
    /// `type`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub chart_type: String,
}

fn nil_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

impl ChartMetadata {
    /// The record of a loaded chart's metadata.
    pub fn from_metadata(m: &chart::Metadata) -> ChartMetadata {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        ChartMetadata {
            name: m.name.clone(),
            home: m.home.clone(),
            sources: m.sources.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            keywords: m.keywords.clone(),
            maintainers: m
                .maintainers
                .iter()
                .map(|mm| Maintainer {
                    name: text(mm.get("name")),
                    email: text(mm.get("email")),
                    url: text(mm.get("url")),
                })
                .collect(),
            icon: m.icon.clone(),
            api_version: m.api_version.clone(),
            condition: m.condition.clone(),
            tags: m.tags.clone(),
            app_version: m.app_version.clone(),
            deprecated: m.deprecated,
            annotations: m.annotations.iter().cloned().collect(),
            kube_version: m.kube_version.clone(),
            dependencies: m
                .dependencies
                .iter()
                .map(|d| ChartDependency {
                    name: d.name.clone(),
                    version: d.version.clone(),
                    repository: d.repository.clone(),
                    condition: d.condition.clone(),
                    tags: d.tags.clone(),
                    enabled: d.enabled,
                    import_values: d.import_values.clone(),
                    alias: d.alias.clone(),
                })
                .collect(),
            chart_type: m.chart_type.clone(),
        }
    }
}

/// A chart maintainer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Maintainer {
    /// `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `email`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// `url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// A `dependencies` entry of `Chart.yaml` as Helm's `chart.Dependency` marshals it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartDependency {
    /// `name` (always written).
    #[serde(default)]
    pub name: String,
    /// `version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `repository` (always written).
    #[serde(default)]
    pub repository: String,
    /// `condition`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// `tags`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub tags: Vec<String>,
    /// `enabled`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    /// `import-values`.
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "json::serialize_list",
        deserialize_with = "json::deserialize_list"
    )]
    pub import_values: Vec<Value>,
    /// `alias`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
}

/// `Chart.lock` as Helm's `chart.Lock` marshals it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    /// When the lock was generated, RFC 3339 text as written (a plain Go `time.Time`).
    #[serde(default)]
    pub generated: String,
    /// The digest of the dependencies.
    #[serde(default)]
    pub digest: String,
    /// The locked dependencies.
    #[serde(
        default,
        serialize_with = "json::nil_vec::serialize",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub dependencies: Vec<ChartDependency>,
}

/// A hook event, as in the `helm.sh/hook` annotation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum HookEvent {
    /// `pre-install`.
    PreInstall,
    /// `post-install`.
    PostInstall,
    /// `pre-delete`.
    PreDelete,
    /// `post-delete`.
    PostDelete,
    /// `pre-upgrade`.
    PreUpgrade,
    /// `post-upgrade`.
    PostUpgrade,
    /// `pre-rollback`.
    PreRollback,
    /// `post-rollback`.
    PostRollback,
    /// `test` (also written `test-success` in charts).
    Test,
    /// An event this version does not know, kept as read (e.g. Helm 2's `crd-install`).
    Other(String),
}

impl HookEvent {
    /// Parses an annotation entry as Helm's `SortManifests` does (`test-success` is `test`);
    /// `None` for an unknown event, which makes Helm skip the whole manifest.
    pub fn from_annotation(s: &str) -> Option<HookEvent> {
        Some(match s {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            "test" | "test-success" => HookEvent::Test,
            _ => return None,
        })
    }

    /// Helm's string for the event.
    pub fn as_str(&self) -> &str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
            HookEvent::Other(s) => s,
        }
    }
}

impl From<String> for HookEvent {
    fn from(s: String) -> Self {
        match s.as_str() {
            "test-success" => HookEvent::Other(s),
            other => HookEvent::from_annotation(other).unwrap_or(HookEvent::Other(s)),
        }
    }
}

impl From<HookEvent> for String {
    fn from(e: HookEvent) -> String {
        e.as_str().to_string()
    }
}

/// A hook's delete policy (`helm.sh/hook-delete-policy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum HookDeletePolicy {
    /// `hook-succeeded`: delete after it succeeds.
    HookSucceeded,
    /// `hook-failed`: delete after it fails.
    HookFailed,
    /// `before-hook-creation`: delete the previous one before creating it again.
    BeforeHookCreation,
    /// Any other text, kept as written (Helm copies annotation entries verbatim).
    Other(String),
}

impl HookDeletePolicy {
    /// Helm's string for the policy.
    pub fn as_str(&self) -> &str {
        match self {
            HookDeletePolicy::HookSucceeded => "hook-succeeded",
            HookDeletePolicy::HookFailed => "hook-failed",
            HookDeletePolicy::BeforeHookCreation => "before-hook-creation",
            HookDeletePolicy::Other(s) => s,
        }
    }
}

impl From<String> for HookDeletePolicy {
    fn from(s: String) -> Self {
        match s.as_str() {
            "hook-succeeded" => HookDeletePolicy::HookSucceeded,
            "hook-failed" => HookDeletePolicy::HookFailed,
            "before-hook-creation" => HookDeletePolicy::BeforeHookCreation,
            _ => HookDeletePolicy::Other(s),
        }
    }
}

impl From<HookDeletePolicy> for String {
    fn from(p: HookDeletePolicy) -> String {
        p.as_str().to_string()
    }
}

/// A hook: a manifest run at lifecycle events rather than kept as a release resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// `metadata.name` of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The template it came from, e.g. `mychart/templates/job.yaml`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The manifest text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The events it runs on.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub events: Vec<HookEvent>,
    /// Its last execution.
    #[serde(default)]
    pub last_run: HookExecution,
    /// `helm.sh/hook-weight` (0 when absent or not an integer).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "json::nil_vec::deserialize"
    )]
    pub delete_policies: Vec<HookDeletePolicy>,
}

/// When a hook last ran and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookExecution {
    /// When it started.
    #[serde(default)]
    pub started_at: Time,
    /// When it completed.
    #[serde(default)]
    pub completed_at: Time,
    /// `Unknown`, `Running`, `Succeeded` or `Failed` (empty before any run).
    #[serde(default)]
    pub phase: String,
}

/// Encodes a release as `data.release` holds it: base64 (standard) of the gzip (best
/// compression) of Go-exact JSON. The Kubernetes API base64-encodes Secret data once more on the
/// wire; that layer belongs to the API client.
pub fn encode(rel: &Release) -> Result<String, CodecError> {
    let json = to_json(rel)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&json)
        .and_then(|_| gz.finish())
        .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
        .map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes `data.release` (the bytes inside the Secret, after the API's own base64 layer), as
/// Helm's `decodeRelease` does: base64, then gunzip only when the gzip magic bytes are present
/// (releases written before compression are plain JSON), then JSON.
pub fn decode(data: &[u8]) -> Result<Release, CodecError> {
    // Go's StdEncoding rejects line breaks and spaces; so do we.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(CodecError::Base64)?;
    if raw.is_empty() {
        return Err(CodecError::Empty);
    }
    let json = if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(CodecError::Gzip)?;
        out
    } else {
        raw
    };
    from_json(&json)
}

/// The release as Go's `json.Marshal` writes it.
pub fn to_json(rel: &Release) -> Result<Vec<u8>, CodecError> {
    json::to_go_json(rel).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Parses release JSON; errors name the field that was wrong.
pub fn from_json(data: &[u8]) -> Result<Release, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let rel: Release = serde_path_to_error::deserialize(&mut de).map_err(|e| CodecError::Json {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| CodecError::Json {
        path: ".".into(),
        message: e.to_string(),
    })?;
    Ok(rel)
}

/// The parts of a new release revision that the caller decides.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    /// The release name.
    pub name: &'a str,
    /// The namespace.
    pub namespace: &'a str,
    /// The revision number (1 for an install).
    pub revision: u32,
    /// The chart, as loaded (its subcharts are not stored, as in Helm).
    pub chart: &'a Chart,
    /// The user-supplied values.
    pub config: Map,
    /// What `render::template` returned for this chart and values, with the default render
    /// options (no `--include-crds`, no `--show-only`).
    pub rendered: &'a str,
    /// The rendered `NOTES.txt` of the top-level chart, if any.
    pub notes: String,
    /// When revision 1 was deployed; `None` for an install (it becomes `now`).
    pub first_deployed: Option<Time>,
    /// The current time.
    pub now: Time,
}

impl Release {
    /// Builds a pending revision as Helm's install and upgrade actions do before they touch the
    /// cluster: `pending-install` ("Initial install underway") for revision 1, otherwise
    /// `pending-upgrade` ("Preparing upgrade"). Resources and hooks are split as Helm's
    /// `SortManifests` does.
    pub fn pending(new: NewRelease<'_>) -> Result<Release, CodecError> {
        let split = split_rendered(new.rendered)?;
        let (status, description) = if new.revision <= 1 {
            (Status::PendingInstall, "Initial install underway")
        } else {
            (Status::PendingUpgrade, "Preparing upgrade")
        };
        Ok(Release {
            name: new.name.to_string(),
            info: Info {
                first_deployed: new.first_deployed.unwrap_or(new.now),
                last_deployed: new.now,
                deleted: Time::ZERO,
                description: description.to_string(),
                status,
                notes: new.notes,
            },
            chart: ChartRecord::from_chart(new.chart),
            config: new.config,
            manifest: split.manifest,
            hooks: split.hooks,
            version: new.revision.max(1),
            namespace: new.namespace.to_string(),
            labels: BTreeMap::new(),
        })
    }

    /// The pending revision that rolls back to `target`, as Helm's rollback action builds it:
    /// `target`'s chart, values, manifest, hooks and notes, `current`'s first-deployed time,
    /// revision `current + 1`, status `pending-rollback`, description `Rollback to N`.
    pub fn rollback_to(target: &Release, current: &Release, now: Time) -> Release {
        Release {
            name: current.name.clone(),
            info: Info {
                first_deployed: current.info.first_deployed,
                last_deployed: now,
                deleted: Time::ZERO,
                description: format!("Rollback to {}", target.version),
                status: Status::PendingRollback,
                notes: target.info.notes.clone(),
            },
            chart: target.chart.clone(),
            config: target.config.clone(),
            manifest: target.manifest.clone(),
            hooks: target.hooks.clone(),
            version: current.version + 1,
            namespace: current.namespace.clone(),
            labels: target.labels.clone(),
        }
    }

    /// Marks a pending revision deployed with Helm's closing description (`Install complete`,
    /// `Upgrade complete`; a rollback keeps `Rollback to N`).
    pub fn mark_deployed(&mut self) {
        match self.info.status {
            Status::PendingInstall => self.info.description = "Install complete".into(),
            Status::PendingUpgrade => self.info.description = "Upgrade complete".into(),
            _ => {}
        }
        self.info.status = Status::Deployed;
    }

    /// Marks a revision failed, with Helm's description (`Release "x" failed: why`).
    pub fn mark_failed(&mut self, why: &str) {
        self.info.status = Status::Failed;
        self.info.description = format!("Release {:?} failed: {why}", self.name);
    }

    /// The chart column of `helm list`/`helm history`: `NAME-VERSION` (`MISSING` without
    /// metadata).
    pub fn chart_label(&self) -> String {
        match &self.chart.metadata {
            Some(m) => format!("{}-{}", m.name, m.version),
            None => "MISSING".into(),
        }
    }

    /// The user-supplied values as Helm's `get values` prints them (YAML).
    pub fn config_yaml(&self) -> Result<String, crate::Error> {
        if self.config.is_empty() {
            return Ok("null\n".into());
        }
        crate::yaml::marshal(&Value::Map(self.config.clone()))
    }
}

#[cfg(test)]
mod tests;
