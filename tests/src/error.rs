//! The one error type of the harness.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a fixture can fail with. Messages name the process, the command or the condition,
/// and carry the tail of the relevant log, so a failed test explains itself.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An executable the fixture needs is not installed.
    #[error(
        "`{tool}` was not found in PATH: install the Debian package `{package}` \
         (apt-get install -y {package}), or run scripts/test, which installs everything"
    )]
    MissingTool {
        /// The executable that was looked for.
        tool: String,
        /// The Debian package that ships it.
        package: String,
    },

    /// A file-system or process-spawning operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A command-line tool (ovsdb-tool, ovn-nbctl, ip, ...) exited unsuccessfully.
    #[error("`{command}` failed ({status}):\n{stderr}")]
    CommandFailed {
        /// The command line, as it would be typed in a shell.
        command: String,
        /// How it ended (exit code or signal).
        status: String,
        /// What it printed on stderr (and stdout, when stderr was empty).
        stderr: String,
    },

    /// A condition did not become true within its time budget.
    #[error("timed out after {timeout:?} waiting for {what}{details}")]
    Timeout {
        /// The condition, in words.
        what: String,
        /// The budget that ran out.
        timeout: Duration,
        /// Extra context, such as a log tail; empty or starting with a newline.
        details: String,
    },

    /// A daemon exited while the fixture expected it to run.
    #[error("{name} exited unexpectedly ({status}); last lines of {log}:\n{log_tail}")]
    ProcessExited {
        /// The daemon's label, e.g. `ovsdb-server nb`.
        name: String,
        /// How it ended.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// A daemon could not listen on the address it was given.
    #[error("{name} could not listen on {address}: address already in use")]
    AddressInUse {
        /// The daemon's label.
        name: String,
        /// The `ptcp:`/`pssl:` remote or raft address it failed to bind.
        address: String,
    },

    /// A tool printed something the harness could not interpret.
    #[error("unexpected output from {what}: {output}")]
    UnexpectedOutput {
        /// Which command or file.
        what: String,
        /// What it contained.
        output: String,
    },

    /// A cluster member index was out of range.
    #[error("cluster member {index} does not exist (the cluster has {members} members)")]
    NoSuchMember {
        /// The index asked for.
        index: usize,
        /// How many members there are.
        members: usize,
    },
}

// Debug prints the message, so a test returning `Result` fails with a readable explanation
// (log tails keep their line breaks) instead of a struct dump.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every message already includes its source.
        std::fmt::Display::fmt(self, f)
    }
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] with the action that failed.
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
