use super::*;
use crate::test_api::FakeApi;
use crate::test_http::chart_tgz;
use helm_engine::release::NewRelease;

const NS: &str = "apps";
const SECRETS: &str = "/api/v1/namespaces/apps/secrets";
const CMS: &str = "/api/v1/namespaces/apps/configmaps";
const JOBS: &str = "/apis/batch/v1/namespaces/apps/jobs";
const APPLY: &str = "?force=true&fieldManager=captain";
const SEL: &str = "labelSelector=name=web,owner=helm";

const CM_A: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-a\ndata:\n  v: {{ .Values.v | quote }}\n";
const CM_B: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-b\n";
const CM_C: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-c\n";
const CM_KEEP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-k\n  annotations:\n    helm.sh/resource-policy: keep\n";

fn job_hook(name: &str, event: &str, weight: i32, policy: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: {event}\n    helm.sh/hook-weight: \"{weight}\"\n    helm.sh/hook-delete-policy: {policy}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox\n"
    )
}

/// Revision `revision` of release `web` from a chart of `templates`, with status `status`.
fn revision(revision: u32, templates: &[(&str, &str)], v: &str, status: Status) -> Release {
    let tgz = chart_tgz("web", &format!("{revision}.0.0"), templates);
    let mut chart = helm_engine::chart::load_archive(&tgz).unwrap();
    chart.fix_paths();
    let config = helm_engine::chart::parse_values_file(format!("v: {v}\n").as_bytes()).unwrap();
    let opts = helm_engine::render::RenderOptions {
        release_name: "web".into(),
        namespace: NS.into(),
        ..Default::default()
    };
    let rendered = helm_engine::render::template(chart.clone(), &config, &opts).unwrap();
    let mut rel = Release::pending(NewRelease {
        name: "web",
        namespace: NS,
        revision,
        chart: &chart,
        config,
        rendered: &rendered,
        notes: format!("notes of {revision}"),
        first_deployed: None,
        now: Time::now(),
    })
    .unwrap();
    rel.mark_deployed();
    rel.info.status = status;
    rel
}

fn statuses(api: &FakeApi) -> Vec<String> {
    let mut out: Vec<(u32, String)> = api
        .paths(&format!("{SECRETS}/sh.helm.release.v1.web.v"))
        .into_iter()
        .map(|p| {
            let s = api.get(&p).unwrap();
            let l = &s["metadata"]["labels"];
            let v: u32 = l["version"].as_str().unwrap().parse().unwrap();
            (v, format!("v{v}:{}", l["status"].as_str().unwrap()))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, s)| s).collect()
}

/// Revision 1 (a, b, keep, rollback hooks) superseded by revision 2 (a changed, c), deployed;
/// the cluster holds revision 2's objects.
async fn two_revisions() -> (FakeApi, ReleaseStore, Deployer) {
    let (client, api) = FakeApi::start();
    let store = ReleaseStore::new(client.clone(), NS);
    let pre = job_hook("web-pre-rb", "pre-rollback", 0, "hook-succeeded");
    let post = job_hook("web-post-rb", "post-rollback", 5, "before-hook-creation");
    let v1 = revision(
        1,
        &[
            ("templates/a.yaml", CM_A),
            ("templates/b.yaml", CM_B),
            ("templates/pre.yaml", &pre),
            ("templates/post.yaml", &post),
        ],
        "one",
        Status::Superseded,
    );
    let v2 = revision(
        2,
        &[
            ("templates/a.yaml", CM_A),
            ("templates/c.yaml", CM_C),
            ("templates/k.yaml", CM_KEEP),
        ],
        "two",
        Status::Deployed,
    );
    store.create(&v1).await.unwrap();
    store.create(&v2).await.unwrap();
    let deployer = Deployer {
        client,
        hook_timeout: Duration::from_secs(30),
        hook_poll: Duration::from_millis(10),
    };
    deployer
        .apply_release(&v2, Some(&v1.manifest))
        .await
        .unwrap();
    assert_eq!(
        api.paths(CMS),
        vec![
            format!("{CMS}/web-a"),
            format!("{CMS}/web-c"),
            format!("{CMS}/web-k")
        ]
    );
    api.take_calls();
    (api, store, deployer)
}

