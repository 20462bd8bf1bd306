//! Differential test of the YAML layer against the reference helm (v3.17.3): values files with
//! YAML corners (byte-order marks, NEL/LS/PS line breaks, merge keys, document markers, keys
//! of other types, scalar styles) go through `helm template -f` and through our engine, and
//! the output (or the error) must be the same. The chart prints the values through `toYaml`,
//! `toJson`, a `toYaml | fromYaml` round trip and `%v`, and reads the same text again from a
//! chart file through `fromYaml`, `fromYamlArray` and `toYaml`.
//!
//! A second test compares the warnings Helm logs while coalescing values (`coalesce.go:LINE:
//! ...` on stderr) with [`Rendered::warnings`], as sorted lists: Helm visits keys in Go map
//! order, which varies between runs.

use helm_engine::render::{RenderOptions, Rendered, render};
use helm_engine::values::ValueOptions;
use std::path::Path;
use std::process::Command;

mod support;
use support::helm_bin;

const TEMPLATE: &str = r#"a: |
{{ toYaml .Values | indent 2 }}
b: |
  {{ toJson .Values }}
c: |
{{ .Values | toYaml | fromYaml | toJson | indent 2 }}
d: |
{{- range $k, $v := .Values }}
  {{ $k | quote }}={{ $v }} {{ typeOf $v }}
{{- end }}
e: |
  {{ .Files.Get "data.txt" | fromYaml | toJson }}
f: |
  {{ .Files.Get "data.txt" | fromYamlArray | toJson }}
g: |
{{ .Files.Get "data.txt" | fromYaml | toYaml | indent 2 }}
"#;

const CASES: &[&str] = &[
    // Byte-order marks: skipped at the start of the stream (a second one right after it
    // too), content anywhere else; a string that starts with one has every character
    // escaped by go-yaml's emitter.
    "\u{feff}a: 1\n",
    "\u{feff}\u{feff}a: 1\n",
    "a: 1\n\u{feff}b: 2\n",
    "a: x\u{feff}y\n",
    "a: \u{feff}x y\n",
    "a: \"x\u{feff}y\"\n",
    "a: |\n  x\u{feff}y\n",
    "- 1\n\u{feff}- 2\n",
    "a: 1\n\u{feff}\nb: 2\n",
    // NEL, LS and PS break lines as go-yaml's reader does.
    "a: 1\u{85}b: 2\n",
    "a: 1\u{2028}b: 2\n",
    "a: 1\u{2029}b: 2\n",
    "a: x\u{85} y\n",
    "a: \"x\u{85}y\"\n",
    "a: 1 # c\u{85}b: 2\n",
    "s: plain\u{85}  continued\n",
    "a: |\n  x\u{2028}  y\n",
    "a: |\n  x\u{85}  y\n",
    "a: \"x\u{2028}y\"\n",
    "a: x\u{2028}\u{2028}y\n",
    "a: 1\r\u{85}b: 2\n",
    // LS and PS in block scalars stay themselves, and never fold.
    "a: >\n  x\u{2029}  y\n",
    "a: >\n  x\u{2028}\u{2028}  y\n",
    "a: >-\n  x\u{2029}  y\n  z\n",
    "a: >\n\u{2028}  x\n",
    "a: >\n  x\n\n\u{2029}\n  y\n",
    "- a: >\n    x\u{2028}    y\n  b: 1\n",
    "a: |\n\u{2028}  x\n",
    // Merge keys, anchors, document markers.
    "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
    "a: &a {x: 1}\nb: &b {y: 2, x: 0}\nc:\n  <<: [*a, *b]\n  z: 3\n",
    "a: &a 1\nb:\n  <<: *a\n",
    "a:\n  !!merge <<: {x: 1}\n",
    "a:\n  '<<': {x: 1}\n",
    "...\n",
    "# c\n...\n",
    "---\na: 1\n---\nb: 2\n",
    "a: 1\n...\n---\nb: 2\n",
    // Keys of other types.
    "1.5: a\n1e3: b\n.inf: c\n-.inf: d\n0.1: f\n1e21: g\n",
    "0x10: a\n010: b\n0b11: c\n1_000: d\n1:20: e\ntrue: f\n",
    "9223372036854775808: a\n",
    "18446744073709551615: ~\n",
    // Scalars.
    "a: 1000000\nb: 1e-7\nc: 123456789.123\nd: 12345678901234567890\ne: 0.30000000000000004\n",
    "a: \"\\e\\a\\b\\v\\f\\0\\N\\_\\L\\P\\ \\t\"\n",
    "a: \"\\ufeffx\"\n",
    "a: >\n  folded\n  text\n\n  para\n   more\n  back\n",
    "a: |2\n    indented\n   less\n",
    "a: 'multi\n  line\n\n  sq'\n",
    // Numbers Go's ParseFloat refuses stay strings; tabs where libyaml wants indentation;
    // keys past libyaml's 1024-character simple key limit.
    "a: 1e400\nb: -1e400\nc: 1e-400\n",
    "a: !!float 1e400\n",
    "a: |\n  \tx\n",
    "a: >-\n\n  \t\n  x\n",
    "b: |\n  x\n  \ty\n",
    LONG_KEY,
];

