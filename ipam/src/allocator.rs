//! [`Ipam`]: owners, subnets and the lock-free claim path put together.
//!
//! An owner key names an allocation *within a subnet*, as Kube-OVN keys a pod's NIC per
//! subnet: the same key may hold addresses in two subnets, and each subnet keeps the index of
//! its own owners. So two threads allocating in two subnets share no lock and write no common
//! cache line, which a global owner index cannot give: whatever shard a key hashes to, the
//! other core wrote it last half of the time, and on a machine whose cores sit on different
//! dies each such line costs a few hundred nanoseconds.
//!
//! A subnet's owners live in up to 16 shards (one per 256 addresses), each a small
//! mutex-protected map chosen by the owner key's hash, so threads sharing a subnet rarely
//! meet. Sixteen is plenty for the few cores a controller runs on, and keeps every shard's hot
//! fields in L1. What every holder of a shard writes (the mutex word, the index header, the
//! arena's counters) fits in one 128-byte block; what a thread can write on its own (its
//! records' free lists and pages) is in its lane.
//!
//! Each thread also has a *view* (one per [`thread_slot`], padded): a mutex holding the subnet
//! registry, the subnet the thread named last, and the set of MACs drawn in that slot. An
//! operation holds its view from start to end, so finding a subnet by name reads the registry
//! without writing a reference count both cores would share, and a random MAC (drawn with its
//! slot in its low bits) is made unique in the caller's own set. Up to 64 threads each have a
//! view of their own.
//!
//! Keeping the registry in a thread-local cache and each MAC's set in its owner's shard (one
//! lock per call instead of two) was measured slower: the thread-local access and the extra
//! hashing cost more than the uncontended lock they save.
//!
//! Adding or removing a subnet, and a restore, take every view, so no operation is in flight;
//! updating a subnet takes only its shards. Locks are taken in one order: the writer mutex,
//! views by index, then shards by index.
//!
//! Addresses are claimed by compare-and-swap in the subnet's bitmap while the owner's shard is
//! held; the claim, not the shard, is what makes an address unique.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{IpamError, Result};
pub(crate) use crate::owners::Record;
use crate::owners::{
    Entry, Key, LANES, MAX_OWNER_LEN, MacSet, Owners, THREAD_SLOTS, hash_key, lane, thread_slot,
};
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

    fn holds(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4 == Some(a),
            IpAddr::V6(a) => self.v6 == Some(a),
        }
    }
}

/// Subnets by name. Replaced whole (copy on write) when a subnet is added or removed.
#[derive(Default)]
struct Registry {
    by_name: HashMap<Arc<str>, Arc<SubnetShards>, Hasher>,
}

impl Registry {
    fn with(&self, s: Arc<SubnetShards>) -> Registry {
        let mut by_name = self.by_name.clone();
        by_name.insert(s.name.clone(), s);
        Registry { by_name }
    }

    fn without(&self, name: &str) -> Registry {
        let mut by_name = self.by_name.clone();
        by_name.remove(name);
        Registry { by_name }
    }

    fn get(&self, name: &str) -> Result<&Arc<SubnetShards>> {
        self.by_name
            .get(name)
            .ok_or_else(|| IpamError::SubnetNotFound {
                subnet: name.to_owned(),
            })
    }

