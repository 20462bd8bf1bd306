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
    assert!(
        err.contains("--manifests") && err.contains("--ovn-nb"),
        "{err}"
    );
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
