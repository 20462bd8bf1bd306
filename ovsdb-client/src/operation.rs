//! The ten `transact` operations, their conditions and mutations, and their results
//! (RFC 7047 section 5.2).

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::atom::Uuid;
use crate::datum::Datum;
use crate::error::{Error, ServerError};

/// A row as sent or received in operations: column name to value.
pub type Row = BTreeMap<String, Datum>;

/// A comparison function of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Function {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `includes`: the column contains every element of the value.
    #[serde(rename = "includes")]
    Includes,
    /// `excludes`: the column contains no element of the value.
    #[serde(rename = "excludes")]
    Excludes,
}

/// A condition `[column, function, value]`, or a constant `true`/`false` (monitor_cond).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Compares a column with a value.
    Compare {
        /// The column (`_uuid` allowed).
        column: String,
        /// The comparison.
        function: Function,
        /// The value compared against.
        value: Datum,
    },
    /// A constant, allowed in monitor_cond conditions.
    Constant(bool),
}

impl Condition {
    /// `[column, function, value]`.
    pub fn new(column: impl Into<String>, function: Function, value: impl Into<Datum>) -> Self {
        Condition::Compare {
            column: column.into(),
            function,
            value: value.into(),
        }
    }

    /// `column == value`.
    pub fn eq(column: impl Into<String>, value: impl Into<Datum>) -> Self {
        Self::new(column, Function::Eq, value)
    }

    /// `_uuid == uuid`.
    pub fn uuid(uuid: Uuid) -> Self {
        Self::new("_uuid", Function::Eq, Datum::scalar(uuid))
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Condition::Compare {
                column,
                function,
                value,
            } => (column, function, value).serialize(s),
            Condition::Constant(b) => b.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Const(bool),
            Cmp(String, Function, Datum),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::Const(b) => Condition::Constant(b),
            Repr::Cmp(column, function, value) => Condition::Compare {
                column,
                function,
                value,
            },
        })
    }
}

/// A mutator of a `mutate` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mutator {
    /// `+=`
    #[serde(rename = "+=")]
    Add,
    /// `-=`
    #[serde(rename = "-=")]
    Sub,
    /// `*=`
    #[serde(rename = "*=")]
    Mul,
    /// `/=`
    #[serde(rename = "/=")]
    Div,
    /// `%=`
    #[serde(rename = "%=")]
    Mod,
    /// `insert`: adds set elements or map pairs (existing map keys are left alone).
    #[serde(rename = "insert")]
    Insert,
    /// `delete`: removes set elements, map pairs, or (with a set of keys) map keys.
    #[serde(rename = "delete")]
    Delete,
}

/// A mutation `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mutation {
    /// The mutated column.
    pub column: String,
    /// How it is mutated.
    pub mutator: Mutator,
    /// The operand.
    pub value: Datum,
}

impl Mutation {
    /// `[column, mutator, value]`.
    pub fn new(column: impl Into<String>, mutator: Mutator, value: impl Into<Datum>) -> Self {
        Mutation {
            column: column.into(),
            mutator,
            value: value.into(),
        }
    }
}

/// `until` of a `wait` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitUntil {
    /// Wait until the selected rows equal `rows`.
    #[serde(rename = "==")]
    Equal,
    /// Wait until they differ.
    #[serde(rename = "!=")]
    NotEqual,
}

/// One operation of a `transact` request.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Inserts a row.
    Insert {
        /// Table.
        table: String,
        /// Column values; omitted columns get their defaults.
        row: Row,
        /// A name other operations of the transaction use to refer to the new row.
        uuid_name: Option<String>,
        /// A UUID the client chooses for the row (ovsdb-server extension).
        uuid: Option<Uuid>,
    },
    /// Selects rows.
    Select {
        /// Table.
        table: String,
        /// Conditions, all of which must hold.
        conditions: Vec<Condition>,
        /// Columns to return; all when `None`.
        columns: Option<Vec<String>>,
    },
    /// Sets columns of the matching rows.
    Update {
        /// Table.
        table: String,
        /// Conditions.
        conditions: Vec<Condition>,
        /// New column values.
        row: Row,
    },
    /// Mutates columns of the matching rows.
    Mutate {
        /// Table.
        table: String,
        /// Conditions.
        conditions: Vec<Condition>,
        /// Mutations, applied in order.
        mutations: Vec<Mutation>,
    },
    /// Deletes the matching rows.
    Delete {
        /// Table.
        table: String,
        /// Conditions.
        conditions: Vec<Condition>,
    },
    /// Waits until the selected rows are (or are not) `rows`.
    Wait {
        /// Table.
        table: String,
        /// Conditions selecting the rows.
        conditions: Vec<Condition>,
        /// The columns compared.
        columns: Vec<String>,
        /// `==` or `!=`.
        until: WaitUntil,
        /// The expected rows.
        rows: Vec<Row>,
        /// Milliseconds to wait; `Some(0)` fails at once when the condition does not hold.
        timeout: Option<u64>,
    },
    /// Requests a durable commit.
    Commit {
        /// Whether the commit must reach disk.
        durable: bool,
    },
    /// Aborts the transaction.
    Abort,
    /// Adds a comment to the transaction log.
    Comment {
        /// The comment.
        comment: String,
    },
    /// Asserts that the client holds a lock.
    Assert {
        /// The lock's name.
        lock: String,
    },
}

