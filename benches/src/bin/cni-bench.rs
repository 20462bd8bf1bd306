//! `cni-bench`: time from CNI ADD to a ping-able pod, for 1 pod and for many concurrent ADDs.
//!
//! It runs against a live node: the sandbox with kube-ovn-controller watching a manifest
//! directory and kube-ovn-daemon serving its socket (what `scripts/demo` leaves running). It
//! writes its own namespace, subnet and pods into that directory, waits until the controller
//! has allocated them (so allocation is not timed), then for each round creates one network
//! namespace per pod and executes the `kube-ovn` plugin for all of them at once, as a runtime
//! would. Per pod it measures the ADD itself and ADD-to-ping-able: from starting the plugin to
//! the first ICMP echo reply from the pod's gateway (the logical router) seen from inside the
//! pod, polled every 20 ms. Everything it made is removed at the end (DEL, namespaces, its
//! manifest file).
//!
//! ```text
//! scripts/demo        # leaves the sandbox, controller and daemon running
//! cni-bench --socket /tmp/ovn-sandbox/kube-ovn-daemon.sock --manifests examples \
//!     --plugin target/debug/kube-ovn --pinger target/debug/kube-ovn-pinger \
//!     --ovn-nb unix:/tmp/ovn-sandbox/nb.sock --pods 100
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
#[command(about = "Time from CNI ADD to a ping-able pod")]
struct Args {
    /// kube-ovn-daemon's socket.
    #[arg(long)]
    socket: PathBuf,
    /// The manifest directory the running kube-ovn-controller watches.
    #[arg(long)]
    manifests: PathBuf,
    /// The kube-ovn CNI plugin.
    #[arg(long)]
    plugin: PathBuf,
    /// kube-ovn-pinger.
    #[arg(long)]
    pinger: PathBuf,
    /// OVN_Northbound remote, to see when the controller has allocated the pods.
    #[arg(long = "ovn-nb")]
    ovn_nb: String,
    /// Pods plugged concurrently in the large round (a 1-pod round always runs first).
    #[arg(long, default_value_t = 100)]
    pods: usize,
}

const NAMESPACE: &str = "cni-bench";
const MANIFEST: &str = "zz-cni-bench.yaml";
const BUDGET: Duration = Duration::from_secs(120);

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cni-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Removes what the bench made, also when it fails half-way.
struct Cleanup<'a> {
    args: &'a Args,
    namespaces: Vec<(String, String)>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for (pod, netns) in &self.namespaces {
            let _ = cni(self.args, "DEL", pod, netns);
            let _ = Command::new("ip").args(["netns", "delete", netns]).output();
        }
        let _ = std::fs::remove_file(self.args.manifests.join(MANIFEST));
    }
}

