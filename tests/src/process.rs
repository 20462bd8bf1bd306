//! Daemons owned by a fixture, and the scratch directories they live in.
//!
//! Every daemon is a child process the fixture keeps (no `--detach`, no pidfile), killed when the
//! fixture is dropped, which also happens while a failing test unwinds. Two more guards cover the
//! cases where `Drop` never runs (a test process killed by a timeout, `panic = "abort"`):
//!
//! - each daemon runs under `setpriv --pdeathsig KILL`, so the kernel kills it when the thread
//!   that forked it dies;
//! - that thread is one long-lived spawner thread per test process, not the calling thread, so a
//!   daemon started from a short-lived thread (tokio's blocking pool, say) is not killed when
//!   that thread ends, only when the whole test process does.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::tools::{describe, run};
use crate::{Error, Result};

/// Lines of a daemon's log quoted in errors and printed when a test fails.
const LOG_TAIL_LINES: usize = 40;

/// Set this environment variable (to anything) to keep scratch directories after the test, for
/// reading daemon logs and databases. Their paths are printed on stderr.
pub const KEEP_ENV: &str = "OVN_TESTS_KEEP";

const SCRATCH_PREFIX: &str = "ovn-tests-";

/// Marks a directory kept on purpose ([`KEEP_ENV`]), which the reaper leaves alone.
const KEPT_MARKER: &str = ".kept";

