//! The custom resources: `kubeovn.io/v1` Subnet, Vpc and IP, as Kube-OVN defines them.
//!
//! The CRD manifests are generated from these types ([`crd_yaml`]) and committed under
//! `kube-bridge/crds/`; a test regenerates them and fails when they are stale.

use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A status condition, as Kubernetes conventions define it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type, e.g. `Ready` or `Validated`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A machine-readable reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the condition last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_transition_time: String,
}

/// A subnet: a CIDR (or a v4 and a v6 CIDR for dual stack) realised as a logical switch.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kubeovn.io",
    version = "v1",
    kind = "Subnet",
    plural = "subnets",
    status = "SubnetStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct SubnetSpec {
    /// Whether pods of namespaces without a subnet land here.
    #[serde(default)]
    pub default: bool,
    /// The Vpc; the default Vpc `ovn-cluster` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// `10.0.0.0/16`, `fd00::/64`, or both comma-separated for dual stack.
    pub cidr_block: String,
    /// The gateway(s), comma-separated like the CIDRs; the first address when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Excluded addresses: `10.0.0.1..10.0.0.10` ranges or single addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_ips: Vec<String>,
    /// `IPv4`, `IPv6` or `Dual`; derived from the CIDRs when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Namespaces whose pods use this subnet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Whether only the subnet itself and `allowSubnets` may reach it.
    #[serde(default)]
    pub private: bool,
    /// CIDRs allowed into a private subnet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_subnets: Vec<String>,
    /// `distributed` (default) or `centralized`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_type: Option<String>,
    /// Gateway nodes for a centralized gateway, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_node: Option<String>,
    /// Whether traffic leaving the cluster is SNATed at the node.
    #[serde(default)]
    pub nat_outgoing: bool,
    /// Whether DHCP options are created for the subnet.
    #[serde(default, rename = "enableDHCP")]
    pub enable_dhcp: bool,
}

/// What the controller reports about a subnet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubnetStatus {
    /// Free IPv4 addresses.
    #[serde(default)]
    pub v4_available_ips: f64,
    /// IPv4 addresses in use.
    #[serde(default)]
    pub v4_using_ips: f64,
    /// Free IPv6 addresses.
    #[serde(default)]
    pub v6_available_ips: f64,
    /// IPv6 addresses in use.
    #[serde(default)]
    pub v6_using_ips: f64,
    /// Conditions (`Validated`, `Ready`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A static route of a Vpc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaticRoute {
    /// `dst` (default) or `src`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The prefix routed.
    pub cidr: String,
    /// The next hop.
    #[serde(rename = "nextHopIP")]
    pub next_hop_ip: String,
}

/// A policy route of a Vpc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRoute {
    /// Priority.
    pub priority: i32,
    /// OVN match expression.
    #[serde(rename = "match")]
    pub matches: String,
    /// `allow`, `drop` or `reroute`.
    pub action: String,
    /// Next hop(s) for `reroute`, comma-separated.
    #[serde(default, rename = "nextHopIP", skip_serializing_if = "Option::is_none")]
    pub next_hop_ip: Option<String>,
}

/// A Vpc: a logical router with its routes.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kubeovn.io",
    version = "v1",
    kind = "Vpc",
    plural = "vpcs",
    status = "VpcStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct VpcSpec {
    /// Namespaces bound to the Vpc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Static routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_routes: Vec<StaticRoute>,
    /// Policy routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_routes: Vec<PolicyRoute>,
}

/// What the controller reports about a Vpc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The router's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub router: String,
}

/// An allocation record: which address a pod (or node) holds, so a restart is not the only
/// source of truth.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(group = "kubeovn.io", version = "v1", kind = "IP", plural = "ips")]
#[serde(rename_all = "camelCase")]
pub struct IPSpec {
    /// Pod name.
    #[serde(default)]
    pub pod_name: String,
    /// Pod namespace.
    #[serde(default)]
    pub namespace: String,
    /// Subnet.
    #[serde(default)]
    pub subnet: String,
    /// Node.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_name: String,
    /// All addresses, comma-separated.
    #[serde(default)]
    pub ip_address: String,
    /// The IPv4 address.
    #[serde(
        default,
        rename = "v4IpAddress",
        skip_serializing_if = "String::is_empty"
    )]
    pub v4_ip_address: String,
    /// The IPv6 address.
    #[serde(
        default,
        rename = "v6IpAddress",
        skip_serializing_if = "String::is_empty"
    )]
    pub v6_ip_address: String,
    /// MAC address.
    #[serde(default)]
    pub mac_address: String,
}

/// The CRD manifests, by file name, as committed under `kube-bridge/crds/`.
pub fn crd_yaml() -> Result<Vec<(&'static str, String)>, serde_saphyr::ser::Error> {
    Ok(vec![
        (
            "subnets.kubeovn.io.yaml",
            serde_saphyr::to_string(&Subnet::crd())?,
        ),
        (
            "vpcs.kubeovn.io.yaml",
            serde_saphyr::to_string(&Vpc::crd())?,
        ),
        ("ips.kubeovn.io.yaml", serde_saphyr::to_string(&IP::crd())?),
    ])
}

#[cfg(test)]
#[path = "crd/tests.rs"]
pub(crate) mod tests;
