//! The command line itself (and, as a side effect, cargo builds the binary beside the test
//! executables, where the end-to-end tests in `tests/` find it).

use std::process::Command;

#[test]
fn missing_arguments_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-controller"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--ovn-nb"), "{err}");
}

#[test]
fn once_is_for_manifest_mode() {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-controller"))
        .args(["--ovn-nb", "tcp:127.0.0.1:1", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--manifests"), "{err}");
}

#[test]
fn unreadable_kubeconfig_fails_naming_the_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-controller"))
        .args([
            "--ovn-nb",
            "tcp:127.0.0.1:1",
            "--kubeconfig",
            "/nonexistent/kubeconfig.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/kubeconfig.yaml"), "{err}");
}

/// Kills the child when the test ends, even on a failed assertion.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Cluster mode with an API server and NB that are both unreachable: it serves /metrics
/// (NB reported down) while it retries, and SIGTERM stops it cleanly.
#[test]
fn cluster_mode_serves_metrics_and_stops_on_sigterm() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = std::env::temp_dir().join(format!("kube-ovn-controller-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig.yaml");
    // Port 1 on loopback: nothing listens there, so every request fails at once.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:1\"}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n\
         current-context: x\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_kube-ovn-controller"))
            .args(["--ovn-nb", "tcp:127.0.0.1:1", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "error")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            if text.contains("kube_ovn_ovsdb_connected{database=\"OVN_Northbound\"} 0") {
                break text;
            }
        }
        assert!(Instant::now() < deadline, "no metrics on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    assert!(scrape.contains("kube_ovn_reconciles_total 0"), "{scrape}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreachable_nb_fails_with_a_message() {
    let dir = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-controller"))
        .args([
            "--manifests",
            dir.to_str().unwrap(),
            "--ovn-nb",
            "bogus:remote",
            "--once",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bogus:remote"), "{err}");
}
