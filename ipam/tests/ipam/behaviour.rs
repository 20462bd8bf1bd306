//! What a user of the allocator sees: order, idempotency, statics, pools, MACs, usage,
//! subnet updates and restore.

use std::collections::HashSet;
use std::net::IpAddr;

use ipam::{
    AddressBitmap, AddressRequest, Ipam, IpamError, MacAddr, MacRequest, Request, RestoreRecord,
    SubnetSpec, Usage,
};

use super::{ip, with_subnet};

#[test]
fn next_skips_gateway_excludes_and_is_idempotent() {
    let ipam = Ipam::new();
    ipam.add_subnet(
        SubnetSpec::new("s", "10.0.0.0/24")
            .unwrap()
            .with_excludes(&["10.0.0.2..10.0.0.10", "10.0.0.12"])
            .unwrap(),
    )
    .unwrap();
    let a = ipam.allocate("s", "a.ns/eth0").unwrap();
    let b = ipam.allocate("s", "b.ns/eth0").unwrap();
    assert_eq!(a.v4, Some("10.0.0.11".parse().unwrap()));
    assert_eq!(b.v4, Some("10.0.0.13".parse().unwrap()));
    assert_eq!(a.v6, None);
    assert_eq!(ipam.allocate("s", "a.ns/eth0").unwrap(), a);
    assert_eq!(ipam.lookup("s", "a.ns/eth0"), Some(a));
    assert_eq!(
        ipam.owner_of("s", ip("10.0.0.13")).as_deref(),
        Some("b.ns/eth0")
    );
    assert_eq!(ipam.gateways("s").unwrap(), vec![ip("10.0.0.1")]);
    assert_eq!(ipam.release("s", "a.ns/eth0"), Some(a));
    assert_eq!(ipam.release("s", "a.ns/eth0"), None);
    assert_eq!(ipam.lookup("s", "a.ns/eth0"), None);
}

#[test]
fn never_used_addresses_go_out_before_released_ones() {
    // /29: .0 network, .1 gateway, .7 broadcast, so .2 to .6 are allocatable.
    let ipam = with_subnet("s", "10.0.0.0/29");
    let first = ipam.allocate("s", "o0").unwrap().v4.unwrap();
    ipam.release("s", "o0");
    let mut got = Vec::new();
    for i in 1..=4 {
        got.push(ipam.allocate("s", &format!("o{i}")).unwrap().v4.unwrap());
    }
    assert!(
        !got.contains(&first),
        "released {first} reused before fresh ones: {got:?}"
    );
    // Only the released one is left.
    assert_eq!(ipam.allocate("s", "o5").unwrap().v4, Some(first));
    assert!(matches!(
        ipam.allocate("s", "o6"),
        Err(IpamError::Exhausted { .. })
    ));
}

#[test]
fn static_addresses() {
    let ipam = Ipam::new();
    ipam.add_subnet(
        SubnetSpec::new("s", "10.0.0.0/24")
            .unwrap()
            .with_excludes(&["10.0.0.100..10.0.0.110"])
            .unwrap()
            .with_pool("p", &["10.0.0.200..10.0.0.210"])
            .unwrap(),
    )
    .unwrap();
    let st = |o: &str, a: &str| ipam.allocate_with("s", o, &Request::static_ips(&[ip(a)]));
    assert_eq!(
        st("a", "10.0.0.50").unwrap().v4,
        Some("10.0.0.50".parse().unwrap())
    );
    // Idempotent; a different address for the same owner is refused.
    assert!(st("a", "10.0.0.50").is_ok());
    assert!(matches!(
        st("a", "10.0.0.51"),
        Err(IpamError::OwnerHoldsOther { .. })
    ));
    match st("b", "10.0.0.50") {
        Err(IpamError::AddressInUse { owner, address, .. }) => {
            assert_eq!(owner.as_deref(), Some("a"));
            assert_eq!(address, ip("10.0.0.50"));
        }
        other => panic!("{other:?}"),
    }
    for reserved in ["10.0.0.0", "10.0.0.1", "10.0.0.255", "10.0.0.105"] {
        assert!(
            matches!(st("b", reserved), Err(IpamError::StaticReserved { .. })),
            "{reserved}"
        );
    }
    assert!(matches!(
        st("b", "10.0.1.5"),
        Err(IpamError::StaticOutsideSubnet { .. })
    ));
    assert!(matches!(
        st("b", "fd00::5"),
        Err(IpamError::FamilyMismatch { .. })
    ));
    // A static address may sit in a pool's range; asking for the pool restricts it.
    assert!(st("c", "10.0.0.205").is_ok());
    let in_pool = Request::static_ips(&[ip("10.0.0.60")]).pool("p");
    assert!(matches!(
        ipam.allocate_with("s", "d", &in_pool),
        Err(IpamError::StaticOutsidePool { .. })
    ));
    assert!(matches!(
        ipam.allocate_with(
            "s",
            "d",
            &Request::static_ips(&[ip("10.0.0.5"), ip("10.0.0.6")])
        ),
        Err(IpamError::DuplicateFamily { .. })
    ));
    // Nothing was left behind by the failures.
    assert_eq!(ipam.allocation_count(), 2);
    assert_eq!(ipam.usage("s").unwrap().v4.unwrap().used, 2);
}