impl Operation {
    /// The operation's `op` name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Insert { .. } => "insert",
            Operation::Select { .. } => "select",
            Operation::Update { .. } => "update",
            Operation::Mutate { .. } => "mutate",
            Operation::Delete { .. } => "delete",
            Operation::Wait { .. } => "wait",
            Operation::Commit { .. } => "commit",
            Operation::Abort => "abort",
            Operation::Comment { .. } => "comment",
            Operation::Assert { .. } => "assert",
        }
    }

    /// `insert` into `table`.
    pub fn insert(table: impl Into<String>, row: Row) -> Self {
        Operation::Insert {
            table: table.into(),
            row,
            uuid_name: None,
            uuid: None,
        }
    }

    /// `insert` with a `uuid-name` for references within the transaction.
    pub fn insert_named(table: impl Into<String>, row: Row, uuid_name: impl Into<String>) -> Self {
        Operation::Insert {
            table: table.into(),
            row,
            uuid_name: Some(uuid_name.into()),
            uuid: None,
        }
    }

    /// `select` of all columns.
    pub fn select(table: impl Into<String>, conditions: Vec<Condition>) -> Self {
        Operation::Select {
            table: table.into(),
            conditions,
            columns: None,
        }
    }

    /// `update`.
    pub fn update(table: impl Into<String>, conditions: Vec<Condition>, row: Row) -> Self {
        Operation::Update {
            table: table.into(),
            conditions,
            row,
        }
    }

    /// `mutate`.
    pub fn mutate(
        table: impl Into<String>,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    ) -> Self {
        Operation::Mutate {
            table: table.into(),
            conditions,
            mutations,
        }
    }

    /// `delete`.
    pub fn delete(table: impl Into<String>, conditions: Vec<Condition>) -> Self {
        Operation::Delete {
            table: table.into(),
            conditions,
        }
    }
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("op", self.name())?;
        match self {
            Operation::Insert {
                table,
                row,
                uuid_name,
                uuid,
            } => {
                m.serialize_entry("table", table)?;
                m.serialize_entry("row", row)?;
                if let Some(n) = uuid_name {
                    m.serialize_entry("uuid-name", n)?;
                }
                if let Some(u) = uuid {
                    m.serialize_entry("uuid", &u.hyphenated().to_string())?;
                }
            }
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                m.serialize_entry("table", table)?;
                m.serialize_entry("where", conditions)?;
                if let Some(c) = columns {
                    m.serialize_entry("columns", c)?;
                }
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => {
                m.serialize_entry("table", table)?;
                m.serialize_entry("where", conditions)?;
                m.serialize_entry("row", row)?;
            }
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => {
                m.serialize_entry("table", table)?;
                m.serialize_entry("where", conditions)?;
                let muts: Vec<(&String, &Mutator, &Datum)> = mutations
                    .iter()
                    .map(|x| (&x.column, &x.mutator, &x.value))
                    .collect();
                m.serialize_entry("mutations", &muts)?;
            }
            Operation::Delete { table, conditions } => {
                m.serialize_entry("table", table)?;
                m.serialize_entry("where", conditions)?;
            }
            Operation::Wait {
                table,
                conditions,
                columns,
                until,
                rows,
                timeout,
            } => {
                m.serialize_entry("table", table)?;
                m.serialize_entry("where", conditions)?;
                m.serialize_entry("columns", columns)?;
                m.serialize_entry("until", until)?;
                m.serialize_entry("rows", rows)?;
                if let Some(t) = timeout {
                    m.serialize_entry("timeout", t)?;
                }
            }
            Operation::Commit { durable } => m.serialize_entry("durable", durable)?,
            Operation::Abort => {}
            Operation::Comment { comment } => m.serialize_entry("comment", comment)?,
            Operation::Assert { lock } => m.serialize_entry("lock", lock)?,
        }
        m.end()
    }
}

/// The result of one operation. Which fields are present depends on the operation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct OperationResult {
    /// The UUID of an inserted row.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_uuid")]
    pub uuid: Option<Uuid>,
    /// Rows matched by update, mutate or delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Rows returned by select.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<Row>>,
    /// The error tag, when the operation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Details of the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

mod opt_uuid {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::atom::{Atom, Uuid};

    pub fn serialize<S: Serializer>(u: &Option<Uuid>, s: S) -> Result<S::Ok, S::Error> {
        u.map(Atom::Uuid).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
        match Option::<Atom>::deserialize(d)? {
            None => Ok(None),
            Some(Atom::Uuid(u)) => Ok(Some(u)),
            Some(other) => Err(serde::de::Error::custom(format!(
                "expected a UUID, found {other}"
            ))),
        }
    }
}

/// The reply to `transact`: one entry per operation (`None` for operations not executed after
/// an earlier failure), plus possibly one more error entry for a failed commit.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct TransactReply(pub Vec<Option<OperationResult>>);

impl TransactReply {
    /// The first error in the reply, with the index of the operation that failed.
    pub fn first_error(&self) -> Option<(usize, ServerError)> {
        self.0.iter().enumerate().find_map(|(i, r)| {
            let r = r.as_ref()?;
            let error = r.error.clone()?;
            Some((
                i,
                ServerError {
                    error,
                    details: r.details.clone(),
                },
            ))
        })
    }

    /// The per-operation results if every operation succeeded, else the first failure.
    pub fn into_result(self) -> Result<Vec<OperationResult>, Error> {
        if let Some((index, error)) = self.first_error() {
            return Err(Error::OperationFailed { index, error });
        }
        Ok(self.0.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
#[path = "operation/tests.rs"]
mod tests;
