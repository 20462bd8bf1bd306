//! Bad input gets a typed error and leaves no partial state.

use ipam::{IpRange, Ipam, IpamError, SubnetSpec};

use super::{ip, with_subnet};

fn add(ipam: &Ipam, spec: Result<SubnetSpec, IpamError>) -> Result<(), IpamError> {
    ipam.add_subnet(spec?)
}

#[test]
fn invalid_strings() {
    assert!(matches!(
        SubnetSpec::new("s", "10.0.0.0/33"),
        Err(IpamError::InvalidCidr { .. })
    ));
    assert!(matches!(
        SubnetSpec::new("s", "banana"),
        Err(IpamError::InvalidCidr { .. })
    ));
    assert!(matches!(
        SubnetSpec::new("s", "10.0.0.0/24")
            .unwrap()
            .with_gateway("10.0.0"),
        Err(IpamError::InvalidAddress { .. })
    ));
    assert!(matches!(
        "10.0.0.9..10.0.0.1".parse::<IpRange>(),
        Err(IpamError::InvalidRange { .. })
    ));
    assert!(matches!(
        "10.0.0.1..fd00::1".parse::<IpRange>(),
        Err(IpamError::InvalidRange { .. })
    ));
}

#[test]
fn invalid_specs_change_nothing() {
    let ipam = with_subnet("keep", "10.9.0.0/24");
    let base = || SubnetSpec::new("s", "10.0.0.0/24");
    let cases: Vec<(Result<SubnetSpec, IpamError>, &str)> = vec![
        (
            base().and_then(|s| s.with_gateway("10.0.1.1")),
            "GatewayOutsideCidr",
        ),
        (
            base().and_then(|s| s.with_gateway("10.0.0.255")),
            "GatewayNotUsable",
        ),
        (
            base().and_then(|s| s.with_gateway("fd00::1")),
            "FamilyMismatch",
        ),
        (
            base().and_then(|s| s.with_excludes(&["10.0.0.250..10.0.1.3"])),
            "ExcludeOutsideCidr",
        ),
        (
            base().and_then(|s| s.with_excludes(&["fd00::1"])),
            "FamilyMismatch",
        ),
        (
            base().and_then(|s| s.with_pool("p", &["10.1.0.0/24"])),
            "PoolOutsideCidr",
        ),
        (
            base()
                .and_then(|s| s.with_pool("p", &["10.0.0.10..10.0.0.20"]))
                .and_then(|s| s.with_pool("q", &["10.0.0.20..10.0.0.30"])),
            "PoolsOverlap",
        ),
        (
            base()
                .and_then(|s| s.with_pool("p", &["10.0.0.10"]))
                .and_then(|s| s.with_pool("p", &["10.0.0.11"])),
            "InvalidSpec",
        ),
        (
            SubnetSpec::new("s", "10.0.0.0/24,10.1.0.0/24"),
            "InvalidSpec",
        ),
        (SubnetSpec::new("", "10.0.0.0/24"), "InvalidSpec"),
        (SubnetSpec::new("keep", "10.0.0.0/24"), "SubnetExists"),
    ];
    for (spec, want) in cases {
        let err = add(&ipam, spec).expect_err(want);
        let got = format!("{err:?}");
        assert!(got.starts_with(want), "want {want}, got {got}");
        // The message names the problem.
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(ipam.subnet_names(), vec!["keep".to_owned()]);
    // Updates with bad specs leave the subnet as it was.
    let before = ipam.subnet_spec("keep");
    let bad = SubnetSpec::new("keep", "10.9.0.0/24")
        .unwrap()
        .with_gateway("10.8.0.1")
        .unwrap();
    assert!(matches!(
        ipam.update_subnet(bad),
        Err(IpamError::GatewayOutsideCidr { .. })
    ));
    assert_eq!(ipam.subnet_spec("keep"), before);
}

#[test]
fn request_errors_leave_no_state() {
    let ipam = with_subnet("s", "10.0.0.0/30");
    assert!(matches!(ipam.allocate("s", ""), Err(IpamError::EmptyOwner)));
    let long = "x".repeat(5000);
    assert!(matches!(
        ipam.allocate("s", &long),
        Err(IpamError::OwnerTooLong { len: 5000, .. })
    ));
    let report = ipam.restore([ipam::RestoreRecord {
        owner: long,
        subnet: "s".into(),
        ips: vec![ip("10.0.0.2")],
        mac: None,
    }]);
    assert!(matches!(
        report.conflicts[0].error,
        IpamError::OwnerTooLong { .. }
    ));
    // Keys without a `.`, with several, and sharing tails all round-trip.
    for k in ["plain", "a.b.c/eth0", ".leading", "trailing.", "p.ns/eth0"] {
        let a = ipam.allocate("s", k).unwrap();
        assert_eq!(ipam.lookup("s", k), Some(a));
        assert_eq!(ipam.release("s", k), Some(a));
    }
    assert!(matches!(
        ipam.allocate("nope", "a"),
        Err(IpamError::SubnetNotFound { .. })
    ));
    ipam.allocate("s", "a").unwrap();
    let err = ipam.allocate("s", "b").unwrap_err();
    assert!(matches!(err, IpamError::Exhausted { .. }));
    assert!(err.to_string().contains("no free IPv4 address"), "{err}");
    assert_eq!(ipam.allocation_count(), 1);
    assert_eq!(ipam.lookup("s", "b"), None);
    let u = ipam.usage("s").unwrap().v4.unwrap();
    assert_eq!((u.total, u.used, u.available), (1, 1, 0));
    assert!(matches!(
        ipam.allocate_with("s", "b", &ipam::Request::static_ips(&[ip("10.0.0.3")])),
        Err(IpamError::StaticReserved { .. })
    ));
}
