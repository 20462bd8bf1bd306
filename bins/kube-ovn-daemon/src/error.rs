//! The daemon's one error type.

use kube_ovn_cni::{CniError, codes};

/// What went wrong while serving the plugin or setting up the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A netlink request failed.
    #[error("netlink: {what}: {source}")]
    Netlink {
        /// What was being done.
        what: String,
        /// The netlink error.
        #[source]
        source: rtnetlink::Error,
    },
    /// An ethtool (generic netlink) request failed.
    #[error("ethtool: {what}: {reason}")]
    Ethtool {
        /// What was being done.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A network namespace could not be opened or entered.
    #[error("network namespace {path}: {reason}")]
    Netns {
        /// The namespace path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The Open_vSwitch or Northbound database refused or failed a request.
    #[error("OVSDB {what}: {source}")]
    Ovsdb {
        /// What was being done.
        what: String,
        /// The client error.
        #[source]
        source: ovsdb_client::Error,
    },
    /// A database is not as expected (for example no `br-int`).
    #[error("{0}")]
    Database(String),
    /// The controller had not allocated the pod's (or node's) address in time.
    #[error("no address for {object} after {seconds} s: {reason}")]
    NotAllocated {
        /// What was waited for: `pod NS/NAME`, `node NAME` or `logical switch port NAME`.
        object: String,
        /// How long the daemon waited.
        seconds: u64,
        /// What was missing.
        reason: String,
    },
    /// ovn-controller did not mark the interface installed in time.
    #[error(
        "ovn-controller did not install {interface} (external_ids:ovn-installed) within {seconds} s"
    )]
    NotInstalled {
        /// The OVS interface.
        interface: String,
        /// How long the daemon waited.
        seconds: u64,
    },
    /// The controller's port data in NB could not be understood.
    #[error("logical switch port {port}: {reason}")]
    BadPortData {
        /// The port.
        port: String,
        /// What was wrong (naming the `external_ids` key).
        reason: String,
    },
    /// A pod's or node's `ovn.kubernetes.io/` annotation could not be understood.
    #[error("{object}: annotation {annotation}: {reason}")]
    BadAnnotation {
        /// `pod NS/NAME` or `node NAME`.
        object: String,
        /// The full annotation key.
        annotation: String,
        /// What was wrong with its value.
        reason: String,
    },
    /// The Kubernetes API could not be reached or refused a request.
    #[error("Kubernetes API: {what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A request from the plugin was invalid.
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// CHECK found a difference.
    #[error("check failed: {0}")]
    CheckFailed(String),
    /// Socket or file I/O failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The daemon's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error as the plugin reports it, with a CNI code.
    pub fn to_cni(&self) -> CniError {
        let code = match self {
            Error::NotAllocated { .. } => codes::ADDRESS_NOT_ALLOCATED,
            Error::Netns { .. } => codes::UNKNOWN_CONTAINER,
            Error::BadRequest(_) => codes::INVALID_ENVIRONMENT,
            Error::CheckFailed(_) => codes::CHECK_FAILED,
            Error::Io { .. } => codes::IO_FAILURE,
            Error::NotInstalled { .. } => codes::TRY_AGAIN_LATER,
            _ => codes::PLUG_FAILED,
        };
        CniError::new(code, self.to_string())
    }

    pub(crate) fn netlink(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
        let what = what.into();
        move |source| Error::Netlink { what, source }
    }

    pub(crate) fn ovsdb(what: impl Into<String>) -> impl FnOnce(ovsdb_client::Error) -> Error {
        let what = what.into();
        move |source| Error::Ovsdb { what, source }
    }

    pub(crate) fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let what = what.into();
        move |source| Error::Kube { what, source }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}
