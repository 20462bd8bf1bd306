//! The daemon's and the pinger's command lines. (Building this test also builds both
//! executables, which the end-to-end tests in `tests/` run.)

use std::process::Command;

#[test]
fn daemon_requires_its_node_database_and_socket() {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-daemon"))
        .env_remove("KUBE_NODE_NAME")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for flag in ["--node", "--ovs-db", "--socket"] {
        assert!(stderr.contains(flag), "{stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-daemon"))
        .args([
            "--node",
            "n",
            "--ovs-db",
            "unix:/x",
            "--socket",
            "/x",
            "--datapath",
            "dpdk",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dpdk"));
}

#[test]
fn cluster_mode_reads_the_kubeconfig_and_takes_the_node_from_kube_node_name() {
    // KUBE_NODE_NAME stands in for --node (Kube-OVN's manifests set it); the kubeconfig named
    // is read before anything connects, and its absence is reported naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-daemon"))
        .env("KUBE_NODE_NAME", "node-a")
        .args([
            "--ovs-db",
            "unix:/nonexistent/db.sock",
            "--socket",
            "/nonexistent/daemon.sock",
            "--kubeconfig",
            "/nonexistent/kubeconfig.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/kubeconfig.yaml"), "{stderr}");
    // Manifest mode and a kubeconfig exclude each other.
    let out = Command::new(env!("CARGO_BIN_EXE_kube-ovn-daemon"))
        .args([
            "--node",
            "n",
            "--ovs-db",
            "unix:/x",
            "--socket",
            "/x",
            "--ovn-nb",
            "tcp:127.0.0.1:1",
            "--kubeconfig",
            "/k",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kubeconfig"));
}

#[test]
fn pinger_rejects_bad_arguments_and_echoes_tcp_on_loopback() {
    let pinger = env!("CARGO_BIN_EXE_kube-ovn-pinger");
    for args in [
        &["tcp", "not-an-address"][..],
        &["ping", "300.1.1.1"],
        &["frob"],
    ] {
        let out = Command::new(pinger).args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} explains itself");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut listener = Command::new(pinger)
        .args(["listen", &port.to_string(), "30"])
        .spawn()
        .expect("listens");
    let target = format!("127.0.0.1:{port}");
    let mut ok = false;
    for _ in 0..250 {
        let out = Command::new(pinger)
            .args(["tcp", &target, "1000"])
            .output()
            .expect("runs");
        if out.status.success() {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(ok, "tcp echo through the listener on {target}");
}
