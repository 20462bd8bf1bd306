use super::*;
use crate::repo::RepoClient;
use crate::test_api::FakeApi;
use crate::test_http::{FileServer, chart_tgz};

const NS: &str = "apps";
const REPO_PATH: &str = "/apis/app.alauda.io/v1beta1/namespaces/captain/chartrepos/stable";
const HR_PATH: &str = "/apis/app.alauda.io/v1/namespaces/apps/helmrequests";
const CM_PATH: &str = "/api/v1/namespaces/apps/configmaps";
const SECRETS: &str = "/api/v1/namespaces/apps/secrets";

const CM_A: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-a\ndata:\n  greeting: {{ .Values.greeting | default \"hello\" | quote }}\n";
const CM_B: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-b\n";
const CM_KEEP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-k\n  annotations:\n    helm.sh/resource-policy: keep\n";
const CM_BAD: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-bad\n";
const HOOK: &str = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-delete-policy: hook-succeeded\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox\n";
const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.ex.io\nspec:\n  group: ex.io\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions: []\n";

const CM_RELEASE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-a\ndata:\n  revision: {{ .Release.Revision | quote }}\n  install: {{ .Release.IsInstall | quote }}\n  upgrade: {{ .Release.IsUpgrade | quote }}\n";
const NOTES: &str = "{{ if .Release.IsInstall }}Installed{{ else }}Upgraded{{ end }} {{ .Release.Name }} to revision {{ .Release.Revision }}.\n";

/// A repository with chart `web` in several versions:
/// 1.0.0: a, b, k (keep), a pre-install Job hook, a CRD in crds/;
/// 2.0.0: a only (b pruned, k kept);
/// 3.0.0: a and `bad` (the test makes applying `bad` fail);
/// 4.0.0: a template that fails to render;
/// 5.0.0: a ConfigMap showing `.Release.Revision`/`IsInstall`/`IsUpgrade`, and NOTES.txt.
async fn repo() -> FileServer {
    let charts = [
        (
            "1.0.0",
            vec![
                ("templates/a.yaml", CM_A),
                ("templates/b.yaml", CM_B),
                ("templates/k.yaml", CM_KEEP),
                ("templates/hook.yaml", HOOK),
                ("crds/widgets.yaml", CRD),
            ],
        ),
        ("2.0.0", vec![("templates/a.yaml", CM_A)]),
        (
            "3.0.0",
            vec![("templates/a.yaml", CM_A), ("templates/bad.yaml", CM_BAD)],
        ),
        ("4.0.0", vec![("templates/a.yaml", "{{ fail \"boom\" }}\n")]),
        (
            "5.0.0",
            vec![
                ("templates/a.yaml", CM_RELEASE),
                ("templates/NOTES.txt", NOTES),
            ],
        ),
    ];
    let mut files = Vec::new();
    let mut index = String::from("apiVersion: v1\nentries:\n  web:\n");
    for (version, templates) in charts {
        let tgz = chart_tgz("web", version, &templates);
        let digest = hex::encode(sha2::Sha256::digest(&tgz));
        index.push_str(&format!(
            "  - name: web\n    version: {version}\n    urls: [web-{version}.tgz]\n    digest: {digest}\n"
        ));
        files.push((format!("/web-{version}.tgz"), tgz));
    }
    files.push(("/index.yaml".into(), index.into_bytes()));
    FileServer::start(files, None).await
}

struct Fixture {
    api: FakeApi,
    reconciler: Reconciler,
    server: Option<FileServer>,
}

async fn fixture() -> Fixture {
    let server = repo().await;
    let (client, api) = FakeApi::start();
    api.put(
        REPO_PATH,
        json!({"apiVersion": "app.alauda.io/v1beta1", "kind": "ChartRepo",
               "metadata": {"name": "stable", "namespace": "captain"},
               "spec": {"url": server.url}}),
    );
    let reconciler = Reconciler {
        client,
        repos: RepoClient::new(Duration::from_secs(3600)).unwrap(),
        chart_repo_namespace: "captain".into(),
        max_retries: 3,
        hook_timeout: Duration::from_secs(30),
        hook_poll: Duration::from_millis(10),
        dependency_poll: Duration::from_secs(5),
        kube_version: None,
    };
    Fixture {
        api,
        reconciler,
        server: Some(server),
    }
}

impl Fixture {
    /// Stores a HelmRequest `name` with `spec` and returns it as the controller would read it.
    fn helm_request(&self, name: &str, spec: Value) -> HelmRequest {
        let path = format!("{HR_PATH}/{name}");
        let mut obj = self.api.get(&path).unwrap_or_else(|| {
            json!({"apiVersion": "app.alauda.io/v1", "kind": "HelmRequest",
                   "metadata": {"name": name, "namespace": NS, "generation": 1}})
        });
        obj["spec"] = spec;
        self.api.put(&path, obj);
        self.current(name)
    }

    fn current(&self, name: &str) -> HelmRequest {
        serde_json::from_value(self.api.get(&format!("{HR_PATH}/{name}")).unwrap()).unwrap()
    }

    fn status(&self, name: &str) -> HelmRequestStatus {
        self.current(name).status.unwrap_or_default()
    }

    async fn sync(&self, name: &str) -> Outcome {
        let hr = self.current(name);
        self.reconciler.reconcile(&hr).await.unwrap()
    }

    /// Release Secrets of `release`, as `name:status` by revision.
    fn releases(&self, release: &str) -> Vec<String> {
        let mut out: Vec<(u32, String)> = self
            .api
            .paths(&format!("{SECRETS}/sh.helm.release.v1.{release}.v"))
            .into_iter()
            .map(|p| {
                let s = self.api.get(&p).unwrap();
                let labels = &s["metadata"]["labels"];
                (
                    labels["version"].as_str().unwrap().parse().unwrap(),
                    format!(
                        "v{}:{}",
                        labels["version"].as_str().unwrap(),
                        labels["status"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, s)| s).collect()
    }
}

fn cond<'a>(status: &'a HelmRequestStatus, type_: &str) -> &'a Condition {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status:?}"))
}

fn calls(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const APPLY: &str = "?force=true&fieldManager=captain";

#[tokio::test]
async fn install_applies_crds_hooks_and_objects_and_records_the_release() {
    let f = fixture().await;
    f.helm_request("web", json!({"chart": "stable/web", "version": "1.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    let hook = "/apis/batch/v1/namespaces/apps/jobs/web-migrate";
    let sel = "labelSelector=name=web,owner=helm";
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("PATCH {HR_PATH}/web"),
            &format!("GET {REPO_PATH}"),
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("GET {CM_PATH}/web-a"),
            &format!("GET {CM_PATH}/web-b"),
            &format!("GET {CM_PATH}/web-k"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("POST {SECRETS}"),
            &format!(
                "PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.ex.io{APPLY}"
            ),
            &format!("PATCH {hook}{APPLY}"),
            &format!("GET {hook}"),
            &format!("DELETE {hook}"),
            &format!("PATCH {CM_PATH}/web-a{APPLY}"),
            &format!("PATCH {CM_PATH}/web-b{APPLY}"),
            &format!("PATCH {CM_PATH}/web-k{APPLY}"),
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v1"),
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("PATCH {HR_PATH}/web/status"),
        ])
    );
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    assert_eq!(a["data"]["greeting"], "hello");
    assert_eq!(
        a["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        a["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
    assert_eq!(
        a["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
        NS
    );
    assert!(f.api.get(hook).is_none(), "hook-succeeded deletes the Job");
    assert_eq!(f.releases("web"), vec!["v1:deployed"]);
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Synced));
    assert_eq!(st.version, "1.0.0");
    assert_eq!(cond(&st, "Ready").status, "True");
    assert_eq!(cond(&st, "Released").status, "True");
    assert!(
        f.current("web")
            .finalizers()
            .contains(&FINALIZER.to_owned())
    );

    // Unchanged: a drift check reads every object and writes nothing.
    assert_eq!(f.sync("web").await, Outcome::Done);
    let again = f.api.take_calls();
    assert!(
        again
            .iter()
            .all(|c| c.starts_with("GET ") || c.ends_with("/status")),
        "{again:?}"
    );
    assert_eq!(f.releases("web"), vec!["v1:deployed"]);
}

async fn installed(version: &str) -> Fixture {
    let f = fixture().await;
    f.helm_request("web", json!({"chart": "stable/web", "version": version}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(f.status("web").phase, Some(HelmRequestPhase::Synced));
    f.api.take_calls();
    f
}

#[tokio::test]
async fn upgrade_prunes_removed_objects_but_keeps_the_kept_one() {
    let f = installed("1.0.0").await;
    f.helm_request("web", json!({"chart": "stable/web", "version": "^2"}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    let sel = "labelSelector=name=web,owner=helm";
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {REPO_PATH}"),
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("GET {CM_PATH}/web-a"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("POST {SECRETS}"),
            &format!("PATCH {CM_PATH}/web-a{APPLY}"),
            &format!("DELETE {CM_PATH}/web-b"),
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v2"),
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v1"),
            &format!("PATCH {HR_PATH}/web/status"),
        ])
    );
    assert!(f.api.get(&format!("{CM_PATH}/web-b")).is_none(), "pruned");
    assert!(f.api.get(&format!("{CM_PATH}/web-k")).is_some(), "kept");
    assert!(
        f.api
            .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.ex.io")
            .is_some(),
        "CRDs are never deleted"
    );
    assert_eq!(f.releases("web"), vec!["v1:superseded", "v2:deployed"]);
    assert_eq!(f.status("web").version, "2.0.0");
}

#[tokio::test]
async fn a_failed_upgrade_is_rolled_back_to_the_last_deployed_revision() {
    let f = installed("2.0.0").await;
    f.api.fail_once("PATCH", &format!("{CM_PATH}/web-bad"), 422);
    f.helm_request("web", json!({"chart": "stable/web", "version": "3.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Retry);
    let sel = "labelSelector=name=web,owner=helm";
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {REPO_PATH}"),
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("GET {CM_PATH}/web-a"),
            &format!("GET {CM_PATH}/web-bad"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("POST {SECRETS}"),
            &format!("PATCH {CM_PATH}/web-a{APPLY}"),
            &format!("PATCH {CM_PATH}/web-bad{APPLY}"),
            // The failed revision is recorded, then rolled back as revision 3.
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v2"),
            &format!("GET {SECRETS}?{sel}"),
            &format!("POST {SECRETS}"),
            &format!("PATCH {CM_PATH}/web-a{APPLY}"),
            &format!("DELETE {CM_PATH}/web-bad"),
            // As Helm's rollback: deployed revisions superseded, then the new one deployed.
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v1"),
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v3"),
            &format!("PATCH {HR_PATH}/web/status"),
        ])
    );
    assert_eq!(
        f.releases("web"),
        vec!["v1:superseded", "v2:failed", "v3:deployed"]
    );
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Failed));
    assert_eq!(
        st.version, "2.0.0",
        "the installed version is still the old one"
    );
    assert_eq!(cond(&st, "Ready").reason, "UpgradeFailed");
    let remediated = cond(&st, "Remediated");
    assert_eq!(remediated.status, "True");
    assert_eq!(
        remediated.message,
        "rolled back to revision 1 as revision 3"
    );
    assert_eq!(st.failures, 1);

    // The next attempt succeeds (the fault was one-shot) and clears the failure count.
    assert_eq!(f.sync("web").await, Outcome::Done);
    let st = f.status("web");
    assert_eq!((st.phase, st.failures), (Some(HelmRequestPhase::Synced), 0));
    assert_eq!(st.version, "3.0.0");
}

#[tokio::test]
async fn remediation_retries_are_bounded() {
    let f = installed("2.0.0").await;
    f.helm_request("web", json!({"chart": "stable/web", "version": "3.0.0"}));
    for attempt in 1..=3 {
        f.api.fail_once("PATCH", &format!("{CM_PATH}/web-bad"), 422);
        let outcome = f.sync("web").await;
        assert_eq!(f.status("web").failures, attempt);
        let expected = if attempt < 3 {
            Outcome::Retry
        } else {
            Outcome::Done
        };
        assert_eq!(outcome, expected, "attempt {attempt}");
    }
    f.api.take_calls();
    // Given up: nothing is tried until the spec changes.
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {REPO_PATH}"),
            &format!("GET {SECRETS}?labelSelector=name=web,owner=helm,status=deployed"),
        ])
    );
}

#[tokio::test]
async fn uninstall_through_the_finalizer_removes_objects_and_records() {
    let f = installed("2.0.0").await;
    f.api.edit(&format!("{HR_PATH}/web"), |o| {
        o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    });
    assert_eq!(f.sync("web").await, Outcome::Done);
    let sel = "labelSelector=name=web,owner=helm";
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {SECRETS}?{sel}"),
            &format!("PUT {SECRETS}/sh.helm.release.v1.web.v1"),
            &format!("DELETE {CM_PATH}/web-a"),
            &format!("DELETE {SECRETS}/sh.helm.release.v1.web.v1"),
            &format!("PATCH {HR_PATH}/web"),
        ])
    );
    assert!(f.api.get(&format!("{CM_PATH}/web-a")).is_none());
    assert!(f.releases("web").is_empty());
    assert!(f.current("web").finalizers().is_empty());
}

#[tokio::test]
async fn uninstall_keeps_resources_when_annotated() {
    let f = installed("2.0.0").await;
    f.api.edit(&format!("{HR_PATH}/web"), |o| {
        o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        o["metadata"]["annotations"] = json!({"captain-keep-resources": "true"});
    });
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {SECRETS}?labelSelector=name=web,owner=helm"),
            &format!("DELETE {SECRETS}/sh.helm.release.v1.web.v1"),
            &format!("PATCH {HR_PATH}/web"),
        ])
    );
    assert!(f.api.get(&format!("{CM_PATH}/web-a")).is_some());
    assert!(f.releases("web").is_empty());
}

