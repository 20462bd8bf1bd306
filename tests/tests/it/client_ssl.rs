//! `ssl:` against ovsdb-server on `pssl:` with ovs-pki certificates (no usable SAN), and the
//! rejection of a server whose certificate another CA signed.

use ovn_tests::{OvsdbServer, Pki, Schema};
use ovsdb_client::Error;
use ovsdb_client::client::Client;
use ovsdb_client::remote::Remote;
use ovsdb_client::tls::{TlsConnector, TlsFiles};

use crate::client_common::config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ssl_verifies_the_ca_chain_without_a_name_check() {
    let pki = Pki::new().unwrap();
    let server = OvsdbServer::builder(Schema::Northbound)
        .ssl(&pki)
        .start()
        .unwrap();
    let remote = server.ssl_remote().unwrap();
    let trusted = pki.client();

    let cfg = config(&remote).tls(
        &trusted.private_key,
        &trusted.certificate,
        pki.ca_certificate(),
    );
    let client = Client::connect(cfg).await.unwrap();
    let dbs = client.list_dbs().await.unwrap();
    assert!(dbs.contains(&"OVN_Northbound".to_owned()));

    // A server certificate from another CA is refused during the handshake.
    let intruder = OvsdbServer::builder(Schema::Northbound)
        .ssl_files(pki.untrusted_server().clone(), pki.ca_certificate())
        .start()
        .unwrap();
    let tls = TlsConnector::from_files(&TlsFiles::new(
        &trusted.private_key,
        &trusted.certificate,
        pki.ca_certificate(),
    ))
    .unwrap();
    let bad: Remote = intruder.ssl_remote().unwrap().parse().unwrap();
    match bad.connect(Some(&std::sync::Arc::new(tls))).await {
        Err(Error::Tls(msg)) => assert!(msg.contains("certificate"), "{msg}"),
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("an untrusted server certificate was accepted"),
    }
    let mut cfg = config(&intruder.ssl_remote().unwrap()).tls(
        &trusted.private_key,
        &trusted.certificate,
        pki.ca_certificate(),
    );
    cfg.initial_connect_timeout = std::time::Duration::from_secs(2);
    assert!(matches!(Client::connect(cfg).await, Err(Error::Tls(_))));

    // Missing files say which file.
    let cfg = config(&remote).tls(
        "/nonexistent/key.pem",
        &trusted.certificate,
        pki.ca_certificate(),
    );
    match Client::connect(cfg).await {
        Err(Error::Tls(msg)) => assert!(msg.contains("/nonexistent/key.pem"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
