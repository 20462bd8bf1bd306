use std::sync::Arc;

use proptest::prelude::*;

use super::testdb::{Child, ChildLookups, RootThing, RootThingColor, RootThingLevel};
use super::testdb::{RootThingLookups, RootThingModesKey};
use super::*;
use crate::schema::DatabaseSchema;

fn schema() -> Arc<DatabaseSchema> {
    Arc::new(
        DatabaseSchema::from_json_str(include_str!("test.ovsschema")).expect("test schema parses"),
    )
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn sample() -> RootThing {
    RootThing {
        _uuid: uuid(1),
        name: "r1".into(),
        count: 7,
        ratio: 0.5,
        flag: true,
        color: RootThingColor::Green,
        level: Some(RootThingLevel::V2),
        label: Some("lbl".into()),
        tags: ["a".to_owned()].into(),
        weights: [Real(1.5), Real(-2.0)].into(),
        children: [Ref::new(uuid(2))].into(),
        peer: Some(WeakRef::new(uuid(1))),
        queues: [(5, Ref::new(uuid(2))), (4_000_000_000, Ref::new(uuid(3)))].into(),
        options: [("k".to_owned(), "v".to_owned())].into(),
        modes: [(RootThingModesKey::Fast, 3)].into(),
        id: uuid(9),
        r#type: "t".into(),
        frozen: "ice".into(),
        seen: Some(1),
        ..Default::default()
    }
}

fn json_round_trip(row: &Row) -> Row {
    let text = serde_json::to_string(row).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn metadata_constants_match_the_schema() {
    let s = schema();
    assert_eq!(RootThing::table_schema(), s.tables["Root_Thing"]);
    assert_eq!(Child::table_schema(), s.tables["Child"]);
    assert_eq!(super::testdb::Empty::table_schema(), s.tables["Empty"]);
    assert_eq!((RootThing::IS_ROOT, Child::IS_ROOT), (true, false));
    assert_eq!(super::testdb::Empty::MAX_ROWS, Some(1));
    assert_eq!(RootThing::INDEXES, &[&["name"][..]]);
    let spec = RootThing::column_spec("peer").unwrap();
    assert_eq!(spec.key.ref_table, Some("Root_Thing"));
    assert_eq!(spec.key.ref_type, RefType::Weak);
}

#[test]
fn a_row_survives_the_wire_and_update2_omissions() {
    let row = sample();
    row.validate().unwrap();
    let wire = json_round_trip(&row.to_row());
    assert_eq!(RootThing::from_row(uuid(1), &wire).unwrap(), row);

    // A one-element set is a bare atom on the wire; a map with integer keys stays a map.
    let text = serde_json::to_string(&row.to_row()).unwrap();
    assert!(text.contains(r#""tags":"a""#), "{text}");
    assert!(text.contains(r#""queues":["map",[[5,["uuid""#), "{text}");

    // update2 leaves out default values; the typed row reads them back as defaults.
    let sparse = RootThing {
        _uuid: uuid(4),
        name: "sparse".into(),
        color: RootThingColor::Red,
        ..Default::default()
    };
    let insert = sparse.to_insert_row();
    assert_eq!(
        insert.keys().collect::<Vec<_>>(),
        ["color", "name"],
        "defaults are omitted"
    );
    assert_eq!(RootThing::from_row(uuid(4), &insert).unwrap(), sparse);
}

#[test]
fn replica_views_events_and_lookups() {
    let mut replica = Replica::new(schema());
    let row = sample();
    let child = Child {
        _uuid: uuid(2),
        name: "c".into(),
        parent: Some(WeakRef::new(uuid(1))),
        ..Default::default()
    };
    let update = serde_json::json!({
        "Root_Thing": {uuid(1).to_string(): {"initial": row.to_insert_row()}},
        "Child": {uuid(2).to_string(): {"initial": child.to_insert_row()}},
    })
    .to_string();
    let events = replica.apply_update2_json(&update).unwrap();
    let typed: Vec<TypedEvent<RootThing>> = typed_events(&events).map(Result::unwrap).collect();
    assert_eq!(typed, vec![TypedEvent::Insert { new: row.clone() }]);

    let view = replica.typed::<RootThing>();
    assert_eq!(view.len(), 1);
    assert_eq!(view.get(&uuid(1)).unwrap().as_ref(), Some(&row));
    assert_eq!(view.by_name("r1").unwrap().as_ref(), Some(&row));
    assert_eq!(view.by_name("nope").unwrap(), None);
    assert_eq!(view.find(RootThing::COUNT, 7).unwrap(), vec![row.clone()]);
    assert_eq!(
        replica.typed::<Child>().by_name("c").unwrap(),
        vec![child.clone()]
    );
    let got_child = replica
        .typed::<Child>()
        .resolve(row.children.iter().next().unwrap())
        .unwrap();
    assert_eq!(got_child, Some(child));

    // A modify diff: events carry the old and the new typed row.
    let modify = serde_json::json!({
        "Root_Thing": {uuid(1).to_string(): {"modify": {"count": 8, "tags": "b"}}}
    })
    .to_string();
    let events = replica.apply_update2_json(&modify).unwrap();
    let mut new = row.clone();
    new.count = 8;
    new.tags = ["a".to_owned(), "b".to_owned()].into();
    let typed: Vec<_> = typed_events::<RootThing>(&events)
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        typed,
        vec![TypedEvent::Modify {
            old: row.clone(),
            new: new.clone()
        }]
    );
    // The same diff applied to the typed row directly.
    let diff: Row = serde_json::from_str(r#"{"count": 8, "tags": "b"}"#).unwrap();
    assert_eq!(apply_diff(&row, &diff).unwrap(), new);
}

#[test]
fn decode_update2_reads_typed_rows_straight_from_json() {
    let row = sample();
    let update = serde_json::json!({
        "Child": {uuid(2).to_string(): {"initial": {"name": "c"}}},
        "Root_Thing": {
            uuid(1).to_string(): {"initial": row.to_insert_row()},
            uuid(5).to_string(): {"modify": {"count": 1}},
            uuid(6).to_string(): {"delete": null},
        },
    })
    .to_string();
    let decoded = decode_update2::<RootThing>(&update).unwrap();
    assert_eq!(decoded.len(), 3);
    assert_eq!(decoded[0], (uuid(1), TypedUpdate::Row(row)));
    assert!(matches!(&decoded[1].1, TypedUpdate::Modify(m) if m.len() == 1));
    assert_eq!(decoded[2].1, TypedUpdate::Delete);
}

#[test]
fn unknown_enum_values_from_the_server_are_typed_errors() {
    let update = serde_json::json!({
        "Root_Thing": {uuid(1).to_string(): {"initial": {"name": "x", "color": "purple"}}}
    })
    .to_string();
    let err = decode_update2::<RootThing>(&update).unwrap_err();
    match err {
        Error::InvalidValue {
            table,
            column,
            reason,
        } => {
            assert_eq!((table.as_str(), column.as_str()), ("Root_Thing", "color"));
            assert!(reason.contains("purple"), "{reason}");
        }
        other => panic!("unexpected {other}"),
    }
    // A required enum column left unset holds "" on the server, which no variant names.
    let mut replica = Replica::new(schema());
    let update = serde_json::json!({
        "Root_Thing": {uuid(1).to_string(): {"initial": {"name": "x"}}}
    })
    .to_string();
    replica.apply_update2_json(&update).unwrap();
    let err = replica.typed::<RootThing>().to_vec().unwrap_err();
    assert!(err.to_string().contains("Root_Thing.color"), "{err}");
    // Wrong shapes are errors too, never panics.
    let wrong: Row = serde_json::from_str(r#"{"count": "seven", "color": "red"}"#).unwrap();
    assert!(RootThing::from_row(uuid(1), &wrong).is_err());
    let wrong: Row = serde_json::from_str(r#"{"count": ["set", [1, 2]], "color": "red"}"#).unwrap();
    assert!(RootThing::from_row(uuid(1), &wrong).is_err());
    assert!("purple".parse::<RootThingColor>().is_err());
    assert_eq!(
        "red".parse::<RootThingColor>().unwrap(),
        RootThingColor::Red
    );
    assert_eq!(RootThingColor::Blue.to_string(), "blue");
    assert_eq!("2".parse::<RootThingLevel>().unwrap(), RootThingLevel::V2);
}

fn invalid(err: Error) -> (String, String, String) {
    match err {
        Error::InvalidValue {
            table,
            column,
            reason,
        } => (table, column, reason),
        other => panic!("expected InvalidValue, got {other}"),
    }
}

#[test]
fn validation_names_table_column_and_value() {
    let mut row = sample();
    row.count = 101;
    let (t, c, why) = invalid(Insert::new(row).build().unwrap_err());
    assert_eq!((t.as_str(), c.as_str()), ("Root_Thing", "count"));
    assert!(why.contains("101"), "{why}");

    let mut row = sample();
    row.tags = ["a", "b", "c", "d"].map(String::from).into();
    let (_, c, why) = invalid(row.validate().unwrap_err());
    assert_eq!(c, "tags");
    assert!(why.contains("at most 3") && why.contains("\"d\""), "{why}");

    let mut row = sample();
    row.label = Some("far too long".into());
    let (_, c, why) = invalid(row.validate().unwrap_err());
    assert_eq!(c, "label");
    assert!(why.contains("far too long"), "{why}");

    let mut row = sample();
    row.ratio = 1.5;
    assert_eq!(invalid(row.validate().unwrap_err()).1, "ratio");

    let (_, c, why) = invalid(
        Update::<RootThing>::new()
            .set(RootThing::COUNT, -1)
            .build()
            .unwrap_err(),
    );
    assert_eq!(c, "count");
    assert!(why.contains("-1"), "{why}");
    let (_, c, _) = invalid(
        Update::<RootThing>::new()
            .set(RootThing::FROZEN, "thaw")
            .build()
            .unwrap_err(),
    );
    assert_eq!(c, "frozen");
    let (_, c, why) = invalid(
        Mutate::<RootThing>::new()
            .apply(RootThing::LABEL.insert("123456789"))
            .build()
            .unwrap_err(),
    );
    assert_eq!(c, "label");
    assert!(why.contains("123456789"), "{why}");
}

#[test]
fn builders_produce_the_hand_written_operations() {
    let c = RootThing::NAME.eq("r1");
    assert_eq!(c.condition(), &Condition::eq("name", "r1"));
    assert_eq!(
        RootThing::TAGS.contains("a").into_condition(),
        Condition::new("tags", Function::Includes, Datum::set(["a"]))
    );

    let op = Update::<RootThing>::new()
        .filter(RootThing::NAME.eq("r1"))
        .set(RootThing::COUNT, 3)
        .set(RootThing::LABEL, Some("x".to_owned()))
        .build()
        .unwrap();
    let mut row = Row::new();
    row.insert("count".into(), Datum::scalar(3));
    row.insert("label".into(), Datum::set(["x"]));
    assert_eq!(
        op,
        Operation::update("Root_Thing", vec![Condition::eq("name", "r1")], row)
    );

    let op = Mutate::<RootThing>::new()
        .filter(Cond::uuid(uuid(1)))
        .apply(RootThing::CHILDREN.insert(Ref::new(uuid(2))))
        .apply(RootThing::OPTIONS.delete_keys(["k".to_owned()]))
        .apply(RootThing::COUNT.add(1))
        .build()
        .unwrap();
    assert_eq!(
        op,
        Operation::mutate(
            "Root_Thing",
            vec![Condition::uuid(uuid(1))],
            vec![
                Mutation::new("children", Mutator::Insert, Datum::set([uuid(2)])),
                Mutation::new("options", Mutator::Delete, Datum::set(["k"])),
                Mutation::new("count", Mutator::Add, 1),
            ]
        )
    );

    assert_eq!(
        Delete::<Child>::new().filter(Child::NAME.eq("c")).build(),
        Operation::delete("Child", vec![Condition::eq("name", "c")])
    );
    assert_eq!(
        Select::<Child>::new().build(),
        Operation::select("Child", vec![])
    );
    let child = Child {
        name: "c".into(),
        ..Default::default()
    };
    let wait = Wait::<Child>::new(WaitUntil::Equal)
        .filter(Child::NAME.eq("c"))
        .column(Child::NAME)
        .row(&child)
        .timeout(0)
        .build();
    let mut expect_row = Row::new();
    expect_row.insert("name".into(), Datum::scalar("c"));
    assert_eq!(
        wait,
        Operation::Wait {
            table: "Child".into(),
            conditions: vec![Condition::eq("name", "c")],
            columns: vec!["name".into()],
            until: WaitUntil::Equal,
            rows: vec![expect_row],
            timeout: Some(0),
        }
    );

    // Named UUIDs: a row inserted in the transaction is referenced before it exists.
    let mut ops = Ops::new();
    let child_ref = ops.insert(child).unwrap();
    let root = RootThing {
        name: "r".into(),
        color: RootThingColor::Red,
        children: [child_ref.clone()].into(),
        ..Default::default()
    };
    ops.insert(root).unwrap();
    let ops = ops.into_operations();
    let text = serde_json::to_string(&ops).unwrap();
    assert!(
        text.contains(r#""children":["named-uuid","row1_Child"]"#),
        "{text}"
    );
    assert!(text.contains(r#""uuid-name":"row1_Child""#), "{text}");
    let results = vec![
        OperationResult {
            uuid: Some(uuid(7)),
            ..Default::default()
        },
        OperationResult {
            uuid: Some(uuid(8)),
            ..Default::default()
        },
    ];
    let names = named_uuids(&ops, &results);
    let mut resolved = child_ref;
    resolved.resolve(&names);
    assert_eq!(resolved.uuid(), Some(uuid(7)));

    let update = Update::row(&sample()).build().unwrap();
    let Operation::Update {
        row, conditions, ..
    } = update
    else {
        panic!("not an update")
    };
    assert_eq!(conditions, vec![Condition::uuid(uuid(1))]);
    assert!(
        !row.contains_key("frozen"),
        "immutable columns are not updated"
    );
}

fn arb_string() -> impl Strategy<Value = String> {
    "[a-z0-9 \\-\"\\\\é]{0,6}"
}

fn arb_uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

prop_compose! {
    fn arb_root()(
        uuid in arb_uuid(),
        name in arb_string(),
        count in 0i64..=100,
        ratio in 0.0f64..=1.0,
        flag in any::<bool>(),
        color in prop::sample::select(RootThingColor::ALL),
        level in prop::option::of(prop::sample::select(RootThingLevel::ALL)),
        label in prop::option::of("[a-z]{1,8}"),
        tags in prop::collection::btree_set(arb_string(), 0..=3),
        weights in prop::collection::btree_set((-1e9f64..1e9).prop_map(Real), 0..4),
        children in prop::collection::btree_set(arb_uuid().prop_map(Ref::new), 0..3),
        peer in prop::option::of(arb_uuid().prop_map(WeakRef::new)),
        queues in prop::collection::btree_map(0i64..=4_294_967_295, arb_uuid().prop_map(Ref::new), 0..3),
        options in prop::collection::btree_map(arb_string(), arb_string(), 0..4),
        modes in prop::collection::btree_map(prop::sample::select(RootThingModesKey::ALL), any::<i64>(), 0..3),
        id in arb_uuid(),
        r#type in arb_string(),
        frozen in arb_string(),
        seen in prop::option::of(any::<i64>()),
    ) -> RootThing {
        RootThing {
            _uuid: uuid, _version: None, name, count, ratio, flag, color, level, label, tags,
            weights, children, peer, queues, options, modes, id, r#type, frozen, seen,
        }
    }
}

proptest! {
    #[test]
    fn every_column_type_round_trips(row in arb_root()) {
        prop_assert!(row.validate().is_ok());
        // Full rows through JSON.
        let full = json_round_trip(&row.to_row());
        prop_assert_eq!(&RootThing::from_row(row._uuid, &full).unwrap(), &row);
        // Insert rows (defaults omitted) through JSON.
        let sparse = json_round_trip(&row.to_insert_row());
        prop_assert_eq!(&RootThing::from_row(row._uuid, &sparse).unwrap(), &row);
        // Through the untyped replica and back.
        let mut replica = Replica::new(schema());
        let update = serde_json::json!({
            "Root_Thing": {row._uuid.to_string(): {"insert": row.to_insert_row()}}
        })
        .to_string();
        replica.apply_update2_json(&update).unwrap();
        prop_assert_eq!(replica.typed::<RootThing>().get(&row._uuid).unwrap(), Some(row.clone()));
        // Straight from JSON into the typed row.
        let decoded = decode_update2::<RootThing>(&update).unwrap();
        prop_assert_eq!(&decoded[0].1, &TypedUpdate::Row(row.clone()));
    }

    #[test]
    fn arbitrary_wire_rows_never_panic(
        count in any::<i64>(),
        color in arb_string(),
        tags in prop::collection::vec(any::<i64>(), 0..4),
    ) {
        let text = serde_json::json!({"count": count, "color": color, "tags": ["set", tags]})
            .to_string();
        let row: Row = serde_json::from_str(&text).unwrap();
        // Decoding reports errors (for example an integer in a string set), never panics.
        let _ = RootThing::from_row(Uuid::nil(), &row);
    }
}
