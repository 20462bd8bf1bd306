use super::*;

#[test]
fn names_become_rust_identifiers() {
    assert_eq!(camel_case("Logical_Switch_Port"), "LogicalSwitchPort");
    assert_eq!(camel_case("ACL"), "Acl");
    assert_eq!(camel_case("Open_vSwitch"), "OpenVSwitch");
    assert_eq!(camel_case("QoS"), "QoS");
    assert_eq!(camel_case("allow-related"), "AllowRelated");
    assert_eq!(camel_case("dnat_and_snat"), "DnatAndSnat");
    assert_eq!(camel_case("802.1q"), "V8021q");
    assert_eq!(camel_case(""), "Empty");
    assert_eq!(field_name("type"), "r#type");
    assert_eq!(field_name("external_ids"), "external_ids");
    assert_eq!(field_name("Bad-Name"), "bad_name");
}

#[test]
fn collisions_are_errors_not_silent_renames() {
    let schema = DatabaseSchema::from_json_str(
        r#"{"name": "X", "version": "1.0.0", "tables": {
            "T": {"columns": {"a_b": {"type": "string"}, "a-b": {"type": "string"}}}}}"#,
    )
    .unwrap();
    let err = generate(&schema, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("T."), "{err}");
    let schema = DatabaseSchema::from_json_str(
        r#"{"name": "X", "version": "1.0.0", "tables": {
            "T": {"columns": {"r": {"type": {"key": {"type": "uuid", "refTable": "Nope"}}}}}}}"#,
    )
    .unwrap();
    let err = generate(&schema, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("Nope"), "{err}");
}

#[test]
fn enum_variants_stay_distinct() {
    let v = variant_names(&[
        Atom::String("a-b".into()),
        Atom::String("a_b".into()),
        Atom::Integer(-1),
    ]);
    let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["AB", "AB2", "VMinus1"]);
}

/// The typed tests use code generated from `typed/test.ovsschema`; it must be current.
#[test]
fn test_schema_code_is_fresh() {
    let schema = DatabaseSchema::from_json_str(include_str!("../typed/test.ovsschema")).unwrap();
    let options = Options {
        client_crate: "crate".into(),
        source_note: Some(
            "Source: `typed/test.ovsschema`; the `codegen` tests check that it is fresh.".into(),
        ),
    };
    let expected = generate_formatted(&schema, &options).unwrap();
    let committed = include_str!("../typed/testdb.rs");
    if committed != expected {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/typed/testdb.rs");
        if std::env::var_os("OVSDB_CODEGEN_BLESS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        panic!("{path} is stale: rerun this test with OVSDB_CODEGEN_BLESS=1 and review the diff");
    }
}

#[test]
fn generation_is_deterministic() {
    let schema = DatabaseSchema::from_json_str(include_str!("../typed/test.ovsschema")).unwrap();
    let a = generate(&schema, &Options::default()).unwrap();
    let b = generate(&schema, &Options::default()).unwrap();
    assert_eq!(a, b);
    assert!(a.contains("pub struct RootThing"));
    assert!(a.contains("pub trait RootThingLookups"));
}
