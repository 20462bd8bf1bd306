//! The logical network, in plain Rust values, and its realisation in OVN_Northbound.
//!
//! This module is where Kube-OVN's knowledge of OVN lives. Each element becomes one
//! [`Group`] of desired rows ([`Network::desired`]):
//!
//! | element | group id | phase | realised as |
//! |---|---|---|---|
//! | [`Vpc`] | `vpc/<name>` | 0 | `Logical_Router` `<name>`; its static routes, policy routes and NAT rules as children; an external router port `<name>-external` with `Gateway_Chassis` rows `<port>-<chassis>` |
//! | [`Subnet`] | `subnet/<name>` | 1 | `Logical_Switch` `<name>` (`other_config:subnet`, `exclude_ips`); the router port pair: LSP `<ls>-<lr>` of type `router` and LRP `<lr>-<ls>` with the gateway(s) and prefix length(s); `DHCP_Options` per family when enabled; subnet ACLs for `private` |
//! | [`PodPort`] | `pod/<ns>/<name>` | 2 | `Logical_Switch_Port` `<pod>.<ns>` with `"mac ip [ip6]"` addresses, port security and the pod's network in `external_ids` |
//! | [`NodePort`] | `node/<name>` | 2 | `Logical_Switch_Port` `node-<name>` on the join switch, with the node's network in `external_ids` |
//! | [`SubnetGateway`] | `gateway/<subnet>` | 4 | `Logical_Router_Policy` rows on the Vpc's router: 31000 allow of traffic to the subnet; 29000 reroutes from it to the node join addresses (distributed: a `Port_Group` `<subnet>.<node>` per node and a reroute of `$<pg>_ip4` to that node; centralized: the CIDR to the gateway nodes) |
//! | [`Service`] | `service/<ns>/<name>` | 3 | one `Load_Balancer` per protocol, `<ns>/<name>/<proto>`, attached to every switch of the Vpc and to its router |
//! | [`NetworkPolicy`] | `policy/<ns>/<name>` | 4 | `Port_Group` of the selected ports, ACLs naming the address sets of their peers |
//! | [`AddressSets`] | `addrset/<name>` | 3 | one `Address_Set` per distinct peer address list (allow, or ipBlock except), named after the first rule resolving to it and shared by every rule that does |
//!
//! **Why one load balancer per service**, where Kube-OVN shares one per Vpc and protocol:
//! ownership stays exact. A service's VIPs live in a row only it owns, so deleting the service
//! deletes the row and no stale VIP can survive a missed event; a changed service rewrites only
//! its own map entries. Attaching is by weak reference, so a deleted balancer detaches itself.
//!
//! **ACL priorities** (the OVN 23.03 NB schema has no ACL `tier`):
//!
//! | priority | use |
//! |---|---|
//! | [`PRIORITY_POLICY_DROP`] 2000 | a NetworkPolicy's default drop, per isolated direction |
//! | [`PRIORITY_POLICY_ALLOW`] 2001 | a NetworkPolicy's allow rules (`allow-related`) |
//! | [`PRIORITY_SUBNET_DROP`] 1000 | a private subnet's drop of traffic to it |
//! | [`PRIORITY_SUBNET_ALLOW`] 1001 | a private subnet's own and `allowSubnets` traffic |
//!
//! Egress ACLs carry `options:apply-after-lb=true`, so a policy sees a service's chosen backend,
//! not its VIP.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use ipnet::IpNet;
use ovsdb_client::{Atom, Datum};

use crate::desired::{Cell, DesiredRow, DesiredState, Group, RowKey};

/// Default drop of a NetworkPolicy.
pub const PRIORITY_POLICY_DROP: i64 = 2000;
/// Allow rules of a NetworkPolicy.
pub const PRIORITY_POLICY_ALLOW: i64 = 2001;
/// A private subnet's drop.
pub const PRIORITY_SUBNET_DROP: i64 = 1000;
/// A private subnet's allows.
pub const PRIORITY_SUBNET_ALLOW: i64 = 1001;

/// A virtual private cloud: one logical router.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vpc {
    /// Router name (Kube-OVN's default Vpc is `ovn-cluster`).
    pub name: String,
    /// Static routes.
    pub static_routes: Vec<StaticRoute>,
    /// Policy routes.
    pub policy_routes: Vec<PolicyRoute>,
    /// NAT rules.
    pub nat: Vec<Nat>,
    /// The external (gateway) router port, when the Vpc has one.
    pub external: Option<ExternalPort>,
}

/// A static route of a Vpc.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticRoute {
    /// Destination (or source, with `src_ip` policy) prefix.
    pub prefix: IpNet,
    /// Next hop.
    pub nexthop: IpAddr,
    /// Route by source address instead of destination.
    pub by_source: bool,
    /// Route table name; empty for the main table.
    pub route_table: String,
}

/// A policy route of a Vpc.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRoute {
    /// Priority (Kube-OVN uses 31000 for subnet allows and 29000 for gateway reroutes).
    pub priority: i64,
    /// OVN match expression.
    pub matches: String,
    /// What to do with matching packets.
    pub action: PolicyAction,
}

