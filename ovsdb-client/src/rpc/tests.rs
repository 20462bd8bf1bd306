use serde_json::value::RawValue;

use super::{Message, encode_notification, encode_request, encode_response};
use crate::error::InvalidMessage;

#[test]
fn parses_a_response_with_result() {
    let m = Message::parse(br#"{"id":3,"result":[{"uuid":["uuid","0b1c1d3e-aaaa-bbbb-cccc-0123456789ab"]}],"error":null}"#)
        .unwrap();
    match m {
        Message::Response { id, result: Ok(r) } => {
            assert_eq!(id.get(), "3");
            assert!(r.get().starts_with("[{\"uuid\""));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn parses_error_objects_and_bare_error_strings() {
    let m =
        Message::parse(br#"{"id":4,"result":null,"error":{"error":"not owner","details":"x"}}"#)
            .unwrap();
    match m {
        Message::Response { result: Err(e), .. } => {
            assert_eq!(e.error, "not owner");
            assert_eq!(e.details.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
    let m = Message::parse(br#"{"id":5,"result":null,"error":"unknown method"}"#).unwrap();
    match m {
        Message::Response { result: Err(e), .. } => assert_eq!(e.error, "unknown method"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn parses_requests_and_notifications() {
    match Message::parse(br#"{"id":"echo","method":"echo","params":[]}"#).unwrap() {
        Message::Request { method, params, id } => {
            assert_eq!(method, "echo");
            assert_eq!(params.get(), "[]");
            assert_eq!(id.get(), "\"echo\"");
        }
        other => panic!("{other:?}"),
    }
    match Message::parse(br#"{"id":null,"method":"update2","params":["m1",{"T":{}}]}"#).unwrap() {
        Message::Notification { method, params } => {
            assert_eq!(method, "update2");
            assert_eq!(params.get(), r#"["m1",{"T":{}}]"#);
        }
        other => panic!("{other:?}"),
    }
    // A method name with an escape is decoded.
    match Message::parse(br#"{"method":"lo\u0063ked","params":["l"]}"#).unwrap() {
        Message::Notification { method, .. } => assert_eq!(method, "locked"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_what_is_not_json_rpc() {
    for bad in [
        &br#"{"result":1}"#[..],
        br#"{"id":1}"#,
        br#"{"method":"echo"}"#,
        br#"{"method":"echo","params":{}}"#,
        br#"{"method":7,"params":[]}"#,
        br#"[1,2]"#,
        br#"{"id":1,"result":[1,}"#,
    ] {
        match Message::parse(bad) {
            Err(InvalidMessage::NotJsonRpc(_) | InvalidMessage::Json(_)) => {}
            other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn encodes_requests_notifications_and_responses() {
    let r = encode_request(
        "transact",
        &(
            "OVN_Northbound",
            serde_json::json!({"op": "comment", "comment": "x"}),
        ),
        9,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"method": "transact", "params": ["OVN_Northbound", {"op": "comment", "comment": "x"}], "id": 9})
    );
    let n = encode_notification("echo", &[0u8; 0]).unwrap();
    assert_eq!(n, br#"{"method":"echo","params":[],"id":null}"#);
    let params = RawValue::from_string("[\"x\"]".into()).unwrap();
    let id = RawValue::from_string("\"echo\"".into()).unwrap();
    assert_eq!(
        encode_response(&params, &id).unwrap(),
        br#"{"result":["x"],"error":null,"id":"echo"}"#
    );
}
