//! Plain data the allocator takes and returns.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

use crate::error::{IpamError, Result};

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// A 48-bit Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The address as the low 48 bits of a `u64`.
    pub fn to_u64(self) -> u64 {
        self.0
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    }

    /// The address from the low 48 bits of a `u64`.
    pub fn from_u64(v: u64) -> MacAddr {
        let b = v.to_be_bytes();
        MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// Whether the group (multicast) bit is clear.
    pub fn is_unicast(self) -> bool {
        self.0[0] & 1 == 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = IpamError;

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); multicast addresses are rejected.
    fn from_str(s: &str) -> Result<MacAddr> {
        let bad = || IpamError::InvalidMac {
            input: s.to_owned(),
        };
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() || out[0] & 1 == 1 {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    /// First address.
    pub start: IpAddr,
    /// Last address (inclusive).
    pub end: IpAddr,
}

impl IpRange {
    /// A range from `start` to `end` inclusive; both must be of one family and in order.
    pub fn new(start: IpAddr, end: IpAddr) -> Result<IpRange> {
        let r = IpRange { start, end };
        if Family::of(&start) != Family::of(&end) {
            return Err(IpamError::InvalidRange {
                input: r.to_string(),
                reason: "start and end are of different families",
            });
        }
        if ip_to_u128(start) > ip_to_u128(end) {
            return Err(IpamError::InvalidRange {
                input: r.to_string(),
                reason: "start is after end",
            });
        }
        Ok(r)
    }

    /// A range holding one address.
    pub fn single(ip: IpAddr) -> IpRange {
        IpRange { start: ip, end: ip }
    }

    /// The family of the range.
    pub fn family(&self) -> Family {
        Family::of(&self.start)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

impl FromStr for IpRange {
    type Err = IpamError;

    /// Parses Kube-OVN's forms: `10.0.0.1..10.0.0.10`, a single address, or a CIDR.
    fn from_str(s: &str) -> Result<IpRange> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once("..") {
            return IpRange::new(parse_ip(a)?, parse_ip(b)?);
        }
        if s.contains('/') {
            let net = parse_cidr(s)?;
            return Ok(IpRange {
                start: net.network(),
                end: net.broadcast(),
            });
        }
        Ok(IpRange::single(parse_ip(s)?))
    }
}

pub(crate) fn parse_ip(s: &str) -> Result<IpAddr> {
    s.trim().parse().map_err(|_| IpamError::InvalidAddress {
        input: s.to_owned(),
    })
}

pub(crate) fn parse_cidr(s: &str) -> Result<IpNet> {
    s.trim()
        .parse::<IpNet>()
        .map(|n| n.trunc())
        .map_err(|_| IpamError::InvalidCidr {
            input: s.to_owned(),
        })
}

pub(crate) fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

pub(crate) fn u128_to_ip(family: Family, v: u128) -> IpAddr {
    match family {
        // Truncation is intended: v4 values always fit in 32 bits.
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// A named sub-range of a subnet (Kube-OVN's IPPool). Named pools of one subnet never overlap;
/// the subnet's default pool is everything that is in no named pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// Pool name, unique within its subnet.
    pub name: String,
    /// The addresses of the pool (either family).
    pub ranges: Vec<IpRange>,
}

/// Configuration of one subnet: one CIDR per family (IPv4, IPv6, or both for dual stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSpec {
    /// Unique subnet name.
    pub name: String,
    /// One or two CIDRs, at most one per family.
    pub cidrs: Vec<IpNet>,
    /// Gateways, at most one per family; a family without one gets the first usable address.
    pub gateways: Vec<IpAddr>,
    /// Addresses never handed out.
    pub excludes: Vec<IpRange>,
    /// Named pools.
    pub pools: Vec<PoolSpec>,
}

impl SubnetSpec {
    /// A subnet from Kube-OVN's `cidrBlock` form: `10.16.0.0/16` or `10.16.0.0/16,fd00:10:16::/64`.
    pub fn new(name: impl Into<String>, cidr_block: &str) -> Result<SubnetSpec> {
        let cidrs = cidr_block
            .split(',')
            .map(parse_cidr)
            .collect::<Result<Vec<_>>>()?;
        Ok(SubnetSpec {
            name: name.into(),
            cidrs,
            gateways: Vec::new(),
            excludes: Vec::new(),
            pools: Vec::new(),
        })
    }

    /// Sets the gateways from Kube-OVN's `gateway` form: `10.16.0.1` or `10.16.0.1,fd00:10:16::1`.
    pub fn with_gateway(mut self, gateway: &str) -> Result<SubnetSpec> {
        self.gateways = gateway
            .split(',')
            .map(parse_ip)
            .collect::<Result<Vec<_>>>()?;
        Ok(self)
    }

    /// Adds exclude ranges in Kube-OVN's `excludeIps` forms (`a..b`, single address, CIDR).
    pub fn with_excludes(mut self, excludes: &[&str]) -> Result<SubnetSpec> {
        for e in excludes {
            self.excludes.push(e.parse()?);
        }
        Ok(self)
    }

    /// Adds a named pool whose ranges use the `excludeIps` forms.
    pub fn with_pool(mut self, name: impl Into<String>, ranges: &[&str]) -> Result<SubnetSpec> {
        let ranges = ranges
            .iter()
            .map(|r| r.parse())
            .collect::<Result<Vec<IpRange>>>()?;
        self.pools.push(PoolSpec {
            name: name.into(),
            ranges,
        });
        Ok(self)
    }
}

/// How the addresses of an allocation are chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AddressRequest {
    /// The next free address (never-used addresses first).
    #[default]
    Next,
    /// A random free address (never-used addresses first).
    Random,
    /// These exact addresses, at most one per family. In a dual-stack subnet a family left out
    /// gets the next free address, as Kube-OVN does.
    Static(Vec<IpAddr>),
}

/// How the MAC address of an allocation is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MacRequest {
    /// A random locally administered unicast MAC, unique within the allocator.
    #[default]
    Random,
    /// This MAC; it must not be held by another owner.
    Static(MacAddr),
    /// No MAC.
    None,
}

/// A full allocation request. `Request::default()` asks for the next free address from the
/// default pool with a random MAC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Address choice.
    pub addresses: AddressRequest,
    /// Named pool to allocate from (`None`: the subnet's default pool).
    pub pool: Option<String>,
    /// MAC choice.
    pub mac: MacRequest,
}

