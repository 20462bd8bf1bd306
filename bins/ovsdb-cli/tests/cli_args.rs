//! Command-line handling that needs no server. (The comparisons with OVS's `ovsdb-client`
//! against real servers are in the workspace's integration tests, `tests/tests/it/cli_*.rs`;
//! this test target also makes `cargo test --workspace` build the `ovsdb-cli` binary they
//! run.)

use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ovsdb-cli"))
        .args(args)
        .env("OVS_RUNDIR", "/nonexistent-ovs-rundir")
        .output()
        .expect("ovsdb-cli runs")
}

fn fails_with(args: &[&str], message: &str) {
    let out = cli(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, format!("ovsdb-cli: {message}\n"), "{args:?}");
}

#[test]
fn usage_errors_exit_with_status_1_and_say_why() {
    fails_with(&[], "missing command name; use --help for help");
    fails_with(
        &["frobnicate"],
        "unknown command 'frobnicate'; use --help for help",
    );
    fails_with(
        &["transact"],
        "invalid syntax for 'transact' (use --help for help)",
    );
    fails_with(
        &["transact", "a", "b", "c"],
        "invalid syntax for 'transact' (use --help for help)",
    );
    fails_with(
        &["--format=xml", "list-dbs"],
        "unknown output format \"xml\"",
    );
    fails_with(&["--data=xml", "list-dbs"], "unknown data format \"xml\"");
    fails_with(&["transact", "{}"], "not a valid OVSDB query");
    fails_with(&["transact", "[1]"], "not a valid OVSDB query");
    fails_with(
        &["transact", "\"x\""],
        "\"\"x\"\": syntax error at beginning of input",
    );
    fails_with(
        &["list-dbs", "bogus:x"],
        "failed to connect or listen to \"bogus:x\" (Address family not supported by protocol)",
    );
}

#[test]
fn the_default_server_is_in_ovs_rundir() {
    fails_with(
        &["list-dbs"],
        "failed to connect to \"unix:/nonexistent-ovs-rundir/db.sock\" (No such file or directory)",
    );
    // A relative unix: path is relative to the run directory, not the working directory.
    fails_with(
        &["list-dbs", "unix:x.sock"],
        "failed to connect to \"unix:x.sock\" (No such file or directory)",
    );
}

#[test]
fn help_and_version_exit_with_status_0() {
    for flag in ["--help", "--version"] {
        let out = cli(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(!out.stdout.is_empty(), "{flag}");
    }
}
