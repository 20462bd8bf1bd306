//! Chart repositories: fetching a repository's `index.yaml` (basic auth, a custom CA), keeping
//! it for an interval so a busy controller reads it at most once per interval, resolving a
//! chart version by constraint as Helm does, and downloading the chart archive with its digest
//! checked. Also direct chart URLs (`source.http`).
//!
//! It knows HTTP and the index format; it knows nothing of Kubernetes objects (callers read the
//! credentials from Secrets and hand them over as [`Credentials`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use sha2::Digest as _;
use tokio::time::Instant;

use crate::error::{Error, Result};

pub mod constraint;

pub use constraint::Constraint;

/// The largest `index.yaml` read (big public repositories are tens of megabytes).
pub const MAX_INDEX_SIZE: usize = 128 * 1024 * 1024;
/// The largest chart archive downloaded (Helm's limit on a decompressed chart is 100 MiB; an
/// archive is smaller).
pub const MAX_CHART_SIZE: usize = 100 * 1024 * 1024;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How to authenticate to a repository.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Basic-auth user name.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
    /// PEM CA bundle that replaces the system roots for this repository (as Helm's `--ca-file`).
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .finish()
    }
}

/// One chart version as a repository index lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartVersion {
    /// The chart name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The chart version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    /// Where the archive is; relative URLs resolve against the repository URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub urls: Vec<String>,
    /// SHA-256 of the archive, hex; empty when the index has none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub digest: String,
    /// The application version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub app_version: String,
}

/// An index field written as `null` or left empty reads as its default, as Go's YAML does.
fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A repository's `index.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct IndexFile {
    /// Chart versions by chart name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
}

impl IndexFile {
    /// Parses index YAML.
    pub fn parse(url: &str, data: &[u8]) -> Result<IndexFile> {
        let text = std::str::from_utf8(data).map_err(|e| Error::Index {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
        serde_saphyr::from_str(text).map_err(|e| Error::Index {
            url: url.to_owned(),
            message: e.to_string(),
        })
    }

    /// The newest version of `chart` satisfying `constraint` (blank: the newest stable one),
    /// as Helm's `IndexFile.Get` picks it. Versions that do not parse are skipped.
    pub fn resolve(&self, repo: &str, chart: &str, constraint: &str) -> Result<&ChartVersion> {
        let versions = self
            .entries
            .get(chart)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::ChartNotFound {
                repo: repo.to_owned(),
                chart: chart.to_owned(),
            })?;
        let wanted = Constraint::parse(constraint)?;
        versions
            .iter()
            .filter_map(|cv| constraint::parse_version(&cv.version).map(|v| (v, cv)))
            .filter(|(v, _)| wanted.matches(v))
            .max_by(|(a, _), (b, _)| a.cmp_precedence(b))
            .map(|(_, cv)| cv)
            .ok_or_else(|| Error::NoVersionMatch {
                chart: chart.to_owned(),
                constraint: constraint.to_owned(),
            })
    }
}

/// A resolved chart archive, ready for `helm_engine::chart::load_archive`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartArchive {
    /// The version resolved.
    pub version: String,
    /// The archive's URL.
    pub url: String,
    /// The archive's bytes.
    pub data: Bytes,
}

type HttpClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// An HTTP(S) client for repositories, with an index cache.
#[derive(Clone)]
pub struct RepoClient {
    default: HttpClient,
    interval: Duration,
    indexes: Arc<Mutex<HashMap<String, CachedIndex>>>,
    /// Archives whose index lists a digest, by `url#digest`: the same bytes are never
    /// downloaded twice (every drift check resolves the chart again).
    archives: Arc<Mutex<HashMap<String, Bytes>>>,
}

/// How many archives the cache keeps before starting over.
const MAX_CACHED_ARCHIVES: usize = 64;

