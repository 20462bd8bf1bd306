//! Reconciling one HelmRequest: resolve the chart, gather values, render, and install, upgrade,
//! roll back or uninstall a Helm release, with Helm's release records and status lifecycle.
//!
//! Order of an install or upgrade, chosen so bad input leaves nothing behind: everything that
//! can be checked without writing (chart, version, values, render, object ownership) is checked
//! first; only then is the pending release record written, CRDs applied, pre-hooks run, objects
//! applied (server-side, field manager `captain`, forced), objects the new manifest lacks
//! pruned, post-hooks run, and the record marked deployed.

use std::collections::BTreeMap;
use std::time::Duration;

use helm_engine::release::{HookEvent, NewRelease, Release, Status, Time};
use helm_engine::value::Map as Values;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use kube_bridge::captain_crd::{
    ChartRepo, Condition, FINALIZER, FORCE_ADOPT_ANNOTATION, HelmRequest, HelmRequestPhase,
    HelmRequestStatus, KEEP_RESOURCES_ANNOTATION, NO_SYNC_ANNOTATION,
};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::deploy::Deployer;
use crate::error::{Error, Result};
use crate::objects::{self, ObjectRef, ResourceMap};
use crate::repo::{Credentials, RepoClient};
use crate::storage::ReleaseStore;

/// What the reconciler needs besides the HelmRequest.
#[derive(Clone)]
pub struct Reconciler {
    /// The API client.
    pub client: Client,
    /// Fetches charts.
    pub repos: RepoClient,
    /// The namespace holding ChartRepos.
    pub chart_repo_namespace: String,
    /// How many consecutive failures of one spec are retried before giving up.
    pub max_retries: u32,
    /// How long a hook Job may run.
    pub hook_timeout: Duration,
    /// How often a hook Job is polled.
    pub hook_poll: Duration,
    /// How long to wait before looking at unready dependencies again.
    pub dependency_poll: Duration,
    /// `--kube-version` for rendering; the engine's default when `None`.
    pub kube_version: Option<String>,
}

/// What the controller does next with a HelmRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing until the HelmRequest (or something it references) changes.
    Done,
    /// Look again after this long (dependencies not ready, drift check interval).
    RequeueAfter(Duration),
    /// The attempt failed in a way worth retrying with backoff.
    Retry,
}

/// A failure with the condition reason it is reported under.
struct Failure {
    reason: &'static str,
    error: Error,
}

fn fail(reason: &'static str) -> impl FnOnce(Error) -> Failure {
    move |error| Failure { reason, error }
}

/// A chart resolved and loaded, with what decides whether it must be (re)installed.
struct Prepared {
    chart: helm_engine::chart::Chart,
    version: String,
    values: Values,
    hash: String,
}

fn truthy(hr: &HelmRequest, annotation: &str) -> bool {
    hr.annotations()
        .get(annotation)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn now_rfc3339() -> String {
    Time::now().to_rfc3339()
}

/// The release name and namespace of a HelmRequest (defaults: its own name and namespace).
pub fn release_of(hr: &HelmRequest) -> (String, String) {
    let name = if hr.spec.release_name.is_empty() {
        hr.name_any()
    } else {
        hr.spec.release_name.clone()
    };
    let ns = if hr.spec.namespace.is_empty() {
        hr.namespace().unwrap_or_else(|| "default".into())
    } else {
        hr.spec.namespace.clone()
    };
    (name, ns)
}

fn condition(type_: &str, ok: bool, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: now_rfc3339(),
    }
}

/// Sets a condition, keeping the transition time when its status did not change.
fn set_condition(conditions: &mut Vec<Condition>, mut c: Condition) {
    if let Some(old) = conditions.iter_mut().find(|o| o.type_ == c.type_) {
        if old.status == c.status {
            c.last_transition_time = old.last_transition_time.clone();
        }
        *old = c;
    } else {
        conditions.push(c);
    }
}

impl Reconciler {
    /// The deployer that writes this reconciler's releases.
    pub fn deployer(&self) -> Deployer {
        Deployer {
            client: self.client.clone(),
            hook_timeout: self.hook_timeout,
            hook_poll: self.hook_poll,
        }
    }

