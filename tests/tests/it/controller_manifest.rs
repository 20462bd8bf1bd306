//! `kube-ovn-controller --manifests DIR --ovn-nb REMOTE --once` end to end: real NB, northd and
//! ovn-trace; edits and restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ovn_tests::{OvnCentral, ScratchDir};

fn controller_path() -> PathBuf {
    crate::cli_common::workspace_binary("kube-ovn-controller", "KUBE_OVN_CONTROLLER")
}

pub(crate) fn run(dir: &Path, nb: &str) -> (Option<i32>, String) {
    let out = Command::new(controller_path())
        .args([
            "--manifests",
            dir.to_str().unwrap(),
            "--ovn-nb",
            nb,
            "--once",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("controller runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BASE: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: kube-1}
---
apiVersion: v1
kind: Node
metadata: {name: kube-2}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-prod}
spec: {cidrBlock: 10.10.0.0/24, namespaces: [prod]}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn-dev}
spec: {cidrBlock: "10.20.0.0/24,fd00:20::/64", namespaces: [dev]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: 10.96.0.100
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-dev, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {env: dev}}}]
    ports: [{protocol: TCP, port: 8080}]
"#;

pub(crate) fn pod(ns: &str, name: &str, app: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {app}}}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
    )
}

/// Each owned pod port: name to (ip_address, mac) from its external_ids.
fn ports(central: &OvnCentral) -> BTreeMap<String, (String, String)> {
    ports_with(central, "pod")
}

/// Each port with external_ids key `kind` (`pod` or `node`): name to (ip_address, mac).
fn ports_with(central: &OvnCentral, kind: &str) -> BTreeMap<String, (String, String)> {
    let out = central
        .nb
        .nbctl([
            "--format=csv",
            "--data=bare",
            "--no-headings",
            "--columns=name,external_ids",
            "list",
            "Logical_Switch_Port",
        ])
        .unwrap();
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let (name, ids) = line.split_once(',').unwrap_or((line, ""));
        let get = |k: &str| {
            ids.split(' ')
                .find_map(|kv| {
                    kv.trim_matches('"')
                        .strip_prefix(&format!("{k}="))
                        .map(str::to_owned)
                })
                .unwrap_or_default()
        };
        if !get(kind).is_empty() {
            m.insert(name.to_owned(), (get("ip_address"), get("mac_address")));
        }
    }
    m
}

fn tcp(
    central: &OvnCentral,
    from: &(String, String),
    from_port: &str,
    ls: &str,
    dst: &str,
    port: u16,
) -> String {
    // Off the subnet: to its router port's MAC.
    let router_mac = central
        .nb
        .nbctl([
            "get",
            "Logical_Router_Port",
            &format!("ovn-cluster-{ls}"),
            "mac",
        ])
        .unwrap();
    let router_mac = router_mac.trim().trim_matches('"');
    let flow = format!(
        "inport == \"{from_port}\" && eth.src == {} && eth.dst == {router_mac} && ip4.src == {} && ip4.dst == {dst} && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == {port}",
        from.1,
        from.0.split(',').next().unwrap()
    );
    central.ovn_trace(["--minimal", ls, &flow]).unwrap()
}

