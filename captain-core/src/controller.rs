//! The Captain controller: watches HelmRequests, ChartRepos and the ConfigMaps and Secrets that
//! HelmRequests take values or credentials from, and reconciles through a per-key work queue
//! (one key is never reconciled twice at once; failures back off), under Lease leader
//! election, with Prometheus metrics on `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{self, ObjectRef as StoreRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use kube_bridge::captain_crd::{
    ChartRepo, ChartRepoPhase, ChartRepoStatus, HelmRequest, HelmRequestPhase,
};
use kube_bridge::leader::LeaseLock;
use kube_bridge::queue::{Backoff, WorkQueue};
use serde_json::json;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::metrics::{self, Metrics};
use crate::reconcile::{Outcome, Reconciler};
use crate::repo::{Credentials, RepoClient};

/// The controller's command-line options (`captain controller …`).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ControllerOptions {
    /// The namespace whose ChartRepos are used (`<repo>` in `spec.chart`).
    #[arg(long, default_value = "captain-system")]
    pub chart_repo_namespace: String,
    /// Watch HelmRequests of this namespace only; all namespaces when absent.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Concurrent reconciles (each HelmRequest is still handled by one at a time).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// A repository's index.yaml is read at most once per this many seconds.
    #[arg(long, default_value_t = 300)]
    pub index_interval_seconds: u64,
    /// Synced HelmRequests are checked for drift every this many seconds.
    #[arg(long, default_value_t = 600)]
    pub drift_interval_seconds: u64,
    /// Consecutive failures of one spec retried before giving up until the spec changes.
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// How long a hook Job may run, in seconds.
    #[arg(long, default_value_t = 300)]
    pub hook_timeout_seconds: u64,
    /// `--kube-version` used when rendering (the engine's default when absent).
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Where `/metrics` is served; nothing is served when absent.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Take part in leader election before reconciling (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// The Lease used for leader election.
    #[arg(long, default_value = "captain-controller-lock")]
    pub lease_name: String,
    /// The Lease's namespace; the ChartRepo namespace when absent.
    #[arg(long)]
    pub lease_namespace: Option<String>,
    /// This replica's identity in the Lease; `$HOSTNAME` when absent.
    #[arg(long)]
    pub identity: Option<String>,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            chart_repo_namespace: "captain-system".into(),
            namespace: None,
            workers: 2,
            index_interval_seconds: 300,
            drift_interval_seconds: 600,
            max_retries: 5,
            hook_timeout_seconds: 300,
            kube_version: None,
            metrics_addr: None,
            leader_elect: false,
            lease_name: "captain-controller-lock".into(),
            lease_namespace: None,
            identity: None,
        }
    }
}

/// What the work queue holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A HelmRequest (namespace, name).
    HelmRequest(String, String),
    /// A ChartRepo (namespace, name).
    ChartRepo(String, String),
}

/// Runs the controller with the in-cluster config or kubeconfig until SIGINT or SIGTERM.
pub async fn run(options: ControllerOptions) -> Result<()> {
    let client = Client::try_default()
        .await
        .map_err(|e| Error::kube("connecting to the API server", e))?;
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    run_with_client(client, options, stop).await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the controller with `client` until `stop` turns true. With leader election, it
/// reconciles only once leading, and returns an error when leadership is lost (so the process
/// restarts clean, as client-go controllers do).
pub async fn run_with_client(
    client: Client,
    options: ControllerOptions,
    stop: watch::Receiver<bool>,
) -> Result<()> {
    let listener = match options.metrics_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Input(format!("--metrics-addr {addr}: {e}")))?,
        ),
        None => None,
    };
    run_serving(client, options, stop, listener).await
}

