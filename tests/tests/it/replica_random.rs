//! The replica against the real server: random transactions, then the replica equals what a
//! fresh monitor reports, row for row.

use ovn_tests::OvsdbServer;
use ovsdb_client::client::Client;
use ovsdb_client::{
    Atom, Condition, Datum, MonitorRequests, Mutation, Mutator, Operation, Row, Uuid,
};

use crate::client_common::{config, row, within};

fn s(v: impl Into<String>) -> Datum {
    Datum::scalar(Atom::String(v.into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_equals_a_fresh_monitor_after_random_transactions() {
    let nb = OvsdbServer::nb().unwrap();
    let writer = within(60, "connect", Client::connect(config(&nb.remote())))
        .await
        .unwrap();
    let replicated = within(
        60,
        "replicate",
        writer.replicate("OVN_Northbound", MonitorRequests::new()),
    )
    .await
    .unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut switches: Vec<Uuid> = Vec::new();
    let mut ports: Vec<(Uuid, Uuid)> = Vec::new();
    for i in 0..300 {
        let ops: Vec<Operation> = match rng.u8(0..6) {
            0 | 1 if switches.len() < 20 || rng.bool() => {
                let ids: Vec<(String, String)> = (0..rng.usize(0..4))
                    .map(|k| (format!("k{k}"), format!("v{}", rng.u8(0..5))))
                    .collect();
                vec![Operation::insert(
                    "Logical_Switch",
                    row([
                        ("name", s(format!("sw{i}"))),
                        ("external_ids", Datum::map(ids)),
                    ]),
                )]
            }
            2 if !switches.is_empty() => {
                let sw = switches[rng.usize(..switches.len())];
                let addrs: Vec<String> = (0..rng.usize(1..3))
                    .map(|k| format!("0a:00:00:00:{i:02x}:{k:02x} 10.0.{k}.{}", i % 250))
                    .collect();
                vec![
                    Operation::insert_named(
                        "Logical_Switch_Port",
                        row([
                            ("name", s(format!("p{i}"))),
                            ("addresses", Datum::set(addrs)),
                            ("tag_request", Datum::scalar(rng.i64(0..4095))),
                        ]),
                        "p",
                    ),
                    Operation::mutate(
                        "Logical_Switch",
                        vec![Condition::uuid(sw)],
                        vec![Mutation::new(
                            "ports",
                            Mutator::Insert,
                            Datum::scalar(Atom::NamedUuid("p".into())),
                        )],
                    ),
                ]
            }
            3 if !switches.is_empty() => {
                let sw = switches[rng.usize(..switches.len())];
                let key = format!("k{}", rng.u8(0..4));
                vec![Operation::mutate(
                    "Logical_Switch",
                    vec![Condition::uuid(sw)],
                    vec![
                        Mutation::new("external_ids", Mutator::Delete, Datum::set([key.as_str()])),
                        Mutation::new(
                            "other_config",
                            Mutator::Insert,
                            Datum::map([(key.as_str(), "x")]),
                        ),
                    ],
                )]
            }
            4 if !ports.is_empty() => {
                let (p, _) = ports[rng.usize(..ports.len())];
                let mut r = Row::new();
                r.insert(
                    "enabled".into(),
                    if rng.bool() {
                        Datum::scalar(rng.bool())
                    } else {
                        Datum::empty()
                    },
                );
                r.insert(
                    "options".into(),
                    Datum::map([("requested-chassis", format!("c{}", rng.u8(0..3)))]),
                );
                vec![Operation::update(
                    "Logical_Switch_Port",
                    vec![Condition::uuid(p)],
                    r,
                )]
            }
            5 if !ports.is_empty() => {
                let idx = rng.usize(..ports.len());
                let (p, sw) = ports.swap_remove(idx);
                vec![Operation::mutate(
                    "Logical_Switch",
                    vec![Condition::uuid(sw)],
                    vec![Mutation::new("ports", Mutator::Delete, Datum::scalar(p))],
                )]
            }
            _ if !switches.is_empty() && rng.u8(0..4) == 0 => {
                let sw = switches.swap_remove(rng.usize(..switches.len()));
                ports.retain(|(_, s)| *s != sw);
                vec![Operation::delete(
                    "Logical_Switch",
                    vec![Condition::uuid(sw)],
                )]
            }
            _ => continue,
        };
        let results = within(30, "transact", writer.transact("OVN_Northbound", &ops))
            .await
            .unwrap();
        match &ops[0] {
            Operation::Insert { table, .. } if table == "Logical_Switch" => {
                switches.push(results[0].uuid.unwrap())
            }
            Operation::Insert { .. } => {
                if let Operation::Mutate { conditions, .. } = &ops[1] {
                    let Condition::Compare { value, .. } = &conditions[0] else {
                        unreachable!()
                    };
                    ports.push((
                        results[0].uuid.unwrap(),
                        value.as_scalar().and_then(Atom::as_uuid).unwrap(),
                    ));
                }
            }
            _ => {}
        }
    }
    // The replica already holds the writer's own changes when each reply arrives.
    let ours = replicated.replica.read().unwrap().snapshot();
    let reader = within(60, "connect", Client::connect(config(&nb.remote())))
        .await
        .unwrap();
    let fresh = within(
        60,
        "replicate",
        reader.replicate("OVN_Northbound", MonitorRequests::new()),
    )
    .await
    .unwrap();
    let theirs = fresh.replica.read().unwrap().snapshot();
    assert!(
        theirs.get("Logical_Switch").is_some_and(|t| !t.is_empty()),
        "the run wrote nothing"
    );
    for (table, rows) in &theirs {
        for (uuid, row) in rows {
            let mine = ours.get(table).and_then(|t| t.get(uuid));
            if mine != Some(row) {
                let diff: Vec<String> = row
                    .iter()
                    .filter(|(c, d)| mine.and_then(|m| m.get(*c)) != Some(*d))
                    .map(|(c, d)| {
                        format!("{c}: ours {:?} server {d:?}", mine.and_then(|m| m.get(c)))
                    })
                    .collect();
                panic!("{table} {uuid} differs: {diff:?}");
            }
        }
    }
    assert_eq!(ours, theirs);
}
