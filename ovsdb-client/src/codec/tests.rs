use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use serde_json::Value;
use tokio_util::codec::{Decoder, Encoder};

use super::JsonCodec;
use crate::error::{Error, InvalidMessage};

/// Feeds `input` in the given chunk sizes, collecting frames until the end of input.
fn decode_chunked(
    codec: &mut JsonCodec,
    input: &[u8],
    chunks: &[usize],
) -> Result<Vec<Bytes>, Error> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut pos = 0;
    let mut sizes = chunks.iter().copied().cycle();
    while pos < input.len() {
        let n = sizes.next().unwrap_or(1).max(1).min(input.len() - pos);
        buf.extend_from_slice(&input[pos..pos + n]);
        pos += n;
        while let Some(f) = codec.decode(&mut buf)? {
            frames.push(f);
        }
    }
    while let Some(f) = codec.decode_eof(&mut buf)? {
        frames.push(f);
    }
    Ok(frames)
}

fn decode_all(input: &[u8]) -> Result<Vec<Bytes>, Error> {
    decode_chunked(&mut JsonCodec::new(), input, &[input.len().max(1)])
}

#[test]
fn splits_back_to_back_messages_in_one_read() {
    let frames = decode_all(br#"{"id":1,"result":[]}{"id":2,"result":{"a":[1,2]}}"#).unwrap();
    assert_eq!(
        frames,
        vec![
            &br#"{"id":1,"result":[]}"#[..],
            &br#"{"id":2,"result":{"a":[1,2]}}"#[..]
        ]
    );
}

#[test]
fn drops_whitespace_between_messages() {
    let frames = decode_all(b" \n{\"a\":1}\r\n\t [2] \n").unwrap();
    assert_eq!(frames, vec![&b"{\"a\":1}"[..], &b"[2]"[..]]);
}

#[test]
fn brackets_and_escaped_quotes_inside_strings_do_not_count() {
    let msg = br#"{"s":"}]{[\"\\","t":"\\","u":"\u0022}"}"#;
    let mut input = msg.to_vec();
    input.extend_from_slice(b"{}");
    let frames = decode_all(&input).unwrap();
    assert_eq!(frames, vec![&msg[..], &b"{}"[..]]);
    // Every split point gives the same frames.
    for split in 1..input.len() {
        let frames = decode_chunked(&mut JsonCodec::new(), &input, &[split, input.len()]).unwrap();
        assert_eq!(frames, vec![&msg[..], &b"{}"[..]], "split at {split}");
    }
}

#[test]
fn a_top_level_scalar_is_rejected() {
    for bad in [&b"1"[..], b"\"x\"", b"true", b"}", b"]", b"{}x"] {
        match decode_all(bad) {
            Err(Error::InvalidMessage(InvalidMessage::UnexpectedByte { .. })) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn nesting_beyond_the_limit_is_rejected() {
    let mut codec = JsonCodec::with_limits(1 << 20, 5);
    let ok = b"[[[[[]]]]]";
    assert_eq!(decode_chunked(&mut codec, ok, &[3]).unwrap().len(), 1);
    let deep = b"[[[[[[]]]]]]";
    match decode_chunked(&mut JsonCodec::with_limits(1 << 20, 5), deep, &[3]) {
        Err(Error::InvalidMessage(InvalidMessage::TooDeep { limit: 5 })) => {}
        other => panic!("{other:?}"),
    }
    // The default limit is OVS's 1000.
    let input = format!("{}{}", "[".repeat(1001), "]".repeat(1001));
    assert!(matches!(
        decode_all(input.as_bytes()),
        Err(Error::InvalidMessage(InvalidMessage::TooDeep {
            limit: 1000
        }))
    ));
}

#[test]
fn a_frame_over_the_size_limit_is_rejected_before_it_ends() {
    let mut codec = JsonCodec::with_limits(16, 100);
    let mut buf = BytesMut::from(&b"{\"a\":\"012345678"[..]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(b"abcdef");
    match codec.decode(&mut buf) {
        Err(Error::InvalidMessage(InvalidMessage::FrameTooLarge { limit: 16 })) => {}
        other => panic!("{other:?}"),
    }
    // Exactly at the limit is fine.
    let mut codec = JsonCodec::with_limits(8, 100);
    let frames = decode_chunked(&mut codec, b"{\"a\":12}{}", &[1]).unwrap();
    assert_eq!(frames.len(), 2);
}

#[test]
fn a_message_cut_off_at_eof_is_an_error() {
    match decode_all(b"{\"a\":[1,2") {
        Err(Error::InvalidMessage(InvalidMessage::Truncated { len: 9 })) => {}
        other => panic!("{other:?}"),
    }
    assert!(decode_all(b"  \n").unwrap().is_empty());
}

#[test]
fn encoder_writes_compact_json() {
    let mut buf = BytesMut::new();
    JsonCodec::new()
        .encode(
            serde_json::json!({"method": "echo", "params": [], "id": 1}),
            &mut buf,
        )
        .unwrap();
    let back: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(
        back,
        serde_json::json!({"method": "echo", "params": [], "id": 1})
    );
}

#[test]
fn a_large_frame_in_small_reads_is_scanned_once() {
    // About 8 MB of monitor-like rows arriving 4 KiB at a time. A decoder that re-scans from
    // the start on each read would do ~8000 passes over megabytes; this test would then take
    // minutes instead of well under a second, so it guards the resume offset without timing.
    let row = r#""0b1c1d3e-aaaa-bbbb-cccc-0123456789ab":{"initial":{"name":"lsp-12345","addresses":["00:00:00:00:00:01 10.0.0.1"],"external_ids":["map",[["k","v \" } ]"]]]}},"#;
    let mut big = String::from(r#"{"id":7,"error":null,"result":{"Logical_Switch_Port":{"#);
    while big.len() < 8 << 20 {
        big.push_str(row);
    }
    big.push_str(r#""x":{}}}}"#);
    let mut codec = JsonCodec::new();
    let frames = decode_chunked(&mut codec, big.as_bytes(), &[4096]).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].len(), big.len());
    assert_eq!(codec.scanned, 0);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::String),
        // Strings full of the characters that matter to the scanner.
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just('{'),
                Just('}'),
                Just('['),
                Just(']'),
                Just('é')
            ],
            0..8
        )
        .prop_map(|c| Value::String(c.into_iter().collect())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_container() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::collection::vec(arb_json(), 0..4).prop_map(Value::Array),
        proptest::collection::btree_map(".{0,6}", arb_json(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ]
}

proptest! {
    #[test]
    fn arbitrary_chunk_splits_give_the_same_frames(
        values in proptest::collection::vec((arb_container(), "[ \t\r\n]{0,3}"), 1..6),
        chunks in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for (v, ws) in &values {
            let text = serde_json::to_vec(v).unwrap();
            input.extend_from_slice(ws.as_bytes());
            input.extend_from_slice(&text);
            expected.push(text);
        }
        let frames = decode_chunked(&mut JsonCodec::new(), &input, &chunks).unwrap();
        prop_assert_eq!(frames.len(), expected.len());
        for (f, (e, (v, _))) in frames.iter().zip(expected.iter().zip(&values)) {
            prop_assert_eq!(&f[..], &e[..]);
            let back: Value = serde_json::from_slice(f).unwrap();
            prop_assert_eq!(&back, v);
        }
    }

    #[test]
    fn garbage_never_panics(
        input in proptest::collection::vec(any::<u8>(), 0..512),
        chunks in proptest::collection::vec(1usize..32, 1..4),
        max_frame in 2usize..256,
    ) {
        let mut codec = JsonCodec::with_limits(max_frame, 8);
        let _ = decode_chunked(&mut codec, &input, &chunks);
    }

    #[test]
    fn structural_garbage_never_panics(
        input in proptest::collection::vec(prop_oneof![
            Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b'"'), Just(b'\\'), Just(b' '), Just(b'1')
        ], 0..256),
        chunks in proptest::collection::vec(1usize..16, 1..4),
    ) {
        let mut codec = JsonCodec::with_limits(128, 6);
        if let Ok(frames) = decode_chunked(&mut codec, &input, &chunks) {
            for f in frames {
                prop_assert!(matches!(f[0], b'{' | b'['), "frame start {}", f[0]);
                prop_assert!(matches!(f[f.len() - 1], b'}' | b']'), "frame end {}", f[f.len() - 1]);
            }
        }
    }
}