    /// The subnets, sorted by name.
    fn sorted(&self) -> Vec<&Arc<SubnetShards>> {
        let mut v: Vec<&Arc<SubnetShards>> = self.by_name.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

/// One subnet as registered: its owner shards. The subnet's configuration and bitmaps are in
/// every shard (see [`ShardState::subnet`]), so an update replaces them under the shards.
struct SubnetShards {
    name: Arc<str>,
    shards: Box<[Shard]>,
}

impl SubnetShards {
    fn new(subnet: Arc<Subnet>, hasher: &Hasher) -> SubnetShards {
        // One shard per 256 addresses up to `SHARDS`, a power of two: a shard costs about a
        // kilobyte, and an allocator may hold thousands of small subnets, whose allocation
        // rate (a pod start each) needs no more. The count stays when an update expands the
        // subnet.
        let n = (subnet.size() / 256).clamp(1, SHARDS as u128) as usize;
        SubnetShards {
            name: subnet.name.clone(),
            shards: (0..n.next_power_of_two())
                .map(|_| {
                    Shard(Mutex::new(ShardState {
                        owners: Owners::new(hasher.clone()),
                        subnet: subnet.clone(),
                    }))
                })
                .collect(),
        }
    }

    /// The shard of the owner whose key hashes to `h`.
    fn lock_for(&self, h: u64) -> MutexGuard<'_, ShardState> {
        // The count is a power of two; the low bits of `h` pick the bucket.
        lock(&self.shards[(h >> 32) as usize & (self.shards.len() - 1)].0)
    }

    fn lock_all(&self) -> Vec<MutexGuard<'_, ShardState>> {
        self.shards.iter().map(|s| lock(&s.0)).collect()
    }

    /// The subnet's current configuration and bitmaps.
    fn subnet(&self) -> Arc<Subnet> {
        lock(&self.shards[0].0).subnet.clone()
    }

    /// The first owner (in shard order) whose record satisfies `pred`. Takes each shard in
    /// turn: the caller must hold none of them.
    fn find_owner(&self, pred: &impl Fn(&Record) -> bool) -> Option<String> {
        self.shards.iter().find_map(|s| {
            lock(&s.0)
                .owners
                .iter()
                .find(|(_, r)| pred(r))
                .map(|(o, _)| o.to_string())
        })
    }
}

/// What one shard's mutex guards, inline in one 128-byte block with the mutex word (see
/// the `shard_is_one_block` test): first what every operation writes, which shares the
/// mutex word's cache line, then what operations only read.
#[repr(C)]
struct ShardState {
    owners: Owners,
    /// The subnet, the same `Arc` in each of its shards: holding any one shard is enough to
    /// read it, and an update, which holds them all, replaces it everywhere.
    subnet: Arc<Subnet>,
}

#[repr(align(128))]
struct Shard(Mutex<ShardState>);

/// What one thread slot's view holds: the registry, and the MACs whose [`mac_view`] is this
/// slot.
struct View {
    registry: Arc<Registry>,
    /// The subnet this view's thread named last, so a thread working in one subnet compares
    /// its name instead of hashing it. Cleared whenever the registry changes.
    recent: Option<Arc<SubnetShards>>,
    macs: MacSet,
}

impl View {
    /// The subnet called `name` (through the cache) and this view's MAC set, borrowed
    /// together.
    #[inline]
    fn subnet_and_macs(&mut self, name: &str) -> Result<(&SubnetShards, &mut MacSet)> {
        let View {
            registry,
            recent,
            macs,
        } = self;
        Ok((find(registry, recent, name)?, macs))
    }
}

/// The subnet called `name`, through a view's one-entry cache `recent`.
#[inline]
fn find<'a>(
    registry: &Registry,
    recent: &'a mut Option<Arc<SubnetShards>>,
    name: &str,
) -> Result<&'a SubnetShards> {
    if recent.as_ref().is_none_or(|s| *s.name != *name) {
        *recent = Some(registry.get(name)?.clone());
    }
    // Set just above if it was not already this subnet.
    recent.as_deref().ok_or_else(|| IpamError::SubnetNotFound {
        subnet: name.to_owned(),
    })
}

#[repr(align(128))]
struct ViewCell(Mutex<View>);

/// The view whose set decides whether `m` is taken. Random MACs are drawn with the
/// allocating thread's slot here, so a thread adds its MACs to the set it already holds.
fn mac_view(m: MacAddr) -> usize {
    usize::from(m.0[5]) % THREAD_SLOTS
}

/// A random locally administered unicast MAC whose [`mac_view`] is `slot`.
pub(crate) fn random_mac(slot: usize) -> MacAddr {
    const TAG_BITS: u32 = THREAD_SLOTS.trailing_zeros();
    let mut b = [0u8; 6];
    b.copy_from_slice(&fastrand::u64(..).to_le_bytes()[..6]);
    b[0] = (b[0] & 0xfc) | 0x02;
    b[5] = (b[5] & !((1u8 << TAG_BITS) - 1)) | slot as u8;
    MacAddr(b)
}

