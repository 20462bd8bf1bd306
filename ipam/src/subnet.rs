//! A validated subnet: per-family spaces built from a [`SubnetSpec`], and the claims a request
//! makes in them. Nothing here knows about owners.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;

use crate::bitmap::{AddressBitmap, CHUNK_ADDRS, CHUNK_SHIFT, CHUNK_WORDS, LOW, WORD_ADDRS};
use crate::error::{IpamError, Result};
use crate::space::{Interval, PoolSpace, intersect, normalise, subtract};
use crate::sync::Ordering;
use crate::types::{
    AddressRequest, Family, IpRange, PoolUsage, SubnetSpec, SubnetUsage, ip_to_u128, u128_to_ip,
};

/// One family of a subnet.
pub(crate) struct FamilySpace {
    pub(crate) family: Family,
    base: u128,
    last: u128,
    pub(crate) gateway: IpAddr,
    /// Network, broadcast and gateway offsets: never held, not even by old allocations.
    hard_reserved: Vec<u128>,
    /// Everything never handed out (hard reserved plus excludes).
    reserved: Vec<Interval>,
    /// Pool 0 is the default pool; `None` for a named pool without ranges in this family,
    /// which then takes this family's address from the default pool.
    pools: Vec<Option<PoolSpace>>,
    pub(crate) bitmap: AddressBitmap,
}

impl FamilySpace {
    /// Offset of `ip` if it is of this family and inside the CIDR.
    pub(crate) fn offset(&self, ip: IpAddr) -> Option<u128> {
        if Family::of(&ip) != self.family {
            return None;
        }
        let v = ip_to_u128(ip);
        (v >= self.base && v - self.base <= self.last).then(|| v - self.base)
    }

    pub(crate) fn ip(&self, off: u128) -> IpAddr {
        u128_to_ip(self.family, self.base + off)
    }

    fn is_reserved(&self, off: u128) -> bool {
        let i = self.reserved.partition_point(|&(_, hi)| hi < off);
        self.reserved.get(i).is_some_and(|&(lo, _)| lo <= off)
    }

    pub(crate) fn is_hard_reserved(&self, off: u128) -> bool {
        self.hard_reserved.contains(&off)
    }

    fn pool(&self, idx: usize) -> &PoolSpace {
        match self.pools.get(idx) {
            Some(Some(p)) => p,
            _ => self.pools[0]
                .as_ref()
                .unwrap_or_else(|| unreachable_default()),
        }
    }
}

#[cold]
fn unreachable_default() -> &'static PoolSpace {
    // The default pool is always built; keep a harmless empty pool for the impossible case.
    static EMPTY: std::sync::OnceLock<PoolSpace> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| PoolSpace::new(Vec::new()))
}

/// A subnet as the allocator holds it. Immutable except for the bitmap words: an update
/// builds a new `Subnet` with the same id.
pub(crate) struct Subnet {
    pub(crate) id: u32,
    pub(crate) name: Arc<str>,
    pub(crate) spec: SubnetSpec,
    pub(crate) v4: Option<FamilySpace>,
    pub(crate) v6: Option<FamilySpace>,
    pool_names: Vec<String>,
}

/// Addresses claimed for one request, not yet owned by anyone.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Claimed {
    pub(crate) v4: Option<(Ipv4Addr, u128, bool)>,
    pub(crate) v6: Option<(Ipv6Addr, u128, bool)>,
}

impl Subnet {
    pub(crate) fn build(id: u32, spec: &SubnetSpec) -> Result<Subnet> {
        let name = spec.name.clone();
        let invalid = |reason: &str| IpamError::InvalidSpec {
            subnet: name.clone(),
            reason: reason.to_owned(),
        };
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        if spec.cidrs.is_empty() || spec.cidrs.len() > 2 {
            return Err(invalid("give one CIDR, or one IPv4 and one IPv6 CIDR"));
        }
        let fam_of_net = |n: &IpNet| match n {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        };
        if spec.cidrs.len() == 2 && fam_of_net(&spec.cidrs[0]) == fam_of_net(&spec.cidrs[1]) {
            return Err(invalid("two CIDRs of the same family"));
        }
        let mut names: Vec<&str> = Vec::new();
        for p in &spec.pools {
            if p.name.is_empty() {
                return Err(invalid("a pool name is empty"));
            }
            if names.contains(&p.name.as_str()) {
                return Err(invalid(&format!("pool {:?} is defined twice", p.name)));
            }
            names.push(&p.name);
        }
        // Every address given must belong to a family the subnet has.
        let has = |f: Family| spec.cidrs.iter().any(|n| fam_of_net(n) == f);
        let mismatch = |ip: IpAddr| IpamError::FamilyMismatch {
            subnet: name.clone(),
            family: Family::of(&ip),
            address: ip,
        };
        for g in &spec.gateways {
            if !has(Family::of(g)) {
                return Err(mismatch(*g));
            }
        }
        for e in &spec.excludes {
            if !has(e.family()) {
                return Err(mismatch(e.start));
            }
        }
        for p in &spec.pools {
            for r in &p.ranges {
                if !has(r.family()) {
                    return Err(mismatch(r.start));
                }
            }
        }
        let mut v4 = None;
        let mut v6 = None;
        for net in &spec.cidrs {
            let fs = build_family(spec, net.trunc())?;
            match fs.family {
                Family::V4 => v4 = Some(fs),
                Family::V6 => v6 = Some(fs),
            }
        }
        Ok(Subnet {
            id,
            name: Arc::from(name.as_str()),
            spec: spec.clone(),
            v4,
            v6,
            pool_names: spec.pools.iter().map(|p| p.name.clone()).collect(),
        })
    }

