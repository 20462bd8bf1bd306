//! The crate's error type: one enum, each variant naming what was wrong and where.

/// Everything that can go wrong while fetching charts or reconciling a HelmRequest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request that never got an HTTP answer (connection, TLS, timeout).
    #[error("failed to fetch {url}: {message}")]
    Transport {
        /// The URL asked for.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An HTTP answer other than 200.
    #[error("failed to fetch {url} : {status}")]
    HttpStatus {
        /// The URL asked for.
        url: String,
        /// The status line's code and reason, e.g. `404 Not Found`.
        status: String,
    },
    /// A body larger than allowed.
    #[error("{url}: the response is larger than {limit} bytes")]
    TooLarge {
        /// The URL asked for.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A URL that cannot be requested.
    #[error("invalid URL {url:?}: {message}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it is invalid.
        message: String,
    },
    /// A CA bundle that holds no usable certificate.
    #[error("invalid CA certificate for {url}: {message}")]
    Ca {
        /// The URL the CA was for.
        url: String,
        /// Why it was refused.
        message: String,
    },
    /// An `index.yaml` that does not parse.
    #[error("{url}: invalid repository index: {message}")]
    Index {
        /// The index URL.
        url: String,
        /// The parse error.
        message: String,
    },
    /// A chart the repository's index does not list.
    #[error("chart {chart:?} not found in repository {repo}")]
    ChartNotFound {
        /// The repository (ChartRepo name or URL).
        repo: String,
        /// The chart name.
        chart: String,
    },
    /// No version of the chart satisfies the constraint.
    #[error("no chart version found for {chart}-{constraint}")]
    NoVersionMatch {
        /// The chart name.
        chart: String,
        /// The constraint as given.
        constraint: String,
    },
    /// A version constraint that does not parse.
    #[error("improper constraint: {constraint}")]
    Constraint {
        /// The constraint as given.
        constraint: String,
    },
    /// A downloaded archive whose SHA-256 differs from the index's digest.
    #[error("{url}: digest mismatch: the index says {expected}, the download is {found}")]
    Digest {
        /// The archive URL.
        url: String,
        /// The digest the index lists.
        expected: String,
        /// The digest of what was downloaded.
        found: String,
    },
    /// Bad input in a HelmRequest or an object it references (the message names the field).
    #[error("{0}")]
    Input(String),
    /// The chart engine refused the chart, its values or its templates.
    #[error("{0}")]
    Engine(#[from] helm_engine::Error),
    /// An object the release would write belongs to another release.
    #[error(
        "{object} exists and cannot be imported into the current release: it belongs to release {owner}"
    )]
    Ownership {
        /// `Kind namespace/name` of the object.
        object: String,
        /// `namespace/name` of the release that owns it.
        owner: String,
    },
    /// A hook that failed (its Job failed or timed out).
    #[error("{0}")]
    Hook(String),
    /// The API server refused a request.
    #[error("{context}: {source}")]
    Kube {
        /// What was being done.
        context: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Release storage failed.
    #[error("release storage: {0}")]
    Storage(String),
    /// A release with no revision stored (Helm's wording).
    #[error("release: not found")]
    ReleaseNotFound {
        /// The release name.
        name: String,
    },
    /// A rollback to a revision the release's history lacks (Helm's wording).
    #[error("release has no {revision} version")]
    NoRevision {
        /// The revision asked for.
        revision: u32,
    },
    /// A rollback that failed after its revision was recorded (Helm's wording).
    #[error("Rollback {release:?} failed: {source}")]
    RollbackFailed {
        /// The release name.
        release: String,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Wraps a kube error with what was being done.
    pub fn kube(context: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            context: context.into(),
            source,
        }
    }
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