/// The action of a policy route.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyAction {
    /// Route normally.
    Allow,
    /// Drop.
    Drop,
    /// Send to these next hops (ECMP when several).
    Reroute(Vec<IpAddr>),
}

/// A NAT rule of a Vpc.
#[derive(Debug, Clone, PartialEq)]
pub struct Nat {
    /// `snat` or `dnat_and_snat`.
    pub kind: NatKind,
    /// The external address.
    pub external_ip: IpAddr,
    /// The internal address or prefix (`10.0.0.0/24` for SNAT of a subnet).
    pub logical_ip: String,
    /// For a distributed floating IP: the logical port and its external MAC.
    pub logical_port: Option<(String, String)>,
}

/// The kind of a NAT rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    /// Source NAT of internal addresses to the external address.
    Snat,
    /// A floating IP: both directions.
    DnatAndSnat,
}

/// A Vpc's external router port.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalPort {
    /// The port's MAC.
    pub mac: String,
    /// The port's networks, e.g. `172.16.0.10/24`.
    pub networks: Vec<String>,
    /// Gateway chassis names with priorities (highest is active).
    pub gateway_chassis: Vec<(String, i64)>,
}

/// A subnet: a logical switch connected to its Vpc's router.
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    /// Switch name.
    pub name: String,
    /// The Vpc (router) it belongs to.
    pub vpc: String,
    /// One CIDR per family (dual stack has two).
    pub cidrs: Vec<IpNet>,
    /// Gateway per CIDR, in the same order.
    pub gateways: Vec<IpAddr>,
    /// Excluded addresses, as Kube-OVN writes them (`10.0.0.1..10.0.0.10` or single addresses).
    pub exclude_ips: Vec<String>,
    /// MAC of the router port.
    pub router_mac: String,
    /// Whether to create DHCP_Options.
    pub enable_dhcp: bool,
    /// Whether only the subnet itself (and `allow_subnets`) may reach it.
    pub private: bool,
    /// Sources allowed into a private subnet.
    pub allow_subnets: Vec<IpNet>,
}

/// A pod's NIC: a logical switch port.
#[derive(Debug, Clone, PartialEq)]
pub struct PodPort {
    /// Pod name.
    pub pod: String,
    /// Pod namespace.
    pub namespace: String,
    /// Subnet (switch) name.
    pub subnet: String,
    /// MAC address.
    pub mac: String,
    /// Addresses, one per family.
    pub ips: Vec<IpAddr>,
}

impl PodPort {
    /// The port name, `<pod>.<namespace>`.
    pub fn port_name(&self) -> String {
        format!("{}.{}", self.pod, self.namespace)
    }
}

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// OVN's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// A service VIP and its backends.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePort {
    /// Protocol.
    pub protocol: Protocol,
    /// The VIP.
    pub vip: IpAddr,
    /// The VIP's port.
    pub port: u16,
    /// Backends (`ip`, `port`); a VIP without backends is not realised.
    pub backends: Vec<(IpAddr, u16)>,
}

/// A service: VIPs load-balanced to backends.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The Vpc whose switches and router get the load balancers.
    pub vpc: String,
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// ClientIP session affinity (`selection_fields=ip_src`).
    pub session_affinity: bool,
}

/// A NetworkPolicy with its selectors already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPolicy {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Selected pods' port names (`<pod>.<ns>`).
    pub ports: Vec<String>,
    /// Ingress rules; `Some` isolates ingress (an empty list denies all ingress).
    pub ingress: Option<Vec<PolicyRule>>,
    /// Egress rules; `Some` isolates egress.
    pub egress: Option<Vec<PolicyRule>>,
}

/// One rule of a NetworkPolicy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyRule {
    /// Peers; `None` means any peer.
    pub peers: Option<Vec<Peer>>,
    /// Ports; empty means every port.
    pub ports: Vec<PortMatch>,
}

/// A peer of a rule, with selectors resolved to addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// Pod addresses (from pod and namespace selectors).
    Addresses(Vec<IpAddr>),
    /// An ipBlock.
    Block {
        /// The block.
        cidr: IpNet,
        /// Excepted prefixes.
        except: Vec<IpNet>,
    },
}

/// A port or port range of a rule (named ports arrive resolved).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortMatch {
    /// Protocol.
    pub protocol: Protocol,
    /// Port, or first port of the range; `None` for every port of the protocol.
    pub port: Option<u16>,
    /// Last port of the range.
    pub end_port: Option<u16>,
}

/// A whole logical network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// Vpcs.
    pub vpcs: Vec<Vpc>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// Pod ports.
    pub pods: Vec<PodPort>,
    /// Services.
    pub services: Vec<Service>,
    /// NetworkPolicies.
    pub policies: Vec<NetworkPolicy>,
}

fn s(v: impl Into<String>) -> Cell {
    Cell::Value(Datum::scalar(Atom::String(v.into())))
}

fn strings<I: IntoIterator<Item = String>>(v: I) -> Cell {
    Cell::Value(Datum::set(v))
}

fn map<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Cell {
    Cell::Value(Datum::map(
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)),
    ))
}

