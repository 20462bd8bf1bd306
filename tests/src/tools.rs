//! The OVS/OVN command-line tools: checking they are installed, and running them with a bounded
//! time budget.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Which Debian package ships each executable the harness runs. `scripts/test` installs them.
const PACKAGES: &[(&str, &str)] = &[
    ("ovsdb-server", "openvswitch-common"),
    ("ovsdb-tool", "openvswitch-common"),
    ("ovsdb-client", "openvswitch-common"),
    ("ovs-appctl", "openvswitch-common"),
    ("ovs-ofctl", "openvswitch-common"),
    ("ovs-pki", "openvswitch-common"),
    ("ovs-vsctl", "openvswitch-switch"),
    ("ovs-vswitchd", "openvswitch-switch"),
    ("ovn-northd", "ovn-central"),
    ("ovn-controller", "ovn-host"),
    ("ovn-nbctl", "ovn-common"),
    ("ovn-sbctl", "ovn-common"),
    ("ovn-trace", "ovn-common"),
    ("ovn-appctl", "ovn-common"),
    ("ip", "iproute2"),
    ("ethtool", "ethtool"),
    ("setpriv", "util-linux"),
];

/// Returns the full path of `tool` in `PATH`, or [`Error::MissingTool`] naming the Debian
/// package to install.
pub fn find_tool(tool: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        // Debian puts ip, ethtool and ovsdb-server in sbin, which a non-root PATH may lack.
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| Error::MissingTool {
            tool: tool.to_owned(),
            package: package_of(tool).to_owned(),
        })
}

/// Checks that every executable in `tools` is installed; the error names the first missing one
/// and its Debian package.
///
/// Fixtures call this before starting anything, so a machine without OVN fails with "install
/// ovn-central" instead of a confusing spawn error.
pub fn require_tools(tools: &[&str]) -> Result<()> {
    tools.iter().try_for_each(|tool| find_tool(tool).map(drop))
}

fn package_of(tool: &str) -> &'static str {
    PACKAGES
        .iter()
        .find(|(name, _)| *name == tool)
        .map_or("(unknown: see scripts/test)", |(_, package)| package)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Renders a command as a shell-like line, for error messages.
pub(crate) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` to completion, for at most `timeout`, and returns its stdout.
///
/// A non-zero exit becomes [`Error::CommandFailed`] with stderr; running past `timeout` kills the
/// command and returns [`Error::Timeout`]. Use this instead of `Command::output` so that a tool
/// blocked on a dead server cannot hang a test forever.
pub fn run(command: &mut Command, timeout: Duration) -> Result<String> {
    let line = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("spawning `{line}`"), e))?;
    // Readers on their own threads: a tool that fills one pipe while we wait would deadlock.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // Polled at a short, fixed interval: tests run hundreds of short tools, and the growing
    // interval of `wait_for` would add tens of milliseconds to each.
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Timeout {
                what: format!("`{line}` to finish"),
                timeout,
                details: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        Err(Error::CommandFailed {
            command: line,
            status: status.to_string(),
            stderr: if stderr.trim().is_empty() {
                stdout
            } else {
                stderr
            },
        })
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}