#[test]
fn controller_manifest_mode_converges_edits_and_restarts() {
    let central = OvnCentral::start().unwrap();
    let nb = central.nb.remote();
    let dir = ScratchDir::new("manifests").unwrap();
    let write = |pods: &[(&str, &str, &str)], extra: &str| {
        let mut text = BASE.to_owned();
        for (ns, name, app) in pods {
            text.push_str(&pod(ns, name, app));
        }
        text.push_str(extra);
        std::fs::write(dir.path().join("cluster.yaml"), text).unwrap();
    };
    write(
        &[
            ("prod", "web-a", "web"),
            ("prod", "web-b", "web"),
            ("prod", "web-c", "web"),
            ("dev", "client", "client"),
        ],
        "",
    );
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    central.wait_synced().unwrap();
    let first = ports(&central);
    assert_eq!(first.len(), 4, "{first:?}");
    let client = &first["client.dev"];
    assert!(
        client.0.contains("10.20.0.") && client.0.contains("fd00:20::"),
        "dual stack: {client:?}"
    );
    let web_a = first["web-a.prod"].0.clone();
    assert!(web_a.starts_with("10.10.0."), "{web_a}");
    // Each node has a join address on its port node-<name> on the join switch.
    let nodes = ports_with(&central, "node");
    assert_eq!(
        nodes.keys().cloned().collect::<Vec<_>>(),
        vec!["node-kube-1", "node-kube-2"]
    );
    assert!(nodes.values().all(|(ip, _)| ip.starts_with("100.64.0.")));
    assert_ne!(nodes["node-kube-1"].0, nodes["node-kube-2"].0);
    let on_join = central
        .nb
        .nbctl([
            "--bare",
            "--columns=name",
            "find",
            "Logical_Switch_Port",
            "external_ids:logical_switch=join",
        ])
        .unwrap();
    assert!(on_join.contains("node-kube-1"), "{on_join}");
    let join_ports = central.nb.nbctl(["lsp-list", "join"]).unwrap();
    assert!(join_ports.contains("node-kube-2"), "{join_ports}");

    // The policy: dev reaches web pods on 8080 only. The router resolves the destination MAC.
    let t = tcp(&central, client, "client.dev", "sn-dev", &web_a, 8080);
    assert!(
        t.contains("output(\"web-a.prod\")"),
        "client -> web-a:8080:\n{t}"
    );
    let t = tcp(&central, client, "client.dev", "sn-dev", &web_a, 9999);
    assert!(
        !t.contains("output(\"web-a.prod\")"),
        "client -> web-a:9999:\n{t}"
    );
    // The service is load-balanced.
    let t = tcp(&central, client, "client.dev", "sn-dev", "10.96.0.100", 80);
    assert!(t.contains("ct_lb"), "service:\n{t}");

    // A second run on unchanged manifests writes nothing and changes nothing.
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(ports(&central), first);
    assert_eq!(ports_with(&central, "node"), nodes);

    // Restart with web-a (sorting first) and web-b deleted and two new pods: survivors keep
    // their addresses, the new ones get never-used addresses, nothing stale remains.
    write(
        &[
            ("prod", "web-c", "web"),
            ("dev", "client", "client"),
            ("prod", "web-d", "web"),
            ("prod", "web-e", "web"),
        ],
        "",
    );
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    let second = ports(&central);
    assert_eq!(
        second.keys().cloned().collect::<Vec<_>>(),
        vec!["client.dev", "web-c.prod", "web-d.prod", "web-e.prod"]
    );
    assert_eq!(second["web-c.prod"], first["web-c.prod"]);
    assert_eq!(second["client.dev"], first["client.dev"]);
    let old: Vec<&String> = first.values().map(|(ip, _)| ip).collect();
    for new in ["web-d.prod", "web-e.prod"] {
        assert!(
            !old.contains(&&second[new].0),
            "{new} got a previously used address {}",
            second[new].0
        );
    }
    let mut all: Vec<&String> = second.values().map(|(ip, _)| ip).collect();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        second.len(),
        "an address is held twice: {second:?}"
    );

    // Bad input: the broken subnet is reported by file and field, exit 2, and the rest converges.
    write(
        &[
            ("prod", "web-c", "web"),
            ("dev", "client", "client"),
            ("prod", "web-d", "web"),
            ("prod", "web-e", "web"),
            ("prod", "web-f", "web"),
        ],
        "---\napiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: broken}\nspec: {cidrBlock: 10.300.0.0/24}\n",
    );
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cluster.yaml")
            && err.contains("Subnet/broken")
            && err.contains("spec.cidrBlock"),
        "{err}"
    );
    let third = ports(&central);
    assert!(third.contains_key("web-f.prod"), "{third:?}");
    assert_eq!(third["web-c.prod"], first["web-c.prod"]);
}