fn ls_key(name: &str) -> RowKey {
    RowKey::new("Logical_Switch", format!("ls/{name}"))
}

fn lr_key(name: &str) -> RowKey {
    RowKey::new("Logical_Router", format!("lr/{name}"))
}

fn lsp_key(name: &str) -> RowKey {
    RowKey::new("Logical_Switch_Port", format!("lsp/{name}"))
}

/// A name usable in OVN match expressions (`@pg`, `$as`): letters, digits and `_`.
pub fn match_name(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Vpc {
    /// The group realising this Vpc.
    pub fn group(&self) -> Group {
        let lr = lr_key(&self.name);
        let mut rows =
            vec![DesiredRow::new("Logical_Router", lr.key.clone()).col("name", s(&self.name))];
        for (i, r) in self.static_routes.iter().enumerate() {
            rows.push(
                DesiredRow::new(
                    "Logical_Router_Static_Route",
                    format!("route/{}/{i}", self.name),
                )
                .col("ip_prefix", s(r.prefix.to_string()))
                .col("nexthop", s(r.nexthop.to_string()))
                .col(
                    "policy",
                    strings([if r.by_source { "src-ip" } else { "dst-ip" }.to_owned()]),
                )
                .col("route_table", s(&r.route_table))
                .child_of(lr.clone(), "static_routes"),
            );
        }
        for (i, p) in self.policy_routes.iter().enumerate() {
            let (action, nexthops) = match &p.action {
                PolicyAction::Allow => ("allow", vec![]),
                PolicyAction::Drop => ("drop", vec![]),
                PolicyAction::Reroute(n) => {
                    ("reroute", n.iter().map(ToString::to_string).collect())
                }
            };
            rows.push(
                DesiredRow::new("Logical_Router_Policy", format!("policy/{}/{i}", self.name))
                    .col("priority", Cell::Value(Datum::scalar(p.priority)))
                    .col("match", s(&p.matches))
                    .col("action", s(action))
                    .col("nexthops", strings(nexthops))
                    .child_of(lr.clone(), "policies"),
            );
        }
        for (i, n) in self.nat.iter().enumerate() {
            let mut row = DesiredRow::new("NAT", format!("nat/{}/{i}", self.name))
                .col(
                    "type",
                    s(match n.kind {
                        NatKind::Snat => "snat",
                        NatKind::DnatAndSnat => "dnat_and_snat",
                    }),
                )
                .col("external_ip", s(n.external_ip.to_string()))
                .col("logical_ip", s(&n.logical_ip))
                .child_of(lr.clone(), "nat");
            if let Some((port, mac)) = &n.logical_port {
                row = row
                    .col("logical_port", strings([port.clone()]))
                    .col("external_mac", strings([mac.clone()]));
            }
            rows.push(row);
        }
        if let Some(ext) = &self.external {
            let lrp_name = format!("{}-external", self.name);
            let lrp = RowKey::new("Logical_Router_Port", format!("lrp/{lrp_name}"));
            rows.push(
                DesiredRow::new("Logical_Router_Port", lrp.key.clone())
                    .col("name", s(&lrp_name))
                    .col("mac", s(&ext.mac))
                    .col("networks", strings(ext.networks.clone()))
                    .child_of(lr.clone(), "ports"),
            );
            for (chassis, priority) in &ext.gateway_chassis {
                let gc_name = format!("{lrp_name}-{chassis}");
                rows.push(
                    DesiredRow::new("Gateway_Chassis", format!("gc/{gc_name}"))
                        .col("name", s(&gc_name))
                        .col("chassis_name", s(chassis))
                        .col("priority", Cell::Value(Datum::scalar(*priority)))
                        .child_of(lrp.clone(), "gateway_chassis"),
                );
            }
        }
        Group {
            id: format!("vpc/{}", self.name),
            phase: 0,
            rows,
        }
    }
}

impl Subnet {
    /// The group realising this subnet.
    pub fn group(&self) -> Group {
        let ls = ls_key(&self.name);
        let lr = lr_key(&self.vpc);
        let cidrs: Vec<String> = self.cidrs.iter().map(ToString::to_string).collect();
        let mut other = vec![("subnet", cidrs.join(","))];
        if !self.exclude_ips.is_empty() {
            other.push(("exclude_ips", self.exclude_ips.join(" ")));
        }
        let mut rows = vec![
            DesiredRow::new("Logical_Switch", ls.key.clone())
                .col("name", s(&self.name))
                .col("other_config", map(other))
                .col("external_ids", map([("vpc", self.vpc.clone())])),
        ];
        // The router port pair.
        let lsp_name = format!("{}-{}", self.name, self.vpc);
        let lrp_name = format!("{}-{}", self.vpc, self.name);
        let networks: Vec<String> = self
            .cidrs
            .iter()
            .zip(&self.gateways)
            .map(|(c, g)| format!("{g}/{}", c.prefix_len()))
            .collect();
        rows.push(
            DesiredRow::new("Logical_Router_Port", format!("lrp/{lrp_name}"))
                .col("name", s(&lrp_name))
                .col("mac", s(&self.router_mac))
                .col("networks", strings(networks))
                .child_of(lr, "ports"),
        );
        rows.push(
            DesiredRow::new("Logical_Switch_Port", format!("lsp/{lsp_name}"))
                .col("name", s(&lsp_name))
                .col("type", s("router"))
                .col("addresses", strings(["router".to_owned()]))
                .col("options", map([("router-port", lrp_name.clone())]))
                .child_of(ls.clone(), "ports"),
        );
        if self.enable_dhcp {
            for (cidr, gw) in self.cidrs.iter().zip(&self.gateways) {
                let (fam, options) = match cidr {
                    IpNet::V4(_) => (
                        "v4",
                        vec![
                            ("lease_time", "3600".to_owned()),
                            ("router", gw.to_string()),
                            ("server_id", gw.to_string()),
                            ("server_mac", self.router_mac.clone()),
                        ],
                    ),
                    IpNet::V6(_) => ("v6", vec![("server_id", self.router_mac.clone())]),
                };
                rows.push(
                    DesiredRow::new("DHCP_Options", format!("dhcp/{}/{fam}", self.name))
                        .col("cidr", s(cidr.to_string()))
                        .col("options", map(options))
                        .col("external_ids", map([("subnet", self.name.clone())])),
                );
            }
        }
        if self.private {
            for cidr in &self.cidrs {
                let fam = family(cidr);
                rows.push(acl(
                    &format!("subnet/{}/drop/{fam}", self.name),
                    &ls,
                    "acls",
                    "to-lport",
                    PRIORITY_SUBNET_DROP,
                    format!("{fam}.dst == {cidr}"),
                    "drop",
                    false,
                ));
                let mut allowed = vec![*cidr];
                allowed.extend(self.allow_subnets.iter().filter(|a| family(a) == fam));
                for (i, src) in allowed.iter().enumerate() {
                    rows.push(acl(
                        &format!("subnet/{}/allow/{fam}/{i}", self.name),
                        &ls,
                        "acls",
                        "to-lport",
                        PRIORITY_SUBNET_ALLOW,
                        format!("{fam}.src == {src} && {fam}.dst == {cidr}"),
                        "allow-related",
                        false,
                    ));
                }
            }
        }
        Group {
            id: format!("subnet/{}", self.name),
            phase: 1,
            rows,
        }
    }
}

fn family(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "ip4",
        IpNet::V6(_) => "ip6",
    }
}