#[tokio::test]
async fn rollback_runs_rollback_hooks_applies_prunes_and_records_like_helm() {
    let (api, store, deployer) = two_revisions().await;
    let rb = deployer.rollback(&store, "web", 1).await.unwrap();
    assert_eq!((rb.version, rb.info.status), (3, Status::Deployed));
    assert_eq!(rb.info.description, "Rollback to 1");
    assert_eq!(rb.info.notes, "notes of 1");
    let v3 = "sh.helm.release.v1.web.v3";
    assert_eq!(
        api.take_calls(),
        [
            // Helm's prepareRollback: the history, then the target revision.
            format!("GET {SECRETS}?{SEL}"),
            format!("GET {SECRETS}/sh.helm.release.v1.web.v1"),
            // The new revision (history read for the max-history limit), pending-rollback.
            format!("GET {SECRETS}?{SEL}"),
            format!("POST {SECRETS}"),
            // pre-rollback hook: hook-succeeded only, so no delete before creation.
            format!("PATCH {JOBS}/web-pre-rb{APPLY}"),
            format!("GET {JOBS}/web-pre-rb"),
            format!("DELETE {JOBS}/web-pre-rb"),
            // Revision 1's objects, then revision 2's extra object pruned (not the kept one).
            format!("PATCH {CMS}/web-a{APPLY}"),
            format!("PATCH {CMS}/web-b{APPLY}"),
            format!("DELETE {CMS}/web-c"),
            // post-rollback hook: before-hook-creation deletes first and keeps it after.
            format!("DELETE {JOBS}/web-post-rb"),
            format!("PATCH {JOBS}/web-post-rb{APPLY}"),
            format!("GET {JOBS}/web-post-rb"),
            // Every deployed revision superseded, then the new one deployed.
            format!("GET {SECRETS}?{SEL},status=deployed"),
            format!("PUT {SECRETS}/sh.helm.release.v1.web.v2"),
            format!("PUT {SECRETS}/{v3}"),
        ]
    );
    assert_eq!(
        statuses(&api),
        ["v1:superseded", "v2:superseded", "v3:deployed"]
    );
    let a = api.get(&format!("{CMS}/web-a")).unwrap();
    assert_eq!(a["data"]["v"], "one");
    assert_eq!(
        a["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
    assert_eq!(
        a["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert!(api.get(&format!("{CMS}/web-c")).is_none());
    assert!(
        api.get(&format!("{CMS}/web-k")).is_some(),
        "kept object pruned"
    );
    assert!(api.get(&format!("{JOBS}/web-post-rb")).is_some());
    let stored = store.get("web", 3).await.unwrap();
    assert_eq!(stored.manifest, store.get("web", 1).await.unwrap().manifest);
    assert_eq!(stored.info.description, "Rollback to 1");
}

#[tokio::test]
async fn revision_zero_rolls_back_to_the_previous_one() {
    let (api, store, deployer) = two_revisions().await;
    let rb = deployer.rollback(&store, "web", 0).await.unwrap();
    assert_eq!(rb.info.description, "Rollback to 1");
    assert_eq!(
        statuses(&api),
        ["v1:superseded", "v2:superseded", "v3:deployed"]
    );
}

#[tokio::test]
async fn a_failing_pre_rollback_hook_fails_the_revision_and_applies_nothing() {
    let (api, store, deployer) = two_revisions().await;
    api.job_fails(&format!("{JOBS}/web-pre-rb"));
    let err = deployer.rollback(&store, "web", 1).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "Rollback \"web\" failed: pre-rollback hook web/templates/pre.yaml failed"
        ),
        "{message}"
    );
    let calls = api.take_calls();
    assert!(
        !calls.iter().any(|c| c.contains("configmaps")),
        "{calls:#?}"
    );
    assert_eq!(
        calls[calls.len() - 2..],
        [
            format!("PUT {SECRETS}/sh.helm.release.v1.web.v2"),
            format!("PUT {SECRETS}/sh.helm.release.v1.web.v3"),
        ]
    );
    // As Helm records a failed rollback: the current revision superseded, the new one failed.
    assert_eq!(
        statuses(&api),
        ["v1:superseded", "v2:superseded", "v3:failed"]
    );
    let v3 = store.get("web", 3).await.unwrap();
    assert_eq!(v3.info.description, message);
    assert_eq!(
        api.get(&format!("{CMS}/web-a")).unwrap()["data"]["v"],
        "two"
    );
}

#[tokio::test]
async fn rollback_refuses_an_unknown_revision_or_release_without_writing() {
    let (api, store, deployer) = two_revisions().await;
    let err = deployer.rollback(&store, "web", 9).await.unwrap_err();
    assert_eq!(err.to_string(), "release has no 9 version");
    let err = deployer.rollback(&store, "nope", 1).await.unwrap_err();
    assert_eq!(err.to_string(), "release: not found");
    assert_eq!(
        api.take_calls(),
        [
            format!("GET {SECRETS}?{SEL}"),
            format!("GET {SECRETS}?labelSelector=name=nope,owner=helm"),
        ]
    );
}