#[test]
fn dual_stack_gives_both_families_or_neither() {
    // The IPv4 side has 1 address (.2 of a /30 with gateway .1), IPv6 plenty.
    let ipam = with_subnet("s", "10.0.0.0/30,fd00::/120");
    let a = ipam.allocate("s", "a").unwrap();
    assert_eq!(a.v4, Some("10.0.0.2".parse().unwrap()));
    assert_eq!(a.v6, Some("fd00::2".parse().unwrap()));
    assert_eq!(a.ips().count(), 2);
    let before = ipam.usage("s").unwrap();
    assert!(matches!(
        ipam.allocate("s", "b"),
        Err(IpamError::Exhausted {
            family: ipam::Family::V4,
            ..
        })
    ));
    assert_eq!(ipam.usage("s").unwrap(), before, "no IPv6 address leaked");
    // A static IPv6 alone gets the IPv4 side filled in (and fails whole when it cannot).
    ipam.release("s", "a");
    let b = ipam
        .allocate_with("s", "b", &Request::static_ips(&[ip("fd00::99")]))
        .unwrap();
    assert_eq!(b.v6, Some("fd00::99".parse().unwrap()));
    assert_eq!(b.v4, Some("10.0.0.2".parse().unwrap()));
}

#[test]
fn pools_partition_the_subnet() {
    let ipam = Ipam::new();
    ipam.add_subnet(
        SubnetSpec::new("s", "10.0.0.0/28")
            .unwrap()
            .with_pool("p", &["10.0.0.2..10.0.0.5"])
            .unwrap(),
    )
    .unwrap();
    let mut from_pool = HashSet::new();
    for i in 0..4 {
        let a = ipam
            .allocate_with("s", &format!("p{i}"), &Request::next().pool("p"))
            .unwrap();
        from_pool.insert(a.v4.unwrap());
    }
    let want: HashSet<_> = (2..=5)
        .map(|i| format!("10.0.0.{i}").parse().unwrap())
        .collect();
    assert_eq!(from_pool, want);
    assert!(matches!(
        ipam.allocate_with("s", "p9", &Request::next().pool("p")),
        Err(IpamError::Exhausted { pool: Some(_), .. })
    ));
    let d = ipam.allocate("s", "d").unwrap().v4.unwrap();
    assert_eq!(d, "10.0.0.6".parse::<std::net::Ipv4Addr>().unwrap());
    let u = ipam.usage("s").unwrap();
    assert_eq!(u.pools[1].name.as_deref(), Some("p"));
    assert_eq!(
        u.pools[1].v4,
        Some(Usage {
            total: 4,
            used: 4,
            available: 0
        })
    );
    // 16 - network - broadcast - gateway - 4 pool addresses = 9.
    assert_eq!(
        u.pools[0].v4,
        Some(Usage {
            total: 9,
            used: 1,
            available: 8
        })
    );
    assert_eq!(
        u.v4,
        Some(Usage {
            total: 13,
            used: 5,
            available: 8
        })
    );
    assert!(matches!(
        ipam.allocate_with("s", "x", &Request::next().pool("nope")),
        Err(IpamError::PoolNotFound { .. })
    ));
}