#[allow(clippy::too_many_arguments)]
fn acl(
    key: &str,
    parent: &RowKey,
    column: &'static str,
    direction: &str,
    priority: i64,
    matches: String,
    action: &str,
    after_lb: bool,
) -> DesiredRow {
    let options = if after_lb {
        vec![("apply-after-lb", "true".to_owned())]
    } else {
        vec![]
    };
    DesiredRow::new("ACL", format!("acl/{key}"))
        .col("direction", s(direction))
        .col("priority", Cell::Value(Datum::scalar(priority)))
        .col("match", s(matches))
        .col("action", s(action))
        .col("options", map(options))
        .child_of(parent.clone(), column)
}

/// The `"mac ip [ip6]"` address string of a port and its `external_ids` describing the
/// network (the annotation names: `ip_address`, `mac_address`, `logical_switch`, and `cidr`
/// and `gateway` when the subnet is known).
fn port_network<'a>(
    mac: &str,
    ips: &[IpAddr],
    switch: &str,
    subnet: Option<&Subnet>,
) -> (String, Vec<(&'a str, String)>) {
    let mut addr = mac.to_owned();
    for ip in ips {
        let _ = write!(addr, " {ip}");
    }
    let ip_list: Vec<String> = ips.iter().map(ToString::to_string).collect();
    let mut ids = vec![
        ("ip_address", ip_list.join(",")),
        ("mac_address", mac.to_owned()),
        ("logical_switch", switch.to_owned()),
    ];
    if let Some(sn) = subnet {
        let cidrs: Vec<String> = sn.cidrs.iter().map(ToString::to_string).collect();
        let gws: Vec<String> = sn.gateways.iter().map(ToString::to_string).collect();
        ids.push(("cidr", cidrs.join(",")));
        ids.push(("gateway", gws.join(",")));
    }
    (addr, ids)
}

/// A node's port on the join subnet: the node daemon's `ovn0` interface binds to it, and the
/// node's join address is the next hop of its subnets' gateway routes.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePort {
    /// Node name.
    pub node: String,
    /// The join subnet's switch.
    pub subnet: String,
    /// MAC address.
    pub mac: String,
    /// Join addresses, one per family.
    pub ips: Vec<IpAddr>,
}

impl NodePort {
    /// The port name, `node-<node>` (Kube-OVN's).
    pub fn port_name(&self) -> String {
        format!("node-{}", self.node)
    }

