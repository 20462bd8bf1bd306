//! The store over a `tower-test` mock API server: each test checks the exact requests (method,
//! path, query, body) the store sends, in order.

use super::*;
use helm_engine::release::{ChartMetadata, ChartRecord, Info, Time};
use http::{Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::Handle;

const NOW: i64 = 1_700_000_000;

struct ApiServer(Handle<Request<Body>, Response<Body>>);

fn store() -> (ReleaseStore, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    (
        ReleaseStore::new(client, "apps").with_clock(|| NOW),
        ApiServer(handle),
    )
}

impl ApiServer {
    /// Expects the next request to be `method uri`, answers `status` with `reply`, returns the
    /// request body (JSON) if any.
    async fn expect(
        &mut self,
        method: &str,
        uri: &str,
        status: u16,
        reply: Value,
    ) -> Option<Value> {
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), self.0.next_request());
        let (request, send) = next
            .await
            .expect("a request within 30 s")
            .expect("the client is alive");
        let seen = (request.method().to_string(), request.uri().to_string());
        let bytes = request
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        send.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&reply).expect("JSON")))
                .expect("response"),
        );
        assert_eq!((seen.0.as_str(), seen.1.as_str()), (method, uri));
        (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).expect("JSON body"))
    }
}

fn failure(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": reason, "reason": reason, "code": code})
}

fn rel(name: &str, version: u32, status: Status) -> Release {
    Release {
        name: name.into(),
        info: Info {
            first_deployed: Time::from_unix(1000, 0, 0),
            last_deployed: Time::from_unix(1000 + i64::from(version), 0, 0),
            description: "Install complete".into(),
            status,
            ..Default::default()
        },
        chart: ChartRecord {
            metadata: Some(ChartMetadata {
                name: "demo".into(),
                version: "0.1.0".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        manifest: format!("---\n# Source: demo/templates/cm.yaml\nrev: {version}\n"),
        version,
        namespace: "apps".into(),
        ..Default::default()
    }
}

/// The Secret JSON as the API server would return it (data base64-encoded once more).
fn secret_json(r: &Release, extra_labels: &[(&str, &str)]) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("name".into(), json!(r.name));
    labels.insert("owner".into(), json!("helm"));
    labels.insert("status".into(), json!(r.info.status.as_str()));
    labels.insert("version".into(), json!(r.version.to_string()));
    for (k, v) in extra_labels {
        labels.insert((*k).into(), json!(v));
    }
    let data = release::encode(r).unwrap();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": secret_name(&r.name, r.version), "namespace": "apps", "labels": labels},
        "type": "helm.sh/release.v1",
        "data": {"release": base64_of(data.as_bytes())},
    })
}

/// Standard base64, through the API types' own `ByteString` encoding.
fn base64_of(b: &[u8]) -> Value {
    serde_json::to_value(ByteString(b.to_vec())).expect("base64")
}

fn list_json(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "SecretList", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// The release inside a Secret body the client sent.
fn release_in(body: &Value) -> Release {
    let data: ByteString =
        serde_json::from_value(body["data"]["release"].clone()).expect("API-layer base64");
    release::decode(&data.0).expect("our codec")
}

const SECRETS: &str = "/api/v1/namespaces/apps/secrets";

#[tokio::test]
async fn create_writes_helms_secret() {
    let (store, mut api) = store();
    let mut r = rel("web", 1, Status::PendingInstall);
    r.labels.insert("team".into(), "blue".into());
    let task = tokio::spawn(async move { store.create(&r).await });
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=name%3Dweb%2Cowner%3Dhelm"),
        200,
        list_json(vec![]),
    )
    .await;
    let body = api
        .expect("POST", &format!("{SECRETS}?"), 201, json!({}))
        .await
        .expect("a body");
    task.await.unwrap().unwrap();
    assert_eq!(body["metadata"]["name"], "sh.helm.release.v1.web.v1");
    assert_eq!(body["type"], "helm.sh/release.v1");
    assert_eq!(
        body["metadata"]["labels"],
        json!({"createdAt": NOW.to_string(), "name": "web", "owner": "helm",
               "status": "pending-install", "team": "blue", "version": "1"})
    );
    let stored = release_in(&body);
    assert_eq!(
        stored.manifest,
        "---\n# Source: demo/templates/cm.yaml\nrev: 1\n"
    );
    assert_eq!(stored.info.status, Status::PendingInstall);
}

