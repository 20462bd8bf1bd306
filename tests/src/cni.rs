//! Running a CNI plugin as a container runtime does: the `CNI_*` variables in an otherwise empty
//! environment, the network configuration on stdin, the result (or the Error JSON) on stdout.
//!
//! The harness knows the CNI contract only, not any plugin: the caller passes the plugin's path
//! and its netconf, and parses what the plugin printed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// How a plugin run ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniOutcome {
    /// The exit code; `None` when a signal killed the plugin.
    pub code: Option<i32>,
    /// Standard output: the CNI result, or the Error JSON on failure.
    pub stdout: String,
    /// Standard error: the plugin's own diagnostics.
    pub stderr: String,
}

/// What a Kubernetes runtime tells the plugin about one pod's sandbox: [`CniPod::run`] turns it
/// into `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME=eth0` and the `K8S_POD_*` `CNI_ARGS`.
#[derive(Debug, Clone, Copy)]
pub struct CniPod<'a> {
    /// The sandbox's container id.
    pub container_id: &'a str,
    /// The sandbox's network namespace, as a path (`/run/netns/NAME`).
    pub netns: &'a Path,
    /// The pod's Kubernetes namespace.
    pub namespace: &'a str,
    /// The pod's name.
    pub name: &'a str,
}

impl CniPod<'_> {
    /// Runs `plugin` with `command` (`ADD`, `DEL`, `CHECK`) for this pod, `netconf` on stdin.
    pub fn run(&self, plugin: &Path, command: &str, netconf: &str) -> Result<CniOutcome> {
        let netns = self.netns.display().to_string();
        let args = format!(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={}",
            self.namespace, self.name, self.container_id
        );
        run_cni_plugin(
            plugin,
            &[
                ("CNI_COMMAND", command),
                ("CNI_CONTAINERID", self.container_id),
                ("CNI_NETNS", &netns),
                ("CNI_IFNAME", "eth0"),
                ("CNI_ARGS", &args),
            ],
            netconf,
        )
    }
}

/// Runs `plugin` with exactly `env` (plus `CNI_PATH`, the plugin's directory) and `netconf` on
/// stdin, and waits for it: the plugin is bounded by its own timeouts. For environments a
/// runtime would not pass (a missing `CNI_COMMAND`, `VERSION`), which [`CniPod::run`] does not
/// build.
pub fn run_cni_plugin(plugin: &Path, env: &[(&str, &str)], netconf: &str) -> Result<CniOutcome> {
    let mut command = Command::new(plugin);
    command.env_clear();
    if let Some(dir) = plugin.parent() {
        command.env("CNI_PATH", dir);
    }
    let mut child = command
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("start the CNI plugin {}", plugin.display()), e))?;
    let written = child
        .stdin
        .take()
        .map_or(Ok(()), |mut stdin| stdin.write_all(netconf.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("wait for the CNI plugin {}", plugin.display()), e))?;
    // A plugin may exit before reading all of stdin (bad environment): its output is what
    // counts, so only a write error other than a closed pipe is the harness's.
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(Error::io("write the netconf to the CNI plugin", e));
        }
        _ => {}
    }
    Ok(CniOutcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
