//! Request timeouts against a real ovsdb-server: a request that gets no answer fails with
//! [`Error::Timeout`] instead of hanging, is forgotten (a late reply changes nothing), and the
//! client recovers once the server answers again.

use std::time::Duration;

use ovn_tests::{OvsdbServer, Schema};
use ovsdb_client::client::{Client, ConnectionState};
use ovsdb_client::{Error, Operation};

use crate::client_common::{Proxy, ProxyMode, blocked_wait, config, row, s, within};

const DB: &str = "OVN_Northbound";

fn insert_switch(name: &str) -> Operation {
    Operation::insert("Logical_Switch", row([("name", s(name))]))
}

/// A `wait` the server holds (nothing will change the table): the request runs out of time,
/// the server is told to cancel it, and the same connection serves the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timeout_gives_up_on_a_blocked_wait_and_keeps_the_connection() {
    let server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let limit = Duration::from_millis(500);
    let client = Client::connect(config(&server.unix_remote()).request_timeout(Some(limit)))
        .await
        .unwrap();
    let mut state = client.state();
    state.borrow_and_update();
    let blocked = blocked_wait();
    match within(
        30,
        "the blocked transaction to time out",
        client.transact(DB, &[blocked]),
    )
    .await
    {
        Err(Error::Timeout { method, timeout }) => {
            assert_eq!((method.as_str(), timeout), ("transact", limit))
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // This insert would also release the wait, had the server not cancelled it; either way its
    // reply would reach nobody.
    within(
        30,
        "the next transaction",
        client.transact(DB, &[insert_switch("after-timeout")]),
    )
    .await
    .expect("the connection still serves requests");
    assert!(
        !state.has_changed().unwrap(),
        "the connection was dropped: {:?}",
        *state.borrow()
    );
}

/// A server that stops answering (a proxy swallows everything the client sends, as a peer gone
/// without a reset would): requests fail with a retryable error within their time instead of
/// hanging, the inactivity probe drops the connection, and once the path clears the client
/// reconnects and requests succeed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timeout_bounds_requests_to_a_stalled_server_and_recovers() {
    let server = OvsdbServer::builder(Schema::Northbound)
        .tcp()
        .start()
        .unwrap();
    let proxy = Proxy::start(&server.tcp_remote().unwrap()).await;
    let limit = Duration::from_secs(1);
    let client = Client::connect(
        config(&proxy.remote)
            .request_timeout(Some(limit))
            .probe_interval(Some(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    client
        .transact(DB, &[insert_switch("before")])
        .await
        .unwrap();

    proxy.set(ProxyMode::Hold);
    let cut = within(
        30,
        "a request to the stalled server to fail",
        client.transact(DB, &[insert_switch("stalled")]),
    )
    .await;
    match &cut {
        Err(e @ (Error::Timeout { .. } | Error::ConnectionLost { .. })) => {
            assert!(e.is_retryable(), "{e}")
        }
        other => panic!("expected a timeout or a lost connection, got {other:?}"),
    }
    let mut state = client.state();
    within(30, "the probe to drop the silent connection", async {
        while matches!(*state.borrow_and_update(), ConnectionState::Connected(_)) {
            state.changed().await.unwrap();
        }
    })
    .await;
    // No usable connection: a request waits for one only as long as it is allowed to.
    match within(30, "a request without a connection", client.list_dbs()).await {
        Err(Error::Timeout { method, timeout }) => {
            assert_eq!((method.as_str(), timeout), ("list_dbs", limit))
        }
        other => panic!("expected a timeout, got {other:?}"),
    }

    proxy.set(ProxyMode::Forward);
    within(60, "requests to succeed again", async {
        loop {
            match client.transact(DB, &[insert_switch("after")]).await {
                Ok(_) => break,
                Err(e) => assert!(e.is_retryable(), "{e}"),
            }
        }
    })
    .await;
}
