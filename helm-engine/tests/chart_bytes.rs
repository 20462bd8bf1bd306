//! Differential test of how chart files' bytes reach go-yaml: `Chart.yaml`, `values.yaml`
//! (of the chart and of a subchart), `requirements.yaml` and `Chart.lock` holding invalid
//! UTF-8, control characters, UTF-16 with a byte-order mark or a doubled UTF-8 byte-order
//! mark go through `helm template` (the reference binary, v3.17.3) and through our loader and
//! renderer; the output, or the whole error message, must be the same.

use helm_engine::render::{RenderOptions, render};
use std::path::Path;
use std::process::Command;

mod support;
use support::helm_bin;

const CHART: &[u8] = b"apiVersion: v2\nname: c\nversion: 0.1.0\n";
const TEMPLATE: &[u8] =
    b"x: {{ toJson .Values }}\nn: {{ .Chart.Name }} {{ .Chart.Description | quote }}\n";

/// Byte sequences libyaml's reader refuses, each for another reason (or, for the last two, a
/// C1 control and U+FFFE, for being no YAML character).
const BAD: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xc3(",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
    b"\x01",
    b"\x7f",
    b"\xc2\x80",
    b"\xef\xbf\xbe",
];

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in text.encode_utf16() {
        out.extend(if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A chart's files: paths relative to the chart, and their bytes.
type Files = Vec<(&'static str, Vec<u8>)>;

/// Each case: a name and the chart's files.
fn cases() -> Vec<(String, Files)> {
    let mut out = Vec::new();
    for bad in BAD {
        let t = ("templates/t.yaml", TEMPLATE.to_vec());
        out.push((
            format!("Chart.yaml description {bad:?}"),
            vec![
                ("Chart.yaml", cat(&[CHART, b"description: ", bad, b"\n"])),
                t.clone(),
            ],
        ));
        out.push((
            format!("Chart.yaml comment {bad:?}"),
            vec![("Chart.yaml", cat(&[CHART, b"# ", bad, b"\n"])), t.clone()],
        ));
        out.push((
            format!("Chart.lock {bad:?}"),
            vec![
                ("Chart.yaml", CHART.to_vec()),
                ("Chart.lock", cat(&[b"digest: x\n# ", bad, b"\n"])),
                t.clone(),
            ],
        ));
        out.push((
            format!("requirements.yaml {bad:?}"),
            vec![
                (
                    "Chart.yaml",
                    b"apiVersion: v1\nname: c\nversion: 0.1.0\n".to_vec(),
                ),
                (
                    "requirements.yaml",
                    cat(&[b"dependencies: []\n# ", bad, b"\n"]),
                ),
                t.clone(),
            ],
        ));
        out.push((
            format!("values.yaml {bad:?}"),
            vec![
                ("Chart.yaml", CHART.to_vec()),
                ("values.yaml", cat(&[b"a: 1\n# ", bad, b"\n"])),
                t.clone(),
            ],
        ));
        out.push((
            format!("subchart values.yaml {bad:?}"),
            vec![
                ("Chart.yaml", CHART.to_vec()),
                (
                    "charts/s/Chart.yaml",
                    b"apiVersion: v2\nname: s\nversion: 0.1.0\n".to_vec(),
                ),
                ("charts/s/values.yaml", cat(&[b"a: ", bad, b"\n"])),
                t,
            ],
        ));
    }
    let t = || ("templates/t.yaml", TEMPLATE.to_vec());
    let chart = || ("Chart.yaml", CHART.to_vec());
    out.extend([
        (
            "Chart.yaml in UTF-16LE".into(),
            vec![
                (
                    "Chart.yaml",
                    utf16(
                        "apiVersion: v2\nname: c\nversion: 0.1.0\ndescription: \u{e9}\n",
                        true,
                    ),
                ),
                t(),
            ],
        ),
        (
            "Chart.yaml in UTF-16BE".into(),
            vec![
                (
                    "Chart.yaml",
                    utf16("apiVersion: v2\nname: c\nversion: 0.1.0\n", false),
                ),
                t(),
            ],
        ),
        (
            "values.yaml in UTF-16LE".into(),
            vec![
                chart(),
                ("values.yaml", utf16("a: 1\nb: [x, \u{e9}]\n", true)),
                t(),
            ],
        ),
        (
            "values.yaml in UTF-16 with an odd byte".into(),
            vec![
                chart(),
                ("values.yaml", cat(&[&utf16("a: 1\n", true), b"\x00"])),
                t(),
            ],
        ),
        (
            "values.yaml in UTF-16 with a lone low surrogate".into(),
            vec![
                chart(),
                ("values.yaml", cat(&[&utf16("a: 1\n", true), b"\x00\xdc"])),
                t(),
            ],
        ),
        (
            "values.yaml with two UTF-8 byte-order marks".into(),
            vec![
                chart(),
                ("values.yaml", b"\xef\xbb\xbf\xef\xbb\xbfa: 1\n".to_vec()),
                t(),
            ],
        ),
        (
            "Chart.lock in UTF-16LE".into(),
            vec![chart(), ("Chart.lock", utf16("digest: x\n", true)), t()],
        ),
    ]);
    out
}

/// What `helm template` prints: stdout when it succeeds, else stderr.
fn helm(dir: &Path, chart: &Path) -> String {
    let out = Command::new(helm_bin())
        .arg("template")
        .arg(chart)
        .env("HOME", dir)
        .output()
        .expect("run helm");
    if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn ours(chart: &Path) -> String {
    let loaded = match helm_engine::chart::load(chart) {
        Ok(c) => c,
        Err(e) => return format!("Error: {e}\n"),
    };
    match render(loaded, &Default::default(), &RenderOptions::default()) {
        Ok(r) => r.manifest,
        Err(helm_engine::Error::Rendering(inner)) => {
            format!("Error: {inner}\n\nUse --debug flag to render out invalid YAML\n")
        }
        Err(e) => format!("Error: {e}\n"),
    }
}

#[test]
fn chart_files_reach_go_yaml_as_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (i, (name, files)) in cases().into_iter().enumerate() {
        let chart = dir.path().join(format!("c{i}"));
        for (path, data) in files {
            let full = chart.join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).unwrap();
            std::fs::write(full, data).unwrap();
        }
        let helm = helm(dir.path(), &chart);
        let ours = ours(&chart);
        if helm != ours {
            failures.push(format!(
                "case {i} {name}\n  helm: {helm:?}\n  ours: {ours:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
