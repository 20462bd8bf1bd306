//! `kube-ovn`: the CNI 1.0.0 plugin. A runtime executes it as `$CNI_PATH/kube-ovn` with
//! `CNI_COMMAND` (ADD, DEL, CHECK, VERSION), the other `CNI_*` variables and the netconf on
//! stdin. It forwards the request to kube-ovn-daemon over the netconf's `server_socket` and
//! prints the spec's Result JSON, or its Error JSON (exit status 1).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kube_ovn_cni::{
    CniCommand, CniError, CniResult, DaemonRequest, DaemonResponse, NetConf, SUPPORTED_VERSIONS,
    call_daemon, codes, parse_cni_args,
};

/// Kube-OVN's default daemon socket.
const DEFAULT_SOCKET: &str = "/run/openvswitch/kube-ovn-daemon.sock";
/// A netconf is small; anything larger is not one.
const MAX_STDIN: u64 = 1 << 20;
/// The daemon bounds its own waits (address allocation, ovn-installed); this only guards
/// against a daemon that stopped answering.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(180);

fn main() -> ExitCode {
    match run() {
        Ok(output) => {
            if let Some(output) = output {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            // The spec: errors go to stdout as JSON, and the exit status is non-zero.
            println!(
                "{}",
                serde_json::to_string(&error).unwrap_or_else(|_| error.msg.clone())
            );
            ExitCode::FAILURE
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn require_env(name: &str, command: &str) -> Result<String, CniError> {
    env(name).ok_or_else(|| {
        CniError::new(
            codes::INVALID_ENVIRONMENT,
            format!("{name} is required for {command} but is not set"),
        )
    })
}

fn run() -> Result<Option<String>, CniError> {
    // Read the netconf first, whatever else is wrong: a runtime writing it must not see a
    // broken pipe.
    let mut stdin = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN)
        .read_to_end(&mut stdin)
        .map_err(|e| CniError::new(codes::IO_FAILURE, format!("cannot read the netconf: {e}")))?;
    let command_name = require_env("CNI_COMMAND", "any command")?;
    let command = match command_name.as_str() {
        "VERSION" => {
            let version = serde_json::json!({
                "cniVersion": "1.0.0",
                "supportedVersions": SUPPORTED_VERSIONS,
            });
            return Ok(Some(version.to_string()));
        }
        "ADD" => CniCommand::Add,
        "DEL" => CniCommand::Del,
        "CHECK" => CniCommand::Check,
        other => {
            return Err(CniError::new(
                codes::INVALID_ENVIRONMENT,
                format!("CNI_COMMAND {other:?} is not one of ADD, DEL, CHECK, VERSION"),
            ));
        }
    };
    let conf: NetConf = serde_json::from_slice(&stdin).map_err(|e| {
        CniError::new(
            codes::DECODE_FAILURE,
            format!("the netconf on stdin is not valid JSON for this plugin: {e}"),
        )
    })?;
    if !SUPPORTED_VERSIONS.contains(&conf.cni_version.as_str()) {
        return Err(CniError::new(
            codes::INCOMPATIBLE_VERSION,
            format!(
                "cniVersion {:?} is not supported; this plugin speaks {}",
                conf.cni_version,
                SUPPORTED_VERSIONS.join(", ")
            ),
        ));
    }
    let name = command_name.as_str();
    let container_id = require_env("CNI_CONTAINERID", name)?;
    let ifname = require_env("CNI_IFNAME", name)?;
    // DEL must succeed even when the netns is already gone (the runtime may pass none).
    let netns = if command == CniCommand::Del {
        env("CNI_NETNS").unwrap_or_default()
    } else {
        require_env("CNI_NETNS", name)?
    };
    let args = parse_cni_args(&env("CNI_ARGS").unwrap_or_default())?;
    let pod_arg = |key: &str| -> Result<String, CniError> {
        match args.get(key).filter(|v| !v.is_empty()) {
            Some(v) => Ok(v.clone()),
            None if command == CniCommand::Del => Ok(String::new()),
            None => Err(CniError::new(
                codes::INVALID_ENVIRONMENT,
                format!("CNI_ARGS has no {key}; kube-ovn needs the pod's name and namespace"),
            )),
        }
    };
    let request = DaemonRequest {
        command,
        container_id,
        netns,
        ifname,
        pod_name: pod_arg("K8S_POD_NAME")?,
        pod_namespace: pod_arg("K8S_POD_NAMESPACE")?,
        cni_version: conf.cni_version.clone(),
        prev_result: conf.prev_result,
    };
    let socket = PathBuf::from(conf.server_socket.as_deref().unwrap_or(DEFAULT_SOCKET));
    match call_daemon(&socket, &request, DAEMON_TIMEOUT)? {
        DaemonResponse::Ok {
            result: Some(result),
        } => {
            let shaped = shape(result, &conf.cni_version);
            serde_json::to_string(&shaped).map(Some).map_err(|e| {
                CniError::new(codes::IO_FAILURE, format!("cannot encode the result: {e}"))
            })
        }
        DaemonResponse::Ok { result: None } => Ok(None),
        DaemonResponse::Error(mut error) => {
            error.cni_version.clone_from(&conf.cni_version);
            Err(error)
        }
    }
}

/// Results before 1.0.0 carry each address's IP version.
fn shape(mut result: CniResult, version: &str) -> CniResult {
    result.cni_version = version.to_owned();
    for ip in &mut result.ips {
        ip.version = (version != "1.0.0")
            .then(|| if ip.address.contains(':') { "6" } else { "4" }.to_owned());
    }
    result
}