    fn hr_api(&self, hr: &HelmRequest) -> Api<HelmRequest> {
        Api::namespaced(
            self.client.clone(),
            &hr.namespace().unwrap_or_else(|| "default".into()),
        )
    }

    /// Brings the cluster to what `hr` asks for, writing its status. Errors are returned only
    /// when the status itself cannot be written.
    pub async fn reconcile(&self, hr: &HelmRequest) -> Result<Outcome> {
        if truthy(hr, NO_SYNC_ANNOTATION) {
            return Ok(Outcome::Done);
        }
        if hr.metadata.deletion_timestamp.is_some() {
            return self.finalize(hr).await;
        }
        if hr.spec.suspend {
            return Ok(Outcome::Done);
        }
        if !hr.finalizers().iter().any(|f| f == FINALIZER) {
            let mut finalizers = hr.finalizers().to_vec();
            finalizers.push(FINALIZER.into());
            self.hr_api(hr)
                .patch(
                    &hr.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": finalizers}})),
                )
                .await
                .map_err(|e| Error::kube("adding the finalizer", e))?;
        }
        let mut status = hr.status.clone().unwrap_or_default();
        status.observed_generation = hr.metadata.generation;

        if let Some(waiting) = self.unready_dependency(hr).await? {
            status.phase = Some(HelmRequestPhase::Pending);
            set_condition(
                &mut status.conditions,
                condition("Ready", false, "DependencyNotReady", &waiting),
            );
            self.write_status(hr, &status).await?;
            return Ok(Outcome::RequeueAfter(self.dependency_poll));
        }

        let prepared = match self.prepare(hr).await {
            Ok(p) => p,
            Err(f) if repo_unreachable(&f.error) => {
                return self.repo_outage(hr, status, f).await;
            }
            Err(f) => return self.report_failure(hr, status, f, None).await,
        };
        status
            .conditions
            .retain(|c| c.type_ != REPO_REACHABLE_CONDITION);
        let (name, namespace) = release_of(hr);
        let store = ReleaseStore::new(self.client.clone(), &namespace);
        let deployed = store
            .last_deployed(&name)
            .await
            .map_err(|e| Error::Storage(e.to_string()));
        let deployed = match deployed {
            Ok(d) => d,
            Err(e) => {
                return self
                    .report_failure(hr, status, fail("StorageFailed")(e), None)
                    .await;
            }
        };
        let unchanged = status.last_spec_hash == prepared.hash
            && status.phase == Some(HelmRequestPhase::Synced)
            && deployed.is_some();
        if unchanged {
            let Some(deployed) = deployed else {
                return Ok(Outcome::Done);
            };
            return self.correct_drift(hr, status, &deployed).await;
        }
        if status.last_attempted_hash != prepared.hash {
            status.failures = 0;
            status.last_attempted_hash = prepared.hash.clone();
        } else if status.failures >= self.max_retries && self.max_retries > 0 {
            // Given up on this spec: wait for it (or its values) to change.
            return Ok(Outcome::Done);
        }
        match self
            .install_or_upgrade(hr, &store, &name, &namespace, &prepared, deployed)
            .await
        {
            Ok(rel) => {
                status.phase = Some(HelmRequestPhase::Synced);
                status.last_spec_hash = prepared.hash.clone();
                status.version = prepared.version.clone();
                status.notes = rel.info.notes.clone();
                status.failures = 0;
                let msg = format!(
                    "{} of revision {} succeeded",
                    if rel.version == 1 {
                        "Install"
                    } else {
                        "Upgrade"
                    },
                    rel.version
                );
                set_condition(
                    &mut status.conditions,
                    condition("Released", true, "InstallSucceeded", &msg),
                );
                set_condition(
                    &mut status.conditions,
                    condition("Ready", true, "Synced", &msg),
                );
                self.write_status(hr, &status).await?;
                Ok(Outcome::Done)
            }
            Err((f, remediation)) => self.report_failure(hr, status, f, remediation).await,
        }
    }

