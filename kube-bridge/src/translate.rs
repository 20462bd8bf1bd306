//! Translation: pure functions from Kubernetes objects (plus IPAM results) to the OVN model.
//!
//! Nothing here talks to a server. The controller resolves subnets ([`resolve_subnets`]),
//! allocates addresses for the pods that need them ([`pod_subnet`], [`wants_port`],
//! [`static_request`]), then asks [`translate`] for the whole [`Network`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use ovn_model::network::{
    GatewayKind, Network, NetworkPolicy, NodeGateway, NodeNetwork, NodePort, Peer, PodPort,
    PolicyAction, PolicyRoute, PolicyRule, PortMatch, Protocol, Service as ModelService,
    ServicePort, StaticRoute, Subnet as ModelSubnet, SubnetGateway, Vpc,
};

use crate::annotations;
use crate::error::InputError;
use crate::objects::{NsName, Objects, object_ref};

/// The default Vpc's router.
pub const DEFAULT_VPC: &str = "ovn-cluster";
/// The default subnet.
pub const DEFAULT_SUBNET: &str = "ovn-default";
/// The join subnet (node addresses).
pub const JOIN_SUBNET: &str = "join";
/// The default subnet's CIDR when no Subnet object overrides it (Kube-OVN's default).
pub const DEFAULT_CIDR: &str = "10.16.0.0/16";
/// The join subnet's CIDR (Kube-OVN's default).
pub const JOIN_CIDR: &str = "100.64.0.0/16";

/// A Subnet object, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSubnet {
    /// Name.
    pub name: String,
    /// Vpc (router) name.
    pub vpc: String,
    /// CIDRs, v4 first.
    pub cidrs: Vec<IpNet>,
    /// Gateways, one per CIDR.
    pub gateways: Vec<IpAddr>,
    /// Excluded ranges as written.
    pub exclude_ips: Vec<String>,
    /// Namespaces bound to it.
    pub namespaces: Vec<String>,
    /// Default subnet for unbound namespaces.
    pub default: bool,
    /// Private.
    pub private: bool,
    /// Allowed sources into a private subnet.
    pub allow_subnets: Vec<IpNet>,
    /// DHCP options wanted.
    pub enable_dhcp: bool,
    /// SNAT at the node gateway.
    pub nat_outgoing: bool,
    /// `centralized`: leave through [`Self::gateway_nodes`]; otherwise through each pod's node.
    pub centralized: bool,
    /// The gateway nodes of a centralized subnet (`gatewayNode`, comma-separated; a
    /// `node:ip` entry counts by its node name).
    pub gateway_nodes: Vec<String>,
}

impl ResolvedSubnet {
    /// The IPAM view of the subnet.
    pub fn ipam_spec(&self) -> Result<ipam::SubnetSpec, String> {
        let excludes = self
            .exclude_ips
            .iter()
            .map(|e| {
                e.parse::<ipam::IpRange>()
                    .map_err(|err| format!("excludeIps {e:?}: {err}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ipam::SubnetSpec {
            name: self.name.clone(),
            cidrs: self.cidrs.clone(),
            gateways: self.gateways.clone(),
            excludes,
            pools: Vec::new(),
        })
    }

    /// A MAC for the subnet's router port, stable for its name.
    pub fn router_mac(&self) -> String {
        let h = self.name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        let b = h.to_be_bytes();
        format!("00:00:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
    }
}

fn default_subnet(name: &str, cidr: &str) -> ResolvedSubnet {
    let net: IpNet = cidr.parse().expect("built-in CIDR is valid");
    let gw = first_host(&net);
    ResolvedSubnet {
        name: name.into(),
        vpc: DEFAULT_VPC.into(),
        cidrs: vec![net],
        gateways: vec![gw],
        exclude_ips: vec![],
        namespaces: vec![],
        default: name == DEFAULT_SUBNET,
        private: false,
        allow_subnets: vec![],
        enable_dhcp: false,
        nat_outgoing: name == DEFAULT_SUBNET,
        centralized: false,
        gateway_nodes: vec![],
    }
}

fn first_host(net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) => IpAddr::V4(std::net::Ipv4Addr::from(
            u32::from(n.network()).wrapping_add(1),
        )),
        IpNet::V6(n) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(n.network()).wrapping_add(1),
        )),
    }
}

