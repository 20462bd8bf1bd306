//! Helm v3 release storage in Secrets of type `helm.sh/release.v1`, exactly as Helm's Secrets
//! driver keeps it, so `helm list`/`history`/`rollback` see Captain's releases and Captain sees
//! Helm's.
//!
//! - One Secret per revision, named `sh.helm.release.v1.<name>.v<revision>`, holding
//!   `data.release` = base64(gzip(JSON)) ([`helm_engine::release::encode`]).
//! - Labels `name`, `owner=helm`, `status`, `version`, plus `createdAt` (set on create) or
//!   `modifiedAt` (set on update), in Unix seconds, and the release's custom labels.
//! - A release read by [`ReleaseStore::get`] carries its custom labels only; one read through
//!   [`ReleaseStore::history`] or [`ReleaseStore::list`] carries every label of its Secret, as
//!   Helm's `Get` and `Query` do, so an update keeps `createdAt` the way Helm's does.
//! - [`ReleaseStore::create`] first prunes the history to `max_history - 1` revisions, never
//!   deleting the last deployed one (Helm's `removeLeastRecent`).

use helm_engine::release::{self, CodecError, Release, Status};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use std::collections::BTreeMap;

/// The Secret type Helm 3 gives release records.
pub const RELEASE_SECRET_TYPE: &str = "helm.sh/release.v1";
/// How many revisions a release keeps unless told otherwise (Helm's `--history-max` default).
pub const DEFAULT_MAX_HISTORY: usize = 10;
/// The labels Helm itself sets on a release Secret; any other label is a custom one.
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// What went wrong with release storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// No such release, or no such revision of it (Helm prints `release: not found`).
    #[error("release: not found: {name}{}", revision.map(|r| format!(" revision {r}")).unwrap_or_default())]
    NotFound {
        /// The release name.
        name: String,
        /// The revision asked for, if one was.
        revision: Option<u32>,
    },
    /// A create found the revision's Secret already there (another writer got there first).
    #[error("release: already exists: Secret {secret}")]
    Exists {
        /// The Secret's name.
        secret: String,
    },
    /// A Secret whose `data.release` cannot be decoded.
    #[error("Secret {secret} holds a corrupt release: {source}")]
    Corrupt {
        /// The Secret's name.
        secret: String,
        /// What the codec found.
        #[source]
        source: CodecError,
    },
    /// A release record that cannot be encoded.
    #[error("release {name} v{revision} cannot be encoded: {source}")]
    Encode {
        /// The release name.
        name: String,
        /// Its revision.
        revision: u32,
        /// What the codec found.
        #[source]
        source: CodecError,
    },
    /// A release name Helm would refuse (it must fit a label value and a Secret name).
    #[error("invalid release name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The API server refused or failed a request.
    #[error("{operation} {target}: {source}")]
    Api {
        /// What was being done: `get`, `list`, `create`, `update` or `delete`.
        operation: &'static str,
        /// The Secret name or the label selector.
        target: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

/// The storage module's result alias.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The Secret name of a revision: `sh.helm.release.v1.<name>.v<revision>`.
pub fn secret_name(name: &str, revision: u32) -> String {
    format!("sh.helm.release.v1.{name}.v{revision}")
}

/// Helm's release records of one namespace, kept in Secrets.
#[derive(Clone)]
pub struct ReleaseStore {
    api: Api<Secret>,
    namespace: String,
    max_history: usize,
    clock: fn() -> i64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl ReleaseStore {
    /// The store of `namespace`, keeping [`DEFAULT_MAX_HISTORY`] revisions per release.
    pub fn new(client: kube::Client, namespace: &str) -> ReleaseStore {
        ReleaseStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            max_history: DEFAULT_MAX_HISTORY,
            clock: unix_now,
        }
    }

    /// Keeps at most `max` revisions per release; 0 keeps them all (as Helm's `--history-max 0`).
    pub fn with_max_history(mut self, max: usize) -> ReleaseStore {
        self.max_history = max;
        self
    }

    /// Uses `clock` (Unix seconds) for the `createdAt`/`modifiedAt` labels, for tests.
    pub fn with_clock(mut self, clock: fn() -> i64) -> ReleaseStore {
        self.clock = clock;
        self
    }

    /// The namespace this store reads and writes.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The revision limit (0: unlimited).
    pub fn max_history(&self) -> usize {
        self.max_history
    }

    /// One revision of a release. Its `labels` are the Secret's custom labels only.
    pub async fn get(&self, name: &str, revision: u32) -> Result<Release> {
        let key = secret_name(name, revision);
        let secret = self
            .api
            .get_opt(&key)
            .await
            .map_err(|source| StorageError::Api {
                operation: "get",
                target: key.clone(),
                source,
            })?
            .ok_or_else(|| StorageError::NotFound {
                name: name.to_string(),
                revision: Some(revision),
            })?;
        let mut rel = decode_secret(&secret)?;
        rel.labels = custom_labels(secret.metadata.labels.as_ref());
        Ok(rel)
    }

    /// Every revision of a release, oldest first; empty when there is none. Secrets that do
    /// not decode are skipped with a warning, as Helm's `Query` does.
    pub async fn history(&self, name: &str) -> Result<Vec<Release>> {
        validate_name(name)?;
        let mut out = self
            .query(&format!("name={name},owner=helm"), Some(name))
            .await?;
        out.sort_by_key(|r| r.version);
        Ok(out)
    }

    /// Every release revision in the namespace (Helm's `List` with `owner=helm`), sorted by
    /// name then revision. Secrets that do not decode are skipped with a warning.
    pub async fn list(&self) -> Result<Vec<Release>> {
        let mut out = self.query("owner=helm", None).await?;
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
        Ok(out)
    }

    /// The latest revision, whatever its status.
    pub async fn last(&self, name: &str) -> Result<Option<Release>> {
        Ok(self.history(name).await?.pop())
    }

    /// Every revision with status `deployed`, oldest first (normally one).
    pub async fn deployed_all(&self, name: &str) -> Result<Vec<Release>> {
        validate_name(name)?;
        let mut out = self
            .query(
                &format!("name={name},owner=helm,status=deployed"),
                Some(name),
            )
            .await?;
        out.sort_by_key(|r| r.version);
        Ok(out)
    }

    /// The latest revision with status `deployed`, as Helm's `Deployed`.
    pub async fn last_deployed(&self, name: &str) -> Result<Option<Release>> {
        Ok(self.deployed_all(name).await?.pop())
    }

    /// The revision number a new revision of `name` gets: one past the latest, or 1.
    pub async fn next_revision(&self, name: &str) -> Result<u32> {
        Ok(self.last(name).await?.map_or(1, |r| r.version + 1))
    }

    /// Stores a new revision (`createdAt` now). Before that, old revisions beyond
    /// `max_history - 1` are deleted, oldest first, keeping the last deployed one.
    pub async fn create(&self, rel: &Release) -> Result<()> {
        validate_name(&rel.name)?;
        if self.max_history > 0 {
            self.prune(&rel.name, self.max_history - 1).await?;
        }
        let key = secret_name(&rel.name, rel.version);
        let secret = self.secret(rel, "createdAt")?;
        match self.api.create(&PostParams::default(), &secret).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(StorageError::Exists { secret: key }),
            Err(source) => Err(StorageError::Api {
                operation: "create",
                target: key,
                source,
            }),
        }
    }

    /// Rewrites a stored revision (`modifiedAt` now), e.g. after a status change. Like Helm,
    /// this replaces the Secret without a resourceVersion precondition.
    pub async fn update(&self, rel: &Release) -> Result<()> {
        validate_name(&rel.name)?;
        let key = secret_name(&rel.name, rel.version);
        let secret = self.secret(rel, "modifiedAt")?;
        self.api
            .replace(&key, &PostParams::default(), &secret)
            .await
            .map(|_| ())
            .map_err(|source| StorageError::Api {
                operation: "update",
                target: key,
                source,
            })
    }

    /// Deletes one revision's Secret; a missing one is [`StorageError::NotFound`].
    pub async fn delete(&self, name: &str, revision: u32) -> Result<()> {
        let key = secret_name(name, revision);
        match self.api.delete(&key, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Err(StorageError::NotFound {
                name: name.to_string(),
                revision: Some(revision),
            }),
            Err(source) => Err(StorageError::Api {
                operation: "delete",
                target: key,
                source,
            }),
        }
    }

    /// Marks every `deployed` revision of `name` other than `keep` as `superseded` and stores
    /// it, as Helm's upgrade and rollback do once the new revision is live. Returns the
    /// revisions it changed.
    pub async fn supersede_deployed(&self, name: &str, keep: u32) -> Result<Vec<u32>> {
        let mut changed = Vec::new();
        for mut rel in self.deployed_all(name).await? {
            if rel.version == keep {
                continue;
            }
            rel.info.status = Status::Superseded;
            self.update(&rel).await?;
            changed.push(rel.version);
        }
        Ok(changed)
    }

    /// Helm's `removeLeastRecent`: deletes the oldest revisions until at most `keep` remain,
    /// never the last deployed one.
    async fn prune(&self, name: &str, keep: usize) -> Result<()> {
        let history = self.history(name).await?;
        if history.len() <= keep {
            return Ok(());
        }
        let deployed = history
            .iter()
            .filter(|r| r.info.status == Status::Deployed)
            .map(|r| r.version)
            .max();
        let excess = history.len() - keep;
        let doomed: Vec<u32> = history
            .iter()
            .map(|r| r.version)
            .filter(|v| Some(*v) != deployed)
            .take(excess)
            .collect();
        let mut first_error = None;
        for revision in doomed {
            match self.delete(name, revision).await {
                // Another writer pruned it first: fine.
                Ok(()) | Err(StorageError::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(release = name, revision, error = %e, "pruning release history");
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn query(&self, selector: &str, name: Option<&str>) -> Result<Vec<Release>> {
        let list = self
            .api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|source| StorageError::Api {
                operation: "list",
                target: selector.to_string(),
                source,
            })?;
        let mut out = Vec::new();
        for secret in list.items {
            match decode_secret(&secret) {
                Ok(mut rel) => {
                    if name.is_some_and(|n| n != rel.name) {
                        continue;
                    }
                    rel.labels = secret.metadata.labels.clone().unwrap_or_default();
                    out.push(rel);
                }
                Err(e) => tracing::warn!(error = %e, "skipping an undecodable release Secret"),
            }
        }
        Ok(out)
    }

    fn secret(&self, rel: &Release, stamp: &str) -> Result<Secret> {
        let data = release::encode(rel).map_err(|source| StorageError::Encode {
            name: rel.name.clone(),
            revision: rel.version,
            source,
        })?;
        let mut labels = rel.labels.clone();
        labels.insert(stamp.to_string(), (self.clock)().to_string());
        labels.insert("name".into(), rel.name.clone());
        labels.insert("owner".into(), "helm".into());
        labels.insert("status".into(), rel.info.status.as_str().into());
        labels.insert("version".into(), rel.version.to_string());
        Ok(Secret {
            metadata: ObjectMeta {
                name: Some(secret_name(&rel.name, rel.version)),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                ..Default::default()
            },
            type_: Some(RELEASE_SECRET_TYPE.into()),
            data: Some(BTreeMap::from([(
                "release".to_string(),
                ByteString(data.into_bytes()),
            )])),
            ..Default::default()
        })
    }
}

/// Decodes the release a Secret holds; errors name the Secret.
pub fn decode_secret(secret: &Secret) -> Result<Release> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .map(|b| b.0.as_slice())
        .unwrap_or_default();
    release::decode(data).map_err(|source| StorageError::Corrupt {
        secret: name,
        source,
    })
}

fn custom_labels(labels: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    labels
        .map(|l| {
            l.iter()
                .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// A release name must be usable as a label value (it is put in a label selector) and in a
/// Secret name; Helm's own rule is stricter (at most 53 characters, DNS-1123 labels).
fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > 53 {
        "it is longer than 53 characters"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        "only lowercase letters, digits, '-' and '.' are allowed"
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        "it must start and end with a letter or digit"
    } else {
        return Ok(());
    };
    Err(StorageError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests;
