//! `kube-ovn-daemon --node NAME --ovs-db REMOTE --socket PATH [--ovn-nb REMOTE | --kubeconfig
//! FILE] [--datapath netdev]`: serves the `kube-ovn` CNI plugin on this node.
//!
//! With `--ovn-nb` (manifest mode) pods' networks come from NB; without it, from the Kubernetes
//! API (in-cluster config, `--kubeconfig`, `$KUBECONFIG` or `~/.kube/config`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kube_ovn_daemon::cluster::ClusterSource;
use kube_ovn_daemon::nb::Northbound;
use kube_ovn_daemon::netlink::Netlink;
use kube_ovn_daemon::ovs::Ovs;
use kube_ovn_daemon::plug::Plugger;
use kube_ovn_daemon::source::NetworkSource;
use kube_ovn_daemon::{Error, node, server};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Datapath {
    /// The kernel datapath.
    System,
    /// ovs-vswitchd's userspace datapath (turns tx checksum offload off on pod veths).
    Netdev,
}

#[derive(Parser)]
#[command(version, about = "Kube-OVN node agent: plugs pods into br-int")]
struct Args {
    /// This node's name (its join port is `node-NAME`); Kube-OVN's manifests pass it as
    /// KUBE_NODE_NAME.
    #[arg(long, alias = "node-name", env = "KUBE_NODE_NAME")]
    node: String,
    /// The Open_vSwitch database remote, e.g. unix:/run/openvswitch/db.sock.
    #[arg(long = "ovs-db")]
    ovs_db: String,
    /// The unix socket the CNI plugin connects to (the netconf's server_socket).
    #[arg(long)]
    socket: PathBuf,
    /// OVN_Northbound remote: manifest mode, pod networks are read from NB ports.
    #[arg(long = "ovn-nb", conflicts_with = "kubeconfig")]
    ovn_nb: Option<String>,
    /// Kubeconfig file (cluster mode); default: in-cluster config, $KUBECONFIG, ~/.kube/config.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The datapath br-int runs on.
    #[arg(long, value_enum, default_value = "system")]
    datapath: Datapath,
    /// The integration bridge.
    #[arg(long, default_value = "br-int")]
    bridge: String,
    /// MTU of pod interfaces and ovn0.
    #[arg(long, default_value_t = 1400)]
    mtu: u32,
    /// Seconds ADD waits for the controller to allocate the pod's address.
    #[arg(long, default_value_t = 30)]
    address_timeout: u64,
    /// Seconds ADD waits for ovn-controller's ovn-installed.
    #[arg(long, default_value_t = 30)]
    install_timeout: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kube-ovn-daemon: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kube-ovn-daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> kube_ovn_daemon::Result<()> {
    let netdev = args.datapath == Datapath::Netdev;
    // The cluster configuration first: a bad kubeconfig is reported before any connection.
    let source = match &args.ovn_nb {
        Some(remote) => NetworkSource::Northbound(Northbound::connect(remote).await?),
        None => NetworkSource::Cluster(ClusterSource::start(
            kube_client(args.kubeconfig.as_deref()).await?,
            &args.node,
        )),
    };
    let ovs = Ovs::connect(&args.ovs_db, &args.bridge, netdev).await?;
    let netlink = Netlink::current()?;
    let timeout = Duration::from_secs(args.address_timeout);
    tokio::spawn(node::run_node_port(
        args.node.clone(),
        source.clone(),
        ovs.clone(),
        netlink.clone(),
        args.mtu,
        timeout,
    ));
    let plugger = Arc::new(Plugger {
        ovs,
        source,
        netlink,
        netdev,
        mtu: args.mtu,
        address_timeout: timeout,
        install_timeout: Duration::from_secs(args.install_timeout),
    });
    let listener = server::bind(&args.socket)?;
    tracing::info!(socket = %args.socket.display(), node = args.node, "serving the CNI plugin");
    let socket = args.socket.clone();
    let result = tokio::select! {
        served = server::serve(listener, plugger) => served,
        _ = shutdown() => Ok(()),
    };
    let _ = std::fs::remove_file(&socket);
    result
}

async fn kube_client(
    kubeconfig: Option<&std::path::Path>,
) -> kube_ovn_daemon::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let what = format!("kubeconfig {}", path.display());
            let file = kube::config::Kubeconfig::read_from(path).map_err(|e| Error::Kube {
                what: what.clone(),
                source: kube::Error::InferKubeconfig(e),
            })?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Kube {
                    what,
                    source: kube::Error::InferKubeconfig(e),
                })?
        }
        None => kube::Config::infer().await.map_err(|e| Error::Kube {
            what: "no cluster configuration (in-cluster, $KUBECONFIG or ~/.kube/config); \
                   pass --kubeconfig, or --ovn-nb for manifest mode"
                .into(),
            source: kube::Error::InferConfig(e),
        })?,
    };
    kube::Client::try_from(config).map_err(|source| Error::Kube {
        what: "build the API client".into(),
        source,
    })
}

async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