#[tokio::test]
async fn create_conflict_is_typed() {
    let (store, mut api) = store();
    let r = rel("web", 2, Status::PendingUpgrade);
    let task = tokio::spawn(async move { store.with_max_history(0).create(&r).await });
    api.expect(
        "POST",
        &format!("{SECRETS}?"),
        409,
        failure(409, "AlreadyExists"),
    )
    .await;
    match task.await.unwrap() {
        Err(StorageError::Exists { secret }) => assert_eq!(secret, "sh.helm.release.v1.web.v2"),
        other => panic!("expected Exists, got {other:?}"),
    }
}

#[tokio::test]
async fn update_replaces_and_stamps_modified_at() {
    let (store, mut api) = store();
    let mut r = rel("web", 1, Status::Deployed);
    // Read through a query, the release carries its Secret's labels, createdAt included.
    r.labels.insert("createdAt".into(), "1600000000".into());
    r.labels.insert("status".into(), "pending-install".into());
    let task = tokio::spawn(async move { store.update(&r).await });
    let body = api
        .expect(
            "PUT",
            &format!("{SECRETS}/sh.helm.release.v1.web.v1?"),
            200,
            json!({}),
        )
        .await
        .expect("a body");
    task.await.unwrap().unwrap();
    assert_eq!(
        body["metadata"]["labels"],
        json!({"createdAt": "1600000000", "modifiedAt": NOW.to_string(), "name": "web",
               "owner": "helm", "status": "deployed", "version": "1"})
    );
    assert!(body["metadata"].get("resourceVersion").is_none());
}

#[tokio::test]
async fn get_decodes_and_keeps_custom_labels_only() {
    let (store, mut api) = store();
    let r = rel("web", 3, Status::Deployed);
    let reply = secret_json(&r, &[("createdAt", "1"), ("team", "blue")]);
    let task = tokio::spawn(async move { store.get("web", 3).await });
    api.expect(
        "GET",
        &format!("{SECRETS}/sh.helm.release.v1.web.v3"),
        200,
        reply,
    )
    .await;
    let got = task.await.unwrap().unwrap();
    assert_eq!(got.version, 3);
    assert_eq!(got.manifest, r.manifest);
    assert_eq!(
        got.labels,
        BTreeMap::from([("team".to_string(), "blue".to_string())])
    );
}

#[tokio::test]
async fn get_missing_and_corrupt() {
    let (store, mut api) = store();
    let s2 = store.clone();
    let task = tokio::spawn(async move { store.get("web", 9).await });
    api.expect(
        "GET",
        &format!("{SECRETS}/sh.helm.release.v1.web.v9"),
        404,
        failure(404, "NotFound"),
    )
    .await;
    assert!(matches!(
        task.await.unwrap(),
        Err(StorageError::NotFound {
            revision: Some(9),
            ..
        })
    ));

    let task = tokio::spawn(async move { s2.get("web", 1).await });
    let corrupt = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "sh.helm.release.v1.web.v1"},
        "data": {"release": base64_of(b"H4sI-not-gzip")}});
    api.expect(
        "GET",
        &format!("{SECRETS}/sh.helm.release.v1.web.v1"),
        200,
        corrupt,
    )
    .await;
    let err = task.await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("Secret sh.helm.release.v1.web.v1"),
        "{err}"
    );
    assert!(matches!(err, StorageError::Corrupt { .. }));
}

#[tokio::test]
async fn history_sorts_and_skips_undecodable_secrets() {
    let (store, mut api) = store();
    let task = tokio::spawn(async move { store.history("web").await });
    let bad = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "sh.helm.release.v1.web.v4", "labels": {"name": "web", "owner": "helm"}},
        "data": {"release": base64_of(b"{{{{")}});
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=name%3Dweb%2Cowner%3Dhelm"),
        200,
        list_json(vec![
            secret_json(&rel("web", 3, Status::Deployed), &[("createdAt", "7")]),
            bad,
            secret_json(&rel("web", 1, Status::Superseded), &[]),
            secret_json(&rel("web", 2, Status::Superseded), &[]),
        ]),
    )
    .await;
    let h = task.await.unwrap().unwrap();
    assert_eq!(
        h.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // Through a query, a release keeps every label of its Secret, as in Helm.
    assert_eq!(h[2].labels.get("createdAt").map(String::as_str), Some("7"));
}