#[test]
fn macs_are_unique_unicast_and_static_ones_conflict() {
    let ipam = with_subnet("s", "10.0.0.0/20");
    let mut seen = HashSet::new();
    for i in 0..2000 {
        let m = ipam.allocate("s", &format!("o{i}")).unwrap().mac.unwrap();
        assert!(m.is_unicast());
        assert_eq!(m.0[0] & 2, 2, "locally administered");
        assert!(seen.insert(m));
    }
    let m: MacAddr = "0a:00:00:00:00:01".parse().unwrap();
    let req = Request::next().mac(MacRequest::Static(m));
    assert_eq!(ipam.allocate_with("s", "x", &req).unwrap().mac, Some(m));
    match ipam.allocate_with("s", "y", &req) {
        Err(IpamError::MacInUse { owner, .. }) => assert_eq!(owner.as_deref(), Some("x")),
        other => panic!("{other:?}"),
    }
    ipam.release("s", "x");
    assert!(ipam.allocate_with("s", "y", &req).is_ok());
    let none = ipam
        .allocate_with("s", "z", &Request::next().mac(MacRequest::None))
        .unwrap();
    assert_eq!(none.mac, None);
    assert!("01:00:00:00:00:01".parse::<MacAddr>().is_err(), "multicast");
    assert!("0a:00:00:00:01".parse::<MacAddr>().is_err());
    assert_eq!(m.to_string(), "0a:00:00:00:00:01");
}

#[test]
fn usage_is_exact_for_a_slash_64() {
    let ipam = with_subnet("s", "fd00:1::/64");
    for i in 0..3 {
        ipam.allocate("s", &format!("o{i}")).unwrap();
    }
    let u = ipam.usage("s").unwrap().v6.unwrap();
    // All of 2^64 but the subnet-router anycast address and the gateway.
    assert_eq!(u.total, (1u128 << 64) - 2);
    assert_eq!(u.used, 3);
    assert_eq!(u.available, (1u128 << 64) - 5);
}

#[test]
fn huge_ranges_materialise_lazily() {
    let ipam = with_subnet("s", "fd00:1::/64");
    for i in 0..5000 {
        ipam.allocate("s", &format!("o{i}")).unwrap();
    }
    // Far-apart static and random addresses each cost a chunk, not the range.
    ipam.allocate_with(
        "s",
        "far",
        &Request::static_ips(&[ip("fd00:1::ffff:ffff:ffff:fff0")]),
    )
    .unwrap();
    for i in 0..10 {
        let a = ipam
            .allocate_with("s", &format!("r{i}"), &Request::random())
            .unwrap();
        assert!(a.v6.is_some());
    }
    let bytes = ipam.bitmap_bytes("s").unwrap();
    assert!(bytes < 64 * 1024, "{bytes} bytes for 5011 addresses");
    assert_eq!(ipam.usage("s").unwrap().v6.unwrap().used, 5011);
}

/// A `/8` with every chunk materialised costs 2 bits per address plus the chunk directory
/// (16 bytes per 1024 addresses): about 4 MiB.
#[test]
fn dense_slash8_costs_two_bits_per_address() {
    let bm = AddressBitmap::new((1 << 24) - 1);
    for chunk in 0..(1u128 << 14) {
        assert!(bm.claim(chunk << 10).is_some());
    }
    let two_bits = (1usize << 24) / 4;
    let directory = (1 << 14) * 16;
    assert!(bm.bytes() <= two_bits + directory, "{} bytes", bm.bytes());
}

#[test]
fn random_allocation_stays_valid() {
    let ipam = Ipam::new();
    ipam.add_subnet(
        SubnetSpec::new("s", "10.0.0.0/26")
            .unwrap()
            .with_excludes(&["10.0.0.10..10.0.0.20"])
            .unwrap(),
    )
    .unwrap();
    let mut seen = HashSet::new();
    // 64 - 3 reserved - 11 excluded = 50.
    for i in 0..50 {
        let a = ipam
            .allocate_with("s", &format!("o{i}"), &Request::random())
            .unwrap()
            .v4
            .unwrap();
        let last = a.octets()[3];
        assert!(!(10..=20).contains(&last) && last > 1 && last < 63, "{a}");
        assert!(seen.insert(a));
    }
    assert!(matches!(
        ipam.allocate_with("s", "x", &Request::random()),
        Err(IpamError::Exhausted { .. })
    ));
}

