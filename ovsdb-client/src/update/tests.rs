use super::*;

#[test]
fn update2_forms_parse() {
    let u: TableUpdates2 = serde_json::from_str(
        r#"{"T":{
            "550e8400-e29b-41d4-a716-446655440000":{"initial":{"a":1}},
            "550e8400-e29b-41d4-a716-446655440001":{"modify":{"s":["set",[1,2]]}},
            "550e8400-e29b-41d4-a716-446655440002":{"delete":null}}}"#,
    )
    .unwrap();
    let t = &u["T"];
    assert_eq!(t.len(), 3);
    assert!(t.values().any(|r| matches!(r, RowUpdate2::Delete)));
    let bad = serde_json::from_str::<TableUpdates2>(
        r#"{"T":{"550e8400-e29b-41d4-a716-446655440000":{"frob":{}}}}"#,
    );
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("unknown row update kind")
    );
}

#[test]
fn monitor_request_serializes() {
    let mut r = MonitorRequest::columns(["name"]);
    r.select = Some(MonitorSelect {
        initial: true,
        insert: true,
        delete: false,
        modify: true,
    });
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({"columns":["name"],"select":{"initial":true,"insert":true,"delete":false,"modify":true}})
    );
}

#[test]
fn monitor_cond_since_reply() {
    let r: MonitorCondSinceReply =
        serde_json::from_str(r#"[false,"550e8400-e29b-41d4-a716-446655440000",{}]"#).unwrap();
    assert!(!r.found);
    assert!(r.updates.is_empty());
}