/// [`run_with_client`], serving `/metrics` on `metrics_listener` (already bound) if given.
pub async fn run_serving(
    client: Client,
    options: ControllerOptions,
    mut stop: watch::Receiver<bool>,
    metrics_listener: Option<tokio::net::TcpListener>,
) -> Result<()> {
    let metrics = Arc::new(Metrics::new());
    if let Some(listener) = metrics_listener {
        let m = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(listener, m).await {
                tracing::warn!(error = %e, "metrics server stopped");
            }
        });
    }

    let (leading_tx, mut leading) = watch::channel(!options.leader_elect);
    if options.leader_elect {
        let identity = options
            .identity
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "captain".into());
        let lease_ns = options
            .lease_namespace
            .clone()
            .unwrap_or_else(|| options.chart_repo_namespace.clone());
        let lock = LeaseLock::new(
            client.clone(),
            &lease_ns,
            &options.lease_name,
            &identity,
            Duration::from_secs(15),
        );
        let campaign_stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = lock
                .campaign(Duration::from_secs(2), leading_tx, campaign_stop)
                .await
            {
                tracing::warn!(error = %e, "leader election ended with an error");
            }
        });
        // Followers wait here.
        loop {
            if *leading.borrow() {
                break;
            }
            tokio::select! {
                changed = leading.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
                _ = stop.changed() => {
                    if *stop.borrow() {
                        return Ok(());
                    }
                }
            }
        }
        tracing::info!(%identity, "leading");
    }

    let reconciler = Reconciler {
        client: client.clone(),
        repos: RepoClient::new(Duration::from_secs(options.index_interval_seconds))?,
        chart_repo_namespace: options.chart_repo_namespace.clone(),
        max_retries: options.max_retries,
        hook_timeout: Duration::from_secs(options.hook_timeout_seconds),
        hook_poll: Duration::from_secs(2),
        dependency_poll: Duration::from_secs(10),
        kube_version: options.kube_version.clone(),
    };
    let queue: WorkQueue<Key> = WorkQueue::new(Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(300),
    });

    let hr_api: Api<HelmRequest> = match &options.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (requests, requests_writer) = reflector::store::<HelmRequest>();
    let hr_stream =
        reflector::reflector(requests_writer, watcher(hr_api, watcher::Config::default()));
    let (repos, repos_writer) = reflector::store::<ChartRepo>();
    let repo_stream = reflector::reflector(
        repos_writer,
        watcher(
            Api::<ChartRepo>::namespaced(client.clone(), &options.chart_repo_namespace),
            watcher::Config::default(),
        ),
    );
    let (cm_api, secret_api): (Api<ConfigMap>, Api<Secret>) = match &options.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    // Release records change on every sync; they never feed values.
    let secret_config = watcher::Config::default().fields("type!=helm.sh/release.v1");

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(feed(
        hr_stream,
        queue.clone(),
        requests.clone(),
        |hr, store| helm_request_keys(&hr, store),
    ));
    tasks.spawn(feed(
        repo_stream,
        queue.clone(),
        requests.clone(),
        |repo, store| chart_repo_keys(&repo, store),
    ));
    tasks.spawn(feed(
        watcher(cm_api, watcher::Config::default()),
        queue.clone(),
        requests.clone(),
        |cm: ConfigMap, store| {
            referencing_keys(&cm.namespace().unwrap_or_default(), &cm.name_any(), store)
        },
    ));
    tasks.spawn(feed(
        watcher(secret_api, secret_config),
        queue.clone(),
        requests.clone(),
        |s: Secret, store| {
            referencing_keys(&s.namespace().unwrap_or_default(), &s.name_any(), store)
        },
    ));
    for _ in 0..options.workers.max(1) {
        tasks.spawn(work(
            queue.clone(),
            reconciler.clone(),
            requests.clone(),
            repos.clone(),
            metrics.clone(),
            Duration::from_secs(options.drift_interval_seconds),
        ));
    }

    let result = loop {
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() {
                    break Ok(());
                }
            }
            changed = leading.changed(), if options.leader_elect => {
                // A stop makes the campaign step down too; select! may see that first.
                if *stop.borrow() {
                    break Ok(());
                }
                if changed.is_err() || !*leading.borrow() {
                    break Err(Error::Input("lost leadership".into()));
                }
            }
            ended = tasks.join_next() => {
                if ended.is_none() {
                    break Ok(());
                }
            }
        }
    };
    queue.shut_down();
    tasks.abort_all();
    result
}