/// Validates the Subnet objects and adds the default and join subnets unless objects of those
/// names exist. Invalid or overlapping subnets are reported and left out; the others stand.
pub fn resolve_subnets(objects: &Objects) -> (Vec<ResolvedSubnet>, Vec<InputError>) {
    let mut out: Vec<ResolvedSubnet> = Vec::new();
    let mut errors = Vec::new();
    let err = |name: &str, field: &str, message: String| {
        objects.input_error(object_ref("Subnet", None, name), field, message)
    };
    for (name, s) in &objects.subnets {
        let spec = &s.spec;
        let cidrs: Result<Vec<IpNet>, _> = spec
            .cidr_block
            .split(',')
            .map(|c| c.trim().parse::<IpNet>())
            .collect();
        let mut cidrs = match cidrs {
            Ok(c) if !c.is_empty() && c.len() <= 2 => c,
            Ok(_) => {
                errors.push(err(
                    name,
                    "spec.cidrBlock",
                    "needs one CIDR, or a v4 and a v6 CIDR".into(),
                ));
                continue;
            }
            Err(e) => {
                errors.push(err(
                    name,
                    "spec.cidrBlock",
                    format!("{:?} is not a CIDR: {e}", spec.cidr_block),
                ));
                continue;
            }
        };
        cidrs.sort_by_key(|c| matches!(c, IpNet::V6(_)));
        if cidrs.len() == 2 && matches!(cidrs[1], IpNet::V4(_)) == matches!(cidrs[0], IpNet::V4(_))
        {
            errors.push(err(
                name,
                "spec.cidrBlock",
                "a dual-stack subnet needs one v4 and one v6 CIDR".into(),
            ));
            continue;
        }
        let cidrs: Vec<IpNet> = cidrs.into_iter().map(|c| c.trunc()).collect();
        let gateways: Vec<IpAddr> = match &spec.gateway {
            Some(g) if !g.trim().is_empty() => {
                let parsed: Result<Vec<IpAddr>, _> =
                    g.split(',').map(|x| x.trim().parse::<IpAddr>()).collect();
                match parsed {
                    Ok(mut gws) => {
                        gws.sort_by_key(|g| g.is_ipv6());
                        gws
                    }
                    Err(e) => {
                        errors.push(err(
                            name,
                            "spec.gateway",
                            format!("{g:?} is not an address: {e}"),
                        ));
                        continue;
                    }
                }
            }
            _ => cidrs.iter().map(first_host).collect(),
        };
        if gateways.len() != cidrs.len() || cidrs.iter().zip(&gateways).any(|(c, g)| !c.contains(g))
        {
            errors.push(err(
                name,
                "spec.gateway",
                format!("gateway {gateways:?} is not inside {}", spec.cidr_block),
            ));
            continue;
        }
        let allow: Result<Vec<IpNet>, _> = spec
            .allow_subnets
            .iter()
            .map(|a| a.parse::<IpNet>())
            .collect();
        let centralized = match spec.gateway_type.as_deref().unwrap_or_default() {
            "" | "distributed" => false,
            "centralized" => true,
            other => {
                errors.push(err(
                    name,
                    "spec.gatewayType",
                    format!("{other:?} is neither distributed nor centralized"),
                ));
                continue;
            }
        };
        let gateway_nodes: Vec<String> = spec
            .gateway_node
            .iter()
            .flat_map(|g| g.split(','))
            .map(|n| n.split(':').next().unwrap_or_default().trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        if centralized && gateway_nodes.is_empty() {
            errors.push(err(
                name,
                "spec.gatewayNode",
                "a centralized subnet needs at least one gateway node".into(),
            ));
            continue;
        }
        let Ok(allow_subnets) = allow else {
            errors.push(err(
                name,
                "spec.allowSubnets",
                "contains something that is not a CIDR".into(),
            ));
            continue;
        };
        out.push(ResolvedSubnet {
            name: name.clone(),
            vpc: spec
                .vpc
                .clone()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_VPC.into()),
            cidrs,
            gateways,
            exclude_ips: spec.exclude_ips.clone(),
            namespaces: spec.namespaces.clone(),
            default: spec.default,
            private: spec.private,
            allow_subnets,
            enable_dhcp: spec.enable_dhcp,
            nat_outgoing: spec.nat_outgoing,
            centralized,
            gateway_nodes,
        });
    }
    // Built-in subnets come first, so a user subnet overlapping them is the one reported.
    let mut all: Vec<ResolvedSubnet> = Vec::new();
    if !out.iter().any(|s| s.name == JOIN_SUBNET) {
        all.push(default_subnet(JOIN_SUBNET, JOIN_CIDR));
    }
    if !out.iter().any(|s| s.name == DEFAULT_SUBNET || s.default) {
        all.push(default_subnet(DEFAULT_SUBNET, DEFAULT_CIDR));
    }
    for s in out {
        if let Err(e) = s.ipam_spec() {
            errors.push(err(&s.name, "spec.excludeIps", e));
            continue;
        }
        let overlap = all.iter().find(|o| {
            o.vpc == s.vpc
                && o.cidrs.iter().any(|a| {
                    s.cidrs
                        .iter()
                        .any(|b| a.contains(&b.network()) || b.contains(&a.network()))
                })
        });
        if let Some(o) = overlap {
            errors.push(err(
                &s.name,
                "spec.cidrBlock",
                format!("overlaps subnet {} in Vpc {}", o.name, o.vpc),
            ));
            continue;
        }
        all.push(s);
    }
    (all, errors)
}

