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

#[test]
fn kube_version_flag_is_parsed_leniently() {
    let caps = Capabilities::new(Some("1.29"), &["example.com/v1".to_string()]).unwrap();
    assert_eq!(caps.kube_version.version, "v1.29.0");
    assert_eq!(caps.kube_version.minor, "29");
    assert!(caps.api_versions.iter().any(|a| a == "example.com/v1"));
    assert!(caps.api_versions.iter().any(|a| a == "apps/v1"));
    let e = Capabilities::new(Some("abc"), &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid kube version 'abc': Invalid Semantic Version"
    );
}

#[test]
fn chart_kube_version_constraint_is_enforced() {
    let mut c = chart(&[("templates/a.yaml", "kind: A\n")], "");
    c.metadata.kube_version = ">=1.40.0".into();
    let e = template(c, &Map::new(), &RenderOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "chart requires kubeVersion: >=1.40.0 which is incompatible with Kubernetes v1.32.0"
    );
}

fn with_child(mut top: Chart, templates: &[(&str, &str)]) -> Chart {
    let mut child = chart(templates, "");
    child.metadata.name = "child".into();
    top.dependencies.push(child);
    top
}

#[test]
fn notes_are_the_top_charts_only_unless_subchart_notes() {
    let top = chart(
        &[
            ("templates/NOTES.txt", "  top {{ .Release.Name }}\n\n"),
            ("templates/OTHER-NOTES.txt", "other"),
            ("templates/a.yaml", "kind: A\n"),
        ],
        "",
    );
    let c = with_child(top, &[("templates/NOTES.txt", "child")]);
    let r = render(c.clone(), &Map::new(), &RenderOptions::default()).unwrap();
    // Untrimmed, as Helm stores it; no notes-like file is a manifest.
    assert_eq!(r.notes, "  top release-name\n\n");
    assert_eq!(
        r.manifest,
        "---\n# Source: demo/templates/a.yaml\nkind: A\n"
    );
    let opts = RenderOptions {
        render_subchart_notes: true,
        ..Default::default()
    };
    let r = render(c, &Map::new(), &opts).unwrap();
    assert_eq!(
        r.notes, "child\n  top release-name\n\n\nother",
        "every *NOTES.txt, in path order, one newline between"
    );
}

#[test]
fn an_empty_first_piece_adds_no_separator() {
    let opts = RenderOptions {
        render_subchart_notes: true,
        ..Default::default()
    };
    // Helm writes the newline only when the buffer already holds text.
    let top = chart(
        &[
            ("templates/NOTES.txt", "{{- /* none */ -}}"),
            ("templates/OTHER-NOTES.txt", "other"),
        ],
        "",
    );
    assert_eq!(render(top, &Map::new(), &opts).unwrap().notes, "other");
    let top = chart(&[("templates/NOTES.txt", "")], "");
    let c = with_child(top, &[("templates/NOTES.txt", "child")]);
    assert_eq!(render(c, &Map::new(), &opts).unwrap().notes, "child\n");
    let none = chart(&[("templates/a.yaml", "kind: A\n")], "");
    assert_eq!(
        render(none, &Map::new(), &RenderOptions::default())
            .unwrap()
            .notes,
        ""
    );
}

