//! `controller-bench`: `kube-ovn-controller --manifests DIR --ovn-nb unix:SOCK --once` from an
//! empty NB to converged, then again on the unchanged directory (which must write nothing),
//! with the ovn-nbctl anchor on a second empty server in the same run.
//!
//! ```text
//! controller-bench --controller target/release/kube-ovn-controller \
//!     [--pods 10000 --namespaces 100 --services 1000 --policies 500 --subnets 10 --nodes 3]
//! ```
//!
//! It writes the manifest directory and starts its own NB ovsdb-servers in a fresh temp dir
//! (removed on exit, the servers stopped). "Wrote nothing" is proven twice: the controller's
//! own report (`transactions=0` in its log) and the NB database file, to which a standalone
//! ovsdb-server appends one record per committed transaction, keeping its size.
//!
//! Prints one JSON line per measurement, each with the load average at its end.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use ovn_benches::nbctl::create_switches_and_ports;

#[derive(Parser)]
struct Args {
    /// The kube-ovn-controller executable (build it with --release).
    #[arg(long)]
    controller: PathBuf,
    /// Pods (spread evenly over the namespaces).
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Namespaces.
    #[arg(long, default_value_t = 100)]
    namespaces: usize,
    /// Services (with selectors; endpoints are derived from the selected pods).
    #[arg(long, default_value_t = 1_000)]
    services: usize,
    /// NetworkPolicies.
    #[arg(long, default_value_t = 500)]
    policies: usize,
    /// Subnets besides the default one, each given to a share of the namespaces (the rest
    /// stay in the default subnet).
    #[arg(long, default_value_t = 10)]
    subnets: usize,
    /// Nodes (each gets a join address and a node port).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Ports per ovn-nbctl invocation in the anchor.
    #[arg(long, default_value_t = 500)]
    nbctl_batch: usize,
    /// Skip the ovn-nbctl anchor.
    #[arg(long)]
    no_anchor: bool,
    /// Keep the temp dir (manifests, databases, logs) for inspection.
    #[arg(long)]
    keep: bool,
}

/// A temp dir removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("controller-bench.{}.{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A standalone OVN_Northbound ovsdb-server on a unix socket in its own directory; killed on
/// drop.
struct NbServer {
    child: Child,
    db: PathBuf,
    sock: PathBuf,
}