    /// The chart repository cannot be reached. A release already deployed stays as it is
    /// (phase and Ready untouched, nothing uninstalled): the outage is reported in its own
    /// condition and the HelmRequest retried with backoff. Without a deployed release it is an
    /// ordinary failure.
    async fn repo_outage(
        &self,
        hr: &HelmRequest,
        mut status: HelmRequestStatus,
        f: Failure,
    ) -> Result<Outcome> {
        let (name, namespace) = release_of(hr);
        let store = ReleaseStore::new(self.client.clone(), &namespace);
        let deployed = match store.last_deployed(&name).await {
            Ok(Some(d)) => d,
            Ok(None) => return self.report_failure(hr, status, f, None).await,
            Err(e) => {
                let e = Error::Storage(e.to_string());
                return self
                    .report_failure(hr, status, fail("StorageFailed")(e), None)
                    .await;
            }
        };
        tracing::warn!(helmrequest = %hr.name_any(), error = %f.error, "chart repository unreachable");
        set_condition(
            &mut status.conditions,
            condition(
                REPO_REACHABLE_CONDITION,
                false,
                "ChartRepoUnreachable",
                &format!(
                    "{}; keeping release {name} at revision {} (chart {}), retrying",
                    f.error,
                    deployed.version,
                    deployed.chart_label()
                ),
            ),
        );
        // An unchanged status is not written again: each write would wake the watch and skip
        // the backoff.
        if hr.status.as_ref() != Some(&status) {
            self.write_status(hr, &status).await?;
        }
        Ok(Outcome::Retry)
    }

    async fn report_failure(
        &self,
        hr: &HelmRequest,
        mut status: HelmRequestStatus,
        f: Failure,
        remediation: Option<String>,
    ) -> Result<Outcome> {
        let message = f.error.to_string();
        tracing::warn!(helmrequest = %hr.name_any(), reason = f.reason, %message, "sync failed");
        status.phase = Some(HelmRequestPhase::Failed);
        status.failures = status.failures.saturating_add(1);
        set_condition(
            &mut status.conditions,
            condition("Ready", false, f.reason, &message),
        );
        if let Some(done) = &remediation {
            set_condition(
                &mut status.conditions,
                condition("Remediated", true, "RolledBack", done),
            );
        }
        self.write_status(hr, &status).await?;
        if self.max_retries > 0 && status.failures >= self.max_retries {
            return Ok(Outcome::Done);
        }
        Ok(Outcome::Retry)
    }

    async fn write_status(&self, hr: &HelmRequest, status: &HelmRequestStatus) -> Result<()> {
        let mut body = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
        // A merge patch keeps fields it omits: absent (default) fields are cleared explicitly.
        if let Some(fields) = body.as_object_mut() {
            for key in [
                "phase",
                "conditions",
                "lastSpecHash",
                "version",
                "notes",
                "observedGeneration",
                "lastAttemptedHash",
                "failures",
            ] {
                fields.entry(key).or_insert(Value::Null);
            }
        }
        self.hr_api(hr)
            .patch_status(
                &hr.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": body })),
            )
            .await
            .map(|_| ())
            .map_err(|e| Error::kube(format!("writing the status of {}", hr.name_any()), e))
    }

    /// The first dependency that is not Synced, as a message; `None` when all are.
    async fn unready_dependency(&self, hr: &HelmRequest) -> Result<Option<String>> {
        let api = self.hr_api(hr);
        for dep in &hr.spec.dependencies {
            let found = api
                .get_opt(dep)
                .await
                .map_err(|e| Error::kube(format!("reading dependency {dep}"), e))?;
            let phase = found
                .as_ref()
                .and_then(|d| d.status.as_ref())
                .and_then(|s| s.phase);
            match (found, phase) {
                (None, _) => return Ok(Some(format!("dependency {dep} does not exist"))),
                (Some(_), Some(HelmRequestPhase::Synced)) => {}
                (Some(_), _) => return Ok(Some(format!("dependency {dep} is not Synced yet"))),
            }
        }
        Ok(None)
    }

