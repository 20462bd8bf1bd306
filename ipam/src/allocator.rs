//! [`Ipam`]: owners, subnets and the lock-free claim path put together.
//!
//! Owners live in 16 shards, each a small mutex-protected map chosen by the owner key's hash,
//! so allocations for different owners rarely meet. Sixteen is plenty for the few cores a
//! controller runs on, and keeps every shard's hot fields in L1: with 64, each operation
//! touched cold shard lines (twice the cache misses of one global map).
//!
//! What every holder of a shard writes (the mutex word, the index header, the arena's
//! counters) fits in one 128-byte block; what a thread can write on its own (its records' free
//! lists and pages, its random MACs' uniqueness set) is in its lane, so two threads working on
//! different subnets share the shard block and their owners' index lines, not more.
//!
//! Every shard keeps its own `Arc` of the subnet registry, which changes only while a writer
//! holds *all* shards: holding one shard is then enough to read the registry, without a
//! shared counter that both cores would write.
//! Addresses are claimed by compare-and-swap in the subnet's bitmap while the owner's shard is
//! held; the claim, not the shard, is what makes an address unique.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{IpamError, Result};
pub(crate) use crate::owners::Record;
use crate::owners::{Entry, Key, LANES, MAX_OWNER_LEN, MacSet, Owners, Padded, hash_key, lane};
use crate::subnet::Subnet;
use crate::types::{
    AddressRequest, Allocation, Family, MacAddr, MacRequest, Request, RestoreConflict,
    RestoreRecord, RestoreReport, SubnetSpec, SubnetUsage,
};

pub(crate) type Hasher = foldhash::fast::RandomState;
pub(crate) const SHARDS: usize = 16;

impl Record {
    pub(crate) fn allocation(&self) -> Allocation {
        Allocation {
            v4: self.v4,
            v6: self.v6,
            mac: self.mac,
        }
    }

    fn holds(&self, subnet: u32, ip: IpAddr) -> bool {
        self.subnet == subnet
            && match ip {
                IpAddr::V4(a) => self.v4 == Some(a),
                IpAddr::V6(a) => self.v6 == Some(a),
            }
    }
}

#[derive(Default)]
pub(crate) struct Registry {
    by_name: HashMap<Arc<str>, Arc<Subnet>, Hasher>,
    /// Indexed by subnet id (ids are small and never reused).
    by_id: Vec<Option<Arc<Subnet>>>,
}

impl Registry {
    fn id(&self, id: u32) -> Option<&Arc<Subnet>> {
        self.by_id.get(id as usize).and_then(Option::as_ref)
    }

    fn with(&self, s: Arc<Subnet>) -> Registry {
        let mut by_name = self.by_name.clone();
        let mut by_id = self.by_id.clone();
        by_name.insert(s.name.clone(), s.clone());
        let i = s.id as usize;
        if by_id.len() <= i {
            by_id.resize(i + 1, None);
        }
        by_id[i] = Some(s);
        Registry { by_name, by_id }
    }

    fn without(&self, name: &str) -> Registry {
        let mut by_name = self.by_name.clone();
        let mut by_id = self.by_id.clone();
        if let Some(s) = by_name.remove(name) {
            by_id[s.id as usize] = None;
        }
        Registry { by_name, by_id }
    }
}

/// What one shard's mutex guards, inline in one 128-byte block with the mutex word (see
/// the `shard_is_one_block` test): first what every operation writes, which shares the
/// mutex word's cache line, then what operations only read, on the other line. What a
/// thread writes on its own lives in its lane, boxed and padded.
#[repr(C)]
struct ShardState {
    owners: Owners,
    registry: Arc<Registry>,
    /// MACs whose [`mac_shard`] is this shard, by [`mac_lane`].
    macs: Box<[Padded<MacSet>; LANES]>,
}

impl ShardState {
    /// The set that decides whether `m` is taken.
    fn mac_set(&mut self, m: MacAddr) -> &mut MacSet {
        &mut self.macs[mac_lane(m)]
    }
}

