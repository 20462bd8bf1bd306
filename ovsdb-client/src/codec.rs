//! Framing: splits a byte stream into the back-to-back JSON values OVSDB sends.
//!
//! OVSDB puts no delimiter between messages, so the decoder finds where each top-level value
//! closes by tracking nesting depth and string/escape state. It scans each byte once: the scan
//! state and a resume offset survive between reads, so a multi-megabyte monitor reply that
//! arrives in thousands of reads costs one pass, not one pass per read. The decoder only finds
//! boundaries; whether the frame is valid JSON is decided by the parser that consumes it.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Serialize;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{Error, InvalidMessage};

/// The default largest frame accepted: 256 MiB, far above the biggest monitor replies seen.
pub const DEFAULT_MAX_FRAME: usize = 256 * 1024 * 1024;

/// The default deepest JSON nesting accepted: 1000, as OVS's own parser.
pub const DEFAULT_MAX_DEPTH: usize = 1000;

/// A [`Decoder`] of back-to-back JSON objects or arrays, and an [`Encoder`] of serializable
/// values.
///
/// Each decoded item is one whole top-level value as raw bytes, whitespace between values
/// removed. A top-level value must be an object or array (JSON-RPC messages are objects);
/// anything else, a frame over the size limit or nesting over the depth limit is an error, after
/// which the stream cannot be resynchronised and the connection should be dropped.
#[derive(Debug, Clone)]
pub struct JsonCodec {
    max_frame: usize,
    max_depth: usize,
    /// Bytes of the current frame already scanned: the resume offset.
    scanned: usize,
    /// Whether a frame has started (its first byte is at offset 0 of the buffer).
    in_frame: bool,
    depth: usize,
    in_string: bool,
    /// The previous byte inside a string was an unescaped backslash.
    escaped: bool,
}

impl Default for JsonCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonCodec {
    /// A codec with the default limits.
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_FRAME, DEFAULT_MAX_DEPTH)
    }

    /// A codec that rejects frames over `max_frame` bytes and nesting over `max_depth`.
    pub fn with_limits(max_frame: usize, max_depth: usize) -> Self {
        JsonCodec {
            max_frame: max_frame.max(2),
            max_depth: max_depth.max(1),
            scanned: 0,
            in_frame: false,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// The largest frame accepted, in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    fn reset(&mut self) {
        self.scanned = 0;
        self.in_frame = false;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
    }

    /// Scans `bytes[self.scanned..end]`; returns the frame length when the value closes.
    ///
    /// The state lives in locals during the loop (written back on exit) so it stays in
    /// registers; strings, most of an OVSDB message, are skipped with `memchr2`.
    fn scan(&mut self, bytes: &[u8], end: usize) -> Result<Option<usize>, InvalidMessage> {
        let bytes = &bytes[..end];
        let mut i = self.scanned;
        let mut depth = self.depth;
        let mut in_string = self.in_string;
        let mut escaped = self.escaped;
        let result = 'scan: loop {
            if in_string {
                if escaped {
                    // The byte after a backslash never ends a string; `\uXXXX` digits are
                    // neither quote nor backslash, so skipping one byte is enough.
                    if i >= end {
                        break 'scan None;
                    }
                    escaped = false;
                    i += 1;
                }
                match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                    None => {
                        i = end;
                        break 'scan None;
                    }
                    Some(p) => {
                        i += p;
                        if bytes[i] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                        }
                        i += 1;
                    }
                }
                continue;
            }
            // Outside strings: numbers, literals, punctuation, whitespace.
            while i < end {
                let b = bytes[i];
                i += 1;
                match b {
                    b'"' => {
                        in_string = true;
                        continue 'scan;
                    }
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > self.max_depth {
                            break 'scan Some(Err(InvalidMessage::TooDeep {
                                limit: self.max_depth,
                            }));
                        }
                    }
                    b'}' | b']' => {
                        // depth >= 1 here: the frame opened with `{`/`[` and closes at depth 0.
                        depth -= 1;
                        if depth == 0 {
                            break 'scan Some(Ok(i));
                        }
                    }
                    _ => {}
                }
            }
            break 'scan None;
        };
        self.scanned = i;
        self.depth = depth;
        self.in_string = in_string;
        self.escaped = escaped;
        match result {
            None => Ok(None),
            Some(Ok(len)) => Ok(Some(len)),
            Some(Err(e)) => Err(e),
        }
    }
}

fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Decoder for JsonCodec {
    type Item = Bytes;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        if !self.in_frame {
            let skip = buf
                .iter()
                .position(|&b| !is_json_whitespace(b))
                .unwrap_or(buf.len());
            buf.advance(skip);
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if first != b'{' && first != b'[' {
                return Err(InvalidMessage::UnexpectedByte {
                    byte: first,
                    offset: 0,
                }
                .into());
            }
            self.in_frame = true;
            self.scanned = 0;
            self.depth = 0;
        }
        // Never scan past the size limit: a peer cannot make us buffer without bound.
        let end = buf.len().min(self.max_frame);
        match self.scan(buf, end)? {
            Some(len) => {
                self.reset();
                Ok(Some(buf.split_to(len).freeze()))
            }
            None if buf.len() >= self.max_frame => Err(InvalidMessage::FrameTooLarge {
                limit: self.max_frame,
            }
            .into()),
            None => {
                // Grow geometrically (up to the limit) so a large frame is copied O(log n) times.
                if buf.capacity() - buf.len() < 4096 {
                    let room = self.max_frame.saturating_sub(buf.len()).max(1);
                    buf.reserve(buf.len().max(8192).min(room));
                }
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if self.in_frame {
            let len = buf.len();
            buf.clear();
            self.reset();
            return Err(InvalidMessage::Truncated { len }.into());
        }
        Ok(None)
    }
}

impl<T: Serialize> Encoder<T> for JsonCodec {
    type Error = Error;

    fn encode(&mut self, item: T, buf: &mut BytesMut) -> Result<(), Error> {
        serde_json::to_writer(buf.writer(), &item)?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "codec/tests.rs"]
mod tests;
