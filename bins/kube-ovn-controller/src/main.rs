//! `kube-ovn-controller`: Kubernetes networking onto OVN.
//!
//! ```text
//! kube-ovn-controller --manifests DIR --ovn-nb REMOTE [--once]
//! kube-ovn-controller --ovn-nb REMOTE [--kubeconfig FILE] [--metrics-addr ADDR] [...]
//! ```
//!
//! With `--manifests` it reads every YAML under DIR, allocates addresses, converges OVN NB;
//! with `--once` it exits when done (status 2, after converging everything valid, when some
//! input is invalid), otherwise it keeps watching the directory. A file that is not valid YAML
//! keeps its last valid contents while watched; one never read valid holds every write back,
//! since converging without it would delete what it declares.
//!
//! Every NB request is bounded by `--ovn-timeout` and the NB connection is probed for
//! inactivity (`--ovsdb-inactivity-timeout`), so an NB that stops answering fails a pass
//! instead of hanging it: with `--once` the exit status is 1; otherwise the pass is retried
//! with backoff until NB answers again.
//!
//! Without `--manifests` it runs in a cluster (in-cluster config, `$KUBECONFIG` or
//! `~/.kube/config`, or `--kubeconfig`): see `kube_bridge::cluster_controller`. It serves
//! Prometheus metrics on `--metrics-addr` and stops cleanly (releasing its Lease) on SIGTERM
//! or Ctrl-C. Watching a manifest directory, it also stops on either.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{ArgAction, Parser};
use kube_bridge::cluster_controller::{ClusterConfig, Defaults, LeaderElection};
use kube_bridge::controller::{Controller, NbOptions};
use kube_bridge::metrics::Metrics;
use kube_bridge::objects::{ManifestDir, ManifestLoad};
use kube_bridge::translate::{DEFAULT_CIDR, JOIN_CIDR};

#[derive(Parser)]
#[command(version, about = "Kubernetes networking onto OVN")]
struct Args {
    /// Directory of Kubernetes manifests (multi-document YAML): run without a cluster.
    #[arg(long)]
    manifests: Option<PathBuf>,
    /// OVN_Northbound remote: unix:PATH, tcp:IP:PORT, ssl:IP:PORT, or a comma-separated list.
    #[arg(long = "ovn-nb")]
    ovn_nb: String,
    /// Seconds each OVN NB request may take, and how long a pass waits for a lost NB
    /// connection to come back (Kube-OVN's `--ovn-timeout`).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    ovn_timeout: u64,
    /// Seconds without any input from NB before its connection is dropped and re-established
    /// (an `echo` probe goes out at half of it; 0 disables probing).
    #[arg(long, default_value_t = 10)]
    ovsdb_inactivity_timeout: u64,
    /// Seconds between full passes in a cluster even when nothing changed, which repair NB
    /// rows changed or deleted by hand (0: only on changes).
    #[arg(long, default_value_t = 300, conflicts_with = "manifests")]
    resync_interval: u64,
    /// Converge once and exit (manifest mode).
    #[arg(long, requires = "manifests")]
    once: bool,
    /// Kubeconfig file (cluster mode); default: in-cluster config, $KUBECONFIG, ~/.kube/config.
    #[arg(long, conflicts_with = "manifests")]
    kubeconfig: Option<PathBuf>,
    /// Where to serve /metrics (cluster mode).
    #[arg(long, default_value = "0.0.0.0:10660", conflicts_with = "manifests")]
    metrics_addr: SocketAddr,
    /// This replica's identity for leader election; default: $POD_NAME, else the host name.
    #[arg(long)]
    identity: Option<String>,
    /// Whether to elect a leader through a Lease (turn off only with a single replica).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    leader_elect: bool,
    /// The Lease's namespace; default: $KUBE_NAMESPACE, $POD_NAMESPACE, the service account's
    /// namespace, else kube-system.
    #[arg(long)]
    lease_namespace: Option<String>,
    /// The Lease's name.
    #[arg(long, default_value = "kube-ovn-controller")]
    lease_name: String,
    /// The default subnet's CIDR(s) when it is created at start-up (`v4` or `v4,v6`).
    #[arg(long, default_value = DEFAULT_CIDR)]
    default_cidr: String,
    /// The default subnet's gateway(s); default: the first address of each CIDR.
    #[arg(long)]
    default_gateway: Option<String>,
    /// The join subnet's CIDR(s) when it is created at start-up.
    #[arg(long, default_value = JOIN_CIDR)]
    node_switch_cidr: String,
    /// The join subnet's gateway(s); default: the first address of each CIDR.
    #[arg(long)]
    node_switch_gateway: Option<String>,
}

