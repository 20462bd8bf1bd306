//! Helpers for the `cli_*` tests: run `ovsdb-cli` and OVS's `ovsdb-client` with the same
//! arguments against the same server and compare what they print.
//!
//! The binary under test is found beside this test binary: `cargo test --workspace` and
//! `cargo nextest run --workspace` build it there (`target/<profile>/ovsdb-cli`; the
//! `bins/ovsdb-cli` package has an integration test of its own, which makes cargo build the
//! binary whenever the workspace's tests are built). `OVSDB_CLI=/path/to/ovsdb-cli` overrides.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use ovn_tests::{DEFAULT_TIMEOUT, wait_until};

/// The `ovsdb-cli` binary under test.
pub fn cli_path() -> PathBuf {
    workspace_binary("ovsdb-cli", "OVSDB_CLI")
}

/// A workspace binary built beside this test binary (`target/<profile>/NAME`), or the path in
/// the environment variable `env` when set.
pub fn workspace_binary(name: &str, env: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/it-HASH -> target/<profile>/NAME
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p {name}` (cargo test --workspace does), \
         or set {env}",
        path.display()
    );
    path
}

/// What a finished command printed, and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
}

/// Which tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// OVS's `ovsdb-client`, the reference.
    Reference,
    /// Our `ovsdb-cli`.
    UnderTest,
}

impl Tool {
    /// A command for the tool, run in `dir` with `OVS_RUNDIR=dir` (so the default server
    /// `unix:$OVS_RUNDIR/db.sock` and relative `unix:` paths point into `dir`).
    pub fn command(self, dir: &Path) -> Command {
        let mut c = match self {
            Tool::Reference => Command::new("ovsdb-client"),
            Tool::UnderTest => Command::new(cli_path()),
        };
        c.current_dir(dir).env("OVS_RUNDIR", dir);
        c
    }
}

/// Runs `tool ARGS` in `dir`, for at most [`DEFAULT_TIMEOUT`].
pub fn run(tool: Tool, dir: &Path, args: &[&str]) -> Outcome {
    let mut child = tool
        .command(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {tool:?}: {e}"));
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let mut status = None;
    let finished = wait_until(DEFAULT_TIMEOUT, "the command to finish", || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if finished.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{tool:?} {args:?} did not finish within {DEFAULT_TIMEOUT:?}");
    }
    Outcome {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        code: status.and_then(|s| s.code()),
    }
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        s
    })
}

/// Runs both tools with `args` and asserts the same stdout and exit status; on failure both
/// must explain themselves on stderr, prefixed with their program name. Returns the output.
pub fn assert_same(dir: &Path, args: &[&str]) -> Outcome {
    let reference = run(Tool::Reference, dir, args);
    let ours = run(Tool::UnderTest, dir, args);
    assert_eq!(
        ours.stdout, reference.stdout,
        "stdout differs for {args:?}\nstderr ours: {}\nstderr reference: {}",
        ours.stderr, reference.stderr
    );
    assert_eq!(
        ours.code, reference.code,
        "exit status differs for {args:?}\nstderr ours: {}\nstderr reference: {}",
        ours.stderr, reference.stderr
    );
    if reference.code != Some(0) {
        assert!(
            ours.stderr.starts_with("ovsdb-cli: "),
            "no message for failing {args:?}: {:?} (reference said {:?})",
            ours.stderr,
            reference.stderr
        );
    }
    ours
}

/// A long-running command (`monitor`) whose stdout lines are collected as they come; killed
/// on drop.
pub struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: std::thread::JoinHandle<String>,
    what: String,
}

impl Running {
    /// Starts `tool ARGS` in `dir`.
    pub fn start(tool: Tool, dir: &Path, args: &[&str]) -> Running {
        let mut child = tool
            .command(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {tool:?}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("piped stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                match line {
                    Ok(l) => sink.lock().expect("lines lock").push(l),
                    Err(_) => break,
                }
            }
        });
        let stderr = read_in_background(child.stderr.take());
        Running {
            child,
            lines,
            stderr,
            what: format!("{tool:?} {args:?}"),
        }
    }

    /// The lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines lock").clone()
    }

    /// Waits until at least `n` lines were printed.
    pub fn wait_lines(&self, n: usize) {
        let waited = wait_until(
            DEFAULT_TIMEOUT,
            &format!("{n} lines from {}", self.what),
            || self.lines.lock().expect("lines lock").len() >= n,
        );
        if let Err(e) = waited {
            panic!("{e}; got {:?}", self.lines());
        }
    }

    /// Waits for the command to exit by itself and returns its exit code and stderr.
    pub fn wait_exit(mut self) -> (Option<i32>, String) {
        let mut status = None;
        let waited = wait_until(DEFAULT_TIMEOUT, &format!("{} to exit", self.what), || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        waited.unwrap_or_else(|e| panic!("{e}"));
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        (
            status.and_then(|s| s.code()),
            stderr.join().unwrap_or_default(),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `monitor --format=json` line made comparable: rows within one update come in hash
/// order from ovsdb-client, so the rows (an `old` row with the `new` row after it as one unit)
/// are sorted; the headings stay as printed.
pub fn normalize_update(line: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("monitor line is not JSON ({e}): {line}"));
    let data = v["data"].as_array().cloned().unwrap_or_default();
    let mut units: Vec<Vec<serde_json::Value>> = Vec::new();
    for row in data {
        match units.last_mut() {
            Some(unit) if row[1] == "new" => unit.push(row),
            _ => units.push(vec![row]),
        }
    }
    units.sort_by_key(|u| serde_json::to_string(u).unwrap_or_default());
    v["data"] = serde_json::Value::Array(units.into_iter().flatten().collect());
    serde_json::to_string(&v).unwrap_or_default()
}
