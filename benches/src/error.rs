//! The crate's error type.

use ovsdb_client::Error as ClientError;

/// A `Result` with this crate's [`BenchError`].
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Why a workload could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The OVSDB client failed (connection, protocol, or a failed operation).
    #[error("ovsdb client: {0}")]
    Client(#[from] ClientError),

    /// The server's answer was well-formed but not what the workload needs.
    #[error("unexpected reply: {0}")]
    Unexpected(String),

    /// A workload task died before finishing.
    #[error("workload task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
