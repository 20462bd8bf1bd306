//! Splits arbitrary bytes, fed in arbitrary chunks, into frames and parses each as a JSON-RPC
//! message. Nothing may panic; every frame must be a whole object or array; feeding the same
//! bytes in one chunk must give the same frames.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ovsdb_client::codec::JsonCodec;
use ovsdb_client::rpc::Message;
use tokio_util::codec::Decoder;

fn frames(data: &[u8], chunk: usize) -> Result<Vec<bytes::Bytes>, ()> {
    let mut codec = JsonCodec::with_limits(4096, 32);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => out.push(f),
                Ok(None) => break,
                Err(_) => return Err(()),
            }
        }
    }
    match codec.decode_eof(&mut buf) {
        Ok(Some(f)) => out.push(f),
        Ok(None) => {}
        Err(_) => return Err(()),
    }
    Ok(out)
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else { return };
    let chunked = frames(data, chunk as usize % 17 + 1);
    let whole = frames(data, data.len());
    if let (Ok(a), Ok(b)) = (&chunked, &whole) {
        assert_eq!(a, b, "chunking changed the frames");
    }
    assert_eq!(chunked.is_ok(), whole.is_ok(), "chunking changed whether the input is valid");
    for f in chunked.unwrap_or_default() {
        assert!(matches!(f[0], b'{' | b'['));
        assert!(matches!(f[f.len() - 1], b'}' | b']'));
        let _ = Message::parse(&f);
    }
});