    pub(crate) fn family(&self, f: Family) -> Option<&FamilySpace> {
        match f {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        }
    }

    /// Addresses in the CIDR, of the smaller family for dual stack (saturating at
    /// `u128::MAX` for a `/0`).
    pub(crate) fn size(&self) -> u128 {
        self.families()
            .map(|f| f.last.saturating_add(1))
            .min()
            .unwrap_or(0)
    }

    fn families(&self) -> impl Iterator<Item = &FamilySpace> {
        self.v4.iter().chain(self.v6.iter())
    }

    /// Index of a pool (0 = default).
    pub(crate) fn pool_index(&self, pool: Option<&str>) -> Result<usize> {
        match pool {
            None => Ok(0),
            Some(p) => self
                .pool_names
                .iter()
                .position(|n| n == p)
                .map(|i| i + 1)
                .ok_or_else(|| IpamError::PoolNotFound {
                    subnet: self.name.to_string(),
                    pool: p.to_owned(),
                }),
        }
    }

    /// Checks a static address: in the subnet, not reserved, in the pool if one is named.
    /// Returns its family space and offset.
    pub(crate) fn check_static(&self, ip: IpAddr, pool: usize) -> Result<(&FamilySpace, u128)> {
        let fam = self
            .family(Family::of(&ip))
            .ok_or_else(|| IpamError::FamilyMismatch {
                subnet: self.name.to_string(),
                family: Family::of(&ip),
                address: ip,
            })?;
        let off = fam
            .offset(ip)
            .ok_or_else(|| IpamError::StaticOutsideSubnet {
                subnet: self.name.to_string(),
                address: ip,
            })?;
        if fam.is_reserved(off) {
            return Err(IpamError::StaticReserved {
                subnet: self.name.to_string(),
                address: ip,
            });
        }
        if pool != 0 && !fam.pool(pool).contains(off) {
            return Err(IpamError::StaticOutsidePool {
                subnet: self.name.to_string(),
                pool: self.pool_names[pool - 1].clone(),
                address: ip,
            });
        }
        Ok((fam, off))
    }

