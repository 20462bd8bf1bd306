//! Applying a release's objects to the cluster, shared by the HelmRequest reconciler and the
//! release commands: server-side apply (field manager `captain`, forced), pruning of what a
//! previous manifest had, hooks with their weights and delete policies, and Helm's rollback
//! action.
//!
//! It knows release records and the API, not HelmRequests: the reconciler decides *when* to
//! install, upgrade or roll back; this module does it the way Helm does.

use std::collections::BTreeSet;
use std::time::Duration;

use helm_engine::release::{Hook, HookDeletePolicy, HookEvent, Release, Status, Time};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::objects::{self, FIELD_MANAGER, ObjectRef, ResourceMap};
use crate::storage::{ReleaseStore, StorageError};

/// Writes a release's objects and runs its hooks.
#[derive(Clone)]
pub struct Deployer {
    /// The API client.
    pub client: Client,
    /// How long a hook Job or Pod may run.
    pub hook_timeout: Duration,
    /// How often a running hook is polled.
    pub hook_poll: Duration,
}

fn storage(e: StorageError) -> Error {
    match e {
        StorageError::NotFound {
            name,
            revision: None,
        } => Error::ReleaseNotFound { name },
        e => Error::Storage(e.to_string()),
    }
}

/// The kinds a release's objects may use: built-ins plus the CRDs its chart's `crds/` files
/// and its manifest define.
pub fn resource_map(rel: &Release) -> ResourceMap {
    let mut map = ResourceMap::default();
    for f in &rel.chart.files {
        let is_crd_file = f.name.starts_with("crds/")
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| f.name.ends_with(ext));
        if is_crd_file {
            for crd in objects::split_objects(&String::from_utf8_lossy(&f.data)).unwrap_or_default()
            {
                map.learn_crd(&crd);
            }
        }
    }
    for o in objects::split_objects(&rel.manifest).unwrap_or_default() {
        if o["kind"] == "CustomResourceDefinition" {
            map.learn_crd(&o);
        }
    }
    map
}

impl Deployer {
    /// A deployer with Helm's default hook timeout (5 minutes), polling hooks every 2 seconds.
    pub fn new(client: Client) -> Deployer {
        Deployer {
            client,
            hook_timeout: Duration::from_secs(300),
            hook_poll: Duration::from_secs(2),
        }
    }

    /// Applies `rel`'s objects (marked as the release's, so `helm` adopts them), then deletes
    /// the objects of `previous_manifest` that `rel` no longer has, except those annotated
    /// `helm.sh/resource-policy: keep`. Hooks are not run.
    pub async fn apply_release(
        &self,
        rel: &Release,
        previous_manifest: Option<&str>,
    ) -> Result<()> {
        let map = resource_map(rel);
        let objs = self.release_objects(&map, &rel.manifest, &rel.name, &rel.namespace)?;
        for (r, obj) in &objs {
            self.apply(&map, r, obj).await?;
        }
        if let Some(previous) = previous_manifest {
            self.prune(&map, previous, &objs, &rel.namespace, &rel.name)
                .await?;
        }
        Ok(())
    }

    /// `helm rollback NAME REVISION` (revision 0: the one before the latest): checks that the
    /// revision exists, then [`Deployer::roll_back`] from the latest revision to it. Returns
    /// the new revision.
    pub async fn rollback(
        &self,
        store: &ReleaseStore,
        name: &str,
        revision: u32,
    ) -> Result<Release> {
        let history = store.history(name).await.map_err(storage)?;
        let Some(current) = history.last() else {
            return Err(Error::ReleaseNotFound { name: name.into() });
        };
        let revision = if revision == 0 {
            current.version.saturating_sub(1)
        } else {
            revision
        };
        if !history.iter().any(|r| r.version == revision) {
            return Err(Error::NoRevision { revision });
        }
        let target = store.get(name, revision).await.map_err(storage)?;
        self.roll_back(store, current, &target).await
    }

