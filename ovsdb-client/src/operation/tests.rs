use super::*;
use crate::atom::Atom;

#[test]
fn operations_serialize_as_rfc7047() {
    let mut row = Row::new();
    row.insert("name".into(), Datum::scalar("p1"));
    let ops = vec![
        Operation::insert_named("Logical_Switch_Port", row.clone(), "p"),
        Operation::mutate(
            "Logical_Switch",
            vec![Condition::eq("name", "sw")],
            vec![Mutation::new(
                "ports",
                Mutator::Insert,
                Datum::scalar(Atom::NamedUuid("p".into())),
            )],
        ),
        Operation::Wait {
            table: "Logical_Switch".into(),
            conditions: vec![],
            columns: vec!["name".into()],
            until: WaitUntil::Equal,
            rows: vec![row],
            timeout: Some(0),
        },
        Operation::Commit { durable: false },
        Operation::Abort,
        Operation::Comment {
            comment: "hi".into(),
        },
        Operation::Assert { lock: "l".into() },
        Operation::delete("T", vec![Condition::Constant(true)]),
        Operation::Select {
            table: "T".into(),
            conditions: vec![],
            columns: Some(vec!["a".into()]),
        },
        Operation::update(
            "T",
            vec![Condition::new("n", Function::Ge, 3i64)],
            Row::new(),
        ),
    ];
    let json = serde_json::to_value(&ops).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"op":"insert","table":"Logical_Switch_Port","row":{"name":"p1"},"uuid-name":"p"},
            {"op":"mutate","table":"Logical_Switch","where":[["name","==","sw"]],
             "mutations":[["ports","insert",["named-uuid","p"]]]},
            {"op":"wait","table":"Logical_Switch","where":[],"columns":["name"],"until":"==",
             "rows":[{"name":"p1"}],"timeout":0},
            {"op":"commit","durable":false},
            {"op":"abort"},
            {"op":"comment","comment":"hi"},
            {"op":"assert","lock":"l"},
            {"op":"delete","table":"T","where":[true]},
            {"op":"select","table":"T","where":[],"columns":["a"]},
            {"op":"update","table":"T","where":[["n",">=",3]],"row":{}}
        ])
    );
}

#[test]
fn transact_reply_errors() {
    let reply: TransactReply = serde_json::from_str(
        r#"[{"uuid":["uuid","550e8400-e29b-41d4-a716-446655440000"]},{"count":1},
            {"error":"constraint violation","details":"bad"},null]"#,
    )
    .unwrap();
    assert_eq!(reply.0.len(), 4);
    let (i, e) = reply.first_error().unwrap();
    assert_eq!(i, 2);
    assert_eq!(e.error, "constraint violation");
    assert!(matches!(
        reply.into_result(),
        Err(Error::OperationFailed { index: 2, .. })
    ));

    let ok: TransactReply =
        serde_json::from_str(r#"[{"rows":[{"name":"a","n":["set",[1,2]]}]}]"#).unwrap();
    let rows = ok.into_result().unwrap()[0].rows.clone().unwrap();
    assert_eq!(rows[0]["n"], Datum::set([1i64, 2]));
}

#[test]
fn conditions_parse_back() {
    let c: Vec<Condition> =
        serde_json::from_str(r#"[["a","includes",["set",[1,2]]],false]"#).unwrap();
    assert_eq!(
        c[0],
        Condition::new("a", Function::Includes, Datum::set([1i64, 2]))
    );
    assert_eq!(c[1], Condition::Constant(false));
}
