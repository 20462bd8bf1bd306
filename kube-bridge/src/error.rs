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
    /// Talking to OVN NB failed (connecting, or loading its replica).
    #[error("OVN NB: {0}")]
    Ovsdb(#[from] ovsdb_client::Error),
    /// Part of the desired state could not be written to OVN NB, after the reconciler's
    /// retries: the groups that failed, and the first group's error.
    #[error("{} groups could not be written to OVN NB ({first})", groups.len())]
    NbWrite {
        /// The reconcile groups that failed.
        groups: Vec<String>,
        /// The first failed group and its error.
        first: String,
    },
    /// A request to the Kubernetes API server failed.
    #[error("API server: {action}: {source}")]
    Kube {
        /// What was asked, e.g. `patch the annotations of pod ns1/web-0`.
        action: String,
        /// The client's error (the API server's status, or the transport's).
        #[source]
        source: Box<kube::Error>,
    },
    /// The API watches ended before every watched kind was listed, so cluster mode has no
    /// complete view to start from.
    #[error("the API watches ended before every kind was listed")]
    WatchEnded,
}

impl Error {
    /// A failed API request, with what was asked.
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Error {
        Error::Kube {
            action: action.into(),
            source: Box::new(source),
        }
    }
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
