//! A read-only stand-in for the Kubernetes API, for end-to-end tests of cluster mode inside a
//! node's namespace (`ip netns exec NODE ovn-tests-kube-api …`), where no real API server can
//! be reached. It belongs to the tests, never to a shipped binary.
//!
//! `ovn-tests-kube-api PORT DIR [SECONDS]` serves on `127.0.0.1:PORT` for at most SECONDS
//! (default 300, so a forgotten stand-in cannot outlive its test for long):
//!
//! - `GET /some/path?query` answers the file `DIR/some/path` as JSON; a missing file (or a path
//!   with `..`, which could leave DIR) is a 404 `Status` with reason `NotFound`, as the API
//!   server answers.
//! - A watch (`watch=true` in the query) gets its headers and then stays silent until the
//!   client hangs up: nothing served here ever changes.
//!
//! Each connection answers one request and closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: ovn-tests-kube-api PORT DIR [SECONDS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [port, dir] => start(port, dir, "300"),
        [port, dir, seconds] => start(port, dir, seconds),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ovn-tests-kube-api: {message}");
            ExitCode::FAILURE
        }
    }
}

fn start(port: &str, dir: &str, seconds: &str) -> Result<(), String> {
    let port: u16 = port.parse().map_err(|e| format!("port {port:?}: {e}"))?;
    let seconds: u64 = seconds
        .parse()
        .map_err(|e| format!("seconds {seconds:?}: {e}"))?;
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    serve(
        &listener,
        &dir,
        Instant::now() + Duration::from_secs(seconds),
    )
}

/// Accepts connections on `listener` until `deadline`, one thread per connection (a watch
/// holds its connection open).
fn serve(listener: &TcpListener, dir: &Path, deadline: Instant) -> Result<(), String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                let dir = dir.to_owned();
                std::thread::spawn(move || {
                    // A client that goes away mid-request is its own problem, not the server's.
                    let _ = answer(&stream, &dir, deadline);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    }
    Ok(())
}

fn answer(stream: &TcpStream, dir: &Path, deadline: Instant) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut writer = stream;
    if query.split('&').any(|pair| pair == "watch=true") {
        writer.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        )?;
        return hold_silent(reader, deadline);
    }
    let file = (!path.split('/').any(|part| part == ".."))
        .then(|| dir.join(path.trim_start_matches('/')))
        .filter(|file| file.is_file());
    let (status, body) = match file.map(std::fs::read) {
        Some(Ok(body)) => ("200 OK", body),
        _ => ("404 Not Found", not_found(path).into_bytes()),
    };
    write!(
        writer,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    writer.write_all(&body)
}

/// Reads (and ignores) until the client hangs up or the server's time is up.
fn hold_silent(mut reader: BufReader<&TcpStream>, deadline: Instant) -> std::io::Result<()> {
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut byte = [0u8; 1];
    while Instant::now() < deadline {
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// The API server's 404 `Status`; the path is escaped, since it comes from the client.
fn not_found(path: &str) -> String {
    let mut message = String::new();
    for c in path.chars() {
        match c {
            '"' => message.push_str("\\\""),
            '\\' => message.push_str("\\\\"),
            c if c.is_control() => message.push_str(&format!("\\u{:04x}", c as u32)),
            c => message.push(c),
        }
    }
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","reason":"NotFound","code":404,"message":"{message} not found"}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_files_refuses_escapes_and_holds_watches() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("served");
        std::fs::create_dir_all(dir.join("api/v1/nodes")).unwrap();
        std::fs::write(dir.join("api/v1/nodes/n1"), br#"{"kind":"Node"}"#).unwrap();
        std::fs::write(root.path().join("secret"), b"outside").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = dir.clone();
        // Bounded: the server thread ends on its own shortly after the test.
        std::thread::spawn(move || {
            serve(&listener, &served, Instant::now() + Duration::from_secs(20))
        });
        let get = |target: &str| -> String {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(stream, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).unwrap();
            out
        };
        let found = get("/api/v1/nodes/n1?timeout=5s");
        assert!(found.starts_with("HTTP/1.1 200"), "{found}");
        assert!(found.ends_with(r#"{"kind":"Node"}"#), "{found}");
        let missing = get("/api/v1/nodes/n2");
        assert!(
            missing.starts_with("HTTP/1.1 404") && missing.contains(r#""reason":"NotFound""#),
            "{missing}"
        );
        let escape = get("/../secret");
        assert!(escape.starts_with("HTTP/1.1 404"), "{escape}");
        assert!(!escape.contains("outside"), "{escape}");
        // A watch answers its headers, then nothing until the client hangs up.
        let mut watch = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(watch, "GET /api/v1/nodes?watch=true HTTP/1.1\r\n\r\n").unwrap();
        watch
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buffer = [0u8; 256];
        let n = watch.read(&mut buffer).unwrap();
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
        assert!(watch.read(&mut buffer).is_err(), "the watch stays silent");
    }

    #[test]
    fn a_status_message_stays_json_whatever_the_path() {
        let status = not_found("/a\"b\\c\u{1}");
        assert!(
            status.contains(r#""message":"/a\"b\\c\u0001 not found""#),
            "{status}"
        );
    }
}