#[tokio::test]
async fn dependencies_must_be_synced_first() {
    let f = fixture().await;
    f.helm_request(
        "front",
        json!({"chart": "stable/web", "version": "2.0.0", "dependencies": ["web"]}),
    );
    assert_eq!(
        f.sync("front").await,
        Outcome::RequeueAfter(Duration::from_secs(5))
    );
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("PATCH {HR_PATH}/front"),
            &format!("GET {HR_PATH}/web"),
            &format!("PATCH {HR_PATH}/front/status"),
        ])
    );
    let st = f.status("front");
    assert_eq!(st.phase, Some(HelmRequestPhase::Pending));
    assert_eq!(cond(&st, "Ready").message, "dependency web does not exist");
    assert!(f.releases("front").is_empty(), "nothing installed");

    f.helm_request("web", json!({"chart": "stable/web", "version": "2.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    f.api.take_calls();
    assert_eq!(f.sync("front").await, Outcome::Done);
    let c = f.api.take_calls();
    assert_eq!(c[0], format!("GET {HR_PATH}/web"));
    assert_eq!(f.status("front").phase, Some(HelmRequestPhase::Synced));
    assert_eq!(f.releases("front"), vec!["v1:deployed"]);
}

#[tokio::test]
async fn a_values_from_change_triggers_an_upgrade() {
    let f = fixture().await;
    f.api.put(
        &format!("{CM_PATH}/settings"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": NS},
               "data": {"values.yaml": "greeting: bonjour\n"}}),
    );
    f.helm_request(
        "web",
        json!({"chart": "stable/web", "version": "2.0.0",
               "valuesFrom": [{"configMapKeyRef": {"name": "settings"}}]}),
    );
    assert_eq!(f.sync("web").await, Outcome::Done);
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    assert_eq!(a["data"]["greeting"], "bonjour");
    f.api.take_calls();

    f.api.edit(&format!("{CM_PATH}/settings"), |o| {
        o["data"]["values.yaml"] = json!("greeting: hallo\n");
    });
    assert_eq!(f.sync("web").await, Outcome::Done);
    let c = f.api.take_calls();
    assert_eq!(c[0], format!("GET {REPO_PATH}"));
    assert_eq!(c[1], format!("GET {CM_PATH}/settings"));
    assert!(
        c.contains(&format!("PUT {SECRETS}/sh.helm.release.v1.web.v2")),
        "{c:?}"
    );
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    assert_eq!(a["data"]["greeting"], "hallo");
    assert_eq!(f.releases("web"), vec!["v1:superseded", "v2:deployed"]);
}

#[tokio::test]
async fn drift_is_reported_and_corrected() {
    let f = installed("1.0.0").await;
    f.api.edit(&format!("{CM_PATH}/web-a"), |o| {
        o["data"]["greeting"] = json!("tampered");
    });
    f.api.remove(&format!("{CM_PATH}/web-b"));
    assert_eq!(f.sync("web").await, Outcome::Done);
    let sel = "labelSelector=name=web,owner=helm";
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {REPO_PATH}"),
            &format!("GET {SECRETS}?{sel},status=deployed"),
            &format!("GET {CM_PATH}/web-a"),
            &format!("PATCH {CM_PATH}/web-a{APPLY}"),
            &format!("GET {CM_PATH}/web-b"),
            &format!("PATCH {CM_PATH}/web-b{APPLY}"),
            &format!("GET {CM_PATH}/web-k"),
            &format!("PATCH {HR_PATH}/web/status"),
        ])
    );
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    assert_eq!(a["data"]["greeting"], "hello");
    let drifted = cond(&f.status("web"), "Drifted").clone();
    assert_eq!(drifted.status, "True");
    assert_eq!(
        drifted.message,
        "corrected: ConfigMap apps/web-a, ConfigMap apps/web-b"
    );
    assert_eq!(f.releases("web"), vec!["v1:deployed"], "no new revision");

    // Corrected: the next check finds nothing.
    f.sync("web").await;
    assert_eq!(cond(&f.status("web"), "Drifted").status, "False");
}