/// Kill the controller mid-way through 2,000 pods, delete pods that sort first, add new ones,
/// restart: nothing is held twice, nothing stale stays, survivors keep their addresses and the
/// new pods get addresses NB never showed.
#[test]
fn controller_restart_after_kill_mid_way_keeps_addresses() {
    let central = OvnCentral::start().unwrap();
    let nb = central.nb.remote();
    let dir = ScratchDir::new("manifests-restart").unwrap();
    let names = |range: std::ops::Range<usize>| -> String {
        range
            .map(|i| pod("bulk", &format!("p{i:05}"), "bulk"))
            .collect()
    };
    let write = |text: String| std::fs::write(dir.path().join("pods.yaml"), text).unwrap();
    write(names(0..2000));
    /// Kills the watching controller even when an assertion fails first.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Killed(
        Command::new(controller_path())
            .args(["--manifests", dir.path().to_str().unwrap(), "--ovn-nb", &nb])
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("controller runs"),
    );
    // Kill it as soon as some pod ports are in NB.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if !ports(&central).is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no pod port appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let before = ports(&central);
    assert!(!before.is_empty());
    let seen: std::collections::BTreeSet<String> =
        before.values().map(|(ip, _)| ip.clone()).collect();

    // Delete the first 300 pods (they sort before every survivor) and add 300 new ones.
    write(names(300..2300));
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    let after = ports(&central);
    assert_eq!(after.len(), 2000, "one port per pod, nothing stale");
    assert!(
        after.keys().all(|k| {
            let i: usize = k[1..6].parse().unwrap();
            (300..2300).contains(&i)
        }),
        "a deleted pod's port remains"
    );
    let mut ips: Vec<&String> = after.values().map(|(ip, _)| ip).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), after.len(), "an address is held twice");
    for (name, held) in &before {
        if let Some(now) = after.get(name) {
            assert_eq!(now, held, "{name} changed its address");
        }
    }
    for i in 2000..2300 {
        let name = format!("p{i:05}.bulk");
        assert!(
            !seen.contains(&after[&name].0),
            "{name} got an address NB showed before: {}",
            after[&name].0
        );
    }
}