/// Whether a pod gets a logical switch port: not host-network, not finished.
pub fn wants_port(pod: &Pod) -> bool {
    let host = pod
        .spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false);
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    !host && phase != "Succeeded" && phase != "Failed" && pod.metadata.deletion_timestamp.is_none()
}

/// The IPAM owner key of a pod's primary NIC: `<pod>.<namespace>`, the LSP name.
pub fn owner_key(namespace: &str, name: &str) -> String {
    format!("{name}.{namespace}")
}

/// The subnet a pod belongs to: its `logical_switch` annotation, else its namespace's subnet
/// (a Subnet listing the namespace, or the namespace's own `logical_switch` annotation), else
/// the default subnet.
pub fn pod_subnet<'a>(
    objects: &Objects,
    subnets: &'a [ResolvedSubnet],
    pod: &Pod,
) -> Option<&'a ResolvedSubnet> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let by_name = |n: &str| subnets.iter().find(|s| s.name == n);
    if let Some(ls) = annotation(&pod.metadata.annotations, annotations::LOGICAL_SWITCH) {
        return by_name(ls);
    }
    if let Some(s) = subnets
        .iter()
        .find(|s| s.namespaces.iter().any(|n| n == ns))
    {
        return Some(s);
    }
    if let Some(ls) = objects
        .namespaces
        .get(ns)
        .and_then(|n: &Namespace| annotation(&n.metadata.annotations, annotations::LOGICAL_SWITCH))
    {
        return by_name(ls);
    }
    subnets.iter().find(|s| s.default && s.name != JOIN_SUBNET)
}

fn annotation<'a>(map: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    map.as_ref()
        .and_then(|m| m.get(key))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The static address and MAC a pod asks for through `ip_address`/`mac_address` annotations.
pub fn static_request(pod: &Pod) -> Result<ipam::Request, (String, String)> {
    static_request_from(&pod.metadata.annotations)
}

/// The static address and MAC an object's `ip_address`/`mac_address` annotations ask for
/// (a pod's, or a node's join address).
pub fn static_request_from(
    object_annotations: &Option<BTreeMap<String, String>>,
) -> Result<ipam::Request, (String, String)> {
    let mut req = ipam::Request::next();
    if let Some(ips) = annotation(object_annotations, annotations::IP_ADDRESS) {
        let parsed: Result<Vec<IpAddr>, _> = ips
            .split(',')
            .map(|i| {
                i.trim()
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .parse::<IpAddr>()
            })
            .collect();
        match parsed {
            Ok(v) => req.addresses = ipam::AddressRequest::Static(v),
            Err(e) => {
                return Err((
                    format!("metadata.annotations[{}]", annotations::IP_ADDRESS),
                    format!("{ips:?} is not an address list: {e}"),
                ));
            }
        }
    }
    if let Some(mac) = annotation(object_annotations, annotations::MAC_ADDRESS) {
        match mac.parse::<ipam::MacAddr>() {
            Ok(m) => req.mac = ipam::MacRequest::Static(m),
            Err(e) => {
                return Err((
                    format!("metadata.annotations[{}]", annotations::MAC_ADDRESS),
                    format!("{mac:?} is not a MAC: {e}"),
                ));
            }
        }
    }
    Ok(req)
}