#[test]
fn update_expands_and_keeps_allocations() {
    let ipam = with_subnet("s", "10.0.1.0/24");
    let a = ipam.allocate("s", "a").unwrap();
    let b = ipam.allocate("s", "b").unwrap();
    ipam.release("s", "b");
    // Expand downwards: the base changes, allocations and history move with it.
    let spec = SubnetSpec::new("s", "10.0.0.0/23")
        .unwrap()
        .with_gateway("10.0.1.1")
        .unwrap();
    ipam.update_subnet(spec).unwrap();
    assert_eq!(ipam.lookup("s", "a").unwrap(), a);
    assert_eq!(ipam.usage("s").unwrap().v4.unwrap().used, 1);
    assert_eq!(ipam.usage("s").unwrap().v4.unwrap().total, 512 - 3);
    // b's old address was used before, so it is not the next one.
    let c = ipam.allocate("s", "c").unwrap();
    assert_ne!(c.v4, b.v4);
    // An exclude over a held address keeps it held; once released it is never handed out.
    let spec = SubnetSpec::new("s", "10.0.0.0/23")
        .unwrap()
        .with_gateway("10.0.1.1")
        .unwrap()
        .with_excludes(&[&a.v4.unwrap().to_string()])
        .unwrap();
    ipam.update_subnet(spec).unwrap();
    assert_eq!(ipam.lookup("s", "a").unwrap(), a);
    ipam.release("s", "a");
    let st = ipam.allocate_with("s", "d", &Request::static_ips(&[IpAddr::V4(a.v4.unwrap())]));
    assert!(matches!(st, Err(IpamError::StaticReserved { .. })));
    // Shrinking away from a held address is refused and changes nothing.
    let held = ipam.lookup("s", "c").unwrap().v4.unwrap();
    let other_half = if held.octets()[2] == 0 {
        "10.0.1.0/24"
    } else {
        "10.0.0.0/24"
    };
    let before = ipam.subnet_spec("s");
    assert!(matches!(
        ipam.update_subnet(SubnetSpec::new("s", other_half).unwrap()),
        Err(IpamError::UpdateStrandsAllocation { .. })
    ));
    assert_eq!(ipam.subnet_spec("s"), before);
    assert!(matches!(
        ipam.update_subnet(SubnetSpec::new("nope", "10.0.0.0/24").unwrap()),
        Err(IpamError::SubnetNotFound { .. })
    ));
}

#[test]
fn remove_subnet_only_when_empty() {
    let ipam = with_subnet("s", "10.0.0.0/24");
    ipam.allocate("s", "a").unwrap();
    assert!(matches!(
        ipam.remove_subnet("s"),
        Err(IpamError::SubnetInUse { allocations: 1, .. })
    ));
    ipam.release("s", "a");
    ipam.remove_subnet("s").unwrap();
    assert!(ipam.subnet_names().is_empty());
    assert!(matches!(
        ipam.allocate("s", "a"),
        Err(IpamError::SubnetNotFound { .. })
    ));
}

