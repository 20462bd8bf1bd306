//! The cold `sync` workload: a new client replicates every table and column of
//! OVN_Northbound and stops once the initial contents are loaded.

use std::time::{Duration, Instant};

use ovsdb_client::MonitorRequests;
use ovsdb_client::client::Client;

use crate::{NORTHBOUND, Result, client_config};

/// What a cold sync loaded and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Rows in the replica, all tables together.
    pub rows: usize,
    /// From the start of the connection to the replica holding the initial contents.
    pub elapsed: Duration,
}

/// Connects to `remote`, replicates all of OVN_Northbound (every table, every column) and
/// returns once the initial contents are in the replica. The time counts everything a cold
/// client does: connect, `get_schema`, the monitor request, and decoding the reply.
pub async fn run(remote: &str) -> Result<SyncOutcome> {
    let config = client_config(remote)?;
    let start = Instant::now();
    let client = Client::connect(config).await?;
    // An empty request set means every table of the schema, all columns.
    let replicated = client.replicate(NORTHBOUND, MonitorRequests::new()).await?;
    let elapsed = start.elapsed();
    let rows = replicated
        .replica
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .row_count();
    client.shutdown();
    Ok(SyncOutcome { rows, elapsed })
}
