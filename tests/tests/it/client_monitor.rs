//! Monitors of every form, condition changes, cancellation, and a replica that survives a
//! server restart, against a real ovsdb-server.

use std::collections::BTreeMap;

use ovn_tests::{OvsdbServer, Schema};
use ovsdb_client::client::{Client, MonitorMessage, TableChanges};
use ovsdb_client::{
    Atom, Condition, Datum, Event, MonitorRequest, MonitorRequests, Operation, Row, RowUpdate2,
    Uuid,
};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::client_common::{config, row, s, within};

const DB: &str = "OVN_Northbound";

fn requests(table: &str, columns: &[&str]) -> MonitorRequests {
    [(
        table.to_owned(),
        MonitorRequest::columns(columns.iter().copied()),
    )]
    .into()
}

async fn next(rx: &mut UnboundedReceiver<MonitorMessage>) -> MonitorMessage {
    within(30, "a monitor update", rx.recv())
        .await
        .expect("monitor stream open")
}

fn v2(changes: TableChanges) -> ovsdb_client::TableUpdates2 {
    match changes {
        TableChanges::V2(t) => t,
        other => panic!("expected update2 form, got {other:?}"),
    }
}

fn update2(m: MonitorMessage) -> ovsdb_client::TableUpdates2 {
    match m {
        MonitorMessage::Update { changes, .. } => v2(changes),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_monitor_reports_old_and_new_values() {
    let server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let client = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let r = client
        .transact(
            DB,
            &[Operation::insert(
                "Logical_Switch",
                row([("name", s("before"))]),
            )],
        )
        .await
        .unwrap();
    let before = r[0].uuid.unwrap();
    let mut m = client
        .monitor(DB, requests("Logical_Switch", &["name", "other_config"]))
        .await
        .unwrap();
    match &m.initial {
        TableChanges::V1(t) => {
            let u = &t["Logical_Switch"][&before];
            assert!(u.old.is_none());
            assert_eq!(u.new.as_ref().unwrap()["name"], s("before"));
        }
        other => panic!("{other:?}"),
    }
    client
        .transact(
            DB,
            &[Operation::update(
                "Logical_Switch",
                vec![Condition::uuid(before)],
                row([("other_config", Datum::map([("a", "1")]))]),
            )],
        )
        .await
        .unwrap();
    match next(&mut m.updates).await {
        MonitorMessage::Update {
            changes: TableChanges::V1(t),
            last_txn_id: None,
        } => {
            let u = &t["Logical_Switch"][&before];
            // Old holds only the changed column; new holds every monitored column.
            assert_eq!(
                u.old.as_ref().unwrap().get("other_config"),
                Some(&Datum::empty_map())
            );
            assert!(u.old.as_ref().unwrap().get("name").is_none());
            assert_eq!(
                u.new.as_ref().unwrap()["other_config"],
                Datum::map([("a", "1")])
            );
            assert_eq!(u.new.as_ref().unwrap()["name"], s("before"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_monitor_cond_reports_update2_diffs_of_sets_and_maps() {
    let server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let client = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let mut m = client
        .monitor_cond(
            DB,
            requests(
                "Logical_Switch_Port",
                &["name", "addresses", "external_ids"],
            ),
        )
        .await
        .unwrap();
    assert!(m.initial.is_empty());
    let r = client
        .transact(
            DB,
            &[
                Operation::insert_named(
                    "Logical_Switch_Port",
                    row([
                        ("name", s("p1")),
                        ("addresses", Datum::set([Atom::from("a1")])),
                        ("external_ids", Datum::map([("k", "v")])),
                    ]),
                    "p",
                ),
                Operation::insert(
                    "Logical_Switch",
                    row([
                        ("name", s("sw")),
                        ("ports", Datum::set([Atom::NamedUuid("p".into())])),
                    ]),
                ),
            ],
        )
        .await
        .unwrap();
    let port = r[0].uuid.unwrap();
    // The insert: a one-element set arrived as a bare atom and decodes as a one-element set.
    let t = update2(next(&mut m.updates).await);
    match &t["Logical_Switch_Port"][&port] {
        RowUpdate2::Insert(r) => {
            assert_eq!(r["addresses"], Datum::set([Atom::from("a1")]));
            assert_eq!(r["external_ids"], Datum::map([("k", "v")]));
        }
        other => panic!("{other:?}"),
    }
    // A modify carries the symmetric difference of the set and the changed map keys.
    client
        .transact(
            DB,
            &[Operation::update(
                "Logical_Switch_Port",
                vec![Condition::uuid(port)],
                row([
                    (
                        "addresses",
                        Datum::set([Atom::from("a2"), Atom::from("a3")]),
                    ),
                    ("external_ids", Datum::map([("k", "w"), ("k2", "x")])),
                ]),
            )],
        )
        .await
        .unwrap();
    let t = update2(next(&mut m.updates).await);
    match &t["Logical_Switch_Port"][&port] {
        RowUpdate2::Modify(r) => {
            assert_eq!(
                r["addresses"],
                Datum::set([Atom::from("a1"), Atom::from("a2"), Atom::from("a3")])
            );
            // Map diff: k's new value, and the new key k2.
            assert_eq!(r["external_ids"], Datum::map([("k", "w"), ("k2", "x")]));
            assert!(!r.contains_key("name"), "unchanged columns are omitted");
        }
        other => panic!("{other:?}"),
    }
    client
        .transact(DB, &[Operation::delete("Logical_Switch", vec![])])
        .await
        .unwrap();
    let t = update2(next(&mut m.updates).await);
    assert_eq!(t["Logical_Switch_Port"][&port], RowUpdate2::Delete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_monitor_cond_since_gives_transaction_ids() {
    let server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let client = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    client
        .transact(
            DB,
            &[Operation::insert("Logical_Switch", row([("name", s("x"))]))],
        )
        .await
        .unwrap();
    let mut m = client
        .monitor_cond_since(DB, requests("Logical_Switch", &["name"]), None)
        .await
        .unwrap();
    assert!(!m.found, "nothing to resume from");
    let t = v2(m.initial);
    assert_eq!(t["Logical_Switch"].len(), 1);
    assert!(matches!(
        t["Logical_Switch"].values().next(),
        Some(RowUpdate2::Initial(_))
    ));
    client
        .transact(
            DB,
            &[Operation::insert("Logical_Switch", row([("name", s("y"))]))],
        )
        .await
        .unwrap();
    match next(&mut m.updates).await {
        MonitorMessage::Update {
            changes,
            last_txn_id,
        } => {
            assert!(last_txn_id.is_some(), "update3 carries the transaction id");
            assert_eq!(v2(changes)["Logical_Switch"].len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_monitor_cond_change_moves_the_selection_and_cancel_ends_the_stream() {
    let server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let client = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let r = client
        .transact(
            DB,
            &[
                Operation::insert("Logical_Switch", row([("name", s("a"))])),
                Operation::insert("Logical_Switch", row([("name", s("b"))])),
            ],
        )
        .await
        .unwrap();
    let (a, b) = (r[0].uuid.unwrap(), r[1].uuid.unwrap());
    let only = |name: &str| -> MonitorRequests {
        [(
            "Logical_Switch".to_owned(),
            MonitorRequest {
                columns: Some(vec!["name".into()]),
                conditions: Some(vec![Condition::eq("name", s(name))]),
                select: None,
            },
        )]
        .into()
    };
    let mut m = client.monitor_cond(DB, only("a")).await.unwrap();
    let t = v2(m.initial);
    assert_eq!(t["Logical_Switch"].keys().collect::<Vec<_>>(), vec![&a]);
    let to_b = [(
        "Logical_Switch".to_owned(),
        vec![Condition::eq("name", s("b"))],
    )]
    .into();
    client.monitor_cond_change(&m.id, to_b).await.unwrap();
    // a leaves the selection, b enters it.
    let mut seen: BTreeMap<Uuid, RowUpdate2> = BTreeMap::new();
    while seen.len() < 2 {
        for (u, c) in update2(next(&mut m.updates).await)
            .remove("Logical_Switch")
            .unwrap_or_default()
        {
            seen.insert(u, c);
        }
    }
    assert_eq!(seen[&a], RowUpdate2::Delete);
    assert!(
        matches!(&seen[&b], RowUpdate2::Initial(r) | RowUpdate2::Insert(r) if r["name"] == s("b")),
        "{:?}",
        seen[&b]
    );
    client.monitor_cancel(&m.id).await.unwrap();
    assert!(
        within(30, "the stream to end", m.updates.recv())
            .await
            .is_none()
    );
    // The server forgot it too: cancelling again is an error.
    assert!(client.monitor_cancel(&m.id).await.is_err());
}

/// Applies events to a plain map, to check that events alone reproduce the replica.
fn apply_events(model: &mut BTreeMap<(String, Uuid), Row>, events: Vec<Event>) {
    for e in events {
        match e {
            Event::Insert { new } => {
                assert!(
                    model
                        .insert((new.layout().name.clone(), new.uuid), new.to_row())
                        .is_none(),
                    "insert of a known row"
                );
            }
            Event::Modify { old, new } => {
                let prev = model.insert((new.layout().name.clone(), new.uuid), new.to_row());
                assert_eq!(
                    prev,
                    Some(old.to_row()),
                    "modify's old value is what we had"
                );
            }
            Event::Delete { old } => {
                assert_eq!(
                    model.remove(&(old.layout().name.clone(), old.uuid)),
                    Some(old.to_row()),
                    "delete of what we had"
                );
            }
        }
    }
}

fn name_of(d: &Datum) -> String {
    d.as_scalar()
        .and_then(|a| a.as_str())
        .expect("a string name")
        .to_owned()
}

fn flatten(snapshot: BTreeMap<String, BTreeMap<Uuid, Row>>) -> BTreeMap<(String, Uuid), Row> {
    snapshot
        .into_iter()
        .flat_map(|(t, rows)| rows.into_iter().map(move |(u, r)| ((t.clone(), u), r)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_replica_survives_a_server_restart_without_losing_an_event() {
    let mut server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let client = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let ls = |n: &str| Operation::insert("Logical_Switch", row([("name", s(n))]));
    client
        .transact(DB, &[ls("keep"), ls("change"), ls("drop")])
        .await
        .unwrap();
    let mut rep = client
        .replicate(DB, requests("Logical_Switch", &["name", "other_config"]))
        .await
        .unwrap();
    let mut model = BTreeMap::new();
    apply_events(
        &mut model,
        within(30, "initial events", rep.events.recv())
            .await
            .unwrap(),
    );
    assert_eq!(model.len(), 3);

    // While the server is down, its database changes behind the client's back.
    server.kill().unwrap();
    let offline = r#"["OVN_Northbound",
        {"op":"update","table":"Logical_Switch","where":[["name","==","change"]],"row":{"other_config":["map",[["x","1"]]]}},
        {"op":"delete","table":"Logical_Switch","where":[["name","==","drop"]]},
        {"op":"insert","table":"Logical_Switch","row":{"name":"new"}}]"#;
    let out = std::process::Command::new("ovsdb-tool")
        .arg("transact")
        .arg(server.db_path())
        .arg(offline)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.start().unwrap();

    // After reconnecting, and a write of our own, the events say exactly what changed.
    let r = within(
        60,
        "a write after the restart",
        client.transact(DB, &[ls("after")]),
    )
    .await
    .unwrap();
    assert!(r[0].uuid.is_some());
    // The update for our own write arrives before the reply: the replica already has it.
    let names: Vec<String> = {
        let replica = rep.replica.read().unwrap();
        replica
            .table("Logical_Switch")
            .unwrap()
            .rows()
            .map(|r| name_of(r.get("name").unwrap()))
            .collect()
    };
    assert!(names.iter().any(|n| n == "after"), "{names:?}");
    while let Ok(ev) = rep.events.try_recv() {
        apply_events(&mut model, ev);
    }
    let snapshot = flatten(rep.replica.read().unwrap().snapshot());
    assert_eq!(model, snapshot, "events reproduce the replica");
    let fresh = client
        .transact(DB, &[Operation::select("Logical_Switch", vec![])])
        .await
        .unwrap();
    let mut names: Vec<String> = fresh[0]
        .rows
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| name_of(&r["name"]))
        .collect();
    names.sort();
    assert_eq!(names, ["after", "change", "keep", "new"]);
    assert_eq!(snapshot.len(), 4);
    let changed = snapshot
        .values()
        .find(|r| r["name"] == s("change"))
        .unwrap();
    assert_eq!(changed["other_config"], Datum::map([("x", "1")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_replica_loads_when_the_connection_drops_before_its_first_reply() {
    use crate::client_common::{Proxy, ProxyMode};
    let server = OvsdbServer::builder(Schema::Northbound)
        .tcp()
        .start()
        .unwrap();
    let proxy = Proxy::start(&server.tcp_remote().unwrap()).await;
    let watcher = Client::connect(config(&proxy.remote)).await.unwrap();
    let writer = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let schema = std::sync::Arc::new(watcher.get_schema(DB).await.unwrap());

    let mut state = watcher.state();
    // The monitor request is swallowed, so no reply can come on this connection.
    proxy.set(ProxyMode::Hold);
    let replicate = tokio::spawn(async move {
        let r = watcher
            .replicate_with_schema(DB, schema, requests("Logical_Switch", &["name"]))
            .await;
        (watcher, r)
    });
    proxy.wait_held().await;
    writer
        .transact(
            DB,
            &[Operation::insert(
                "Logical_Switch",
                row([("name", s("while-cut-off"))]),
            )],
        )
        .await
        .unwrap();
    // The connection drops; the client reconnects and the replica loads there.
    proxy.set(ProxyMode::Refuse);
    within(
        30,
        "the watcher to notice the drop",
        state.wait_for(|s| !matches!(s, ovsdb_client::client::ConnectionState::Connected(_))),
    )
    .await
    .unwrap();
    proxy.set(ProxyMode::Forward);
    let (watcher, r) = within(60, "replicate to finish", replicate).await.unwrap();
    let replicated = r.expect("a drop before the first reply is not the caller's problem");
    let names: Vec<String> = replicated
        .replica
        .read()
        .unwrap()
        .table("Logical_Switch")
        .unwrap()
        .rows()
        .map(|r| name_of(r.get("name").unwrap()))
        .collect();
    assert_eq!(names, ["while-cut-off"]);

    // It stays current afterwards.
    let mut events = replicated.events;
    writer
        .transact(
            DB,
            &[Operation::insert(
                "Logical_Switch",
                row([("name", s("later"))]),
            )],
        )
        .await
        .unwrap();
    within(30, "the later row", async {
        loop {
            let rows = replicated
                .replica
                .read()
                .unwrap()
                .table("Logical_Switch")
                .unwrap()
                .len();
            if rows == 2 {
                break;
            }
            events.recv().await.expect("events open");
        }
    })
    .await;
    drop(watcher);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_replica_follows_a_database_conversion_to_a_new_schema() {
    let server = OvsdbServer::nb().unwrap();
    let client = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let insert = |name: &str| Operation::insert("Logical_Switch", row([("name", s(name))]));
    client.transact(DB, &[insert("before")]).await.unwrap();
    let rep = client.replicate(DB, MonitorRequests::new()).await.unwrap();

    // A newer schema: one more column in Logical_Switch (an upgrade adds columns like this).
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Schema::Northbound.path()).unwrap()).unwrap();
    schema["version"] = serde_json::json!("99.0.0");
    schema["tables"]["Logical_Switch"]["columns"]["extra"] =
        serde_json::json!({"type": {"key": "string", "min": 0, "max": 1}});
    let dir = ovn_tests::ScratchDir::new("convert").unwrap();
    let path = dir.join("new.ovsschema");
    std::fs::write(&path, schema.to_string()).unwrap();
    ovn_tests::run(
        std::process::Command::new("ovsdb-client")
            .arg("convert")
            .arg(server.unix_remote())
            .arg(&path),
        std::time::Duration::from_secs(30),
    )
    .unwrap();

    // The server cancels the monitor; the client fetches the new schema and reloads.
    within(30, "the replica to take the new schema", async {
        while !rep.replica.read().unwrap().schema().tables["Logical_Switch"]
            .columns
            .contains_key("extra")
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    client
        .transact(
            DB,
            &[Operation::update(
                "Logical_Switch",
                vec![Condition::eq("name", "before")],
                row([("extra", s("x"))]),
            )],
        )
        .await
        .unwrap();
    within(30, "the new column's value in the replica", async {
        loop {
            let value = rep
                .replica
                .read()
                .unwrap()
                .table("Logical_Switch")
                .unwrap()
                .rows()
                .find(|r| name_of(r.get("name").unwrap()) == "before")
                .and_then(|r| r.get("extra").cloned());
            if value == Some(Datum::scalar("x")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}