impl NbServer {
    fn start(dir: &Path) -> Result<NbServer, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let db = dir.join("nb.db");
        let sock = dir.join("nb.sock");
        let schema = ["/usr/share/ovn/ovn-nb.ovsschema"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .ok_or("no /usr/share/ovn/ovn-nb.ovsschema: install ovn-central")?;
        let out = Command::new("ovsdb-tool")
            .arg("create")
            .arg(&db)
            .arg(schema)
            .output()
            .map_err(|e| format!("ovsdb-tool: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ovsdb-tool create: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let child = Command::new("ovsdb-server")
            .env("OVS_RUNDIR", dir)
            .arg("--no-chdir")
            .arg(format!("--log-file={}", dir.join("nb.log").display()))
            .arg(format!("--unixctl={}", dir.join("nb.ctl").display()))
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(&db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("ovsdb-server: {e}"))?;
        let server = NbServer { child, db, sock };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !server.sock.exists() {
            if Instant::now() > deadline {
                return Err("ovsdb-server did not create its socket within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn remote(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    /// The database file's size: it grows by one record per committed transaction.
    fn db_bytes(&self) -> Result<u64, String> {
        std::fs::metadata(&self.db)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", self.db.display()))
    }

    /// Rows in the tables the controller fills (one `ovsdb-client` count query).
    fn count(&self, table: &str) -> Result<usize, String> {
        let txn = format!(
            r#"["OVN_Northbound",{{"op":"select","table":"{table}","where":[],"columns":["_uuid"]}}]"#
        );
        let out = Command::new("ovsdb-client")
            .arg("transact")
            .arg(self.remote())
            .arg(txn)
            .output()
            .map_err(|e| format!("ovsdb-client: {e}"))?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("ovsdb-client transact output: {e}"))?;
        v[0]["rows"]
            .as_array()
            .map(Vec::len)
            .ok_or_else(|| format!("ovsdb-client transact: unexpected reply {v}"))
    }
}

impl Drop for NbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The subnet a namespace's pods live in: `bench-N` for the first namespaces, else the
/// default subnet (`None`).
fn namespace_subnet(a: &Args, ns: usize) -> Option<usize> {
    // Half the namespaces get their own subnets, a few namespaces per subnet.
    let per = (a.namespaces / 2).div_ceil(a.subnets.max(1)).max(1);
    (a.subnets > 0 && ns / per < a.subnets).then_some(ns / per)
}

/// Writes the manifests: `cluster.yaml` (nodes, subnets) and one file per namespace (the
/// namespace, its pods, services and policies).
fn write_manifests(a: &Args, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    let mut cluster = String::new();
    for n in 0..a.nodes {
        let _ = write!(
            cluster,
            "---\napiVersion: v1\nkind: Node\nmetadata: {{name: node-{n}}}\n"
        );
    }
    for s in 0..a.subnets {
        let namespaces: Vec<String> = (0..a.namespaces)
            .filter(|&ns| namespace_subnet(a, ns) == Some(s))
            .map(|ns| format!("ns-{ns:03}"))
            .collect();
        let _ = write!(
            cluster,
            "---\napiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {{name: bench-{s}}}\n\
             spec:\n  cidrBlock: 10.{}.0.0/16\n  gatewayType: {}\n  natOutgoing: true\n  namespaces: [{}]\n",
            100 + s,
            if s % 2 == 0 {
                "distributed"
            } else {
                "centralized\n  gatewayNode: node-0"
            },
            namespaces.join(", ")
        );
    }
    write("cluster.yaml", &cluster)?;
    let pods_per_ns = a.pods.div_ceil(a.namespaces);
    let services_per_ns = a.services.div_ceil(a.namespaces);
    let policies_per_ns = a.policies.div_ceil(a.namespaces);
    let apps = services_per_ns.max(1);
    let (mut pods, mut services, mut policies) = (0, 0, 0);
    for ns in 0..a.namespaces {
        let name = format!("ns-{ns:03}");
        let mut doc = format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{team: team-{}, kubernetes.io/metadata.name: {name}}}\n",
            ns % 10
        );
        for p in 0..pods_per_ns {
            if pods == a.pods {
                break;
            }
            pods += 1;
            let _ = write!(
                doc,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{}-{p:04}\n  namespace: {name}\n  labels: {{app: app-{}, tier: {}}}\n\
                 spec:\n  nodeName: node-{}\n  containers:\n  - name: main\n    image: registry.example/app:1\n    ports:\n    - {{name: http, containerPort: 8080, protocol: TCP}}\n    - {{name: metrics, containerPort: 9090, protocol: TCP}}\n",
                p % apps,
                p % apps,
                if p % 2 == 0 { "web" } else { "worker" },
                p % a.nodes.max(1)
            );
        }
        for s in 0..services_per_ns {
            if services == a.services {
                break;
            }
            services += 1;
            let _ = write!(
                doc,
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{s}, namespace: {name}}}\n\
                 spec:\n  clusterIP: 10.96.{}.{}\n  selector: {{app: app-{s}}}\n{}  ports:\n  - {{name: http, port: 80, targetPort: http, protocol: TCP}}\n  - {{name: dns, port: 53, targetPort: 5353, protocol: UDP}}\n",
                services / 250,
                services % 250 + 1,
                if s % 5 == 0 {
                    "  sessionAffinity: ClientIP\n"
                } else {
                    ""
                }
            );
        }
        for k in 0..policies_per_ns {
            if policies == a.policies {
                break;
            }
            policies += 1;
            let _ = write!(
                doc,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: pol-{k}, namespace: {name}}}\n\
                 spec:\n  podSelector: {{matchLabels: {{app: app-{}}}}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n\
                 \x20 - from:\n    - podSelector: {{matchLabels: {{tier: web}}}}\n    - namespaceSelector: {{matchLabels: {{team: team-{}}}}}\n\
                 \x20     podSelector:\n        matchExpressions: [{{key: tier, operator: In, values: [web, worker]}}]\n\
                 \x20   - ipBlock: {{cidr: 172.16.0.0/12, except: [172.16.1.0/24]}}\n    ports: [{{protocol: TCP, port: http}}, {{protocol: TCP, port: 9090}}]\n\
                 \x20 egress:\n  - to:\n    - namespaceSelector: {{}}\n    ports: [{{protocol: UDP, port: 53}}]\n  - to:\n    - podSelector: {{matchLabels: {{app: app-{}}}}}\n",
                k % apps,
                (ns + 1) % 10,
                (k + 1) % apps
            );
        }
        write(&format!("{name}.yaml"), &doc)?;
    }
    Ok(())
}