fn nb_options(args: &Args) -> NbOptions {
    NbOptions {
        request_timeout: Duration::from_secs(args.ovn_timeout),
        probe_interval: (args.ovsdb_inactivity_timeout > 0)
            .then(|| Duration::from_millis(args.ovsdb_inactivity_timeout * 500)),
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn identity(args: &Args) -> String {
    args.identity
        .clone()
        .or_else(|| env("POD_NAME"))
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "kube-ovn-controller".to_owned())
}

fn lease_namespace(args: &Args) -> String {
    args.lease_namespace
        .clone()
        .or_else(|| env("KUBE_NAMESPACE"))
        .or_else(|| env("POD_NAMESPACE"))
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| "kube-system".to_owned())
}

async fn kube_client(kubeconfig: Option<&std::path::Path>) -> Result<kube::Client, String> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("no cluster configuration: {e}"))?,
    };
    kube::Client::try_from(config).map_err(|e| format!("cannot build the API client: {e}"))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn cluster(args: Args) -> ExitCode {
    let client = match kube_client(args.kubeconfig.as_deref()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let metrics = Arc::new(Metrics::new());
    let listener = match tokio::net::TcpListener::bind(args.metrics_addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot serve metrics on {}: {e}", args.metrics_addr);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %args.metrics_addr, "serving /metrics");
    let serving = tokio::spawn(kube_bridge::metrics::serve(listener, metrics.clone()));
    let mut config = ClusterConfig::new(&args.ovn_nb, &identity(&args));
    config.nb = nb_options(&args);
    config.resync = (args.resync_interval > 0).then(|| Duration::from_secs(args.resync_interval));
    config.leader_election = args.leader_elect.then(|| LeaderElection {
        name: args.lease_name.clone(),
        ..LeaderElection::new(&lease_namespace(&args))
    });
    config.defaults = Defaults {
        default_cidr: args.default_cidr.clone(),
        default_gateway: args.default_gateway.clone(),
        join_cidr: args.node_switch_cidr.clone(),
        join_gateway: args.node_switch_gateway.clone(),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        terminated().await;
        tracing::info!("signal received");
        let _ = stop.send(true);
    });
    let result = kube_bridge::cluster_controller::run(client, config, metrics, stopped).await;
    serving.abort();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// A fingerprint of the directory's YAML files, to notice changes.
fn fingerprint(dir: &std::path::Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(m) = e.metadata() {
                out.push((p, m.len(), m.modified().ok()));
            }
        }
    }
    out.sort();
    out
}

/// Waits until the directory stops changing (two fingerprints 250 ms apart agree, for at most
/// 5 s) and returns its fingerprint: a file still being written would otherwise be read half
/// done, and the pods it lacks would look deleted and lose their addresses.
async fn settled(
    dir: &std::path::Path,
    mut last: Vec<(PathBuf, u64, Option<SystemTime>)>,
) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = fingerprint(dir);
        if now == last {
            break;
        }
        last = now;
    }
    last
}

async fn pass(
    controller: &mut Controller,
    manifests: &mut ManifestDir,
    dir: &std::path::Path,
) -> Result<bool, String> {
    let load = manifests.load(dir).map_err(|e| e.to_string())?;
    converge(controller, load).await
}

