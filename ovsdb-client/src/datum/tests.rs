use super::*;
use crate::atom::Uuid;
use crate::schema::{BaseType, Max};
use proptest::prelude::*;

fn ty(key: AtomicType, value: Option<AtomicType>, min: u64, max: Max) -> ColumnType {
    ColumnType {
        key: BaseType::new(key),
        value: value.map(BaseType::new),
        min,
        max,
    }
}

#[test]
fn one_element_set_is_a_bare_atom_both_ways() {
    let d = Datum::set(["x"]);
    assert_eq!(serde_json::to_string(&d).unwrap(), r#""x""#);
    let back: Datum = serde_json::from_str(r#""x""#).unwrap();
    assert_eq!(back, d);
    let back: Datum = serde_json::from_str(r#"["set",["x"]]"#).unwrap();
    assert_eq!(back, d);
    assert_eq!(
        serde_json::to_string(&Datum::empty()).unwrap(),
        r#"["set",[]]"#
    );
    assert_eq!(
        serde_json::to_string(&Datum::set(["b", "a"])).unwrap(),
        r#"["set",["a","b"]]"#
    );
}

#[test]
fn maps_with_integer_keys() {
    let d: Datum = serde_json::from_str(r#"["map",[[2,"b"],[1,"a"]]]"#).unwrap();
    assert_eq!(d, Datum::map([(1i64, "a"), (2i64, "b")]));
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        r#"["map",[[1,"a"],[2,"b"]]]"#
    );
    assert_eq!(d.get(&Atom::Integer(2)), Some(&Atom::string("b")));
}

#[test]
fn map_repeated_key_keeps_last() {
    let d = Datum::map([("k", "1"), ("k", "2")]);
    assert_eq!(d, Datum::map([("k", "2")]));
    assert_eq!(d.get_str("k"), Some("2"));
}

#[test]
fn empty_set_becomes_empty_map_for_map_columns() {
    let t = ty(
        AtomicType::String,
        Some(AtomicType::String),
        0,
        Max::Unlimited,
    );
    let d: Datum = serde_json::from_str(r#"["set",[]]"#).unwrap();
    assert_eq!(d.coerce(&t), Datum::empty_map());
}

#[test]
fn reals_coerced() {
    let t = ty(AtomicType::Real, None, 1, Max::Limited(1));
    let d: Datum = serde_json::from_str("1").unwrap();
    assert_eq!(d.coerce(&t), Datum::scalar(1.0));
}

#[test]
fn defaults() {
    assert_eq!(
        Datum::default_for(&ty(AtomicType::Integer, None, 1, Max::Limited(1))),
        Datum::scalar(0i64)
    );
    assert_eq!(
        Datum::default_for(&ty(AtomicType::String, None, 1, Max::Limited(1))),
        Datum::scalar("")
    );
    assert_eq!(
        Datum::default_for(&ty(AtomicType::Uuid, None, 1, Max::Limited(1))),
        Datum::scalar(Uuid::nil())
    );
    assert_eq!(
        Datum::default_for(&ty(AtomicType::String, None, 0, Max::Limited(1))),
        Datum::empty()
    );
    assert_eq!(
        Datum::default_for(&ty(
            AtomicType::String,
            Some(AtomicType::String),
            0,
            Max::Unlimited
        )),
        Datum::empty_map()
    );
}

#[test]
fn update2_diff_semantics() {
    let set = ty(AtomicType::String, None, 0, Max::Unlimited);
    let old = Datum::set(["a", "b"]);
    // Symmetric difference: b leaves, c arrives.
    assert_eq!(
        old.apply_diff(&Datum::set(["b", "c"]), &set),
        Datum::set(["a", "c"])
    );

    let map = ty(
        AtomicType::String,
        Some(AtomicType::String),
        0,
        Max::Unlimited,
    );
    let old = Datum::map([("k1", "v1"), ("k2", "v2"), ("k3", "v3")]);
    // k1 with its old value: deleted; k2 with another value: replaced; k4: added.
    let diff = Datum::map([("k1", "v1"), ("k2", "new"), ("k4", "v4")]);
    assert_eq!(
        old.apply_diff(&diff, &map),
        Datum::map([("k2", "new"), ("k3", "v3"), ("k4", "v4")])
    );

    let scalar = ty(AtomicType::Integer, None, 1, Max::Limited(1));
    assert_eq!(
        Datum::scalar(1i64).apply_diff(&Datum::scalar(5i64), &scalar),
        Datum::scalar(5i64)
    );

    let optional = ty(AtomicType::String, None, 0, Max::Limited(1));
    // Optional columns: the diff is the new value (seen from ovsdb-server 3.1: clearing
    // `enabled=false` arrives as {"modify":{"enabled":["set",[]]}}).
    assert_eq!(
        Datum::scalar("x").apply_diff(&Datum::scalar("y"), &optional),
        Datum::scalar("y")
    );
    assert_eq!(
        Datum::scalar("x").apply_diff(&Datum::empty(), &optional),
        Datum::empty()
    );
    assert_eq!(
        Datum::empty().apply_diff(&Datum::scalar("x"), &optional),
        Datum::scalar("x")
    );
}

fn arb_set() -> impl Strategy<Value = Datum> {
    proptest::collection::vec(0i64..20, 0..8).prop_map(Datum::set)
}

fn arb_map() -> impl Strategy<Value = Datum> {
    proptest::collection::vec((0i64..10, "[a-c]{1,2}"), 0..8).prop_map(Datum::map)
}

proptest! {
    #[test]
    fn set_diff_round_trip(a in arb_set(), b in arb_set()) {
        let t = ty(AtomicType::Integer, None, 0, Max::Unlimited);
        prop_assert_eq!(a.apply_diff(&a.diff(&b, &t), &t), b);
    }

    #[test]
    fn map_diff_round_trip(a in arb_map(), b in arb_map()) {
        let t = ty(AtomicType::Integer, Some(AtomicType::String), 0, Max::Unlimited);
        prop_assert_eq!(a.apply_diff(&a.diff(&b, &t), &t), b);
    }

    #[test]
    fn datum_json_round_trip(d in prop_oneof![arb_set(), arb_map()]) {
        let s = serde_json::to_string(&d).unwrap();
        let back: Datum = serde_json::from_str(&s).unwrap();
        // An empty map is sent as ["map",[]] and comes back a map.
        prop_assert_eq!(back, d);
    }

    #[test]
    fn garbage_never_panics(s in "\\PC{0,40}") {
        let _ = serde_json::from_str::<Datum>(&s);
    }
}
