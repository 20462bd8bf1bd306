//! The protocol between the `kube-ovn` CNI plugin and `kube-ovn-daemon`, plus the CNI 1.0.0
//! result and error types both sides speak.
//!
//! One request per connection on the daemon's unix socket: the plugin writes one JSON
//! [`DaemonRequest`], shuts down its write half, and reads one JSON [`DaemonResponse`] until the
//! daemon closes. The plugin stays thin: it validates the CNI environment and the netconf,
//! forwards, and prints what the daemon answered. This crate must not know about netlink, OVS or
//! OVN: it is the plugin's whole dependency footprint (serde only).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The CNI versions the plugin accepts in a netconf (results are shaped per version).
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// The CNI specification's well-known error codes.
pub mod codes {
    /// Incompatible CNI version.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// Unsupported field in the network configuration.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Container unknown or does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// Invalid necessary environment variables.
    pub const INVALID_ENVIRONMENT: u32 = 4;
    /// I/O failure.
    pub const IO_FAILURE: u32 = 5;
    /// Failed to decode content.
    pub const DECODE_FAILURE: u32 = 6;
    /// Invalid network configuration.
    pub const INVALID_CONFIG: u32 = 7;
    /// Try again later.
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// The daemon could not be reached (plugin-specific, >= 100).
    pub const DAEMON_UNREACHABLE: u32 = 100;
    /// The daemon failed to plug or unplug the pod (plugin-specific).
    pub const PLUG_FAILED: u32 = 101;
    /// The pod's address was not allocated in time (plugin-specific).
    pub const ADDRESS_NOT_ALLOCATED: u32 = 102;
    /// CHECK found the pod's network not as it should be (plugin-specific).
    pub const CHECK_FAILED: u32 = 103;
}

/// What the runtime asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CniCommand {
    /// Plug the pod.
    Add,
    /// Unplug the pod (idempotent).
    Del,
    /// Verify the pod is plugged as ADD left it.
    Check,
}

/// One plugin-to-daemon request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonRequest {
    /// ADD, DEL or CHECK.
    pub command: CniCommand,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`: a path such as `/var/run/netns/NAME` (may be empty on DEL).
    pub netns: String,
    /// `CNI_IFNAME`: the interface name inside the pod.
    pub ifname: String,
    /// `K8S_POD_NAME` from `CNI_ARGS`.
    pub pod_name: String,
    /// `K8S_POD_NAMESPACE` from `CNI_ARGS`.
    pub pod_namespace: String,
    /// The netconf's `cniVersion`, which shapes the result.
    pub cni_version: String,
    /// The netconf's `prevResult` on CHECK and DEL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_result: Option<CniResult>,
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum DaemonResponse {
    /// Done; ADD carries the result, DEL and CHECK none.
    Ok {
        /// The CNI result of an ADD.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<CniResult>,
    },
    /// Failed, with a CNI error code.
    Error(CniError),
}

/// The spec's Result JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CniResult {
    /// The result's version (the netconf's `cniVersion`).
    pub cni_version: String,
    /// Interfaces created: the host end (no sandbox) and the pod end.
    #[serde(default)]
    pub interfaces: Vec<CniInterface>,
    /// Addresses assigned.
    #[serde(default)]
    pub ips: Vec<CniIp>,
    /// Routes added in the pod.
    #[serde(default)]
    pub routes: Vec<CniRoute>,
    /// DNS settings (none are set by this plugin).
    #[serde(default)]
    pub dns: CniDns,
}

/// One interface of a result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CniInterface {
    /// Interface name.
    pub name: String,
    /// MAC address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// The netns path the interface is in; absent for the host end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

/// One address of a result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CniIp {
    /// `"4"` or `"6"`: only in results of versions before 1.0.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Address with prefix length, `10.0.0.2/24`.
    pub address: String,
    /// The subnet gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Index into `interfaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

/// One route of a result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CniRoute {
    /// Destination, `0.0.0.0/0`.
    pub dst: String,
    /// Next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<String>,
}

/// DNS settings of a result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CniDns {
    /// Name servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
}

/// The spec's Error JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("CNI error {code}: {msg}{}", if details.is_empty() { String::new() } else { format!(" ({details})") })]
pub struct CniError {
    /// The version of the error's format.
    pub cni_version: String,
    /// A spec code (1-99) or a plugin code (100+), see [`codes`].
    pub code: u32,
    /// A short message for humans.
    pub msg: String,
    /// Longer details.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl CniError {
    /// An error with a code and message, in CNI 1.0.0 format.
    pub fn new(code: u32, msg: impl Into<String>) -> Self {
        CniError {
            cni_version: "1.0.0".to_owned(),
            code,
            msg: msg.into(),
            details: String::new(),
        }
    }

    /// The same error with details added.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }
}

/// The network configuration the runtime passes on stdin (fields this plugin reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetConf {
    /// The spec version the runtime speaks.
    pub cni_version: String,
    /// The network's name.
    #[serde(default)]
    pub name: String,
    /// The plugin type (`kube-ovn`).
    #[serde(rename = "type", default)]
    pub plugin_type: String,
    /// The daemon's socket path (Kube-OVN's field name, snake case).
    #[serde(default, rename = "server_socket")]
    pub server_socket: Option<String>,
    /// The previous result on CHECK and DEL.
    #[serde(default)]
    pub prev_result: Option<CniResult>,
}

/// Parses `CNI_ARGS` (`K1=V1;K2=V2`). A pair without `=` is an error naming it.
pub fn parse_cni_args(args: &str) -> Result<BTreeMap<String, String>, CniError> {
    let mut out = BTreeMap::new();
    for pair in args.split(';').filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CniError::new(
                codes::INVALID_ENVIRONMENT,
                format!("CNI_ARGS: expected KEY=VALUE pairs separated by ';', found {pair:?}"),
            ));
        };
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

/// Sends one request to the daemon at `socket` and waits up to `timeout` for its answer.
/// Connection and protocol failures become a [`CniError`] saying what went wrong.
pub fn call_daemon(
    socket: &Path,
    request: &DaemonRequest,
    timeout: Duration,
) -> Result<DaemonResponse, CniError> {
    let unreachable = |what: &str, e: std::io::Error| {
        CniError::new(
            codes::DAEMON_UNREACHABLE,
            format!("{what} kube-ovn-daemon at {}: {e}", socket.display()),
        )
        .with_details("is kube-ovn-daemon running on this node, with this --socket?")
    };
    let mut stream =
        UnixStream::connect(socket).map_err(|e| unreachable("cannot connect to", e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| unreachable("cannot set timeouts talking to", e))?;
    let body = serde_json::to_vec(request).map_err(|e| {
        CniError::new(
            codes::DECODE_FAILURE,
            format!("cannot encode the request: {e}"),
        )
    })?;
    stream
        .write_all(&body)
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .map_err(|e| unreachable("cannot send to", e))?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .map_err(|e| unreachable("no answer from", e))?;
    serde_json::from_slice(&reply).map_err(|e| {
        CniError::new(
            codes::DECODE_FAILURE,
            format!("kube-ovn-daemon answered something that is not a response: {e}"),
        )
        .with_details(
            String::from_utf8_lossy(&reply)
                .chars()
                .take(200)
                .collect::<String>(),
        )
    })
}

#[cfg(test)]
mod tests;