/// A pod's allocated network.
#[derive(Debug, Clone, PartialEq)]
pub struct PodAddress {
    /// Subnet name.
    pub subnet: String,
    /// Addresses, v4 first.
    pub ips: Vec<IpAddr>,
    /// MAC.
    pub mac: String,
}

/// An allocation with its subnet's network: everything the annotations carry, so the cluster
/// side writes them without re-deriving anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// The subnet (`logical_switch`).
    pub logical_switch: String,
    /// Addresses, v4 first (`ip_address`).
    pub ips: Vec<IpAddr>,
    /// MAC (`mac_address`).
    pub mac: String,
    /// The subnet's CIDRs (`cidr`).
    pub cidrs: Vec<IpNet>,
    /// The subnet's gateways (`gateway`).
    pub gateways: Vec<IpAddr>,
}

impl Allocation {
    /// An address in its subnet.
    pub fn new(addr: &PodAddress, subnet: &ResolvedSubnet) -> Allocation {
        Allocation {
            logical_switch: subnet.name.clone(),
            ips: addr.ips.clone(),
            mac: addr.mac.clone(),
            cidrs: subnet.cidrs.clone(),
            gateways: subnet.gateways.clone(),
        }
    }

    /// The address alone.
    pub fn address(&self) -> PodAddress {
        PodAddress {
            subnet: self.logical_switch.clone(),
            ips: self.ips.clone(),
            mac: self.mac.clone(),
        }
    }

    /// The annotations Kube-OVN writes for an allocation (on a Node as on a Pod):
    /// `ip_address`, `mac_address`, `cidr`, `gateway`, `logical_switch` and `allocated`.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        fn join<T: ToString>(v: &[T]) -> String {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }
        BTreeMap::from([
            (annotations::ALLOCATED.into(), "true".into()),
            (annotations::IP_ADDRESS.into(), join(&self.ips)),
            (annotations::MAC_ADDRESS.into(), self.mac.clone()),
            (annotations::CIDR.into(), join(&self.cidrs)),
            (annotations::GATEWAY.into(), join(&self.gateways)),
            (
                annotations::LOGICAL_SWITCH.into(),
                self.logical_switch.clone(),
            ),
        ])
    }
}

/// The annotations the controller writes on a pod (Kube-OVN's protocol): the allocation's
/// plus `routed`.
pub fn pod_annotations(addr: &PodAddress, subnet: &ResolvedSubnet) -> BTreeMap<String, String> {
    let mut a = Allocation::new(addr, subnet).annotations();
    a.insert(annotations::ROUTED.into(), "true".into());
    a
}

/// The annotations the controller writes on a node for its join address.
pub fn node_annotations(addr: &PodAddress, join: &ResolvedSubnet) -> BTreeMap<String, String> {
    Allocation::new(addr, join).annotations()
}

/// The IPAM owner key of a node's join address, `node/<name>`: a `/` never occurs in a pod's
/// key, so the two never collide.
pub fn node_owner_key(node: &str) -> String {
    format!("node/{node}")
}