#[tokio::test]
async fn last_deployed_and_next_revision() {
    let (store, mut api) = store();
    let s2 = store.clone();
    let task = tokio::spawn(async move { store.last_deployed("web").await });
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=name%3Dweb%2Cowner%3Dhelm%2Cstatus%3Ddeployed"),
        200,
        list_json(vec![
            secret_json(&rel("web", 2, Status::Deployed), &[]),
            secret_json(&rel("web", 5, Status::Deployed), &[]),
        ]),
    )
    .await;
    assert_eq!(task.await.unwrap().unwrap().map(|r| r.version), Some(5));

    let task = tokio::spawn(async move { s2.next_revision("web").await });
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=name%3Dweb%2Cowner%3Dhelm"),
        200,
        list_json(vec![]),
    )
    .await;
    assert_eq!(task.await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn create_prunes_oldest_but_keeps_the_deployed_revision() {
    let (store, mut api) = store();
    let store = store.with_max_history(3);
    let r = rel("web", 5, Status::PendingUpgrade);
    let task = tokio::spawn(async move { store.create(&r).await });
    // Four revisions exist; the oldest is the deployed one. To keep 2 (3 with the new one),
    // revisions 2 and 3 go, and 1 stays.
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=name%3Dweb%2Cowner%3Dhelm"),
        200,
        list_json(vec![
            secret_json(&rel("web", 1, Status::Deployed), &[]),
            secret_json(&rel("web", 2, Status::Failed), &[]),
            secret_json(&rel("web", 3, Status::Failed), &[]),
            secret_json(&rel("web", 4, Status::Failed), &[]),
        ]),
    )
    .await;
    api.expect(
        "DELETE",
        &format!("{SECRETS}/sh.helm.release.v1.web.v2?"),
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
    )
    .await;
    api.expect(
        "DELETE",
        &format!("{SECRETS}/sh.helm.release.v1.web.v3?"),
        404,
        failure(404, "NotFound"),
    )
    .await;
    let body = api
        .expect("POST", &format!("{SECRETS}?"), 201, json!({}))
        .await
        .unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(body["metadata"]["name"], "sh.helm.release.v1.web.v5");
}

#[tokio::test]
async fn supersede_marks_older_deployed_revisions() {
    let (store, mut api) = store();
    let task = tokio::spawn(async move { store.supersede_deployed("web", 3).await });
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=name%3Dweb%2Cowner%3Dhelm%2Cstatus%3Ddeployed"),
        200,
        list_json(vec![
            secret_json(&rel("web", 3, Status::Deployed), &[]),
            secret_json(&rel("web", 2, Status::Deployed), &[("createdAt", "5")]),
        ]),
    )
    .await;
    let body = api
        .expect(
            "PUT",
            &format!("{SECRETS}/sh.helm.release.v1.web.v2?"),
            200,
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(task.await.unwrap().unwrap(), vec![2]);
    assert_eq!(body["metadata"]["labels"]["status"], "superseded");
    assert_eq!(body["metadata"]["labels"]["createdAt"], "5");
    assert_eq!(release_in(&body).info.status, Status::Superseded);
}

#[tokio::test]
async fn invalid_names_never_reach_the_server() {
    let (store, _api) = store();
    for bad in ["", "Web", "a,owner=x", "-a", &"a".repeat(54)] {
        assert!(
            matches!(
                store.history(bad).await,
                Err(StorageError::InvalidName { .. })
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn server_errors_name_the_operation() {
    let (store, mut api) = store();
    let task = tokio::spawn(async move { store.list().await });
    api.expect(
        "GET",
        &format!("{SECRETS}?&labelSelector=owner%3Dhelm"),
        500,
        failure(500, "InternalError"),
    )
    .await;
    let err = task.await.unwrap().unwrap_err();
    assert!(err.to_string().starts_with("list owner=helm:"), "{err}");
}
