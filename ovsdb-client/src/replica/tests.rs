use super::*;
use crate::update::RowUpdate2;
use proptest::prelude::*;

const SCHEMA: &str = r#"{
  "name": "Test", "version": "1.0.0",
  "tables": {
    "T": {
      "isRoot": true,
      "indexes": [["name"]],
      "columns": {
        "name": {"type": "string"},
        "n": {"type": "integer"},
        "opt": {"type": {"key": "string", "min": 0, "max": 1}},
        "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
        "ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "nums": {"type": {"key": "integer", "value": "integer", "min": 0, "max": "unlimited"}},
        "r": {"type": "real"}
      }
    }
  }
}"#;

fn replica() -> Replica {
    Replica::new(Arc::new(DatabaseSchema::from_json_str(SCHEMA).unwrap()))
}

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

#[test]
fn initial_rows_fill_omitted_defaults() {
    let mut r = replica();
    let ev = r
        .apply_update2_json(&format!(
            r#"{{"T":{{"{}":{{"initial":{{"name":"a","r":2}}}}}}}}"#,
            u(1)
        ))
        .unwrap();
    assert_eq!(ev.len(), 1);
    let row = r.table("T").unwrap().get(&u(1)).unwrap();
    assert_eq!(row.get("name"), Some(&Datum::scalar("a")));
    assert_eq!(row.get("n"), Some(&Datum::scalar(0i64)));
    assert_eq!(row.get("opt"), Some(&Datum::empty()));
    assert_eq!(row.get("ids"), Some(&Datum::empty_map()));
    assert_eq!(row.get("r"), Some(&Datum::scalar(2.0)));
}

