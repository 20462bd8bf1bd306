//! Many threads allocating, releasing, asking for statics and updating the subnet at once:
//! a shared witness set catches any address or MAC handed to two owners.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::thread;

use ipam::{Ipam, MacAddr, MacRequest, Request, SubnetSpec};

struct Witness {
    ips: Mutex<HashSet<(String, IpAddr)>>,
    macs: Mutex<HashSet<MacAddr>>,
}

impl Witness {
    fn take(&self, subnet: &str, a: &ipam::Allocation) {
        let mut ips = self.ips.lock().unwrap();
        for ip in a.ips() {
            assert!(ips.insert((subnet.to_owned(), ip)), "{ip} handed out twice");
        }
        if let Some(m) = a.mac {
            assert!(self.macs.lock().unwrap().insert(m), "{m} handed out twice");
        }
    }

    fn give(&self, subnet: &str, a: &ipam::Allocation) {
        let mut ips = self.ips.lock().unwrap();
        for ip in a.ips() {
            assert!(ips.remove(&(subnet.to_owned(), ip)));
        }
        if let Some(m) = a.mac {
            assert!(self.macs.lock().unwrap().remove(&m));
        }
    }
}

#[test]
fn no_duplicates_under_contention() {
    let ipam = Arc::new(Ipam::new());
    // Small enough that threads keep exhausting and reusing addresses.
    for (name, cidr) in [("a", "10.0.0.0/25,fd00::/121"), ("b", "10.1.0.0/26")] {
        ipam.add_subnet(
            SubnetSpec::new(name, cidr)
                .unwrap()
                .with_pool(
                    "p",
                    &[if name == "a" {
                        "10.0.0.100..10.0.0.120"
                    } else {
                        "10.1.0.40..10.1.0.50"
                    }],
                )
                .unwrap(),
        )
        .unwrap();
    }
    let w = Arc::new(Witness {
        ips: Mutex::new(HashSet::new()),
        macs: Mutex::new(HashSet::new()),
    });
    let threads = 4;
    let ops = if cfg!(debug_assertions) { 3000 } else { 30000 };
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let (ipam, w) = (ipam.clone(), w.clone());
            thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t as u64);
                let mut held: Vec<(String, &str, ipam::Allocation)> = Vec::new();
                for i in 0..ops {
                    let subnet = if rng.bool() { "a" } else { "b" };
                    // Owners share key tails across threads (interned per shard).
                    let owner = format!("t{t}-{i}.ns{}/eth0", i % 5);
                    let req = match rng.u8(..5) {
                        0 => Request::random(),
                        // A few static MACs every thread asks for: their sets are other
                        // threads' views as often as not.
                        4 => Request::next().mac(MacRequest::Static(MacAddr([
                            0x02,
                            0,
                            0,
                            0,
                            rng.u8(..2),
                            rng.u8(..),
                        ]))),
                        1 => Request::next().pool("p"),
                        2 => {
                            let base = if subnet == "a" { "10.0.0" } else { "10.1.0" };
                            let ip: IpAddr = format!("{base}.{}", rng.u8(2..60)).parse().unwrap();
                            Request::static_ips(&[ip])
                        }
                        _ => Request::next(),
                    };
                    // Half the default requests go through `allocate`, their own path.
                    let got = if matches!(req.addresses, ipam::AddressRequest::Next)
                        && matches!(req.mac, MacRequest::Random)
                        && req.pool.is_none()
                        && rng.bool()
                    {
                        ipam.allocate(subnet, &owner)
                    } else {
                        ipam.allocate_with(subnet, &owner, &req)
                    };
                    if let Ok(a) = got {
                        w.take(subnet, &a);
                        held.push((owner, subnet, a));
                    }
                    if held.len() > 20 || (rng.bool() && !held.is_empty()) {
                        let (o, s, a) = held.swap_remove(rng.usize(..held.len()));
                        // Forget it before giving it back, so a fresh claim by another
                        // thread is never mistaken for a duplicate.
                        w.give(s, &a);
                        assert_eq!(ipam.release(s, &o), Some(a));
                    }
                }
                for (o, s, a) in held {
                    w.give(s, &a);
                    assert_eq!(ipam.release(s, &o), Some(a));
                }
            })
        })
        .collect();
    // Meanwhile, keep changing subnet a's excludes.
    let updater = {
        let ipam = ipam.clone();
        thread::spawn(move || {
            for i in 0..50 {
                let ex = format!("10.0.0.{}..10.0.0.{}", 2 + i % 20, 10 + i % 20);
                let spec = SubnetSpec::new("a", "10.0.0.0/25,fd00::/121")
                    .unwrap()
                    .with_pool("p", &["10.0.0.100..10.0.0.120"])
                    .unwrap()
                    .with_excludes(&[&ex])
                    .unwrap();
                ipam.update_subnet(spec).unwrap();
                thread::yield_now();
            }
        })
    };
    for h in hs {
        h.join().unwrap();
    }
    updater.join().unwrap();
    assert_eq!(ipam.allocation_count(), 0);
    for s in ["a", "b"] {
        let u = ipam.usage(s).unwrap();
        assert_eq!(u.v4.unwrap().used, 0, "{s}");
        assert!(u.pools.iter().all(|p| p.v4.is_none_or(|x| x.used == 0)));
    }
}

#[test]
fn same_owner_from_many_threads_gets_one_allocation() {
    let ipam = Arc::new(Ipam::new());
    ipam.add_subnet(SubnetSpec::new("s", "10.0.0.0/24").unwrap())
        .unwrap();
    for round in 0..50 {
        let owner = format!("pod-{round}");
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let (ipam, owner) = (ipam.clone(), owner.clone());
                thread::spawn(move || ipam.allocate("s", &owner).unwrap())
            })
            .collect();
        let got: HashSet<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got.len(), 1);
    }
    assert_eq!(ipam.usage("s").unwrap().v4.unwrap().used, 50);
}
