//! Connectivity checks, as Kube-OVN's pinger does them: ICMP echo (v4 and v6) and TCP.
//!
//! The `kube-ovn-pinger` binary runs these inside a pod's or the node's namespace
//! (`ip netns exec NS kube-ovn-pinger ping IP`), so checks need no `ping` or `nc` on the host.
//! ICMP uses a raw socket, which needs root (or CAP_NET_RAW), like `ping`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// Sends one ICMP echo request to `target` and waits up to `timeout` for the matching reply.
pub fn ping(target: IpAddr, timeout: Duration) -> Result<Duration, String> {
    let (domain, protocol, request_type, reply_type) = match target {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8),
    };
    let socket = Socket::new(domain, Type::RAW, Some(protocol))
        .map_err(|e| format!("raw ICMP socket (needs root): {e}"))?;
    let identifier = (std::process::id() as u16) ^ 0x4b4f;
    let sequence = 1u16;
    let mut packet = vec![request_type, 0, 0, 0];
    packet.extend(identifier.to_be_bytes());
    packet.extend(sequence.to_be_bytes());
    packet.extend(b"kube-ovn-pinger!");
    if target.is_ipv4() {
        // The kernel fills in the ICMPv6 checksum; ICMPv4's is ours.
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    let started = Instant::now();
    socket
        .send_to(&packet, &SocketAddr::new(target, 0).into())
        .map_err(|e| format!("send to {target}: {e}"))?;
    let mut buf = [0u8; 2048];
    let mut reader = &socket;
    loop {
        let left = timeout
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no echo reply from {target} within {timeout:?}"))?;
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no echo reply from {target} within {timeout:?}"));
            }
            Err(e) => return Err(format!("receive: {e}")),
        };
        let message = if target.is_ipv4() {
            // Raw IPv4 sockets deliver the IP header too.
            let header = usize::from(buf[0] & 0x0f) * 4;
            buf.get(header..n).unwrap_or_default()
        } else {
            buf.get(..n).unwrap_or_default()
        };
        if is_reply(message, reply_type, identifier, sequence) {
            return Ok(started.elapsed());
        }
    }
}

fn is_reply(message: &[u8], reply_type: u8, identifier: u16, sequence: u16) -> bool {
    message.len() >= 8
        && message[0] == reply_type
        && message[4..6] == identifier.to_be_bytes()
        && message[6..8] == sequence.to_be_bytes()
}

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Connects to `target`, sends a line and expects it echoed (by [`listen`]).
pub fn tcp(target: SocketAddr, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .map_err(|e| format!("connect to {target}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"kube-ovn-pinger\n")
        .map_err(|e| format!("send to {target}: {e}"))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| format!("no echo from {target}: {e}"))?;
    if line.trim_end() == "kube-ovn-pinger" {
        Ok(started.elapsed())
    } else {
        Err(format!("{target} answered {line:?}, not the echo"))
    }
}

/// Echoes lines on TCP `port` (v4 and v6) for at most `lifetime`, one thread per connection.
pub fn listen(port: u16, lifetime: Duration) -> Result<(), String> {
    let listener = TcpListener::bind(("::", port))
        .or_else(|_| TcpListener::bind(("0.0.0.0", port)))
        .map_err(|e| format!("bind port {port}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + lifetime;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut writer = &stream;
                    for line in BufReader::new(&stream).lines().map_while(Result::ok) {
                        if writeln!(writer, "{line}").is_err() {
                            break;
                        }
                    }
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

/// A read-only stand-in for the Kubernetes API, for end-to-end tests of cluster mode inside a
/// node's namespace: serves `DIR/<path>` (the request path without its query) as JSON on
/// `127.0.0.1:port` for at most `lifetime`. A missing file is a 404 `Status`. A watch
/// (`watch=true`) gets its headers and then stays silent until the client goes away: nothing
/// ever changes here. Paths with `..` are refused.
pub fn serve_json(port: u16, dir: &std::path::Path, lifetime: Duration) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + lifetime;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                let dir = dir.to_owned();
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = serve_json_request(&stream, &dir, deadline);
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

fn serve_json_request(
    stream: &std::net::TcpStream,
    dir: &std::path::Path,
    deadline: Instant,
) -> std::io::Result<()> {
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
    if query.split('&').any(|p| p == "watch=true") {
        writer.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        )?;
        // Silent until the client hangs up (a read of 0 bytes) or the server's time is up.
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
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
        return Ok(());
    }
    let file = (!path.split('/').any(|part| part == ".."))
        .then(|| dir.join(path.trim_start_matches('/')))
        .filter(|file| file.is_file());
    let (status, body) = match file.map(std::fs::read) {
        Some(Ok(body)) => ("200 OK", body),
        _ => (
            "404 Not Found",
            format!(
                r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","reason":"NotFound","code":404,"message":"{path} not found"}}"#
            )
            .into_bytes(),
        ),
    };
    write!(
        writer,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    writer.write_all(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071's example words sum to 0xddf2; the checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
        let mut packet = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, b'x'];
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            checksum(&packet),
            0,
            "a packet with its checksum sums to zero"
        );
    }

    #[test]
    fn replies_are_matched_by_type_id_and_sequence() {
        let reply = [0u8, 0, 0, 0, 0x12, 0x34, 0, 1];
        assert!(is_reply(&reply, 0, 0x1234, 1));
        assert!(!is_reply(&reply, 0, 0x1234, 2));
        assert!(!is_reply(&reply[..5], 0, 0x1234, 1));
    }

    #[test]
    fn the_api_stand_in_serves_files_refuses_escapes_and_holds_watches() {
        let root = std::env::temp_dir().join(format!("serve-json-{}", std::process::id()));
        let dir = root.join("served");
        std::fs::create_dir_all(dir.join("api/v1/nodes")).unwrap();
        std::fs::write(dir.join("api/v1/nodes/n1"), br#"{"kind":"Node"}"#).unwrap();
        std::fs::write(root.join("secret"), b"outside").unwrap();
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let served = dir.clone();
        std::thread::spawn(move || serve_json(port, &served, Duration::from_secs(20)));
        let get = |target: &str| -> String {
            for _ in 0..250 {
                if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                    write!(stream, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                    let mut out = String::new();
                    stream.read_to_string(&mut out).unwrap();
                    return out;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("the stand-in never listened");
        };
        let found = get("/api/v1/nodes/n1?timeout=5s");
        assert!(found.starts_with("HTTP/1.1 200"), "{found}");
        assert!(found.ends_with(r#"{"kind":"Node"}"#), "{found}");
        let missing = get("/api/v1/nodes/n2");
        assert!(
            missing.starts_with("HTTP/1.1 404") && missing.contains("NotFound"),
            "{missing}"
        );
        let escape = get("/../secret");
        assert!(escape.starts_with("HTTP/1.1 404"), "{escape}");
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
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn tcp_echo_round_trips_on_loopback() {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        std::thread::spawn(move || listen(port, Duration::from_secs(10)));
        let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut last = Err(String::new());
        for _ in 0..100 {
            last = tcp(target, Duration::from_secs(2));
            if last.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        last.unwrap();
    }
}
