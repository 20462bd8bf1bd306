//! The connection's behaviour against a scripted fake server on a unix socket: echo answers,
//! inactivity probes, pipelining, and peer misbehaviour.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::Framed;

use super::{Client, ClientConfig, ConnectionState};
use crate::codec::JsonCodec;
use crate::error::{Error, InvalidMessage};
use crate::remote::Remote;

struct FakeServer {
    listener: UnixListener,
    remote: Remote,
    _dir: tempfile::TempDir,
}

type Peer = Framed<UnixStream, JsonCodec>;

impl FakeServer {
    fn new() -> FakeServer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&path).unwrap();
        FakeServer {
            listener,
            remote: Remote::Unix(path),
            _dir: dir,
        }
    }

    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::with_remotes(vec![self.remote.clone()]);
        c.db_change_aware = false;
        c.probe_interval = None;
        c.backoff_min = Duration::from_millis(10);
        c.backoff_max = Duration::from_millis(50);
        c
    }

    async fn accept(&self) -> Peer {
        let (s, _) = within(self.listener.accept()).await.unwrap();
        Framed::new(s, JsonCodec::new())
    }
}

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out")
}

async fn recv(peer: &mut Peer) -> Value {
    let frame = within(peer.next()).await.expect("peer open").unwrap();
    serde_json::from_slice(&frame).unwrap()
}

async fn send(peer: &mut Peer, v: Value) {
    peer.send(v).await.unwrap();
}

#[tokio::test]
async fn answers_the_servers_echo_while_its_own_request_waits() {
    let server = FakeServer::new();
    let client = Client::start(server.config()).unwrap();
    let mut peer = server.accept().await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.list_dbs().await }
    });
    let req = recv(&mut peer).await;
    assert_eq!(req["method"], "list_dbs");
    send(
        &mut peer,
        json!({"id": "echo", "method": "echo", "params": ["ping", 1]}),
    )
    .await;
    assert_eq!(
        recv(&mut peer).await,
        json!({"id": "echo", "result": ["ping", 1], "error": null})
    );
    send(
        &mut peer,
        json!({"id": req["id"], "result": ["A", "B"], "error": null}),
    )
    .await;
    assert_eq!(
        within(call).await.unwrap().unwrap(),
        vec!["A".to_owned(), "B".to_owned()]
    );
}

#[tokio::test]
async fn replies_in_any_order_reach_their_own_callers() {
    let server = FakeServer::new();
    let client = Client::start(server.config()).unwrap();
    let mut peer = server.accept().await;
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.echo(vec![json!(i)]).await })
        })
        .collect();
    let mut requests = Vec::new();
    for _ in 0..50 {
        requests.push(recv(&mut peer).await);
    }
    for r in requests.iter().rev() {
        send(
            &mut peer,
            json!({"id": r["id"], "result": r["params"], "error": null}),
        )
        .await;
    }
    for (i, c) in calls.into_iter().enumerate() {
        assert_eq!(within(c).await.unwrap().unwrap(), vec![json!(i)]);
    }
}

#[tokio::test]
async fn probes_an_idle_server_and_drops_it_when_silent() {
    let server = FakeServer::new();
    let mut config = server.config();
    config.probe_interval = Some(Duration::from_millis(100));
    let client = Client::start(config).unwrap();
    let mut peer = server.accept().await;
    // An answered probe keeps the connection.
    let probe = recv(&mut peer).await;
    assert_eq!(probe["method"], "echo");
    send(
        &mut peer,
        json!({"id": probe["id"], "result": [], "error": null}),
    )
    .await;
    let probe = recv(&mut peer).await;
    assert_eq!(probe["method"], "echo");
    // An unanswered one gets the peer dropped after a second interval.
    assert!(
        within(peer.next()).await.is_none(),
        "the client closed the connection"
    );
    // And the client reconnects.
    let _again = server.accept().await;
    let mut state = client.state();
    within(state.wait_for(|s| matches!(s, ConnectionState::Connected(_))))
        .await
        .unwrap();
}

#[tokio::test]
async fn garbage_drops_the_connection_and_fails_requests_in_flight() {
    let server = FakeServer::new();
    let client = Client::start(server.config()).unwrap();
    let mut peer = server.accept().await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_server_id().await }
    });
    recv(&mut peer).await;
    peer.get_mut().try_write(b"}{ not json").unwrap();
    match within(call).await.unwrap() {
        Err(e @ Error::ConnectionLost { .. }) => assert!(e.is_retryable()),
        other => panic!("{other:?}"),
    }
    // The client comes back on a new connection and works there.
    let mut peer = server.accept().await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_server_id().await }
    });
    let req = recv(&mut peer).await;
    send(
        &mut peer,
        json!({"id": req["id"], "result": "0b1c1d3e-aaaa-bbbb-cccc-0123456789ab", "error": null}),
    )
    .await;
    assert_eq!(
        within(call).await.unwrap().unwrap().to_string(),
        "0b1c1d3e-aaaa-bbbb-cccc-0123456789ab"
    );
}

