use super::*;

const SCHEMA: &str = r#"{
  "name": "Test", "version": "1.2.3", "cksum": "1 2",
  "tables": {
    "Parent": {
      "isRoot": true,
      "indexes": [["name"]],
      "maxRows": 5,
      "columns": {
        "name": {"type": "string"},
        "children": {"type": {"key": {"type": "uuid", "refTable": "Child"}, "min": 0, "max": "unlimited"}},
        "weak": {"type": {"key": {"type": "uuid", "refTable": "Child", "refType": "weak"}, "min": 0, "max": 1}},
        "kind": {"type": {"key": {"type": "string", "enum": ["set", ["a", "b"]]}}},
        "level": {"type": {"key": {"type": "integer", "minInteger": 1, "maxInteger": 10}}, "mutable": false},
        "labels": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}, "ephemeral": true}
      }
    },
    "Child": {"columns": {"n": {"type": "integer"}}}
  }
}"#;

#[test]
fn parses_every_feature() {
    let s = DatabaseSchema::from_json_str(SCHEMA).unwrap();
    assert_eq!(s.name, "Test");
    let p = s.table("Parent").unwrap();
    assert!(p.is_root);
    assert_eq!(p.max_rows, Some(5));
    assert_eq!(p.indexes, vec![vec!["name".to_string()]]);
    let children = &p.column("children").unwrap().ty;
    assert_eq!(children.key.ref_table.as_deref(), Some("Child"));
    assert_eq!(children.key.ref_type, RefType::Strong);
    assert_eq!(children.max, Max::Unlimited);
    assert!(children.is_set());
    let weak = &p.column("weak").unwrap().ty;
    assert_eq!(weak.key.ref_type, RefType::Weak);
    assert!(weak.is_optional());
    let kind = &p.column("kind").unwrap().ty;
    assert_eq!(
        kind.key.enumeration.as_ref().unwrap(),
        &vec![Atom::string("a"), Atom::string("b")]
    );
    assert!(!p.column("level").unwrap().mutable);
    assert!(p.column("labels").unwrap().ephemeral);
    assert!(p.column("labels").unwrap().ty.is_map());
    assert!(!s.table("Child").unwrap().is_root);
}

#[test]
fn round_trips_through_json() {
    let s = DatabaseSchema::from_json_str(SCHEMA).unwrap();
    let again = DatabaseSchema::from_json(&s.to_json()).unwrap();
    assert_eq!(s, again);
}

#[test]
fn real_schemas_parse_when_installed() {
    for path in [
        "/usr/share/ovn/ovn-nb.ovsschema",
        "/usr/share/ovn/ovn-sb.ovsschema",
        "/usr/share/openvswitch/vswitch.ovsschema",
    ] {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let s = DatabaseSchema::from_json_str(&text).unwrap();
        assert!(!s.tables.is_empty());
        assert_eq!(DatabaseSchema::from_json(&s.to_json()).unwrap(), s);
    }
}

#[test]
fn constraints_checked() {
    let s = DatabaseSchema::from_json_str(SCHEMA).unwrap();
    let p = s.table("Parent").unwrap();
    let level = &p.column("level").unwrap().ty;
    assert!(level.check(&Datum::scalar(5i64)).is_ok());
    assert!(
        level
            .check(&Datum::scalar(11i64))
            .unwrap_err()
            .contains("outside the range")
    );
    let kind = &p.column("kind").unwrap().ty;
    assert!(
        kind.check(&Datum::scalar("c"))
            .unwrap_err()
            .contains("not one of")
    );
    let weak = &p.column("weak").unwrap().ty;
    let two = Datum::set([
        Atom::Uuid(crate::Uuid::from_u128(1)),
        Atom::Uuid(crate::Uuid::from_u128(2)),
    ]);
    assert!(weak.check(&two).unwrap_err().contains("at most 1"));
    assert!(
        level
            .check(&Datum::scalar("x"))
            .unwrap_err()
            .contains("expected a integer")
    );
}

#[test]
fn bad_schemas_name_the_place() {
    let cases = [
        (
            r#"{"name":"x","tables":{"T":{"columns":{"c":{"type":"float"}}}}}"#,
            "T.c",
        ),
        (r#"{"name":"x","tables":{"T":{"columns":{"c":{}}}}}"#, "T.c"),
        (r#"{"name":"x","tables":{"T":{}}}"#, "T"),
        (r#"{"tables":{}}"#, "name"),
        (
            r#"{"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":"string","min":2}}}}}}"#,
            "min must be",
        ),
        (r#"[1]"#, "not an object"),
        (
            r#"{"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":{"type":"uuid","refTable":"T","refType":"soft"}}}}}}}"#,
            "soft",
        ),
    ];
    for (input, needle) in cases {
        let err = DatabaseSchema::from_json_str(input)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{input}: {err}");
    }
}
