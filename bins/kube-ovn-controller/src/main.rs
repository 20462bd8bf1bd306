//! `kube-ovn-controller`: Kubernetes networking onto OVN.
//!
//! ```text
//! kube-ovn-controller --manifests DIR --ovn-nb REMOTE [--once]
//! ```
//!
//! Reads every YAML under DIR, allocates addresses, converges OVN NB; with `--once` it exits
//! when done (status 2, after converging everything valid, when some input is invalid),
//! otherwise it keeps watching the directory. Running against an API server is not available
//! in this build.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use kube_bridge::Objects;
use kube_bridge::controller::Controller;

#[derive(Parser)]
#[command(
    version,
    about = "Kubernetes networking onto OVN (manifest-directory mode)"
)]
struct Args {
    /// Directory of Kubernetes manifests (multi-document YAML).
    #[arg(long)]
    manifests: PathBuf,
    /// OVN_Northbound remote: unix:PATH, tcp:IP:PORT, ssl:IP:PORT, or a comma-separated list.
    #[arg(long = "ovn-nb")]
    ovn_nb: String,
    /// Converge once and exit.
    #[arg(long)]
    once: bool,
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

async fn pass(controller: &mut Controller, dir: &std::path::Path) -> Result<bool, String> {
    let (objects, mut errors) = Objects::load_dir(dir).map_err(|e| e.to_string())?;
    let report = controller.converge(&objects).await;
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

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut controller = match Controller::connect(&args.ovn_nb).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot connect to OVN NB {}: {e}", args.ovn_nb);
            return ExitCode::FAILURE;
        }
    };
    let mut seen = fingerprint(&args.manifests);
    let first = pass(&mut controller, &args.manifests).await;
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
    if let Err(e) = first {
        eprintln!("{e}");
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        }
        let now = fingerprint(&args.manifests);
        if now != seen {
            seen = now;
            if let Err(e) = pass(&mut controller, &args.manifests).await {
                eprintln!("{e}");
            }
        }
    }
}
