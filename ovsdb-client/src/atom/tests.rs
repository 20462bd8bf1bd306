use super::*;
use proptest::prelude::*;

pub(crate) fn arb_atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        any::<i64>().prop_map(Atom::Integer),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Atom::Real),
        any::<bool>().prop_map(Atom::Boolean),
        ".{0,12}".prop_map(Atom::String),
        any::<u128>().prop_map(|u| Atom::Uuid(Uuid::from_u128(u))),
    ]
}

#[test]
fn wire_forms() {
    let u = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").unwrap();
    assert_eq!(
        serde_json::to_string(&Atom::Uuid(u)).unwrap(),
        r#"["uuid","550e8400-e29b-41d4-a716-446655440000"]"#
    );
    assert_eq!(
        serde_json::to_string(&Atom::NamedUuid("row1".into())).unwrap(),
        r#"["named-uuid","row1"]"#
    );
    let a: Atom =
        serde_json::from_str(r#"["uuid","550e8400-e29b-41d4-a716-446655440000"]"#).unwrap();
    assert_eq!(a, Atom::Uuid(u));
    assert_eq!(serde_json::from_str::<Atom>("7").unwrap(), Atom::Integer(7));
    assert_eq!(
        serde_json::from_str::<Atom>("1.5").unwrap(),
        Atom::Real(1.5)
    );
    assert_eq!(
        serde_json::from_str::<Atom>("\"a\\\"b\"").unwrap(),
        Atom::string("a\"b")
    );
}

#[test]
fn bad_atoms_are_errors_that_say_why() {
    for (input, needle) in [
        (r#"["uuid","nope"]"#, "invalid UUID"),
        (r#"["frob",1]"#, "unknown OVSDB value tag"),
        (r#"[]"#, "empty array"),
        (r#"["uuid"]"#, "without a UUID"),
        (r#"["set",[1]]"#, "a set where an atom"),
        ("18446744073709551615", "does not fit"),
        (r#"{"a":1}"#, "expected an OVSDB atom"),
        (
            r#"["uuid","550e8400-e29b-41d4-a716-446655440000",3]"#,
            "more than two",
        ),
    ] {
        let err = serde_json::from_str::<Atom>(input).unwrap_err().to_string();
        assert!(err.contains(needle), "{input}: {err}");
    }
}

#[test]
fn order_is_total_and_by_kind_first() {
    let mut v = [
        Atom::string("b"),
        Atom::Integer(3),
        Atom::Real(f64::NAN),
        Atom::Real(-1.0),
        Atom::string("a"),
        Atom::Boolean(true),
        Atom::Integer(-3),
    ];
    v.sort();
    assert_eq!(v[0], Atom::Integer(-3));
    assert_eq!(v[1], Atom::Integer(3));
    assert_eq!(v[2], Atom::Real(-1.0));
    assert_eq!(v.last().unwrap(), &Atom::string("b"));
}

proptest! {
    #[test]
    fn json_round_trip(a in arb_atom()) {
        let s = serde_json::to_string(&a).unwrap();
        let back: Atom = serde_json::from_str(&s).unwrap();
        // JSON cannot tell a real with no fraction from an integer; the schema decides (coerce).
        let back = back.coerce(a.atomic_type());
        prop_assert_eq!(back, a);
    }
}