/// An owner key names an allocation within a subnet, as Kube-OVN keys a NIC per subnet: the
/// same key holds addresses in two subnets independently, MACs stay unique across both, and
/// the `_everywhere` calls see and release both.
#[test]
fn owners_are_named_per_subnet() {
    let ipam = with_subnet("s", "10.0.0.0/24");
    ipam.add_subnet(SubnetSpec::new("t", "10.1.0.0/24").unwrap())
        .unwrap();
    let a = ipam.allocate("s", "p.ns/eth0").unwrap();
    let b = ipam.allocate("t", "p.ns/eth0").unwrap();
    assert_eq!(a.v4, Some("10.0.0.2".parse().unwrap()));
    assert_eq!(b.v4, Some("10.1.0.2".parse().unwrap()));
    assert_ne!(a.mac, b.mac);
    assert_eq!(
        ipam.allocate("t", "p.ns/eth0").unwrap(),
        b,
        "idempotent per subnet"
    );
    assert_eq!(ipam.allocation_count(), 2);
    assert_eq!(
        ipam.lookup_everywhere("p.ns/eth0"),
        vec![("s".to_owned(), a), ("t".to_owned(), b)]
    );
    // A static MAC held in one subnet is refused in the other, naming its holder.
    let req = Request::next().mac(MacRequest::Static(a.mac.unwrap()));
    match ipam.allocate_with("t", "q.ns/eth0", &req) {
        Err(IpamError::MacInUse { owner, .. }) => assert_eq!(owner.as_deref(), Some("p.ns/eth0")),
        other => panic!("{other:?}"),
    }
    // Releasing in one subnet leaves the other.
    assert_eq!(ipam.release("t", "p.ns/eth0"), Some(b));
    assert_eq!(ipam.release("t", "p.ns/eth0"), None);
    assert_eq!(ipam.lookup("s", "p.ns/eth0"), Some(a));
    assert_eq!(ipam.lookup("t", "p.ns/eth0"), None);
    assert_eq!(ipam.release("nope", "p.ns/eth0"), None);
    assert_eq!(ipam.lookup("nope", "p.ns/eth0"), None);
    let c = ipam.allocate("t", "p.ns/eth0").unwrap();
    assert_eq!(
        ipam.release_everywhere("p.ns/eth0"),
        vec![("s".to_owned(), a), ("t".to_owned(), c)]
    );
    assert_eq!(ipam.allocation_count(), 0);
    assert!(ipam.lookup_everywhere("p.ns/eth0").is_empty());
    // With the MAC free again it can be given statically in the other subnet.
    assert_eq!(
        ipam.allocate_with("t", "q.ns/eth0", &req).unwrap().mac,
        a.mac
    );
}

