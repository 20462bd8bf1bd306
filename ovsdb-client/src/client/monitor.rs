//! Monitors: their state across reconnects, and how replies and notifications reach them.
//!
//! Each monitor remembers its current requests (conditions included) and, for
//! `monitor_cond_since`, the id of the last transaction it has seen, so a new connection can
//! resume it. Replies and notifications are applied on the connection's reader task, in wire
//! order: a replica therefore contains a client's own write by the time the reply to that
//! write is delivered (ovsdb-server sends the update first).

use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::atom::Uuid;
use crate::error::{Error, InvalidMessage};
use crate::replica::{Event, Replica};
use crate::update::{MonitorRequests, TableUpdates1, TableUpdates2};

/// Which monitor request a monitor uses, which decides the update form (RFC 7047 and
/// ovsdb-server(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorMethod {
    /// `monitor`: `update` notifications with old and new rows.
    Monitor,
    /// `monitor_cond`: conditions, `update2` notifications with diffs.
    MonitorCond,
    /// `monitor_cond_since`: like `monitor_cond`, plus `update3` carrying transaction ids, so a
    /// new connection can resume where the old one stopped.
    MonitorCondSince,
}

impl MonitorMethod {
    /// The JSON-RPC method name.
    pub fn name(self) -> &'static str {
        match self {
            MonitorMethod::Monitor => "monitor",
            MonitorMethod::MonitorCond => "monitor_cond",
            MonitorMethod::MonitorCondSince => "monitor_cond_since",
        }
    }

    /// The next older method, tried when a server does not know this one.
    pub(crate) fn fallback(self) -> Option<MonitorMethod> {
        match self {
            MonitorMethod::MonitorCondSince => Some(MonitorMethod::MonitorCond),
            MonitorMethod::MonitorCond => Some(MonitorMethod::Monitor),
            MonitorMethod::Monitor => None,
        }
    }
}

/// The rows changed by one update, in the form of the monitor's method.
#[derive(Debug, Clone, PartialEq)]
pub enum TableChanges {
    /// `update` form (monitor): old and new values.
    V1(TableUpdates1),
    /// `update2` form (monitor_cond, monitor_cond_since): initial/insert/modify/delete.
    V2(TableUpdates2),
}

impl TableChanges {
    /// The number of rows changed.
    pub fn row_count(&self) -> usize {
        match self {
            TableChanges::V1(t) => t.values().map(|r| r.len()).sum(),
            TableChanges::V2(t) => t.values().map(|r| r.len()).sum(),
        }
    }

    /// Whether no row changed.
    pub fn is_empty(&self) -> bool {
        self.row_count() == 0
    }
}

/// What a monitor's stream delivers after the initial contents.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorMessage {
    /// The database changed.
    Update {
        /// The changed rows.
        changes: TableChanges,
        /// The transaction that made them (`update3` only).
        last_txn_id: Option<Uuid>,
    },
    /// The connection was lost and the monitor set up again on a new one.
    Restarted {
        /// True when the server resumed from the last transaction seen: `changes` are exactly
        /// the missed changes. False: `changes` hold the whole current content, which replaces
        /// everything received before.
        resumed: bool,
        /// The id of the last transaction included (`monitor_cond_since` only).
        last_txn_id: Option<Uuid>,
        /// The changes (resumed) or the full content (not resumed).
        changes: TableChanges,
    },
}

/// Where a monitor's data goes.
pub(crate) enum Sink {
    /// To the caller, decoded into typed table updates.
    Raw(mpsc::UnboundedSender<MonitorMessage>),
    /// Into a replica, with its events to the caller.
    Replica {
        replica: Arc<RwLock<Replica>>,
        events: mpsc::UnboundedSender<Vec<Event>>,
    },
}

/// A monitor's state that survives reconnects.
pub(crate) struct MonitorState {
    pub requests: MonitorRequests,
    /// The method asked for; a replica monitor may fall back to older ones.
    pub method: MonitorMethod,
    /// Whether to fall back to older methods when the server lacks this one.
    pub fallback: bool,
    /// The method in use on the current connection.
    pub active_method: MonitorMethod,
    pub last_txn_id: Option<Uuid>,
    /// `monitor_cond_change` requests sent whose reply has not arrived.
    pub cond_changes_in_flight: usize,
    /// The server canceled the monitor because its database changed: the schema is fetched
    /// again before the monitor is re-established.
    pub schema_stale: bool,
    pub sink: Sink,
}

/// One monitor.
pub(crate) struct MonitorShared {
    /// The monitor id sent to the server (a JSON string).
    pub id: String,
    pub db: String,
    pub state: Mutex<MonitorState>,
    /// Set once a reply has been applied: the sink holds the server's contents.
    pub loaded: std::sync::atomic::AtomicBool,
}

/// What the first reply of a monitor said.
pub(crate) struct Started {
    pub found: bool,
    pub last_txn_id: Option<Uuid>,
    /// The initial contents, for raw monitors (replica monitors apply them).
    pub initial: Option<TableChanges>,
}

/// The all-zero UUID: "no transaction seen" for `monitor_cond_since`.
const NO_TXN: Uuid = Uuid::nil();

