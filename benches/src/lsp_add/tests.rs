use super::*;

#[test]
fn addresses_follow_raw_pipeline() {
    // raw_pipeline.py: f"0a:00:00:{i>>16&255:02x}:{i>>8&255:02x}:{i&255:02x} 10.{i>>16&255}.{i>>8&255}.{i&255}"
    assert_eq!(port_address(0), "0a:00:00:00:00:00 10.0.0.0");
    assert_eq!(port_address(70_000), "0a:00:00:01:11:70 10.1.17.112");
    assert_eq!(port_name("sw", 7), "sw-7");
}

#[test]
fn one_port_is_an_insert_and_a_mutate_by_uuid_name() {
    let ops = lsp_add_operations("sw", 3);
    let json = serde_json::to_value(&ops).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p",
             "row": {"addresses": "0a:00:00:00:00:03 10.0.0.3", "name": "sw-3"}},
            {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw"]],
             "mutations": [["ports", "insert", ["named-uuid", "p"]]]}
        ])
    );
}

#[test]
fn a_batch_inserts_every_port_and_adds_all_in_one_mutate() {
    let ops = lsp_batch_operations("b", 3);
    assert_eq!(ops.len(), 4);
    let json = serde_json::to_value(&ops).unwrap();
    assert_eq!(json[2]["row"]["name"], "b-2");
    assert_eq!(json[2]["uuid-name"], "p2");
    assert_eq!(
        json[3]["mutations"][0][2],
        serde_json::json!([
            "set",
            [
                ["named-uuid", "p0"],
                ["named-uuid", "p1"],
                ["named-uuid", "p2"]
            ]
        ])
    );
}

#[test]
fn modes_parse_from_their_names_only() {
    for m in [Mode::Sequential, Mode::Pipelined, Mode::Batch] {
        assert_eq!(m.as_str().parse::<Mode>(), Ok(m));
    }
    assert!("parallel".parse::<Mode>().is_err());
}