    async fn read_secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>> {
        Api::<Secret>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("reading Secret {namespace}/{name}"), e))
    }

    /// Basic-auth credentials and CA from a Secret's `username`, `password` and `ca.crt`.
    pub(crate) async fn credentials(&self, namespace: &str, name: &str) -> Result<Credentials> {
        let secret = self.read_secret(namespace, name).await?.ok_or_else(|| {
            Error::Input(format!("Secret {namespace}/{name} (credentials) not found"))
        })?;
        let data = secret.data.unwrap_or_default();
        let text = |k: &str| {
            data.get(k)
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        };
        Ok(Credentials {
            username: text("username"),
            password: text("password"),
            ca_pem: data.get("ca.crt").map(|b| b.0.clone()),
        })
    }

    /// Resolves and loads the chart and gathers values; writes nothing.
    async fn prepare(&self, hr: &HelmRequest) -> Result<Prepared, Failure> {
        let ns = hr.namespace().unwrap_or_else(|| "default".into());
        let (archive, version) = match hr.spec.source.as_ref().and_then(|s| s.http.as_ref()) {
            Some(http) => {
                let creds = match &http.secret_ref {
                    Some(r) => self
                        .credentials(&ns, &r.name)
                        .await
                        .map_err(fail("ChartPullFailed"))?,
                    None => Credentials::default(),
                };
                let data = self
                    .repos
                    .fetch_url(&http.url, &creds)
                    .await
                    .map_err(fail("ChartPullFailed"))?;
                (data, None)
            }
            None => {
                let (repo, chart) = hr.spec.chart.split_once('/').ok_or_else(|| Failure {
                    reason: "InvalidSpec",
                    error: Error::Input(format!(
                        "spec.chart {:?} is not of the form <repo>/<chart>",
                        hr.spec.chart
                    )),
                })?;
                let repos: Api<ChartRepo> =
                    Api::namespaced(self.client.clone(), &self.chart_repo_namespace);
                let cr = repos
                    .get_opt(repo)
                    .await
                    .map_err(|e| Error::kube(format!("reading ChartRepo {repo}"), e))
                    .map_err(fail("ChartRepoUnavailable"))?
                    .ok_or_else(|| Failure {
                        reason: "ChartRepoNotFound",
                        error: Error::Input(format!(
                            "ChartRepo {}/{repo} (from spec.chart) not found",
                            self.chart_repo_namespace
                        )),
                    })?;
                let creds = match &cr.spec.secret {
                    Some(s) => {
                        let sns = s
                            .namespace
                            .clone()
                            .unwrap_or_else(|| self.chart_repo_namespace.clone());
                        self.credentials(&sns, &s.name)
                            .await
                            .map_err(fail("ChartPullFailed"))?
                    }
                    None => Credentials::default(),
                };
                let got = self
                    .repos
                    .fetch_chart(repo, &cr.spec.url, &creds, chart, &hr.spec.version)
                    .await
                    .map_err(|e| match e {
                        Error::ChartNotFound { .. } | Error::NoVersionMatch { .. } => Failure {
                            reason: "ChartNotFound",
                            error: e,
                        },
                        Error::Constraint { .. } => Failure {
                            reason: "InvalidSpec",
                            error: e,
                        },
                        e => Failure {
                            reason: "ChartPullFailed",
                            error: e,
                        },
                    })?;
                (got.data, Some(got.version))
            }
        };
        let mut chart = helm_engine::chart::load_archive(&archive).map_err(|e| Failure {
            reason: "ChartLoadFailed",
            error: Error::Engine(e),
        })?;
        chart.fix_paths();
        let version = version.unwrap_or_else(|| chart.metadata.version.clone());

        let mut hasher = sha2::Sha256::new();
        let spec = json!({
            "chart": hr.spec.chart, "version": hr.spec.version, "namespace": hr.spec.namespace,
            "releaseName": hr.spec.release_name, "values": hr.spec.values,
            "valuesFrom": hr.spec.values_from, "source": hr.spec.source,
        });
        hasher.update(spec.to_string().as_bytes());
        hasher.update(b"\0");
        hasher.update(version.as_bytes());
        let mut values = Values::new();
        for (i, source) in hr.spec.values_from.iter().enumerate() {
            let field = format!("spec.valuesFrom[{i}]");
            let Some(text) = self.values_text(&ns, source, &field).await? else {
                continue;
            };
            hasher.update(b"\0");
            hasher.update(text.as_bytes());
            let parsed =
                helm_engine::chart::parse_values_file(text.as_bytes()).map_err(|e| Failure {
                    reason: "InvalidValues",
                    error: Error::Input(format!("{field}: {e}")),
                })?;
            values = helm_engine::values::merge_maps(values, parsed);
        }
        if let Some(v) = &hr.spec.values {
            if !v.is_null() {
                let parsed = helm_engine::chart::parse_values_file(v.to_string().as_bytes())
                    .map_err(|e| Failure {
                        reason: "InvalidValues",
                        error: Error::Input(format!("spec.values: {e}")),
                    })?;
                values = helm_engine::values::merge_maps(values, parsed);
            }
        }
        Ok(Prepared {
            chart,
            version,
            values,
            hash: hex::encode(hasher.finalize()),
        })
    }

    /// The values YAML a `valuesFrom` entry points at; `None` when it is optional and absent.
    async fn values_text(
        &self,
        ns: &str,
        source: &kube_bridge::captain_crd::ValuesFromSource,
        field: &str,
    ) -> Result<Option<String>, Failure> {
        let missing = |what: String, optional: bool| {
            if optional {
                Ok(None)
            } else {
                Err(Failure {
                    reason: "ValuesNotFound",
                    error: Error::Input(format!("{field}: {what}")),
                })
            }
        };
        match (&source.config_map_key_ref, &source.secret_key_ref) {
            (Some(r), None) => {
                let optional = r.optional.unwrap_or(false);
                let key = r.key_or_default();
                let cm = Api::<ConfigMap>::namespaced(self.client.clone(), ns)
                    .get_opt(&r.name)
                    .await
                    .map_err(|e| Error::kube(format!("reading ConfigMap {ns}/{}", r.name), e))
                    .map_err(fail("ValuesNotFound"))?;
                let Some(cm) = cm else {
                    return missing(format!("ConfigMap {ns}/{} not found", r.name), optional);
                };
                match cm.data.as_ref().and_then(|d| d.get(key)) {
                    Some(text) => Ok(Some(text.clone())),
                    None => missing(
                        format!("ConfigMap {ns}/{} has no key {key:?}", r.name),
                        optional,
                    ),
                }
            }
            (None, Some(r)) => {
                let optional = r.optional.unwrap_or(false);
                let key = r.key_or_default();
                let secret = self
                    .read_secret(ns, &r.name)
                    .await
                    .map_err(fail("ValuesNotFound"))?;
                let Some(secret) = secret else {
                    return missing(format!("Secret {ns}/{} not found", r.name), optional);
                };
                match secret.data.as_ref().and_then(|d| d.get(key)) {
                    Some(b) => Ok(Some(String::from_utf8_lossy(&b.0).into_owned())),
                    None => missing(
                        format!("Secret {ns}/{} has no key {key:?}", r.name),
                        optional,
                    ),
                }
            }
            _ => Err(Failure {
                reason: "InvalidSpec",
                error: Error::Input(format!(
                    "{field}: exactly one of configMapKeyRef and secretKeyRef must be set"
                )),
            }),
        }
    }

    /// Renders the chart for `revision`: `.Release.IsInstall` when nothing is deployed yet,
    /// `.Release.IsUpgrade` otherwise (as Helm's install and upgrade set them), and the notes.
    fn render(
        &self,
        prepared: &Prepared,
        name: &str,
        namespace: &str,
        revision: u32,
        is_upgrade: bool,
    ) -> Result<helm_engine::render::Rendered, Failure> {
        let mut opts = helm_engine::render::RenderOptions {
            release_name: name.into(),
            namespace: namespace.into(),
            kube_version: self.kube_version.clone(),
            revision,
            ..Default::default()
        };
        if is_upgrade {
            opts = opts.upgrade(revision);
        }
        helm_engine::render::render(prepared.chart.clone(), &prepared.values, &opts).map_err(|e| {
            Failure {
                reason: "RenderFailed",
                error: Error::Engine(e),
            }
        })
    }

    /// Checks that no object belongs to another release (unless forced) and migrates objects
    /// stock Helm last wrote client-side, so server-side apply takes their fields over.
    async fn claim(
        &self,
        hr: &HelmRequest,
        map: &ResourceMap,
        objs: &[(ObjectRef, Value)],
        name: &str,
        namespace: &str,
    ) -> Result<Vec<(ObjectRef, Value)>> {
        let force = truthy(hr, FORCE_ADOPT_ANNOTATION);
        let mut migrations = Vec::new();
        for (r, _) in objs {
            let Some(live) = self.deployer().get_live(map, r).await? else {
                continue;
            };
            let owner = objects::owner_of(&live);
            let ours = owner
                .as_ref()
                .is_some_and(|(ons, oname)| ons == namespace && oname == name);
            if !ours && !force {
                return Err(Error::Ownership {
                    object: r.to_string(),
                    owner: owner
                        .map(|(ons, oname)| format!("{ons}/{oname}"))
                        .unwrap_or_else(|| "none (it has no meta.helm.sh annotations)".into()),
                });
            }
            if let Some(fields) = objects::migrated_managed_fields(&live) {
                migrations.push((
                    r.clone(),
                    json!({"metadata": {
                        "managedFields": fields,
                        "resourceVersion": live["metadata"]["resourceVersion"],
                    }}),
                ));
            }
        }
        Ok(migrations)
    }

    async fn install_or_upgrade(
        &self,
        hr: &HelmRequest,
        store: &ReleaseStore,
        name: &str,
        namespace: &str,
        prepared: &Prepared,
        deployed: Option<Release>,
    ) -> Result<Release, (Failure, Option<String>)> {
        let no_remedy = |f: Failure| (f, None);
        let storage = |e: crate::storage::StorageError| Failure {
            reason: "StorageFailed",
            error: Error::Storage(e.to_string()),
        };
        let last = store.last(name).await.map_err(storage).map_err(no_remedy)?;
        let revision = last.as_ref().map_or(1, |r| r.version + 1);
        let rendered = self
            .render(prepared, name, namespace, revision, deployed.is_some())
            .map_err(no_remedy)?;
        if let Some(stale) = last.as_ref().filter(|r| r.info.status.is_pending()) {
            // An operation that never finished (the controller stopped mid-way): Helm would
            // refuse to go on; the record is closed as failed so history stays truthful.
            let mut stale = stale.clone();
            stale.mark_failed("the operation was interrupted");
            store
                .update(&stale)
                .await
                .map_err(storage)
                .map_err(no_remedy)?;
        }
        let now = Time::now();
        let mut rel = Release::pending(NewRelease {
            name,
            namespace,
            revision,
            chart: &prepared.chart,
            config: prepared.values.clone(),
            rendered: &rendered.manifest,
            notes: rendered.notes,
            first_deployed: deployed.as_ref().map(|d| d.info.first_deployed),
            now,
        })
        .map_err(|e| Failure {
            reason: "RenderFailed",
            error: Error::Input(e.to_string()),
        })
        .map_err(no_remedy)?;
        if deployed.is_none() {
            // Helm's install description, even when earlier revisions failed.
            rel.info.status = Status::PendingInstall;
            rel.info.description = "Initial install underway".into();
        }

        let mut map = ResourceMap::default();
        let crds = chart_crds(&prepared.chart)
            .map_err(fail("RenderFailed"))
            .map_err(no_remedy)?;
        for crd in &crds {
            map.learn_crd(crd);
        }
        let objs = self
            .deployer()
            .release_objects(&map, &rel.manifest, name, namespace)
            .and_then(|objs| {
                for (_, o) in &objs {
                    if o["kind"] == "CustomResourceDefinition" {
                        map.learn_crd(o);
                    }
                }
                // Refs computed again now that the chart's CRDs are known.
                self.deployer()
                    .release_objects(&map, &rel.manifest, name, namespace)
            })
            .map_err(fail("RenderFailed"))
            .map_err(no_remedy)?;
        let migrations = self
            .claim(hr, &map, &objs, name, namespace)
            .await
            .map_err(|e| match e {
                e @ Error::Ownership { .. } => Failure {
                    reason: "OwnershipConflict",
                    error: e,
                },
                e => Failure {
                    reason: "ApplyFailed",
                    error: e,
                },
            })
            .map_err(no_remedy)?;

        store
            .create(&rel)
            .await
            .map_err(storage)
            .map_err(no_remedy)?;
        let is_upgrade = deployed.is_some();
        let result = self
            .deploy(
                &map,
                &crds,
                &migrations,
                &objs,
                &rel,
                deployed.as_ref(),
                is_upgrade,
            )
            .await;
        match result {
            Ok(()) => {
                rel.mark_deployed();
                store
                    .update(&rel)
                    .await
                    .map_err(storage)
                    .map_err(no_remedy)?;
                store
                    .supersede_deployed(name, rel.version)
                    .await
                    .map_err(storage)
                    .map_err(no_remedy)?;
                Ok(rel)
            }
            Err(e) => {
                let why = e.to_string();
                rel.mark_failed(&why);
                store
                    .update(&rel)
                    .await
                    .map_err(storage)
                    .map_err(no_remedy)?;
                let failure = Failure {
                    reason: if is_upgrade {
                        "UpgradeFailed"
                    } else {
                        "InstallFailed"
                    },
                    error: e,
                };
                match deployed {
                    Some(previous) => {
                        let remedy = self
                            .deployer()
                            .roll_back(store, &rel, &previous)
                            .await
                            .map(|rb| {
                                format!(
                                    "rolled back to revision {} as revision {}",
                                    previous.version, rb.version
                                )
                            })
                            .map_err(|e| {
                                (
                                    Failure {
                                        reason: "RollbackFailed",
                                        error: e,
                                    },
                                    None,
                                )
                            })?;
                        Err((failure, Some(remedy)))
                    }
                    None => {
                        // A failed install leaves nothing: what it applied is removed.
                        let mut cleanup_error = None;
                        for (r, o) in objs.iter().rev() {
                            if objects::is_kept(o) {
                                continue;
                            }
                            if let Err(e) = self.deployer().delete(&map, r).await {
                                cleanup_error.get_or_insert(e);
                            }
                        }
                        match cleanup_error {
                            None => Err((failure, None)),
                            Some(e) => Err((
                                Failure {
                                    reason: "InstallFailed",
                                    error: Error::Input(format!(
                                        "{}; cleaning up also failed: {e}",
                                        failure.error
                                    )),
                                },
                                None,
                            )),
                        }
                    }
                }
            }
        }
    }

    /// CRDs, pre-hooks, objects, pruning, post-hooks.
    #[allow(clippy::too_many_arguments)]
    async fn deploy(
        &self,
        map: &ResourceMap,
        crds: &[Value],
        migrations: &[(ObjectRef, Value)],
        objs: &[(ObjectRef, Value)],
        rel: &Release,
        previous: Option<&Release>,
        is_upgrade: bool,
    ) -> Result<()> {
        for crd in crds {
            let r = map.object_ref(crd, &rel.namespace)?;
            self.deployer().apply(map, &r, crd).await?;
        }
        let (pre, post) = if is_upgrade {
            (HookEvent::PreUpgrade, HookEvent::PostUpgrade)
        } else {
            (HookEvent::PreInstall, HookEvent::PostInstall)
        };
        self.deployer()
            .run_hooks(map, &rel.hooks, &pre, &rel.namespace)
            .await?;
        for (r, patch) in migrations {
            self.deployer()
                .api_for(map, r)
                .patch(&r.name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(|e| Error::kube(format!("taking over the fields of {r}"), e))?;
        }
        for (r, obj) in objs {
            self.deployer().apply(map, r, obj).await?;
        }
        if let Some(previous) = previous {
            self.deployer()
                .prune(map, &previous.manifest, objs, &rel.namespace, &rel.name)
                .await?;
        }
        self.deployer()
            .run_hooks(map, &rel.hooks, &post, &rel.namespace)
            .await
    }

    /// Compares live objects with the deployed manifest; re-applies what drifted.
    async fn correct_drift(
        &self,
        hr: &HelmRequest,
        mut status: HelmRequestStatus,
        deployed: &Release,
    ) -> Result<Outcome> {
        let mut map = ResourceMap::default();
        let check = async {
            let objs = self.deployer().release_objects(
                &map,
                &deployed.manifest,
                &deployed.name,
                &deployed.namespace,
            )?;
            for (_, o) in &objs {
                if o["kind"] == "CustomResourceDefinition" {
                    map.learn_crd(o);
                }
            }
            let mut drifted = Vec::new();
            for (r, desired) in &objs {
                let live = self.deployer().get_live(&map, r).await?;
                let differs = match &live {
                    None => true,
                    Some(l) => objects::drifted(desired, l),
                };
                if differs {
                    self.deployer().apply(&map, r, desired).await?;
                    drifted.push(r.to_string());
                }
            }
            Ok::<_, Error>(drifted)
        };
        // Compared with what is stored, so a cleared outage condition is written too.
        let before = hr.status.clone().unwrap_or_default();
        match check.await {
            Ok(drifted) if drifted.is_empty() => {
                set_condition(
                    &mut status.conditions,
                    condition(
                        "Drifted",
                        false,
                        "NoDrift",
                        "live objects match the release",
                    ),
                );
            }
            Ok(drifted) => {
                set_condition(
                    &mut status.conditions,
                    condition(
                        "Drifted",
                        true,
                        "DriftCorrected",
                        &format!("corrected: {}", drifted.join(", ")),
                    ),
                );
            }
            Err(e) => {
                set_condition(
                    &mut status.conditions,
                    condition("Drifted", true, "DriftCheckFailed", &e.to_string()),
                );
                self.write_status(hr, &status).await?;
                return Ok(Outcome::Retry);
            }
        }
        if !same_conditions(&before, &status) {
            self.write_status(hr, &status).await?;
        }
        Ok(Outcome::Done)
    }

    /// Uninstalls the release behind a deleted HelmRequest and releases its finalizer.
    async fn finalize(&self, hr: &HelmRequest) -> Result<Outcome> {
        if !hr.finalizers().iter().any(|f| f == FINALIZER) {
            return Ok(Outcome::Done);
        }
        let (name, namespace) = release_of(hr);
        let store = ReleaseStore::new(self.client.clone(), &namespace);
        let storage = |e: crate::storage::StorageError| Error::Storage(e.to_string());
        let history = store.history(&name).await.map_err(storage)?;
        let keep_resources = truthy(hr, KEEP_RESOURCES_ANNOTATION);
        if let Some(last) = history.last() {
            let mut last = last.clone();
            let map = ResourceMap::default();
            if !keep_resources {
                last.info.status = Status::Uninstalling;
                last.info.deleted = Time::now();
                last.info.description = "Deletion in progress (or silently failed)".into();
                store.update(&last).await.map_err(storage)?;
                self.deployer()
                    .run_hooks(&map, &last.hooks, &HookEvent::PreDelete, &namespace)
                    .await?;
                let objs =
                    self.deployer()
                        .release_objects(&map, &last.manifest, &name, &namespace)?;
                for (r, o) in objs.iter().rev() {
                    if objects::is_kept(o) {
                        continue;
                    }
                    self.deployer().delete(&map, r).await?;
                }
                self.deployer()
                    .run_hooks(&map, &last.hooks, &HookEvent::PostDelete, &namespace)
                    .await?;
            }
            for rel in &history {
                match store.delete(&name, rel.version).await {
                    Ok(()) | Err(crate::storage::StorageError::NotFound { .. }) => {}
                    Err(e) => return Err(storage(e)),
                }
            }
        }
        let finalizers: Vec<String> = hr
            .finalizers()
            .iter()
            .filter(|f| *f != FINALIZER)
            .cloned()
            .collect();
        self.hr_api(hr)
            .patch(
                &hr.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": finalizers}})),
            )
            .await
            .map_err(|e| Error::kube("removing the finalizer", e))?;
        Ok(Outcome::Done)
    }
}

