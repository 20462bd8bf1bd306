//! The workloads against a real ovsdb-server: every lsp-add mode leaves exactly the ports it
//! claims, on the right switch, and a cold sync loads all of them.

use std::sync::Arc;

use ovn_benches::lsp_add::{self, Mode};
use ovn_benches::{client_config, sync};
use ovn_tests::OvsdbServer;
use ovsdb_client::client::Client;
use ovsdb_client::{Datum, MonitorRequests, Replica};

fn ports_of(replica: &Replica, switch: &str) -> Vec<String> {
    let ports = replica.table("Logical_Switch_Port").unwrap();
    let sw = replica
        .table("Logical_Switch")
        .unwrap()
        .find_one("name", &Datum::from(switch))
        .unwrap_or_else(|| panic!("switch {switch} exists"));
    let mut names: Vec<String> = sw
        .get("ports")
        .unwrap()
        .as_set()
        .iter()
        .map(|a| {
            let row = ports.get(&a.as_uuid().unwrap()).unwrap();
            let name = row.get("name").unwrap().as_scalar().unwrap();
            name.as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_adds_its_ports_and_a_cold_sync_sees_them() {
    let server = OvsdbServer::nb().expect("ovsdb-server for OVN_Northbound");
    let remote = server.remote();
    let client = Client::connect(client_config(&remote).unwrap())
        .await
        .unwrap();
    for mode in [Mode::Sequential, Mode::Pipelined, Mode::Batch] {
        lsp_add::run(&client, mode.as_str(), 25, mode)
            .await
            .unwrap();
    }
    // Running again on an existing switch reuses it instead of creating a second one.
    lsp_add::run(&client, "batch", 0, Mode::Batch)
        .await
        .unwrap();

    let outcome = sync::run(&remote).await.unwrap();
    assert_eq!(outcome.rows, 3 + 3 * 25);

    let replicated = client
        .replicate("OVN_Northbound", MonitorRequests::new())
        .await
        .unwrap();
    let replica = Arc::clone(&replicated.replica);
    let replica = replica.read().unwrap();
    assert_eq!(replica.table("Logical_Switch").unwrap().len(), 3);
    for mode in ["sequential", "pipelined", "batch"] {
        let mut want: Vec<String> = (0..25).map(|i| lsp_add::port_name(mode, i)).collect();
        want.sort();
        assert_eq!(ports_of(&replica, mode), want, "ports of {mode}");
    }
    let p = replica
        .table("Logical_Switch_Port")
        .unwrap()
        .find_one("name", &Datum::from("pipelined-7"))
        .unwrap();
    assert_eq!(
        p.get("addresses"),
        Some(&Datum::from(lsp_add::port_address(7)))
    );
    client.shutdown();
}
