use super::*;
use crate::test_api::FakeApi;
use crate::test_http::FileServer;
use clap::Parser;
use kube::runtime::watcher::Event;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: ControllerOptions,
}

#[test]
fn options_parse_with_defaults() {
    let cli = Cli::try_parse_from(["captain"]).unwrap();
    assert_eq!(cli.options, ControllerOptions::default());
    let cli = Cli::try_parse_from([
        "captain",
        "--chart-repo-namespace",
        "captain",
        "--namespace",
        "apps",
        "--leader-elect",
        "--metrics-addr",
        "127.0.0.1:9090",
        "--max-retries",
        "2",
    ])
    .unwrap();
    assert_eq!(cli.options.chart_repo_namespace, "captain");
    assert_eq!(cli.options.namespace.as_deref(), Some("apps"));
    assert!(cli.options.leader_elect);
    assert_eq!(cli.options.max_retries, 2);
    assert!(Cli::try_parse_from(["captain", "--workers", "many"]).is_err());
}

fn hr(name: &str, spec: serde_json::Value) -> HelmRequest {
    serde_json::from_value(
        json!({"apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
        "metadata": {"name": name, "namespace": "apps"}, "spec": spec}),
    )
    .unwrap()
}

fn store(objs: Vec<HelmRequest>) -> Store<HelmRequest> {
    let (reader, mut writer) = reflector::store();
    for o in objs {
        writer.apply_watcher_event(&Event::Apply(o));
    }
    reader
}

#[test]
fn events_route_to_the_helm_requests_they_concern() {
    let s = store(vec![
        hr("db", json!({"chart": "stable/pg"})),
        hr(
            "web",
            json!({"chart": "stable/web", "dependencies": ["db"],
            "valuesFrom": [{"configMapKeyRef": {"name": "settings"}}]}),
        ),
        hr(
            "tool",
            json!({"chart": "other/tool",
            "source": {"http": {"url": "http://x/t.tgz", "secretRef": {"name": "auth"}}}}),
        ),
    ]);
    let key = |n: &str| Key::HelmRequest("apps".into(), n.into());
    let db = hr("db", json!({"chart": "stable/pg"}));
    assert_eq!(helm_request_keys(&db, &s), vec![key("db"), key("web")]);
    assert_eq!(referencing_keys("apps", "settings", &s), vec![key("web")]);
    assert_eq!(referencing_keys("apps", "auth", &s), vec![key("tool")]);
    assert!(referencing_keys("other", "settings", &s).is_empty());
    let repo: ChartRepo = serde_json::from_value(json!({"apiVersion": "app.alauda.io/v1beta1",
        "kind": "ChartRepo", "metadata": {"name": "stable", "namespace": "captain"},
        "spec": {"url": "http://x"}}))
    .unwrap();
    let mut keys = chart_repo_keys(&repo, &s);
    keys.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(
        keys,
        vec![
            Key::ChartRepo("captain".into(), "stable".into()),
            key("db"),
            key("web")
        ]
    );
}

#[tokio::test]
async fn chart_repo_status_records_sync_and_failure() {
    let server = FileServer::start(
        vec![(
            "/index.yaml".into(),
            b"apiVersion: v1\nentries:\n  a:\n  - version: 1.0.0\n  b:\n  - version: 2.0.0\n"
                .to_vec(),
        )],
        Some(("u", "p")),
    )
    .await;
    let (client, api) = FakeApi::start();
    let path = "/apis/app.alauda.io/v1beta1/namespaces/captain/chartrepos/stable";
    let repo_json = json!({"apiVersion": "app.alauda.io/v1beta1", "kind": "ChartRepo",
        "metadata": {"name": "stable", "namespace": "captain"},
        "spec": {"url": server.url, "secret": {"name": "creds"}}});
    api.put(path, repo_json.clone());
    api.put(
        "/api/v1/namespaces/captain/secrets/creds",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "captain"},
               "data": {"username": "dQ==", "password": "cA=="}}),
    );
    let reconciler = Reconciler {
        client,
        repos: RepoClient::new(Duration::from_secs(60)).unwrap(),
        chart_repo_namespace: "captain".into(),
        max_retries: 1,
        hook_timeout: Duration::from_secs(1),
        hook_poll: Duration::from_millis(10),
        dependency_poll: Duration::from_secs(1),
        kube_version: None,
    };
    let repo: ChartRepo = serde_json::from_value(repo_json).unwrap();
    sync_chart_repo(&reconciler, &repo).await.unwrap();
    assert_eq!(
        api.take_calls(),
        vec![
            "GET /api/v1/namespaces/captain/secrets/creds".to_owned(),
            format!("PATCH {path}/status"),
        ]
    );
    let status = &api.get(path).unwrap()["status"];
    assert_eq!(status["phase"], "Synced");
    assert_eq!(status["chartCount"], 2);
    assert!(!status["lastSync"].as_str().unwrap().is_empty());

    api.remove("/api/v1/namespaces/captain/secrets/creds");
    sync_chart_repo(&reconciler, &repo).await.unwrap();
    let status = &api.get(path).unwrap()["status"];
    assert_eq!(status["phase"], "Failed");
    assert_eq!(
        status["reason"],
        "Secret captain/creds (credentials) not found"
    );
}