#[repr(align(128))]
struct Shard(Mutex<ShardState>);

/// The shard a MAC's uniqueness entry lives in. Random MACs are drawn so that this is the
/// owner's shard, which keeps an allocation to one lock.
fn mac_shard(m: MacAddr) -> usize {
    usize::from(m.0[5]) % SHARDS
}

/// The lane of its shard a MAC's uniqueness entry lives in. Random MACs are drawn in the
/// allocating thread's lane, so two threads adding MACs to one shard write different sets.
fn mac_lane(m: MacAddr) -> usize {
    usize::from(m.0[5] >> SHARDS.trailing_zeros()) % LANES
}

/// A random locally administered unicast MAC whose [`mac_shard`] is `shard` and whose
/// [`mac_lane`] is `lane`.
pub(crate) fn random_mac(shard: usize, lane: usize) -> MacAddr {
    const TAG_BITS: u32 = SHARDS.trailing_zeros() + LANES.trailing_zeros();
    let mut b = [0u8; 6];
    b.copy_from_slice(&fastrand::u64(..).to_le_bytes()[..6]);
    b[0] = (b[0] & 0xfc) | 0x02;
    let tag = (lane << SHARDS.trailing_zeros()) | shard;
    b[5] = (b[5] & !((1u8 << TAG_BITS) - 1)) | tag as u8;
    MacAddr(b)
}

