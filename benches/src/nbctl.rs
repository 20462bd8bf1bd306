//! The ovn-nbctl anchor of the controller and model benches: the C IDL creating logical switches
//! and pod ports (addresses and port security), a batch of ports per invocation.

use std::process::Command;
use std::time::Instant;

/// A pod port for the anchor: (switch, port name, `"MAC IP"`).
pub type PodPort = (String, String, String);

/// Creates `switches` in one ovn-nbctl invocation, then `ports`, `batch` per invocation
/// (ovn-nbctl slows quadratically with the commands per invocation: batches of 500 are near
/// its best throughput). Returns (seconds, invocations), or ovn-nbctl's error text.
pub fn create_switches_and_ports(
    remote: &str,
    switches: &[String],
    ports: &[PodPort],
    batch: usize,
) -> Result<(f64, usize), String> {
    let started = Instant::now();
    let mut invocations = 0;
    let mut run = |args: Vec<String>| -> Result<(), String> {
        invocations += 1;
        let out = Command::new("ovn-nbctl")
            .arg(format!("--db={remote}"))
            .args(&args)
            .output()
            .map_err(|e| format!("ovn-nbctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let mut args = Vec::new();
    for s in switches {
        args.extend(["--".into(), "ls-add".into(), s.clone()]);
    }
    run(args)?;
    for chunk in ports.chunks(batch.max(1)) {
        let mut args = Vec::new();
        for (switch, port, addr) in chunk {
            args.extend([
                "--".into(),
                "lsp-add".into(),
                switch.clone(),
                port.clone(),
                "--".into(),
                "lsp-set-addresses".into(),
                port.clone(),
                addr.clone(),
                "--".into(),
                "lsp-set-port-security".into(),
                port.clone(),
                addr.clone(),
            ]);
        }
        run(args)?;
    }
    Ok((started.elapsed().as_secs_f64(), invocations))
}
