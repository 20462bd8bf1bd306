//! The crate's error type: one enum, each variant saying which input was wrong and how.
//!
//! Messages follow Helm's wording where Helm has one, because `captain template` prints them as
//! `Error: <message>` exactly where `helm template` would.

use std::path::PathBuf;

/// Everything that can go wrong while loading, coalescing or rendering a chart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// YAML text that go-yaml v2 would reject (the message is go-yaml's, e.g. `yaml: line 3: ...`).
    #[error("{0}")]
    Yaml(String),
    /// A value that cannot be converted to JSON or YAML (NaN, infinities, non-string keys).
    #[error("{0}")]
    Encode(String),
    /// A file or directory that could not be read.
    #[error("{context}: {source}")]
    Io {
        /// What was being read, usually a path.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A chart that is structurally invalid (missing Chart.yaml, bad metadata, bad archive).
    #[error("{0}")]
    Chart(String),
    /// An archive entry that would escape the chart directory (Helm's message does not name it).
    #[error("chart illegally references parent directory")]
    PathTraversal(PathBuf),
    /// A chart or file over Helm's size limits.
    #[error("{0}")]
    TooLarge(String),
    /// A `--set` style expression or a values file that Helm would refuse.
    #[error("{0}")]
    Values(String),
    /// Values that do not satisfy a chart's `values.schema.json`.
    #[error("{0}")]
    Schema(String),
    /// A template that failed to parse or execute (the message carries the template name and
    /// line, as Helm prints it).
    #[error("{0}")]
    Template(String),
    /// A rendered manifest that Helm's post-processing rejects, or a bad rendering option.
    #[error("{0}")]
    Render(String),
    /// An error while rendering the release's manifests (a template error, an incompatible
    /// `kubeVersion`, a manifest that is not YAML): `helm template` follows these, and only
    /// these, with a hint to render with `--debug`.
    #[error("{0}")]
    Rendering(Box<Error>),
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Marks an error as raised while rendering manifests (see [`Error::Rendering`]).
    pub fn rendering(self) -> Self {
        match self {
            Error::Rendering(_) => self,
            other => Error::Rendering(Box::new(other)),
        }
    }

    /// Wraps an I/O error with what was being read.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