/// Bad input fails with the right reason and message and writes nothing but the status (and
/// the finalizer).
async fn bad_input(spec: Value, reason: &str, message: &str) {
    bad_input_with(|_| {}, spec, reason, message).await;
}

/// `bad_input` after `setup` stored what the HelmRequest refers to.
async fn bad_input_with(setup: impl FnOnce(&Fixture), spec: Value, reason: &str, message: &str) {
    let f = fixture().await;
    setup(&f);
    f.helm_request("web", spec);
    assert_eq!(f.sync("web").await, Outcome::Retry);
    let writes: Vec<String> = f
        .api
        .take_calls()
        .into_iter()
        .filter(|c| !c.starts_with("GET "))
        .collect();
    assert_eq!(
        writes,
        calls(&[
            &format!("PATCH {HR_PATH}/web"),
            &format!("PATCH {HR_PATH}/web/status"),
        ]),
        "{reason}"
    );
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Failed));
    let ready = cond(&st, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reason)
    );
    assert_eq!(ready.message, message);
    assert!(f.releases("web").is_empty());
}

#[tokio::test]
async fn a_missing_repo_fails_without_installing() {
    bad_input(
        json!({"chart": "nope/web"}),
        "ChartRepoNotFound",
        "ChartRepo captain/nope (from spec.chart) not found",
    )
    .await;
}