#[tokio::test]
async fn run_reconciles_watched_helm_requests_until_stopped() {
    let tgz = crate::test_http::chart_tgz(
        "web",
        "1.0.0",
        &[(
            "templates/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-a\n",
        )],
    );
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tgz));
    let index = format!(
        "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    urls: [web-1.0.0.tgz]\n    digest: {digest}\n"
    );
    let server = FileServer::start(
        vec![
            ("/index.yaml".into(), index.into_bytes()),
            ("/web-1.0.0.tgz".into(), tgz),
        ],
        None,
    )
    .await;
    let (client, api) = FakeApi::start();
    let repo_path = "/apis/app.alauda.io/v1beta1/namespaces/captain/chartrepos/stable";
    api.put(
        repo_path,
        json!({"apiVersion": "app.alauda.io/v1beta1", "kind": "ChartRepo",
               "metadata": {"name": "stable", "namespace": "captain"}, "spec": {"url": server.url}}),
    );
    let hr_path = "/apis/app.alauda.io/v1/namespaces/apps/helmrequests/web";
    api.put(
        hr_path,
        json!({"apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
               "metadata": {"name": "web", "namespace": "apps"}, "spec": {"chart": "stable/web"}}),
    );
    let options = ControllerOptions {
        chart_repo_namespace: "captain".into(),
        namespace: Some("apps".into()),
        ..ControllerOptions::default()
    };
    let (stop_tx, stop) = watch::channel(false);
    let running = tokio::spawn(run_with_client(client, options, stop));
    let synced = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let hr = api.get(hr_path).unwrap();
            let repo = api.get(repo_path).unwrap();
            if hr["status"]["phase"] == "Synced" && repo["status"]["phase"] == "Synced" {
                return (hr, repo);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("synced within 30 s");
    assert_eq!(synced.0["status"]["version"], "1.0.0");
    assert_eq!(synced.1["status"]["chartCount"], 1);
    assert!(
        api.get("/api/v1/namespaces/apps/configmaps/web-a")
            .is_some()
    );
    let calls = api.take_calls();
    for watched in [
        "WATCH /apis/app.alauda.io/v1/namespaces/apps/helmrequests",
        "WATCH /apis/app.alauda.io/v1beta1/namespaces/captain/chartrepos",
        "WATCH /api/v1/namespaces/apps/configmaps",
        "WATCH /api/v1/namespaces/apps/secrets",
    ] {
        assert!(calls.iter().any(|c| c == watched), "{watched} in {calls:?}");
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("stops within 30 s")
        .unwrap()
        .unwrap();
}

/// A repository serving chart `web` 1.0.0 (ConfigMap a) and 2.0.0 (a and b).
async fn web_repo() -> FileServer {
    let cm = |n: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-{n}\n")
    };
    let (a, b) = (cm("a"), cm("b"));
    let mut files = Vec::new();
    let mut index = String::from("apiVersion: v1\nentries:\n  web:\n");
    for (version, templates) in [
        ("1.0.0", vec![("templates/a.yaml", a.as_str())]),
        (
            "2.0.0",
            vec![
                ("templates/a.yaml", a.as_str()),
                ("templates/b.yaml", b.as_str()),
            ],
        ),
    ] {
        let tgz = crate::test_http::chart_tgz("web", version, &templates);
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tgz));
        index.push_str(&format!(
            "  - name: web\n    version: {version}\n    urls: [web-{version}.tgz]\n    digest: {digest}\n"
        ));
        files.push((format!("/web-{version}.tgz"), tgz));
    }
    files.push(("/index.yaml".into(), index.into_bytes()));
    FileServer::start(files, None).await
}

/// Waits (at most 30 s) until `check` returns something.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(v) = check() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within 30 s"))
}

fn release_statuses(api: &FakeApi) -> Vec<String> {
    let mut out: Vec<(u64, String)> = api
        .paths("/api/v1/namespaces/apps/secrets/sh.helm.release.v1.web.v")
        .iter()
        .filter_map(|p| api.get(p))
        .map(|s| {
            let l = &s["metadata"]["labels"];
            let v: u64 = l["version"].as_str().unwrap_or("0").parse().unwrap_or(0);
            (v, format!("v{v}:{}", l["status"].as_str().unwrap_or("")))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, s)| s).collect()
}

