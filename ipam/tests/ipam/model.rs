//! Random sequences of operations against a simple model of the allocator: no address held
//! by two owners, reserved addresses never handed out, usage always equal to the model's.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use ipam::{Ipam, IpamError, MacRequest, Request, RestoreRecord, SubnetSpec, Usage};
use proptest::prelude::*;

const POOL: std::ops::RangeInclusive<u32> = 8..=11;

#[derive(Debug, Clone)]
enum Op {
    Alloc { owner: u8, pool: bool, random: bool },
    Static { owner: u8, off: u32, pool: bool },
    Release { owner: u8 },
    Restore { owner: u8, off: u32 },
    Excludes { lo: u32, len: u32 },
    Resize { wide: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..24, any::<bool>(), any::<bool>()).prop_map(|(owner, pool, random)| Op::Alloc { owner, pool, random }),
        2 => (0u8..24, 0u32..40, any::<bool>()).prop_map(|(owner, off, pool)| Op::Static { owner, off, pool }),
        3 => (0u8..24).prop_map(|owner| Op::Release { owner }),
        1 => (0u8..24, 0u32..40).prop_map(|(owner, off)| Op::Restore { owner, off }),
        1 => (0u32..32, 0u32..4).prop_map(|(lo, len)| Op::Excludes { lo, len }),
        1 => any::<bool>().prop_map(|wide| Op::Resize { wide }),
    ]
}

struct Model {
    prefix: u8,
    excludes: BTreeSet<u32>,
    owners: HashMap<String, u32>,
    /// Owners restored from a record without a MAC (all others hold a random MAC).
    restored_plain: HashSet<String>,
}

impl Model {
    fn size(&self) -> u32 {
        1 << (32 - self.prefix)
    }
    fn in_cidr(&self, off: u32) -> bool {
        off < self.size()
    }
    fn hard_reserved(&self, off: u32) -> bool {
        off == 0 || off == 1 || off == self.size() - 1
    }
    fn allocatable(&self, off: u32) -> bool {
        self.in_cidr(off) && !self.hard_reserved(off) && !self.excludes.contains(&off)
    }
    fn in_pool(&self, off: u32, pool: bool) -> bool {
        self.allocatable(off) && POOL.contains(&off) == pool
    }
    fn holder(&self, off: u32) -> Option<&String> {
        self.owners.iter().find(|(_, o)| **o == off).map(|(k, _)| k)
    }
    fn usage(&self, pool: bool) -> Usage {
        let total = (0..self.size()).filter(|o| self.in_pool(*o, pool)).count() as u128;
        let used = self
            .owners
            .values()
            .filter(|o| self.in_pool(**o, pool))
            .count() as u128;
        Usage {
            total,
            used,
            available: total - used,
        }
    }
    fn spec(&self) -> SubnetSpec {
        let mut s = SubnetSpec::new("s", &format!("10.0.0.0/{}", self.prefix))
            .unwrap()
            .with_pool("p", &["10.0.0.8..10.0.0.11"])
            .unwrap();
        s.excludes = self
            .excludes
            .iter()
            .map(|o| ipam::IpRange::single(addr(*o)))
            .collect();
        s
    }
}

fn addr(off: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + off))
}

fn off_of(ip: Ipv4Addr) -> u32 {
    u32::from(ip) - 0x0a00_0000
}

fn owner_name(o: u8) -> String {
    // Shared and distinct key tails (from the first `.`), and keys without one.
    match o % 4 {
        3 => format!("pod-{o}"),
        r => format!("pod-{o}.ns{r}/eth0"),
    }
}

