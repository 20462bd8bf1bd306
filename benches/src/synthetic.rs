//! Synthetic Northbound data for the criterion benches: the monitor reply a cold client gets
//! from a database filled by `populate.py`, generated without a server.
//!
//! The rows have the shape ovsdb-server sends for `populate.py`'s ports (checked against a real
//! server): `_version`, `addresses`, `external_ids` with `pod` and `ns`, and `name`; columns at
//! their default are omitted, as in every update2 `initial`.

use std::fmt::Write;

use ovsdb_client::DatabaseSchema;

/// A Northbound schema cut down to the two tables the workloads touch, with their real column
/// types, so decoding exercises the same layouts (defaults for omitted columns included).
pub const NB_SUBSET_SCHEMA: &str = r#"{
  "name": "OVN_Northbound",
  "version": "7.0.0",
  "tables": {
    "Logical_Switch": {
      "columns": {
        "name": {"type": "string"},
        "ports": {"type": {"key": {"type": "uuid", "refTable": "Logical_Switch_Port", "refType": "strong"}, "min": 0, "max": "unlimited"}},
        "other_config": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "external_ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
      },
      "isRoot": true
    },
    "Logical_Switch_Port": {
      "columns": {
        "name": {"type": "string"},
        "type": {"type": "string"},
        "options": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "parent_name": {"type": {"key": "string", "min": 0, "max": 1}},
        "tag_request": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}, "min": 0, "max": 1}},
        "tag": {"type": {"key": {"type": "integer", "minInteger": 1, "maxInteger": 4095}, "min": 0, "max": 1}},
        "addresses": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
        "dynamic_addresses": {"type": {"key": "string", "min": 0, "max": 1}},
        "port_security": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
        "up": {"type": {"key": "boolean", "min": 0, "max": 1}},
        "enabled": {"type": {"key": "boolean", "min": 0, "max": 1}},
        "ha_chassis_group": {"type": {"key": {"type": "uuid", "refTable": "HA_Chassis_Group", "refType": "weak"}, "min": 0, "max": 1}},
        "mirror_rules": {"type": {"key": {"type": "uuid", "refTable": "Mirror", "refType": "weak"}, "min": 0, "max": "unlimited"}},
        "external_ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
      },
      "isRoot": false,
      "indexes": [["name"]]
    }
  }
}"#;

/// The schema of [`NB_SUBSET_SCHEMA`].
pub fn nb_subset_schema() -> DatabaseSchema {
    // The text is a constant of this crate: failing to parse it is a bug here, not peer input.
    DatabaseSchema::from_json_str(NB_SUBSET_SCHEMA).expect("NB_SUBSET_SCHEMA parses")
}

/// A deterministic UUID text for row `i` of kind `kind` (distinct kinds never collide).
fn uuid_text(kind: u32, i: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{i:012x}")
}

/// The update2 table-updates object of `switches` switches with `ports` ports each, as
/// `populate.py SOCK switches ports` leaves them: `{"Logical_Switch": {...},
/// "Logical_Switch_Port": {...}}` with `initial` rows.
pub fn populated_table_updates(switches: u32, ports: u32) -> String {
    let mut out = String::with_capacity(300 * switches as usize * ports as usize + 1024);
    out.push_str("{\"Logical_Switch\":{");
    for k in 1..=switches {
        if k > 1 {
            out.push(',');
        }
        let _ = write!(
            out,
            "\"{}\":{{\"initial\":{{\"_version\":[\"uuid\",\"{}\"],\"name\":\"pop-{k}\",\"ports\":[\"set\",[",
            uuid_text(1, k.into()),
            uuid_text(2, k.into()),
        );
        for i in 0..ports {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "[\"uuid\",\"{}\"]", port_uuid(k, i));
        }
        out.push_str("]]}}");
    }
    out.push_str("},\"Logical_Switch_Port\":{");
    let mut first = true;
    for k in 1..=switches {
        for i in 0..ports {
            if !first {
                out.push(',');
            }
            first = false;
            let (b, c) = ((i >> 8) & 255, i & 255);
            let _ = write!(
                out,
                "\"{}\":{{\"initial\":{{\"_version\":[\"uuid\",\"{}\"],\
                 \"addresses\":\"0a:00:00:{k:02x}:{b:02x}:{c:02x} 10.{k}.{b}.{c}\",\
                 \"external_ids\":[\"map\",[[\"ns\",\"default\"],[\"pod\",\"pod-{i}\"]]],\
                 \"name\":\"pop-{k}-{i}\"}}}}",
                port_uuid(k, i),
                uuid_text(4, (u64::from(k) << 32) | u64::from(i)),
            );
        }
    }
    out.push_str("}}");
    out
}

fn port_uuid(switch: u32, port: u32) -> String {
    uuid_text(3, (u64::from(switch) << 32) | u64::from(port))
}

/// The whole JSON-RPC reply to a cold `monitor_cond_since` over [`populated_table_updates`],
/// as one frame: `{"id":1,"result":[false,"<zero uuid>",{...}],"error":null}`.
pub fn populated_monitor_reply(switches: u32, ports: u32) -> String {
    format!(
        "{{\"id\":1,\"result\":[false,\"00000000-0000-0000-0000-000000000000\",{}],\"error\":null}}",
        populated_table_updates(switches, ports)
    )
}

#[cfg(test)]
#[path = "synthetic/tests.rs"]
mod tests;