#[tokio::test]
async fn unknown_notifications_and_wrongly_typed_replies_are_errors_not_panics() {
    let server = FakeServer::new();
    let client = Client::start(server.config()).unwrap();
    let mut peer = server.accept().await;
    send(
        &mut peer,
        json!({"id": null, "method": "surprise", "params": [1]}),
    )
    .await;
    send(
        &mut peer,
        json!({"id": null, "method": "update2", "params": ["no-such-monitor", {}]}),
    )
    .await;
    send(
        &mut peer,
        json!({"id": null, "method": "update3", "params": [7]}),
    )
    .await;
    send(
        &mut peer,
        json!({"id": 123456, "result": [], "error": null}),
    )
    .await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_server_id().await }
    });
    let req = recv(&mut peer).await;
    send(
        &mut peer,
        json!({"id": req["id"], "result": 42, "error": null}),
    )
    .await;
    match within(call).await.unwrap() {
        Err(Error::InvalidMessage(InvalidMessage::UnexpectedReply { method, .. })) => {
            assert_eq!(method, "get_server_id")
        }
        other => panic!("{other:?}"),
    }
    // The connection is still usable.
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.list_dbs().await }
    });
    let req = recv(&mut peer).await;
    send(
        &mut peer,
        json!({"id": req["id"], "result": ["X"], "error": null}),
    )
    .await;
    assert_eq!(within(call).await.unwrap().unwrap(), vec!["X".to_owned()]);
}

#[tokio::test]
async fn dropping_a_pending_transaction_cancels_it_on_the_server() {
    let server = FakeServer::new();
    let client = Client::start(server.config()).unwrap();
    let mut peer = server.accept().await;
    let pending = client
        .start_transact("DB", &[crate::Operation::Abort])
        .await
        .unwrap();
    let req = recv(&mut peer).await;
    assert_eq!(req["method"], "transact");
    assert_eq!(req["params"], json!(["DB", {"op": "abort"}]));
    let id = pending.id;
    drop(pending);
    let cancel = recv(&mut peer).await;
    assert_eq!(
        cancel,
        json!({"method": "cancel", "params": [id.0], "id": null})
    );
}

#[tokio::test]
async fn requests_fail_after_shutdown() {
    let server = FakeServer::new();
    let client = Client::start(server.config()).unwrap();
    let _peer = server.accept().await;
    client.shutdown();
    assert!(matches!(
        within(client.list_dbs()).await,
        Err(Error::Shutdown | Error::ConnectionLost { .. })
    ));
}

#[test]
fn requests_are_bounded_by_default() {
    let config = ClientConfig::new("unix:/nonexistent").unwrap();
    assert_eq!(config.request_timeout, Some(super::DEFAULT_REQUEST_TIMEOUT));
    assert_eq!(
        config.request_timeout(None).request_timeout,
        None,
        "the builder can still turn it off"
    );
}

/// A request the server never answers fails with a timeout naming the method and the time,
/// and is forgotten: the reply arriving afterwards reaches nobody, the connection stays up, and
/// the next request gets its own reply.
#[tokio::test]
async fn an_unanswered_request_times_out_and_its_late_reply_is_dropped() {
    let server = FakeServer::new();
    let limit = Duration::from_millis(300);
    let client = Client::start(server.config().request_timeout(Some(limit))).unwrap();
    let mut peer = server.accept().await;

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.echo(vec![json!("first")]).await }
    });
    let first = recv(&mut peer).await;
    assert_eq!(first["method"], "echo");
    // Connected (the request went out): any change from here on is a disconnect.
    let mut state = client.state();
    assert!(matches!(
        *state.borrow_and_update(),
        ConnectionState::Connected(_)
    ));
    match within(call).await.unwrap() {
        Err(e @ Error::Timeout { .. }) => {
            let Error::Timeout { method, timeout } = &e else {
                unreachable!()
            };
            assert_eq!((method.as_str(), *timeout), ("echo", limit));
            assert!(e.is_retryable());
            assert!(e.to_string().contains("echo"), "{e}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }

    // The late reply, then a second request: each reply goes where it belongs.
    send(
        &mut peer,
        json!({"id": first["id"], "result": ["late"], "error": null}),
    )
    .await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.echo(vec![json!("second")]).await }
    });
    let second = recv(&mut peer).await;
    assert_ne!(second["id"], first["id"]);
    send(
        &mut peer,
        json!({"id": second["id"], "result": ["second"], "error": null}),
    )
    .await;
    assert_eq!(within(call).await.unwrap().unwrap(), vec![json!("second")]);
    assert!(
        !state.has_changed().unwrap(),
        "a slow answer does not drop the connection: {:?}",
        *state.borrow_and_update()
    );
}

/// A `transact` that runs out of time is cancelled on the server at once, even while the
/// caller still holds the pending future.
#[tokio::test]
async fn a_timed_out_transaction_is_cancelled_on_the_server() {
    let server = FakeServer::new();
    let limit = Duration::from_millis(200);
    let client = Client::start(server.config().request_timeout(Some(limit))).unwrap();
    let mut peer = server.accept().await;
    let mut pending = client
        .start_transact("DB", &[crate::Operation::Abort])
        .await
        .unwrap();
    let req = recv(&mut peer).await;
    assert_eq!(req["method"], "transact");
    match within(&mut pending).await {
        Err(Error::Timeout { method, timeout }) => {
            assert_eq!((method.as_str(), timeout), ("transact", limit))
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let cancel = recv(&mut peer).await;
    assert_eq!(
        cancel,
        json!({"method": "cancel", "params": [req["id"]], "id": null})
    );
    drop(pending);
}

/// No server to talk to (NB down): a request gives up after its timeout instead of waiting
/// for a connection forever.
#[tokio::test]
async fn a_request_without_any_server_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ClientConfig::with_remotes(vec![Remote::Unix(dir.path().join("none.sock"))])
        .request_timeout(Some(Duration::from_millis(300)));
    config.backoff_min = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(50);
    let client = Client::start(config).unwrap();
    match within(client.list_dbs()).await {
        Err(Error::Timeout { method, .. }) => assert_eq!(method, "list_dbs"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    match within(client.transact("DB", &[crate::Operation::Abort])).await {
        Err(Error::Timeout { method, .. }) => assert_eq!(method, "transact"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}
