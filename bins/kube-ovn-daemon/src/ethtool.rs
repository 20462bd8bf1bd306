//! `ethtool -K DEV tx off` over ethtool's generic netlink family.
//!
//! Why: ovs-vswitchd's userspace (netdev) datapath does not complete checksums a veth left to
//! offload, so TCP between pods fails unless tx checksum offload is off on both veth ends. The
//! ioctl interface needs `unsafe`, which the workspace forbids, and the `ethtool` crate (0.3) can
//! only read features, so the FEATURES_SET request is encoded here: a few attributes, no more.
//!
//! The request goes out in the daemon's own network namespace, so callers turn offload off
//! before moving a veth end into the pod (features survive the move).

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use crate::error::{Error, Result};

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLA_F_NESTED: u16 = 0x8000;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const ETHTOOL_MSG_FEATURES_SET: u8 = 12;
const ETHTOOL_A_FEATURES_HEADER: u16 = 1;
const ETHTOOL_A_FEATURES_WANTED: u16 = 3;
const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;
const ETHTOOL_A_BITSET_BITS: u16 = 3;
const ETHTOOL_A_BITSET_BITS_BIT: u16 = 1;
const ETHTOOL_A_BITSET_BIT_NAME: u16 = 2;

/// The feature bits `ethtool -K DEV tx off` clears. Bits a device cannot change are ignored by
/// the kernel, so the list is the same for every device.
const TX_CHECKSUM_FEATURES: &[&str] = &[
    "tx-checksum-ipv4",
    "tx-checksum-ip-generic",
    "tx-checksum-ipv6",
    "tx-checksum-fcoe-crc",
    "tx-checksum-sctp",
];

/// Turns tx checksum offload off on `device` (in the calling thread's network namespace).
/// Blocking: call it from a blocking task.
pub fn tx_checksum_off(device: &str) -> Result<()> {
    let fail = |reason: String| Error::Ethtool {
        what: format!("turn tx checksum offload off on {device}"),
        reason,
    };
    let mut socket = Socket::new(NETLINK_GENERIC).map_err(|e| fail(e.to_string()))?;
    socket.bind_auto().map_err(|e| fail(e.to_string()))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| fail(e.to_string()))?;
    let family = resolve_family(&socket, "ethtool").map_err(&fail)?;
    let header = nla(
        ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED,
        &nla(ETHTOOL_A_HEADER_DEV_NAME, &c_string(device)),
    );
    // A bit listed without a VALUE attribute means "off"; without NOMASK only listed bits change.
    let mut bits = Vec::new();
    for name in TX_CHECKSUM_FEATURES {
        bits.extend(nla(
            ETHTOOL_A_BITSET_BITS_BIT | NLA_F_NESTED,
            &nla(ETHTOOL_A_BITSET_BIT_NAME, &c_string(name)),
        ));
    }
    let wanted = nla(
        ETHTOOL_A_FEATURES_WANTED | NLA_F_NESTED,
        &nla(ETHTOOL_A_BITSET_BITS | NLA_F_NESTED, &bits),
    );
    let mut attributes = header;
    attributes.extend(wanted);
    let reply =
        request(&socket, family, ETHTOOL_MSG_FEATURES_SET, 1, &attributes, 2).map_err(&fail)?;
    ack(&reply).map_err(fail)
}

/// Asks the generic netlink controller for a family's id.
fn resolve_family(socket: &Socket, name: &str) -> std::result::Result<u16, String> {
    let attributes = nla(CTRL_ATTR_FAMILY_NAME, &c_string(name));
    let reply = request(socket, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 2, &attributes, 1)?;
    let (kind, payload) = message(&reply)?;
    if kind == NLMSG_ERROR {
        return Err(format!(
            "generic netlink family {name} is unknown to this kernel: {}",
            error_code(payload).map_or_else(|| "malformed error".into(), describe_errno)
        ));
    }
    // genlmsghdr (4 bytes), then attributes.
    let mut attrs = payload.get(4..).unwrap_or_default();
    while let Some((kind, value, rest)) = next_nla(attrs) {
        if kind & !NLA_F_NESTED == CTRL_ATTR_FAMILY_ID {
            let id = value.get(..2).ok_or("short CTRL_ATTR_FAMILY_ID")?;
            return Ok(u16::from_ne_bytes([id[0], id[1]]));
        }
        attrs = rest;
    }
    Err(format!(
        "the controller's reply for {name} has no family id"
    ))
}