#[derive(Clone)]
struct CachedIndex {
    fetched: Instant,
    credentials: Credentials,
    index: Arc<IndexFile>,
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_with(tls: rustls::ClientConfig) -> HttpClient {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

impl RepoClient {
    /// A client re-reading an index at most once per `interval`. Without a custom CA it trusts
    /// the system's roots.
    pub fn new(interval: Duration) -> Result<RepoClient> {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates leave fewer roots; repositories with their own CA
        // still work.
        roots.add_parsable_certificates(system_roots());
        let tls = rustls::ClientConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Transport {
                url: String::new(),
                message: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(RepoClient {
            default: client_with(tls),
            interval,
            indexes: Arc::new(Mutex::new(HashMap::new())),
            archives: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn client_for(&self, url: &str, credentials: &Credentials) -> Result<HttpClient> {
        let Some(pem) = &credentials.ca_pem else {
            return Ok(self.default.clone());
        };
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Ca {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
            roots.add(cert).map_err(|e| Error::Ca {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        }
        if roots.is_empty() {
            return Err(Error::Ca {
                url: url.to_owned(),
                message: "no PEM certificate found".into(),
            });
        }
        let tls = rustls::ClientConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Ca {
                url: url.to_owned(),
                message: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(client_with(tls))
    }

    /// GETs `url` and returns the body (at most `limit` bytes); anything but 200 is an error.
    pub async fn get(&self, url: &str, credentials: &Credentials, limit: usize) -> Result<Bytes> {
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| Error::Url {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(Error::Url {
                url: url.to_owned(),
                message: "only http and https URLs are supported".into(),
            });
        }
        let mut request = http::Request::get(uri).header(http::header::USER_AGENT, "Helm/3.17.3");
        if let Some(user) = &credentials.username {
            let pair = format!("{user}:{}", credentials.password.as_deref().unwrap_or(""));
            let token = base64::engine::general_purpose::STANDARD.encode(pair);
            request = request.header(http::header::AUTHORIZATION, format!("Basic {token}"));
        }
        let request = request.body(Empty::new()).map_err(|e| Error::Url {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
        let client = self.client_for(url, credentials)?;
        let transport = |message: String| Error::Transport {
            url: url.to_owned(),
            message,
        };
        let fetch = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| transport(error_chain(&e)))?;
            let status = response.status();
            if status != http::StatusCode::OK {
                return Err(Error::HttpStatus {
                    url: url.to_owned(),
                    status: status.to_string(),
                });
            }
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        Error::TooLarge {
                            url: url.to_owned(),
                            limit,
                        }
                    } else {
                        transport(e.to_string())
                    }
                })?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(REQUEST_TIMEOUT, fetch)
            .await
            .map_err(|_| transport(format!("no answer within {REQUEST_TIMEOUT:?}")))?
    }

    /// The repository's index: from the cache when read less than an interval ago with the
    /// same credentials, otherwise fetched from `<repo_url>/index.yaml`.
    pub async fn index(&self, repo_url: &str, credentials: &Credentials) -> Result<Arc<IndexFile>> {
        if let Some(hit) = self.cached(repo_url, credentials) {
            return Ok(hit);
        }
        self.refresh(repo_url, credentials).await
    }

    fn cached(&self, repo_url: &str, credentials: &Credentials) -> Option<Arc<IndexFile>> {
        let cache = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(repo_url)
            .filter(|c| c.fetched.elapsed() < self.interval && &c.credentials == credentials)
            .map(|c| c.index.clone())
    }

    /// Reads the index now, whatever the cache holds, and caches it.
    pub async fn refresh(
        &self,
        repo_url: &str,
        credentials: &Credentials,
    ) -> Result<Arc<IndexFile>> {
        let url = format!("{}/index.yaml", repo_url.trim_end_matches('/'));
        let data = self.get(&url, credentials, MAX_INDEX_SIZE).await?;
        let index = Arc::new(IndexFile::parse(&url, &data)?);
        let mut cache = self.indexes.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(
            repo_url.to_owned(),
            CachedIndex {
                fetched: Instant::now(),
                credentials: credentials.clone(),
                index: index.clone(),
            },
        );
        Ok(index)
    }

    /// Resolves `chart` by `constraint` in the repository at `repo_url` (named `repo_name` in
    /// messages) and downloads it, checking its digest. Credentials go along to the archive URL
    /// only when it is on the repository's host, as Helm does without `--pass-credentials`.
    pub async fn fetch_chart(
        &self,
        repo_name: &str,
        repo_url: &str,
        credentials: &Credentials,
        chart: &str,
        constraint: &str,
    ) -> Result<ChartArchive> {
        let index = self.index(repo_url, credentials).await?;
        let found = index.resolve(repo_name, chart, constraint)?;
        let first = found.urls.first().ok_or_else(|| Error::Index {
            url: repo_url.to_owned(),
            message: format!("chart {chart} {} has no URL", found.version),
        })?;
        let url = resolve_reference(repo_url, first);
        let creds = if same_origin(repo_url, &url) {
            credentials.clone()
        } else {
            Credentials::default()
        };
        let cache_key = format!("{url}#{}", found.digest.trim().to_ascii_lowercase());
        if !found.digest.is_empty() {
            let cached = self
                .archives
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&cache_key)
                .cloned();
            if let Some(data) = cached {
                return Ok(ChartArchive {
                    version: found.version.clone(),
                    url,
                    data,
                });
            }
        }
        let data = self.get(&url, &creds, MAX_CHART_SIZE).await?;
        if !found.digest.is_empty() {
            let sum = hex::encode(sha2::Sha256::digest(&data));
            if !sum.eq_ignore_ascii_case(found.digest.trim()) {
                return Err(Error::Digest {
                    url,
                    expected: found.digest.clone(),
                    found: sum,
                });
            }
            let mut archives = self.archives.lock().unwrap_or_else(|p| p.into_inner());
            if archives.len() >= MAX_CACHED_ARCHIVES {
                archives.clear();
            }
            archives.insert(cache_key, data.clone());
        }
        Ok(ChartArchive {
            version: found.version.clone(),
            url,
            data,
        })
    }

    /// Downloads a chart archive from a direct URL (`source.http`).
    pub async fn fetch_url(&self, url: &str, credentials: &Credentials) -> Result<Bytes> {
        self.get(url, credentials, MAX_CHART_SIZE).await
    }
}

/// The platform's trusted roots (the usual bundle locations); empty when none can be read.
fn system_roots() -> Vec<rustls_pki_types::CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject;
    for path in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ] {
        if let Ok(pem) = std::fs::read(path) {
            return rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
                .filter_map(|c| c.ok())
                .collect();
        }
    }
    Vec::new()
}

/// The error and its causes, joined: hyper's top-level messages alone ("client error
/// (Connect)") do not say what failed.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Resolves a chart URL from an index against the repository URL (Helm's
/// `ResolveReferenceURL`: the repository URL is a directory).
pub fn resolve_reference(repo_url: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_owned();
    }
    let base = repo_url.trim_end_matches('/');
    if let Some(abs) = reference.strip_prefix('/') {
        return format!("{}/{abs}", origin(base));
    }
    format!("{base}/{}", reference.trim_start_matches("./"))
}

/// `scheme://authority` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

fn same_origin(a: &str, b: &str) -> bool {
    origin(a).eq_ignore_ascii_case(origin(b))
}

#[cfg(test)]
mod tests;
