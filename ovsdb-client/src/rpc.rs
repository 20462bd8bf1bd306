//! JSON-RPC 1.0 messages as OVSDB uses them (RFC 7047 section 4).
//!
//! - request: `{"method": M, "params": [...], "id": ID}`
//! - response: `{"result": R, "error": null, "id": ID}` or `{"result": null, "error": E, "id": ID}`
//! - notification: a request whose `id` is `null`
//!
//! `params`, `result` and `error` stay raw JSON text ([`RawValue`]), so each is decoded exactly
//! once, straight into its final type: a multi-megabyte monitor reply goes from the frame's
//! bytes into the replica without ever becoming a `serde_json::Value` tree.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{InvalidMessage, ServerError};

/// One incoming message, borrowing from the frame it was parsed from.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    /// A request the peer expects an answer to (ovsdb-server sends `echo`).
    Request {
        /// The method name.
        method: Cow<'a, str>,
        /// The parameters array, as raw JSON.
        params: &'a RawValue,
        /// The id to answer with, as raw JSON.
        id: &'a RawValue,
    },
    /// A request without id: `update`, `update2`, `update3`, `locked`, `stolen`,
    /// `monitor_canceled`.
    Notification {
        /// The method name.
        method: Cow<'a, str>,
        /// The parameters array, as raw JSON.
        params: &'a RawValue,
    },
    /// The answer to one of our requests.
    Response {
        /// The id of the request answered, as raw JSON.
        id: &'a RawValue,
        /// The result, or the error the peer sent instead.
        result: Result<&'a RawValue, ServerError>,
    },
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// Whether raw JSON is the literal `null`.
fn is_null(v: &RawValue) -> bool {
    v.get().trim() == "null"
}

impl<'a> Message<'a> {
    /// Parses one frame (a whole JSON value, as the codec yields it).
    pub fn parse(frame: &'a [u8]) -> Result<Self, InvalidMessage> {
        let m: Incoming<'a> = serde_json::from_slice(frame)?;
        // serde maps `"id": null` to None already; a raw `null` can still appear for other keys.
        let id = m.id.filter(|v| !is_null(v));
        let error = m.error.filter(|v| !is_null(v));
        match (m.method, id) {
            (Some(method), id) => {
                let params = m.params.ok_or_else(|| {
                    InvalidMessage::NotJsonRpc(format!("{method} request without params"))
                })?;
                if !params.get().trim_start().starts_with('[') {
                    return Err(InvalidMessage::NotJsonRpc(format!(
                        "{method} params are not an array"
                    )));
                }
                Ok(match id {
                    Some(id) => Message::Request { method, params, id },
                    None => Message::Notification { method, params },
                })
            }
            (None, Some(id)) => {
                let result = match error {
                    Some(e) => Err(server_error(e)),
                    None => Ok(m.result.ok_or_else(|| {
                        InvalidMessage::NotJsonRpc("response without result or error".into())
                    })?),
                };
                Ok(Message::Response { id, result })
            }
            (None, None) => Err(InvalidMessage::NotJsonRpc(
                "neither a method nor an id".into(),
            )),
        }
    }
}

/// Reads a JSON-RPC error: ovsdb-server sends either an RFC 7047 error object or a bare string
/// (`"unknown method"`).
fn server_error(raw: &RawValue) -> ServerError {
    if let Ok(e) = serde_json::from_str::<ServerError>(raw.get()) {
        return e;
    }
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) => ServerError {
            error: s,
            details: None,
        },
        Err(_) => ServerError {
            error: raw.get().to_owned(),
            details: None,
        },
    }
}

#[derive(Serialize)]
struct OutRequest<'a, P: Serialize> {
    method: &'a str,
    params: P,
    id: Option<u64>,
}

#[derive(Serialize)]
struct OutResponse<'a> {
    result: &'a RawValue,
    error: Option<()>,
    id: &'a RawValue,
}

/// Serializes a request with a numeric id.
pub fn encode_request(
    method: &str,
    params: &impl Serialize,
    id: u64,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&OutRequest {
        method,
        params,
        id: Some(id),
    })
}

/// Serializes a notification (a request with a `null` id).
pub fn encode_notification(
    method: &str,
    params: &impl Serialize,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&OutRequest {
        method,
        params,
        id: None,
    })
}

/// Serializes a successful response, for answering the peer's requests (`echo`).
pub fn encode_response(result: &RawValue, id: &RawValue) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&OutResponse {
        result,
        error: None,
        id,
    })
}

#[derive(Serialize)]
struct OutError<'a> {
    result: Option<()>,
    error: &'a str,
    id: &'a RawValue,
}

/// Serializes an error response (`"unknown method"` for requests this client does not serve).
pub fn encode_error_response(error: &str, id: &RawValue) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&OutError {
        result: None,
        error,
        id,
    })
}

#[cfg(test)]
#[path = "rpc/tests.rs"]
mod tests;