#[test]
fn restore_loads_records_and_reports_conflicts() {
    let ipam = with_subnet("s", "10.0.0.0/24,fd00::/120");
    let m = |s: &str| Some(s.parse::<MacAddr>().unwrap());
    let rec = |o: &str, ips: &[&str], mac| RestoreRecord {
        owner: o.to_owned(),
        subnet: "s".to_owned(),
        ips: ips.iter().map(|s| ip(s)).collect(),
        mac,
    };
    let records = vec![
        rec("a", &["10.0.0.5", "fd00::5"], m("0a:00:00:00:00:05")),
        rec("b", &["10.0.0.5"], None), // address held by a
        rec("c", &["10.0.0.6"], m("0a:00:00:00:00:05")), // MAC held by a
        rec("d", &["10.0.0.1"], None), // gateway
        rec("e", &["10.0.1.1"], None), // outside
        RestoreRecord {
            subnet: "nope".into(),
            ..rec("f", &["10.0.0.7"], None)
        },
        rec("a", &["10.0.0.5", "fd00::5"], m("0a:00:00:00:00:05")), // identical again
        rec("g", &["10.0.0.7"], None),                              // IPv4 only in dual stack
    ];
    let report = ipam.restore(records);
    assert_eq!(report.restored, 3);
    let kinds: Vec<(usize, String)> = report
        .conflicts
        .iter()
        .map(|c| {
            (
                c.index,
                format!("{:?}", c.error)
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (1, "AddressInUse".to_owned()),
            (2, "MacInUse".to_owned()),
            (3, "StaticReserved".to_owned()),
            (4, "StaticOutsideSubnet".to_owned()),
            (5, "SubnetNotFound".to_owned()),
        ]
    );
    match &report.conflicts[0].error {
        IpamError::AddressInUse { owner, .. } => assert_eq!(owner.as_deref(), Some("a")),
        e => panic!("{e}"),
    }
    match &report.conflicts[1].error {
        IpamError::MacInUse { owner, .. } => assert_eq!(owner.as_deref(), Some("a")),
        e => panic!("{e}"),
    }
    assert_eq!(ipam.lookup("s", "g").unwrap().v6, None);
    // New allocations avoid restored addresses.
    for i in 0..240 {
        let a = ipam.allocate("s", &format!("n{i}")).unwrap();
        assert_ne!(a.v4, Some("10.0.0.5".parse().unwrap()));
        assert_ne!(a.v4, Some("10.0.0.7".parse().unwrap()));
        assert_ne!(a.v6, Some("fd00::5".parse().unwrap()));
    }
}

#[test]
fn bare_bitmap_claims_and_releases() {
    let bm = AddressBitmap::new(99);
    let mut seen = HashSet::new();
    while let Some(o) = bm.claim_next(0) {
        assert!(o <= 99 && seen.insert(o));
    }
    assert_eq!(seen.len(), 100);
    assert!(bm.release(42));
    assert!(!bm.release(42));
    assert!(bm.was_used(42) && !bm.is_claimed(42));
    assert_eq!(bm.claim_next(0), Some(42));
    assert_eq!(bm.claim(42), None);
    assert_eq!(bm.claim(100), None);
}

#[test]
fn request_kinds_round_trip() {
    assert_eq!(Request::default().addresses, AddressRequest::Next);
    assert_eq!(Request::random().addresses, AddressRequest::Random);
    let r: ipam::IpRange = "10.0.0.1..10.0.0.9".parse().unwrap();
    assert_eq!(r.to_string(), "10.0.0.1..10.0.0.9");
    let c: ipam::IpRange = "10.0.0.0/30".parse().unwrap();
    assert_eq!(c.end, ip("10.0.0.3"));
}

/// A static MAC taken before many other allocations (which grow the MAC sets) still
/// conflicts afterwards, and is free again once released.
#[test]
fn static_mac_survives_growth_of_the_mac_sets() {
    let ipam = with_subnet("s", "10.0.0.0/18");
    let m: MacAddr = "0a:00:00:00:00:01".parse().unwrap();
    let req = Request::next().mac(MacRequest::Static(m));
    assert_eq!(ipam.allocate_with("s", "first", &req).unwrap().mac, Some(m));
    for i in 0..5000 {
        ipam.allocate("s", &format!("o{i}")).unwrap();
    }
    match ipam.allocate_with("s", "second", &req) {
        Err(IpamError::MacInUse { owner, .. }) => assert_eq!(owner.as_deref(), Some("first")),
        other => panic!("{other:?}"),
    }
    ipam.release("s", "first");
    assert_eq!(
        ipam.allocate_with("s", "second", &req).unwrap().mac,
        Some(m)
    );
}

/// Owners allocated on one thread and released on others (whose lanes differ, so records go
/// back to other free lists and MACs leave sets the releasing thread does not draw into)
/// are fully released: usage drops to zero and every freed MAC can be requested statically.
#[test]
fn owners_released_on_other_threads_free_everything() {
    let ipam = with_subnet("s", "10.0.0.0/20,fd00::/116");
    let owner = |i: usize| format!("p{i}.ns{}/eth0", i % 7);
    let held: Vec<_> = std::thread::scope(|sc| {
        sc.spawn(|| {
            (0..3000)
                .map(|i| ipam.allocate("s", &owner(i)).unwrap())
                .collect()
        })
        .join()
        .unwrap()
    });
    std::thread::scope(|sc| {
        for t in 0..4 {
            let (ipam, held) = (&ipam, &held);
            sc.spawn(move || {
                for i in (t..held.len()).step_by(4) {
                    assert_eq!(ipam.lookup("s", &owner(i)), Some(held[i]));
                    assert_eq!(ipam.release("s", &owner(i)), Some(held[i]));
                }
            });
        }
    });
    assert_eq!(ipam.allocation_count(), 0);
    let u = ipam.usage("s").unwrap();
    assert_eq!((u.v4.unwrap().used, u.v6.unwrap().used), (0, 0));
    for (i, a) in held.iter().enumerate() {
        let req = Request::next().mac(MacRequest::Static(a.mac.unwrap()));
        let again = ipam.allocate_with("s", &format!("q{i}.other/eth0"), &req);
        assert_eq!(again.unwrap().mac, a.mac);
    }
}
