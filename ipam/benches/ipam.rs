//! Criterion benches of the allocator next to the mutex reference allocator.
//! `ipam-bench` (in `ovn-benches`) prints the JSON lines; these give distributions.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ipam::reference::MutexIpam;
use ipam::{AddressBitmap, Ipam, Request, RestoreRecord, SubnetSpec};

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("pod-{i:07}.bench/eth0")).collect()
}

fn filled_v4_16(pct: usize) -> (Ipam, MutexIpam) {
    let spec = SubnetSpec::new("s", "10.16.0.0/16").unwrap();
    let ours = Ipam::new();
    ours.add_subnet(spec.clone()).unwrap();
    let reference = MutexIpam::new();
    reference.add_subnet(spec).unwrap();
    for k in keys(65533 * pct / 100) {
        ours.allocate("s", &k).unwrap();
        reference.allocate("s", &k).unwrap();
    }
    (ours, reference)
}

fn alloc_release(c: &mut Criterion) {
    let (ours, reference) = filled_v4_16(90);
    let ks: Vec<String> = (0..4096).map(|i| format!("bench-{i}.ns/eth0")).collect();
    let mut g = c.benchmark_group("alloc-release-v4-16-90pct");
    let mut i = 0;
    g.bench_function("ipam", |b| {
        b.iter(|| {
            i = (i + 1) % ks.len();
            ours.allocate("s", &ks[i]).unwrap();
            ours.release("s", &ks[i]).unwrap();
        })
    });
    g.bench_function("mutex-reference", |b| {
        b.iter(|| {
            i = (i + 1) % ks.len();
            reference.allocate("s", &ks[i]).unwrap();
            reference.release("s", &ks[i]).unwrap();
        })
    });
    g.finish();
}

fn static_and_random(c: &mut Criterion) {
    let ipam = Ipam::new();
    ipam.add_subnet(SubnetSpec::new("s", "10.16.0.0/16,fd00::/64").unwrap())
        .unwrap();
    let ip: std::net::IpAddr = "10.16.3.4".parse().unwrap();
    let req = Request::static_ips(&[ip]);
    c.bench_function("static-dual-stack-alloc-release", |b| {
        b.iter(|| {
            ipam.allocate_with("s", "static.ns/eth0", &req).unwrap();
            ipam.release("s", "static.ns/eth0").unwrap();
        })
    });
    c.bench_function("random-dual-stack-alloc-release", |b| {
        b.iter(|| {
            ipam.allocate_with("s", "random.ns/eth0", &Request::random())
                .unwrap();
            ipam.release("s", "random.ns/eth0").unwrap();
        })
    });
}

fn bitmap_core(c: &mut Criterion) {
    let bm = AddressBitmap::new(65535);
    for o in 0..60000 {
        bm.claim(o);
    }
    let mut hint = 0u128;
    let mut g = c.benchmark_group("bitmap-claim-release");
    g.bench_function("bitmap", |b| {
        b.iter(|| {
            let o = bm.claim_next(hint).unwrap();
            bm.release(o);
            hint = o + 1;
        })
    });
    let word = AtomicU64::new(0);
    g.bench_function("bare-cas", |b| {
        b.iter(|| {
            let mut cur = word.load(Ordering::Relaxed);
            while let Err(a) =
                word.compare_exchange_weak(cur, cur ^ 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                cur = a;
            }
        })
    });
    g.finish();
}

fn restore(c: &mut Criterion) {
    let records: Vec<RestoreRecord> = (0..100_000u32)
        .map(|i| RestoreRecord {
            owner: format!("pod-{i}.ns/eth0"),
            subnet: "s".into(),
            ips: vec![std::net::IpAddr::V4((0x0a00_0002 + i).into())],
            mac: None,
        })
        .collect();
    let mut g = c.benchmark_group("restore-100k");
    g.sample_size(10);
    g.bench_function("ipam", |b| {
        b.iter_batched(
            || {
                let ipam = Ipam::new();
                ipam.add_subnet(SubnetSpec::new("s", "10.0.0.0/8").unwrap())
                    .unwrap();
                (ipam, records.clone())
            },
            |(ipam, recs)| assert_eq!(ipam.restore(recs).restored, 100_000),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    alloc_release,
    static_and_random,
    bitmap_core,
    restore
);
criterion_main!(benches);
