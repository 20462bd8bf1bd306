//! ovn-northd, and the NB + SB + northd trio most OVN tests need.

use std::path::Path;

use crate::process::{Daemon, ScratchDir, daemon_command, run_tool};
use crate::{DEFAULT_TIMEOUT, OvsdbServer, Result, require_tools};

/// ovn-northd translating an NB database into an SB database, with the helpers that check its
/// result: [`Northd::wait_synced`] and [`Northd::ovn_trace`].
///
/// ```no_run
/// # fn main() -> ovn_tests::Result<()> {
/// use ovn_tests::{Northd, OvsdbServer};
/// let nb = OvsdbServer::nb()?;
/// let sb = OvsdbServer::sb()?;
/// let northd = Northd::start(&nb.remote(), &sb.remote())?;
/// nb.nbctl(["ls-add", "sw0", "--", "lsp-add", "sw0", "p1",
///           "--", "lsp-set-addresses", "p1", "00:00:00:00:00:01 10.0.0.1"])?;
/// northd.wait_synced()?;
/// let trace = northd.ovn_trace(["--minimal", "sw0",
///     "inport == \"p1\" && eth.src == 00:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff"])?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Northd {
    daemon: Daemon,
    nb_remote: String,
    sb_remote: String,
    // Last, so the daemon is gone before its directory is deleted.
    dir: ScratchDir,
}

impl Northd {
    /// Starts ovn-northd on the given NB and SB remotes (any remote ovn-northd accepts,
    /// including comma-separated cluster lists) and returns once its control socket answers.
    pub fn start(nb_remote: &str, sb_remote: &str) -> Result<Self> {
        require_tools(&["ovn-northd", "ovn-nbctl", "ovn-trace", "setpriv"])?;
        let dir = ScratchDir::new("northd")?;
        let log = dir.join("ovn-northd.log");
        let control = dir.join("ovn-northd.ctl");
        let mut command = daemon_command(&[], "ovn-northd", dir.path());
        command
            .arg(format!("--ovnnb-db={nb_remote}"))
            .arg(format!("--ovnsb-db={sb_remote}"))
            .arg(format!("--unixctl={}", control.display()))
            .arg(format!("--log-file={}", log.display()));
        let mut daemon = Daemon::spawn("ovn-northd", command, &log, Some(control.clone()))?;
        daemon.wait_for_socket(&control, DEFAULT_TIMEOUT)?;
        Ok(Northd {
            daemon,
            nb_remote: nb_remote.to_owned(),
            sb_remote: sb_remote.to_owned(),
            dir,
        })
    }

    /// Waits until northd has translated every NB change made so far into SB
    /// (`ovn-nbctl --wait=sb sync`: it bumps `NB_Global.nb_cfg` and waits for northd to copy it
    /// to `sb_cfg`, which northd does after writing SB).
    pub fn wait_synced(&self) -> Result<()> {
        self.nbctl_wait("sb")
    }

    /// Waits until every chassis has applied the NB changes made so far
    /// (`ovn-nbctl --wait=hv sync`). Needs at least one [`Chassis`](crate::Chassis).
    pub fn wait_hypervisors_synced(&self) -> Result<()> {
        self.nbctl_wait("hv")
    }

    /// Runs `ovn-trace --db=SB ARGS` and returns its output, e.g.
    /// `["--minimal", "sw0", "inport == \"p1\" && …"]`. No data plane is needed: ovn-trace
    /// evaluates the logical flows northd wrote.
    pub fn ovn_trace<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        let all = std::iter::once(format!("--db={}", self.sb_remote))
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool("ovn-trace", self.dir.path(), all.collect::<Vec<_>>())
    }

    /// The NB remote northd reads.
    pub fn nb_remote(&self) -> &str {
        &self.nb_remote
    }

    /// The SB remote northd writes.
    pub fn sb_remote(&self) -> &str {
        &self.sb_remote
    }

    /// northd's process id.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// Whether northd still runs.
    pub fn is_running(&mut self) -> bool {
        self.daemon.is_running()
    }

    /// northd's log file.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.join("ovn-northd.log")
    }

    /// The scratch directory holding northd's log and control socket.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn nbctl_wait(&self, level: &str) -> Result<()> {
        let timeout_secs = DEFAULT_TIMEOUT.as_secs().to_string();
        run_tool(
            "ovn-nbctl",
            self.dir.path(),
            [
                format!("--db={}", self.nb_remote),
                format!("--wait={level}"),
                format!("--timeout={timeout_secs}"),
                "sync".to_owned(),
            ],
        )
        .map(drop)
        .map_err(|e| self.daemon.with_log(e))
    }
}

/// The central OVN trio most tests need: a standalone NB server, a standalone SB server and
/// ovn-northd between them.
///
/// Fields are dropped in order: northd first, then the databases.
#[derive(Debug)]
pub struct OvnCentral {
    /// ovn-northd, connected to `nb` and `sb`.
    pub northd: Northd,
    /// The OVN_Northbound server (unix socket only).
    pub nb: OvsdbServer,
    /// The OVN_Southbound server (unix socket only).
    pub sb: OvsdbServer,
}

impl OvnCentral {
    /// Starts NB, SB and northd, and waits until northd has synced once.
    pub fn start() -> Result<Self> {
        let nb = OvsdbServer::nb()?;
        let sb = OvsdbServer::sb()?;
        let northd = Northd::start(&nb.remote(), &sb.remote())?;
        northd.wait_synced()?;
        Ok(OvnCentral { northd, nb, sb })
    }

    /// Shorthand for `self.northd.wait_synced()`.
    pub fn wait_synced(&self) -> Result<()> {
        self.northd.wait_synced()
    }

    /// Shorthand for `self.northd.ovn_trace(args)`.
    pub fn ovn_trace<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.northd.ovn_trace(args)
    }
}