#[derive(Serialize)]
#[serde(untagged)]
enum Params<'a> {
    Plain(&'a str, &'a str, &'a MonitorRequests),
    Since(&'a str, &'a str, &'a MonitorRequests, String),
}

fn unexpected(method: &str, detail: impl Into<String>) -> Error {
    Error::InvalidMessage(InvalidMessage::UnexpectedReply {
        method: method.to_owned(),
        detail: detail.into(),
    })
}

impl MonitorShared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, MonitorState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The params of the request that (re)creates this monitor with `method`.
    pub(crate) fn request_params(&self, method: MonitorMethod) -> Result<Box<RawValue>, Error> {
        let st = self.lock();
        let p = match method {
            MonitorMethod::MonitorCondSince => Params::Since(
                &self.db,
                &self.id,
                &st.requests,
                st.last_txn_id.unwrap_or(NO_TXN).hyphenated().to_string(),
            ),
            _ => Params::Plain(&self.db, &self.id, &st.requests),
        };
        Ok(serde_json::value::to_raw_value(&p)?)
    }

    /// Applies the reply to a monitor request. `first` is the monitor's creation: raw
    /// initial contents go back to the caller instead of down the stream.
    pub(crate) fn apply_reply(
        &self,
        method: MonitorMethod,
        raw: &RawValue,
        first: bool,
    ) -> Result<Started, Error> {
        let (found, last_txn_id, updates): (bool, Option<Uuid>, &RawValue) = match method {
            MonitorMethod::MonitorCondSince => {
                let (found, last, updates): (bool, Uuid, &RawValue) =
                    serde_json::from_str(raw.get()).map_err(|e| {
                        unexpected(
                            method.name(),
                            format!("expected [found, last-txn-id, updates]: {e}"),
                        )
                    })?;
                (found, Some(last), updates)
            }
            _ => (false, None, raw),
        };
        let mut st = self.lock();
        st.active_method = method;
        st.last_txn_id = last_txn_id;
        let v1 = method == MonitorMethod::Monitor;
        let mut initial = None;
        match &st.sink {
            Sink::Raw(tx) => {
                let changes = decode_changes(v1, updates)
                    .map_err(|e| unexpected(method.name(), e.to_string()))?;
                if first {
                    initial = Some(changes);
                } else {
                    let _ = tx.send(MonitorMessage::Restarted {
                        resumed: found,
                        last_txn_id,
                        changes,
                    });
                }
            }
            Sink::Replica { replica, events } => {
                let decoded = {
                    let r = replica.read().unwrap_or_else(|e| e.into_inner());
                    if v1 {
                        r.decode_update1(updates.get())
                    } else {
                        r.decode_update2(updates.get())
                    }
                }?;
                let ev = {
                    let mut w = replica.write().unwrap_or_else(|e| e.into_inner());
                    if found {
                        w.apply(decoded)
                    } else {
                        w.replace_all(decoded)
                    }
                };
                if !ev.is_empty() {
                    let _ = events.send(ev);
                }
            }
        }
        self.loaded
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(Started {
            found,
            last_txn_id,
            initial,
        })
    }

    /// Applies an `update`, `update2` or `update3` notification's remaining params.
    pub(crate) fn apply_notification(&self, method: &str, rest: &[&RawValue]) -> Result<(), Error> {
        let (v1, last_txn_id, updates) = match (method, rest) {
            ("update", [u]) => (true, None, *u),
            ("update2", [u]) => (false, None, *u),
            ("update3", [last, u]) => {
                let last: Uuid = serde_json::from_str(last.get())
                    .map_err(|e| unexpected(method, format!("last-txn-id: {e}")))?;
                (false, Some(last), *u)
            }
            _ => {
                return Err(unexpected(
                    method,
                    format!("{} params after the monitor id", rest.len()),
                ));
            }
        };
        let mut st = self.lock();
        if last_txn_id.is_some() {
            st.last_txn_id = last_txn_id;
        }
        match &st.sink {
            Sink::Raw(tx) => {
                let changes =
                    decode_changes(v1, updates).map_err(|e| unexpected(method, e.to_string()))?;
                let _ = tx.send(MonitorMessage::Update {
                    changes,
                    last_txn_id,
                });
            }
            Sink::Replica { replica, events } => {
                let decoded = {
                    let r = replica.read().unwrap_or_else(|e| e.into_inner());
                    if v1 {
                        r.decode_update1(updates.get())
                    } else {
                        r.decode_update2(updates.get())
                    }
                }?;
                let ev = replica
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .apply(decoded);
                if !ev.is_empty() {
                    let _ = events.send(ev);
                }
            }
        }
        Ok(())
    }

    /// Called when the connection the monitor lived on is gone.
    pub(crate) fn connection_lost(&self) {
        let mut st = self.lock();
        if st.cond_changes_in_flight > 0 {
            // The server may or may not have applied the new condition before the connection
            // dropped; resuming from the old id could then miss rows the new condition selects
            // (OVS commit ae25f8c8f). Start over with a full initial dump instead.
            st.last_txn_id = None;
            st.cond_changes_in_flight = 0;
        }
    }
}

fn decode_changes(v1: bool, updates: &RawValue) -> Result<TableChanges, serde_json::Error> {
    Ok(if v1 {
        TableChanges::V1(serde_json::from_str(updates.get())?)
    } else {
        TableChanges::V2(serde_json::from_str(updates.get())?)
    })
}
