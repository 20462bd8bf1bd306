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