#[test]
fn a_notes_error_fails_the_render() {
    let c = chart(&[("templates/NOTES.txt", "{{ fail \"no notes\" }}")], "");
    let e = render(c, &Map::new(), &RenderOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no notes"), "{e}");
}

#[test]
fn release_flags_follow_the_options() {
    let c = chart(
        &[(
            "templates/NOTES.txt",
            "{{ .Release.IsInstall }} {{ .Release.IsUpgrade }} {{ .Release.Revision }} {{ printf \"%T\" .Release.Revision }}",
        )],
        "",
    );
    let r = render(c.clone(), &Map::new(), &RenderOptions::default()).unwrap();
    assert_eq!(r.notes, "true false 1 int");
    let r = render(c, &Map::new(), &RenderOptions::default().upgrade(7)).unwrap();
    assert_eq!(r.notes, "false true 7 int");
}

#[test]
fn a_library_chart_is_not_installable() {
    let mut c = chart(&[("templates/_x.tpl", "{{ define \"x\" }}{{ end }}")], "");
    c.metadata.chart_type = "library".into();
    let opts = RenderOptions {
        release_name: "Not Valid".into(),
        ..Default::default()
    };
    // Checked before the release name, as Helm does.
    let e = template(c, &Map::new(), &opts).unwrap_err();
    assert_eq!(e.to_string(), "library charts are not installable");
}

#[test]
fn file_bytes_behave_as_go_byte_slices() {
    let mut c = chart(
        &[(
            "templates/NOTES.txt",
            "{{ $b := .Files.GetBytes \"f\" }}{{ printf \"%v|%s|%q|%T|%d|%x\" $b $b $b $b $b $b }}|{{ toJson $b }}|{{ toYaml $b }}|{{ toString $b }}|{{ len $b }}|{{ range $b }}{{ . }},{{ end }}|{{ len (.Files.GetBytes \"none\") }}|{{ range $p, $v := .Files.Glob \"*\" }}{{ $p }}={{ $v }}{{ end }}",
        )],
        "",
    );
    c.files.push(ChartFile {
        name: "f".into(),
        data: b"hi".to_vec(),
    });
    let r = render(c, &Map::new(), &RenderOptions::default()).unwrap();
    assert_eq!(
        r.notes,
        "[104 105]|hi|\"hi\"|[]uint8|[104 105]|6869|\"aGk=\"|aGk=|hi|2|104,105,|0|f=[104 105]"
    );
}

#[test]
fn lines_of_an_empty_file_fail_as_in_helm() {
    let mut c = chart(&[("templates/a.yaml", "{{ .Files.Lines \"e\" }}")], "");
    c.files.push(ChartFile {
        name: "e".into(),
        data: Vec::new(),
    });
    let e = template(c, &Map::new(), &RenderOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("error calling Lines: runtime error: index out of range [-1]"),
        "{e}"
    );
}

#[test]
fn toml_dates_are_go_times_in_burntsushis_zones() {
    let c = chart(
        &[(
            "templates/NOTES.txt",
            "{{ $t := fromToml \"a = 2024-02-29T23:30:00-01:15\\nb = 2024-02-29\\nc = 00:00:01\" }}{{ $t.a }}|{{ $t.a.Day }}|{{ toJson $t.a }}|{{ $t.b }}|{{ $t.c }}|{{ typeOf $t.c }}",
        )],
        "",
    );
    let r = render(c, &Map::new(), &RenderOptions::default()).unwrap();
    assert_eq!(
        r.notes,
        "2024-02-29 23:30:00 -0115 -0115|29|\"2024-02-29T23:30:00-01:15\"|2024-02-29 00:00:00 +0000 date-local|0000-01-01 00:00:01 +0000 time-local|time.Time"
    );
}

#[test]
fn name_template_has_sprig_only_and_keeps_no_value() {
    assert_eq!(
        render_name_template("{{ include \"x\" . }}")
            .unwrap_err()
            .to_string(),
        "template: name-template:1: function \"include\" not defined"
    );
    assert_eq!(
        render_name_template("a-{{ .Foo }}").unwrap(),
        "a-<no value>"
    );
    assert_eq!(
        render_name_template("{{ \"AB\" | lower }}-{{ add 1 2 }}").unwrap(),
        "ab-3"
    );
    assert_eq!(
        render_name_template("{{ fail \"boom\" }}")
            .unwrap_err()
            .to_string(),
        "template: name-template:1:3: executing \"name-template\" at <fail \"boom\">: error calling fail: boom"
    );
}

#[test]
fn an_empty_release_name_is_not_provided() {
    let c = chart(&[("templates/a.yaml", "kind: A\n")], "");
    let opts = RenderOptions {
        release_name: String::new(),
        ..Default::default()
    };
    let e = template(c, &Map::new(), &opts).unwrap_err();
    assert_eq!(e.to_string(), "release name \"\": no name provided");
}

/// `toJson`, `toPrettyJson`, `toRawJson`, `mustToJson`, `toToml` and `toYaml` of the built-in
/// objects (`.Chart`, `.Capabilities` and their parts, `.Release`, `.Files`, `.Template`),
/// times, durations, semvers, nil in lists and maps, NaN and infinities, big numbers and typed
/// slices: 342 cases recorded from helm 3.17.3.
#[test]
fn serialising_objects_matches_helm() {
    crate::funcs::corner_tests::check_chart_golden(include_str!(
        "../template/testdata/json_objects.json"
    ));
}

/// `toToml` of Go structs (`.Chart` with maintainers and annotations, `.Chart.Metadata`,
/// a maintainer, `.Capabilities` parts, a `*time.Location`) writes their Go field names in
/// declaration order, nil fields left out, tables after values. Recorded from helm 3.17.3.
#[test]
fn toml_of_structs_matches_helm() {
    crate::funcs::corner_tests::check_chart_golden(include_str!(
        "../template/testdata/toml_objects.json"
    ));
}

/// `toToml` of maps built by templates and shared through variables, `.Values`, `.Release`,
/// `.Template`, typed and nil slices (a nil slice is `[]` at the top and left out in a table),
/// empty tables, times, durations, semvers, NaN and `.Capabilities`. Recorded from helm 3.17.3.
#[test]
fn toml_of_template_values_matches_helm() {
    crate::funcs::corner_tests::check_chart_golden(include_str!(
        "../template/testdata/toml_values_objects.json"
    ));
}
