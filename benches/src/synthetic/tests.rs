use ovsdb_client::{Datum, Replica};
use std::sync::Arc;

use super::*;

#[test]
fn the_reply_loads_into_a_replica_with_every_row() {
    let mut replica = Replica::new(Arc::new(nb_subset_schema()));
    let events = replica
        .apply_update2_json(&populated_table_updates(2, 5))
        .unwrap();
    assert_eq!(events.len(), 2 + 10);
    let ports = replica.table("Logical_Switch_Port").unwrap();
    assert_eq!(ports.len(), 10);
    let p = ports
        .find_one("name", &Datum::from("pop-2-3"))
        .expect("port pop-2-3");
    assert_eq!(
        p.get("addresses"),
        Some(&Datum::from("0a:00:00:02:00:03 10.2.0.3"))
    );
    assert_eq!(p.get("external_ids").unwrap().get_str("pod"), Some("pod-3"));
    let switches = replica.table("Logical_Switch").unwrap();
    let sw = switches.find_one("name", &Datum::from("pop-1")).unwrap();
    assert_eq!(sw.get("ports").unwrap().len(), 5);
}

#[test]
fn the_reply_frame_is_one_json_rpc_response() {
    let frame = populated_monitor_reply(1, 2);
    let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(v["id"], 1);
    assert!(v["error"].is_null());
    assert_eq!(v["result"][0], false);
    assert_eq!(
        v["result"][2]["Logical_Switch_Port"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
}
