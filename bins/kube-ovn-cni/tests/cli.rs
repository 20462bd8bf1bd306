//! The `kube-ovn` executable as a runtime sees it. (Building this test also builds the
//! executable, which the end-to-end tests in `tests/` run.)

use std::io::Write;
use std::process::{Command, Stdio};

fn run(env: &[(&str, &str)], stdin: &str) -> (Option<i32>, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-ovn"))
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().expect("ends");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), json)
}

#[test]
fn version_lists_supported_versions() {
    let (code, json) = run(&[("CNI_COMMAND", "VERSION")], r#"{"cniVersion":"1.0.0"}"#);
    assert_eq!(code, Some(0));
    assert_eq!(json["cniVersion"], "1.0.0");
    assert!(
        json["supportedVersions"].as_array().unwrap().len() >= 2,
        "{json}"
    );
}

#[test]
fn garbage_on_stdin_is_a_decode_error_not_a_panic() {
    let env = [
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "c"),
        ("CNI_NETNS", "/run/netns/x"),
        ("CNI_IFNAME", "eth0"),
    ];
    for stdin in ["", "\u{0}\u{1}", "[1,2", r#"{"cniVersion":7}"#] {
        let (code, json) = run(&env, stdin);
        assert_eq!(code, Some(1), "{stdin:?}");
        assert_eq!(json["code"], 6, "{stdin:?}: {json}");
    }
}
