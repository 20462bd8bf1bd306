use super::*;
use std::io::Write;

fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the raw name so that `..` survives (the tar crate refuses it in set_path).
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.0\nappVersion: 1.10\n";

#[test]
fn loads_archive_with_metadata_and_files() {
    let data = tgz(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/values.yaml", b"a: 1\n"),
        ("demo/templates/x.yaml", b"k: v\n"),
        ("demo/files/f.txt", b"hello"),
        ("demo/charts/sub/Chart.yaml", b"name: sub\nversion: 0.1.0\n"),
    ]);
    let c = load_archive(&data).unwrap();
    assert_eq!(c.metadata.name, "demo");
    assert_eq!(c.metadata.version, "1");
    assert_eq!(c.metadata.app_version, "1.1");
    assert_eq!(c.templates.len(), 1);
    assert_eq!(c.files[0].name, "files/f.txt");
    assert_eq!(c.dependencies[0].metadata.name, "sub");
    assert_eq!(c.dependencies[0].metadata.api_version, "v1");
}

#[test]
fn rejects_path_traversal() {
    let data = tgz(&[("demo/Chart.yaml", CHART_YAML), ("demo/../../etc/x", b"x")]);
    let e = load_archive(&data).unwrap_err();
    assert_eq!(e.to_string(), "chart illegally references parent directory");
    assert!(matches!(e, Error::PathTraversal(p) if p.to_str() == Some("demo/../../etc/x")));
}

#[test]
fn rejects_oversized_file() {
    let big = vec![b'a'; (MAX_DECOMPRESSED_FILE_SIZE + 1) as usize];
    let data = tgz(&[("demo/Chart.yaml", CHART_YAML), ("demo/big.txt", &big)]);
    let e = load_archive(&data).unwrap_err();
    assert!(
        e.to_string()
            .contains("is larger than the maximum file size 5242880"),
        "{e}"
    );
}

#[test]
fn missing_chart_yaml_and_bad_version() {
    let data = tgz(&[("demo/values.yaml", b"a: 1\n")]);
    assert_eq!(
        load_archive(&data).unwrap_err().to_string(),
        "Chart.yaml file is missing"
    );
    let data = tgz(&[(
        "demo/Chart.yaml",
        b"apiVersion: v2\nname: d\nversion: abc\n",
    )]);
    assert_eq!(
        load_archive(&data).unwrap_err().to_string(),
        "validation: chart.metadata.version \"abc\" is invalid"
    );
}

#[test]
fn directory_honours_helmignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("Chart.yaml"), CHART_YAML).unwrap();
    std::fs::write(root.join(".helmignore"), "*.bak\nsecret/\n").unwrap();
    std::fs::create_dir_all(root.join("secret")).unwrap();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(root.join("secret/k"), "x").unwrap();
    std::fs::write(root.join("a.bak"), "x").unwrap();
    std::fs::write(root.join("keep.txt"), "x").unwrap();
    std::fs::write(root.join("templates/.hidden"), "x").unwrap();
    let c = load_dir(root).unwrap();
    let names: Vec<_> = c.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec![".helmignore", "keep.txt"]);
    assert!(c.templates.is_empty());
}