/// Turns a watch stream into queue keys.
async fn feed<K, S, F>(stream: S, queue: WorkQueue<Key>, requests: Store<HelmRequest>, keys: F)
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    F: Fn(K, &Store<HelmRequest>) -> Vec<Key>,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                for key in keys(obj, &requests) {
                    queue.add(key);
                }
            }
            Ok(watcher::Event::Delete(obj)) => {
                for key in keys(obj, &requests) {
                    queue.add(key);
                }
            }
            Ok(_) => {}
            // The watcher retries by itself; a short pause keeps a broken watch from spinning.
            Err(e) => {
                tracing::warn!(error = %e, "watch failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// How many HelmRequests of `store` are in each phase (`Unknown`: never synced).
pub fn phase_counts(store: &Store<HelmRequest>) -> Vec<(&'static str, i64)> {
    let mut counts = std::collections::BTreeMap::<&'static str, i64>::new();
    for hr in store.state() {
        let phase = match hr.status.as_ref().and_then(|s| s.phase.as_ref()) {
            Some(HelmRequestPhase::Pending) => "Pending",
            Some(HelmRequestPhase::Synced) => "Synced",
            Some(HelmRequestPhase::Failed) => "Failed",
            None => "Unknown",
        };
        *counts.entry(phase).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// A HelmRequest changed: it, and the HelmRequests that depend on it.
pub fn helm_request_keys(hr: &HelmRequest, store: &Store<HelmRequest>) -> Vec<Key> {
    let ns = hr.namespace().unwrap_or_default();
    let name = hr.name_any();
    let mut keys = vec![Key::HelmRequest(ns.clone(), name.clone())];
    for other in store.state() {
        if other.namespace().as_deref() == Some(ns.as_str())
            && other.spec.dependencies.contains(&name)
        {
            keys.push(Key::HelmRequest(ns.clone(), other.name_any()));
        }
    }
    keys
}

/// A ChartRepo changed: its status is synced, and HelmRequests using it look for new versions.
pub fn chart_repo_keys(repo: &ChartRepo, store: &Store<HelmRequest>) -> Vec<Key> {
    let name = repo.name_any();
    let mut keys = vec![Key::ChartRepo(
        repo.namespace().unwrap_or_default(),
        name.clone(),
    )];
    for hr in store.state() {
        if hr.spec.source.is_none()
            && hr
                .spec
                .chart
                .split_once('/')
                .is_some_and(|(r, _)| r == name)
        {
            keys.push(Key::HelmRequest(
                hr.namespace().unwrap_or_default(),
                hr.name_any(),
            ));
        }
    }
    keys
}

/// A ConfigMap or Secret changed: the HelmRequests of its namespace that read values or
/// credentials from it.
pub fn referencing_keys(namespace: &str, name: &str, store: &Store<HelmRequest>) -> Vec<Key> {
    store
        .state()
        .iter()
        .filter(|hr| hr.namespace().as_deref() == Some(namespace))
        .filter(|hr| {
            let from_values = hr.spec.values_from.iter().any(|v| {
                v.config_map_key_ref
                    .as_ref()
                    .is_some_and(|r| r.name == name)
                    || v.secret_key_ref.as_ref().is_some_and(|r| r.name == name)
            });
            let from_source = hr
                .spec
                .source
                .as_ref()
                .and_then(|s| s.http.as_ref())
                .and_then(|h| h.secret_ref.as_ref())
                .is_some_and(|r| r.name == name);
            from_values || from_source
        })
        .map(|hr| Key::HelmRequest(namespace.to_owned(), hr.name_any()))
        .collect()
}

async fn work(
    queue: WorkQueue<Key>,
    reconciler: Reconciler,
    requests: Store<HelmRequest>,
    repos: Store<ChartRepo>,
    metrics: Arc<Metrics>,
    drift_interval: Duration,
) {
    while let Some(key) = queue.next().await {
        let started = std::time::Instant::now();
        let outcome = match &key {
            Key::HelmRequest(ns, name) => {
                match requests.get(&StoreRef::<HelmRequest>::new(name).within(ns)) {
                    Some(hr) => reconciler.reconcile(&hr).await.map(|o| match o {
                        // Synced and unchanged: look for drift again later.
                        Outcome::Done if !hr.spec.suspend => Outcome::RequeueAfter(drift_interval),
                        o => o,
                    }),
                    None => Ok(Outcome::Done),
                }
            }
            Key::ChartRepo(ns, name) => {
                match repos.get(&StoreRef::<ChartRepo>::new(name).within(ns)) {
                    Some(repo) => sync_chart_repo(&reconciler, &repo)
                        .await
                        .map(|()| Outcome::Done),
                    None => Ok(Outcome::Done),
                }
            }
        };
        let failed = !matches!(outcome, Ok(Outcome::Done | Outcome::RequeueAfter(_)));
        let kind = match &key {
            Key::HelmRequest(..) => "HelmRequest",
            Key::ChartRepo(..) => "ChartRepo",
        };
        metrics.observe_reconcile(kind, started.elapsed(), failed);
        metrics.set_phases(phase_counts(&requests));
        match outcome {
            Ok(Outcome::Done) => queue.done(&key),
            Ok(Outcome::RequeueAfter(delay)) => {
                queue.done(&key);
                let q = queue.clone();
                let k = key.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    q.add(k);
                });
            }
            Ok(Outcome::Retry) => {
                queue.retry(&key);
            }
            Err(e) => {
                tracing::warn!(?key, error = %e, "reconcile failed");
                queue.retry(&key);
            }
        }
    }
}

/// Reads a ChartRepo's index now and records the outcome in its status (phase, last sync,
/// chart count, or the reason it failed).
pub async fn sync_chart_repo(reconciler: &Reconciler, repo: &ChartRepo) -> Result<()> {
    let ns = repo
        .namespace()
        .unwrap_or_else(|| reconciler.chart_repo_namespace.clone());
    let credentials = match &repo.spec.secret {
        Some(s) => {
            let sns = s.namespace.clone().unwrap_or_else(|| ns.clone());
            reconciler.credentials(&sns, &s.name).await
        }
        None => Ok(Credentials::default()),
    };
    let index = match credentials {
        Ok(c) => reconciler.repos.refresh(&repo.spec.url, &c).await,
        Err(e) => Err(e),
    };
    let mut status: ChartRepoStatus = repo.status.clone().unwrap_or_default();
    match index {
        Ok(index) => {
            status.phase = Some(ChartRepoPhase::Synced);
            status.reason = String::new();
            status.last_sync = helm_engine::release::Time::now().to_rfc3339();
            status.chart_count = Some(u32::try_from(index.entries.len()).unwrap_or(u32::MAX));
        }
        Err(e) => {
            status.phase = Some(ChartRepoPhase::Failed);
            status.reason = e.to_string();
        }
    }
    let api: Api<ChartRepo> = Api::namespaced(reconciler.client.clone(), &ns);
    api.patch_status(
        &repo.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "phase": status.phase,
            "reason": status.reason,
            "lastSync": status.last_sync,
            "chartCount": status.chart_count,
        }})),
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        Error::kube(
            format!("writing the status of ChartRepo {ns}/{}", repo.name_any()),
            e,
        )
    })
}

#[cfg(test)]
mod tests;