    /// The group realising this port, given its subnet (for `cidr` and `gateway`). The port has
    /// no port security: the host routes traffic of other sources (node ports, host-network
    /// pods) through it.
    pub fn group(&self, subnet: Option<&Subnet>) -> Group {
        let name = self.port_name();
        let (addr, net) = port_network(&self.mac, &self.ips, &self.subnet, subnet);
        let mut ids = vec![("node", self.node.clone())];
        ids.extend(net);
        let row = DesiredRow::new("Logical_Switch_Port", lsp_key(&name).key)
            .col("name", s(&name))
            .col("addresses", strings([addr]))
            .col("external_ids", map(ids))
            .child_of(ls_key(&self.subnet), "ports");
        Group {
            id: format!("node/{}", self.node),
            phase: 2,
            rows: vec![row],
        }
    }
}

impl PodPort {
    /// The group realising this port, given its subnet (for `cidr` and `gateway`).
    pub fn group(&self, subnet: Option<&Subnet>) -> Group {
        let name = self.port_name();
        let (addr, net) = port_network(&self.mac, &self.ips, &self.subnet, subnet);
        let mut ids = vec![
            ("pod", self.pod.clone()),
            ("namespace", self.namespace.clone()),
        ];
        ids.extend(net);
        let mut row = DesiredRow::new("Logical_Switch_Port", lsp_key(&name).key);
        // The subnet's DHCP options serve the port, per family, when the subnet enables them.
        if let Some(sn) = subnet.filter(|sn| sn.enable_dhcp) {
            for (fam, column) in [("v4", "dhcpv4_options"), ("v6", "dhcpv6_options")] {
                let has = sn
                    .cidrs
                    .iter()
                    .any(|c| matches!((c, fam), (IpNet::V4(_), "v4") | (IpNet::V6(_), "v6")));
                let refs = if has {
                    vec![RowKey::new(
                        "DHCP_Options",
                        format!("dhcp/{}/{fam}", sn.name),
                    )]
                } else {
                    vec![]
                };
                row = row.col(column, Cell::Refs(refs));
            }
        }
        let row = row
            .col("name", s(&name))
            .col("addresses", strings([addr.clone()]))
            .col("port_security", strings([addr]))
            .col("external_ids", map(ids))
            .child_of(ls_key(&self.subnet), "ports");
        Group {
            id: format!("pod/{}/{}", self.namespace, self.pod),
            phase: 2,
            rows: vec![row],
        }
    }
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl Service {
    /// The group realising this service; `subnets` are the names of the Vpc's switches.
    pub fn group(&self, subnets: &[&str]) -> Group {
        let mut by_proto: BTreeMap<Protocol, Vec<(String, String)>> = BTreeMap::new();
        for p in &self.ports {
            if p.backends.is_empty() {
                continue;
            }
            let backends: Vec<String> = p
                .backends
                .iter()
                .map(|(ip, port)| endpoint(*ip, *port))
                .collect();
            by_proto
                .entry(p.protocol)
                .or_default()
                .push((endpoint(p.vip, p.port), backends.join(",")));
        }
        let mut rows = Vec::new();
        for (proto, vips) in by_proto {
            let name = format!("{}/{}/{}", self.namespace, self.name, proto.as_str());
            let mut row = DesiredRow::new("Load_Balancer", format!("lb/{name}"))
                .col("name", s(&name))
                .col("protocol", strings([proto.as_str().to_owned()]))
                .col(
                    "selection_fields",
                    strings(if self.session_affinity {
                        vec!["ip_src".to_owned()]
                    } else {
                        vec![]
                    }),
                )
                .member("vips", Cell::Value(Datum::map(vips)));
            for sn in subnets {
                row = row.attached_to(ls_key(sn), "load_balancer");
            }
            row = row.attached_to(lr_key(&self.vpc), "load_balancer");
            rows.push(row);
        }
        Group {
            id: format!("service/{}/{}", self.namespace, self.name),
            phase: 3,
            rows,
        }
    }
}

impl NetworkPolicy {
    /// The port group's name.
    pub fn port_group_name(&self) -> String {
        match_name(&format!("np_{}_{}", self.namespace, self.name))
    }