impl Request {
    /// Next free addresses, random MAC.
    pub fn next() -> Request {
        Request::default()
    }

    /// Random free addresses, random MAC.
    pub fn random() -> Request {
        Request {
            addresses: AddressRequest::Random,
            ..Request::default()
        }
    }

    /// These static addresses, random MAC.
    pub fn static_ips(ips: &[IpAddr]) -> Request {
        Request {
            addresses: AddressRequest::Static(ips.to_vec()),
            ..Request::default()
        }
    }

    /// Allocate from the named pool.
    pub fn pool(mut self, pool: impl Into<String>) -> Request {
        self.pool = Some(pool.into());
        self
    }

    /// Use this MAC choice.
    pub fn mac(mut self, mac: MacRequest) -> Request {
        self.mac = mac;
        self
    }
}

/// What an owner holds: one address per family of its subnet, and optionally a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Allocation {
    /// The IPv4 address, for IPv4 and dual-stack subnets.
    pub v4: Option<Ipv4Addr>,
    /// The IPv6 address, for IPv6 and dual-stack subnets.
    pub v6: Option<Ipv6Addr>,
    /// The MAC address, unless none was asked for.
    pub mac: Option<MacAddr>,
}

impl Allocation {
    /// The addresses, IPv4 first.
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.v4
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.v6.map(IpAddr::V6))
    }
}

impl fmt::Display for Allocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ips: Vec<String> = self.ips().map(|i| i.to_string()).collect();
        write!(f, "{}", ips.join(","))?;
        if let Some(m) = self.mac {
            write!(f, " mac {m}")?;
        }
        Ok(())
    }
}

/// Exact address counts; `u128` so a `/64` (or larger) is counted exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Allocatable addresses (excluding gateway, network, broadcast and excludes).
    pub total: u128,
    /// Allocatable addresses currently held.
    pub used: u128,
    /// `total - used`.
    pub available: u128,
}

impl Usage {
    fn add(self, o: Usage) -> Usage {
        Usage {
            total: self.total.saturating_add(o.total),
            used: self.used.saturating_add(o.used),
            available: self.available.saturating_add(o.available),
        }
    }
}

/// Usage of one pool, per family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUsage {
    /// Pool name (`None` for the default pool).
    pub name: Option<String>,
    /// IPv4 usage if the subnet has IPv4.
    pub v4: Option<Usage>,
    /// IPv6 usage if the subnet has IPv6.
    pub v6: Option<Usage>,
}

/// Usage of a subnet, per family, and of each of its pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetUsage {
    /// IPv4 usage if the subnet has IPv4.
    pub v4: Option<Usage>,
    /// IPv6 usage if the subnet has IPv6.
    pub v6: Option<Usage>,
    /// The default pool first, then named pools in spec order.
    pub pools: Vec<PoolUsage>,
}

impl SubnetUsage {
    pub(crate) fn from_pools(pools: Vec<PoolUsage>) -> SubnetUsage {
        let sum = |f: fn(&PoolUsage) -> Option<Usage>| {
            pools
                .iter()
                .filter_map(f)
                .fold(None, |acc: Option<Usage>, u| {
                    Some(acc.map_or(u, |a| a.add(u)))
                })
        };
        SubnetUsage {
            v4: sum(|p| p.v4),
            v6: sum(|p| p.v6),
            pools,
        }
    }
}

/// One existing allocation to load at start-up (from pod annotations or IP resources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRecord {
    /// Owner key, e.g. `pod.namespace/eth0`.
    pub owner: String,
    /// Subnet name.
    pub subnet: String,
    /// The addresses, at most one per family.
    pub ips: Vec<IpAddr>,
    /// The MAC, if any.
    pub mac: Option<MacAddr>,
}

/// A record that was not restored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreConflict {
    /// Index of the record in the input.
    pub index: usize,
    /// Its owner key.
    pub owner: String,
    /// Why it was refused (for example `AddressInUse` naming the holder).
    pub error: IpamError,
}

/// Outcome of a bulk restore. Each record is restored whole or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Records now held (including ones that were already held identically).
    pub restored: usize,
    /// Records refused.
    pub conflicts: Vec<RestoreConflict>,
}