    /// Helm's rollback action from `current` (the latest revision) to `target`: a new
    /// revision (`pending-rollback`, "Rollback to N") with `target`'s chart, values,
    /// manifest, hooks and notes is stored; pre-rollback hooks run; `target`'s objects are
    /// applied and `current`'s extra objects pruned; post-rollback hooks run; every
    /// `deployed` revision becomes `superseded` and the new one `deployed`.
    ///
    /// On failure, as Helm does when applying fails, `current` becomes `superseded` and the new
    /// revision `failed` ("Rollback \"x\" failed: why"). Helm leaves the revision
    /// `pending-rollback` when a hook fails, which blocks the release; here a failed hook
    /// fails the revision the same way, so history stays truthful.
    pub async fn roll_back(
        &self,
        store: &ReleaseStore,
        current: &Release,
        target: &Release,
    ) -> Result<Release> {
        let mut next = Release::rollback_to(target, current, Time::now());
        store.create(&next).await.map_err(storage)?;
        let map = resource_map(&next);
        let outcome = async {
            let objs = self.release_objects(&map, &next.manifest, &next.name, &next.namespace)?;
            self.run_hooks(&map, &next.hooks, &HookEvent::PreRollback, &next.namespace)
                .await?;
            for (r, obj) in &objs {
                self.apply(&map, r, obj).await?;
            }
            self.prune(&map, &current.manifest, &objs, &next.namespace, &next.name)
                .await?;
            self.run_hooks(&map, &next.hooks, &HookEvent::PostRollback, &next.namespace)
                .await
        }
        .await;
        match outcome {
            Ok(()) => {
                store
                    .supersede_deployed(&next.name, next.version)
                    .await
                    .map_err(storage)?;
                next.mark_deployed();
                store.update(&next).await.map_err(storage)?;
                Ok(next)
            }
            Err(e) => {
                let mut current = current.clone();
                current.info.status = Status::Superseded;
                next.info.status = Status::Failed;
                next.info.description = format!("Rollback {:?} failed: {e}", next.name);
                store.update(&current).await.map_err(storage)?;
                store.update(&next).await.map_err(storage)?;
                Err(Error::RollbackFailed {
                    release: next.name.clone(),
                    source: Box::new(e),
                })
            }
        }
    }