    /// The group realising this policy: its port group and ACLs. The address sets its ACLs
    /// name are added to `sets` (shared with every other rule whose peers resolve to the same
    /// addresses); their groups come from [`AddressSets::into_groups`].
    pub fn group<'a>(&'a self, sets: &mut AddressSets<'a>) -> Group {
        let pg_name = self.port_group_name();
        let pg = RowKey::new("Port_Group", format!("pg/{pg_name}"));
        let mut rows = vec![
            DesiredRow::new("Port_Group", pg.key.clone())
                .col("name", s(&pg_name))
                .member(
                    "ports",
                    Cell::Refs(self.ports.iter().map(|p| lsp_key(p)).collect()),
                ),
        ];
        for (dir, rules) in [("ingress", &self.ingress), ("egress", &self.egress)] {
            let Some(rules) = rules else { continue };
            let (direction, port_field, peer_field, after_lb) = match dir {
                "ingress" => ("to-lport", "outport", "src", false),
                _ => ("from-lport", "inport", "dst", true),
            };
            rows.push(acl(
                &format!("{pg_name}/{dir}/drop"),
                &pg,
                "acls",
                direction,
                PRIORITY_POLICY_DROP,
                format!("{port_field} == @{pg_name} && ip"),
                "drop",
                after_lb,
            ));
            for (ri, rule) in rules.iter().enumerate() {
                let ports = port_expression(&rule.ports);
                let named = rule
                    .peers
                    .as_deref()
                    .map(|peers| sets.names(peers, &format!("{pg_name}_{dir}"), ri));
                for (fi, fam) in ["ip4", "ip6"].into_iter().enumerate() {
                    let peer = match &named {
                        None => fam.to_owned(),
                        Some(names) => {
                            let (allow, except) = &names[fi];
                            // No peer address of this family: the rule allows none of it.
                            let Some(allow) = allow else { continue };
                            let mut expr = format!("{fam}.{peer_field} == ${allow}");
                            if let Some(except) = except {
                                let _ = write!(expr, " && {fam}.{peer_field} != ${except}");
                            }
                            expr
                        }
                    };
                    let mut m = format!("{port_field} == @{pg_name} && {peer}");
                    if let Some(p) = &ports {
                        let _ = write!(m, " && {p}");
                    }
                    rows.push(acl(
                        &format!("{pg_name}/{dir}/allow/{ri}/{fam}"),
                        &pg,
                        "acls",
                        direction,
                        PRIORITY_POLICY_ALLOW,
                        m,
                        "allow-related",
                        after_lb,
                    ));
                }
            }
        }
        Group {
            id: format!("policy/{}/{}", self.namespace, self.name),
            phase: 4,
            rows,
        }
    }
}

/// The names of a rule's allow and except sets, per family (`[ip4, ip6]`); `None` for a set
/// that would be empty.
pub type RuleSets = [(Option<String>, Option<String>); 2];

/// The policies' address sets, shared: every rule whose peers resolve to the same addresses
/// (typically "all pods", or a team's namespaces) names one set, so NB holds each distinct
/// list once instead of once per policy, rule and direction.
///
/// A set is named after the first rule (in the network's policy order) that resolves to its
/// list: `<port group>_<ingress|egress>_<allow|except>_<ip4|ip6>_<rule>`, Kube-OVN's per-rule
/// naming. The name is not derived from the contents on purpose: when a pod comes or goes the
/// set keeps its name and changes by mutation, which ovn-controller applies incrementally;
/// a new name would rewrite the match of every ACL using it. A name moves only when its first
/// rule stops resolving to that list (the rule or its policy changes, or goes).
///
/// Each set is its own group (`addrset/<name>`, phase 3, before the policies' ACLs name it):
/// a set no rule names any more is simply absent from the desired state, and a full reconcile
/// removes it. An NB written when every rule had its own set converges: the first rule's set
/// keeps its row (it moves to the set's group), the others' sets are removed.
#[derive(Debug, Default)]
pub struct AddressSets<'a> {
    /// Peer lists already resolved, with the names of their sets.
    by_peers: HashMap<PeersKey<'a>, RuleSets>,
    /// Content hash to the indices of the sets (in `groups`) that have it (several only when
    /// different lists collide).
    by_hash: HashMap<u64, Vec<usize>>,
    /// One group per distinct set.
    groups: Vec<Group>,
}

/// A rule's peers, hashed and compared by value (FNV-1a: the peers of 500 policies hold
/// millions of addresses, so std's SipHash per lookup showed in profiles).
#[derive(Debug, PartialEq, Eq)]
struct PeersKey<'a>(&'a [Peer]);

impl Hash for PeersKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut h = Fnv::default();
        for p in self.0 {
            match p {
                Peer::Addresses(ips) => {
                    h.write_u8(0);
                    h.write_usize(ips.len());
                    for ip in ips {
                        match ip {
                            IpAddr::V4(a) => h.write(&a.octets()),
                            IpAddr::V6(a) => h.write(&a.octets()),
                        }
                    }
                }
                Peer::Block { cidr, except } => {
                    h.write_u8(1);
                    h.write(cidr.to_string().as_bytes());
                    for e in except {
                        h.write(e.to_string().as_bytes());
                    }
                }
            }
        }
        state.write_u64(h.finish());
    }
}