/// Converges NB to what a load of the directory declares; `Ok(false)` when the input had
/// errors (exit code 2 with `--once`).
async fn converge(controller: &mut Controller, load: ManifestLoad) -> Result<bool, String> {
    let ManifestLoad {
        objects,
        mut errors,
        unknown,
    } = load;
    if !unknown.is_empty() {
        // What an unparsable file declares is unknown: converging without it could delete its
        // pods' ports and release their addresses. Nothing is written until it parses.
        for e in &errors {
            eprintln!("invalid input: {e}");
        }
        for file in &unknown {
            eprintln!(
                "not converging: {} is not valid YAML and was never read",
                file.display()
            );
        }
        return Ok(false);
    }
    let report = controller.converge(&objects).await;
    if let Some(e) = &report.nb_unavailable {
        for e in errors.iter().chain(&report.errors) {
            eprintln!("invalid input: {e}");
        }
        return Err(format!("OVN NB unavailable: {e}"));
    }
    errors.extend(report.errors);
    for e in &errors {
        eprintln!("invalid input: {e}");
    }
    for (group, e) in &report.reconcile.failed {
        eprintln!("could not converge {group}: {e}");
    }
    tracing::info!(
        pods = report.pods,
        restored = report.restored,
        allocated = report.allocated,
        released = report.released,
        transactions = report.reconcile.transactions,
        operations = report.reconcile.operations,
        "converged"
    );
    if !report.reconcile.failed.is_empty() {
        return Err(format!(
            "{} objects could not be written to NB",
            report.reconcile.failed.len()
        ));
    }
    Ok(errors.is_empty())
}

/// When to retry a failed watch-mode pass: 1 s after the first failure, doubling up to 30 s.
#[derive(Debug, Default)]
struct Retry {
    failures: u32,
    at: Option<tokio::time::Instant>,
}

impl Retry {
    /// Records a failure; returns the delay until the retry.
    fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay =
            Duration::from_secs(1 << (self.failures - 1).min(5)).min(Duration::from_secs(30));
        self.at = Some(tokio::time::Instant::now() + delay);
        delay
    }

    /// Whether a retry is due.
    fn due(&self) -> bool {
        self.at.is_some_and(|at| tokio::time::Instant::now() >= at)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let Some(manifests) = args.manifests.clone() else {
        return cluster(args).await;
    };
    let mut seen = fingerprint(&manifests);
    // The first read of the directory (parsing is CPU-bound) overlaps connecting to NB and
    // loading its contents (mostly waiting on the server).
    let loading = {
        let manifests = manifests.clone();
        tokio::task::spawn_blocking(move || {
            let mut dir = ManifestDir::default();
            let load = dir.load(&manifests);
            (dir, load)
        })
    };
    let connected = Controller::connect_with(&args.ovn_nb, &nb_options(&args)).await;
    let (mut dir, load) = match loading.await {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("reading {}: {e}", manifests.display());
            return ExitCode::FAILURE;
        }
    };
    let mut controller = match connected {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot connect to OVN NB {}: {e}", args.ovn_nb);
            return ExitCode::FAILURE;
        }
    };
    let first = match load {
        Ok(load) => converge(&mut controller, load).await,
        Err(e) => Err(e.to_string()),
    };
    if args.once {
        return match first {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(2),
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    // A pass that failed (NB unavailable, writes refused) is retried with backoff even when
    // the directory does not change: nothing else would bring NB back in line.
    let mut retry = Retry::default();
    if let Err(e) = first {
        eprintln!("{e}");
        retry.failed();
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop = terminated();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => return ExitCode::SUCCESS,
        }
        let now = fingerprint(&manifests);
        let changed = now != seen;
        if changed {
            seen = settled(&manifests, now).await;
        }
        if changed || retry.due() {
            match pass(&mut controller, &mut dir, &manifests).await {
                Ok(_) => retry = Retry::default(),
                Err(e) => {
                    eprintln!("{e}");
                    let delay = retry.failed();
                    eprintln!("retrying in {} s", delay.as_secs());
                }
            }
        }
    }
}