/// Sends one request and returns the first reply message's bytes.
fn request(
    socket: &Socket,
    family: u16,
    command: u8,
    version: u8,
    attributes: &[u8],
    sequence: u32,
) -> std::result::Result<Vec<u8>, String> {
    let length = 16 + 4 + attributes.len();
    let mut buf = Vec::with_capacity(length);
    buf.extend((length as u32).to_ne_bytes());
    buf.extend(family.to_ne_bytes());
    buf.extend((NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    buf.extend(sequence.to_ne_bytes());
    buf.extend(0u32.to_ne_bytes());
    buf.extend([command, version, 0, 0]);
    buf.extend(attributes);
    socket.send(&buf, 0).map_err(|e| format!("send: {e}"))?;
    let (reply, _) = socket
        .recv_from_full()
        .map_err(|e| format!("receive: {e}"))?;
    Ok(reply)
}

/// The first netlink message in `buf`: its type and payload.
fn message(buf: &[u8]) -> std::result::Result<(u16, &[u8]), String> {
    let header = buf
        .get(..16)
        .ok_or("a reply shorter than a netlink header")?;
    let length = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let kind = u16::from_ne_bytes([header[4], header[5]]);
    let payload = buf
        .get(16..length.max(16))
        .ok_or("a reply shorter than its own length")?;
    Ok((kind, payload))
}

/// Accepts an ACK (an error message with code 0); anything else is an error.
fn ack(reply: &[u8]) -> std::result::Result<(), String> {
    let (kind, payload) = message(reply)?;
    if kind != NLMSG_ERROR {
        return Err(format!(
            "expected an acknowledgement, got message type {kind}"
        ));
    }
    match error_code(payload) {
        Some(0) => Ok(()),
        Some(code) => Err(describe_errno(code)),
        None => Err("a malformed acknowledgement".into()),
    }
}

fn error_code(payload: &[u8]) -> Option<i32> {
    let bytes = payload.get(..4)?;
    Some(i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn describe_errno(code: i32) -> String {
    format!(
        "{} (errno {})",
        std::io::Error::from_raw_os_error(-code),
        -code
    )
}

/// One attribute: length, type, value, padded to 4 bytes.
fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let length = 4 + value.len();
    let mut out = Vec::with_capacity(length.next_multiple_of(4));
    out.extend((length as u16).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(value);
    out.resize(length.next_multiple_of(4), 0);
    out
}

/// The next attribute of `buf`: (type, value, rest), or `None` at the end or on garbage.
fn next_nla(buf: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let header = buf.get(..4)?;
    let length = u16::from_ne_bytes([header[0], header[1]]) as usize;
    let kind = u16::from_ne_bytes([header[2], header[3]]);
    let value = buf.get(4..length.max(4))?;
    let rest = buf.get(length.next_multiple_of(4).min(buf.len())..)?;
    Some((kind, value, rest))
}

fn c_string(s: &str) -> Vec<u8> {
    let mut out = s.as_bytes().to_vec();
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_parse_back() {
        let a = nla(7, b"abcde");
        assert_eq!(a.len(), 12);
        let mut two = a.clone();
        two.extend(nla(8, &[]));
        let (kind, value, rest) = next_nla(&two).unwrap();
        assert_eq!((kind, value), (7, &b"abcde"[..]));
        let (kind, value, rest) = next_nla(rest).unwrap();
        assert_eq!((kind, value.len(), rest.len()), (8, 0, 0));
        assert!(next_nla(rest).is_none());
        // Garbage never panics.
        assert!(next_nla(&[0xff, 0xff, 1, 0]).is_none());
        assert!(message(&[1, 2, 3]).is_err());
        assert!(ack(&[0xff; 16]).is_err());
    }
}
