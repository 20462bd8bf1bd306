//! The `lsp-add` workload of `raw_pipeline.py`: each port is one `insert` of a
//! Logical_Switch_Port (with a uuid-name) plus one `mutate` adding it to its switch's `ports`.

use std::str::FromStr;
use std::time::{Duration, Instant};

use ovsdb_client::client::Client;
use ovsdb_client::{Condition, Datum, Mutation, Mutator, Operation, OperationResult, Row, Uuid};

use crate::{BenchError, NORTHBOUND, Result};

/// How the transactions are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One transaction per port, each awaited before the next is sent.
    Sequential,
    /// One transaction per port, all in flight at once, each from its own task.
    Pipelined,
    /// All ports in one transaction.
    Batch,
}

impl Mode {
    /// The mode's command-line and report name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sequential => "sequential",
            Mode::Pipelined => "pipelined",
            Mode::Batch => "batch",
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sequential" => Ok(Mode::Sequential),
            "pipelined" => Ok(Mode::Pipelined),
            "batch" => Ok(Mode::Batch),
            other => Err(format!(
                "unknown mode {other:?} (expected sequential, pipelined or batch)"
            )),
        }
    }
}

/// The name of port `i` of `switch`: `<switch>-<i>`.
pub fn port_name(switch: &str, i: u64) -> String {
    format!("{switch}-{i}")
}

/// The address of port `i`, as `raw_pipeline.py` writes it: a MAC and an IPv4 address derived
/// from the low 24 bits of `i`.
pub fn port_address(i: u64) -> String {
    let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
    format!("0a:00:00:{a:02x}:{b:02x}:{c:02x} 10.{a}.{b}.{c}")
}

fn port_insert(switch: &str, i: u64, uuid_name: String) -> Operation {
    let row: Row = [
        ("name".to_owned(), Datum::from(port_name(switch, i))),
        ("addresses".to_owned(), Datum::from(port_address(i))),
    ]
    .into();
    Operation::insert_named("Logical_Switch_Port", row, uuid_name)
}

fn add_ports_to_switch(switch: &str, uuid_names: Vec<String>) -> Operation {
    Operation::mutate(
        "Logical_Switch",
        vec![Condition::eq("name", switch)],
        vec![Mutation::new(
            "ports",
            Mutator::Insert,
            Datum::set(uuid_names.into_iter().map(ovsdb_client::Atom::NamedUuid)),
        )],
    )
}

/// The operations that add port `i` to `switch`: insert the port, mutate the switch.
pub fn lsp_add_operations(switch: &str, i: u64) -> Vec<Operation> {
    vec![
        port_insert(switch, i, "p".to_owned()),
        add_ports_to_switch(switch, vec!["p".to_owned()]),
    ]
}

/// The operations that add ports `0..count` to `switch` in one transaction: every insert, then
/// one mutate that adds them all.
pub fn lsp_batch_operations(switch: &str, count: u64) -> Vec<Operation> {
    let mut ops: Vec<Operation> = (0..count)
        .map(|i| port_insert(switch, i, format!("p{i}")))
        .collect();
    ops.push(add_ports_to_switch(
        switch,
        (0..count).map(|i| format!("p{i}")).collect(),
    ));
    ops
}

/// Creates the Logical_Switch named `switch` unless one exists; returns its UUID.
pub async fn ensure_switch(client: &Client, switch: &str) -> Result<Uuid> {
    let select = Operation::Select {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::eq("name", switch)],
        columns: Some(vec!["_uuid".into()]),
    };
    let found = client.transact(NORTHBOUND, &[select]).await?;
    let existing = found
        .first()
        .and_then(|r| r.rows.as_ref())
        .and_then(|rows| rows.first())
        .and_then(|row| row.get("_uuid"))
        .and_then(Datum::as_scalar)
        .and_then(ovsdb_client::Atom::as_uuid);
    if let Some(uuid) = existing {
        return Ok(uuid);
    }
    let row: Row = [("name".to_owned(), Datum::from(switch))].into();
    let inserted = client
        .transact(NORTHBOUND, &[Operation::insert("Logical_Switch", row)])
        .await?;
    inserted
        .first()
        .and_then(|r| r.uuid)
        .ok_or_else(|| BenchError::Unexpected("insert of the switch returned no UUID".into()))
}

/// Checks that the mutate (the last operation) found exactly one switch: with none the ports
/// would be orphans the server garbage-collects, and the workload would measure nothing.
fn check_switch_mutated(results: &[OperationResult], switch: &str) -> Result<()> {
    match results.last().and_then(|r| r.count) {
        Some(1) => Ok(()),
        other => Err(BenchError::Unexpected(format!(
            "mutate of switch {switch:?} matched {other:?} rows, expected 1"
        ))),
    }
}

/// Adds `count` ports to `switch` (created first if needed) in `mode`; returns the time the
/// transactions took, from the first request built to the last reply checked.
pub async fn run(client: &Client, switch: &str, count: u64, mode: Mode) -> Result<Duration> {
    ensure_switch(client, switch).await?;
    let start = Instant::now();
    match mode {
        Mode::Sequential => {
            for i in 0..count {
                let results = client
                    .transact(NORTHBOUND, &lsp_add_operations(switch, i))
                    .await?;
                check_switch_mutated(&results, switch)?;
            }
        }
        Mode::Pipelined => {
            let tasks: Vec<_> = (0..count)
                .map(|i| {
                    let client = client.clone();
                    let switch = switch.to_owned();
                    tokio::spawn(async move {
                        let results = client
                            .transact(NORTHBOUND, &lsp_add_operations(&switch, i))
                            .await?;
                        check_switch_mutated(&results, &switch)
                    })
                })
                .collect();
            for t in tasks {
                t.await??;
            }
        }
        Mode::Batch => {
            if count > 0 {
                let results = client
                    .transact(NORTHBOUND, &lsp_batch_operations(switch, count))
                    .await?;
                check_switch_mutated(&results, switch)?;
            }
        }
    }
    Ok(start.elapsed())
}

#[cfg(test)]
#[path = "lsp_add/tests.rs"]
mod tests;