/// Deletes `ovn-tests-LABEL-PID-XXXXXX` directories in `base` whose PID is not a running
/// process: what test processes killed before their `Drop` ran (a nextest timeout, an exit
/// without unwinding) left behind. Their daemons are already dead (pdeathsig).
fn reap_stale_scratch_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(SCRATCH_PREFIX) else {
            continue;
        };
        // LABEL may contain dashes; the random suffix does not: PID is second to last.
        let mut parts = rest.rsplit('-');
        let (Some(_random), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let kept = entry.path().join(KEPT_MARKER).exists();
        if !kept && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A unique temporary directory, deleted on drop unless [`KEEP_ENV`] is set.
///
/// It is created under `$TMPDIR` (or `/tmp` when `$TMPDIR` is long: unix socket paths are
/// limited to 107 bytes, and daemons put their sockets here).
#[derive(Debug)]
pub struct ScratchDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a directory named `ovn-tests-LABEL-PID-XXXXXX`, after deleting directories
    /// left by dead test processes.
    pub fn new(label: &str) -> Result<Self> {
        let mut base = std::env::temp_dir();
        if base.as_os_str().len() > 40 {
            base = PathBuf::from("/tmp");
        }
        reap_stale_scratch_dirs(&base);
        // The pid in the name lets a later test process tell a live directory from one left
        // by a test process that died before its Drop ran.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{SCRATCH_PREFIX}{label}-{}-", std::process::id()))
            .tempdir_in(&base)
            .map_err(|e| {
                Error::io(
                    format!("creating a scratch directory in {}", base.display()),
                    e,
                )
            })?;
        let path = dir.path().to_path_buf();
        Ok(ScratchDir {
            dir: Some(dir),
            path,
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_ENV).is_some() {
            if let Some(dir) = self.dir.take() {
                let _ = std::fs::write(dir.path().join(KEPT_MARKER), "");
                eprintln!("{KEEP_ENV} is set: keeping {}", dir.keep().display());
            }
        }
    }
}

/// Sets the variables that make OVS and OVN tools put their default sockets, pid files, logs and
/// databases into `dir` instead of the system directories (`/var/run/openvswitch`, ...), so that
/// nothing a fixture starts can meet a system daemon or another test.
pub(crate) fn confine(command: &mut Command, dir: &Path) {
    for var in [
        "OVS_RUNDIR",
        "OVS_LOGDIR",
        "OVS_DBDIR",
        "OVS_SYSCONFDIR",
        "OVN_RUNDIR",
        "OVN_LOGDIR",
        "OVN_DBDIR",
        "OVN_SYSCONFDIR",
    ] {
        command.env(var, dir);
    }
}

/// A command for a short-lived tool, confined to `dir`.
pub(crate) fn tool_command(program: &str, dir: &Path) -> Command {
    let mut command = Command::new(program);
    confine(&mut command, dir);
    command.current_dir(dir);
    command
}

/// A command that starts `program` (with `prefix` before it, e.g. `ip netns exec NS`) under
/// `setpriv --pdeathsig KILL`, confined to `dir`.
pub(crate) fn process_command(prefix: &[&str], program: &str, dir: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--pdeathsig", "KILL", "--"])
        .args(prefix)
        .arg(program);
    confine(&mut command, dir);
    command.current_dir(dir);
    command
}

/// [`process_command`] for an OVS/OVN daemon, which logs to its log file.
pub(crate) fn daemon_command(prefix: &[&str], program: &str, dir: &Path) -> Command {
    let mut command = process_command(prefix, program, dir);
    // The log file gets everything; the console (kept in LOG.console) only what matters, such
    // as a fatal error before the log file opens.
    command.arg("-vconsole:warn");
    command
}

struct SpawnRequest {
    command: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

/// Spawns on the process-wide spawner thread (see the module docs for why).
fn spawn_on_spawner_thread(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (sender, requests) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("ovn-tests-spawner".into())
            .spawn(move || {
                for mut request in requests {
                    let _ = request.reply.send(request.command.spawn());
                }
            })
            .expect("the OS refused to start the spawner thread");
        Mutex::new(sender)
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(SpawnRequest { command, reply })
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the spawner thread did not answer"))?
}

/// One running daemon: the child process, its log and its control socket.
#[derive(Debug)]
pub(crate) struct Daemon {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    console: PathBuf,
    log_offset: u64,
    control: Option<PathBuf>,
}

impl Daemon {
    /// Starts `command` (from [`daemon_command`]); its stdout and stderr are appended to
    /// `LOG.console`. `control` is its unixctl socket, used for a graceful [`Daemon::stop`].
    pub(crate) fn spawn(
        name: impl Into<String>,
        mut command: Command,
        log: &Path,
        control: Option<PathBuf>,
    ) -> Result<Self> {
        let name = name.into();
        let console = log.with_extension("console");
        let open =
            || -> io::Result<File> { OpenOptions::new().create(true).append(true).open(&console) };
        let stdout = open().map_err(|e| Error::io(format!("opening {}", console.display()), e))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| Error::io(format!("duplicating {}", console.display()), e))?;
        command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let line = describe(&command);
        let log_offset = std::fs::metadata(log).map_or(0, |meta| meta.len());
        let child = spawn_on_spawner_thread(command)
            .map_err(|e| Error::io(format!("starting {name}: `{line}`"), e))?;
        Ok(Daemon {
            name,
            child: Some(child),
            log: log.to_path_buf(),
            console,
            log_offset,
            control,
        })
    }

    /// The daemon's process id while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sets the unixctl socket, for daemons whose socket name depends on their pid.
    pub(crate) fn set_control(&mut self, control: PathBuf) {
        self.control = Some(control);
    }

    /// `Ok` while the daemon runs; [`Error::ProcessExited`] with its log tail once it has exited.
    pub(crate) fn check_running(&mut self) -> Result<()> {
        let exited = match self.child.as_mut() {
            None => Some("stopped by the test".to_owned()),
            Some(child) => match child.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => Some(status.to_string()),
                Err(e) => Some(format!("cannot be waited for: {e}")),
            },
        };
        match exited {
            None => Ok(()),
            Some(status) => Err(Error::ProcessExited {
                name: self.name.clone(),
                status,
                log: self.log.clone(),
                log_tail: self.log_tail(),
            }),
        }
    }

    /// Whether the daemon still runs.
    pub(crate) fn is_running(&mut self) -> bool {
        self.check_running().is_ok()
    }

    /// What the daemon logged since this start (its log file may hold earlier runs).
    pub(crate) fn log_since_start(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(self.log_offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        String::from_utf8_lossy(&text[start..]).into_owned()
    }

    /// The last lines of the daemon's log file and of its console output.
    pub(crate) fn log_tail(&self) -> String {
        let mut tail = tail_of(&self.log, LOG_TAIL_LINES);
        let console = tail_of(&self.console, 10);
        if !console.trim().is_empty() {
            tail.push_str("\n(stdout/stderr:)\n");
            tail.push_str(&console);
        }
        tail
    }

    /// Waits until the daemon accepts connections on the unix socket `socket`, failing early
    /// (with its log) if it exits first.
    pub(crate) fn wait_for_socket(&mut self, socket: &Path, timeout: Duration) -> Result<()> {
        let mut exited = None;
        let waited = crate::wait_until(
            timeout,
            &format!(
                "{} to accept connections on {}",
                self.name,
                socket.display()
            ),
            || {
                if let Err(err) = self.check_running() {
                    exited = Some(err);
                    return true;
                }
                std::os::unix::net::UnixStream::connect(socket).is_ok()
            },
        );
        match (exited, waited) {
            (Some(err), _) => Err(err),
            (None, Err(err)) => Err(self.with_log(err)),
            (None, Ok(())) => Ok(()),
        }
    }

    /// Adds the log tail to a timeout error about this daemon.
    pub(crate) fn with_log(&self, err: Error) -> Error {
        match err {
            Error::Timeout {
                what,
                timeout,
                details,
            } => Error::Timeout {
                what,
                timeout,
                details: format!(
                    "{details}\n--- last lines of {} ({}):\n{}",
                    self.log.display(),
                    self.name,
                    self.log_tail()
                ),
            },
            other => other,
        }
    }

    /// Asks the daemon to exit through its control socket (`ovs-appctl -t CTL exit`), the way
    /// an operator would, and kills it if it has not exited within a few seconds.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let (Some(control), Ok(None)) = (&self.control, child.try_wait()) {
            let mut appctl = Command::new("ovs-appctl");
            appctl.arg("-t").arg(control).arg("exit");
            let asked = run(&mut appctl, Duration::from_secs(5)).is_ok();
            if asked {
                let _ = crate::wait_until(Duration::from_secs(10), "a daemon to exit", || {
                    !matches!(child.try_wait(), Ok(None))
                });
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the daemon with SIGKILL, as a crash would, and reaps it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!(
                "--- {} (a test failed): last lines of {} ---\n{}",
                self.name,
                self.log.display(),
                self.log_tail()
            );
        }
        self.kill();
    }
}

fn tail_of(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a short-lived tool with `args`, confined to `dir`, with the default time budget.
pub(crate) fn run_tool<I, S>(program: &str, dir: &Path, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = tool_command(program, dir);
    command.args(args);
    run(&mut command, crate::DEFAULT_TIMEOUT)
}