/// Kills a watching controller even when an assertion fails first.
struct Watching(std::process::Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it returns `Some`, for at most `secs` seconds.
fn wait_for<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "within {secs} s: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Writes a manifest file whole (a temp file renamed over it), as editors and `kubectl`-style
/// tools do, so the watcher never sees half a file.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The VIPs of the owned load balancers, joined (for "is this VIP in NB" checks).
fn vips(central: &OvnCentral) -> String {
    central
        .nb
        .nbctl(["--bare", "--columns=vips", "list", "Load_Balancer"])
        .unwrap()
}

/// Without `--once` the controller keeps watching the directory: a new file, an edited file
/// and a deleted file each reach NB while it runs, and surviving pods keep their addresses.
#[test]
fn controller_watch_mode_follows_manifest_edits() {
    let central = OvnCentral::start().unwrap();
    let nb = central.nb.remote();
    let dir = ScratchDir::new("manifests-watch").unwrap();
    let base = dir.path().join("base.yaml");
    let apps = dir.path().join("apps.yaml");
    std::fs::write(&base, BASE).unwrap();
    std::fs::write(
        &apps,
        [
            pod("prod", "web-a", "web"),
            pod("prod", "web-b", "web"),
            pod("dev", "client", "client"),
        ]
        .concat(),
    )
    .unwrap();
    let mut child = Watching(
        Command::new(controller_path())
            .args(["--manifests", dir.path().to_str().unwrap(), "--ovn-nb", &nb])
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("controller runs"),
    );
    let names = |m: &BTreeMap<String, (String, String)>| m.keys().cloned().collect::<Vec<_>>();
    let first = wait_for("the first pass writes the three pods", 120, || {
        let p = ports(&central);
        (p.len() == 3).then_some(p)
    });
    assert_eq!(
        names(&first),
        vec!["client.dev", "web-a.prod", "web-b.prod"]
    );
    assert!(vips(&central).contains("10.96.0.100:80"));

    // A new file: its pod and its service appear.
    let extra = dir.path().join("extra.yaml");
    replace_file(
        &extra,
        &format!(
            "{}---\napiVersion: v1\nkind: Service\nmetadata: {{name: api, namespace: dev}}\n\
             spec: {{clusterIP: 10.96.0.200, selector: {{app: client}}, ports: [{{port: 443, targetPort: 8443}}]}}\n",
            pod("dev", "worker", "client")
        ),
    );
    let second = wait_for("the new file's pod and service reach NB", 60, || {
        let p = ports(&central);
        (p.contains_key("worker.dev") && vips(&central).contains("10.96.0.200:443")).then_some(p)
    });
    for (name, held) in &first {
        assert_eq!(&second[name], held, "{name} kept its address");
    }

    // An edited file: web-b deleted, web-c added, the others untouched.
    replace_file(
        &apps,
        &[
            pod("prod", "web-a", "web"),
            pod("dev", "client", "client"),
            pod("prod", "web-c", "web"),
        ]
        .concat(),
    );
    let third = wait_for("the edit reaches NB", 60, || {
        let p = ports(&central);
        (!p.contains_key("web-b.prod") && p.contains_key("web-c.prod")).then_some(p)
    });
    assert_eq!(
        names(&third),
        vec!["client.dev", "web-a.prod", "web-c.prod", "worker.dev"]
    );
    assert_eq!(third["web-a.prod"], first["web-a.prod"]);
    assert_ne!(
        third["web-c.prod"].0, first["web-b.prod"].0,
        "a released address is not handed out again while never-used ones remain"
    );

    // A deleted file: its pod's port and its service's VIP go away.
    std::fs::remove_file(&extra).unwrap();
    let fourth = wait_for("the deleted file's objects leave NB", 60, || {
        let p = ports(&central);
        (!p.contains_key("worker.dev") && !vips(&central).contains("10.96.0.200")).then_some(p)
    });
    assert_eq!(
        names(&fourth),
        vec!["client.dev", "web-a.prod", "web-c.prod"]
    );
    assert_eq!(fourth["client.dev"], first["client.dev"]);
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the watching controller is still running"
    );
}

/// A manifest file that is not valid YAML holds every write back: converging without it would
/// delete the ports of the pods it declares and release their addresses.
#[test]
fn controller_unparsable_file_writes_nothing_and_loses_no_address() {
    let central = OvnCentral::start().unwrap();
    let nb = central.nb.remote();
    let dir = ScratchDir::new("manifests").unwrap();
    let mut text = BASE.to_owned();
    text.push_str(&pod("prod", "web-a", "web"));
    std::fs::write(dir.path().join("cluster.yaml"), &text).unwrap();
    let mut more = pod("dev", "client", "client");
    std::fs::write(dir.path().join("more.yaml"), &more).unwrap();
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    let before = ports(&central);
    assert_eq!(before.len(), 2, "{before:?}");

    // A typo in one file, and a pod added to the other: nothing is written until it parses.
    more.push_str("\n  broken: [\n");
    std::fs::write(dir.path().join("more.yaml"), &more).unwrap();
    text.push_str(&pod("prod", "web-b", "web"));
    std::fs::write(dir.path().join("cluster.yaml"), &text).unwrap();
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("more.yaml") && err.contains("not valid YAML"),
        "{err}"
    );
    assert_eq!(
        ports(&central),
        before,
        "no port removed, added or readdressed"
    );

    // Fixed: the added pod converges and the others keep their addresses.
    std::fs::write(dir.path().join("more.yaml"), pod("dev", "client", "client")).unwrap();
    let (code, err) = run(dir.path(), &nb);
    assert_eq!(code, Some(0), "{err}");
    let after = ports(&central);
    assert_eq!(after.len(), 3, "{after:?}");
    for (name, port) in &before {
        assert_eq!(&after[name], port, "{name} kept its address");
    }
}