/// The condition that reports a chart repository outage while a release stays deployed.
pub const REPO_REACHABLE_CONDITION: &str = "ChartRepoReachable";

/// Whether fetching the chart failed because the repository did not answer (connection, TLS,
/// an HTTP error status), as opposed to a spec the repository cannot satisfy.
fn repo_unreachable(e: &Error) -> bool {
    matches!(e, Error::Transport { .. } | Error::HttpStatus { .. })
}

fn same_conditions(a: &HelmRequestStatus, b: &HelmRequestStatus) -> bool {
    let key = |s: &HelmRequestStatus| -> BTreeMap<String, (String, String, String)> {
        s.conditions
            .iter()
            .map(|c| {
                (
                    c.type_.clone(),
                    (c.status.clone(), c.reason.clone(), c.message.clone()),
                )
            })
            .collect()
    };
    key(a) == key(b)
}

/// The chart's `crds/` objects (top-level chart and subcharts), as Helm's `CRDObjects`.
fn chart_crds(chart: &helm_engine::chart::Chart) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for f in &chart.files {
        let is_crd_file = f.name.starts_with("crds/")
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| f.name.ends_with(ext));
        if is_crd_file {
            let text = String::from_utf8_lossy(&f.data);
            out.extend(objects::split_objects(&text)?);
        }
    }
    for dep in &chart.dependencies {
        out.extend(chart_crds(dep)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
