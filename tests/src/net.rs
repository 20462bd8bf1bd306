//! Loopback ports and unique names, so tests running in parallel never collide.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Returns a TCP port on 127.0.0.1 that nothing listens on right now.
///
/// Ports are drawn at random from below the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`), so outgoing connections of other tests never take them,
/// and a port is handed out at most once per test process. Another process may still take the
/// port before the daemon binds it; [`OvsdbServer`](crate::OvsdbServer) detects that and retries
/// with a new port.
pub fn free_tcp_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(Default::default);
    let (low, high) = port_pool();
    loop {
        let port = if low < high {
            fastrand::u16(low..high)
        } else {
            // No room below the ephemeral range: let the kernel choose.
            match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
                Ok(addr) => addr.port(),
                Err(_) => continue,
            }
        };
        let mut taken = handed_out.lock().unwrap_or_else(|p| p.into_inner());
        if taken.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            taken.insert(port);
            return port;
        }
    }
}

/// The range ports are drawn from: from 10000 up to the start of the ephemeral range.
fn port_pool() -> (u16, u16) {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    (10000, ephemeral_start)
}

/// Returns `PREFIX-PID-N`, unique among all test processes running at the same time: the pid
/// tells test processes apart and the counter tells calls within one process apart.
///
/// Keep prefixes short when the name becomes an interface name (15 bytes at most).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}