#[tokio::test]
async fn an_unresolvable_version_fails_without_installing() {
    bad_input(
        json!({"chart": "stable/web", "version": ">=9"}),
        "ChartNotFound",
        "no chart version found for web->=9",
    )
    .await;
    bad_input(
        json!({"chart": "stable/db"}),
        "ChartNotFound",
        "chart \"db\" not found in repository stable",
    )
    .await;
}

#[tokio::test]
async fn an_absent_required_values_key_fails_and_an_optional_one_is_skipped() {
    bad_input(
        json!({"chart": "stable/web", "version": "2.0.0",
               "valuesFrom": [{"configMapKeyRef": {"name": "settings", "key": "prod.yaml"}}]}),
        "ValuesNotFound",
        "spec.valuesFrom[0]: ConfigMap apps/settings not found",
    )
    .await;
    let f = fixture().await;
    f.helm_request(
        "web",
        json!({"chart": "stable/web", "version": "2.0.0",
               "valuesFrom": [{"configMapKeyRef": {"name": "settings", "key": "prod.yaml", "optional": true}}]}),
    );
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(f.status("web").phase, Some(HelmRequestPhase::Synced));
}

#[tokio::test]
async fn a_render_error_fails_without_installing() {
    bad_input(
        json!({"chart": "stable/web", "version": "4.0.0"}),
        "RenderFailed",
        "execution error at (web/templates/a.yaml:1:3): boom",
    )
    .await;
}

