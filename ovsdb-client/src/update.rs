//! Monitor requests and the updates they produce: `update` (RFC 7047 section 4.1.6),
//! `update2` and `update3` (ovsdb-server(7)).

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::atom::Uuid;
use crate::operation::{Condition, Row};

/// Which kinds of change a monitor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorSelect {
    /// Report the rows present when the monitor starts.
    pub initial: bool,
    /// Report inserted rows.
    pub insert: bool,
    /// Report deleted rows.
    pub delete: bool,
    /// Report modified rows.
    pub modify: bool,
}

impl Default for MonitorSelect {
    fn default() -> Self {
        MonitorSelect {
            initial: true,
            insert: true,
            delete: true,
            modify: true,
        }
    }
}

/// What to monitor in one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorRequest {
    /// Columns to report; all when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Conditions on rows (monitor_cond only); all rows when `None`.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Which changes to report; all when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<MonitorSelect>,
}

impl MonitorRequest {
    /// Every column, every row, every kind of change.
    pub fn all() -> Self {
        MonitorRequest::default()
    }

    /// These columns only.
    pub fn columns(columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        MonitorRequest {
            columns: Some(columns.into_iter().map(Into::into).collect()),
            ..Default::default()
        }
    }
}

/// Monitor requests by table name.
pub type MonitorRequests = BTreeMap<String, MonitorRequest>;

/// A change to one row in an `update` notification (monitor v1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowUpdate {
    /// The old values of the changed columns (absent on insert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Row>,
    /// The new values of all monitored columns (absent on delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Row>,
}

/// A change to one row in an `update2`/`update3` notification.
#[derive(Debug, Clone, PartialEq)]
pub enum RowUpdate2 {
    /// A row present when the monitor started; default-valued columns are omitted.
    Initial(Row),
    /// A newly inserted row; default-valued columns are omitted.
    Insert(Row),
    /// The changed columns, each as a diff (see [`crate::Datum::apply_diff`]).
    Modify(Row),
    /// The row was deleted.
    Delete,
}

impl Serialize for RowUpdate2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            RowUpdate2::Initial(r) => m.serialize_entry("initial", r)?,
            RowUpdate2::Insert(r) => m.serialize_entry("insert", r)?,
            RowUpdate2::Modify(r) => m.serialize_entry("modify", r)?,
            RowUpdate2::Delete => m.serialize_entry("delete", &())?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for RowUpdate2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RowUpdate2;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with one of initial, insert, modify or delete")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RowUpdate2, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty row update"))?;
                let out = match key.as_str() {
                    "initial" => RowUpdate2::Initial(map.next_value()?),
                    "insert" => RowUpdate2::Insert(map.next_value()?),
                    "modify" => RowUpdate2::Modify(map.next_value()?),
                    "delete" => {
                        map.next_value::<de::IgnoredAny>()?;
                        RowUpdate2::Delete
                    }
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown row update kind {other:?}"
                        )));
                    }
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("row update with more than one kind"));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// Updates by table, then by row UUID.
pub type TableUpdates<U> = BTreeMap<String, BTreeMap<Uuid, U>>;

/// The payload of an `update` notification or a `monitor` reply.
pub type TableUpdates1 = TableUpdates<RowUpdate>;

/// The payload of an `update2`/`update3` notification or a `monitor_cond(_since)` reply.
pub type TableUpdates2 = TableUpdates<RowUpdate2>;

/// The reply to `monitor_cond_since`: `[found, last_txn_id, updates]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MonitorCondSinceReply {
    /// Whether the server could resume from the requested transaction.
    pub found: bool,
    /// The id of the last transaction the updates include.
    pub last_txn_id: Uuid,
    /// The changes since then (or, when not found, everything).
    pub updates: TableUpdates2,
}

#[cfg(test)]
#[path = "update/tests.rs"]
mod tests;
