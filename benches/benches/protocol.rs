//! Criterion benches of the client's hot paths, on synthetic data shaped like a populated
//! Northbound database (no server needed):
//!
//! - `codec`: splitting a multi-megabyte monitor reply that arrives in 64 KiB reads;
//! - `replica`: decoding and applying the initial rows of 100,000 Logical_Switch_Ports;
//! - `encode`: serializing one lsp-add transaction and a 10,000-port batch.
//!
//! Run with `cargo bench -p ovn-benches`. Sizes stay moderate so the benches also run quickly
//! in test mode (`cargo test --benches`).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ovn_benches::lsp_add::{lsp_add_operations, lsp_batch_operations};
use ovn_benches::synthetic::{nb_subset_schema, populated_monitor_reply, populated_table_updates};
use ovsdb_client::Replica;
use ovsdb_client::codec::JsonCodec;
use tokio_util::codec::Decoder;

fn codec(c: &mut Criterion) {
    // 2 switches x 10,000 ports: about 5.6 MB in one frame.
    let frame = populated_monitor_reply(2, 10_000).into_bytes();
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.sample_size(20);
    g.bench_function("split_monitor_reply_64k_reads", |b| {
        b.iter(|| {
            let mut codec = JsonCodec::new();
            let mut buf = BytesMut::with_capacity(64 * 1024);
            let mut frames = 0;
            for chunk in frame.chunks(64 * 1024) {
                buf.extend_from_slice(chunk);
                while let Some(f) = codec.decode(&mut buf).expect("valid frame") {
                    frames += f.len();
                }
            }
            assert_eq!(frames, frame.len());
        })
    });
    g.finish();
}

fn replica(c: &mut Criterion) {
    let schema = Arc::new(nb_subset_schema());
    let updates = populated_table_updates(10, 10_000);
    let mut g = c.benchmark_group("replica");
    g.throughput(Throughput::Elements(100_000));
    g.sample_size(10);
    g.bench_function("decode_apply_100k_lsp", |b| {
        // The replica is dropped outside the timing: a client keeps it.
        b.iter_with_large_drop(|| {
            let mut replica = Replica::new(schema.clone());
            let events = replica.apply_update2_json(&updates).expect("valid updates");
            assert_eq!(events.len(), 100_010);
            replica
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.bench_function("lsp_add_transaction", |b| {
        b.iter(|| {
            let ops = lsp_add_operations("bench", 12_345);
            ovsdb_client::rpc::encode_request("transact", &("OVN_Northbound", &ops), 7)
                .expect("serializable")
        })
    });
    let batch = lsp_batch_operations("bench", 10_000);
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(20);
    g.bench_function("batch_10k_ports", |b| {
        b.iter(|| {
            ovsdb_client::rpc::encode_request("transact", &("OVN_Northbound", &batch), 7)
                .expect("serializable")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = codec, replica, encode
}
criterion_main!(benches);