#[tokio::test]
async fn an_object_of_another_release_is_refused_unless_forced() {
    let f = fixture().await;
    f.api.put(
        &format!("{CM_PATH}/web-a"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "web-a", "namespace": NS, "annotations": {
                   "meta.helm.sh/release-name": "other", "meta.helm.sh/release-namespace": NS}}}),
    );
    f.helm_request("web", json!({"chart": "stable/web", "version": "2.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Retry);
    let ready = cond(&f.status("web"), "Ready").clone();
    assert_eq!(ready.reason, "OwnershipConflict");
    assert_eq!(
        ready.message,
        "ConfigMap apps/web-a exists and cannot be imported into the current release: it belongs to release apps/other"
    );
    assert!(f.releases("web").is_empty());

    f.api.edit(&format!("{HR_PATH}/web"), |o| {
        o["metadata"]["annotations"] = json!({"captain-force-adopt-resources": "true"});
    });
    assert_eq!(f.sync("web").await, Outcome::Done);
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    assert_eq!(
        a["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
}

#[tokio::test]
async fn an_api_conflict_during_install_leaves_nothing_behind() {
    let f = fixture().await;
    f.api.fail_once("PATCH", &format!("{CM_PATH}/web-k"), 409);
    f.helm_request("web", json!({"chart": "stable/web", "version": "1.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Retry);
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Failed));
    let ready = cond(&st, "Ready");
    assert_eq!(ready.reason, "InstallFailed");
    assert!(
        ready.message.starts_with("applying ConfigMap apps/web-k: "),
        "{}",
        ready.message
    );
    assert!(
        f.api.paths(CM_PATH).is_empty(),
        "{:?}",
        f.api.paths(CM_PATH)
    );
    assert!(
        f.api
            .paths("/apis/batch/v1/namespaces/apps/jobs")
            .is_empty(),
        "the succeeded hook is gone too"
    );
    assert_eq!(f.releases("web"), vec!["v1:failed"]);

    // The retry installs as revision 2.
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(f.releases("web"), vec!["v1:failed", "v2:deployed"]);
}

#[tokio::test]
async fn a_failing_hook_job_fails_the_install() {
    let f = fixture().await;
    f.api
        .job_fails("/apis/batch/v1/namespaces/apps/jobs/web-migrate");
    f.helm_request("web", json!({"chart": "stable/web", "version": "1.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Retry);
    let ready = cond(&f.status("web"), "Ready").clone();
    assert_eq!(ready.reason, "InstallFailed");
    assert_eq!(
        ready.message,
        "pre-install hook web/templates/hook.yaml failed: Job apps/web-migrate failed: BackoffLimitExceeded"
    );
    assert!(f.api.paths(CM_PATH).is_empty(), "no object applied");
}

#[tokio::test]
async fn suspended_and_no_sync_requests_are_left_alone() {
    let f = fixture().await;
    f.helm_request("web", json!({"chart": "stable/web", "suspend": true}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    f.api.edit(&format!("{HR_PATH}/web"), |o| {
        o["spec"]["suspend"] = json!(false);
        o["metadata"]["annotations"] = json!({"captain-no-sync": "true"});
    });
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert!(f.api.take_calls().is_empty());
}

#[tokio::test]
async fn fields_stock_helm_wrote_client_side_are_taken_over() {
    let f = fixture().await;
    f.api.put(
        &format!("{CM_PATH}/web-a"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "web-a", "namespace": NS, "resourceVersion": "7",
                   "annotations": {"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": NS},
                   "managedFields": [{"manager": "helm", "operation": "Update", "apiVersion": "v1",
                       "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:old": {}}}}]},
               "data": {"old": "x"}}),
    );
    f.helm_request("web", json!({"chart": "stable/web", "version": "2.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    let c = f.api.take_calls();
    let migrate = c
        .iter()
        .position(|x| *x == format!("PATCH {CM_PATH}/web-a"))
        .expect("a merge patch moving field ownership");
    let apply = c
        .iter()
        .position(|x| *x == format!("PATCH {CM_PATH}/web-a{APPLY}"))
        .expect("the apply");
    assert!(migrate < apply, "{c:?}");
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    let managers = &a["metadata"]["managedFields"];
    assert_eq!(managers[0]["manager"], "captain");
    assert_eq!(managers[0]["operation"], "Apply");
    assert_eq!(managers[0]["fieldsV1"], json!({"f:data": {"f:old": {}}}));
}

#[tokio::test]
async fn an_interrupted_pending_revision_is_closed_as_failed() {
    let f = installed("1.0.0").await;
    // A pending-upgrade record left by a controller that stopped mid-way.
    let store = ReleaseStore::new(f.reconciler.client.clone(), NS);
    let mut rel = store.get("web", 1).await.unwrap();
    rel.version = 2;
    rel.info.status = Status::PendingUpgrade;
    store.create(&rel).await.unwrap();
    f.helm_request("web", json!({"chart": "stable/web", "version": "2.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(
        f.releases("web"),
        vec!["v1:superseded", "v2:failed", "v3:deployed"]
    );
}

#[tokio::test]
async fn a_repo_outage_keeps_the_installed_release_and_reports_it() {
    let mut f = installed("2.0.0").await;
    // Every sync reads the index again, and the repository goes away.
    f.reconciler.repos = RepoClient::new(Duration::ZERO).unwrap();
    let url = f.server.take().map(|s| s.url.clone()).unwrap();
    f.api.take_calls();

    assert_eq!(f.sync("web").await, Outcome::Retry);
    assert_eq!(
        f.api.take_calls(),
        calls(&[
            &format!("GET {REPO_PATH}"),
            &format!("GET {SECRETS}?labelSelector=name=web,owner=helm,status=deployed"),
            &format!("PATCH {HR_PATH}/web/status"),
        ]),
        "nothing is deleted or recorded"
    );
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Synced));
    assert_eq!((st.version.as_str(), st.failures), ("2.0.0", 0));
    assert_eq!(cond(&st, "Ready").status, "True");
    let outage = cond(&st, REPO_REACHABLE_CONDITION);
    assert_eq!(
        (outage.status.as_str(), outage.reason.as_str()),
        ("False", "ChartRepoUnreachable")
    );
    assert!(
        outage
            .message
            .starts_with(&format!("failed to fetch {url}/index.yaml: "))
            && outage
                .message
                .ends_with("; keeping release web at revision 1 (chart web-2.0.0), retrying"),
        "{}",
        outage.message
    );
    assert_eq!(f.releases("web"), vec!["v1:deployed"]);
    assert!(f.api.get(&format!("{CM_PATH}/web-a")).is_some());

    // Still down: retried with backoff, the unchanged status is not written again, and
    // retries never count towards giving up.
    for _ in 0..4 {
        assert_eq!(f.sync("web").await, Outcome::Retry);
    }
    assert!(
        !f.api.take_calls().iter().any(|c| !c.starts_with("GET ")),
        "only reads while the repository is down"
    );
    assert_eq!(f.status("web").failures, 0);

    // The repository is back (at a new address): the condition goes, the release stays.
    let server = repo().await;
    f.api
        .edit(REPO_PATH, |o| o["spec"]["url"] = json!(server.url));
    assert_eq!(f.sync("web").await, Outcome::Done);
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Synced));
    assert!(
        !st.conditions
            .iter()
            .any(|c| c.type_ == REPO_REACHABLE_CONDITION),
        "{st:?}"
    );
    assert_eq!(f.releases("web"), vec!["v1:deployed"]);
}

#[tokio::test]
async fn a_repo_outage_before_any_install_is_a_failure() {
    let mut f = fixture().await;
    f.server.take();
    f.helm_request("web", json!({"chart": "stable/web", "version": "1.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Retry);
    let st = f.status("web");
    assert_eq!(st.phase, Some(HelmRequestPhase::Failed));
    let ready = cond(&st, "Ready");
    assert_eq!(ready.reason, "ChartPullFailed");
    assert!(ready.message.contains("/index.yaml"), "{}", ready.message);
    assert!(f.releases("web").is_empty());
    assert!(f.api.paths(CM_PATH).is_empty());
}

fn settings_configmap(f: &Fixture) {
    f.api.put(
        &format!("{CM_PATH}/settings"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": NS},
               "data": {"base.yaml": "greeting: hi\n"}}),
    );
}

#[tokio::test]
async fn an_absent_key_of_an_existing_configmap_or_secret_fails_when_required() {
    bad_input_with(
        settings_configmap,
        json!({"chart": "stable/web", "version": "2.0.0",
               "valuesFrom": [{"configMapKeyRef": {"name": "settings", "key": "base.yaml"}},
                              {"configMapKeyRef": {"name": "settings", "key": "prod.yaml"}}]}),
        "ValuesNotFound",
        "spec.valuesFrom[1]: ConfigMap apps/settings has no key \"prod.yaml\"",
    )
    .await;
    bad_input_with(
        |f| {
            f.api.put(
                "/api/v1/namespaces/apps/secrets/creds",
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "creds", "namespace": NS}, "data": {}}),
            )
        },
        json!({"chart": "stable/web", "version": "2.0.0",
               "valuesFrom": [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}}]}),
        "ValuesNotFound",
        "spec.valuesFrom[0]: Secret apps/creds has no key \"values.yaml\"",
    )
    .await;
}

#[tokio::test]
async fn an_absent_optional_key_of_an_existing_configmap_is_skipped() {
    let f = fixture().await;
    settings_configmap(&f);
    f.helm_request(
        "web",
        json!({"chart": "stable/web", "version": "2.0.0",
               "valuesFrom": [{"configMapKeyRef": {"name": "settings", "key": "base.yaml"}},
                              {"configMapKeyRef": {"name": "settings", "key": "prod.yaml", "optional": true}}]}),
    );
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(f.status("web").phase, Some(HelmRequestPhase::Synced));
    let a = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
    assert_eq!(
        a["data"]["greeting"], "hi",
        "the present key's values apply"
    );
    assert_eq!(f.releases("web"), vec!["v1:deployed"]);
}

/// Bad input in an upgrade: reported, and the deployed release is left exactly as it was (no
/// revision recorded, no object written).
#[tokio::test]
async fn bad_input_in_an_upgrade_leaves_the_deployed_release_untouched() {
    let cases = [
        (
            json!({"chart": "nope/web"}),
            "ChartRepoNotFound",
            "ChartRepo captain/nope (from spec.chart) not found",
        ),
        (
            json!({"chart": "stable/web", "version": ">=9"}),
            "ChartNotFound",
            "no chart version found for web->=9",
        ),
        (
            json!({"chart": "stable/web", "version": "2.0.0",
                   "valuesFrom": [{"configMapKeyRef": {"name": "settings", "key": "prod.yaml"}}]}),
            "ValuesNotFound",
            "spec.valuesFrom[0]: ConfigMap apps/settings has no key \"prod.yaml\"",
        ),
        (
            json!({"chart": "stable/web", "version": "4.0.0"}),
            "RenderFailed",
            "execution error at (web/templates/a.yaml:1:3): boom",
        ),
    ];
    for (spec, reason, message) in cases {
        let f = installed("2.0.0").await;
        settings_configmap(&f);
        let before = f.api.get(&format!("{CM_PATH}/web-a")).unwrap();
        f.helm_request("web", spec);
        f.api.take_calls();
        assert_eq!(f.sync("web").await, Outcome::Retry, "{reason}");
        let writes: Vec<String> = f
            .api
            .take_calls()
            .into_iter()
            .filter(|c| !c.starts_with("GET "))
            .collect();
        assert_eq!(
            writes,
            calls(&[&format!("PATCH {HR_PATH}/web/status")]),
            "{reason}"
        );
        let st = f.status("web");
        assert_eq!(st.phase, Some(HelmRequestPhase::Failed), "{reason}");
        let ready = cond(&st, "Ready");
        assert_eq!(
            (ready.reason.as_str(), ready.message.as_str()),
            (reason, message)
        );
        assert_eq!(
            st.version, "2.0.0",
            "{reason}: the installed version is unchanged"
        );
        assert_eq!(f.releases("web"), vec!["v1:deployed"], "{reason}");
        assert_eq!(
            f.api.get(&format!("{CM_PATH}/web-a")).unwrap(),
            before,
            "{reason}"
        );
    }
}

#[tokio::test]
async fn templates_see_install_or_upgrade_and_the_revision_and_notes_are_stored() {
    let f = fixture().await;
    f.helm_request("web", json!({"chart": "stable/web", "version": "5.0.0"}));
    assert_eq!(f.sync("web").await, Outcome::Done);
    let data = |f: &Fixture| f.api.get(&format!("{CM_PATH}/web-a")).unwrap()["data"].clone();
    assert_eq!(
        data(&f),
        json!({"revision": "1", "install": "true", "upgrade": "false"})
    );
    let store = ReleaseStore::new(f.reconciler.client.clone(), NS);
    let installed = "Installed web to revision 1.\n";
    assert_eq!(store.get("web", 1).await.unwrap().info.notes, installed);
    assert_eq!(f.status("web").notes, installed);

    f.helm_request(
        "web",
        json!({"chart": "stable/web", "version": "5.0.0", "values": {"greeting": "hey"}}),
    );
    assert_eq!(f.sync("web").await, Outcome::Done);
    assert_eq!(
        data(&f),
        json!({"revision": "2", "install": "false", "upgrade": "true"})
    );
    let upgraded = "Upgraded web to revision 2.\n";
    assert_eq!(store.get("web", 2).await.unwrap().info.notes, upgraded);
    assert_eq!(store.get("web", 1).await.unwrap().info.notes, installed);
    assert_eq!(f.status("web").notes, upgraded);
    assert!(
        !store
            .get("web", 2)
            .await
            .unwrap()
            .manifest
            .contains("Upgraded"),
        "notes are not part of the manifest"
    );
}
