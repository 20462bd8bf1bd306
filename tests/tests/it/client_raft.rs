//! The client against a 3-member RAFT cluster: leader-only mode across a leader kill, and
//! `monitor_cond_since` resumes (also with a condition change cut off in flight).

use std::collections::{BTreeMap, BTreeSet};

use ovn_tests::{ELECTION_TIMEOUT, RaftCluster};
use ovsdb_client::client::{Client, MonitorMessage, TableChanges};
use ovsdb_client::remote::Remote;
use ovsdb_client::{
    Condition, Datum, Error, Event, MonitorRequest, MonitorRequests, Operation, Row, RowUpdate2,
    Uuid,
};

use crate::client_common::{Proxy, ProxyMode, config, row, s, within};

const DB: &str = "OVN_Northbound";

fn ls(name: &str) -> Operation {
    Operation::insert("Logical_Switch", row([("name", s(name))]))
}

fn names(rows: &[Row]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| {
            r["name"]
                .as_scalar()
                .and_then(|a| a.as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// ovsdb-server trims its transaction history to no more atoms than the database holds, so
/// in a nearly empty database a few changes push out the transaction to resume from. Bulk in
/// a table nobody monitors keeps the history of the small changes below.
async fn add_bulk(client: &Client) {
    let bulk: Vec<Operation> = (0..200)
        .map(|i| {
            let addresses = (0..50).map(|j| ovsdb_client::Atom::from(format!("10.{i}.0.{j}")));
            let name = s(&format!("bulk{i}"));
            Operation::insert(
                "Address_Set",
                row([("name", name), ("addresses", Datum::set(addresses))]),
            )
        })
        .collect();
    client.transact(DB, &bulk).await.unwrap();
}

async fn leader(cluster: &RaftCluster) -> usize {
    let c = cluster;
    within(90, "a leader", async {
        c.wait_for_leader(ELECTION_TIMEOUT)
    })
    .await
    .expect("cluster elects a leader")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_client_follows_a_new_leader_and_keeps_every_committed_write() {
    let mut cluster = RaftCluster::nb().unwrap();
    let first = leader(&cluster).await;
    let client = Client::connect(config(&cluster.remote()).database(DB))
        .await
        .unwrap();
    let first_remote: Remote = cluster.member_remote(first).unwrap().parse().unwrap();
    assert_eq!(
        client.connected_remote(),
        Some(first_remote.clone()),
        "leader-only picks the leader"
    );

    let mut committed = Vec::new();
    let mut lost = 0;
    for i in 0..10 {
        client
            .transact(DB, &[ls(&format!("before{i}"))])
            .await
            .unwrap();
        committed.push(format!("before{i}"));
    }
    cluster.kill(first).unwrap();
    // Keep writing through the election: each write either commits, or fails retryably.
    let mut i = 0;
    while committed.len() < 30 {
        let name = format!("after{i}");
        i += 1;
        match within(
            120,
            "a write during the failover",
            client.transact(DB, &[ls(&name)]),
        )
        .await
        {
            Ok(_) => committed.push(name),
            Err(e) if e.is_retryable() => lost += 1,
            Err(e) => panic!("{e}"),
        }
        assert!(i < 1000, "writes keep failing");
    }
    let now = client.connected_remote().expect("connected");
    assert_ne!(now, first_remote, "moved off the dead leader");
    let second = leader(&cluster).await;
    assert_eq!(
        now,
        cluster
            .member_remote(second)
            .unwrap()
            .parse::<Remote>()
            .unwrap(),
        "on the new leader"
    );

    // Every write reported committed is in the database.
    let r = client
        .transact(DB, &[Operation::select("Logical_Switch", vec![])])
        .await
        .unwrap();
    let present = names(r[0].rows.as_ref().unwrap());
    for name in &committed {
        assert!(
            present.contains(name),
            "{name} was reported committed but is missing ({lost} writes failed)"
        );
    }
    // The old leader comes back as a follower; the client does not go back to it.
    cluster.restart(first).unwrap();
    client.transact(DB, &[ls("last")]).await.unwrap();
    assert_eq!(client.connected_remote(), Some(now));
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<MonitorMessage>) -> MonitorMessage {
    within(60, "a monitor message", rx.recv())
        .await
        .expect("stream open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_monitor_cond_since_resumes_with_only_the_missed_changes() {
    let cluster = RaftCluster::nb().unwrap();
    let lead = leader(&cluster).await;
    let proxy = Proxy::start(&cluster.member_remote(lead).unwrap()).await;
    let watcher = Client::connect(config(&proxy.remote).database(DB))
        .await
        .unwrap();
    let writer = Client::connect(config(&cluster.remote()).database(DB))
        .await
        .unwrap();
    add_bulk(&writer).await;
    writer.transact(DB, &[ls("old")]).await.unwrap();

    let requests: MonitorRequests = [(
        "Logical_Switch".to_owned(),
        MonitorRequest::columns(["name"]),
    )]
    .into();
    let mut m = watcher
        .monitor_cond_since(DB, requests, None)
        .await
        .unwrap();
    assert!(!m.found);
    // Two transactions seen, so the resume point is not the first update of the monitor.
    let mut seen_id = None;
    for name in ["seen1", "seen2"] {
        writer.transact(DB, &[ls(name)]).await.unwrap();
        seen_id = match next(&mut m.updates).await {
            MonitorMessage::Update { last_txn_id, .. } => last_txn_id,
            other => panic!("{other:?}"),
        };
    }
    let seen_id = seen_id.expect("update3 carries the transaction id");

    // Cut the watcher off, change the database, let it back in.
    proxy.set(ProxyMode::Refuse);
    let mut state = watcher.state();
    within(
        30,
        "the watcher to notice",
        state.wait_for(|s| !matches!(s, ovsdb_client::client::ConnectionState::Connected(_))),
    )
    .await
    .unwrap();
    writer.transact(DB, &[ls("missed1")]).await.unwrap();
    writer
        .transact(
            DB,
            &[
                ls("missed2"),
                Operation::delete("Logical_Switch", vec![Condition::eq("name", s("old"))]),
            ],
        )
        .await
        .unwrap();
    proxy.set(ProxyMode::Forward);

    match next(&mut m.updates).await {
        MonitorMessage::Restarted {
            resumed,
            last_txn_id,
            changes: TableChanges::V2(t),
        } => {
            assert!(resumed, "the cluster still had transaction {seen_id}");
            assert_ne!(last_txn_id, Some(seen_id));
            let rows = &t["Logical_Switch"];
            assert_eq!(rows.len(), 3, "only the missed changes: {rows:?}");
            let inserted: BTreeSet<String> = rows
                .values()
                .filter_map(|u| match u {
                    RowUpdate2::Insert(r) => Some(
                        r["name"]
                            .as_scalar()
                            .and_then(|a| a.as_str())
                            .unwrap()
                            .to_owned(),
                    ),
                    _ => None,
                })
                .collect();
            assert_eq!(
                inserted,
                ["missed1".to_owned(), "missed2".to_owned()].into()
            );
            assert_eq!(
                rows.values().filter(|u| **u == RowUpdate2::Delete).count(),
                1
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Applies events to a plain map, to check that events alone reproduce the replica.
fn apply_events(model: &mut BTreeMap<Uuid, Row>, events: Vec<Event>) {
    for e in events {
        match e {
            Event::Insert { new } => assert!(model.insert(new.uuid, new.to_row()).is_none()),
            Event::Modify { old, new } => {
                assert_eq!(model.insert(new.uuid, new.to_row()), Some(old.to_row()))
            }
            Event::Delete { old } => assert_eq!(model.remove(&old.uuid), Some(old.to_row())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_resume_with_a_condition_change_in_flight_rebuilds_the_replica() {
    let cluster = RaftCluster::nb().unwrap();
    let lead = leader(&cluster).await;
    let proxy = Proxy::start(&cluster.member_remote(lead).unwrap()).await;
    let watcher = Client::connect(config(&proxy.remote).database(DB))
        .await
        .unwrap();
    let writer = Client::connect(config(&cluster.remote()).database(DB))
        .await
        .unwrap();
    add_bulk(&writer).await;
    writer
        .transact(DB, &[ls("a"), ls("b1"), ls("b2")])
        .await
        .unwrap();

    let only = |n: &str| vec![Condition::eq("name", s(n))];
    let requests: MonitorRequests = [(
        "Logical_Switch".to_owned(),
        MonitorRequest {
            columns: Some(vec!["name".into(), "external_ids".into()]),
            conditions: Some(only("a")),
            select: None,
        },
    )]
    .into();
    let schema = std::sync::Arc::new(watcher.get_schema(DB).await.unwrap());
    let mut rep = watcher
        .replicate_with_schema(DB, schema, requests)
        .await
        .unwrap();
    let mut model = BTreeMap::new();
    apply_events(
        &mut model,
        within(30, "initial events", rep.events.recv())
            .await
            .unwrap(),
    );
    assert_eq!(model.len(), 1);
    // Two changes the replica sees, so that its last transaction id is one the server can
    // resume from.
    for v in ["1", "2"] {
        let set = row([("external_ids", Datum::map([("v", v)]))]);
        writer
            .transact(DB, &[Operation::update("Logical_Switch", only("a"), set)])
            .await
            .unwrap();
        apply_events(
            &mut model,
            within(30, "an update", rep.events.recv()).await.unwrap(),
        );
    }
    // The condition change leaves the client but never reaches the server; then the
    // connection drops.
    proxy.set(ProxyMode::Hold);
    let change = {
        let watcher = watcher.clone();
        let id = rep.id.clone();
        tokio::spawn(async move {
            let conds = [(
                "Logical_Switch".to_owned(),
                vec![Condition::new("name", ovsdb_client::Function::Ne, s("a"))],
            )]
            .into();
            watcher.monitor_cond_change(&id, conds).await
        })
    };
    proxy.wait_held().await;
    assert!(
        !change.is_finished(),
        "the change cannot complete while held"
    );
    proxy.set(ProxyMode::Refuse);
    match within(30, "the change to fail", change).await.unwrap() {
        Err(Error::ConnectionLost { .. }) => {}
        other => panic!("{other:?}"),
    }
    writer
        .transact(
            DB,
            &[
                ls("b3"),
                Operation::delete("Logical_Switch", vec![Condition::eq("name", s("b1"))]),
            ],
        )
        .await
        .unwrap();
    proxy.set(ProxyMode::Forward);

    // The replica reconnects with a full dump under the new condition (name != "a"): b2,
    // which a resume from the old transaction id would have missed (it did not change), b3,
    // and no "a".
    let want: BTreeSet<String> = ["b2", "b3"].iter().map(|s| s.to_string()).collect();
    within(60, "the replica to hold the new selection", async {
        loop {
            if let Some(ev) = rep.events.recv().await {
                apply_events(&mut model, ev);
            }
            let have: BTreeSet<String> = model
                .values()
                .map(|r| {
                    r["name"]
                        .as_scalar()
                        .and_then(|a| a.as_str())
                        .unwrap()
                        .to_owned()
                })
                .collect();
            if have == want {
                break;
            }
        }
    })
    .await;
    let snapshot: BTreeMap<Uuid, Row> = rep
        .replica
        .read()
        .unwrap()
        .snapshot()
        .remove("Logical_Switch")
        .unwrap_or_default();
    assert_eq!(model, snapshot, "events reproduce the replica");
    assert!(
        snapshot
            .values()
            .all(|r| r["name"] != Datum::from(ovsdb_client::Atom::from("a")))
    );
}
