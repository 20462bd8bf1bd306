//! Golden test of `values.schema.json` checking: for each case `helm template` (the reference
//! binary, v3.17.3) must fail with exactly the message our engine returns (gojsonschema's
//! wording and order). Helm lists the errors of different properties in Go map order, which
//! changes from run to run, so lines are compared after a stable sort by property; the errors
//! of one property keep their order. The reference binary comes from `HELM_BIN`, or
//! `<workspace>/.tools/helm` (`scripts/install-helm .tools` puts it there).

use helm_engine::render::{RenderOptions, template};
use helm_engine::values::ValueOptions;
use std::path::Path;
use std::process::Command;

mod support;
use support::helm_bin;

/// (chart under tests/charts, one `--set` argument): every case violates the schema.
const CASES: &[(&str, &str)] = &[
    ("schema-keywords", "name=ABC"),
    ("schema-keywords", "name=a"),
    ("schema-keywords", "name=abcdefg"),
    ("schema-keywords", "name=null"),
    ("schema-keywords", "port=0"),
    ("schema-keywords", "port=70000"),
    ("schema-keywords", "port=65001"),
    ("schema-keywords", "port=7"),
    ("schema-keywords", "port=abc"),
    ("schema-keywords", "ratio=0"),
    ("schema-keywords", "mode=c"),
    ("schema-keywords", "c=x"),
    ("schema-keywords", "tags={a,a,a}"),
    ("schema-keywords", "tags={a,b,c}"),
    ("schema-keywords", "tags[0]=1"),
    ("schema-keywords", "obj.x=a"),
    ("schema-keywords", "obj.long=1"),
    ("schema-keywords", "obj.a=1"),
    ("schema-keywords", "email=nope"),
    ("schema-keywords", "any=true"),
    ("schema-keywords", "one=5"),
    ("schema-keywords", "all=5"),
    ("schema-keywords", "neg=s"),
    ("schema-keywords", "cond=ab"),
    ("schema-keywords", "cond=true"),
    ("schema-keywords", "ref=-1"),
    ("schema-keywords", "multi=1"),
    ("schema-keywords", "contains={2,3}"),
    ("schema-keywords", "tuple={1}"),
    ("schema-keywords", "tuple={a,b}"),
    ("schema-keywords", "extra=1"),
    ("schema-keywords", "port=65535,ratio=a,mode=c,c=x,name=A"),
    ("schema-draft4", "ip=1.2.3"),
    ("schema-draft4", "ip6=1.2.3.4"),
    ("schema-draft4", "day=2024-02-30"),
    ("schema-draft4", "ts=2024-01-01 00:00:00"),
    ("schema-draft4", "id=123"),
    ("schema-draft4", "id=abc"),
    ("schema-draft4", "host=-bad-"),
    ("schema-draft4", "half=0.75"),
    ("schema-draft4", "low=1"),
    ("schema-draft4", "low=9"),
    ("schema-draft4", "props.a=x"),
    ("schema-draft4", "props.b=x"),
    ("schema-draft4", "pp.n1=a"),
    ("schema-draft4", "pp.x=1"),
    ("schema-draft4", "two=1"),
    ("schema-draft4", "e=z"),
    ("schema-draft4", "b=yes"),
    ("schema-draft4", "f=1.5"),
];

/// The message with its `- FIELD: ...` lines stably sorted by field.
fn canonical(msg: &str) -> String {
    let mut head = Vec::new();
    let mut items: Vec<&str> = Vec::new();
    for l in msg.lines() {
        if l.starts_with("- ") {
            items.push(l);
        } else {
            head.push(l);
        }
    }
    items.sort_by_key(|l| l.split(':').next().unwrap_or(""));
    format!("{}\n{}", head.join("\n"), items.join("\n"))
}

#[test]
fn schema_violations_are_worded_as_helm_words_them() {
    let charts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts");
    let home = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (chart, set) in CASES {
        let dir = charts.join(chart);
        let out = Command::new(helm_bin())
            .arg("template")
            .arg(&dir)
            .args(["--set", set])
            .env("HOME", home.path())
            .output()
            .expect("run helm");
        assert!(!out.status.success(), "helm accepted {chart} --set {set}");
        let helm = String::from_utf8_lossy(&out.stderr).into_owned();
        let values = ValueOptions {
            values: vec![set.to_string()],
            ..Default::default()
        }
        .merge()
        .expect("values");
        let loaded = helm_engine::chart::load(&dir).expect("chart");
        let ours = match template(loaded, &values, &RenderOptions::default()) {
            Ok(_) => "(rendered without error)".to_string(),
            Err(e) => format!("Error: {e}\n"),
        };
        if canonical(&helm) != canonical(&ours) {
            failures.push(format!(
                "{chart} --set {set}\n  helm: {helm:?}\n  ours: {ours:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
