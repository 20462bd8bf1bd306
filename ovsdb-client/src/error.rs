//! The crate's error type.
//!
//! Errors say who misbehaved: the peer (bad bytes, wrong types, unknown notifications), the
//! server's answer (an RFC 7047 error object), the connection (dropped, timed out) or the caller.

use std::io;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to an OVSDB server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket read or write failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),

    /// The peer sent bytes that are not a valid OVSDB message.
    #[error("peer sent an invalid message: {0}")]
    InvalidMessage(#[from] InvalidMessage),

    /// The server answered a request with an RFC 7047 error object.
    #[error("server error: {0}")]
    Server(#[from] ServerError),

    /// A schema could not be parsed.
    #[error(transparent)]
    Schema(#[from] SchemaError),

    /// The connection dropped while the request was in flight. The request may or may not
    /// have been executed; the caller decides whether to retry (use `wait` preconditions or
    /// idempotent operations to make that safe).
    #[error("connection lost while {method} request was in flight")]
    ConnectionLost {
        /// The method of the request that was cut off.
        method: String,
    },

    /// The client is not connected and does not wait for a connection for this request.
    #[error("not connected to any server")]
    NotConnected,

    /// The client has been shut down.
    #[error("client is shut down")]
    Shutdown,

    /// An update refers to a table or column that the schema does not have.
    #[error("update for unknown {what}: {name}")]
    UnknownInSchema {
        /// `table` or `column`.
        what: &'static str,
        /// The name that was not found.
        name: String,
    },

    /// A transaction's operation failed; `index` is the operation's position.
    #[error("operation {index} failed: {error}")]
    OperationFailed {
        /// Position of the failed operation in the transaction.
        index: usize,
        /// The server's error object.
        error: ServerError,
    },

    /// A remote string (`unix:PATH`, `tcp:IP:PORT`, `ssl:IP:PORT`) could not be parsed.
    #[error("invalid remote {remote:?}: {reason}")]
    InvalidRemote {
        /// The remote as given.
        remote: String,
        /// What is wrong with it.
        reason: String,
    },

    /// TLS could not be set up: a key, certificate or CA file is missing or unusable, or the
    /// handshake failed (for example an untrusted server certificate).
    #[error("TLS: {0}")]
    Tls(String),

    /// The server is not usable for this client: not connected to its cluster, not the leader in
    /// leader-only mode, behind a server already seen, or missing the database.
    #[error("server {remote} rejected: {reason}")]
    ServerRejected {
        /// The remote connected to.
        remote: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The request did not complete within the configured time
    /// ([`crate::client::ClientConfig::request_timeout`], or the connect timeout). The request
    /// is no longer awaited: a reply arriving later is dropped. Like
    /// [`Error::ConnectionLost`], a timed-out `transact` may or may not have been executed.
    #[error("{method} did not complete within {timeout:?}")]
    Timeout {
        /// The method of the request (or `connect to REMOTE`).
        method: String,
        /// The time it was given.
        timeout: std::time::Duration,
    },

    /// A value does not satisfy its column's type or constraints.
    #[error("invalid value for {table}.{column}: {reason}")]
    InvalidValue {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
        /// What is wrong with the value.
        reason: String,
    },
}

impl Error {
    /// True when retrying the request later (on this or a new connection) is reasonable: the
    /// connection or the server failed, not the request itself.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLost { .. }
                | Error::NotConnected
                | Error::Io(_)
                | Error::Timeout { .. }
        )
    }
}

/// What was wrong with bytes or JSON the peer sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// A frame exceeded the configured maximum size.
    #[error("frame of more than {limit} bytes")]
    FrameTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// JSON nesting deeper than the limit.
    #[error("JSON nested deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// Bytes that cannot start or continue a JSON value.
    #[error("unexpected byte {byte:#04x} at offset {offset}")]
    UnexpectedByte {
        /// The byte.
        byte: u8,
        /// Its offset in the frame.
        offset: usize,
    },
    /// JSON that does not parse or does not have the expected shape.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A well-formed message with a shape JSON-RPC does not allow.
    #[error("not a JSON-RPC message: {0}")]
    NotJsonRpc(String),
    /// A notification method this client does not know.
    #[error("unknown notification {0:?}")]
    UnknownNotification(String),
    /// A reply whose id matches no request in flight.
    #[error("reply with unknown id {0}")]
    UnknownId(String),
    /// The stream ended in the middle of a message.
    #[error("connection closed in the middle of a {len}-byte message")]
    Truncated {
        /// Bytes of the unfinished message received.
        len: usize,
    },
    /// A reply whose result has the wrong type for its request.
    #[error("unexpected reply to {method}: {detail}")]
    UnexpectedReply {
        /// The request's method.
        method: String,
        /// What was wrong.
        detail: String,
    },
}

impl From<serde_json::Error> for InvalidMessage {
    fn from(e: serde_json::Error) -> Self {
        InvalidMessage::Json(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidMessage(e.into())
    }
}

/// An RFC 7047 error object: `{"error": "...", "details": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{error}{}", details.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct ServerError {
    /// The error tag, e.g. `constraint violation` or `referential integrity violation`.
    pub error: String,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// A schema that could not be parsed, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schema{}: {message}", if at.is_empty() { String::new() } else { format!(" at {at}") })]
pub struct SchemaError {
    /// `table` or `table.column`, empty for the top level.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl SchemaError {
    pub(crate) fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        SchemaError {
            at: at.into(),
            message: message.into(),
        }
    }
}