#[tokio::test]
async fn the_controller_loop_installs_upgrades_and_uninstalls_from_watch_events_once_leading() {
    let server = web_repo().await;
    let (client, api) = FakeApi::start();
    api.put(
        "/apis/app.alauda.io/v1beta1/namespaces/captain/chartrepos/stable",
        json!({"apiVersion": "app.alauda.io/v1beta1", "kind": "ChartRepo",
               "metadata": {"name": "stable", "namespace": "captain"}, "spec": {"url": server.url}}),
    );
    let options = ControllerOptions {
        chart_repo_namespace: "captain".into(),
        namespace: Some("apps".into()),
        leader_elect: true,
        identity: Some("captain-0".into()),
        workers: 1,
        ..ControllerOptions::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = listener.local_addr().unwrap();
    let (stop_tx, stop) = watch::channel(false);
    let running = tokio::spawn(run_serving(client, options, stop, Some(listener)));

    // Leading first: the Lease is taken before anything else is written or watched.
    let hrs = "/apis/app.alauda.io/v1/namespaces/apps/helmrequests";
    eventually("the HelmRequest watch", || {
        api.calls()
            .iter()
            .any(|c| c == &format!("WATCH {hrs}"))
            .then_some(())
    })
    .await;
    let lease = "/apis/coordination.k8s.io/v1/namespaces/captain/leases";
    let calls = api.calls();
    let first_write = calls
        .iter()
        .position(|c| !c.starts_with("GET ") && !c.starts_with("WATCH "))
        .unwrap();
    assert_eq!(calls[first_write], format!("POST {lease}"), "{calls:#?}");
    assert!(
        calls[..first_write]
            .iter()
            .all(|c| c == &format!("GET {lease}/captain-controller-lock")),
        "{calls:#?}"
    );
    assert_eq!(
        api.get(&format!("{lease}/captain-controller-lock"))
            .unwrap()["spec"]["holderIdentity"],
        "captain-0"
    );

    // A HelmRequest appears on the watch: installed, release recorded, status Synced.
    let hr_path = format!("{hrs}/web");
    api.write(
        &hr_path,
        json!({"apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
               "metadata": {"name": "web", "namespace": "apps", "generation": 1},
               "spec": {"chart": "stable/web", "version": "1.0.0"}}),
    );
    eventually("install", || {
        let hr = api.get(&hr_path)?;
        (hr["status"]["phase"] == "Synced" && release_statuses(&api) == ["v1:deployed"])
            .then_some(())
    })
    .await;
    let hr = api.get(&hr_path).unwrap();
    assert_eq!(hr["status"]["version"], "1.0.0");
    assert_eq!(
        hr["metadata"]["finalizers"],
        json!([kube_bridge::captain_crd::FINALIZER])
    );
    assert!(
        api.get("/api/v1/namespaces/apps/configmaps/web-a")
            .is_some()
    );
    assert!(
        api.get("/api/v1/namespaces/apps/configmaps/web-b")
            .is_none()
    );

    // A spec change on the watch: upgraded to revision 2.
    api.change(&hr_path, |o| {
        o["spec"]["version"] = json!("2.0.0");
        o["metadata"]["generation"] = json!(2);
    });
    eventually("upgrade", || {
        let hr = api.get(&hr_path)?;
        (hr["status"]["version"] == "2.0.0"
            && hr["status"]["phase"] == "Synced"
            && release_statuses(&api) == ["v1:superseded", "v2:deployed"])
        .then_some(())
    })
    .await;
    assert!(
        api.get("/api/v1/namespaces/apps/configmaps/web-b")
            .is_some()
    );
    assert_eq!(
        api.get(&hr_path).unwrap()["status"]["observedGeneration"],
        2
    );

    // /metrics counts the work under captain's names.
    let body = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let body = crate::metrics::scrape(metrics_addr).await;
            if body
                .lines()
                .any(|l| l == "captain_helmrequests{phase=\"Synced\"} 1")
            {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a Synced count within 30 s");
    let reconciles = body
        .lines()
        .find_map(|l| l.strip_prefix("captain_reconciles_total{kind=\"HelmRequest\"} "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(reconciles >= 2, "{body}");

    // Deletion (the API sets deletionTimestamp, the finalizer holds the object): uninstalled.
    api.change(&hr_path, |o| {
        o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    });
    eventually("uninstall", || {
        let hr = api.get(&hr_path)?;
        let released = hr["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty());
        (released && release_statuses(&api).is_empty()).then_some(())
    })
    .await;
    assert!(api.paths("/api/v1/namespaces/apps/configmaps/").is_empty());

    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("stops within 30 s")
        .unwrap()
        .unwrap();
}