/// Whether a label selector matches labels (matchLabels and matchExpressions).
pub fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    if let Some(ml) = &sel.match_labels {
        if ml.iter().any(|(k, v)| labels.get(k) != Some(v)) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let have = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => have.is_none_or(|v| !values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// No labels at all, for objects without a `labels` map.
static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// An object's labels, borrowed: selectors are matched against every pod of a namespace (or
/// of all of them) per policy peer, so copying the map there dominated a pass.
fn labels(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> &BTreeMap<String, String> {
    meta.labels.as_ref().unwrap_or(&NO_LABELS)
}

fn protocol(p: Option<&str>) -> Protocol {
    match p {
        Some("UDP") => Protocol::Udp,
        Some("SCTP") => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

/// The pods of one namespace (a range of the sorted map, not a scan of every pod).
fn pods_in<'a>(objects: &'a Objects, ns: &str) -> impl Iterator<Item = (&'a NsName, &'a Pod)> {
    let ns = ns.to_owned();
    objects
        .pods
        .range((ns.clone(), String::new())..)
        .take_while(move |((pns, _), _)| *pns == ns)
}

/// The container port of a pod with that name.
fn named_port(pod: &Pod, name: &str) -> Option<(u16, Option<String>)> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find_map(|p| {
            (p.name.as_deref() == Some(name)).then(|| (p.container_port as u16, p.protocol.clone()))
        })
}

/// The whole network for the objects and the pods' addresses (no node part; see
/// [`translate_cluster`]).
pub fn translate(
    objects: &Objects,
    subnets: &[ResolvedSubnet],
    addresses: &BTreeMap<NsName, PodAddress>,
) -> (Network, Vec<InputError>) {
    let (net, _, errors) = translate_cluster(objects, subnets, addresses, &BTreeMap::new());
    (net, errors)
}

/// The whole network plus its node part, for the objects, the pods' addresses and the nodes'
/// join addresses (by node name).
pub fn translate_cluster(
    objects: &Objects,
    subnets: &[ResolvedSubnet],
    addresses: &BTreeMap<NsName, PodAddress>,
    node_addresses: &BTreeMap<String, PodAddress>,
) -> (Network, NodeNetwork, Vec<InputError>) {
    let (net, errors) = translate_network(objects, subnets, addresses);
    // The pods of each (subnet, node), for the distributed gateways' port groups.
    let mut on_node: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for (key, addr) in addresses {
        let node = objects
            .pods
            .get(key)
            .and_then(|p| p.spec.as_ref())
            .and_then(|s| s.node_name.as_deref());
        if let Some(node) = node {
            on_node
                .entry((addr.subnet.as_str(), node))
                .or_default()
                .push(owner_key(&key.0, &key.1));
        }
    }
    let gateways = subnets
        .iter()
        // As in Kube-OVN, gateways route the default Vpc's subnets; the join subnet only gets
        // its allow.
        .filter(|s| s.vpc == DEFAULT_VPC)
        .map(|s| SubnetGateway {
            subnet: s.name.clone(),
            vpc: s.vpc.clone(),
            cidrs: s.cidrs.clone(),
            nat_outgoing: s.nat_outgoing,
            kind: if s.name == JOIN_SUBNET {
                GatewayKind::Distributed(vec![])
            } else if s.centralized {
                GatewayKind::Centralized(
                    s.gateway_nodes
                        .iter()
                        .filter_map(|n| node_addresses.get(n))
                        .flat_map(|a| a.ips.iter().copied())
                        .collect(),
                )
            } else {
                GatewayKind::Distributed(
                    node_addresses
                        .iter()
                        .map(|(node, a)| NodeGateway {
                            node: node.clone(),
                            join_ips: a.ips.clone(),
                            ports: on_node
                                .get(&(s.name.as_str(), node.as_str()))
                                .cloned()
                                .unwrap_or_default(),
                        })
                        .collect(),
                )
            },
        })
        .collect();
    let nodes = NodeNetwork {
        gateways,
        nodes: node_addresses
            .iter()
            .map(|(node, a)| NodePort {
                node: node.clone(),
                subnet: a.subnet.clone(),
                mac: a.mac.clone(),
                ips: a.ips.clone(),
            })
            .collect(),
    };
    (net, nodes, errors)
}

fn translate_network(
    objects: &Objects,
    subnets: &[ResolvedSubnet],
    addresses: &BTreeMap<NsName, PodAddress>,
) -> (Network, Vec<InputError>) {
    let mut errors = Vec::new();
    let mut net = Network::default();
    let mut vpc_names: BTreeSet<String> = subnets.iter().map(|s| s.vpc.clone()).collect();
    vpc_names.insert(DEFAULT_VPC.into());
    vpc_names.extend(objects.vpcs.keys().cloned());
    for name in &vpc_names {
        let mut vpc = Vpc {
            name: name.clone(),
            ..Default::default()
        };
        if let Some(v) = objects.vpcs.get(name) {
            let oref = object_ref("Vpc", None, name);
            for (i, r) in v.spec.static_routes.iter().enumerate() {
                match (r.cidr.parse::<IpNet>(), r.next_hop_ip.parse::<IpAddr>()) {
                    (Ok(prefix), Ok(nexthop)) => vpc.static_routes.push(StaticRoute {
                        prefix,
                        nexthop,
                        by_source: r.policy.as_deref().is_some_and(|p| p.contains("rc")),
                        route_table: String::new(),
                    }),
                    _ => errors.push(objects.input_error(
                        oref.clone(),
                        format!("spec.staticRoutes[{i}]"),
                        format!(
                            "{:?} via {:?} is not a CIDR and an address",
                            r.cidr, r.next_hop_ip
                        ),
                    )),
                }
            }
            for p in &v.spec.policy_routes {
                let action = match p.action.as_str() {
                    "drop" => PolicyAction::Drop,
                    "reroute" => PolicyAction::Reroute(
                        p.next_hop_ip
                            .iter()
                            .flat_map(|n| n.split(','))
                            .filter_map(|n| n.trim().parse().ok())
                            .collect(),
                    ),
                    _ => PolicyAction::Allow,
                };
                vpc.policy_routes.push(PolicyRoute {
                    priority: i64::from(p.priority),
                    matches: p.matches.clone(),
                    action,
                });
            }
        }
        if name == DEFAULT_VPC {
            add_default_routes(&mut vpc, subnets);
        }
        net.vpcs.push(vpc);
    }
    for s in subnets {
        net.subnets.push(ModelSubnet {
            name: s.name.clone(),
            vpc: s.vpc.clone(),
            cidrs: s.cidrs.clone(),
            gateways: s.gateways.clone(),
            exclude_ips: s.exclude_ips.clone(),
            router_mac: s.router_mac(),
            enable_dhcp: s.enable_dhcp,
            private: s.private,
            allow_subnets: s.allow_subnets.clone(),
        });
    }
    for ((ns, name), addr) in addresses {
        net.pods.push(PodPort {
            pod: name.clone(),
            namespace: ns.clone(),
            subnet: addr.subnet.clone(),
            mac: addr.mac.clone(),
            ips: addr.ips.clone(),
        });
    }
    // Services: ClusterIPs plus ready endpoints.
    for ((ns, name), svc) in &objects.services {
        if let Some(s) = service(objects, subnets, addresses, ns, name, svc) {
            net.services.push(s);
        }
    }
    let peer_cache = PeerCache::default();
    for ((ns, name), np) in &objects.network_policies {
        net.policies
            .push(policy(objects, addresses, &peer_cache, ns, name, np));
    }
    (net, errors)
}

/// The default Vpc's default routes, as Kube-OVN gives its cluster router: `0.0.0.0/0` via
/// the join subnet's IPv4 gateway and `::/0` via its IPv6 gateway (dst-ip, main route table).
///
/// The gateway is the router's own address on the join switch. The route exists so that
/// traffic leaving the cluster passes the routing stage (OVN routes before it applies the
/// policies); the 29000 reroute policies then send it to a node's join address. A route of
/// the same prefix in the Vpc's own `staticRoutes` (main table, by destination) wins: the
/// default is not added beside it, which would make OVN spread traffic over both.
fn add_default_routes(vpc: &mut Vpc, subnets: &[ResolvedSubnet]) {
    let Some(join) = subnets
        .iter()
        .find(|s| s.name == JOIN_SUBNET && s.vpc == vpc.name)
    else {
        return;
    };
    for gateway in &join.gateways {
        let prefix: IpNet = match gateway {
            IpAddr::V4(_) => IpNet::V4(Default::default()),
            IpAddr::V6(_) => IpNet::V6(Default::default()),
        };
        let overridden = vpc
            .static_routes
            .iter()
            .any(|r| r.prefix == prefix && !r.by_source && r.route_table.is_empty());
        if !overridden {
            vpc.static_routes.push(StaticRoute {
                prefix,
                nexthop: *gateway,
                by_source: false,
                route_table: String::new(),
            });
        }
    }
}

fn service(
    objects: &Objects,
    subnets: &[ResolvedSubnet],
    addresses: &BTreeMap<NsName, PodAddress>,
    ns: &str,
    name: &str,
    svc: &Service,
) -> Option<ModelService> {
    let spec = svc.spec.as_ref()?;
    let mut vips: Vec<IpAddr> = spec
        .cluster_ips
        .iter()
        .flatten()
        .filter_map(|i| i.parse().ok())
        .collect();
    if vips.is_empty() {
        vips.extend(
            spec.cluster_ip
                .as_deref()
                .and_then(|i| i.parse::<IpAddr>().ok()),
        );
    }
    if vips.is_empty() {
        return None;
    }
    let slices: Vec<_> = objects
        .endpoint_slices
        .iter()
        .filter(|((sns, _), s)| {
            sns == ns
                && s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    .map(String::as_str)
                    == Some(name)
        })
        .map(|(_, s)| s)
        .collect();
    let mut ports = Vec::new();
    for p in spec.ports.iter().flatten() {
        let proto = protocol(p.protocol.as_deref());
        let port_name = p.name.clone().unwrap_or_default();
        let mut backends: Vec<(IpAddr, u16)> = Vec::new();
        if !slices.is_empty() {
            for s in &slices {
                let Some(target) = s
                    .ports
                    .iter()
                    .flatten()
                    .find(|ep| ep.name.clone().unwrap_or_default() == port_name)
                    .and_then(|ep| ep.port)
                else {
                    continue;
                };
                for e in &s.endpoints {
                    if e.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                        continue;
                    }
                    backends.extend(
                        e.addresses
                            .iter()
                            .filter_map(|a| a.parse().ok())
                            .map(|a| (a, target as u16)),
                    );
                }
            }
        } else if let Some(sel) = &spec.selector {
            // As Kubernetes' endpoint controller computes it: the selected pods' addresses.
            for (key, pod) in pods_in(objects, ns) {
                if !wants_port(pod) {
                    continue;
                }
                let l = labels(&pod.metadata);
                if sel.iter().any(|(k, v)| l.get(k) != Some(v)) {
                    continue;
                }
                let Some(addr) = addresses.get(key) else {
                    continue;
                };
                let target = match &p.target_port {
                    None => Some(p.port as u16),
                    Some(IntOrString::Int(t)) => Some(*t as u16),
                    Some(IntOrString::String(n)) => named_port(pod, n).map(|(port, _)| port),
                };
                let Some(target) = target else { continue };
                backends.extend(addr.ips.iter().map(|ip| (*ip, target)));
            }
        }
        for vip in &vips {
            let fam: Vec<(IpAddr, u16)> = backends
                .iter()
                .filter(|(b, _)| b.is_ipv4() == vip.is_ipv4())
                .cloned()
                .collect();
            ports.push(ServicePort {
                protocol: proto,
                vip: *vip,
                port: p.port as u16,
                backends: fam,
            });
        }
    }
    // A service's Vpc: the one of its namespace's subnet.
    let vpc = subnets
        .iter()
        .find(|s| s.namespaces.iter().any(|n| n == ns))
        .map(|s| s.vpc.clone())
        .unwrap_or_else(|| DEFAULT_VPC.into());
    Some(ModelService {
        name: name.into(),
        namespace: ns.into(),
        vpc,
        ports,
        session_affinity: spec.session_affinity.as_deref() == Some("ClientIP"),
    })
}

/// Peer address lists already resolved in this translation, by (namespaces, pod selector).
type PeerCache = std::cell::RefCell<BTreeMap<(Vec<String>, String), Vec<IpAddr>>>;

fn policy(
    objects: &Objects,
    addresses: &BTreeMap<NsName, PodAddress>,
    peer_cache: &PeerCache,
    ns: &str,
    name: &str,
    np: &k8s_openapi::api::networking::v1::NetworkPolicy,
) -> NetworkPolicy {
    let spec = np.spec.clone().unwrap_or_default();
    let pod_selector = spec.pod_selector.clone().unwrap_or_default();
    let selected: Vec<(&NsName, &Pod)> = pods_in(objects, ns)
        .filter(|(_, pod)| selector_matches(&pod_selector, labels(&pod.metadata)))
        .collect();
    let types: Vec<String> = spec.policy_types.clone().unwrap_or_else(|| {
        let mut t = vec!["Ingress".to_owned()];
        if spec.egress.is_some() {
            t.push("Egress".into());
        }
        t
    });
    let peers = |list: &Option<Vec<NetworkPolicyPeer>>| -> Option<Vec<Peer>> {
        let list = list.as_ref()?;
        if list.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for peer in list {
            if let Some(block) = &peer.ip_block {
                if let Ok(cidr) = block.cidr.parse::<IpNet>() {
                    let except = block
                        .except
                        .iter()
                        .flatten()
                        .filter_map(|e| e.parse().ok())
                        .collect();
                    out.push(Peer::Block { cidr, except });
                }
                continue;
            }
            let namespaces: Vec<&str> = match &peer.namespace_selector {
                None => vec![ns],
                Some(sel) => objects
                    .namespaces
                    .iter()
                    .filter(|(_, n)| selector_matches(sel, labels(&n.metadata)))
                    .map(|(k, _)| k.as_str())
                    .collect(),
            };
            let pod_sel = peer.pod_selector.clone().unwrap_or_default();
            // Policies often repeat a peer (all namespaces, a team's namespaces): each
            // distinct (namespaces, pod selector) is resolved once per translation.
            let cache_key = (
                namespaces
                    .iter()
                    .map(|n| (*n).to_owned())
                    .collect::<Vec<_>>(),
                serde_json::to_string(&pod_sel).unwrap_or_default(),
            );
            if let Some(ips) = peer_cache.borrow().get(&cache_key) {
                out.push(Peer::Addresses(ips.clone()));
                continue;
            }
            let mut ips = Vec::new();
            for (key, pod) in namespaces.iter().flat_map(|n| pods_in(objects, n)) {
                if !selector_matches(&pod_sel, labels(&pod.metadata)) {
                    continue;
                }
                if let Some(a) = addresses.get(key) {
                    ips.extend(a.ips.iter().copied());
                }
            }
            peer_cache.borrow_mut().insert(cache_key, ips.clone());
            out.push(Peer::Addresses(ips));
        }
        Some(out)
    };
    let ports = |list: &Option<Vec<NetworkPolicyPort>>| -> Vec<PortMatch> {
        let mut out = Vec::new();
        for p in list.iter().flatten() {
            let proto = protocol(p.protocol.as_deref());
            match &p.port {
                None => out.push(PortMatch {
                    protocol: proto,
                    port: None,
                    end_port: None,
                }),
                Some(IntOrString::Int(n)) => out.push(PortMatch {
                    protocol: proto,
                    port: Some(*n as u16),
                    end_port: p.end_port.map(|e| e as u16),
                }),
                Some(IntOrString::String(named)) => {
                    // Named ports resolve per selected pod; each distinct number is a match.
                    let mut seen = BTreeSet::new();
                    for (_, pod) in &selected {
                        if let Some((n, _)) = named_port(pod, named) {
                            if seen.insert(n) {
                                out.push(PortMatch {
                                    protocol: proto,
                                    port: Some(n),
                                    end_port: None,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    };
    let ingress = types.iter().any(|t| t == "Ingress").then(|| {
        spec.ingress
            .iter()
            .flatten()
            .map(|r| PolicyRule {
                peers: peers(&r.from),
                ports: ports(&r.ports),
            })
            .collect()
    });
    let egress = types.iter().any(|t| t == "Egress").then(|| {
        spec.egress
            .iter()
            .flatten()
            .map(|r| PolicyRule {
                peers: peers(&r.to),
                ports: ports(&r.ports),
            })
            .collect()
    });
    NetworkPolicy {
        name: name.into(),
        namespace: ns.into(),
        ports: selected
            .iter()
            .filter(|(k, _)| addresses.contains_key(*k))
            .map(|((pns, pname), _)| owner_key(pns, pname))
            .collect(),
        ingress,
        egress,
    }
}

#[cfg(test)]
#[path = "translate/tests.rs"]
mod tests;