/// Splits static addresses into one per family.
pub(crate) fn split_statics(ips: &[IpAddr]) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let mut out = (None, None);
    {
        for ip in ips {
            match ip {
                IpAddr::V4(a) if out.0.is_none() => out.0 = Some(*a),
                IpAddr::V6(a) if out.1.is_none() => out.1 = Some(*a),
                _ => {
                    return Err(IpamError::DuplicateFamily {
                        family: Family::of(ip),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn check_owner(owner: &str) -> Result<()> {
    if owner.is_empty() {
        return Err(IpamError::EmptyOwner);
    }
    if owner.len() > MAX_OWNER_LEN {
        return Err(IpamError::OwnerTooLong {
            len: owner.len(),
            max: MAX_OWNER_LEN,
        });
    }
    Ok(())
}

fn held_text(r: &Record) -> String {
    r.allocation().to_string()
}

enum Failure {
    Error(IpamError),
    IpInUse {
        subnet: u32,
        name: String,
        ip: IpAddr,
    },
    MacInUse(MacAddr),
}

impl From<IpamError> for Failure {
    fn from(e: IpamError) -> Failure {
        Failure::Error(e)
    }
}

/// The allocator. Share it by reference or `Arc`; every method takes `&self`.
///
/// ```
/// use ipam::{Ipam, SubnetSpec, Request};
/// let ipam = Ipam::new();
/// ipam.add_subnet(SubnetSpec::new("ovn-default", "10.16.0.0/16,fd00:10:16::/64")?
///     .with_excludes(&["10.16.0.1..10.16.0.10"])?)?;
/// let a = ipam.allocate("ovn-default", "web-0.default/eth0")?;
/// assert_eq!(a.v4, Some("10.16.0.11".parse().unwrap()));
/// assert_eq!(ipam.allocate("ovn-default", "web-0.default/eth0")?, a); // idempotent
/// assert_eq!(ipam.release("web-0.default/eth0"), Some(a));
/// # Ok::<(), ipam::IpamError>(())
/// ```
pub struct Ipam {
    shards: Box<[Shard]>,
    /// Serialises subnet changes and restores; holds the next subnet id.
    writer: Mutex<u32>,
    hasher: Hasher,
}

impl Default for Ipam {
    fn default() -> Self {
        Ipam::new()
    }
}

impl std::fmt::Debug for Ipam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipam")
            .field("subnets", &self.subnet_names())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a shard cannot leave a half-written record (inserts are single
    // map operations), so a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ipam {
    /// An empty allocator.
    pub fn new() -> Ipam {
        let registry = Arc::new(Registry::default());
        let hasher = Hasher::default();
        Ipam {
            shards: (0..SHARDS)
                .map(|_| {
                    Shard(Mutex::new(ShardState {
                        registry: registry.clone(),
                        owners: Owners::new(hasher.clone()),
                        macs: Box::new(std::array::from_fn(|_| {
                            Padded(MacSet::new(hasher.clone()))
                        })),
                    }))
                })
                .collect(),
            writer: Mutex::new(0),
            hasher,
        }
    }

    /// The owner's hash and shard.
    fn owner_slot(&self, owner: &str) -> (u64, usize) {
        let h = hash_key(&self.hasher, owner.as_bytes());
        (h, (h >> 32) as usize % SHARDS)
    }

    fn lock_all(&self) -> Vec<MutexGuard<'_, ShardState>> {
        self.shards.iter().map(|s| lock(&s.0)).collect()
    }

    /// Locks `a` and, if different, `b`, in index order so two callers never deadlock.
    fn lock_pair(
        &self,
        a: usize,
        b: Option<usize>,
    ) -> (
        MutexGuard<'_, ShardState>,
        Option<MutexGuard<'_, ShardState>>,
    ) {
        match b {
            Some(b) if b != a => {
                if a < b {
                    let ga = lock(&self.shards[a].0);
                    (ga, Some(lock(&self.shards[b].0)))
                } else {
                    let gb = lock(&self.shards[b].0);
                    (lock(&self.shards[a].0), Some(gb))
                }
            }
            _ => (lock(&self.shards[a].0), None),
        }
    }

    fn registry(&self) -> Arc<Registry> {
        lock(&self.shards[0].0).registry.clone()
    }

    fn set_registry(guards: &mut [MutexGuard<'_, ShardState>], r: Registry) {
        let r = Arc::new(r);
        for g in guards {
            g.registry = r.clone();
        }
    }

    /// Adds a subnet. Fails, changing nothing, on an invalid spec or an existing name.
    pub fn add_subnet(&self, spec: SubnetSpec) -> Result<()> {
        let mut next_id = lock(&self.writer);
        let subnet = Arc::new(Subnet::build(*next_id, &spec)?);
        let mut guards = self.lock_all();
        if guards[0].registry.by_name.contains_key(spec.name.as_str()) {
            return Err(IpamError::SubnetExists { subnet: spec.name });
        }
        let r = guards[0].registry.with(subnet);
        Self::set_registry(&mut guards, r);
        *next_id += 1;
        Ok(())
    }

    /// Replaces a subnet's configuration (CIDR expansion, excludes, gateway, pools). Existing
    /// allocations are kept, including ones a new exclude now covers (they are never handed
    /// out again once released). Fails, changing nothing, if the spec is invalid or an
    /// allocation would end up outside the CIDR or on the gateway, network or broadcast.
    pub fn update_subnet(&self, spec: SubnetSpec) -> Result<()> {
        let _w = lock(&self.writer);
        let id = match self.registry().by_name.get(spec.name.as_str()) {
            Some(s) => s.id,
            None => return Err(IpamError::SubnetNotFound { subnet: spec.name }),
        };
        let new = Subnet::build(id, &spec)?;
        let mut guards = self.lock_all();
        let old = guards[0]
            .registry
            .id(id)
            .cloned()
            .expect("registered subnet");
        let held: Vec<(Key<'_>, Record)> = guards
            .iter()
            .flat_map(|g| g.owners.iter())
            .filter(|(_, r)| r.subnet == id)
            .collect();
        for (owner, rec) in &held {
            for ip in rec.allocation().ips() {
                let ok = new
                    .family(Family::of(&ip))
                    .and_then(|f| f.offset(ip).map(|o| !f.is_hard_reserved(o)))
                    .unwrap_or(false);
                if !ok {
                    return Err(IpamError::UpdateStrandsAllocation {
                        subnet: spec.name.clone(),
                        owner: owner.to_string(),
                        address: ip,
                    });
                }
            }
        }
        for (_, rec) in &held {
            for ip in rec.allocation().ips() {
                new.force_claim(ip);
            }
        }
        drop(held);
        new.carry_history(&old);
        let r = guards[0].registry.with(Arc::new(new));
        Self::set_registry(&mut guards, r);
        Ok(())
    }

    /// Removes a subnet that holds no allocations.
    pub fn remove_subnet(&self, name: &str) -> Result<()> {
        let _w = lock(&self.writer);
        let mut guards = self.lock_all();
        let Some(s) = guards[0].registry.by_name.get(name).cloned() else {
            return Err(IpamError::SubnetNotFound {
                subnet: name.to_owned(),
            });
        };
        let n = guards
            .iter()
            .map(|g| g.owners.iter().filter(|(_, r)| r.subnet == s.id).count())
            .sum();
        if n > 0 {
            return Err(IpamError::SubnetInUse {
                subnet: name.to_owned(),
                allocations: n,
            });
        }
        let r = guards[0].registry.without(name);
        Self::set_registry(&mut guards, r);
        Ok(())
    }

    /// Names of all subnets, sorted.
    pub fn subnet_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .registry()
            .by_name
            .keys()
            .map(|k| k.to_string())
            .collect();
        v.sort();
        v
    }

    /// The configuration a subnet was last added or updated with.
    pub fn subnet_spec(&self, name: &str) -> Option<SubnetSpec> {
        self.registry().by_name.get(name).map(|s| s.spec.clone())
    }

    /// The gateways of a subnet (given or defaulted), IPv4 first.
    pub fn gateways(&self, name: &str) -> Result<Vec<IpAddr>> {
        let reg = self.registry();
        let s = reg
            .by_name
            .get(name)
            .ok_or_else(|| IpamError::SubnetNotFound {
                subnet: name.to_owned(),
            })?;
        Ok(s.v4.iter().chain(s.v6.iter()).map(|f| f.gateway).collect())
    }

    /// Exact usage of a subnet and its pools.
    pub fn usage(&self, name: &str) -> Result<SubnetUsage> {
        let s = self.registry().by_name.get(name).cloned().ok_or_else(|| {
            IpamError::SubnetNotFound {
                subnet: name.to_owned(),
            }
        })?;
        Ok(s.usage())
    }

    /// Bytes held by the address bitmaps of a subnet (not counting owner bookkeeping).
    pub fn bitmap_bytes(&self, name: &str) -> Result<usize> {
        let reg = self.registry();
        let s = reg
            .by_name
            .get(name)
            .ok_or_else(|| IpamError::SubnetNotFound {
                subnet: name.to_owned(),
            })?;
        Ok(s.v4
            .iter()
            .chain(s.v6.iter())
            .map(|f| f.bitmap.bytes())
            .sum())
    }

    /// Allocates the next free addresses (one per family) and a random MAC for `owner`.
    ///
    /// This is [`Ipam::allocate_with`] with the default request, on a path of its own: the
    /// most common request can meet no conflict (no static address or MAC), so it needs one
    /// lock and no retry.
    pub fn allocate(&self, subnet: &str, owner: &str) -> Result<Allocation> {
        check_owner(owner)?;
        let (h, os) = self.owner_slot(owner);
        let l = lane();
        let mut g = lock(&self.shards[os].0);
        let ShardState {
            registry,
            owners,
            macs,
        } = &mut *g;
        let slot = match owners.entry(l, h, owner) {
            Entry::Held(have) => {
                return existing(
                    registry,
                    &have,
                    subnet,
                    owner,
                    &Request::default(),
                    (None, None),
                );
            }
            Entry::Vacant(slot) => slot,
        };
        let sub = registry
            .by_name
            .get(subnet)
            .ok_or_else(|| IpamError::SubnetNotFound {
                subnet: subnet.to_owned(),
            })?;
        let claimed = sub.claim(&AddressRequest::Next, (None, None), 0)?;
        // Drawn in the owner's shard, so this set is the one that decides uniqueness.
        let mac = loop {
            let m = random_mac(os, l);
            if macs[l].insert(m) {
                break m;
            }
        };
        let rec = Record {
            subnet: sub.id,
            v4: claimed.v4.map(|c| c.0),
            v6: claimed.v6.map(|c| c.0),
            mac: Some(mac),
        };
        slot.insert(owner, rec);
        Ok(rec.allocation())
    }

    /// Allocates for `owner` as `req` says. If `owner` already holds addresses in this subnet
    /// they are returned unchanged (an error if `req` names different static addresses or MAC).
    pub fn allocate_with(&self, subnet: &str, owner: &str, req: &Request) -> Result<Allocation> {
        check_owner(owner)?;
        let statics = match &req.addresses {
            AddressRequest::Static(ips) => split_statics(ips)?,
            _ => (None, None),
        };
        let (h, os) = self.owner_slot(owner);
        let ms = match req.mac {
            MacRequest::Static(m) if !m.is_unicast() => {
                return Err(IpamError::InvalidMac {
                    input: m.to_string(),
                });
            }
            MacRequest::Static(m) => Some(mac_shard(m)),
            _ => None,
        };
        // A conflict is named by scanning other shards, which must not happen while holding
        // ours; if the holder let go meanwhile, try again a few times.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = {
                let (mut g, mut gm) = self.lock_pair(os, ms);
                let key = OwnerKey {
                    name: owner,
                    hash: h,
                    shard: os,
                    lane: lane(),
                };
                try_allocate(&key, &mut g, gm.as_deref_mut(), subnet, req, statics)
            };
            match outcome {
                Ok(a) => return Ok(a),
                Err(Failure::Error(e)) => return Err(e),
                Err(Failure::IpInUse {
                    subnet: id,
                    name,
                    ip,
                }) => {
                    let holder = self.find_owner(|r| r.holds(id, ip));
                    if holder.is_none() && attempts < 4 {
                        // The holder is mid-release; give it a moment to finish.
                        std::thread::yield_now();
                        continue;
                    }
                    return Err(IpamError::AddressInUse {
                        subnet: name,
                        address: ip,
                        owner: holder,
                    });
                }
                Err(Failure::MacInUse(mac)) => {
                    let holder = self.find_owner(|r| r.mac == Some(mac));
                    if holder.is_none() && attempts < 4 {
                        // The holder is mid-release; give it a moment to finish.
                        std::thread::yield_now();
                        continue;
                    }
                    return Err(IpamError::MacInUse { mac, owner: holder });
                }
            }
        }
    }

    fn find_owner(&self, pred: impl Fn(&Record) -> bool) -> Option<String> {
        self.shards.iter().find_map(|s| {
            lock(&s.0)
                .owners
                .iter()
                .find(|(_, r)| pred(r))
                .map(|(o, _)| o.to_string())
        })
    }

    /// Releases everything `owner` holds and returns it; `None` if it held nothing.
    pub fn release(&self, owner: &str) -> Option<Allocation> {
        let (h, os) = self.owner_slot(owner);
        let l = lane();
        let mut g = lock(&self.shards[os].0);
        let rec = g.owners.remove(l, h, owner)?;
        // Bits are cleared under the owner's shard so a concurrent update, which holds every
        // shard, sees either the record or the cleared bits.
        if let Some(sub) = g.registry.id(rec.subnet) {
            sub.release(rec.v4, rec.v6);
        }
        if let Some(m) = rec.mac {
            let ms = mac_shard(m);
            if ms == os {
                g.mac_set(m).remove(m);
            } else if ms > os {
                lock(&self.shards[ms].0).mac_set(m).remove(m);
            } else {
                // Lock order is by index: let go of ours first. Until the entry is gone a
                // request for this MAC sees it held by nobody and retries.
                drop(g);
                lock(&self.shards[ms].0).mac_set(m).remove(m);
            }
        }
        Some(rec.allocation())
    }

    /// The subnet and allocation `owner` holds.
    pub fn lookup(&self, owner: &str) -> Option<(String, Allocation)> {
        let (h, os) = self.owner_slot(owner);
        let g = lock(&self.shards[os].0);
        let rec = g.owners.get(lane(), h, owner)?;
        let name = g.registry.id(rec.subnet)?.name.to_string();
        Some((name, rec.allocation()))
    }

    /// Who holds `ip` in `subnet`. This scans every owner: it is meant for diagnostics and
    /// conflict messages, not for a hot path.
    pub fn owner_of(&self, subnet: &str, ip: IpAddr) -> Option<String> {
        let id = self.registry().by_name.get(subnet)?.id;
        self.find_owner(|r| r.holds(id, ip))
    }

    /// Number of owners holding an allocation.
    pub fn allocation_count(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).owners.len()).sum()
    }

    /// Loads existing allocations, as a controller does from annotations after a restart.
    /// Each record is restored whole or refused; refusals (address or MAC held by someone
    /// else, owner holding something else, address outside the subnet or reserved, unknown
    /// subnet) are reported, never merged. A record identical to what its owner already holds
    /// counts as restored.
    pub fn restore(&self, records: impl IntoIterator<Item = RestoreRecord>) -> RestoreReport {
        let _w = lock(&self.writer);
        let mut guards = self.lock_all();
        let registry = guards[0].registry.clone();
        let mut report = RestoreReport::default();
        let mut names = Reverse::default();
        let records = records.into_iter();
        let per_shard = records.size_hint().0 / SHARDS + 1;
        for g in guards.iter_mut() {
            g.owners.reserve(per_shard);
        }
        for (index, r) in records.enumerate() {
            match self.restore_one(&mut guards, &registry, r, &mut names) {
                Ok(()) => report.restored += 1,
                Err((owner, error)) => report.conflicts.push(RestoreConflict {
                    index,
                    owner,
                    error,
                }),
            }
        }
        report
    }

    fn restore_one(
        &self,
        guards: &mut [MutexGuard<'_, ShardState>],
        registry: &Registry,
        r: RestoreRecord,
        names: &mut Reverse,
    ) -> std::result::Result<(), (String, IpamError)> {
        let (h, os) = self.owner_slot(&r.owner);
        let l = lane();
        match self.restore_checked(guards, registry, &r, (h, os, l), names) {
            Ok(Some(rec)) => {
                if names.built {
                    names.note(&r.owner, &rec);
                }
                guards[os].owners.insert(l, h, &r.owner, rec);
                Ok(())
            }
            // Already held identically.
            Ok(None) => Ok(()),
            Err(e) => Err((r.owner, e)),
        }
    }

    /// Validates and claims a record; the caller inserts the returned owner record.
    /// `Ok(None)` means the owner already holds exactly this.
    fn restore_checked(
        &self,
        guards: &mut [MutexGuard<'_, ShardState>],
        registry: &Registry,
        r: &RestoreRecord,
        (h, os, l): (u64, usize, usize),
        names: &mut Reverse,
    ) -> Result<Option<Record>> {
        check_owner(&r.owner)?;
        let sub =
            registry
                .by_name
                .get(r.subnet.as_str())
                .ok_or_else(|| IpamError::SubnetNotFound {
                    subnet: r.subnet.clone(),
                })?;
        let statics = split_statics(&r.ips)?;
        if let Some(m) = r.mac {
            if !m.is_unicast() {
                return Err(IpamError::InvalidMac {
                    input: m.to_string(),
                });
            }
        }
        let rec = Record {
            subnet: sub.id,
            v4: statics.0,
            v6: statics.1,
            mac: r.mac,
        };
        if let Some(have) = guards[os].owners.get(l, h, &r.owner) {
            if have == rec {
                return Ok(None);
            }
            if have.subnet != sub.id {
                let subnet = registry.id(have.subnet).map(|s| s.name.to_string());
                return Err(IpamError::OwnerInOtherSubnet {
                    owner: r.owner.clone(),
                    subnet: subnet.unwrap_or_default(),
                });
            }
            return Err(IpamError::OwnerHoldsOther {
                owner: r.owner.clone(),
                held: held_text(&have),
            });
        }
        // Take the MAC first (one probe); give it back if the addresses are taken.
        if let Some(m) = r.mac {
            if !guards[mac_shard(m)].mac_set(m).insert(m) {
                return Err(IpamError::MacInUse {
                    mac: m,
                    owner: names.mac_owner(guards, m),
                });
            }
        }
        let claimed = match sub.claim_exact(statics) {
            Ok(c) => c,
            Err(e) => {
                if let Some(m) = r.mac {
                    guards[mac_shard(m)].mac_set(m).remove(m);
                }
                return Err(match e {
                    IpamError::AddressInUse {
                        subnet, address, ..
                    } => IpamError::AddressInUse {
                        subnet,
                        address,
                        owner: names.ip_owner(guards, sub.id, address),
                    },
                    e => e,
                });
            }
        };
        debug_assert!(claimed.v4.map(|c| c.0) == rec.v4 && claimed.v6.map(|c| c.0) == rec.v6);
        Ok(Some(rec))
    }
}

/// Address and MAC holders, built on the first conflict of a restore and kept up to date
/// after that, so naming many conflicts stays linear.
#[derive(Default)]
struct Reverse {
    built: bool,
    ips: HashMap<(u32, IpAddr), Box<str>, Hasher>,
    macs: HashMap<MacAddr, Box<str>, Hasher>,
}

impl Reverse {
    fn build(&mut self, guards: &[MutexGuard<'_, ShardState>]) {
        if self.built {
            return;
        }
        self.built = true;
        for g in guards {
            for (o, r) in g.owners.iter() {
                self.note(o, &r);
            }
        }
    }

    fn note(&mut self, owner: impl std::fmt::Display, r: &Record) {
        if !self.built {
            return;
        }
        let owner: Box<str> = owner.to_string().into();
        for ip in r.allocation().ips() {
            self.ips.insert((r.subnet, ip), owner.clone());
        }
        if let Some(m) = r.mac {
            self.macs.insert(m, owner);
        }
    }

    fn ip_owner(
        &mut self,
        g: &[MutexGuard<'_, ShardState>],
        subnet: u32,
        ip: IpAddr,
    ) -> Option<String> {
        self.build(g);
        self.ips.get(&(subnet, ip)).map(|o| o.to_string())
    }

    fn mac_owner(&mut self, g: &[MutexGuard<'_, ShardState>], m: MacAddr) -> Option<String> {
        self.build(g);
        self.macs.get(&m).map(|o| o.to_string())
    }
}

/// An owner key with its hash and shard, computed once per request.
struct OwnerKey<'a> {
    name: &'a str,
    hash: u64,
    shard: usize,
    /// The calling thread's [`lane`].
    lane: usize,
}

fn try_allocate(
    key: &OwnerKey<'_>,
    st: &mut ShardState,
    mac_st: Option<&mut ShardState>,
    subnet: &str,
    req: &Request,
    statics: (Option<Ipv4Addr>, Option<Ipv6Addr>),
) -> std::result::Result<Allocation, Failure> {
    let (owner, h, owner_shard, l) = (key.name, key.hash, key.shard, key.lane);
    let ShardState {
        registry,
        owners,
        macs,
    } = st;
    if let Some(have) = owners.get(l, h, owner) {
        return existing(registry, &have, subnet, owner, req, statics).map_err(Failure::Error);
    }
    let sub = registry
        .by_name
        .get(subnet)
        .ok_or_else(|| IpamError::SubnetNotFound {
            subnet: subnet.to_owned(),
        })?;
    let pool = sub.pool_index(req.pool.as_deref())?;
    // A static MAC's set is in its own shard, which the caller locked as `mac_st` if that is
    // not the owner's.
    let mac_sets: &mut [Padded<MacSet>; LANES] = match mac_st {
        Some(m) => &mut m.macs,
        None => macs,
    };
    if let MacRequest::Static(m) = req.mac {
        if mac_sets[mac_lane(m)].contains(m) {
            return Err(Failure::MacInUse(m));
        }
    }
    let claimed = match sub.claim(&req.addresses, statics, pool) {
        Ok(c) => c,
        Err(IpamError::AddressInUse {
            subnet, address, ..
        }) => {
            return Err(Failure::IpInUse {
                subnet: sub.id,
                name: subnet,
                ip: address,
            });
        }
        Err(e) => return Err(Failure::Error(e)),
    };
    let mac = match req.mac {
        MacRequest::Static(m) => Some(m),
        MacRequest::None => None,
        // Drawn in the owner's shard and this thread's lane, so this set is the one that
        // decides uniqueness.
        MacRequest::Random => Some(loop {
            let m = random_mac(owner_shard, l);
            if mac_sets[l].insert(m) {
                break m;
            }
        }),
    };
    if let MacRequest::Static(m) = req.mac {
        mac_sets[mac_lane(m)].insert(m);
    }
    let rec = Record {
        subnet: sub.id,
        v4: claimed.v4.map(|c| c.0),
        v6: claimed.v6.map(|c| c.0),
        mac,
    };
    owners.insert(l, h, owner, rec);
    Ok(rec.allocation())
}

/// The answer to a repeated request by an owner that already holds addresses.
fn existing(
    registry: &Registry,
    have: &Record,
    subnet: &str,
    owner: &str,
    req: &Request,
    statics: (Option<Ipv4Addr>, Option<Ipv6Addr>),
) -> Result<Allocation> {
    let held_in = registry.id(have.subnet).map(|s| &*s.name);
    if held_in != Some(subnet) {
        return Err(IpamError::OwnerInOtherSubnet {
            owner: owner.to_owned(),
            subnet: held_in.unwrap_or_default().to_owned(),
        });
    }
    let ip_differs = statics.0.is_some_and(|a| have.v4 != Some(a))
        || statics.1.is_some_and(|a| have.v6 != Some(a));
    let mac_differs = matches!(req.mac, MacRequest::Static(m) if have.mac != Some(m));
    if ip_differs || mac_differs {
        return Err(IpamError::OwnerHoldsOther {
            owner: owner.to_owned(),
            held: held_text(have),
        });
    }
    Ok(have.allocation())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shard's mutex word and everything it guards inline share one 128-byte block, so a
    /// thread taking a shard another core used last pulls one block, not several.
    #[test]
    fn shard_is_one_block() {
        assert_eq!(std::mem::size_of::<Shard>(), 128);
        assert_eq!(std::mem::align_of::<Shard>(), 128);
        // Where the mutex puts its data (after its word, in today's std).
        let ipam = Ipam::new();
        let shard = &ipam.shards[0];
        let data = {
            let g = lock(&shard.0);
            &*g as *const ShardState as usize
        };
        let data_offset = data - shard as *const Shard as usize;
        assert!(data_offset > 0, "the mutex word is not before the data");
        let written_end = data_offset + Owners::WRITTEN_BYTES;
        assert!(
            written_end <= 64,
            "written fields end at byte {written_end}, past the mutex word's cache line"
        );
    }

    /// Random MACs land in the set their shard and lane bits name, are locally administered
    /// unicast, and keep the rest of their bits random.
    #[test]
    fn random_macs_carry_their_set() {
        let mut seen = std::collections::HashSet::new();
        for shard in 0..SHARDS {
            for lane in 0..LANES {
                for _ in 0..50 {
                    let m = random_mac(shard, lane);
                    assert_eq!((mac_shard(m), mac_lane(m)), (shard, lane), "{m}");
                    assert!(m.is_unicast());
                    assert_eq!(m.0[0] & 0x03, 0x02, "{m} locally administered unicast");
                    seen.insert(m);
                }
            }
        }
        assert!(seen.len() > SHARDS * LANES * 49, "random bits repeat");
    }
}