const LONG_KEY: &str = concat!(
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    ": 1\n"
);

fn write_chart(dir: &Path, text: &[u8]) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("templates/t.yaml"), TEMPLATE).unwrap();
    // A `.txt` name, so the chart loader hands the bytes over as they are.
    std::fs::write(dir.join("data.txt"), text).unwrap();
}

/// What `helm template` prints: stdout when it succeeds, else stderr; and its stderr.
fn helm(dir: &Path, chart: &Path, values: &Path) -> (String, String) {
    let out = Command::new(helm_bin())
        .arg("template")
        .arg(chart)
        .arg("-f")
        .arg(values)
        .env("HOME", dir)
        .output()
        .expect("run helm");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let main = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        stderr.clone()
    };
    (main, stderr)
}

fn ours(chart: &Path, values: &Path) -> Result<Rendered, String> {
    let user = ValueOptions {
        value_files: vec![(
            values.display().to_string(),
            std::fs::read(values).expect("values"),
        )],
        ..Default::default()
    }
    .merge()
    .map_err(|e| format!("Error: {e}\n"))?;
    let loaded = helm_engine::chart::load(chart).map_err(|e| format!("Error: {e}\n"))?;
    render(loaded, &user, &RenderOptions::default()).map_err(|e| match e {
        helm_engine::Error::Rendering(inner) => {
            format!("Error: {inner}\n\nUse --debug flag to render out invalid YAML\n")
        }
        other => format!("Error: {other}\n"),
    })
}

#[test]
fn yaml_corners_read_and_print_as_helm_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (i, text) in CASES.iter().enumerate() {
        let chart = dir.path().join(format!("c{i}"));
        write_chart(&chart, text.as_bytes());
        let values = dir.path().join(format!("v{i}.yaml"));
        std::fs::write(&values, text).unwrap();
        let (helm, _) = helm(dir.path(), &chart, &values);
        let ours = match ours(&chart, &values) {
            Ok(r) => r.manifest,
            Err(e) => e,
        };
        if helm != ours {
            failures.push(format!(
                "case {i} {text:?}\n  helm: {helm:?}\n  ours: {ours:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Chart values, subchart values and user values that collide: a table over a scalar and
/// back, at the top, in a subchart and in globals, and nulls over tables.
const WARNING_CASES: &[&str] = &[
    "a: 5\nc: {x: 1}\nd:\n  e: {f: 1}\nn: null\nsub:\n  s: 3\n",
    "sub:\n  global: 5\n",
    "global: 5\n",
    "global: {t: {x: 1}, u: 1}\nsub:\n  global: {t: 1, u: {y: 1}}\n",
    "a: null\nd: {e: null, zz: null}\nsub: {s: null}\n",
    "d: {e: [1, 2]}\ng: {t: 1.5}\nsub: {s: \"str\", r: {k: v}}\n",
];

#[test]
fn coalescing_warnings_are_helms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for declared in [false, true] {
        let chart = dir.path().join(format!("w{declared}"));
        let sub = chart.join("charts/sub");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::create_dir_all(sub.join("templates")).unwrap();
        let deps = if declared {
            "dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n  import-values:\n  - child: s\n    parent: imp\n"
        } else {
            ""
        };
        std::fs::write(
            chart.join("Chart.yaml"),
            format!("apiVersion: v2\nname: w\nversion: 0.1.0\n{deps}"),
        )
        .unwrap();
        std::fs::write(
            chart.join("values.yaml"),
            "a:\n  b: 1\nc: 2\nd:\n  e: 1\nn: 5\ng:\n  t: {x: 1}\nsub:\n  s: {q: 1}\n  r: 1\n",
        )
        .unwrap();
        std::fs::write(chart.join("templates/t.yaml"), "x: {{ toJson .Values }}\n").unwrap();
        std::fs::write(
            sub.join("Chart.yaml"),
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        )
        .unwrap();
        std::fs::write(
            sub.join("values.yaml"),
            "s:\n  q: 2\nr: {z: 1}\nglobal: {t: 1}\nimp: 5\n",
        )
        .unwrap();
        for (i, text) in WARNING_CASES.iter().enumerate() {
            let values = dir.path().join(format!("u{i}.yaml"));
            std::fs::write(&values, text).unwrap();
            let (helm_out, helm_err) = helm(dir.path(), &chart, &values);
            let mut helm_warnings: Vec<&str> = helm_err.lines().collect();
            helm_warnings.sort();
            match ours(&chart, &values) {
                Ok(r) => {
                    let mut warnings: Vec<&str> = r.warnings.iter().map(String::as_str).collect();
                    warnings.sort();
                    if warnings != helm_warnings || r.manifest != helm_out {
                        failures.push(format!(
                            "declared={declared} case {i} {text:?}\n  helm: {helm_warnings:?}\n  ours: {warnings:?}\n  helm out: {helm_out:?}\n  ours out: {:?}",
                            r.manifest
                        ));
                    }
                }
                Err(e) => failures.push(format!("declared={declared} case {i}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
