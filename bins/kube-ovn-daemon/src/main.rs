//! `kube-ovn-daemon --node NAME --ovs-db REMOTE --socket PATH [--ovn-nb REMOTE]
//! [--datapath netdev]`: serves the `kube-ovn` CNI plugin on this node.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kube_ovn_daemon::nb::Northbound;
use kube_ovn_daemon::netlink::Netlink;
use kube_ovn_daemon::ovs::Ovs;
use kube_ovn_daemon::plug::Plugger;
use kube_ovn_daemon::{node, server};

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
    /// This node's name (its join port is `node-NAME`).
    #[arg(long)]
    node: String,
    /// The Open_vSwitch database remote, e.g. unix:/run/openvswitch/db.sock.
    #[arg(long = "ovs-db")]
    ovs_db: String,
    /// The unix socket the CNI plugin connects to (the netconf's server_socket).
    #[arg(long)]
    socket: PathBuf,
    /// OVN_Northbound remote: manifest mode, pod networks are read from NB ports.
    #[arg(long = "ovn-nb")]
    ovn_nb: Option<String>,
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
    let ovs = Ovs::connect(&args.ovs_db, &args.bridge, netdev).await?;
    let nb = match &args.ovn_nb {
        Some(remote) => Some(Northbound::connect(remote).await?),
        None => None,
    };
    let netlink = Netlink::current()?;
    let timeout = Duration::from_secs(args.address_timeout);
    if let Some(nb) = &nb {
        tokio::spawn(node::run_node_port(
            args.node.clone(),
            nb.clone(),
            ovs.clone(),
            netlink.clone(),
            args.mtu,
            timeout,
        ));
    } else {
        tracing::warn!("without --ovn-nb there is no source of pod networks in this build");
    }
    let plugger = Arc::new(Plugger {
        ovs,
        nb,
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