/// 64-bit FNV-1a: cheap on short address strings, and independent of std's hasher.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl<'a> AddressSets<'a> {
    /// The names of the sets for `peers` (allow and except per family) of rule `rule` of
    /// `owner` (`<port group>_<direction>`), creating the sets the first time a list is seen.
    pub fn names(&mut self, peers: &'a [Peer], owner: &str, rule: usize) -> RuleSets {
        let key = PeersKey(peers);
        if let Some(names) = self.by_peers.get(&key) {
            return names.clone();
        }
        let names = ["ip4", "ip6"].map(|fam| {
            let (allow, except) = peer_sets(peers, fam);
            (
                self.intern(allow, || format!("{owner}_allow_{fam}_{rule}")),
                self.intern(except, || format!("{owner}_except_{fam}_{rule}")),
            )
        });
        self.by_peers.insert(key, names.clone());
        names
    }

    /// The name of the set holding exactly `addresses`, creating it as `name()` when new;
    /// `None` when empty.
    fn intern(&mut self, addresses: Vec<String>, name: impl FnOnce() -> String) -> Option<String> {
        if addresses.is_empty() {
            return None;
        }
        let content = Datum::set(addresses);
        let mut h = Fnv::default();
        for a in content.as_set() {
            if let Atom::String(s) = a {
                h.write(s.as_bytes());
                // A separator no address contains: ["1.2", "3"] and ["1.23"] differ.
                h.write_u8(b' ');
            }
        }
        let hash = h.finish();
        let same_hash = self.by_hash.entry(hash).or_default();
        for &i in same_hash.iter() {
            let row = &self.groups[i].rows[0];
            if matches!(row.members.get("addresses"), Some(Cell::Value(d)) if *d == content) {
                return Some(set_name(&self.groups[i]));
            }
        }
        let name = name();
        same_hash.push(self.groups.len());
        self.groups.push(Group {
            id: format!("addrset/{name}"),
            phase: 3,
            rows: vec![
                DesiredRow::new("Address_Set", format!("as/{name}"))
                    .col("name", s(&name))
                    .member("addresses", Cell::Value(content)),
            ],
        });
        Some(name)
    }

    /// The groups of every set named so far.
    pub fn into_groups(self) -> Vec<Group> {
        self.groups
    }
}

/// The set name of an address-set group (`addrset/<name>`).
fn set_name(g: &Group) -> String {
    g.id.trim_start_matches("addrset/").to_owned()
}

/// The allowed and excepted addresses of one family among `peers`.
fn peer_sets(peers: &[Peer], fam: &str) -> (Vec<String>, Vec<String>) {
    let v4 = fam == "ip4";
    let mut allow = Vec::new();
    let mut except = Vec::new();
    for p in peers {
        match p {
            Peer::Addresses(a) => allow.extend(
                a.iter()
                    .filter(|ip| ip.is_ipv4() == v4)
                    .map(ToString::to_string),
            ),
            Peer::Block { cidr, except: ex } => {
                if matches!(cidr, IpNet::V4(_)) == v4 {
                    allow.push(cidr.to_string());
                    except.extend(ex.iter().map(ToString::to_string));
                }
            }
        }
    }
    (allow, except)
}

/// The OVN expression for a rule's ports, `None` for every port.
fn port_expression(ports: &[PortMatch]) -> Option<String> {
    if ports.is_empty() {
        return None;
    }
    let parts: Vec<String> = ports
        .iter()
        .map(|p| {
            let proto = p.protocol.as_str();
            match (p.port, p.end_port) {
                (None, _) => proto.to_owned(),
                (Some(a), Some(b)) if b > a => format!("{proto}.dst >= {a} && {proto}.dst <= {b}"),
                (Some(a), _) => format!("{proto}.dst == {a}"),
            }
        })
        .collect();
    Some(if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("(({}))", parts.join(") || ("))
    })
}

/// Priority of a subnet's gateway reroute policies (Kube-OVN's `GatewayRouterPolicyPriority`).
pub const PRIORITY_GATEWAY_REROUTE: i64 = 29000;
/// Priority of the policies that route traffic to a cluster subnet normally, ahead of any
/// gateway reroute (Kube-OVN's `SubnetRouterPolicyPriority`).
pub const PRIORITY_SUBNET_ROUTE: i64 = 31000;

/// How a subnet's traffic leaves the cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayKind {
    /// Through the node each pod runs on: one entry per node.
    Distributed(Vec<NodeGateway>),
    /// Through the gateway nodes: their join addresses (ECMP when several per family).
    Centralized(Vec<IpAddr>),
}

/// One node of a distributed gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeGateway {
    /// Node name.
    pub node: String,
    /// The node's join addresses.
    pub join_ips: Vec<IpAddr>,
    /// The subnet's pod ports on this node (`<pod>.<ns>`).
    pub ports: Vec<String>,
}

/// A subnet's gateway routing on its Vpc's router.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetGateway {
    /// Subnet (switch) name.
    pub subnet: String,
    /// The Vpc (router).
    pub vpc: String,
    /// The subnet's CIDRs.
    pub cidrs: Vec<IpNet>,
    /// SNAT at the node gateway: marked on the reroute policies' `external_ids:nat_outgoing`,
    /// which the node side turns into its masquerade rule.
    pub nat_outgoing: bool,
    /// Distributed or centralized.
    pub kind: GatewayKind,
}

impl SubnetGateway {
    /// The per-node port group's name, `<subnet>.<node>` with `-` as `.` (Kube-OVN's; OVN's
    /// match language allows dots but not dashes in `$`/`@` names).
    pub fn port_group_name(subnet: &str, node: &str) -> String {
        format!("{subnet}.{node}").replace('-', ".")
    }

