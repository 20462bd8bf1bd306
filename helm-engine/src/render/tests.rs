use super::*;
use crate::chart::ChartFile;

fn chart(templates: &[(&str, &str)], values: &str) -> Chart {
    let mut c = Chart::default();
    c.metadata.name = "demo".into();
    c.metadata.version = "0.1.0".into();
    c.metadata.api_version = "v2".into();
    c.values = match crate::yaml::from_yaml(values).unwrap() {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    c.templates = templates
        .iter()
        .map(|(n, s)| ChartFile {
            name: n.to_string(),
            data: s.as_bytes().to_vec(),
        })
        .collect();
    c
}

#[test]
fn orders_by_kind_and_prints_sources() {
    let c = chart(
        &[
            (
                "templates/a.yaml",
                "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
            ),
            (
                "templates/b.yaml",
                "kind: ServiceAccount\nmetadata:\n  name: sa\n---\n\n",
            ),
            ("templates/NOTES.txt", "notes"),
        ],
        "",
    );
    let out = template(c, &Map::new(), &RenderOptions::default()).unwrap();
    assert_eq!(
        out,
        "---\n# Source: demo/templates/b.yaml\nkind: ServiceAccount\nmetadata:\n  name: sa\n---\n# Source: demo/templates/a.yaml\nkind: Deployment\nmetadata:\n  name: release-name\n"
    );
}

#[test]
fn invalid_manifest_yaml_is_reported_with_the_file() {
    let c = chart(&[("templates/a.yaml", "a: b: c\n")], "");
    let e = template(c, &Map::new(), &RenderOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("YAML parse error on demo/templates/a.yaml: "),
        "{e}"
    );
}