    /// Claims addresses for a request: both families of a dual-stack subnet or neither.
    /// A static address already in use gives `AddressInUse` with `owner: None`.
    pub(crate) fn claim(
        &self,
        how: &AddressRequest,
        statics: (Option<Ipv4Addr>, Option<Ipv6Addr>),
        pool: usize,
    ) -> Result<Claimed> {
        // Validate every static address before touching the bitmap.
        let s4 = statics
            .0
            .map(|ip| self.check_static(IpAddr::V4(ip), pool))
            .transpose()?;
        let s6 = statics
            .1
            .map(|ip| self.check_static(IpAddr::V6(ip), pool))
            .transpose()?;
        let mut claimed = Claimed::default();
        let mut result = Ok(());
        for fam in self.families() {
            let fixed = match fam.family {
                Family::V4 => s4.map(|x| x.1),
                Family::V6 => s6.map(|x| x.1),
            };
            let got = match fixed {
                Some(off) => fam
                    .bitmap
                    .claim(off)
                    .map(|fresh| (off, fresh))
                    .ok_or_else(|| IpamError::AddressInUse {
                        subnet: self.name.to_string(),
                        address: fam.ip(off),
                        owner: None,
                    }),
                None => {
                    let p = fam.pool(pool);
                    let r = match how {
                        AddressRequest::Random => p.claim_random(&fam.bitmap),
                        _ => p.claim_next(&fam.bitmap),
                    };
                    r.ok_or_else(|| IpamError::Exhausted {
                        subnet: self.name.to_string(),
                        family: fam.family,
                        pool: (pool != 0).then(|| self.pool_names[pool - 1].clone()),
                    })
                }
            };
            match got {
                Ok((off, fresh)) => match fam.ip(off) {
                    IpAddr::V4(a) => claimed.v4 = Some((a, off, fresh)),
                    IpAddr::V6(a) => claimed.v6 = Some((a, off, fresh)),
                },
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        match result {
            Ok(()) => Ok(claimed),
            Err(e) => {
                self.unclaim(&claimed);
                Err(e)
            }
        }
    }

    /// Claims exactly the given addresses (restore): no other family is filled in.
    pub(crate) fn claim_exact(
        &self,
        statics: (Option<Ipv4Addr>, Option<Ipv6Addr>),
    ) -> Result<Claimed> {
        let mut claimed = Claimed::default();
        for ip in statics
            .0
            .map(IpAddr::V4)
            .into_iter()
            .chain(statics.1.map(IpAddr::V6))
        {
            let (fam, off) = match self.check_static(ip, 0) {
                Ok(x) => x,
                Err(e) => {
                    self.unclaim(&claimed);
                    return Err(e);
                }
            };
            let Some(fresh) = fam.bitmap.claim(off) else {
                self.unclaim(&claimed);
                return Err(IpamError::AddressInUse {
                    subnet: self.name.to_string(),
                    address: ip,
                    owner: None,
                });
            };
            match ip {
                IpAddr::V4(a) => claimed.v4 = Some((a, off, fresh)),
                IpAddr::V6(a) => claimed.v6 = Some((a, off, fresh)),
            }
        }
        Ok(claimed)
    }

    /// Gives back addresses claimed for a request that failed later.
    pub(crate) fn unclaim(&self, c: &Claimed) {
        if let (Some((_, off, fresh)), Some(f)) = (c.v4, &self.v4) {
            f.bitmap.unclaim(off, fresh);
        }
        if let (Some((_, off, fresh)), Some(f)) = (c.v6, &self.v6) {
            f.bitmap.unclaim(off, fresh);
        }
    }

    /// Releases addresses an owner held.
    pub(crate) fn release(&self, v4: Option<Ipv4Addr>, v6: Option<Ipv6Addr>) {
        for ip in v4.map(IpAddr::V4).into_iter().chain(v6.map(IpAddr::V6)) {
            if let Some(f) = self.family(Family::of(&ip)) {
                if let Some(off) = f.offset(ip) {
                    f.bitmap.release(off);
                }
            }
        }
    }

    /// Marks an address held without any check (migrating existing owners on update).
    pub(crate) fn force_claim(&self, ip: IpAddr) {
        if let Some(f) = self.family(Family::of(&ip)) {
            if let Some(off) = f.offset(ip) {
                f.bitmap.claim(off);
            }
        }
    }

    /// Copies *ever used* marks from the previous version of this subnet.
    pub(crate) fn carry_history(&self, old: &Subnet) {
        for of in old.families() {
            let Some(nf) = self.family(of.family) else {
                continue;
            };
            let aligned = of.base >= nf.base
                && (of.base - nf.base) % CHUNK_ADDRS == 0
                && of.last <= nf.last
                && of.base - nf.base <= nf.last - of.last;
            for c in of.bitmap.materialised() {
                of.bitmap.with_chunk(c, false, |ch| {
                    for (w, word) in ch.words.iter().enumerate() {
                        let used = word.load(Ordering::Acquire) & (LOW << 1);
                        if used == 0 {
                            continue;
                        }
                        if aligned {
                            let nc = c + ((of.base - nf.base) >> CHUNK_SHIFT);
                            nf.bitmap.with_chunk(nc, true, |nch| {
                                nch.words[w].fetch_or(used, Ordering::AcqRel)
                            });
                            continue;
                        }
                        let mut bits = used;
                        while bits != 0 {
                            let b = bits.trailing_zeros();
                            bits &= bits - 1;
                            let off =
                                (c << CHUNK_SHIFT) + (w as u128) * WORD_ADDRS + u128::from(b / 2);
                            if let Some(noff) = nf.offset(of.ip(off)) {
                                nf.bitmap.mark_used(noff);
                            }
                        }
                    }
                });
            }
            debug_assert!(CHUNK_WORDS * 32 == CHUNK_ADDRS as usize);
        }
    }

    /// Exact usage per family and pool.
    pub(crate) fn usage(&self) -> SubnetUsage {
        let mut pools = Vec::new();
        for i in 0..=self.pool_names.len() {
            let per = |f: &Option<FamilySpace>| {
                f.as_ref().map(|fs| match fs.pools.get(i) {
                    Some(Some(p)) => p.usage(&fs.bitmap),
                    _ => Default::default(),
                })
            };
            pools.push(PoolUsage {
                name: (i != 0).then(|| self.pool_names[i - 1].clone()),
                v4: per(&self.v4),
                v6: per(&self.v6),
            });
        }
        SubnetUsage::from_pools(pools)
    }
}

fn range_offsets(r: &IpRange, base: u128, last: u128) -> Option<Interval> {
    let (a, b) = (ip_to_u128(r.start), ip_to_u128(r.end));
    (a >= base && b >= base && b - base <= last).then(|| (a - base, b - base))
}

fn build_family(spec: &SubnetSpec, net: IpNet) -> Result<FamilySpace> {
    let subnet = spec.name.clone();
    let (family, base, host_bits, max_prefix) = match net {
        IpNet::V4(n) => (
            Family::V4,
            u128::from(u32::from(n.network())),
            32 - n.prefix_len(),
            32u8,
        ),
        IpNet::V6(n) => (
            Family::V6,
            u128::from(n.network()),
            128 - n.prefix_len(),
            128u8,
        ),
    };
    let last = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let prefix = net.prefix_len();
    let cidr = net.to_string();
    // IPv4 never hands out network and broadcast; IPv6 never the subnet-router anycast
    // address. Point-to-point prefixes (/31, /32, /127, /128) have none of these.
    let mut hard: Vec<u128> = Vec::new();
    if prefix + 2 <= max_prefix {
        hard.push(0);
        if family == Family::V4 {
            hard.push(last);
        }
    }
    let gateway_off = match spec.gateways.iter().find(|g| Family::of(g) == family) {
        Some(g) => {
            let v = ip_to_u128(*g);
            if v < base || v - base > last {
                return Err(IpamError::GatewayOutsideCidr {
                    subnet,
                    gateway: *g,
                    cidr,
                });
            }
            if hard.contains(&(v - base)) {
                return Err(IpamError::GatewayNotUsable {
                    subnet,
                    gateway: *g,
                    cidr,
                });
            }
            v - base
        }
        None => u128::from(!hard.is_empty()),
    };
    if spec
        .gateways
        .iter()
        .filter(|g| Family::of(g) == family)
        .count()
        > 1
    {
        return Err(IpamError::DuplicateFamily { family });
    }
    hard.push(gateway_off);
    hard.sort_unstable();
    hard.dedup();
    let mut reserved: Vec<Interval> = hard.iter().map(|&o| (o, o)).collect();
    for e in spec.excludes.iter().filter(|e| e.family() == family) {
        let iv = range_offsets(e, base, last).ok_or_else(|| IpamError::ExcludeOutsideCidr {
            subnet: subnet.clone(),
            range: e.to_string(),
            cidr: cidr.clone(),
        })?;
        reserved.push(iv);
    }
    let reserved = normalise(reserved);
    let allocatable = subtract(&[(0, last)], &reserved);
    let mut named: Vec<Option<Vec<Interval>>> = Vec::new();
    for p in &spec.pools {
        let mut ivs = Vec::new();
        for r in p.ranges.iter().filter(|r| r.family() == family) {
            ivs.push(
                range_offsets(r, base, last).ok_or_else(|| IpamError::PoolOutsideCidr {
                    subnet: subnet.clone(),
                    pool: p.name.clone(),
                    range: r.to_string(),
                    cidr: cidr.clone(),
                })?,
            );
        }
        named.push((!ivs.is_empty()).then(|| normalise(ivs)));
    }
    for i in 0..named.len() {
        for j in i + 1..named.len() {
            if let (Some(a), Some(b)) = (&named[i], &named[j]) {
                if !intersect(a, b).is_empty() {
                    return Err(IpamError::PoolsOverlap {
                        subnet: subnet.clone(),
                        first: spec.pools[i].name.clone(),
                        second: spec.pools[j].name.clone(),
                    });
                }
            }
        }
    }
    let all_named = normalise(named.iter().flatten().flatten().copied().collect());
    let mut pools = vec![Some(PoolSpace::new(subtract(&allocatable, &all_named)))];
    for n in &named {
        pools.push(
            n.as_ref()
                .map(|ivs| PoolSpace::new(intersect(ivs, &allocatable))),
        );
    }
    Ok(FamilySpace {
        family,
        base,
        last,
        gateway: u128_to_ip(family, base + gateway_off),
        hard_reserved: hard,
        reserved,
        pools,
        bitmap: AddressBitmap::new(last),
    })
}
