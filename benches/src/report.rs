//! The one-line JSON reports `ovsdb-bench` prints, and the peak memory figure they carry.

use std::time::Duration;

use serde::Serialize;

use crate::lsp_add::Mode;

/// The `lsp-add` report line:
/// `{"workload":"lsp-add","mode":…,"count":N,"seconds":S,"per_second":R}`.
pub fn lsp_add_line(mode: Mode, count: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let per_second = if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    };
    #[derive(Serialize)]
    struct Line {
        workload: &'static str,
        mode: &'static str,
        count: u64,
        seconds: f64,
        per_second: f64,
    }
    to_line(&Line {
        workload: "lsp-add",
        mode: mode.as_str(),
        count,
        seconds: round3(seconds),
        per_second: per_second.round(),
    })
}

/// The `sync` report line: `{"workload":"sync","rows":N,"seconds":S,"max_rss_kib":K}`.
pub fn sync_line(rows: usize, elapsed: Duration, max_rss_kib: Option<u64>) -> String {
    #[derive(Serialize)]
    struct Line {
        workload: &'static str,
        rows: usize,
        seconds: f64,
        max_rss_kib: Option<u64>,
    }
    to_line(&Line {
        workload: "sync",
        rows,
        seconds: round3(elapsed.as_secs_f64()),
        max_rss_kib,
    })
}

/// Fields in declaration order, as the contract shows them. Serializing these plain structs
/// cannot fail; the fallback only keeps a bug here from panicking.
fn to_line(line: &impl Serialize) -> String {
    serde_json::to_string(line).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// This process's peak resident set size in KiB (`VmHWM` of `/proc/self/status`), or `None`
/// where procfs does not say.
pub fn max_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

/// Reads `VmHWM:   1234 kB` out of a `/proc/PID/status` text.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
#[path = "report/tests.rs"]
mod tests;