/// The text without terminal colour sequences (`ESC [ ... m`), which tracing may add.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One `--once` run: wall seconds, exit code and the transactions the controller reports.
fn run_controller(
    a: &Args,
    dir: &Path,
    remote: &str,
    log: &Path,
) -> Result<(f64, i32, Option<u64>), String> {
    let started = Instant::now();
    let out = Command::new(&a.controller)
        .arg("--manifests")
        .arg(dir)
        .arg("--ovn-nb")
        .arg(remote)
        .arg("--once")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", a.controller.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = strip_ansi(&String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::write(log, stderr.as_bytes());
    // The "converged" line carries `transactions=N`.
    let transactions = stderr
        .lines()
        .filter(|l| l.contains("converged"))
        .filter_map(|l| {
            let rest = l.split("transactions=").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .next_back();
    Ok((seconds, out.status.code().unwrap_or(-1), transactions))
}

/// The pod ports the controller wrote, as (switch, port, "mac ip") for the anchor to recreate.
fn pod_ports(server: &NbServer) -> Result<Vec<(String, String, String)>, String> {
    let txn = r#"["OVN_Northbound",{"op":"select","table":"Logical_Switch_Port","where":[],"columns":["name","addresses","external_ids"]}]"#;
    let out = Command::new("ovsdb-client")
        .arg("transact")
        .arg(server.remote())
        .arg(txn)
        .output()
        .map_err(|e| format!("ovsdb-client: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("ovsdb-client transact output: {e}"))?;
    let mut ports = Vec::new();
    for row in v[0]["rows"].as_array().into_iter().flatten() {
        let ids: std::collections::BTreeMap<&str, &str> = row["external_ids"][1]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|kv| Some((kv[0].as_str()?, kv[1].as_str()?)))
            .collect();
        let (Some(_), Some(switch)) = (ids.get("pod"), ids.get("logical_switch")) else {
            continue;
        };
        let addr = match &row["addresses"] {
            serde_json::Value::String(s) => s.clone(),
            other => other[1][0].as_str().unwrap_or_default().to_owned(),
        };
        ports.push((
            (*switch).to_owned(),
            row["name"].as_str().unwrap_or_default().to_owned(),
            addr,
        ));
    }
    ports.sort();
    Ok(ports)
}

fn main() -> Result<(), String> {
    let a = Args::parse();
    let scratch = Scratch::new()?;
    let dir = scratch.0.join("manifests");
    let started = Instant::now();
    write_manifests(&a, &dir)?;
    let generated = started.elapsed().as_secs_f64();
    let nb = NbServer::start(&scratch.0.join("nb"))?;
    let remote = nb.remote();
    let common = serde_json::json!({
        "pods": a.pods, "namespaces": a.namespaces, "services": a.services,
        "policies": a.policies, "subnets": a.subnets, "nodes": a.nodes,
    });
    let line = |fields: serde_json::Value| {
        let mut v = common.clone();
        if let (Some(v), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
            v.extend(f);
            v.insert("loadavg".into(), load_average().into());
        }
        println!("{v}");
    };
    line(serde_json::json!({"workload": "generate-manifests", "seconds": generated}));

    let (seconds, code, txns) = run_controller(&a, &dir, &remote, &scratch.0.join("cold.log"))?;
    let lsps = nb.count("Logical_Switch_Port")?;
    let acls = nb.count("ACL")?;
    let lbs = nb.count("Load_Balancer")?;
    line(serde_json::json!({
        "workload": "controller-cold", "seconds": seconds, "exit": code,
        "transactions": txns, "logical_switch_ports": lsps, "acls": acls,
        "load_balancers": lbs, "target_seconds": 30,
    }));
    if code != 0 {
        return Err(format!(
            "the cold run exited {code}; see {}",
            scratch.0.join("cold.log").display()
        ));
    }

    let before = nb.db_bytes()?;
    let (seconds, code, txns) = run_controller(&a, &dir, &remote, &scratch.0.join("rerun.log"))?;
    let after = nb.db_bytes()?;
    line(serde_json::json!({
        "workload": "controller-rerun-unchanged", "seconds": seconds, "exit": code,
        "transactions": txns, "db_bytes_written": after.saturating_sub(before),
        "target_seconds": 2,
    }));
    if code != 0 || txns != Some(0) || after != before {
        return Err(format!(
            "the re-run on an unchanged directory wrote to NB (exit {code}, transactions {txns:?}, \
             db file {before} -> {after} bytes)"
        ));
    }

    if !a.no_anchor {
        let ports = pod_ports(&nb)?;
        let switches: std::collections::BTreeSet<String> =
            ports.iter().map(|(s, _, _)| s.clone()).collect();
        let switches: Vec<String> = switches.into_iter().collect();
        drop(nb);
        let anchor = NbServer::start(&scratch.0.join("nb-anchor"))?;
        let (seconds, invocations) =
            create_switches_and_ports(&anchor.remote(), &switches, &ports, a.nbctl_batch)?;
        line(serde_json::json!({
            "workload": "anchor-nbctl-switches-and-pod-ports", "seconds": seconds,
            "switches": switches.len(), "ports": ports.len(), "invocations": invocations,
            "batch": a.nbctl_batch,
        }));
    }
    if a.keep {
        eprintln!("kept {}", scratch.0.display());
        std::mem::forget(scratch);
    }
    Ok(())
}
