use super::*;
use crate::desired::DesiredRow;

fn nb_replica() -> Replica {
    let text = crate::SCHEMAS
        .iter()
        .find(|s| s.module == "nb")
        .unwrap()
        .json;
    let schema = ovsdb_client::DatabaseSchema::from_json_str(text).unwrap();
    Replica::new(Arc::new(schema))
}

fn switch_with_port() -> Group {
    let ls = RowKey::new("Logical_Switch", "ls/a");
    Group {
        id: "g".into(),
        phase: 0,
        rows: vec![
            DesiredRow::new("Logical_Switch", "ls/a").col("name", Cell::Value(Datum::scalar("a"))),
            DesiredRow::new("Logical_Switch_Port", "lsp/p")
                .col("name", Cell::Value(Datum::scalar("p")))
                .child_of(ls, "ports"),
        ],
    }
}

#[test]
fn new_rows_are_inserted_with_named_uuids_and_parent_mutations() {
    let r = nb_replica();
    let plan = Reconciler::new("me").plan(&r, [&switch_with_port()], Scope::Everything);
    assert_eq!(plan.txns.len(), 1);
    let ops = serde_json::to_value(&plan.txns[0].ops).unwrap();
    assert_eq!(ops[0]["op"], "insert");
    assert_eq!(ops[0]["uuid-name"], "row0");
    assert_eq!(
        ops[0]["row"]["external_ids"],
        serde_json::json!([
            "map",
            [
                ["ovn-model/group", "g"],
                ["ovn-model/key", "ls/a"],
                ["ovn-model/owner", "me"]
            ]
        ])
    );
    assert_eq!(ops[1]["op"], "insert");
    assert_eq!(
        ops[2],
        serde_json::json!({
            "op": "mutate", "table": "Logical_Switch", "where": [["_uuid", "==", ["named-uuid", "row0"]]],
            "mutations": [["ports", "insert", ["named-uuid", "row1"]]]
        })
    );
}

#[test]
fn a_child_whose_parent_is_missing_waits() {
    let r = nb_replica();
    let mut g = switch_with_port();
    g.rows.remove(0);
    let plan = Reconciler::new("me").plan(&r, [&g], Scope::Everything);
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn rows_of_others_are_never_touched() {
    let mut r = nb_replica();
    r.apply_update2_json(
        r#"{"Logical_Switch":{
            "550e8400-e29b-41d4-a716-446655440000":{"insert":{"name":"theirs","external_ids":["map",[["ovn-model/owner","someone-else"],["ovn-model/key","ls/a"],["ovn-model/group","g"]]]}},
            "550e8400-e29b-41d4-a716-446655440001":{"insert":{"name":"nobodys"}}}}"#,
    )
    .unwrap();
    let plan = Reconciler::new("me").plan(&r, std::iter::empty(), Scope::Everything);
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn owned_rows_converge_with_minimal_writes() {
    let mut r = nb_replica();
    r.apply_update2_json(
        r#"{"Logical_Switch":{
            "550e8400-e29b-41d4-a716-446655440000":{"insert":{"name":"old-name","external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","ls/a"],["ovn-model/group","g"]]]}},
            "550e8400-e29b-41d4-a716-446655440001":{"insert":{"name":"stale","external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","ls/stale"],["ovn-model/group","gone"]]]}}}}"#,
    )
    .unwrap();
    let g = Group {
        id: "g".into(),
        phase: 0,
        rows: vec![
            DesiredRow::new("Logical_Switch", "ls/a").col("name", Cell::Value(Datum::scalar("a"))),
        ],
    };
    let plan = Reconciler::new("me").plan(&r, [&g], Scope::Everything);
    let ops: Vec<serde_json::Value> = plan
        .txns
        .iter()
        .map(|t| serde_json::to_value(&t.ops).unwrap())
        .collect();
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(
        ops[0],
        serde_json::json!([{"op":"update","table":"Logical_Switch",
        "where":[["_uuid","==",["uuid","550e8400-e29b-41d4-a716-446655440000"]]],"row":{"name":"a"}}])
    );
    assert_eq!(
        ops[1],
        serde_json::json!([{"op":"delete","table":"Logical_Switch",
        "where":[["_uuid","==",["uuid","550e8400-e29b-41d4-a716-446655440001"]]]}])
    );
    // Scoped to the one group, the stale group is left alone.
    let plan = Reconciler::new("me").plan(&r, [&g], Scope::OnlyTheseGroups);
    assert_eq!(plan.txns.len(), 1);
}

#[test]
fn membership_columns_change_by_mutation() {
    let mut have = Vec::new();
    member_mutations(
        "addresses",
        &Datum::set(["a", "b"]),
        &Datum::set(["b", "c"]),
        &mut have,
    );
    assert_eq!(
        have,
        vec![
            Mutation::new("addresses", Mutator::Delete, Datum::set(["a"])),
            Mutation::new("addresses", Mutator::Insert, Datum::set(["c"])),
        ]
    );
    let mut vips = Vec::new();
    member_mutations(
        "vips",
        &Datum::map([("1.1.1.1:80", "x"), ("2.2.2.2:80", "y")]),
        &Datum::map([("1.1.1.1:80", "x2"), ("3.3.3.3:80", "z")]),
        &mut vips,
    );
    assert_eq!(
        vips,
        vec![
            Mutation::new(
                "vips",
                Mutator::Delete,
                Datum::set(["1.1.1.1:80", "2.2.2.2:80"])
            ),
            Mutation::new(
                "vips",
                Mutator::Insert,
                Datum::map([("1.1.1.1:80", "x2"), ("3.3.3.3:80", "z")])
            ),
        ]
    );
}

