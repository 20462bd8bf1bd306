use super::*;
use crate::yaml::from_yaml;

fn m(s: &str) -> Map {
    match from_yaml(s).unwrap() {
        Value::Map(m) => m,
        _ => Map::new(),
    }
}

#[test]
fn set_parses_types_lists_and_escapes() {
    let mut base = Map::new();
    strvals::parse_into(
        "a.b=1,c=true,d=null,e=01,f={x,y},g[1]=z,h=a\\,b,i\\.j=k",
        &mut base,
        strvals::Mode::Typed,
    )
    .unwrap();
    assert_eq!(
        Value::Map(base),
        Value::Map(m(
            "a: {b: X}\nc: true\nd: null\ne: '01'\nf: [x, 'y']\ng: [null, z]\nh: 'a,b'\ni.j: k\n"
        ))
        .replace_x()
    );
}

trait ReplaceX {
    fn replace_x(self) -> Value;
}

impl ReplaceX for Value {
    fn replace_x(self) -> Value {
        let Value::Map(mut mm) = self else {
            return self;
        };
        if let Some(Value::Map(a)) = mm.get_mut("a") {
            a.insert("b".into(), Value::Int64(1));
        }
        Value::Map(mm)
    }
}

#[test]
fn set_errors_have_helm_wording() {
    let mut base = Map::new();
    let e = strvals::parse_into("a", &mut base, strvals::Mode::Typed).unwrap_err();
    assert_eq!(e, "key \"a\" has no value");
    let e = strvals::parse_into("a={x", &mut base, strvals::Mode::Typed).unwrap_err();
    assert_eq!(e, "list must terminate with '}'");
}

#[test]
fn coalesce_user_values_win_and_null_deletes() {
    let chart = Chart {
        values: m("a: 1\nb: {c: 2, d: 3}\ne: 4\n"),
        ..Default::default()
    };
    let out = coalesce_values(&chart, &m("b: {c: 9, d: null}\ne: null\n"), false).unwrap();
    assert_eq!(Value::Map(out), Value::Map(m("a: 1\nb: {c: 9}\n")));
}

#[test]
fn globals_flow_into_subcharts_and_parent_globals_win() {
    let mut sub = Chart::default();
    sub.metadata.name = "sub".into();
    sub.values = m("global: {env: sub, only: s}\nport: 1\n");
    let parent = Chart {
        values: m("global: {env: top}\nsub: {port: 2}\n"),
        dependencies: vec![sub],
        ..Default::default()
    };
    let out = coalesce_values(&parent, &Map::new(), false).unwrap();
    let Some(Value::Map(s)) = out.get("sub") else {
        panic!("no sub values")
    };
    assert_eq!(
        Value::Map(s.clone()),
        Value::Map(m("global: {env: top, only: s}\nport: 2\n"))
    );
}

#[test]
fn set_builds_maps_and_lists_inside_new_list_items() {
    let mut base = Map::new();
    strvals::parse_into(
        "a[0].b=1,c.d[2].e=x,f[0][1]=y,g[0]=",
        &mut base,
        strvals::Mode::Typed,
    )
    .unwrap();
    assert_eq!(
        crate::yaml::to_yaml(&Value::Map(base)).unwrap(),
        "a:\n- b: 1\nc:\n  d:\n  - null\n  - null\n  - e: x\nf:\n- - null\n  - \"y\"\ng:\n- \"\""
    );
    let err = |s: &str| strvals::parse_into(s, &mut Map::new(), strvals::Mode::Typed).unwrap_err();
    assert_eq!(err("a.=1"), "key map \"a\" has no value");
    assert_eq!(
        err("a[65537]=1"),
        "index of 65537 is greater than maximum supported index of 65536"
    );
    assert_eq!(
        err("a[0]=1,a[0][0]=2"),
        "unable to parse key: interface conversion: interface {} is int64, not []interface {}"
    );
}

#[test]
fn coalescing_warns_as_helm_logs_and_keeps_nulls_the_chart_lacks() {
    let mut sub = Chart::default();
    sub.metadata.name = "sub".into();
    sub.values = m("s: {q: 2}\n");
    let mut parent = Chart {
        values: m("c: 2\nd: {e: 1}\nsub: {s: {q: 1}}\n"),
        dependencies: vec![sub],
        ..Default::default()
    };
    parent.metadata.name = "top".into();
    let mut warnings = Vec::new();
    let out = coalesce_values_warn(
        &parent,
        &m("c: {x: 1}\nd: {e: {f: 1}, zz: null}\nsub: {s: 3}\n"),
        false,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(
        warnings,
        [
            "coalesce.go:237: warning: skipped value for top.c: Not a table.",
            "coalesce.go:301: warning: destination for top.d.e is a table. Ignoring non-table value (1)",
            "coalesce.go:298: warning: cannot overwrite table with non table for top.sub.s (map[q:1])",
        ]
    );
    assert_eq!(out.get("d"), Some(&Value::Map(m("e: {f: 1}\nzz: null\n"))));
}

#[test]
fn a_subchart_key_holding_a_non_table_is_a_type_mismatch_printed_with_percent_t() {
    let mut sub = Chart::default();
    sub.metadata.name = "sub".into();
    let parent = Chart {
        dependencies: vec![sub],
        ..Default::default()
    };
    let cases = [
        ("sub: true\n", "true"),
        ("sub: x\n", "%!t(string=x)"),
        (
            "sub: [1, a, null]\n",
            "[%!t(float64=1) %!t(string=a) <nil>]",
        ),
    ];
    for (vals, shown) in cases {
        let e = coalesce_values(&parent, &m(vals), false).unwrap_err();
        assert_eq!(e.to_string(), format!("type mismatch on sub: {shown}"));
    }
}

#[test]
fn set_file_reads_with_gos_errors() {
    let mut base = Map::new();
    let e = strvals::parse_into("a=%zz", &mut base, strvals::Mode::File).unwrap_err();
    assert_eq!(e, "parse \"%zz\": invalid URL escape \"%zz\"");
    let dir = std::env::temp_dir();
    let d = dir.display().to_string();
    let e = strvals::parse_into(&format!("a={d}"), &mut base, strvals::Mode::File).unwrap_err();
    assert_eq!(e, format!("read {d}: is a directory"));
    let e = strvals::parse_into("a[0]bc=1", &mut base, strvals::Mode::Typed).unwrap_err();
    assert_eq!(e, "unexpected data at end of array index: ['b' 'c']");
}
