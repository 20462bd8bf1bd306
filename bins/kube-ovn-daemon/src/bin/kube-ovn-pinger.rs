//! `kube-ovn-pinger`: connectivity checks from inside a namespace.
//!
//! ```text
//! kube-ovn-pinger ping IP [TIMEOUT_MS]        ICMP echo (v4 or v6); exit 0 on a reply
//! kube-ovn-pinger tcp IP:PORT [TIMEOUT_MS]    TCP connect and line echo; exit 0 on the echo
//! kube-ovn-pinger listen PORT [SECONDS]       echo lines on PORT (v4 and v6), default 300 s
//! ```

use std::process::ExitCode;
use std::time::Duration;

use kube_ovn_daemon::pinger;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let millis = |text: Option<&&str>| -> Result<Duration, String> {
        text.map_or(Ok(Duration::from_secs(2)), |t| {
            t.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|e| format!("timeout {t:?}: {e}"))
        })
    };
    let result = match args.as_slice() {
        ["ping", ip, rest @ ..] => ip
            .parse()
            .map_err(|e| format!("address {ip:?}: {e}"))
            .and_then(|ip| pinger::ping(ip, millis(rest.first())?))
            .map(|rtt| println!("reply from {ip} in {rtt:?}")),
        ["tcp", target, rest @ ..] => target
            .parse()
            .map_err(|e| format!("address {target:?} (IP:PORT, [V6]:PORT): {e}"))
            .and_then(|t| pinger::tcp(t, millis(rest.first())?))
            .map(|rtt| println!("echo from {target} in {rtt:?}")),
        ["listen", port, rest @ ..] => port
            .parse::<u16>()
            .map_err(|e| format!("port {port:?}: {e}"))
            .and_then(|port| {
                let seconds = rest
                    .first()
                    .map_or(Ok(300), |s| s.parse::<u64>().map_err(|e| format!("seconds {s:?}: {e}")))?;
                pinger::listen(port, Duration::from_secs(seconds))
            }),
        _ => Err("usage: kube-ovn-pinger ping IP [TIMEOUT_MS] | tcp IP:PORT [TIMEOUT_MS] | listen PORT [SECONDS]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kube-ovn-pinger: {message}");
            ExitCode::FAILURE
        }
    }
}
