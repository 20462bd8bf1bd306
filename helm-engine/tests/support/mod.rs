//! What the integration tests that compare with the reference helm share.

use std::path::{Path, PathBuf};

/// The reference helm binary: `$HELM_BIN`, else the one `scripts/install-helm .tools` puts in
/// the workspace. Panics naming how to get it when it is missing.
pub fn helm_bin() -> PathBuf {
    let p = match std::env::var_os("HELM_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/helm"),
    };
    assert!(
        p.is_file(),
        "the reference helm binary is missing at {}: run `scripts/install-helm .tools` or set HELM_BIN",
        p.display()
    );
    p
}

/// Runs each values file through `helm template -f` (on a minimal chart) and through our
/// `ValueOptions::merge`, and returns a report for each file whose stderr differs (helm's
/// `Error: ...` line against ours; both empty when the file is accepted). Cases are
/// (label, file bytes).
#[allow(dead_code)] // shared by some of the test binaries that include this module
pub fn values_file_mismatches(cases: impl IntoIterator<Item = (String, Vec<u8>)>) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("c");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    let mut failures = Vec::new();
    for (i, (label, data)) in cases.into_iter().enumerate() {
        let name = format!("v{i}.yaml");
        std::fs::write(dir.path().join(&name), &data).unwrap();
        let out = std::process::Command::new(helm_bin())
            .args(["template", "c", "-f", &name])
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .output()
            .expect("run helm");
        let helm = String::from_utf8_lossy(&out.stderr).into_owned();
        let ours = match (helm_engine::values::ValueOptions {
            value_files: vec![(name.clone(), data)],
            ..Default::default()
        })
        .merge()
        {
            Ok(_) => String::new(),
            Err(e) => format!("Error: {e}\n"),
        };
        if helm != ours {
            failures.push(format!("{label}\n  helm: {helm:?}\n  ours: {ours:?}"));
        }
    }
    failures
}
