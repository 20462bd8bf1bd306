//! Golden test of `NOTES.txt`: `helm install --dry-run=client -o json` (the reference binary,
//! v3.17.3) prints the release it would store, whose `info.notes` must equal what
//! `render::render` returns for the same chart and values.
//!
//! Even a client-side dry run asks the cluster for its version and discovery, so the test
//! serves those from a loopback stand-in (no release storage is touched by a dry run). The
//! reference binary comes from `HELM_BIN`, or `<workspace>/.tools/helm`
//! (`scripts/install-helm .tools` puts it there).

use helm_engine::render::{RenderOptions, render};
use helm_engine::values::ValueOptions;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

mod support;
use support::helm_bin;

/// Answers the discovery requests of `helm install --dry-run=client`; stops when dropped.
struct Discovery {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Discovery {
    fn start() -> Discovery {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    // A broken connection only fails the helm run that made it.
                    let _ = answer(conn);
                }
            }
        });
        Discovery {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"http://127.0.0.1:{}\"}}\n  name: stand-in\ncontexts:\n- context: {{cluster: stand-in, user: nobody}}\n  name: stand-in\ncurrent-context: stand-in\nusers:\n- name: nobody\n  user: {{}}\n",
                self.port
            ),
        )
        .expect("write kubeconfig");
        path
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(conn: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    let body = match path {
        "/version" => Some(r#"{"major":"1","minor":"32","gitVersion":"v1.32.0"}"#),
        "/api" => Some(r#"{"kind":"APIVersions","versions":["v1"]}"#),
        "/apis" => Some(r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#),
        "/api/v1" => Some(
            r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["get","list","create"]}]}"#,
        ),
        _ => None,
    };
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => (
            "404 Not Found",
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#,
        ),
    };
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/notes")
}

/// `info.notes` of the release `helm install --dry-run=client` would create.
fn helm_notes(api: &Discovery, name: &str, namespace: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = api.kubeconfig(dir.path());
    let out = Command::new(helm_bin())
        .args(["install", name])
        .arg(chart_dir())
        .args([
            "--dry-run=client",
            "--disable-openapi-validation",
            "-o",
            "json",
        ])
        .args(["-n", namespace, "--kubeconfig"])
        .arg(&kubeconfig)
        .args(extra)
        .env("HOME", dir.path())
        .env("HELM_CACHE_HOME", dir.path().join("cache"))
        .env("HELM_CONFIG_HOME", dir.path().join("config"))
        .env("HELM_DATA_HOME", dir.path().join("data"))
        .env_remove("KUBECONFIG")
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm install failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let release: serde_json::Value = serde_json::from_slice(&out.stdout).expect("release JSON");
    release["info"]["notes"]
        .as_str()
        .expect("info.notes")
        .to_string()
}

fn our_notes(name: &str, namespace: &str, sets: &[&str], subchart_notes: bool) -> String {
    let chart = helm_engine::chart::load(&chart_dir()).expect("chart");
    let values = ValueOptions {
        values: sets.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
    .merge()
    .expect("values");
    let opts = RenderOptions {
        release_name: name.into(),
        namespace: namespace.into(),
        render_subchart_notes: subchart_notes,
        ..Default::default()
    };
    render(chart, &values, &opts).expect("render").notes
}

#[test]
fn top_chart_notes_match_helm_install() {
    let api = Discovery::start();
    let helm = helm_notes(&api, "first", "apps", &[]);
    assert_eq!(our_notes("first", "apps", &[], false), helm);
    let helm = helm_notes(
        &api,
        "second",
        "default",
        &["--set", "greeting=hey,port=1000000"],
    );
    assert_eq!(
        our_notes("second", "default", &["greeting=hey,port=1000000"], false),
        helm
    );
}

#[test]
fn subchart_notes_hold_the_same_pieces_as_helm() {
    let api = Discovery::start();
    let helm = helm_notes(&api, "subs", "apps", &["--render-subchart-notes"]);
    let ours = our_notes("subs", "apps", &[], true);
    // Helm joins the pieces in Go map order, which changes from run to run; ours are in path
    // order. Take ours apart by rendering each piece's chart alone, then accept any order.
    let top = our_notes("subs", "apps", &[], false);
    let child = "Child notes: child false\n";
    let extra = "Other notes-like file for subs\n";
    assert_eq!(ours, format!("{child}\n{extra}\n{top}"));
    let pieces = [child, extra, top.as_str()];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    assert!(
        orders
            .iter()
            .any(|o| helm == format!("{}\n{}\n{}", pieces[o[0]], pieces[o[1]], pieces[o[2]])),
        "helm's notes {helm:?} are not our pieces {pieces:?} in any order"
    );
}
