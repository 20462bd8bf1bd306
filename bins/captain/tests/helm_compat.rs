//! Compatibility with the stock `helm` (v3.17.3) over shared release records: a loopback fake
//! API server holds the `helm.sh/release.v1` Secrets. Releases Captain's store writes are read
//! by `helm list/history/get`; a release `helm install` writes is decoded by our codec
//! (byte-exact JSON), upgraded by Captain's store, and rolled back by `captain rollback`.
//! Captain's reconciler installs and upgrades from a chart repository that `helm package` and
//! `helm repo index` built, and `helm get notes` shows the notes it rendered.
//!
//! The reference binary comes from `HELM_BIN`, or `<workspace>/.tools/helm`
//! (`scripts/install-helm .tools` puts it there).

#[path = "support/fake_api.rs"]
mod fake_api;

use captain_core::storage::{ReleaseStore, secret_name};
use fake_api::FakeApi;
use helm_engine::release::{self, NewRelease, Release, Status, Time};
use helm_engine::values::ValueOptions;
use std::path::{Path, PathBuf};
use std::process::Command;

fn helm_bin() -> PathBuf {
    let p = match std::env::var_os("HELM_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/helm"),
    };
    assert!(
        p.is_file(),
        "the reference helm binary is missing at {}: run `scripts/install-helm .tools` or set HELM_BIN",
        p.display()
    );
    p
}

/// A test's world: the fake API, a temp dir with its kubeconfig and a chart.
struct World {
    api: FakeApi,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

const NS: &str = "apps";

impl World {
    fn new() -> World {
        let api = FakeApi::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = api.kubeconfig(dir.path(), NS);
        let chart = dir.path().join("demo");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.16\"\ndescription: A demo & <test>\n",
        )
        .unwrap();
        std::fs::write(chart.join("values.yaml"), "greeting: hi\nreplicas: 1\n").unwrap();
        std::fs::write(
            chart.join("templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  replicas: {{ .Values.replicas | quote }}\n",
        )
        .unwrap();
        std::fs::write(
            chart.join("templates/extra.yaml"),
            "{{- if eq .Values.greeting \"hey\" }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\n{{- end }}\n",
        )
        .unwrap();
        std::fs::write(
            chart.join("templates/NOTES.txt"),
            "Hello from {{ .Release.Name }}.\n",
        )
        .unwrap();
        World {
            api,
            dir,
            kubeconfig,
        }
    }

    fn chart_dir(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    /// Runs the reference helm against the fake API; returns (stdout, stderr, success).
    fn helm(&self, args: &[&str]) -> (String, String, bool) {
        let home = self.dir.path().join("helm-home");
        // The fake API serves no OpenAPI document to validate against.
        let no_openapi: &[&str] = if matches!(args.first(), Some(&"install" | &"upgrade")) {
            &["--disable-openapi-validation"]
        } else {
            &[]
        };
        let out = Command::new(helm_bin())
            .args(args)
            .args(no_openapi)
            .args(["-n", NS, "--kubeconfig"])
            .arg(&self.kubeconfig)
            .env("TZ", "UTC")
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env_remove("KUBECONFIG")
            .output()
            .expect("run helm");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.success(),
        )
    }

    fn helm_ok(&self, args: &[&str]) -> String {
        let (out, err, ok) = self.helm(args);
        assert!(
            ok,
            "helm {args:?} failed: {err}\nrequests: {:#?}",
            self.api.log()
        );
        out
    }

    /// Runs our binary against the fake API.
    fn captain(&self, args: &[&str]) -> (String, String, bool) {
        let out = Command::new(env!("CARGO_BIN_EXE_captain"))
            .args(args)
            .args(["-n", NS, "--kubeconfig"])
            .arg(&self.kubeconfig)
            .env_remove("KUBECONFIG")
            .output()
            .expect("run captain");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.success(),
        )
    }

    fn captain_ok(&self, args: &[&str]) -> String {
        let (out, err, ok) = self.captain(args);
        assert!(ok, "captain {args:?} failed: {err}");
        out
    }