    /// The group realising this subnet's routing: a 31000 allow for traffic to the subnet,
    /// and 29000 reroutes of traffic from it to its gateway node(s).
    pub fn group(&self) -> Group {
        let lr = lr_key(&self.vpc);
        let mut rows = Vec::new();
        let nat = if self.nat_outgoing { "true" } else { "false" };
        let policy = |key: String,
                      priority: i64,
                      matches: String,
                      nexthops: Vec<String>,
                      node: Option<&str>| {
            let mut ids = vec![("subnet", self.subnet.clone())];
            if !nexthops.is_empty() {
                ids.push(("nat_outgoing", nat.to_owned()));
            }
            if let Some(n) = node {
                ids.push(("node", n.to_owned()));
            }
            DesiredRow::new("Logical_Router_Policy", key)
                .col("priority", Cell::Value(Datum::scalar(priority)))
                .col("match", s(matches))
                .col(
                    "action",
                    s(if nexthops.is_empty() {
                        "allow"
                    } else {
                        "reroute"
                    }),
                )
                .col("nexthops", strings(nexthops))
                .col("external_ids", map(ids))
                .child_of(lr.clone(), "policies")
        };
        for cidr in &self.cidrs {
            let fam = family(cidr);
            rows.push(policy(
                format!("gw/{}/allow/{fam}", self.subnet),
                PRIORITY_SUBNET_ROUTE,
                format!("{fam}.dst == {cidr}"),
                vec![],
                None,
            ));
        }
        let same_family = |ip: &IpAddr, cidr: &IpNet| ip.is_ipv4() == matches!(cidr, IpNet::V4(_));
        match &self.kind {
            GatewayKind::Centralized(hops) => {
                for cidr in &self.cidrs {
                    let fam = family(cidr);
                    let nexthops: Vec<String> = hops
                        .iter()
                        .filter(|h| same_family(h, cidr))
                        .map(ToString::to_string)
                        .collect();
                    if nexthops.is_empty() {
                        continue;
                    }
                    rows.push(policy(
                        format!("gw/{}/reroute/{fam}", self.subnet),
                        PRIORITY_GATEWAY_REROUTE,
                        format!("{fam}.src == {cidr}"),
                        nexthops,
                        None,
                    ));
                }
            }
            GatewayKind::Distributed(nodes) => {
                for n in nodes {
                    let pg_name = Self::port_group_name(&self.subnet, &n.node);
                    rows.push(
                        DesiredRow::new("Port_Group", format!("pg/{pg_name}"))
                            .col("name", s(&pg_name))
                            .col(
                                "external_ids",
                                map([("subnet", self.subnet.clone()), ("node", n.node.clone())]),
                            )
                            .member(
                                "ports",
                                Cell::Refs(n.ports.iter().map(|p| lsp_key(p)).collect()),
                            ),
                    );
                    for cidr in &self.cidrs {
                        let fam = family(cidr);
                        let Some(hop) = n.join_ips.iter().find(|h| same_family(h, cidr)) else {
                            continue;
                        };
                        rows.push(policy(
                            format!("gw/{}/reroute/{}/{fam}", self.subnet, n.node),
                            PRIORITY_GATEWAY_REROUTE,
                            format!("{fam}.src == ${pg_name}_{fam}"),
                            vec![hop.to_string()],
                            Some(&n.node),
                        ));
                    }
                }
            }
        }
        Group {
            id: format!("gateway/{}", self.subnet),
            phase: 4,
            rows,
        }
    }
}

/// What the network gets per node: the nodes' join ports and the subnets' gateway routing.
/// Kept beside [`Network`] so code building a `Network` literal is unaffected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeNetwork {
    /// The nodes' join ports.
    pub nodes: Vec<NodePort>,
    /// The subnets' gateway routing.
    pub gateways: Vec<SubnetGateway>,
}

impl Network {
    /// The desired state realising the network plus its nodes' part.
    pub fn desired_with(&self, nodes: &NodeNetwork) -> DesiredState {
        let mut d = self.desired();
        let by_name: BTreeMap<&str, &Subnet> =
            self.subnets.iter().map(|s| (s.name.as_str(), s)).collect();
        for n in &nodes.nodes {
            d.insert(n.group(by_name.get(n.subnet.as_str()).copied()));
        }
        for g in &nodes.gateways {
            d.insert(g.group());
        }
        d
    }

    /// The desired state realising the whole network.
    pub fn desired(&self) -> DesiredState {
        let mut d = DesiredState::default();
        for v in &self.vpcs {
            d.insert(v.group());
        }
        for sn in &self.subnets {
            d.insert(sn.group());
        }
        let by_name: BTreeMap<&str, &Subnet> =
            self.subnets.iter().map(|s| (s.name.as_str(), s)).collect();
        for p in &self.pods {
            d.insert(p.group(by_name.get(p.subnet.as_str()).copied()));
        }
        for svc in &self.services {
            let switches: Vec<&str> = self
                .subnets
                .iter()
                .filter(|s| s.vpc == svc.vpc)
                .map(|s| s.name.as_str())
                .collect();
            d.insert(svc.group(&switches));
        }
        let mut sets = AddressSets::default();
        for np in &self.policies {
            d.insert(np.group(&mut sets));
        }
        for g in sets.into_groups() {
            d.insert(g);
        }
        d
    }
}

#[cfg(test)]
#[path = "network/tests.rs"]
mod tests;