#[test]
fn whole_column_updates_wait_on_the_version_read() {
    let mut r = nb_replica();
    r.apply_update2_json(
        r#"{"Logical_Switch":{
            "550e8400-e29b-41d4-a716-446655440000":{"insert":{"_version":["uuid","650e8400-e29b-41d4-a716-446655440000"],"name":"old","external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","ls/a"],["ovn-model/group","g"]]]}}}}"#,
    )
    .unwrap();
    let g = Group {
        id: "g".into(),
        phase: 0,
        rows: vec![
            DesiredRow::new("Logical_Switch", "ls/a").col("name", Cell::Value(Datum::scalar("a"))),
        ],
    };
    let plan = Reconciler::new("me").plan(&r, [&g], Scope::OnlyTheseGroups);
    let ops = serde_json::to_value(&plan.txns[0].ops).unwrap();
    assert_eq!(
        ops[0],
        serde_json::json!({"op":"wait","table":"Logical_Switch",
            "where":[["_uuid","==",["uuid","550e8400-e29b-41d4-a716-446655440000"]]],
            "columns":["_version"],"until":"==",
            "rows":[{"_version":["uuid","650e8400-e29b-41d4-a716-446655440000"]}],"timeout":0})
    );
    assert_eq!(ops[1]["op"], "update");
}

#[test]
fn held_groups_are_neither_written_nor_removed() {
    let mut r = nb_replica();
    r.apply_update2_json(
        r#"{"Logical_Switch":{
            "550e8400-e29b-41d4-a716-446655440000":{"insert":{"name":"kept","external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","ls/kept"],["ovn-model/group","held"]]]}},
            "550e8400-e29b-41d4-a716-446655440001":{"insert":{"name":"stale","external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","ls/stale"],["ovn-model/group","gone"]]]}}}}"#,
    )
    .unwrap();
    let mut desired = DesiredState::default();
    // A held group's desired rows (if a caller built any) are dropped too.
    desired.insert(Group {
        id: "held".into(),
        phase: 0,
        rows: vec![
            DesiredRow::new("Logical_Switch", "ls/kept")
                .col("name", Cell::Value(Datum::scalar("renamed"))),
        ],
    });
    desired.hold(["held".to_owned()]);
    let plan = Reconciler::new("me").plan_state(&r, &desired, Scope::Everything);
    assert_eq!(plan.txns.len(), 1, "{plan:?}");
    assert_eq!(plan.txns[0].group, "gone");
    // Without the hold, the group would go.
    desired.held.clear();
    let plan = Reconciler::new("me").plan_state(&r, &desired, Scope::Everything);
    let groups: Vec<&str> = plan.txns.iter().map(|t| t.group.as_str()).collect();
    assert_eq!(groups, vec!["gone", "held"]);
}

#[test]
fn per_policy_address_sets_converge_to_shared_ones() {
    // NB as the previous version wrote it: each policy's own set, in its own group, here with
    // the same contents.
    use crate::network::{Network, NetworkPolicy, Peer, PolicyRule};
    let mut r = nb_replica();
    r.apply_update2_json(
        r#"{"Address_Set":{
            "550e8400-e29b-41d4-a716-446655440000":{"insert":{"name":"np_a_p_ingress_allow_ip4_0","addresses":["set",["10.0.0.1"]],"external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","as/np_a_p_ingress_allow_ip4_0"],["ovn-model/group","policy/a/p"]]]}},
            "550e8400-e29b-41d4-a716-446655440001":{"insert":{"name":"np_b_p_ingress_allow_ip4_0","addresses":["set",["10.0.0.1"]],"external_ids":["map",[["ovn-model/owner","me"],["ovn-model/key","as/np_b_p_ingress_allow_ip4_0"],["ovn-model/group","policy/b/p"]]]}}}}"#,
    )
    .unwrap();
    let policy = |ns: &str| NetworkPolicy {
        name: "p".into(),
        namespace: ns.into(),
        ports: vec![],
        ingress: Some(vec![PolicyRule {
            peers: Some(vec![Peer::Addresses(vec!["10.0.0.1".parse().unwrap()])]),
            ports: vec![],
        }]),
        egress: None,
    };
    let net = Network {
        policies: vec![policy("a"), policy("b")],
        ..Network::default()
    };
    let plan = Reconciler::new("me").plan_state(&r, &net.desired(), Scope::Everything);
    let ops_of = |group: &str| -> Vec<serde_json::Value> {
        plan.txns
            .iter()
            .filter(|t| t.group == group)
            .flat_map(|t| {
                serde_json::to_value(&t.ops)
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .collect()
    };
    let deletes = |ops: &[serde_json::Value]| -> Vec<String> {
        ops.iter()
            .filter(|op| op["op"] == "delete" && op["table"] == "Address_Set")
            .map(|op| op["where"][0][2][1].as_str().unwrap().to_owned())
            .collect()
    };
    // The first policy's set stays (same row, moved to the shared set's group: an update of
    // its external_ids only); the second policy's own set goes.
    let shared = ops_of("addrset/np_a_p_ingress_allow_ip4_0");
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(shared[0]["op"], "update");
    assert_eq!(
        shared[0]["where"][0][2][1],
        "550e8400-e29b-41d4-a716-446655440000"
    );
    assert!(shared[0]["row"].get("addresses").is_none());
    assert!(deletes(&ops_of("policy/a/p")).is_empty());
    assert_eq!(
        deletes(&ops_of("policy/b/p")),
        vec!["550e8400-e29b-41d4-a716-446655440001".to_owned()]
    );
}
