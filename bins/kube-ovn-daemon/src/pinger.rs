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