    pub(crate) fn api_for(&self, map: &ResourceMap, r: &ObjectRef) -> Api<DynamicObject> {
        let (res, _) = map.resource(&r.api_version, &r.kind);
        match &r.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &res),
            None => Api::all_with(self.client.clone(), &res),
        }
    }

    pub(crate) async fn get_live(&self, map: &ResourceMap, r: &ObjectRef) -> Result<Option<Value>> {
        let live = self
            .api_for(map, r)
            .get_opt(&r.name)
            .await
            .map_err(|e| Error::kube(format!("reading {r}"), e))?;
        Ok(live.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }

    pub(crate) async fn apply(&self, map: &ResourceMap, r: &ObjectRef, obj: &Value) -> Result<()> {
        self.api_for(map, r)
            .patch(
                &r.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(obj),
            )
            .await
            .map(|_| ())
            .map_err(|e| Error::kube(format!("applying {r}"), e))
    }

    pub(crate) async fn delete(&self, map: &ResourceMap, r: &ObjectRef) -> Result<()> {
        match self
            .api_for(map, r)
            .delete(&r.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(Error::kube(format!("deleting {r}"), e)),
        }
    }

    /// The objects of a manifest with their refs, carrying the release metadata.
    pub(crate) fn release_objects(
        &self,
        map: &ResourceMap,
        manifest: &str,
        name: &str,
        namespace: &str,
    ) -> Result<Vec<(ObjectRef, Value)>> {
        let mut out = Vec::new();
        for mut obj in objects::split_objects(manifest)? {
            let r = map.object_ref(&obj, namespace)?;
            if let (Some(ns), Some(meta)) = (&r.namespace, obj["metadata"].as_object_mut()) {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
            objects::set_release_metadata(&mut obj, name, namespace);
            out.push((r, obj));
        }
        Ok(out)
    }

    /// Deletes what `old_manifest` had and `keep` lacks, in reverse order, except objects
    /// annotated `helm.sh/resource-policy: keep`.
    pub(crate) async fn prune(
        &self,
        map: &ResourceMap,
        old_manifest: &str,
        keep: &[(ObjectRef, Value)],
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        let wanted: BTreeSet<(&str, &Option<String>, &str)> = keep
            .iter()
            .map(|(r, _)| (r.kind.as_str(), &r.namespace, r.name.as_str()))
            .collect();
        let old = self.release_objects(map, old_manifest, name, namespace)?;
        for (r, o) in old.iter().rev() {
            if wanted.contains(&(r.kind.as_str(), &r.namespace, r.name.as_str())) {
                continue;
            }
            if objects::is_kept(o) {
                continue;
            }
            self.delete(map, r).await?;
        }
        Ok(())
    }

    /// Runs the hooks of `event`: by weight then name, each deleted first unless its policy
    /// says otherwise, applied, waited for when a Job or Pod, and deleted after as its
    /// policies ask.
    pub(crate) async fn run_hooks(
        &self,
        map: &ResourceMap,
        hooks: &[Hook],
        event: &HookEvent,
        namespace: &str,
    ) -> Result<()> {
        let mut selected: Vec<&Hook> = hooks.iter().filter(|h| h.events.contains(event)).collect();
        selected.sort_by(|a, b| a.weight.cmp(&b.weight).then_with(|| a.name.cmp(&b.name)));
        for hook in selected {
            let Some(obj) = objects::split_objects(&hook.manifest)?.into_iter().next() else {
                continue;
            };
            let r = map.object_ref(&obj, namespace)?;
            let mut obj = obj;
            if let (Some(ns), Some(meta)) = (&r.namespace, obj["metadata"].as_object_mut()) {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
            let policies: Vec<HookDeletePolicy> = if hook.delete_policies.is_empty() {
                vec![HookDeletePolicy::BeforeHookCreation]
            } else {
                hook.delete_policies.clone()
            };
            if policies.contains(&HookDeletePolicy::BeforeHookCreation) {
                self.delete(map, &r).await?;
            }
            self.apply(map, &r, &obj).await?;
            let outcome = self.wait_hook(map, &r).await;
            let delete_now = match &outcome {
                Ok(()) => policies.contains(&HookDeletePolicy::HookSucceeded),
                Err(_) => policies.contains(&HookDeletePolicy::HookFailed),
            };
            if delete_now {
                self.delete(map, &r).await?;
            }
            outcome.map_err(|e| {
                Error::Hook(format!("{} hook {} failed: {e}", event.as_str(), hook.path))
            })?;
        }
        Ok(())
    }

    /// Waits for a Job to complete or a Pod to succeed; other kinds are done once applied.
    pub(crate) async fn wait_hook(&self, map: &ResourceMap, r: &ObjectRef) -> Result<()> {
        if r.kind != "Job" && r.kind != "Pod" {
            return Ok(());
        }
        let wait = async {
            loop {
                let live = self.get_live(map, r).await?.unwrap_or(Value::Null);
                if r.kind == "Pod" {
                    match live["status"]["phase"].as_str() {
                        Some("Succeeded") => return Ok(()),
                        Some("Failed") => {
                            return Err(Error::Hook(format!("{r} failed")));
                        }
                        _ => {}
                    }
                } else if let Some(conds) = live["status"]["conditions"].as_array() {
                    for c in conds {
                        if c["status"] != "True" {
                            continue;
                        }
                        match c["type"].as_str() {
                            Some("Complete") => return Ok(()),
                            Some("Failed") => {
                                return Err(Error::Hook(format!(
                                    "{r} failed: {}",
                                    c["message"].as_str().unwrap_or("")
                                )));
                            }
                            _ => {}
                        }
                    }
                }
                tokio::time::sleep(self.hook_poll).await;
            }
        };
        tokio::time::timeout(self.hook_timeout, wait)
            .await
            .map_err(|_| {
                Error::Hook(format!("{r} did not finish within {:?}", self.hook_timeout))
            })?
    }
}

#[cfg(test)]
mod tests;
