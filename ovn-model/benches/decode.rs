//! Decoding a cold monitor reply of 100,000 `Logical_Switch_Port` rows: straight into typed
//! rows (`ovsdb_client::typed::decode_update2`) against the anchor, the untyped replica
//! (`Replica::apply_update2_json`), and typed reads of a replica already filled.
//!
//! `cargo bench -p ovn-model --bench decode`. The rows have the shape ovsdb-server sends for a
//! Kube-OVN pod port: `_version`, name, two addresses, port security, four external ids, one
//! option, `up` and `enabled`; other columns at their default are omitted, as in update2.

// criterion_group! defines an undocumented function.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ovn_model::nb::LogicalSwitchPort;
use ovsdb_client::Replica;
use ovsdb_client::typed::{TypedUpdate, decode_update2};

const ROWS: u64 = 100_000;

fn monitor_reply(rows: u64) -> String {
    let mut out = String::with_capacity(600 * rows as usize);
    out.push_str("{\"Logical_Switch_Port\":{");
    for i in 0..rows {
        if i > 0 {
            out.push(',');
        }
        let (a, b) = (i / 250, i % 250);
        let _ = write!(
            out,
            "\"00000001-0000-4000-8000-{i:012x}\":{{\"initial\":{{\
             \"_version\":[\"uuid\",\"00000002-0000-4000-8000-{i:012x}\"],\
             \"name\":\"pod-{i}.default\",\
             \"addresses\":[\"set\",[\"0a:00:00:00:{a:02x}:{b:02x} 10.16.{a}.{b}\",\"router\"]],\
             \"port_security\":\"0a:00:00:00:{a:02x}:{b:02x} 10.16.{a}.{b}\",\
             \"external_ids\":[\"map\",[[\"ls\",\"ovn-default\"],[\"ns\",\"default\"],[\"pod\",\"pod-{i}\"],[\"vendor\",\"kube-ovn\"]]],\
             \"options\":[\"map\",[[\"requested-chassis\",\"node-{a}\"]]],\
             \"up\":true,\"enabled\":true}}}}"
        );
    }
    out.push_str("}}");
    out
}

fn decode(c: &mut Criterion) {
    let json = monitor_reply(ROWS);
    let schema = Arc::new(ovn_model::nb_schema());

    // Both paths must decode every row, the same rows.
    let typed = decode_update2::<LogicalSwitchPort>(&json).expect("typed decode");
    assert_eq!(typed.len() as u64, ROWS);
    let mut replica = Replica::new(schema.clone());
    replica.apply_update2_json(&json).expect("untyped decode");
    let view: Vec<LogicalSwitchPort> = replica.typed::<LogicalSwitchPort>().to_vec().unwrap();
    assert_eq!(view.len() as u64, ROWS);
    if let (_, TypedUpdate::Row(first)) = &typed[0] {
        assert!(view.contains(first));
    }

    let mut group = c.benchmark_group("decode_100k_lsp");
    group.sample_size(10);
    group.bench_function("untyped_replica", |b| {
        b.iter(|| {
            let mut replica = Replica::new(schema.clone());
            black_box(replica.apply_update2_json(black_box(&json)).unwrap().len())
        })
    });
    group.bench_function("typed_rows", |b| {
        b.iter(|| {
            black_box(
                decode_update2::<LogicalSwitchPort>(black_box(&json))
                    .unwrap()
                    .len(),
            )
        })
    });
    group.bench_function("typed_view_of_filled_replica", |b| {
        b.iter(|| {
            black_box(
                replica
                    .typed::<LogicalSwitchPort>()
                    .iter()
                    .filter(Result::is_ok)
                    .count(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
