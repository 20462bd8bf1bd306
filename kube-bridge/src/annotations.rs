//! The pod annotation protocol, compatible with Kube-OVN (`pkg/util/const.go`).

/// The annotation prefix.
pub const PREFIX: &str = "ovn.kubernetes.io/";
/// Addresses, comma-separated (written; read for static addresses).
pub const IP_ADDRESS: &str = "ovn.kubernetes.io/ip_address";
/// MAC address (written; read for a static MAC).
pub const MAC_ADDRESS: &str = "ovn.kubernetes.io/mac_address";
/// The subnet's CIDRs (written).
pub const CIDR: &str = "ovn.kubernetes.io/cidr";
/// The subnet's gateways (written).
pub const GATEWAY: &str = "ovn.kubernetes.io/gateway";
/// The subnet (written; read to choose the subnet).
pub const LOGICAL_SWITCH: &str = "ovn.kubernetes.io/logical_switch";
/// `true` once the address is allocated (written).
pub const ALLOCATED: &str = "ovn.kubernetes.io/allocated";
/// `true` once the port is set up (written).
pub const ROUTED: &str = "ovn.kubernetes.io/routed";
/// Ingress rate limit in Mbit/s (read by the node daemon).
pub const INGRESS_RATE: &str = "ovn.kubernetes.io/ingress_rate";
/// Egress rate limit in Mbit/s (read by the node daemon).
pub const EGRESS_RATE: &str = "ovn.kubernetes.io/egress_rate";
