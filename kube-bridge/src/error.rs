//! The crate's error types.

use std::path::PathBuf;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the Kubernetes bridge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A manifest file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Talking to OVN NB failed.
    #[error("OVN NB: {0}")]
    Ovsdb(#[from] ovsdb_client::Error),
}

/// Invalid user input: an object (or a document) that cannot be realised, with where it came
/// from and which field is wrong. The rest of the objects still converge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{object}{}: {message}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default(), if field.is_empty() { String::new() } else { format!(" field {field}") })]
pub struct InputError {
    /// The manifest file, in manifest mode.
    pub file: Option<PathBuf>,
    /// The object, `Kind/namespace/name`.
    pub object: String,
    /// The field at fault, e.g. `spec.cidrBlock`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}
