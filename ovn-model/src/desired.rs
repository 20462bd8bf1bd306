//! Desired state as rows: what the reconciler converges OVN_Northbound to.
//!
//! The logical-network model ([`crate::network`]) realises each element as a [`Group`] of
//! [`DesiredRow`]s. A group is the unit of atomicity: it is written in one transaction (a
//! port's insert with its switch's `ports` mutate; a policy's port group, address sets and
//! ACLs). Rows refer to each other by [`RowKey`], never by UUID: the reconciler resolves a key to
//! the UUID of the existing row, or to a named UUID when the row is inserted in the same
//! transaction.
//!
//! Every row the reconciler writes carries three `external_ids`: [`OWNER`] (who owns it),
//! [`KEY`] (its identity, stable across restarts) and [`GROUP`] (the element it realises).
//! Rows without our owner value are never modified or deleted.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb_client::Datum;

/// `external_ids` key naming the owner of a row.
pub const OWNER: &str = "ovn-model/owner";
/// `external_ids` key holding a row's identity ([`RowKey::key`]).
pub const KEY: &str = "ovn-model/key";
/// `external_ids` key naming the group (model element) a row belongs to.
pub const GROUP: &str = "ovn-model/group";

/// The identity of a desired row: its table and a key unique within the table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    /// The NB table.
    pub table: &'static str,
    /// The key, stored in `external_ids:ovn-model/key`.
    pub key: String,
}

impl RowKey {
    /// A key in a table.
    pub fn new(table: &'static str, key: impl Into<String>) -> Self {
        RowKey {
            table,
            key: key.into(),
        }
    }
}

/// The desired value of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A literal value.
    Value(Datum),
    /// A set of references to other desired rows (resolved to UUIDs); an optional reference
    /// is a set of at most one.
    Refs(Vec<RowKey>),
}

impl From<Datum> for Cell {
    fn from(d: Datum) -> Self {
        Cell::Value(d)
    }
}

/// One row the model wants in NB.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRow {
    /// Identity.
    pub key: RowKey,
    /// Columns written whole with `update` when they differ (`external_ids` gets the ownership
    /// keys added).
    pub columns: BTreeMap<&'static str, Cell>,
    /// Membership columns (`addresses`, `ports` of a port group, `vips`, `load_balancer`):
    /// changed only with `mutate` insert/delete of the elements that differ, so concurrent
    /// writers' changes to other elements survive.
    pub members: BTreeMap<&'static str, Cell>,
    /// For rows of non-root tables: the parent row and its column that must reference this
    /// row (for example a Logical_Switch's `ports`). The reference is added with `mutate` in
    /// the transaction that inserts the row, and removed to delete it.
    pub parent: Option<(RowKey, &'static str)>,
    /// Other rows whose column must reference this (root) row, for example the switches a
    /// load balancer is attached to. Each reference is added with `mutate` when missing; the
    /// referencing rows may belong to other groups, and their other members are left alone.
    pub attach: Vec<(RowKey, &'static str)>,
}

impl DesiredRow {
    /// A row with no columns yet.
    pub fn new(table: &'static str, key: impl Into<String>) -> Self {
        DesiredRow {
            key: RowKey::new(table, key),
            columns: BTreeMap::new(),
            members: BTreeMap::new(),
            parent: None,
            attach: Vec::new(),
        }
    }

    /// Sets a plain column.
    pub fn col(mut self, column: &'static str, value: impl Into<Cell>) -> Self {
        self.columns.insert(column, value.into());
        self
    }

    /// Sets a membership column.
    pub fn member(mut self, column: &'static str, value: impl Into<Cell>) -> Self {
        self.members.insert(column, value.into());
        self
    }

    /// Adds a row whose `column` must reference this row.
    pub fn attached_to(mut self, target: RowKey, column: &'static str) -> Self {
        self.attach.push((target, column));
        self
    }

    /// Names the parent that references this row.
    pub fn child_of(mut self, parent: RowKey, column: &'static str) -> Self {
        self.parent = Some((parent, column));
        self
    }
}

/// The rows realising one model element, written atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The group's id, e.g. `pod/default/web-1`; stored in `external_ids:ovn-model/group`.
    pub id: String,
    /// Groups of lower phase are written first, so that references to them resolve
    /// (routers before switches before ports before policies).
    pub phase: u8,
    /// The rows.
    pub rows: Vec<DesiredRow>,
}

/// The whole desired state: groups by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredState {
    /// Groups by id.
    pub groups: BTreeMap<String, Group>,
    /// Groups to leave exactly as NB has them, neither written nor removed: their element is
    /// known to exist but cannot be read now (a manifest that does not decode), so its rows
    /// stay as the last pass that could read it wrote them.
    pub held: BTreeSet<String>,
}

impl DesiredState {
    /// Adds (or replaces) a group.
    pub fn insert(&mut self, group: Group) {
        self.groups.insert(group.id.clone(), group);
    }

    /// Marks groups as held (see [`DesiredState::held`]); a held group's desired rows, if
    /// any, are dropped.
    pub fn hold(&mut self, groups: impl IntoIterator<Item = String>) {
        for g in groups {
            self.groups.remove(&g);
            self.held.insert(g);
        }
    }

    /// Number of rows in all groups.
    pub fn row_count(&self) -> usize {
        self.groups.values().map(|g| g.rows.len()).sum()
    }
}