#[test]
fn modify_applies_diffs_and_reports_old_and_new() {
    let mut r = replica();
    r.apply_update2_json(&format!(
        r#"{{"T":{{"{}":{{"insert":{{"name":"a","tags":["set",["x","y"]],"ids":["map",[["k","v"],["k2","v2"]]],"nums":["map",[[1,10]]]}}}}}}}}"#,
        u(1)
    ))
    .unwrap();
    let ev = r
        .apply_update2_json(&format!(
            r#"{{"T":{{"{}":{{"modify":{{"tags":"y","ids":["map",[["k","v"],["k3","v3"]]],"nums":["map",[[1,11]]],"opt":"z"}}}}}}}}"#,
            u(1)
        ))
        .unwrap();
    let [Event::Modify { old, new }] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(old.get("tags"), Some(&Datum::set(["x", "y"])));
    assert_eq!(new.get("tags"), Some(&Datum::set(["x"])));
    assert_eq!(
        new.get("ids"),
        Some(&Datum::map([("k2", "v2"), ("k3", "v3")]))
    );
    assert_eq!(new.get("nums"), Some(&Datum::map([(1i64, 11i64)])));
    assert_eq!(new.get("opt"), Some(&Datum::scalar("z")));
    let ev = r
        .apply_update2_json(&format!(r#"{{"T":{{"{}":{{"delete":null}}}}}}"#, u(1)))
        .unwrap();
    assert!(
        matches!(ev.as_slice(), [Event::Delete { old }] if old.get("opt") == Some(&Datum::scalar("z")))
    );
    assert_eq!(r.row_count(), 0);
}

#[test]
fn update_v1_forms() {
    let mut r = replica();
    r.apply_update1_json(&format!(
        r#"{{"T":{{"{}":{{"new":{{"name":"a","n":1}}}}}}}}"#,
        u(1)
    ))
    .unwrap();
    let ev = r
        .apply_update1_json(&format!(
            r#"{{"T":{{"{}":{{"old":{{"n":1}},"new":{{"name":"a","n":2}}}}}}}}"#,
            u(1)
        ))
        .unwrap();
    assert!(
        matches!(ev.as_slice(), [Event::Modify { new, .. }] if new.get("n") == Some(&Datum::scalar(2i64)))
    );
    let ev = r
        .apply_update1_json(&format!(
            r#"{{"T":{{"{}":{{"old":{{"name":"a","n":2}}}}}}}}"#,
            u(1)
        ))
        .unwrap();
    assert!(matches!(ev.as_slice(), [Event::Delete { .. }]));
}

#[test]
fn index_lookup_follows_changes() {
    let mut r = replica();
    r.apply_update2_json(&format!(
        r#"{{"T":{{"{}":{{"insert":{{"name":"a"}}}}}}}}"#,
        u(1)
    ))
    .unwrap();
    let t = r.table("T").unwrap();
    assert_eq!(t.find_one("name", &Datum::scalar("a")).unwrap().uuid, u(1));
    r.apply_update2_json(&format!(
        r#"{{"T":{{"{}":{{"modify":{{"name":"b"}}}}}}}}"#,
        u(1)
    ))
    .unwrap();
    let t = r.table("T").unwrap();
    assert!(t.find_one("name", &Datum::scalar("a")).is_none());
    assert_eq!(t.find_one("name", &Datum::scalar("b")).unwrap().uuid, u(1));
    r.add_index("T", &["n"]).unwrap();
    assert_eq!(
        r.table("T")
            .unwrap()
            .find(&["n"], &[Datum::scalar(0i64)])
            .len(),
        1
    );
    assert!(r.add_index("T", &["nope"]).is_err());
}

#[test]
fn change_schema_keeps_values_by_name_and_indexes_that_still_fit() {
    let mut r = replica();
    r.apply_update2_json(&format!(
        r#"{{"T":{{"{}":{{"insert":{{"name":"a","n":7,"r":1.5}}}}}}}}"#,
        u(1)
    ))
    .unwrap();
    r.add_index("T", &["n"]).unwrap();
    r.add_index("T", &["r"]).unwrap();
    // Version 2 drops `r`, adds `extra` (first in name order, so positions shift) and a table.
    let v2 = SCHEMA
        .replace(r#""version": "1.0.0""#, r#""version": "2.0.0""#)
        .replace(
            r#",
        "r": {"type": "real"}"#,
            r#",
        "aaa_extra": {"type": {"key": "string", "min": 0, "max": 1}}"#,
        )
        .replace(
            r#""tables": {"#,
            r#""tables": {"U": {"isRoot": true, "columns": {"x": {"type": "string"}}},"#,
        );
    let events = r.change_schema(Arc::new(DatabaseSchema::from_json_str(&v2).unwrap()));
    assert!(events.is_empty(), "{events:?}");
    let t = r.table("T").unwrap();
    let row = t.get(&u(1)).unwrap();
    assert_eq!(row.get("name"), Some(&Datum::scalar("a")));
    assert_eq!(row.get("n"), Some(&Datum::scalar(7i64)));
    assert_eq!(row.get("aaa_extra"), Some(&Datum::empty()));
    assert_eq!(row.get("r"), None);
    // The schema's index and the added one on `n` still find the row; updates use the new layout.
    assert_eq!(t.find_one("name", &Datum::scalar("a")).unwrap().uuid, u(1));
    assert_eq!(t.find(&["n"], &[Datum::scalar(7i64)]).len(), 1);
    r.apply_update2_json(&format!(
        r#"{{"T":{{"{}":{{"modify":{{"aaa_extra":"z"}}}}}}}}"#,
        u(1)
    ))
    .unwrap();
    assert_eq!(
        r.table("T").unwrap().get(&u(1)).unwrap().get("aaa_extra"),
        Some(&Datum::scalar("z"))
    );
    assert!(r.table("U").unwrap().is_empty());

    // Going back to version 1 drops table U: its rows are reported deleted.
    r.apply_update2_json(&format!(
        r#"{{"U":{{"{}":{{"insert":{{"x":"gone"}}}}}}}}"#,
        u(2)
    ))
    .unwrap();
    let events = r.change_schema(Arc::new(DatabaseSchema::from_json_str(SCHEMA).unwrap()));
    assert!(
        matches!(events.as_slice(), [Event::Delete { old }] if old.uuid == u(2)),
        "{events:?}"
    );
    assert!(r.table("U").is_none());
}

#[test]
fn bad_updates_are_typed_errors_and_change_nothing() {
    let mut r = replica();
    for bad in [
        r#"{"Nope":{}}"#.to_string(),
        format!(r#"{{"T":{{"{}":{{"insert":{{"bogus":1}}}}}}}}"#, u(1)),
        r#"{"T":{"not-a-uuid":{"insert":{}}}}"#.to_string(),
        format!(r#"{{"T":{{"{}":{{"upsert":{{}}}}}}}}"#, u(1)),
        r#"{"T":"#.to_string(),
        format!(
            r#"{{"T":{{"{}":{{"insert":{{"name":"a"}}}},"{}":{{"insert":{{"name":["uuid","x"]}}}}}}}}"#,
            u(1),
            u(2)
        ),
    ] {
        let err = r.apply_update2_json(&bad).unwrap_err();
        assert!(matches!(err, Error::InvalidMessage(_)), "{bad}: {err}");
        assert_eq!(r.row_count(), 0, "{bad} left rows behind");
    }
}

#[test]
fn replace_all_reports_only_differences() {
    let mut r = replica();
    r.apply_update2_json(&format!(
        r#"{{"T":{{"{}":{{"insert":{{"name":"keep"}}}},"{}":{{"insert":{{"name":"change"}}}},"{}":{{"insert":{{"name":"gone"}}}}}}}}"#,
        u(1), u(2), u(3)
    ))
    .unwrap();
    let fresh = r
        .decode_update2(&format!(
            r#"{{"T":{{"{}":{{"initial":{{"name":"keep"}}}},"{}":{{"initial":{{"name":"changed"}}}},"{}":{{"initial":{{"name":"new"}}}}}}}}"#,
            u(1), u(2), u(4)
        ))
        .unwrap();
    let mut ev: Vec<(String, Uuid)> = r
        .replace_all(fresh)
        .iter()
        .map(|e| {
            let kind = match e {
                Event::Insert { .. } => "insert",
                Event::Modify { .. } => "modify",
                Event::Delete { .. } => "delete",
            };
            (kind.to_string(), e.uuid())
        })
        .collect();
    ev.sort();
    assert_eq!(
        ev,
        vec![
            ("delete".into(), u(3)),
            ("insert".into(), u(4)),
            ("modify".into(), u(2))
        ]
    );
    assert_eq!(
        r.table("T")
            .unwrap()
            .find_one("name", &Datum::scalar("new"))
            .unwrap()
            .uuid,
        u(4)
    );
}

/// A random change to the model database.
#[derive(Debug, Clone)]
enum Op {
    Insert(u8, String, i64, Vec<String>, Vec<(String, String)>),
    SetName(u8, String),
    Tags(u8, Vec<String>),
    Ids(u8, Vec<(String, String)>),
    Opt(u8, Option<String>),
    Delete(u8),
}

fn arb_op() -> impl Strategy<Value = Op> {
    let s = "[a-d]{1,2}";
    prop_oneof![
        (
            0u8..6,
            s,
            -3i64..3,
            proptest::collection::vec(s, 0..4),
            proptest::collection::vec((s, s), 0..4)
        )
            .prop_map(|(k, n, i, t, m)| Op::Insert(k, n, i, t, m)),
        (0u8..6, s).prop_map(|(k, n)| Op::SetName(k, n)),
        (0u8..6, proptest::collection::vec(s, 0..4)).prop_map(|(k, t)| Op::Tags(k, t)),
        (0u8..6, proptest::collection::vec((s, s), 0..4)).prop_map(|(k, m)| Op::Ids(k, m)),
        (0u8..6, proptest::option::of(s)).prop_map(|(k, o)| Op::Opt(k, o)),
        (0u8..6).prop_map(Op::Delete),
    ]
}

proptest! {
    /// The replica fed the update2 stream a server would send equals the server's state.
    #[test]
    fn random_update2_stream_equals_full_dump(ops in proptest::collection::vec(arb_op(), 0..40)) {
        let schema = Arc::new(DatabaseSchema::from_json_str(SCHEMA).unwrap());
        let layout = TableLayout::new("T", schema.table("T").unwrap());
        let ty = |c: &str| layout.column_type(layout.index_of(c).unwrap()).unwrap().clone();
        let mut model: BTreeMap<Uuid, Row> = BTreeMap::new();
        let mut replica = Replica::new(schema.clone());
        for op in ops {
            let (key, new_row) = match &op {
                Op::Insert(k, n, i, t, m) => {
                    let mut row = Row::new();
                    for (c, d) in schema.table("T").unwrap().columns.iter() {
                        row.insert(c.clone(), Datum::default_for(&d.ty));
                    }
                    row.insert("name".into(), Datum::scalar(n.as_str()));
                    row.insert("n".into(), Datum::scalar(*i));
                    row.insert("tags".into(), Datum::set(t.iter().map(String::as_str)));
                    row.insert("ids".into(), Datum::map(m.iter().map(|(a, b)| (a.as_str(), b.as_str()))));
                    (*k, Some(row))
                }
                Op::Delete(k) => (*k, None),
                Op::SetName(k, _) | Op::Tags(k, _) | Op::Ids(k, _) | Op::Opt(k, _) => {
                    let Some(mut row) = model.get(&u(*k as u128)).cloned() else { continue };
                    match &op {
                        Op::SetName(_, n) => { row.insert("name".into(), Datum::scalar(n.as_str())); }
                        Op::Tags(_, t) => { row.insert("tags".into(), Datum::set(t.iter().map(String::as_str))); }
                        Op::Ids(_, m) => { row.insert("ids".into(), Datum::map(m.iter().map(|(a, b)| (a.as_str(), b.as_str())))); }
                        Op::Opt(_, o) => { row.insert("opt".into(), Datum::set(o.iter().map(String::as_str))); }
                        _ => unreachable!(),
                    }
                    (*k, Some(row))
                }
            };
            let uuid = u(key as u128);
            let old = model.get(&uuid).cloned();
            // What ovsdb-server would send for this change.
            let update = match (&old, &new_row) {
                (None, None) => continue,
                (None, Some(new)) => {
                    let omitted: Row = new
                        .iter()
                        .filter(|(c, d)| **d != Datum::default_for(&ty(c)))
                        .map(|(c, d)| (c.clone(), d.clone()))
                        .collect();
                    RowUpdate2::Insert(omitted)
                }
                (Some(_), None) => RowUpdate2::Delete,
                (Some(old), Some(new)) => {
                    let diff: Row = new
                        .iter()
                        .filter(|(c, d)| old[*c] != **d)
                        .map(|(c, d)| (c.clone(), old[c].diff(d, &ty(c))))
                        .collect();
                    if diff.is_empty() { continue; }
                    RowUpdate2::Modify(diff)
                }
            };
            let mut tu = TableUpdates2::new();
            tu.entry("T".into()).or_default().insert(uuid, update);
            // Half the time through JSON text, half through parsed updates.
            let events = if key % 2 == 0 {
                replica.apply_update2_json(&serde_json::to_string(&tu).unwrap()).unwrap()
            } else {
                replica.apply_update2(&tu).unwrap()
            };
            prop_assert_eq!(events.len(), 1);
            match new_row {
                Some(r) => { model.insert(uuid, r); }
                None => { model.remove(&uuid); }
            }
        }
        let snap = replica.snapshot();
        let got = snap.get("T").cloned().unwrap_or_default();
        prop_assert_eq!(got, model);
    }
}
