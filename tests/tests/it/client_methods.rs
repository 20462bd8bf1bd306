//! Every request method of `ovsdb_client::client::Client` against a real ovsdb-server.

use std::sync::Arc;

use ovn_tests::{OvsdbServer, Schema};
use ovsdb_client::client::{Client, ClientConfig};
use ovsdb_client::{
    Atom, Condition, Datum, Error, Function, Mutation, Mutator, Operation, Uuid, WaitUntil,
};

use crate::client_common::{blocked_wait, config, row, s, within};

fn nb() -> OvsdbServer {
    OvsdbServer::builder(Schema::Northbound)
        .tcp()
        .start()
        .expect("NB ovsdb-server starts")
}

async fn connect(remote: &str) -> Client {
    within(60, "connect", Client::connect(config(remote)))
        .await
        .expect("client connects")
}

fn ls_insert(name: &str) -> Operation {
    Operation::insert("Logical_Switch", row([("name", s(name))]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_lists_dbs_gets_schema_echoes_and_names_the_server() {
    let server = nb();
    for remote in [server.unix_remote(), server.tcp_remote().unwrap()] {
        let client = connect(&remote).await;
        let dbs = client.list_dbs().await.unwrap();
        assert!(dbs.contains(&"OVN_Northbound".to_owned()), "{dbs:?}");
        assert!(dbs.contains(&"_Server".to_owned()), "{dbs:?}");
        let schema = client.get_schema("OVN_Northbound").await.unwrap();
        assert_eq!(schema.name, "OVN_Northbound");
        assert!(schema.tables.contains_key("Logical_Switch_Port"));
        let raw = client.get_schema_json("OVN_Northbound").await.unwrap();
        assert!(raw.get().contains("\"Logical_Switch\""));
        let echoed = client
            .echo(vec![
                serde_json::json!("hi"),
                serde_json::json!({"a": [1, 2]}),
            ])
            .await
            .unwrap();
        assert_eq!(
            echoed,
            vec![serde_json::json!("hi"), serde_json::json!({"a": [1, 2]})]
        );
        let id1 = client.get_server_id().await.unwrap();
        let id2 = client.get_server_id().await.unwrap();
        assert_eq!(id1, id2);
        assert!(!id1.is_nil());
        client.set_db_change_aware(true).await.unwrap();
        client.set_db_change_aware(false).await.unwrap();
        match client.get_schema("No_Such_Db").await {
            Err(Error::Server(e)) => assert_eq!(e.error, "unknown database"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_transact_runs_every_operation() {
    let server = nb();
    let client = connect(&server.unix_remote()).await;
    let db = "OVN_Northbound";

    // insert, with a named-uuid reference between two new rows, a set and a map.
    let r = client
        .transact(
            db,
            &[
                Operation::insert_named(
                    "Logical_Switch_Port",
                    row([
                        ("name", s("p1")),
                        (
                            "addresses",
                            Datum::set([Atom::from("00:00:00:00:00:01 10.0.0.1")]),
                        ),
                        ("external_ids", Datum::map([("k1", "v1"), ("k2", "v2")])),
                    ]),
                    "p1",
                ),
                Operation::insert(
                    "Logical_Switch",
                    row([
                        ("name", s("sw0")),
                        ("ports", Datum::set([Atom::NamedUuid("p1".into())])),
                    ]),
                ),
                Operation::Comment {
                    comment: "client test".into(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.len(), 3);
    let port = r[0].uuid.expect("insert returns the port's uuid");
    let switch = r[1].uuid.expect("insert returns the switch's uuid");

    // select, with a column list.
    let r = client
        .transact(
            db,
            &[Operation::Select {
                table: "Logical_Switch".into(),
                conditions: vec![Condition::eq("name", s("sw0"))],
                columns: Some(vec!["_uuid".into(), "name".into(), "ports".into()]),
            }],
        )
        .await
        .unwrap();
    let rows = r[0].rows.as_ref().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["_uuid"], Datum::scalar(switch));
    // A one-element set arrives as a bare atom and reads as a one-element set.
    assert_eq!(rows[0]["ports"], Datum::set([Atom::Uuid(port)]));

    // update.
    let r = client
        .transact(
            db,
            &[Operation::update(
                "Logical_Switch_Port",
                vec![Condition::uuid(port)],
                row([("type", s("router"))]),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r[0].count, Some(1));

    // mutate: insert into a set, delete a map key.
    let r = client
        .transact(
            db,
            &[Operation::mutate(
                "Logical_Switch_Port",
                vec![Condition::eq("name", s("p1"))],
                vec![
                    Mutation::new(
                        "addresses",
                        Mutator::Insert,
                        Datum::set([Atom::from("router")]),
                    ),
                    Mutation::new(
                        "external_ids",
                        Mutator::Delete,
                        Datum::set([Atom::from("k1")]),
                    ),
                ],
            )],
        )
        .await
        .unwrap();
    assert_eq!(r[0].count, Some(1));

    // wait that holds, commit, and a select to see the effects.
    let r = client
        .transact(
            db,
            &[
                Operation::Wait {
                    table: "Logical_Switch_Port".into(),
                    conditions: vec![Condition::uuid(port)],
                    columns: vec!["type".into()],
                    until: WaitUntil::Equal,
                    rows: vec![row([("type", s("router"))])],
                    timeout: Some(0),
                },
                Operation::Commit { durable: false },
                Operation::select("Logical_Switch_Port", vec![Condition::uuid(port)]),
            ],
        )
        .await
        .unwrap();
    let p = &r[2].rows.as_ref().unwrap()[0];
    assert_eq!(p["type"], s("router"));
    assert_eq!(
        p["addresses"],
        Datum::set([
            Atom::from("00:00:00:00:00:01 10.0.0.1"),
            Atom::from("router")
        ])
    );
    assert_eq!(p["external_ids"], Datum::map([("k2", "v2")]));

    // abort fails the transaction with "aborted" and undoes the earlier operations.
    match client
        .transact(db, &[ls_insert("never"), Operation::Abort])
        .await
    {
        Err(Error::OperationFailed { index: 1, error }) => assert_eq!(error.error, "aborted"),
        other => panic!("{other:?}"),
    }
    // assert without holding the lock fails with "not owner".
    match client
        .transact(
            db,
            &[Operation::Assert {
                lock: "nobody_holds_me".into(),
            }],
        )
        .await
    {
        Err(Error::OperationFailed { index: 0, error }) => assert_eq!(error.error, "not owner"),
        other => panic!("{other:?}"),
    }

    // delete (the port goes with its switch: it is not a root table).
    let r = client
        .transact(
            db,
            &[Operation::delete(
                "Logical_Switch",
                vec![Condition::eq("name", s("sw0"))],
            )],
        )
        .await
        .unwrap();
    assert_eq!(r[0].count, Some(1));
    let r = client
        .transact(
            db,
            &[
                Operation::select("Logical_Switch", vec![]),
                Operation::select("Logical_Switch_Port", vec![]),
            ],
        )
        .await
        .unwrap();
    assert!(
        r[0].rows.as_ref().unwrap().is_empty(),
        "abort left no switch behind"
    );
    assert!(
        r[1].rows.as_ref().unwrap().is_empty(),
        "the orphaned port was garbage collected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_transact_reports_server_errors_per_operation() {
    let server = nb();
    let client = connect(&server.unix_remote()).await;
    let db = "OVN_Northbound";

    // Constraint violation: a value outside the column's enum.
    let acl = row([
        ("action", s("bogus")),
        ("direction", s("from-lport")),
        ("match", s("1")),
        ("priority", Datum::scalar(1000i64)),
    ]);
    match client.transact(db, &[Operation::insert("ACL", acl)]).await {
        Err(Error::OperationFailed { index: 0, error }) => {
            assert_eq!(error.error, "constraint violation", "{error}")
        }
        other => panic!("{other:?}"),
    }

    // Referential integrity: a reference to a row that does not exist, found at commit.
    let dangling = Datum::set([Atom::Uuid(Uuid::from_u128(0x1234))]);
    let reply = client
        .transact_reply(
            db,
            &[Operation::insert(
                "Logical_Switch",
                row([("name", s("x")), ("ports", dangling)]),
            )],
        )
        .await
        .unwrap();
    let (index, error) = reply.first_error().expect("an error");
    assert_eq!(error.error, "referential integrity violation", "{error}");
    assert_eq!(index, 1, "the commit error follows the operation results");
    assert!(reply.0[0].as_ref().unwrap().uuid.is_some());

    // Duplicate value in an index column.
    let port = || Operation::insert_named("Logical_Switch_Port", row([("name", s("dup"))]), "p");
    let sw = |n: &str| {
        Operation::insert(
            "Logical_Switch",
            row([
                ("name", s(n)),
                ("ports", Datum::set([Atom::NamedUuid("p".into())])),
            ]),
        )
    };
    client.transact(db, &[port(), sw("a")]).await.unwrap();
    match client.transact(db, &[port(), sw("b")]).await {
        Err(Error::OperationFailed { error, .. }) => {
            assert_eq!(error.error, "constraint violation", "{error}")
        }
        other => panic!("{other:?}"),
    }

    // A wait that times out.
    let wait = Operation::Wait {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::eq("name", s("a"))],
        columns: vec!["name".into()],
        until: WaitUntil::Equal,
        rows: vec![],
        timeout: Some(0),
    };
    match client.transact(db, &[wait]).await {
        Err(Error::OperationFailed { index: 0, error }) => assert_eq!(error.error, "timed out"),
        other => panic!("{other:?}"),
    }

    // Wrong table: the server's error, not a client panic.
    match client
        .transact(db, &[Operation::select("No_Such_Table", vec![])])
        .await
    {
        Err(Error::OperationFailed { error, .. }) => assert!(
            error.error.contains("unknown table")
                || error.details.unwrap_or_default().contains("No_Such_Table")
        ),
        Err(Error::Server(e)) => assert!(e.to_string().contains("No_Such_Table"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cancel_abandons_a_blocked_wait() {
    let server = nb();
    let client = connect(&server.unix_remote()).await;
    let blocked = blocked_wait();
    let pending = client
        .start_transact("OVN_Northbound", &[blocked])
        .await
        .unwrap();
    // The blocked transaction does not hold up others on the same connection.
    client
        .transact(
            "OVN_Northbound",
            &[Operation::Comment {
                comment: "meanwhile".into(),
            }],
        )
        .await
        .unwrap();
    client.cancel(pending.id).await.unwrap();
    match within(30, "the canceled reply", pending).await {
        Err(Error::Server(e)) => assert_eq!(e.error, "canceled"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pipelines_many_transactions_on_one_connection() {
    let server = nb();
    let client = Arc::new(connect(&server.tcp_remote().unwrap()).await);
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                c.transact("OVN_Northbound", &[ls_insert(&format!("sw{i}"))])
                    .await
            })
        })
        .collect();
    let mut uuids = Vec::new();
    for t in tasks {
        uuids.push(t.await.unwrap().unwrap()[0].uuid.unwrap());
    }
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), 500, "every transaction got its own reply");
    let r = client
        .transact(
            "OVN_Northbound",
            &[Operation::select(
                "Logical_Switch",
                vec![Condition::new("name", Function::Ne, s(""))],
            )],
        )
        .await
        .unwrap();
    assert_eq!(r[0].rows.as_ref().unwrap().len(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_transaction_in_flight_when_the_server_dies_fails_retryably() {
    let mut server = nb();
    let client = connect(&server.unix_remote()).await;
    let blocked = blocked_wait();
    let pending = client
        .start_transact("OVN_Northbound", &[blocked])
        .await
        .unwrap();
    server.kill().unwrap();
    match within(30, "the lost reply", pending).await {
        Err(e @ Error::ConnectionLost { .. }) => assert!(e.is_retryable()),
        other => panic!("{other:?}"),
    }
    server.start().unwrap();
    // The client reconnects by itself; the next request waits for it.
    let r = within(
        60,
        "a transaction after reconnecting",
        client.transact("OVN_Northbound", &[ls_insert("after")]),
    )
    .await
    .unwrap();
    assert!(r[0].uuid.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_connect_reports_why_no_server_was_usable() {
    let dir = ovn_tests::ScratchDir::new("client-noserver").unwrap();
    let mut cfg = config(&format!("unix:{}/nothing.sock", dir.path().display()));
    cfg.initial_connect_timeout = std::time::Duration::from_millis(500);
    match Client::connect(cfg).await {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    assert!(ClientConfig::new("tcp:1.2.3.4").is_ok());
    assert!(matches!(
        ClientConfig::new("udp:1.2.3.4:1"),
        Err(Error::InvalidRemote { .. })
    ));
}
