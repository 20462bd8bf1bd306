//! `kube-ovn-controller --manifests DIR` (watching) when NB stops answering: a pass fails
//! with a message instead of hanging, and is retried until NB answers again, with no further
//! change to the directory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ovn_tests::{OvsdbServer, Schema, ScratchDir};

use crate::client_common::{Proxy, ProxyMode};

const SUBNET: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: ns1}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: net1}
spec: {cidrBlock: 10.1.0.0/24, namespaces: [ns1]}
"#;

fn pod(name: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: ns1}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
    )
}

/// Kills the controller when the test ends, however it ends.
struct Watching(std::process::Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it holds, for at most `secs` seconds; the failure shows `context()`.
async fn wait_until(
    what: &str,
    secs: u64,
    context: impl Fn() -> String,
    mut check: impl FnMut() -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "within {secs} s: {what}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has_port(nb: &OvsdbServer, name: &str) -> bool {
    nb.nbctl(["--bare", "--columns=name", "find", "Logical_Switch_Port"])
        .map(|out| out.lines().any(|l| l.trim() == name))
        .unwrap_or(false)
}

/// Writes a file whole (a temp file renamed over it), so the watcher never reads half of it.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_watching_retries_a_pass_that_nb_did_not_answer() {
    let nb = OvsdbServer::builder(Schema::Northbound)
        .tcp()
        .start()
        .unwrap();
    let proxy = Proxy::start(&nb.tcp_remote().unwrap()).await;
    let dir = ScratchDir::new("controller-nb-down").unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(manifests.join("base.yaml"), format!("{SUBNET}{}", pod("a"))).unwrap();
    let log = dir.path().join("controller.log");
    let _controller = Watching(
        Command::new(crate::cli_common::workspace_binary(
            "kube-ovn-controller",
            "KUBE_OVN_CONTROLLER",
        ))
        .args([
            "--manifests",
            manifests.to_str().unwrap(),
            "--ovn-nb",
            &proxy.remote,
            "--ovn-timeout",
            "2",
            "--ovsdb-inactivity-timeout",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("controller runs"),
    );
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("the first pass writes a.ns1", 120, said, || {
        has_port(&nb, "a.ns1")
    })
    .await;

    // NB goes silent; a new pod arrives.
    proxy.set(ProxyMode::Hold);
    replace_file(
        &manifests.join("base.yaml"),
        &format!("{SUBNET}{}{}", pod("a"), pod("b")),
    );
    wait_until("the pass to fail naming NB", 60, said, || {
        said().contains("OVN NB unavailable")
    })
    .await;
    assert!(!has_port(&nb, "b.ns1"), "NB did not answer");

    // NB answers again: the retry writes b.ns1 though the directory did not change again.
    proxy.set(ProxyMode::Forward);
    wait_until("the retried pass writes b.ns1", 90, said, || {
        has_port(&nb, "b.ns1")
    })
    .await;
    assert!(has_port(&nb, "a.ns1"));
}