fn run(args: &Args) -> Result<(), String> {
    let total = args.pods + 1;
    let pods: Vec<String> = (0..total).map(|i| format!("p{i}")).collect();
    let mut manifest = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n---\n\
         apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {{name: {NAMESPACE}}}\n\
         spec: {{cidrBlock: 10.18.0.0/16, namespaces: [{NAMESPACE}]}}\n"
    );
    for pod in &pods {
        manifest.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, namespace: {NAMESPACE}}}\n\
             spec: {{containers: [{{name: c, image: x}}]}}\n"
        ));
    }
    let mut cleanup = Cleanup {
        args,
        namespaces: Vec::new(),
    };
    std::fs::write(args.manifests.join(MANIFEST), manifest)
        .map_err(|e| format!("write {}: {e}", args.manifests.display()))?;
    eprintln!("waiting for the controller to allocate {total} pods");
    wait(BUDGET, || allocated(args) >= total)
        .map_err(|()| format!("the controller did not allocate {total} pods in {BUDGET:?}"))?;
    for pod in &pods {
        let netns = format!("cnib-{}-{pod}", std::process::id());
        ip(&["netns", "add", &netns])?;
        ip(&["-n", &netns, "link", "set", "lo", "up"])?;
        cleanup.namespaces.push((pod.clone(), netns));
    }
    let (first, rest) = cleanup.namespaces.split_at(1);
    for (label, round) in [("1 pod", first), ("concurrent", rest)] {
        let started = Instant::now();
        let results: Vec<Result<(Duration, Duration), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = round
                .iter()
                .map(|(pod, netns)| scope.spawn(move || plug_and_ping(args, pod, netns)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
                .collect()
        });
        let wall = started.elapsed();
        let mut add = Vec::new();
        let mut pingable = Vec::new();
        for result in results {
            let (a, p) = result?;
            add.push(a);
            pingable.push(p);
        }
        println!(
            "{label:>10} ({} pods, wall {:.0} ms): ADD p50 {} p99 {} max {} | ADD to ping-able p50 {} p99 {} max {}",
            round.len(),
            wall.as_secs_f64() * 1e3,
            ms(percentile(&mut add, 50)),
            ms(percentile(&mut add, 99)),
            ms(percentile(&mut add, 100)),
            ms(percentile(&mut pingable, 50)),
            ms(percentile(&mut pingable, 99)),
            ms(percentile(&mut pingable, 100)),
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// The nearest-rank percentile.
fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * samples.len()).div_ceil(100).clamp(1, samples.len());
    samples[rank - 1]
}

fn plug_and_ping(args: &Args, pod: &str, netns: &str) -> Result<(Duration, Duration), String> {
    let started = Instant::now();
    let result = cni(args, "ADD", pod, netns)?;
    let add = started.elapsed();
    let result: serde_json::Value =
        serde_json::from_str(&result).map_err(|e| format!("ADD {pod}: {e}: {result}"))?;
    let gateway = result["ips"][0]["gateway"]
        .as_str()
        .ok_or_else(|| format!("ADD {pod}: no gateway in {result}"))?
        .to_owned();
    let pinger = args.pinger.display().to_string();
    wait(Duration::from_secs(30), || {
        Command::new("ip")
            .args(["netns", "exec", netns, &pinger, "ping", &gateway, "20"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
    .map_err(|()| format!("{pod} never answered from {gateway}"))?;
    Ok((add, started.elapsed()))
}

/// Executes the plugin as a runtime does; returns its stdout, or its error JSON.
fn cni(args: &Args, command: &str, pod: &str, netns: &str) -> Result<String, String> {
    let container_id = format!("{:012x}{:052x}", hash(netns), 0);
    let netconf = serde_json::json!({
        "cniVersion": "1.0.0", "name": "kube-ovn", "type": "kube-ovn",
        "server_socket": args.socket,
    })
    .to_string();
    let mut child = Command::new(&args.plugin)
        .env_clear()
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", container_id)
        .env("CNI_NETNS", Path::new("/run/netns").join(netns))
        .env("CNI_IFNAME", "eth0")
        .env(
            "CNI_ARGS",
            format!("K8S_POD_NAMESPACE={NAMESPACE};K8S_POD_NAME={pod}"),
        )
        .env("CNI_PATH", args.plugin.parent().unwrap_or(Path::new("/")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run {}: {e}", args.plugin.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(netconf.as_bytes())
            .map_err(|e| format!("netconf to the plugin: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for the plugin: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{command} {pod}: {stdout}"))
    }
}

/// FNV-1a, to derive distinct container ids per pod namespace.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) & 0xffff_ffff_ffff
}

fn allocated(args: &Args) -> usize {
    Command::new("ovn-nbctl")
        .args([
            &format!("--db={}", args.ovn_nb),
            "--bare",
            "--columns=name",
            "find",
            "Logical_Switch_Port",
            &format!("external_ids:namespace={NAMESPACE}"),
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        })
        .unwrap_or(0)
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn wait(budget: Duration, mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + budget;
    loop {
        if done() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