    fn store(&self) -> ReleaseStore {
        let config = kube::Config::new(self.api.url.parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        ReleaseStore::new(client, NS)
    }

    /// The release a stored Secret holds, decoded by our codec, and its raw JSON.
    fn stored(&self, name: &str, revision: u32) -> (Release, Vec<u8>, serde_json::Value) {
        let secret = self
            .api
            .object("api/v1/secrets", NS, &secret_name(name, revision))
            .unwrap_or_else(|| panic!("no Secret for {name} v{revision}"));
        let data: k8s_openapi::ByteString =
            serde_json::from_value(secret["data"]["release"].clone()).expect("API base64");
        let rel = release::decode(&data.0).expect("our codec decodes it");
        let json = gunzip_base64(&data.0);
        (rel, json, secret)
    }
}

fn gunzip_base64(data: &[u8]) -> Vec<u8> {
    // The inner layer is standard base64 of gzip; decode with the API types' base64 and flate2
    // through our own codec's public pieces: re-decode via serde_json of a ByteString.
    let text = std::str::from_utf8(data).expect("ascii");
    let bytes: k8s_openapi::ByteString =
        serde_json::from_value(serde_json::Value::String(text.into())).expect("base64");
    let mut out = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(bytes.0.as_slice())
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Renders the chart as a release revision with Captain's engine and stores it through the
/// same steps as Helm's install/upgrade: pending, create (prune), supersede, deployed.
fn captain_deploy(w: &World, sets: &[&str], now: Time) -> Release {
    let chart = helm_engine::chart::load(&w.chart_dir()).expect("chart");
    let config = ValueOptions {
        values: sets.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
    .merge()
    .expect("values");
    let opts = helm_engine::render::RenderOptions {
        release_name: "web".into(),
        namespace: NS.into(),
        ..Default::default()
    };
    let rendered = helm_engine::render::template(chart.clone(), &config, &opts).expect("render");
    runtime().block_on(async {
        let store = w.store();
        let last = store.last("web").await.expect("last");
        let revision = last.as_ref().map_or(1, |r| r.version + 1);
        let mut rel = Release::pending(NewRelease {
            name: "web",
            namespace: NS,
            revision,
            chart: &chart,
            config,
            rendered: &rendered,
            notes: "Hello from web.".into(),
            first_deployed: last.map(|r| r.info.first_deployed),
            now,
        })
        .expect("release");
        store.create(&rel).await.expect("create");
        store
            .supersede_deployed("web", rel.version)
            .await
            .expect("supersede");
        rel.mark_deployed();
        store.update(&rel).await.expect("update");
        rel
    })
}

#[test]
fn helm_reads_releases_captain_stored() {
    let w = World::new();
    let r1 = captain_deploy(
        &w,
        &["greeting=hello"],
        Time::from_unix(1_700_000_000, 0, 0),
    );
    let r2 = captain_deploy(
        &w,
        &["greeting=hey", "replicas=3"],
        Time::from_unix(1_700_000_100, 500_000_000, 0),
    );
    assert_eq!((r1.version, r2.version), (1, 2));

    let list = w.helm_ok(&["list"]);
    assert_eq!(
        list,
        "NAME\tNAMESPACE\tREVISION\tUPDATED                        \tSTATUS  \tCHART     \tAPP VERSION\n\
         web \tapps     \t2       \t2023-11-14 22:15:00.5 +0000 UTC\tdeployed\tdemo-0.1.0\t1.16       \n"
    );

    let expected_history = "REVISION\tUPDATED                 \tSTATUS    \tCHART     \tAPP VERSION\tDESCRIPTION     \n\
         1       \tTue Nov 14 22:13:20 2023\tsuperseded\tdemo-0.1.0\t1.16       \tInstall complete\n\
         2       \tTue Nov 14 22:15:00 2023\tdeployed  \tdemo-0.1.0\t1.16       \tUpgrade complete\n";
    assert_eq!(w.helm_ok(&["history", "web"]), expected_history);
    assert_eq!(w.captain_ok(&["history", "web"]), expected_history);

    let manifest = w.helm_ok(&["get", "manifest", "web"]);
    assert_eq!(manifest, format!("{}\n", r2.manifest));
    assert!(manifest.contains("name: web-extra"), "{manifest}");
    assert_eq!(w.captain_ok(&["get-manifest", "web"]), manifest);
    assert_eq!(
        w.helm_ok(&["get", "manifest", "web", "--revision", "1"]),
        format!("{}\n", r1.manifest)
    );
    assert_eq!(
        w.captain_ok(&["get-manifest", "web", "--revision", "1"]),
        format!("{}\n", r1.manifest)
    );

    assert_eq!(
        w.helm_ok(&["get", "values", "web"]),
        "USER-SUPPLIED VALUES:\ngreeting: hey\nreplicas: 3\n"
    );
    assert_eq!(
        w.helm_ok(&["get", "values", "web", "--revision", "1"]),
        "USER-SUPPLIED VALUES:\ngreeting: hello\n"
    );
    assert_eq!(
        w.helm_ok(&["get", "notes", "web"]),
        "NOTES:\nHello from web.\n"
    );

    let (_, err, ok) = w.helm(&["history", "nope"]);
    assert!(!ok);
    let (_, ours, our_ok) = w.captain(&["history", "nope"]);
    assert!(!our_ok);
    assert_eq!(ours, err);
}

#[test]
fn captain_reads_and_upgrades_what_helm_installed() {
    let w = World::new();
    let chart = w.chart_dir();
    w.helm_ok(&[
        "install",
        "web",
        chart.to_str().unwrap(),
        "--set",
        "greeting=hello",
        "--set-string",
        "tag=<b&c>",
    ]);
    let (rel, json, secret) = w.stored("web", 1);
    assert_eq!(secret["type"], "helm.sh/release.v1");
    assert_eq!(rel.info.status, Status::Deployed);
    assert_eq!(rel.info.description, "Install complete");
    assert_eq!(rel.info.notes, "Hello from web.\n");
    assert_eq!(rel.chart.name(), "demo");
    assert_eq!(rel.version, 1);
    assert_eq!(
        rel.config.get("greeting"),
        Some(&helm_engine::Value::String("hello".into()))
    );
    // Our encoder writes exactly the bytes Helm's json.Marshal wrote.
    assert_eq!(
        String::from_utf8(release::to_json(&rel).unwrap()).unwrap(),
        String::from_utf8(json).unwrap()
    );
    // Helm's record and ours agree on the manifest and hooks for the same chart and values.
    let ours = captain_deploy_preview(&w, &["greeting=hello", "tag=<b&c>"]);
    assert_eq!(rel.manifest, ours.manifest);
    assert_eq!(rel.hooks, ours.hooks);
    assert_eq!(
        w.captain_ok(&["get-manifest", "web"]),
        format!("{}\n", rel.manifest)
    );

    // Captain upgrades it: revision 2 deployed, revision 1 superseded.
    let r2 = captain_deploy(&w, &["greeting=hey"], Time::now());
    assert_eq!(r2.version, 2);
    assert_eq!(r2.info.first_deployed, rel.info.first_deployed);
    let (v1, _, s1) = w.stored("web", 1);
    assert_eq!(v1.info.status, Status::Superseded);
    assert_eq!(s1["metadata"]["labels"]["status"], "superseded");
    assert!(s1["metadata"]["labels"]["modifiedAt"].is_string());
    let history = w.helm_ok(&["history", "web", "-o", "json"]);
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let statuses: Vec<(i64, &str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().unwrap(),
                h["status"].as_str().unwrap(),
                h["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (1, "superseded", "Install complete"),
            (2, "deployed", "Upgrade complete")
        ]
    );
    assert_eq!(
        w.helm_ok(&["get", "values", "web"]),
        "USER-SUPPLIED VALUES:\ngreeting: hey\n"
    );
    // And helm can take it from there.
    w.helm_ok(&[
        "upgrade",
        "web",
        chart.to_str().unwrap(),
        "--set",
        "greeting=again",
    ]);
    assert_eq!(w.stored("web", 2).0.info.status, Status::Superseded);
    assert_eq!(w.stored("web", 3).0.info.status, Status::Deployed);
}

/// The release Captain would build for these values, without storing it.
fn captain_deploy_preview(w: &World, sets: &[&str]) -> Release {
    let chart = helm_engine::chart::load(&w.chart_dir()).expect("chart");
    let config = ValueOptions {
        values: sets.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
    .merge()
    .expect("values");
    let opts = helm_engine::render::RenderOptions {
        release_name: "web".into(),
        namespace: NS.into(),
        ..Default::default()
    };
    let rendered = helm_engine::render::template(chart.clone(), &config, &opts).expect("render");
    Release::pending(NewRelease {
        name: "web",
        namespace: NS,
        revision: 1,
        chart: &chart,
        config,
        rendered: &rendered,
        notes: String::new(),
        first_deployed: None,
        now: Time::now(),
    })
    .expect("release")
}

#[test]
fn captain_rollback_is_a_helm_revision_rollback() {
    let w = World::new();
    let chart = w.chart_dir();
    w.helm_ok(&[
        "install",
        "web",
        chart.to_str().unwrap(),
        "--set",
        "greeting=hello",
    ]);
    w.helm_ok(&[
        "upgrade",
        "web",
        chart.to_str().unwrap(),
        "--set",
        "greeting=hey",
    ]);
    let cms = w.api.objects("api/v1/configmaps", NS);
    assert_eq!(cms["web-cm"]["data"]["greeting"], "hey");
    assert!(cms.contains_key("web-extra"));

    assert_eq!(
        w.captain_ok(&["rollback", "web", "1"]),
        "Rollback was a success! Happy Helming!\n"
    );
    let (v3, _, s3) = w.stored("web", 3);
    assert_eq!(v3.info.status, Status::Deployed);
    assert_eq!(v3.info.description, "Rollback to 1");
    assert_eq!(s3["metadata"]["labels"]["status"], "deployed");
    let (v1, ..) = w.stored("web", 1);
    assert_eq!(v3.manifest, v1.manifest);
    assert_eq!(v3.config, v1.config);
    assert_eq!(v3.info.first_deployed, v1.info.first_deployed);
    assert_eq!(w.stored("web", 2).0.info.status, Status::Superseded);

    // The cluster is back at revision 1: the ConfigMap's data, and no extra object.
    let cms = w.api.objects("api/v1/configmaps", NS);
    assert_eq!(cms["web-cm"]["data"]["greeting"], "hello");
    assert_eq!(
        cms["web-cm"]["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
    assert!(!cms.contains_key("web-extra"), "{cms:#?}");

    // helm agrees.
    let history = w.helm_ok(&["history", "web"]);
    let last = history.lines().last().unwrap().trim_end();
    assert!(last.starts_with("3 "), "{history}");
    assert!(
        last.contains("deployed") && last.ends_with("Rollback to 1"),
        "{history}"
    );
    assert_eq!(
        w.helm_ok(&["get", "values", "web"]),
        "USER-SUPPLIED VALUES:\ngreeting: hello\n"
    );

    let (_, err, ok) = w.captain(&["rollback", "web", "9"]);
    assert!(!ok);
    assert_eq!(err, "Error: release has no 9 version\n");
}

#[test]
fn captain_upgrade_changes_the_helmrequest() {
    let w = World::new();
    w.api.insert(
        "apis/app.alauda.io/v1/helmrequests",
        NS,
        serde_json::json!({
            "apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
            "metadata": {"name": "demo", "namespace": NS},
            "spec": {"chart": "stable/demo", "version": "0.1.0",
                     "values": {"image": {"repository": "nginx", "tag": "1.0"}, "debug": true, "list": [1, 2]}}
        }),
    );
    assert_eq!(
        w.captain_ok(&[
            "upgrade",
            "demo",
            "--version",
            "^0.2",
            "--set",
            "image.tag=2.0,replicas=3",
            "--set",
            "debug=null",
            "--set-string",
            "note=007",
        ]),
        "helmrequest.app.alauda.io/demo upgraded\n"
    );
    let hr = w
        .api
        .object("apis/app.alauda.io/v1/helmrequests", NS, "demo")
        .unwrap();
    assert_eq!(hr["spec"]["chart"], "stable/demo");
    assert_eq!(hr["spec"]["version"], "^0.2");
    assert_eq!(
        hr["spec"]["values"],
        serde_json::json!({"image": {"repository": "nginx", "tag": "2.0"}, "list": [1, 2],
                           "note": "007", "replicas": 3})
    );
    let (_, err, ok) = w.captain(&["upgrade", "missing", "--version", "1"]);
    assert!(!ok);
    assert_eq!(err, format!("Error: HelmRequest {NS}/missing not found\n"));
    let (_, err, ok) = w.captain(&["upgrade", "demo"]);
    assert!(!ok);
    assert!(err.contains("nothing to change"), "{err}");
}

#[test]
fn runs_as_the_kubectl_plugin() {
    let w = World::new();
    captain_deploy(&w, &[], Time::from_unix(1_700_000_000, 0, 0));
    let plugin = w.dir.path().join("kubectl-captain");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_captain"), &plugin).unwrap();
    let help = Command::new(&plugin).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Usage: kubectl captain <COMMAND>"), "{help}");
    let out = Command::new(&plugin)
        .args(["history", "web", "-n", NS, "--kubeconfig"])
        .arg(&w.kubeconfig)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        w.helm_ok(&["history", "web"])
    );
}

/// A static file server on a free loopback port (for a chart repository), stopped on drop.
struct StaticServer {
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StaticServer {
    fn start(root: &Path) -> StaticServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (root, stopped) = (root.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let path = line
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/');
                let (status, body) = match std::fs::read(root.join(path)) {
                    Ok(b) if !path.contains("..") => ("200 OK", b),
                    _ => ("404 Not Found", b"not found".to_vec()),
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            }
        });
        StaticServer {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn helm_get_notes_shows_the_notes_captain_rendered() {
    use captain_core::reconcile::{Outcome, Reconciler};
    use kube_bridge::captain_crd::HelmRequest;

    let w = World::new();
    let chart = w.dir.path().join("notes-demo");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: notes-demo\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  revision: {{ .Release.Revision | quote }}\n  upgrade: {{ .Release.IsUpgrade | quote }}\n  greeting: {{ .Values.greeting | default \"hi\" | quote }}\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/NOTES.txt"),
        "{{ if .Release.IsInstall }}Installed{{ else }}Upgraded{{ end }} {{ .Release.Name }} at revision {{ .Release.Revision }}.\n",
    )
    .unwrap();
    // The reference helm builds the repository: the archive and its index.
    let repo = w.dir.path().join("repo");
    w.helm_ok(&[
        "package",
        chart.to_str().unwrap(),
        "-d",
        repo.to_str().unwrap(),
    ]);
    let server = StaticServer::start(&repo);
    w.helm_ok(&[
        "repo",
        "index",
        repo.to_str().unwrap(),
        "--url",
        &server.url,
    ]);
    w.api.insert(
        "apis/app.alauda.io/v1beta1/chartrepos",
        NS,
        serde_json::json!({"apiVersion": "app.alauda.io/v1beta1", "kind": "ChartRepo",
            "metadata": {"name": "stable", "namespace": NS}, "spec": {"url": server.url}}),
    );
    w.api.insert(
        "apis/app.alauda.io/v1/helmrequests",
        NS,
        serde_json::json!({"apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"chart": "stable/notes-demo", "version": "0.1.x"}}),
    );
    let rt = runtime();
    let reconciler = rt.block_on(async {
        let config = kube::Config::new(w.api.url.parse().expect("url"));
        Reconciler {
            client: kube::Client::try_from(config).expect("client"),
            repos: captain_core::repo::RepoClient::new(std::time::Duration::from_secs(60))
                .expect("repo client"),
            chart_repo_namespace: NS.into(),
            max_retries: 3,
            hook_timeout: std::time::Duration::from_secs(30),
            hook_poll: std::time::Duration::from_millis(10),
            dependency_poll: std::time::Duration::from_secs(1),
            kube_version: None,
        }
    });
    let sync = || {
        rt.block_on(async {
            let api: kube::Api<HelmRequest> = kube::Api::namespaced(reconciler.client.clone(), NS);
            let hr = api.get("web").await.expect("HelmRequest");
            let outcome = reconciler.reconcile(&hr).await.expect("reconcile");
            (outcome, api.get("web").await.expect("HelmRequest"))
        })
    };

    let (outcome, hr) = sync();
    assert_eq!(outcome, Outcome::Done, "{:?}", hr.status);
    let installed = "Installed web at revision 1.\n";
    assert_eq!(hr.status.unwrap().notes, installed);
    assert_eq!(
        w.helm_ok(&["get", "notes", "web"]),
        format!("NOTES:\n{installed}\n")
    );
    assert!(
        w.helm_ok(&["get", "manifest", "web"])
            .contains("revision: \"1\"\n  upgrade: \"false\"")
    );

    w.api.insert(
        "apis/app.alauda.io/v1/helmrequests",
        NS,
        serde_json::json!({"apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
            "metadata": {"name": "web", "namespace": NS, "finalizers": [kube_bridge::captain_crd::FINALIZER]},
            "spec": {"chart": "stable/notes-demo", "version": "0.1.x", "values": {"greeting": "hey"}},
            "status": serde_json::to_value(hr_status(&w)).unwrap()}),
    );
    let (outcome, hr) = sync();
    assert_eq!(outcome, Outcome::Done, "{:?}", hr.status);
    let upgraded = "Upgraded web at revision 2.\n";
    assert_eq!(hr.status.unwrap().notes, upgraded);
    assert_eq!(
        w.helm_ok(&["get", "notes", "web"]),
        format!("NOTES:\n{upgraded}\n")
    );
    assert_eq!(
        w.helm_ok(&["get", "notes", "web", "--revision", "1"]),
        format!("NOTES:\n{installed}\n")
    );
    let manifest = w.helm_ok(&["get", "manifest", "web"]);
    assert!(
        manifest.contains("revision: \"2\"\n  upgrade: \"true\""),
        "{manifest}"
    );
    let cm = w.api.object("api/v1/configmaps", NS, "web-cm").unwrap();
    assert_eq!(cm["data"]["greeting"], "hey");
}

/// The status the last sync wrote to HelmRequest `web`.
fn hr_status(w: &World) -> serde_json::Value {
    w.api
        .object("apis/app.alauda.io/v1/helmrequests", NS, "web")
        .unwrap()["status"]
        .clone()
}
