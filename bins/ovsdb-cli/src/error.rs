//! Why a command failed. Each message is the one `ovsdb-client` prints after its
//! `PROGRAM: ` prefix (or one in the same spirit where the C tool's depends on its internals);
//! every failure exits with status 1, as `ovs_fatal` does.

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong: unknown command or option, wrong number of arguments.
    #[error("{0}")]
    Usage(String),
    /// No connection could be made to the server.
    #[error("failed to connect to \"{server}\" ({reason})")]
    Connect {
        /// The server as given on the command line.
        server: String,
        /// Why, in `strerror` words where the system gave a reason.
        reason: String,
    },
    /// The server string is not a remote this tool can open.
    #[error("failed to connect or listen to \"{server}\" ({reason})")]
    BadRemote {
        /// The server as given on the command line.
        server: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request failed: the connection broke, or the server answered with an error.
    #[error("{0}")]
    Request(String),
    /// The arguments name something the database does not have, or are not valid input
    /// (a transaction that is not JSON, an unknown table or column).
    #[error("{0}")]
    Input(String),
    /// The server sent something this tool cannot print.
    #[error("{0}")]
    Reply(String),
    /// Writing the output or starting the runtime failed.
    #[error("{0}")]
    Io(String),
}
