//! Golden cases recorded from helm 3.17.3 (`helm template`), in `testdata/*.txt`: each case
//! is a chart built around one input (a values file, a `Chart.yaml`, a `Chart.lock`, a file
//! read through `fromYaml`/`fromYamlArray`, or a template), and what helm printed: its
//! stdout when it succeeded, else its stderr. Our engine renders the same chart in-process
//! and must print the same bytes.
//!
//! File format: `#` lines are comments; a case is a line `case MODE "INPUT"` followed by a
//! line `want "OUTPUT"`, both strings in JSON syntax. Bytes that are not UTF-8 are written
//! as the characters [`super::go_string`] uses for them.

use crate::render::{RenderOptions, render};
use crate::values::ValueOptions;
use std::path::Path;

struct Case {
    file: String,
    line: usize,
    mode: String,
    input: String,
    want: String,
}

fn json_string(s: &str, file: &str, line: usize) -> String {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{file}:{line}: bad JSON string: {e}"))
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/yaml/testdata");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read testdata");
        let mut pending: Option<(usize, String, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("case ") {
                assert!(pending.is_none(), "{file}:{n}: case without want");
                let (mode, input) = rest
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("{file}:{n}: case MODE \"INPUT\""));
                pending = Some((n, mode.to_string(), json_string(input, &file, n)));
            } else if let Some(rest) = line.strip_prefix("want ") {
                let (line, mode, input) = pending
                    .take()
                    .unwrap_or_else(|| panic!("{file}:{n}: want without case"));
                out.push(Case {
                    file: file.clone(),
                    line,
                    mode,
                    input,
                    want: json_string(rest, &file, n),
                });
            } else {
                panic!("{file}:{n}: unknown line");
            }
        }
        assert!(pending.is_none(), "{file}: last case without want");
    }
    out
}

const CHART_YAML: &str = "apiVersion: v2\nname: c\nversion: 0.1.0\n";

/// Writes the chart for a case into `dir`; the values file's name when the mode has one.
fn write_chart(dir: &Path, mode: &str, input: &[u8]) -> Option<String> {
    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    let mut values = None;
    let mut chart_yaml = CHART_YAML.as_bytes();
    let template: &[u8] = match mode {
        "values" => {
            values = Some("v.yaml".to_string());
            b"x: {{ toJson .Values }}\n"
        }
        "chart" => {
            chart_yaml = input;
            b"x: {{ .Chart.Name }}\n"
        }
        "fromyaml" => {
            write("d.txt", input);
            b"x: {{ .Files.Get \"d.txt\" | fromYaml | toJson }}\ny: {{ .Files.Get \"d.txt\" | fromYaml | toYaml }}\n"
        }
        "fromyamlarray" => {
            write("d.txt", input);
            b"x: {{ .Files.Get \"d.txt\" | fromYamlArray | toJson }}\n"
        }
        "template" => input,
        "lock" => {
            write("Chart.lock", input);
            write(
                "charts/sub/Chart.yaml",
                b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            );
            write("charts/sub/templates/t.yaml", b"s: 1\n");
            chart_yaml = b"apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  repository: https://example.com/charts\n";
            b"x: 1\n"
        }
        other => panic!("unknown mode {other}"),
    };
    write("Chart.yaml", chart_yaml);
    write("templates/t.yaml", template);
    values
}

/// What `captain template c [-f v.yaml]` prints: the manifest, or the error as helm words it.
fn ours(dir: &Path, mode: &str, input: &[u8]) -> String {
    let chart = dir.join("c");
    let values = write_chart(&chart, mode, input);
    let user = ValueOptions {
        value_files: values
            .map(|name| (name, input.to_vec()))
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let run = || -> crate::Result<String> {
        let user = user.merge()?;
        let loaded = crate::chart::load(&chart)?;
        Ok(render(loaded, &user, &RenderOptions::default())?.manifest)
    };
    match run() {
        Ok(m) => m,
        Err(crate::Error::Rendering(inner)) => {
            format!("Error: {inner}\n\nUse --debug flag to render out invalid YAML\n")
        }
        Err(e) => format!("Error: {e}\n"),
    }
}

#[test]
fn yaml_golden_cases_recorded_from_helm() {
    let all = cases();
    assert!(all.len() > 100, "testdata holds {} cases", all.len());
    let mut failures = Vec::new();
    for (i, case) in all.iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let got = ours(dir.path(), &case.mode, &super::go_bytes(&case.input));
        let want = &case.want;
        if &got != want {
            failures.push(format!(
                "{}:{} ({i}) {} {:?}\n  helm: {want:?}\n  ours: {got:?}",
                case.file, case.line, case.mode, case.input
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
