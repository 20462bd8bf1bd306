//! `lock`, `steal`, `unlock` and the `locked`/`stolen` notifications between two clients.

use ovn_tests::{OvsdbServer, Schema};
use ovsdb_client::client::{Client, LockStatus};
use ovsdb_client::{Error, Operation};
use tokio::sync::watch;

use crate::client_common::{config, within};

async fn wait_for(rx: &mut watch::Receiver<LockStatus>, want: LockStatus) {
    within(
        30,
        &format!("lock status {want:?}"),
        rx.wait_for(|s| *s == want),
    )
    .await
    .expect("client alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_locks_are_granted_waited_for_stolen_and_released() {
    let server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let a = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let b = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let assert_op = || {
        [Operation::Assert {
            lock: "leader_lock".into(),
        }]
    };

    let mut la = a.lock("leader_lock").await.unwrap();
    assert_eq!(*la.borrow(), LockStatus::Held);
    a.transact("OVN_Northbound", &assert_op()).await.unwrap();

    let mut lb = b.lock("leader_lock").await.unwrap();
    assert_eq!(*lb.borrow(), LockStatus::Waiting);
    assert!(matches!(
        b.transact("OVN_Northbound", &assert_op()).await,
        Err(Error::OperationFailed { .. })
    ));

    // A releases: B is told by a `locked` notification.
    a.unlock("leader_lock").await.unwrap();
    wait_for(&mut lb, LockStatus::Held).await;
    b.transact("OVN_Northbound", &assert_op()).await.unwrap();

    // A steals it back: B is told by a `stolen` notification.
    la = a.steal("leader_lock").await.unwrap();
    assert_eq!(*la.borrow(), LockStatus::Held);
    wait_for(&mut lb, LockStatus::Stolen).await;
    assert!(b.transact("OVN_Northbound", &assert_op()).await.is_err());
    a.transact("OVN_Northbound", &assert_op()).await.unwrap();
    drop(la);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_requests_its_lock_again_after_a_reconnect() {
    let mut server = OvsdbServer::builder(Schema::Northbound).start().unwrap();
    let a = Client::connect(config(&server.unix_remote()))
        .await
        .unwrap();
    let mut la = a.lock("held_across").await.unwrap();
    assert_eq!(*la.borrow(), LockStatus::Held);
    server.kill().unwrap();
    wait_for(&mut la, LockStatus::Disconnected).await;
    server.start().unwrap();
    wait_for(&mut la, LockStatus::Held).await;
    a.transact(
        "OVN_Northbound",
        &[Operation::Assert {
            lock: "held_across".into(),
        }],
    )
    .await
    .unwrap();
}
