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