fn check(ipam: &Ipam, m: &Model) {
    let u = ipam.usage("s").unwrap();
    assert_eq!(u.pools[0].v4.unwrap(), m.usage(false), "default pool");
    assert_eq!(u.pools[1].v4.unwrap(), m.usage(true), "named pool");
    let mut seen = HashSet::new();
    let mut macs = HashSet::new();
    for (o, off) in &m.owners {
        let a = ipam.lookup("s", o).expect("owner known");
        assert_eq!(off_of(a.v4.unwrap()), *off);
        assert!(seen.insert(*off));
        if let Some(mac) = a.mac {
            assert!(macs.insert(mac));
        }
    }
    assert_eq!(ipam.allocation_count(), m.owners.len());
}

fn run(ops: Vec<Op>) {
    let mut m = Model {
        prefix: 28,
        excludes: BTreeSet::new(),
        owners: HashMap::new(),
        restored_plain: HashSet::new(),
    };
    let ipam = Ipam::new();
    ipam.add_subnet(m.spec()).unwrap();
    for op in ops {
        match op {
            Op::Alloc {
                owner,
                pool,
                random,
            } => {
                let name = owner_name(owner);
                let mut req = if random {
                    Request::random()
                } else {
                    Request::next()
                };
                if pool {
                    req = req.pool("p");
                }
                // The default request has a path of its own in `allocate`.
                let r = if !random && !pool {
                    ipam.allocate("s", &name)
                } else {
                    ipam.allocate_with("s", &name, &req)
                };
                if let Some(off) = m.owners.get(&name) {
                    assert_eq!(off_of(r.unwrap().v4.unwrap()), *off);
                } else if (0..m.size()).any(|o| m.in_pool(o, pool) && m.holder(o).is_none()) {
                    let off = off_of(r.unwrap().v4.unwrap());
                    assert!(m.in_pool(off, pool), "{off} not allocatable in pool={pool}");
                    assert!(m.holder(off).is_none(), "{off} handed out twice");
                    m.owners.insert(name, off);
                } else {
                    assert!(matches!(r, Err(IpamError::Exhausted { .. })), "{r:?}");
                }
            }
            Op::Static { owner, off, pool } => {
                let name = owner_name(owner);
                let mut req = Request::static_ips(&[addr(off)]).mac(MacRequest::Random);
                if pool {
                    req = req.pool("p");
                }
                let r = ipam.allocate_with("s", &name, &req);
                match m.owners.get(&name) {
                    Some(have) if *have == off => assert!(r.is_ok()),
                    Some(_) => {
                        assert!(matches!(r, Err(IpamError::OwnerHoldsOther { .. })), "{r:?}")
                    }
                    None if !m.in_cidr(off) => {
                        assert!(
                            matches!(r, Err(IpamError::StaticOutsideSubnet { .. })),
                            "{r:?}"
                        )
                    }
                    None if !m.allocatable(off) => {
                        assert!(matches!(r, Err(IpamError::StaticReserved { .. })), "{r:?}")
                    }
                    None if pool && !POOL.contains(&off) => {
                        assert!(
                            matches!(r, Err(IpamError::StaticOutsidePool { .. })),
                            "{r:?}"
                        )
                    }
                    None => match m.holder(off).cloned() {
                        Some(h) => match r {
                            Err(IpamError::AddressInUse { owner, .. }) => {
                                assert_eq!(owner, Some(h))
                            }
                            other => panic!("{other:?}"),
                        },
                        None => {
                            assert_eq!(off_of(r.unwrap().v4.unwrap()), off);
                            m.owners.insert(name, off);
                        }
                    },
                }
            }
            Op::Release { owner } => {
                let name = owner_name(owner);
                let r = ipam.release("s", &name);
                assert_eq!(r.map(|a| off_of(a.v4.unwrap())), m.owners.remove(&name));
                m.restored_plain.remove(&name);
            }
            Op::Restore { owner, off } => {
                let name = owner_name(owner);
                let report = ipam.restore([RestoreRecord {
                    owner: name.clone(),
                    subnet: "s".into(),
                    ips: vec![addr(off)],
                    mac: None,
                }]);
                let ok = match m.owners.get(&name) {
                    // Identical to what the owner holds counts as restored; anything else
                    // (other address, or a held MAC the record lacks) is a conflict.
                    Some(have) => *have == off && m.restored_plain.contains(&name),
                    None => m.allocatable(off) && m.holder(off).is_none(),
                };
                assert_eq!(report.restored, usize::from(ok), "{report:?}");
                assert_eq!(report.conflicts.len(), usize::from(!ok), "{report:?}");
                if ok {
                    m.owners.insert(name.clone(), off);
                    m.restored_plain.insert(name);
                }
            }
            Op::Excludes { lo, len } => {
                let size = m.size();
                m.excludes = (lo..lo + len).filter(|o| *o < size).collect();
                ipam.update_subnet(m.spec()).unwrap();
            }
            Op::Resize { wide } => {
                let (old_prefix, old_excludes) = (m.prefix, m.excludes.clone());
                m.prefix = if wide { 27 } else { 28 };
                let size = m.size();
                m.excludes.retain(|o| *o < size);
                let strands = m
                    .owners
                    .values()
                    .any(|o| !m.in_cidr(*o) || m.hard_reserved(*o));
                let r = ipam.update_subnet(m.spec());
                if strands {
                    assert!(
                        matches!(r, Err(IpamError::UpdateStrandsAllocation { .. })),
                        "{r:?}"
                    );
                    m.prefix = old_prefix;
                    m.excludes = old_excludes;
                } else {
                    r.unwrap();
                }
            }
        }
        check(&ipam, &m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn allocator_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }

    /// Dual stack with unequal capacities: every owner holds both families, and usage of each
    /// family equals the number of owners.
    #[test]
    fn dual_stack_both_or_neither(ops in proptest::collection::vec((0u8..16, any::<bool>()), 1..120)) {
        let ipam = Ipam::new();
        ipam.add_subnet(SubnetSpec::new("d", "10.0.0.0/29,fd00::/126").unwrap()).unwrap();
        let mut held = HashSet::new();
        for (o, alloc) in ops {
            let name = format!("o{o}");
            if alloc {
                match ipam.allocate("d", &name) {
                    Ok(a) => {
                        prop_assert!(a.v4.is_some() && a.v6.is_some());
                        held.insert(name);
                    }
                    Err(IpamError::Exhausted { .. }) => prop_assert!(!held.contains(&name)),
                    Err(e) => panic!("{e}"),
                }
            } else {
                prop_assert_eq!(ipam.release("d", &name).is_some(), held.remove(&name));
            }
            let u = ipam.usage("d").unwrap();
            prop_assert_eq!(u.v4.unwrap().used, held.len() as u128);
            prop_assert_eq!(u.v6.unwrap().used, held.len() as u128);
            // fd00::/126 has 4 addresses: anycast and gateway leave 2.
            prop_assert!(held.len() <= 2);
        }
    }
}

/// What an operation on two subnets does: allocate next (with a random or a given MAC),
/// release in one subnet, or release everywhere.
#[derive(Debug, Clone)]
enum TwoOp {
    Alloc {
        subnet: u8,
        owner: u8,
        mac: Option<u8>,
    },
    Release {
        subnet: u8,
        owner: u8,
    },
    ReleaseEverywhere {
        owner: u8,
    },
}

fn two_op() -> impl Strategy<Value = TwoOp> {
    prop_oneof![
        4 => (0u8..2, 0u8..6, proptest::option::of(0u8..4))
            .prop_map(|(subnet, owner, mac)| TwoOp::Alloc { subnet, owner, mac }),
        3 => (0u8..2, 0u8..6).prop_map(|(subnet, owner)| TwoOp::Release { subnet, owner }),
        1 => (0u8..6).prop_map(|owner| TwoOp::ReleaseEverywhere { owner }),
    ]
}

const TWO: [&str; 2] = ["a", "b"];

fn fixed_mac(i: u8) -> ipam::MacAddr {
    ipam::MacAddr([0x02, 0, 0, 0, 0, i])
}

/// Owners named per subnet: the same key in two subnets holds two allocations, each released
/// on its own; MACs stay unique across both subnets, and usage counts each subnet's owners.
fn run_two(ops: Vec<TwoOp>) {
    let ipam = Ipam::new();
    // Three allocatable addresses each (/29 less network, gateway, broadcast and two
    // excludes), so exhaustion is reached too.
    for (i, s) in TWO.iter().enumerate() {
        let spec = SubnetSpec::new(*s, &format!("10.{i}.0.0/29"))
            .unwrap()
            .with_excludes(&[&format!("10.{i}.0.6"), &format!("10.{i}.0.5")])
            .unwrap();
        ipam.add_subnet(spec).unwrap();
    }
    let mut held: HashMap<(usize, String), ipam::Allocation> = HashMap::new();
    for op in ops {
        match op {
            TwoOp::Alloc { subnet, owner, mac } => {
                let (s, name) = (usize::from(subnet), owner_name(owner));
                let req = match mac {
                    Some(i) => Request::next().mac(MacRequest::Static(fixed_mac(i))),
                    None => Request::next(),
                };
                let r = ipam.allocate_with(TWO[s], &name, &req);
                let mac_holder = mac.and_then(|i| {
                    held.iter()
                        .find(|(_, a)| a.mac == Some(fixed_mac(i)))
                        .map(|((_, o), _)| o.clone())
                });
                let used = held.keys().filter(|(hs, _)| *hs == s).count();
                match held.get(&(s, name.clone())) {
                    Some(have) if mac.is_none_or(|i| have.mac == Some(fixed_mac(i))) => {
                        assert_eq!(r.unwrap(), *have)
                    }
                    Some(_) => {
                        assert!(matches!(r, Err(IpamError::OwnerHoldsOther { .. })), "{r:?}")
                    }
                    None if mac_holder.is_some() => match r {
                        Err(IpamError::MacInUse { owner, .. }) => assert_eq!(owner, mac_holder),
                        other => panic!("{other:?}"),
                    },
                    None if used == 3 => {
                        assert!(matches!(r, Err(IpamError::Exhausted { .. })), "{r:?}")
                    }
                    None => {
                        held.insert((s, name), r.unwrap());
                    }
                }
            }
            TwoOp::Release { subnet, owner } => {
                let (s, name) = (usize::from(subnet), owner_name(owner));
                assert_eq!(ipam.release(TWO[s], &name), held.remove(&(s, name)));
            }
            TwoOp::ReleaseEverywhere { owner } => {
                let name = owner_name(owner);
                let want: Vec<(String, ipam::Allocation)> = (0..2)
                    .filter_map(|s| Some((TWO[s].to_owned(), held.remove(&(s, name.clone()))?)))
                    .collect();
                assert_eq!(ipam.release_everywhere(&name), want);
            }
        }
        let mut macs = HashSet::new();
        let mut ips = HashSet::new();
        for ((s, o), a) in &held {
            assert_eq!(ipam.lookup(TWO[*s], o), Some(*a));
            assert!(macs.insert(a.mac.unwrap()), "MAC {:?} held twice", a.mac);
            assert!(ips.insert(a.v4.unwrap()), "{:?} held twice", a.v4);
        }
        for (s, name) in TWO.iter().enumerate() {
            let used = held.keys().filter(|(hs, _)| *hs == s).count() as u128;
            assert_eq!(ipam.usage(name).unwrap().v4.unwrap().used, used);
        }
        for o in 0..6 {
            let name = owner_name(o);
            let want: Vec<(String, ipam::Allocation)> = (0..2)
                .filter_map(|s| Some((TWO[s].to_owned(), *held.get(&(s, name.clone()))?)))
                .collect();
            assert_eq!(ipam.lookup_everywhere(&name), want);
        }
        assert_eq!(ipam.allocation_count(), held.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn two_subnets_keep_owners_apart(ops in proptest::collection::vec(two_op(), 1..80)) {
        run_two(ops);
    }
}