/// Splits static addresses into one per family.
pub(crate) fn split_statics(ips: &[IpAddr]) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let mut out = (None, None);
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
    IpInUse { name: String, ip: IpAddr },
    MacInUse(MacAddr),
}

impl From<IpamError> for Failure {
    fn from(e: IpamError) -> Failure {
        Failure::Error(e)
    }
}

/// The calling thread's slot (its view) and lane (its part of each shard's arena).
fn me() -> (usize, usize) {
    let t = thread_slot();
    (t, t % LANES)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a shard or view cannot leave a half-written record (inserts are
    // single map operations), so a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
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
/// assert_eq!(ipam.release("ovn-default", "web-0.default/eth0"), Some(a));
/// # Ok::<(), ipam::IpamError>(())
/// ```
pub struct Ipam {
    views: Box<[ViewCell; THREAD_SLOTS]>,
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

type ViewGuard<'a> = MutexGuard<'a, View>;

impl Ipam {
    /// An empty allocator.
    pub fn new() -> Ipam {
        let registry = Arc::new(Registry::default());
        let hasher = Hasher::default();
        Ipam {
            views: Box::new(std::array::from_fn(|_| {
                ViewCell(Mutex::new(View {
                    registry: registry.clone(),
                    recent: None,
                    macs: MacSet::new(hasher.clone()),
                }))
            })),
            writer: Mutex::new(0),
            hasher,
        }
    }

    /// The owner key's hash, which picks its shard and its bucket.
    fn owner_hash(&self, owner: &str) -> u64 {
        hash_key(&self.hasher, owner.as_bytes())
    }

    fn view(&self, l: usize) -> ViewGuard<'_> {
        lock(&self.views[l].0)
    }

    fn lock_views(&self) -> Vec<ViewGuard<'_>> {
        self.views.iter().map(|v| lock(&v.0)).collect()
    }

    /// Locks view `a` and, if different, view `b`, in index order.
    fn view_pair(&self, a: usize, b: Option<usize>) -> (ViewGuard<'_>, Option<ViewGuard<'_>>) {
        match b {
            Some(b) if b != a => {
                if a < b {
                    let ga = self.view(a);
                    (ga, Some(self.view(b)))
                } else {
                    let gb = self.view(b);
                    (self.view(a), Some(gb))
                }
            }
            _ => (self.view(a), None),
        }
    }

    /// The registry as of now (for scans that need not hold a view).
    fn registry(&self) -> Arc<Registry> {
        self.view(thread_slot()).registry.clone()
    }

    fn set_registry(views: &mut [ViewGuard<'_>], r: Registry) {
        let r = Arc::new(r);
        for v in views {
            v.registry = r.clone();
            v.recent = None;
        }
    }

    /// A subnet's current configuration and bitmaps.
    fn subnet(&self, name: &str) -> Result<Arc<Subnet>> {
        let v = self.view(thread_slot());
        let s = v.registry.get(name)?.subnet();
        Ok(s)
    }

    /// Adds a subnet. Fails, changing nothing, on an invalid spec or an existing name.
    pub fn add_subnet(&self, spec: SubnetSpec) -> Result<()> {
        let mut next_id = lock(&self.writer);
        let subnet = Arc::new(Subnet::build(*next_id, &spec)?);
        let mut views = self.lock_views();
        if views[0].registry.by_name.contains_key(spec.name.as_str()) {
            return Err(IpamError::SubnetExists { subnet: spec.name });
        }
        let r = views[0]
            .registry
            .with(Arc::new(SubnetShards::new(subnet, &self.hasher)));
        Self::set_registry(&mut views, r);
        *next_id += 1;
        Ok(())
    }

    /// Replaces a subnet's configuration (CIDR expansion, excludes, gateway, pools). Existing
    /// allocations are kept, including ones a new exclude now covers (they are never handed
    /// out again once released). Fails, changing nothing, if the spec is invalid or an
    /// allocation would end up outside the CIDR or on the gateway, network or broadcast.
    pub fn update_subnet(&self, spec: SubnetSpec) -> Result<()> {
        let _w = lock(&self.writer);
        // The registry changes only under `writer`, so these shards stay registered.
        let shards = self.registry().get(spec.name.as_str())?.clone();
        let mut guards = shards.lock_all();
        let old = guards[0].subnet.clone();
        let new = Subnet::build(old.id, &spec)?;
        let held: Vec<(Key<'_>, Record)> = guards.iter().flat_map(|g| g.owners.iter()).collect();
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
        let new = Arc::new(new);
        for g in &mut guards {
            g.subnet = new.clone();
        }
        Ok(())
    }

    /// Removes a subnet that holds no allocations.
    pub fn remove_subnet(&self, name: &str) -> Result<()> {
        let _w = lock(&self.writer);
        let mut views = self.lock_views();
        let shards = views[0].registry.get(name)?.clone();
        let n: usize = shards.lock_all().iter().map(|g| g.owners.len()).sum();
        if n > 0 {
            return Err(IpamError::SubnetInUse {
                subnet: name.to_owned(),
                allocations: n,
            });
        }
        let r = views[0].registry.without(name);
        Self::set_registry(&mut views, r);
        Ok(())
    }

    /// Names of all subnets, sorted.
    pub fn subnet_names(&self) -> Vec<String> {
        let reg = self.registry();
        reg.sorted().iter().map(|s| s.name.to_string()).collect()
    }

    /// The configuration a subnet was last added or updated with.
    pub fn subnet_spec(&self, name: &str) -> Option<SubnetSpec> {
        self.subnet(name).ok().map(|s| s.spec.clone())
    }

    /// The gateways of a subnet (given or defaulted), IPv4 first.
    pub fn gateways(&self, name: &str) -> Result<Vec<IpAddr>> {
        let s = self.subnet(name)?;
        Ok(s.v4.iter().chain(s.v6.iter()).map(|f| f.gateway).collect())
    }

    /// Exact usage of a subnet and its pools.
    pub fn usage(&self, name: &str) -> Result<SubnetUsage> {
        Ok(self.subnet(name)?.usage())
    }

    /// Bytes held by the address bitmaps of a subnet (not counting owner bookkeeping).
    pub fn bitmap_bytes(&self, name: &str) -> Result<usize> {
        let s = self.subnet(name)?;
        Ok(s.v4
            .iter()
            .chain(s.v6.iter())
            .map(|f| f.bitmap.bytes())
            .sum())
    }

    /// Allocates the next free addresses (one per family) and a random MAC for `owner` in
    /// `subnet`.
    ///
    /// This is [`Ipam::allocate_with`] with the default request, on a path of its own: the
    /// most common request can meet no conflict (no static address or MAC), so it needs no
    /// retry and no second view.
    pub fn allocate(&self, subnet: &str, owner: &str) -> Result<Allocation> {
        check_owner(owner)?;
        let (t, l) = me();
        let mut v = self.view(t);
        let (shards, macs) = v.subnet_and_macs(subnet)?;
        let h = self.owner_hash(owner);
        let mut g = shards.lock_for(h);
        let ShardState {
            owners,
            subnet: sub,
        } = &mut *g;
        let vacant = match owners.entry(l, h, owner) {
            Entry::Held(have) => {
                return existing(&have, owner, &Request::default(), (None, None));
            }
            Entry::Vacant(vacant) => vacant,
        };
        let claimed = sub.claim(&AddressRequest::Next, (None, None), 0)?;
        // Drawn in this slot, so this view's set is the one that decides uniqueness.
        let mac = loop {
            let m = random_mac(t);
            if macs.insert(m) {
                break m;
            }
        };
        let rec = Record {
            subnet: sub.id,
            v4: claimed.v4.map(|c| c.0),
            v6: claimed.v6.map(|c| c.0),
            mac: Some(mac),
        };
        vacant.insert(owner, rec);
        Ok(rec.allocation())
    }

    /// Allocates for `owner` in `subnet` as `req` says. If `owner` already holds addresses in
    /// this subnet they are returned unchanged (an error if `req` names different static
    /// addresses or MAC).
    pub fn allocate_with(&self, subnet: &str, owner: &str, req: &Request) -> Result<Allocation> {
        check_owner(owner)?;
        let statics = match &req.addresses {
            AddressRequest::Static(ips) => split_statics(ips)?,
            _ => (None, None),
        };
        let ml = match req.mac {
            MacRequest::Static(m) if !m.is_unicast() => {
                return Err(IpamError::InvalidMac {
                    input: m.to_string(),
                });
            }
            MacRequest::Static(m) => Some(mac_view(m)),
            _ => None,
        };
        let h = self.owner_hash(owner);
        let (t, l) = me();
        // A conflict is named by scanning shards, which must not happen while holding ours;
        // if the holder let go meanwhile, try again a few times.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = {
                let (mut v, mut vm) = self.view_pair(t, ml);
                let (shards, macs) = v.subnet_and_macs(subnet)?;
                // A static MAC's set is in its own view, which `view_pair` locked as `vm` if
                // that is not ours.
                let mac_set = vm.as_deref_mut().map_or(macs, |m| &mut m.macs);
                let mut g = shards.lock_for(h);
                try_allocate(owner, (h, t, l), &mut g, mac_set, req, statics)
            };
            let e = match outcome {
                Ok(a) => return Ok(a),
                Err(Failure::Error(e)) => return Err(e),
                Err(Failure::IpInUse { name, ip }) => {
                    let holder = self.owner_of(subnet, ip);
                    if holder.is_none() && attempts < 4 {
                        // The holder is mid-release; give it a moment to finish.
                        std::thread::yield_now();
                        continue;
                    }
                    IpamError::AddressInUse {
                        subnet: name,
                        address: ip,
                        owner: holder,
                    }
                }
                Err(Failure::MacInUse(mac)) => {
                    let holder = self.find_owner(|r| r.mac == Some(mac));
                    if holder.is_none() && attempts < 4 {
                        std::thread::yield_now();
                        continue;
                    }
                    IpamError::MacInUse { mac, owner: holder }
                }
            };
            return Err(e);
        }
    }

    /// The first owner, in any subnet, whose record satisfies `pred`.
    fn find_owner(&self, pred: impl Fn(&Record) -> bool) -> Option<String> {
        let reg = self.registry();
        reg.sorted().iter().find_map(|s| s.find_owner(&pred))
    }

    /// Releases everything `owner` holds in `subnet` and returns it; `None` if it held
    /// nothing there (or there is no such subnet).
    pub fn release(&self, subnet: &str, owner: &str) -> Option<Allocation> {
        let (t, l) = me();
        let mut v = self.view(t);
        let h = self.owner_hash(owner);
        let rec = {
            let View {
                registry, recent, ..
            } = &mut *v;
            let shards = find(registry, recent, subnet).ok()?;
            let mut g = shards.lock_for(h);
            let rec = g.owners.remove(l, h, owner)?;
            // Bits are cleared under the owner's shard so a concurrent update, which holds
            // every shard, sees either the record or the cleared bits.
            g.subnet.release(rec.v4, rec.v6);
            rec
        };
        if let Some(m) = rec.mac {
            let ml = mac_view(m);
            if ml == t {
                v.macs.remove(m);
            } else if ml > t {
                self.view(ml).macs.remove(m);
            } else {
                // Views are taken in index order: let go of ours first. Until the entry is
                // gone a request for this MAC sees it held by nobody and retries.
                drop(v);
                self.view(ml).macs.remove(m);
            }
        }
        Some(rec.allocation())
    }

    /// Releases what `owner` holds in every subnet, as Kube-OVN does for a pod whose subnet
    /// is not known; returns each subnet's name and allocation, sorted by subnet.
    pub fn release_everywhere(&self, owner: &str) -> Vec<(String, Allocation)> {
        self.subnet_names()
            .into_iter()
            .filter_map(|s| {
                let a = self.release(&s, owner)?;
                Some((s, a))
            })
            .collect()
    }

    /// What `owner` holds in `subnet`.
    pub fn lookup(&self, subnet: &str, owner: &str) -> Option<Allocation> {
        let (t, l) = me();
        let v = self.view(t);
        let h = self.owner_hash(owner);
        let shards = v.registry.by_name.get(subnet)?;
        let rec = shards.lock_for(h).owners.get(l, h, owner)?;
        Some(rec.allocation())
    }

    /// What `owner` holds in every subnet, sorted by subnet name.
    pub fn lookup_everywhere(&self, owner: &str) -> Vec<(String, Allocation)> {
        let (t, l) = me();
        let v = self.view(t);
        let h = self.owner_hash(owner);
        v.registry
            .sorted()
            .iter()
            .filter_map(|s| {
                let rec = s.lock_for(h).owners.get(l, h, owner)?;
                Some((s.name.to_string(), rec.allocation()))
            })
            .collect()
    }

    /// Who holds `ip` in `subnet`. This scans the subnet's owners: it is meant for
    /// diagnostics and conflict messages, not for a hot path.
    pub fn owner_of(&self, subnet: &str, ip: IpAddr) -> Option<String> {
        let shards = self.registry().by_name.get(subnet)?.clone();
        shards.find_owner(&|r: &Record| r.holds(ip))
    }

    /// Number of allocations held, over all subnets.
    pub fn allocation_count(&self) -> usize {
        let v = self.view(thread_slot());
        v.registry
            .by_name
            .values()
            .flat_map(|s| s.shards.iter())
            .map(|sh| lock(&sh.0).owners.len())
            .sum()
    }

    /// Loads existing allocations, as a controller does from annotations after a restart.
    /// Each record is restored whole or refused; refusals (address or MAC held by someone
    /// else, owner holding something else in the subnet, address outside the subnet or
    /// reserved, unknown subnet) are reported, never merged. A record identical to what its
    /// owner already holds counts as restored.
    pub fn restore(&self, records: impl IntoIterator<Item = RestoreRecord>) -> RestoreReport {
        let _w = lock(&self.writer);
        // With every view held no allocation is in flight (each holds its view throughout),
        // so the shards below are taken without waiting.
        let mut views = self.lock_views();
        let registry = views[0].registry.clone();
        let mut report = RestoreReport::default();
        let mut names = Reverse::default();
        let l = lane();
        for (index, r) in records.into_iter().enumerate() {
            match self.restore_one(&mut views, &registry, &r, l) {
                Ok(Some(rec)) => {
                    names.note(&r.owner, &rec);
                    report.restored += 1;
                }
                // Already held identically.
                Ok(None) => report.restored += 1,
                Err(error) => {
                    let error = names.name_holder(&registry, error);
                    report.conflicts.push(RestoreConflict {
                        index,
                        owner: r.owner,
                        error,
                    });
                }
            }
        }
        report
    }

    /// Validates a record, claims its addresses and MAC and stores it; returns the record
    /// stored, or `None` if the owner already held exactly this. Conflicts come back without
    /// their holder, which the caller names.
    fn restore_one(
        &self,
        views: &mut [ViewGuard<'_>],
        registry: &Registry,
        r: &RestoreRecord,
        l: usize,
    ) -> Result<Option<Record>> {
        check_owner(&r.owner)?;
        let shards = registry.get(r.subnet.as_str())?;
        let statics = split_statics(&r.ips)?;
        if let Some(m) = r.mac {
            if !m.is_unicast() {
                return Err(IpamError::InvalidMac {
                    input: m.to_string(),
                });
            }
        }
        let h = self.owner_hash(&r.owner);
        let mut g = shards.lock_for(h);
        let ShardState { owners, subnet } = &mut *g;
        let rec = Record {
            subnet: subnet.id,
            v4: statics.0,
            v6: statics.1,
            mac: r.mac,
        };
        let vacant = match owners.entry(l, h, &r.owner) {
            Entry::Held(have) if have == rec => return Ok(None),
            Entry::Held(have) => {
                return Err(IpamError::OwnerHoldsOther {
                    owner: r.owner.clone(),
                    held: held_text(&have),
                });
            }
            Entry::Vacant(vacant) => vacant,
        };
        // Take the MAC first (one probe); give it back if the addresses are taken.
        if let Some(m) = r.mac {
            if !views[mac_view(m)].macs.insert(m) {
                return Err(IpamError::MacInUse {
                    mac: m,
                    owner: None,
                });
            }
        }
        if let Err(e) = subnet.claim_exact(statics) {
            if let Some(m) = r.mac {
                views[mac_view(m)].macs.remove(m);
            }
            return Err(e);
        }
        vacant.insert(&r.owner, rec);
        Ok(Some(rec))
    }
}

/// Address and MAC holders, built on the first conflict of a restore and kept up to date
/// after that, so naming many conflicts stays linear.
#[derive(Default)]
struct Reverse {
    built: bool,
    /// By subnet id and address.
    ips: HashMap<(u32, IpAddr), Box<str>, Hasher>,
    macs: HashMap<MacAddr, Box<str>, Hasher>,
}

impl Reverse {
    fn build(&mut self, registry: &Registry) {
        if self.built {
            return;
        }
        self.built = true;
        for s in registry.by_name.values() {
            for g in s.lock_all() {
                for (o, r) in g.owners.iter() {
                    self.note(o, &r);
                }
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

    /// `e` with the holder of the address or MAC it names filled in.
    fn name_holder(&mut self, registry: &Registry, e: IpamError) -> IpamError {
        match e {
            IpamError::AddressInUse {
                subnet,
                address,
                owner: None,
            } => {
                self.build(registry);
                let id = registry.get(&subnet).map(|s| s.subnet().id);
                let owner = id
                    .ok()
                    .and_then(|id| self.ips.get(&(id, address)))
                    .map(|o| o.to_string());
                IpamError::AddressInUse {
                    subnet,
                    address,
                    owner,
                }
            }
            IpamError::MacInUse { mac, owner: None } => {
                self.build(registry);
                let owner = self.macs.get(&mac).map(|o| o.to_string());
                IpamError::MacInUse { mac, owner }
            }
            e => e,
        }
    }
}

fn try_allocate(
    owner: &str,
    (h, t, l): (u64, usize, usize),
    st: &mut ShardState,
    mac_set: &mut MacSet,
    req: &Request,
    statics: (Option<Ipv4Addr>, Option<Ipv6Addr>),
) -> std::result::Result<Allocation, Failure> {
    let ShardState {
        owners,
        subnet: sub,
    } = st;
    if let Some(have) = owners.get(l, h, owner) {
        return existing(&have, owner, req, statics).map_err(Failure::Error);
    }
    let pool = sub.pool_index(req.pool.as_deref())?;
    if let MacRequest::Static(m) = req.mac {
        if mac_set.contains(m) {
            return Err(Failure::MacInUse(m));
        }
    }
    let claimed = match sub.claim(&req.addresses, statics, pool) {
        Ok(c) => c,
        Err(IpamError::AddressInUse {
            subnet, address, ..
        }) => {
            return Err(Failure::IpInUse {
                name: subnet,
                ip: address,
            });
        }
        Err(e) => return Err(Failure::Error(e)),
    };
    let mac = match req.mac {
        MacRequest::Static(m) => {
            mac_set.insert(m);
            Some(m)
        }
        MacRequest::None => None,
        // Drawn in this thread's slot, so this set is the one that decides uniqueness.
        MacRequest::Random => Some(loop {
            let m = random_mac(t);
            if mac_set.insert(m) {
                break m;
            }
        }),
    };
    let rec = Record {
        subnet: sub.id,
        v4: claimed.v4.map(|c| c.0),
        v6: claimed.v6.map(|c| c.0),
        mac,
    };
    owners.insert(l, h, owner, rec);
    Ok(rec.allocation())
}

/// The answer to a repeated request by an owner that already holds addresses in the subnet.
fn existing(
    have: &Record,
    owner: &str,
    req: &Request,
    statics: (Option<Ipv4Addr>, Option<Ipv6Addr>),
) -> Result<Allocation> {
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
        assert_eq!(std::mem::size_of::<ViewCell>(), 128);
        // Where the mutex puts its data (after its word, in today's std).
        let ipam = Ipam::new();
        ipam.add_subnet(SubnetSpec::new("s", "10.0.0.0/24").unwrap())
            .unwrap();
        let shards = ipam.registry().get("s").unwrap().clone();
        let shard = &shards.shards[0];
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

    /// Small subnets get few shards (a shard costs about a kilobyte, and thousands of small
    /// subnets are common); from 4096 addresses on, 16. Expanding keeps the count, and every
    /// owner is still found.
    #[test]
    fn shard_count_follows_subnet_size() {
        let ipam = Ipam::new();
        for (name, cidr, want) in [
            ("a", "10.0.0.0/24", 1),
            ("b", "10.1.0.0/22", 4),
            ("c", "10.2.0.0/20", 16),
            ("d", "10.3.0.0/16", 16),
            ("e", "fd00::/64", 16),
            ("f", "10.4.0.0/16,fd01::/120", 1),
        ] {
            ipam.add_subnet(SubnetSpec::new(name, cidr).unwrap())
                .unwrap();
            assert_eq!(
                ipam.registry().get(name).unwrap().shards.len(),
                want,
                "{cidr}"
            );
        }
        let held: Vec<_> = (0..200)
            .map(|i| ipam.allocate("a", &format!("p{i}.ns/eth0")).unwrap())
            .collect();
        ipam.update_subnet(SubnetSpec::new("a", "10.0.0.0/16").unwrap())
            .unwrap();
        assert_eq!(ipam.registry().get("a").unwrap().shards.len(), 1);
        for (i, a) in held.iter().enumerate() {
            assert_eq!(ipam.lookup("a", &format!("p{i}.ns/eth0")), Some(*a));
        }
    }

    /// Random MACs land in the set their slot bits name, are locally administered unicast,
    /// and keep the rest of their bits random.
    #[test]
    fn random_macs_carry_their_set() {
        let mut seen = std::collections::HashSet::new();
        for slot in 0..THREAD_SLOTS {
            for _ in 0..50 {
                let m = random_mac(slot);
                assert_eq!(mac_view(m), slot, "{m}");
                assert!(m.is_unicast());
                assert_eq!(m.0[0] & 0x03, 0x02, "{m} locally administered unicast");
                seen.insert(m);
            }
        }
        assert!(seen.len() > THREAD_SLOTS * 49, "random bits repeat");
    }

    /// Two threads allocating in two subnets take no lock in common: each holds its own
    /// view and its own subnet's shards.
    #[test]
    fn subnets_share_no_shard() {
        let ipam = Ipam::new();
        for s in ["a", "b"] {
            ipam.add_subnet(SubnetSpec::new(s, "10.0.0.0/24").unwrap())
                .unwrap();
        }
        let reg = ipam.registry();
        let (a, b) = (reg.get("a").unwrap(), reg.get("b").unwrap());
        let a_shards: Vec<usize> = a
            .shards
            .iter()
            .map(|s| s as *const Shard as usize)
            .collect();
        assert!(
            b.shards
                .iter()
                .all(|s| !a_shards.contains(&(s as *const Shard as usize)))
        );
        // The same key is an owner in each subnet, with addresses of each.
        let x = ipam.allocate("a", "p.ns/eth0").unwrap();
        let y = ipam.allocate("b", "p.ns/eth0").unwrap();
        assert_ne!(x.mac, y.mac);
        assert_eq!(ipam.lookup("a", "p.ns/eth0"), Some(x));
        assert_eq!(ipam.lookup("b", "p.ns/eth0"), Some(y));
    }
}
