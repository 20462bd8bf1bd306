//! A tiny network probe for data-plane tests, run inside pod namespaces
//! (`ip netns exec POD ovn-tests-probe …`), because test machines may lack ping and netcat.
//!
//! - `ovn-tests-probe listen PORT`: accepts TCP connections on every address and answers each
//!   line with the same line, for at most 5 minutes.
//! - `ovn-tests-probe connect IP:PORT`: connects (5 s budget), sends a line, prints the echo;
//!   exits 0 only if the echo matches.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const BUDGET: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["listen", port] => listen(port),
        ["connect", address] => connect(address),
        _ => Err("usage: ovn-tests-probe listen PORT | connect IP:PORT".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ovn-tests-probe: {message}");
            ExitCode::FAILURE
        }
    }
}

fn listen(port: &str) -> Result<(), String> {
    let port: u16 = port.parse().map_err(|e| format!("port {port}: {e}"))?;
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| format!("bind: {e}"))?;
    println!("listening on {port}");
    // Serve for a bounded time, so a forgotten probe cannot outlive its test for long.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    while std::time::Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = echo(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    }
    Ok(())
}

fn echo(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(BUDGET))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    (&stream).write_all(line.as_bytes())
}

fn connect(address: &str) -> Result<(), String> {
    let address: SocketAddr = address.parse().map_err(|e| format!("{address}: {e}"))?;
    let stream =
        TcpStream::connect_timeout(&address, BUDGET).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(BUDGET))
        .map_err(|e| e.to_string())?;
    let sent = "hello through OVN\n";
    (&stream)
        .write_all(sent.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| format!("receive: {e}"))?;
    print!("{line}");
    if line == sent {
        Ok(())
    } else {
        Err(format!("echo {line:?} differs from {sent:?}"))
    }
}
