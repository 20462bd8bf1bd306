//! The kubectl-plugin commands over Helm's release records (`captain get-manifest`, `history`,
//! `rollback`), reading and writing the same `helm.sh/release.v1` Secrets as `helm`, with
//! `helm`'s output.

use captain_core::Deployer;
use captain_core::storage::{ReleaseStore, StorageError};
use helm_engine::release::Release;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value as Json;
use std::path::PathBuf;

/// Where the cluster is: kubectl's `--kubeconfig` and `-n/--namespace`.
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// The namespace of the release (default: the kubeconfig context's, else `default`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// The kubeconfig file (default: `$KUBECONFIG`, `~/.kube/config`, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

/// `get-manifest NAME`: the release's rendered resources, as `helm get manifest` prints them.
#[derive(clap::Args, Debug)]
pub struct GetManifestArgs {
    /// The release name.
    pub name: String,
    /// A revision other than the latest.
    #[arg(long)]
    pub revision: Option<u32>,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// `history NAME`: the release's revisions, as `helm history` prints them.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// The release name.
    pub name: String,
    /// The most revisions to show (the latest ones).
    #[arg(long, default_value_t = 256)]
    pub max: usize,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// `rollback NAME REVISION`: a Helm revision rollback.
#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    /// The release name.
    pub name: String,
    /// The revision to go back to.
    pub revision: u32,
    /// Keep at most this many revisions (0: no limit).
    #[arg(long, default_value_t = captain_core::storage::DEFAULT_MAX_HISTORY)]
    pub history_max: usize,
    #[command(flatten)]
    cluster: ClusterArgs,
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

pub(crate) async fn connect(args: &ClusterArgs) -> Result<(kube::Client, String), String> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("Kubernetes cluster unreachable: {e}"))?,
    };
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config)
        .map_err(|e| format!("Kubernetes cluster unreachable: {e}"))?;
    Ok((client, namespace))
}

fn storage_error(e: StorageError) -> String {
    match e {
        StorageError::NotFound { .. } => "release: not found".into(),
        other => other.to_string(),
    }
}

/// Runs `get-manifest`.
pub fn get_manifest(args: GetManifestArgs) -> Result<String, String> {
    runtime()?.block_on(async {
        let (client, ns) = connect(&args.cluster).await?;
        let store = ReleaseStore::new(client, &ns);
        let rel = match args.revision {
            Some(r) => store.get(&args.name, r).await.map_err(storage_error)?,
            None => store
                .last(&args.name)
                .await
                .map_err(storage_error)?
                .ok_or("release: not found")?,
        };
        Ok(format!("{}\n", rel.manifest))
    })
}

/// Runs `history`.
pub fn history(args: HistoryArgs) -> Result<String, String> {
    runtime()?.block_on(async {
        let (client, ns) = connect(&args.cluster).await?;
        let store = ReleaseStore::new(client, &ns);
        let history = store.history(&args.name).await.map_err(storage_error)?;
        if history.is_empty() {
            return Err("release: not found".into());
        }
        let skip = history.len().saturating_sub(args.max);
        Ok(history_table(&history[skip..]))
    })
}

/// `helm history`'s table: a header and one row per revision, oldest first; cells padded to
/// their column's width (at most 60, longer text cut with `...`) and joined by a tab.
pub fn history_table(revisions: &[Release]) -> String {
    let mut rows = vec![vec![
        "REVISION".to_string(),
        "UPDATED".into(),
        "STATUS".into(),
        "CHART".into(),
        "APP VERSION".into(),
        "DESCRIPTION".into(),
    ]];
    for r in revisions {
        rows.push(vec![
            r.version.to_string(),
            r.info.last_deployed.format_ansic(),
            r.info.status.to_string(),
            r.chart_label(),
            r.chart.app_version().to_string(),
            r.info.description.clone(),
        ]);
    }
    table(&rows, 60)
}

/// gosuri/uitable as Helm configures it: every cell right-padded to its column's width, cells
/// wider than `max_width` cut to `max_width - 3` characters plus `...`, columns joined by a tab.
fn table(rows: &[Vec<String>], max_width: usize) -> String {
    let cut = |s: &str| -> String {
        if s.chars().count() > max_width {
            let mut t: String = s.chars().take(max_width.saturating_sub(3)).collect();
            t.push_str("...");
            t
        } else {
            s.to_string()
        }
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, row) in cells.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        out.push_str(&line.join("\t"));
    }
    out.push('\n');
    out
}

/// Runs `rollback`: Helm's rollback action, done by [`captain_core::Deployer::rollback`]
/// (pre/post-rollback hooks, the target's objects applied, the current revision's extra
/// objects pruned, a new revision "Rollback to N", older deployed ones superseded).
pub fn rollback(args: RollbackArgs) -> Result<String, String> {
    runtime()?.block_on(async {
        let (client, ns) = connect(&args.cluster).await?;
        let store = ReleaseStore::new(client.clone(), &ns).with_max_history(args.history_max);
        Deployer::new(client)
            .rollback(&store, &args.name, args.revision)
            .await
            .map(|_| "Rollback was a success! Happy Helming!\n".to_string())
            .map_err(|e| e.to_string())
    })
}

/// A template value as the JSON the API server takes: integral numbers as integers.
pub(crate) fn to_json(v: &helm_engine::Value) -> Json {
    use helm_engine::Value as V;
    match v {
        V::Bool(b) => Json::Bool(*b),
        V::Int(i) | V::Int64(i) => Json::from(*i),
        V::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Json::from(*f as i64),
        V::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        V::String(s) => Json::String(s.clone()),
        V::List(l) => Json::Array(l.iter().map(to_json).collect()),
        V::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        _ => match helm_engine::yaml::to_yaml(v)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
        {
            Some(i) => Json::from(i),
            None => Json::Null,
        },
    }
}
