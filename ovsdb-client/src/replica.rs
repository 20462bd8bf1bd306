//! The replica: an in-memory copy of monitored tables, kept current by monitor updates.
//!
//! Rows are stored compactly: one [`Datum`] per schema column, in schema order, with no column
//! names repeated per row. Updates are decoded straight from the JSON text into that form
//! ([`Replica::apply_update2_json`]), never through a generic JSON tree: a parsed tree is many
//! times the size of its text, and a cold sync of a large database is the hot path.
//!
//! Every change returns [`Event`]s that tell inserts, modifications and deletions apart, with
//! the old and new row. Rows are shared (`Arc`), so events cost no copies. When a monitor has
//! to start over (a reconnect that cannot resume), [`Replica::replace_all`] swaps in the new
//! state and reports exactly the differences, so consumers never see a spurious delete and
//! re-insert.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::atom::{Atom, CowStr, Uuid};
use crate::datum::Datum;
use crate::error::{Error, InvalidMessage};
use crate::operation::Row;
use crate::schema::{ColumnType, DatabaseSchema, TableSchema};
use crate::update::{RowUpdate, RowUpdate2, TableUpdates1, TableUpdates2};

/// The column layout of one table: names and types in a fixed order.
#[derive(Debug)]
pub struct TableLayout {
    /// Table name.
    pub name: String,
    columns: Vec<(String, ColumnType)>,
    by_name: HashMap<String, usize>,
    defaults: Vec<Datum>,
}

impl TableLayout {
    /// Builds the layout of a schema table.
    pub fn new(name: &str, table: &TableSchema) -> Self {
        let columns: Vec<(String, ColumnType)> = table
            .columns
            .iter()
            .map(|(n, c)| (n.clone(), c.ty.clone()))
            .collect();
        let by_name = columns
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        let defaults = columns.iter().map(|(_, t)| Datum::default_for(t)).collect();
        TableLayout {
            name: name.to_owned(),
            columns,
            by_name,
            defaults,
        }
    }

    /// The position of a column.
    pub fn index_of(&self, column: &str) -> Option<usize> {
        self.by_name.get(column).copied()
    }

    /// Column names in layout order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(n, _)| n.as_str())
    }

    /// The type of the column at `index`.
    pub fn column_type(&self, index: usize) -> Option<&ColumnType> {
        self.columns.get(index).map(|(_, t)| t)
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True for a table without columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// One row of the replica.
#[derive(Clone)]
pub struct ReplicaRow {
    /// The row's UUID.
    pub uuid: Uuid,
    /// The row's `_version`, when the monitor requested it.
    pub version: Option<Uuid>,
    layout: Arc<TableLayout>,
    values: Box<[Datum]>,
}

impl ReplicaRow {
    /// The value of a column, `None` for a column the table does not have.
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.layout.index_of(column).map(|i| &self.values[i])
    }

    /// The value of the column at a layout position.
    pub fn get_index(&self, index: usize) -> Option<&Datum> {
        self.values.get(index)
    }

    /// The table's layout.
    pub fn layout(&self) -> &Arc<TableLayout> {
        &self.layout
    }

    /// All values, in layout order.
    pub fn values(&self) -> &[Datum] {
        &self.values
    }

    /// The row as a column-name map, omitting nothing.
    pub fn to_row(&self) -> Row {
        self.layout
            .column_names()
            .zip(self.values.iter())
            .map(|(n, v)| (n.to_owned(), v.clone()))
            .collect()
    }
}

impl PartialEq for ReplicaRow {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid && self.version == other.version && self.values == other.values
    }
}

impl fmt::Debug for ReplicaRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        m.entry(&"_uuid", &self.uuid.to_string());
        for (n, v) in self.layout.column_names().zip(self.values.iter()) {
            m.entry(&n, v);
        }
        m.finish()
    }
}

/// A change to the replica.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A row appeared.
    Insert {
        /// The new row.
        new: Arc<ReplicaRow>,
    },
    /// A row changed.
    Modify {
        /// The row before.
        old: Arc<ReplicaRow>,
        /// The row after.
        new: Arc<ReplicaRow>,
    },
    /// A row went away.
    Delete {
        /// The row as it was.
        old: Arc<ReplicaRow>,
    },
}

impl Event {
    /// The table the event concerns.
    pub fn table(&self) -> &str {
        match self {
            Event::Insert { new } | Event::Modify { new, .. } => &new.layout.name,
            Event::Delete { old } => &old.layout.name,
        }
    }

    /// The UUID of the row concerned.
    pub fn uuid(&self) -> Uuid {
        match self {
            Event::Insert { new } | Event::Modify { new, .. } => new.uuid,
            Event::Delete { old } => old.uuid,
        }
    }
}

/// A secondary index: the values of some columns to the rows that have them.
///
/// Rows are filed under a 64-bit hash of their key, not under a copy of it: copying the key
/// cost three allocations per row and hashing it with SipHash dominated loading a large table
/// (half of applying 100,000 Logical_Switch_Port rows). Keys that collide share a bucket, and
/// lookups compare the rows' values, so a collision costs a comparison, never a wrong answer.
#[derive(Debug)]
struct Index {
    columns: Vec<usize>,
    map: HashMap<u64, Bucket>,
}

/// The rows under one key hash; almost always a single row, kept without an allocation.
#[derive(Debug)]
enum Bucket {
    One(Uuid),
    Many(Vec<Uuid>),
}

impl Bucket {
    fn uuids(&self) -> &[Uuid] {
        match self {
            Bucket::One(u) => std::slice::from_ref(u),
            Bucket::Many(v) => v,
        }
    }
}

/// A fast, non-cryptographic hasher for index keys (FxHash's step, with a final mix so every
/// bit of the result depends on the input).
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        // murmur3's fmix64.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The index hash of a key given as the indexed columns' values, in index order.
fn key_hash<'a>(values: impl Iterator<Item = &'a Datum>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = KeyHasher::default();
    for v in values {
        v.hash(&mut h);
    }
    h.finish()
}

impl Index {
    fn new(columns: Vec<usize>) -> Self {
        Index {
            columns,
            map: HashMap::new(),
        }
    }

    fn hash_of(&self, row: &ReplicaRow) -> u64 {
        key_hash(self.columns.iter().map(|&i| &row.values[i]))
    }

    fn insert(&mut self, row: &ReplicaRow) {
        let h = self.hash_of(row);
        match self.map.entry(h) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Bucket::One(row.uuid));
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let b = e.get_mut();
                match b {
                    Bucket::One(u) => *b = Bucket::Many(vec![*u, row.uuid]),
                    Bucket::Many(v) => v.push(row.uuid),
                }
            }
        }
    }

    fn remove(&mut self, row: &ReplicaRow) {
        let h = self.hash_of(row);
        let empty = match self.map.get_mut(&h) {
            None => false,
            Some(Bucket::One(u)) => *u == row.uuid,
            Some(Bucket::Many(v)) => {
                v.retain(|u| *u != row.uuid);
                v.is_empty()
            }
        };
        if empty {
            self.map.remove(&h);
        }
    }

    /// The UUIDs filed under the hash of `values`; callers compare the rows' values.
    fn candidates(&self, values: &[Datum]) -> &[Uuid] {
        self.map
            .get(&key_hash(values.iter()))
            .map(Bucket::uuids)
            .unwrap_or(&[])
    }
}

/// The replica of one table.
#[derive(Debug)]
pub struct ReplicaTable {
    layout: Arc<TableLayout>,
    rows: HashMap<Uuid, Arc<ReplicaRow>>,
    indexes: Vec<Index>,
}

impl ReplicaTable {
    fn new(layout: Arc<TableLayout>) -> Self {
        ReplicaTable {
            layout,
            rows: HashMap::new(),
            indexes: Vec::new(),
        }
    }

    /// The table's layout.
    pub fn layout(&self) -> &Arc<TableLayout> {
        &self.layout
    }

    /// The row with that UUID.
    pub fn get(&self, uuid: &Uuid) -> Option<&Arc<ReplicaRow>> {
        self.rows.get(uuid)
    }

    /// All rows, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = &Arc<ReplicaRow>> {
        self.rows.values()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows whose `columns` equal `values`. Uses an index on exactly those columns when one
    /// exists ([`Replica::add_index`]), otherwise scans.
    pub fn find(&self, columns: &[&str], values: &[Datum]) -> Vec<Arc<ReplicaRow>> {
        let Some(idx) = columns
            .iter()
            .map(|c| self.layout.index_of(c))
            .collect::<Option<Vec<usize>>>()
        else {
            return Vec::new();
        };
        if idx.len() != values.len() {
            return Vec::new();
        }
        let matches =
            |r: &&Arc<ReplicaRow>| idx.iter().zip(values).all(|(&i, v)| &r.values[i] == v);
        if let Some(index) = self.indexes.iter().find(|i| i.columns == idx) {
            return index
                .candidates(values)
                .iter()
                .filter_map(|u| self.rows.get(u))
                .filter(matches)
                .cloned()
                .collect();
        }
        self.rows.values().filter(matches).cloned().collect()
    }

    /// The row whose single indexed column equals `value` (for example a switch by `name`).
    pub fn find_one(&self, column: &str, value: &Datum) -> Option<Arc<ReplicaRow>> {
        self.find(&[column], std::slice::from_ref(value))
            .into_iter()
            .next()
    }

    fn put(&mut self, row: Arc<ReplicaRow>) -> Option<Arc<ReplicaRow>> {
        let old = self.rows.insert(row.uuid, row.clone());
        for ix in &mut self.indexes {
            if let Some(o) = &old {
                ix.remove(o);
            }
            ix.insert(&row);
        }
        old
    }

    fn take(&mut self, uuid: &Uuid) -> Option<Arc<ReplicaRow>> {
        let old = self.rows.remove(uuid)?;
        for ix in &mut self.indexes {
            ix.remove(&old);
        }
        Some(old)
    }

    fn new_row(&self, uuid: Uuid) -> ReplicaRow {
        ReplicaRow {
            uuid,
            version: None,
            layout: self.layout.clone(),
            values: self.layout.defaults.clone().into_boxed_slice(),
        }
    }
}

/// A row change decoded against the schema: column positions and values.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// update2 `initial`/`insert` (and update v1 insert): the given columns, others default.
    Insert(Vec<(usize, Datum)>, Option<Uuid>),
    /// update2 `modify`: diffs of the given columns.
    ModifyDiff(Vec<(usize, Datum)>, Option<Uuid>),
    /// update v1 `modify`: new values of the given columns.
    ModifyNew(Vec<(usize, Datum)>, Option<Uuid>),
    /// The row was deleted.
    Delete,
}

/// Updates decoded against the schema: per table, per row.
pub type DecodedUpdates = Vec<(Arc<TableLayout>, Vec<(Uuid, Change)>)>;

/// An in-memory copy of the monitored tables of one database.
#[derive(Debug)]
pub struct Replica {
    schema: Arc<DatabaseSchema>,
    tables: BTreeMap<String, ReplicaTable>,
}

impl Replica {
    /// An empty replica of every table of the schema, with the schema's indexes.
    pub fn new(schema: Arc<DatabaseSchema>) -> Self {
        let mut tables = BTreeMap::new();
        for (name, t) in &schema.tables {
            let layout = Arc::new(TableLayout::new(name, t));
            let mut table = ReplicaTable::new(layout);
            for ix in &t.indexes {
                let cols: Option<Vec<usize>> =
                    ix.iter().map(|c| table.layout.index_of(c)).collect();
                if let Some(columns) = cols {
                    table.indexes.push(Index::new(columns));
                }
            }
            tables.insert(name.clone(), table);
        }
        Replica { schema, tables }
    }

    /// The schema.
    pub fn schema(&self) -> &Arc<DatabaseSchema> {
        &self.schema
    }

    /// One table's replica.
    pub fn table(&self, name: &str) -> Option<&ReplicaTable> {
        self.tables.get(name)
    }

    /// All tables by name.
    pub fn tables(&self) -> impl Iterator<Item = (&str, &ReplicaTable)> {
        self.tables.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// Total number of rows in all tables.
    pub fn row_count(&self) -> usize {
        self.tables.values().map(ReplicaTable::len).sum()
    }

    /// Adds an index on `columns` of `table` (kept current from now on).
    pub fn add_index(&mut self, table: &str, columns: &[&str]) -> Result<(), Error> {
        let t = self
            .tables
            .get_mut(table)
            .ok_or_else(|| Error::UnknownInSchema {
                what: "table",
                name: table.to_owned(),
            })?;
        let cols = columns
            .iter()
            .map(|c| {
                t.layout.index_of(c).ok_or_else(|| Error::UnknownInSchema {
                    what: "column",
                    name: format!("{table}.{c}"),
                })
            })
            .collect::<Result<Vec<usize>, Error>>()?;
        if t.indexes.iter().any(|i| i.columns == cols) {
            return Ok(());
        }
        let mut index = Index::new(cols);
        for r in t.rows.values() {
            index.insert(r);
        }
        t.indexes.push(index);
        Ok(())
    }

    /// Moves the replica to a new version of its schema (the server converted the database):
    /// rows keep their values by column name, columns the new schema adds start at their
    /// defaults, and indexes are kept where their columns still exist. Only rows of tables the
    /// new schema no longer has are reported, as deletes; the monitor's fresh initial contents
    /// then report the real differences through [`Replica::replace_all`].
    pub fn change_schema(&mut self, schema: Arc<DatabaseSchema>) -> Vec<Event> {
        let mut fresh = Replica::new(schema);
        let mut events = Vec::new();
        for (name, old_t) in std::mem::take(&mut self.tables) {
            let Some(new_t) = fresh.tables.get_mut(&name) else {
                events.extend(old_t.rows.into_values().map(|old| Event::Delete { old }));
                continue;
            };
            let layout = new_t.layout.clone();
            // The old position of every new column, if the old layout had it.
            let from: Vec<Option<usize>> = layout
                .column_names()
                .map(|c| old_t.layout.index_of(c))
                .collect();
            for ix in &old_t.indexes {
                let names: Option<Vec<usize>> = ix
                    .columns
                    .iter()
                    .map(|&i| {
                        let (n, _) = old_t.layout.columns.get(i)?;
                        layout.index_of(n)
                    })
                    .collect();
                if let Some(columns) = names
                    && !new_t.indexes.iter().any(|i| i.columns == columns)
                {
                    new_t.indexes.push(Index::new(columns));
                }
            }
            for (uuid, old) in old_t.rows {
                let values: Box<[Datum]> = from
                    .iter()
                    .enumerate()
                    .map(|(i, f)| match f {
                        Some(j) => old.values[*j].clone(),
                        None => layout.defaults[i].clone(),
                    })
                    .collect();
                let row = Arc::new(ReplicaRow {
                    uuid,
                    version: old.version,
                    layout: layout.clone(),
                    values,
                });
                for ix in &mut new_t.indexes {
                    ix.insert(&row);
                }
                new_t.rows.insert(uuid, row);
            }
        }
        *self = fresh;
        events
    }

    /// Removes every row, reporting a delete for each.
    pub fn clear(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        for t in self.tables.values_mut() {
            for (_, old) in t.rows.drain() {
                events.push(Event::Delete { old });
            }
            for ix in &mut t.indexes {
                ix.map.clear();
            }
        }
        events
    }

    /// Decodes an `update2`/`update3` table-updates JSON object against the schema.
    pub fn decode_update2(&self, json: &str) -> Result<DecodedUpdates, Error> {
        self.decode(json, false)
    }

    /// Decodes an `update` (monitor v1) table-updates JSON object against the schema.
    pub fn decode_update1(&self, json: &str) -> Result<DecodedUpdates, Error> {
        self.decode(json, true)
    }

    fn decode(&self, json: &str, v1: bool) -> Result<DecodedUpdates, Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        let out = UpdatesSeed { replica: self, v1 }
            .deserialize(&mut de)
            .map_err(InvalidMessage::from)?;
        de.end().map_err(InvalidMessage::from)?;
        Ok(out)
    }

    /// Applies an `update2`/`update3` table-updates object given as JSON text.
    pub fn apply_update2_json(&mut self, json: &str) -> Result<Vec<Event>, Error> {
        let decoded = self.decode_update2(json)?;
        Ok(self.apply(decoded))
    }

    /// Applies an `update` (v1) table-updates object given as JSON text.
    pub fn apply_update1_json(&mut self, json: &str) -> Result<Vec<Event>, Error> {
        let decoded = self.decode_update1(json)?;
        Ok(self.apply(decoded))
    }

    /// Applies already-parsed `update2` table updates.
    pub fn apply_update2(&mut self, updates: &TableUpdates2) -> Result<Vec<Event>, Error> {
        let mut decoded = DecodedUpdates::new();
        for (tname, rows) in updates {
            let layout = self.layout(tname)?;
            let mut changes = Vec::with_capacity(rows.len());
            for (uuid, u) in rows {
                let change = match u {
                    RowUpdate2::Initial(r) | RowUpdate2::Insert(r) => {
                        let (cols, v) = columns_of(&layout, r)?;
                        Change::Insert(cols, v)
                    }
                    RowUpdate2::Modify(r) => {
                        let (cols, v) = columns_of(&layout, r)?;
                        Change::ModifyDiff(cols, v)
                    }
                    RowUpdate2::Delete => Change::Delete,
                };
                changes.push((*uuid, change));
            }
            decoded.push((layout, changes));
        }
        Ok(self.apply(decoded))
    }

    /// Applies already-parsed `update` (v1) table updates.
    pub fn apply_update1(&mut self, updates: &TableUpdates1) -> Result<Vec<Event>, Error> {
        let mut decoded = DecodedUpdates::new();
        for (tname, rows) in updates {
            let layout = self.layout(tname)?;
            let mut changes = Vec::with_capacity(rows.len());
            for (uuid, RowUpdate { old, new }) in rows {
                let change = match (old, new) {
                    (_, None) => Change::Delete,
                    (None, Some(n)) => {
                        let (cols, v) = columns_of(&layout, n)?;
                        Change::Insert(cols, v)
                    }
                    (Some(_), Some(n)) => {
                        let (cols, v) = columns_of(&layout, n)?;
                        Change::ModifyNew(cols, v)
                    }
                };
                changes.push((*uuid, change));
            }
            decoded.push((layout, changes));
        }
        Ok(self.apply(decoded))
    }

    fn layout(&self, table: &str) -> Result<Arc<TableLayout>, Error> {
        self.tables
            .get(table)
            .map(|t| t.layout.clone())
            .ok_or_else(|| Error::UnknownInSchema {
                what: "table",
                name: table.to_owned(),
            })
    }

    /// Applies decoded changes and reports what changed.
    ///
    /// An insert of a row that exists replaces it (reported as a modify when it differs), a
    /// modify of an unknown row inserts it from defaults, a delete of an unknown row is ignored:
    /// the replica converges to the server's state whatever the order of surprises.
    pub fn apply(&mut self, updates: DecodedUpdates) -> Vec<Event> {
        let mut events = Vec::new();
        for (layout, changes) in updates {
            let Some(table) = self.tables.get_mut(&layout.name) else {
                continue;
            };
            events.reserve(changes.len());
            for (uuid, change) in changes {
                apply_change(table, uuid, change, &mut events);
            }
        }
        events
    }

    /// Replaces the whole content with a fresh initial state (a monitor that could not resume),
    /// reporting only what differs between the old content and the new.
    pub fn replace_all(&mut self, initial: DecodedUpdates) -> Vec<Event> {
        let mut fresh = Replica {
            schema: self.schema.clone(),
            tables: self
                .tables
                .iter()
                .map(|(n, t)| {
                    let mut nt = ReplicaTable::new(t.layout.clone());
                    nt.indexes = t
                        .indexes
                        .iter()
                        .map(|i| Index::new(i.columns.clone()))
                        .collect();
                    (n.clone(), nt)
                })
                .collect(),
        };
        fresh.apply(initial);
        let mut events = Vec::new();
        for (name, new_t) in &fresh.tables {
            let Some(old_t) = self.tables.get(name) else {
                continue;
            };
            for (uuid, old) in &old_t.rows {
                match new_t.rows.get(uuid) {
                    None => events.push(Event::Delete { old: old.clone() }),
                    Some(new) if new.values != old.values || new.version != old.version => events
                        .push(Event::Modify {
                            old: old.clone(),
                            new: new.clone(),
                        }),
                    Some(_) => {}
                }
            }
            for (uuid, new) in &new_t.rows {
                if !old_t.rows.contains_key(uuid) {
                    events.push(Event::Insert { new: new.clone() });
                }
            }
        }
        *self = fresh;
        events
    }

    /// The whole content as plain rows, by table and UUID: for comparisons and dumps.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<Uuid, Row>> {
        self.tables
            .iter()
            .filter(|(_, t)| !t.rows.is_empty())
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.rows.iter().map(|(u, r)| (*u, r.to_row())).collect(),
                )
            })
            .collect()
    }
}

/// Column positions with their values, plus the `_version` when present.
type DecodedRow = (Vec<(usize, Datum)>, Option<Uuid>);

fn columns_of(layout: &TableLayout, row: &Row) -> Result<DecodedRow, Error> {
    let mut out = Vec::with_capacity(row.len());
    let mut version = None;
    for (name, value) in row {
        if name == "_version" {
            version = value.as_scalar().and_then(Atom::as_uuid);
            continue;
        }
        if name == "_uuid" {
            continue;
        }
        let i = layout
            .index_of(name)
            .ok_or_else(|| Error::UnknownInSchema {
                what: "column",
                name: format!("{}.{name}", layout.name),
            })?;
        out.push((i, value.clone().coerce(&layout.columns[i].1)));
    }
    Ok((out, version))
}

fn apply_change(table: &mut ReplicaTable, uuid: Uuid, change: Change, events: &mut Vec<Event>) {
    match change {
        Change::Delete => {
            if let Some(old) = table.take(&uuid) {
                events.push(Event::Delete { old });
            }
        }
        Change::Insert(cols, version) => {
            let mut row = table.new_row(uuid);
            row.version = version;
            for (i, v) in cols {
                row.values[i] = v;
            }
            let new = Arc::new(row);
            match table.put(new.clone()) {
                None => events.push(Event::Insert { new }),
                Some(old) if *old != *new => events.push(Event::Modify { old, new }),
                Some(_) => {}
            }
        }
        Change::ModifyDiff(cols, version) => modify(table, uuid, cols, version, true, events),
        Change::ModifyNew(cols, version) => modify(table, uuid, cols, version, false, events),
    }
}

/// Applies a modify: each given column becomes the value (`diffs` false) or the old value
/// with the update2 diff applied (`diffs` true). An unknown row starts from defaults.
fn modify(
    table: &mut ReplicaTable,
    uuid: Uuid,
    cols: Vec<(usize, Datum)>,
    version: Option<Uuid>,
    diffs: bool,
    events: &mut Vec<Event>,
) {
    let old = table.rows.get(&uuid).cloned();
    let mut row = match &old {
        Some(o) => (**o).clone(),
        None => table.new_row(uuid),
    };
    for (i, v) in cols {
        row.values[i] = if diffs {
            row.values[i].apply_diff(&v, &row.layout.columns[i].1)
        } else {
            v
        };
    }
    if version.is_some() {
        row.version = version;
    }
    let new = Arc::new(row);
    table.put(new.clone());
    match old {
        None => events.push(Event::Insert { new }),
        Some(old) if *old != *new => events.push(Event::Modify { old, new }),
        Some(_) => {}
    }
}

// ---- Decoding table updates straight from JSON against the schema ----

struct UpdatesSeed<'a> {
    replica: &'a Replica,
    v1: bool,
}

impl<'de> DeserializeSeed<'de> for UpdatesSeed<'_> {
    type Value = DecodedUpdates;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UpdatesSeed<'_> {
    type Value = DecodedUpdates;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of table updates")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = DecodedUpdates::new();
        while let Some(tname) = map.next_key::<CowStr<'de>>()? {
            let table =
                self.replica.tables.get(&*tname).ok_or_else(|| {
                    de::Error::custom(format!("update for unknown table {tname:?}"))
                })?;
            let rows = map.next_value_seed(TableSeed {
                layout: &table.layout,
                v1: self.v1,
            })?;
            out.push((table.layout.clone(), rows));
        }
        Ok(out)
    }
}

struct TableSeed<'a> {
    layout: &'a Arc<TableLayout>,
    v1: bool,
}

impl<'de> DeserializeSeed<'de> for TableSeed<'_> {
    type Value = Vec<(Uuid, Change)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TableSeed<'_> {
    type Value = Vec<(Uuid, Change)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of row updates keyed by UUID")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let uuid = Uuid::parse_str(&key).map_err(|_| {
                de::Error::custom(format!(
                    "row key {key:?} in table {} is not a UUID",
                    self.layout.name
                ))
            })?;
            let change = if self.v1 {
                map.next_value_seed(RowUpdate1Seed {
                    layout: self.layout,
                })?
            } else {
                map.next_value_seed(RowUpdate2Seed {
                    layout: self.layout,
                })?
            };
            out.push((uuid, change));
        }
        Ok(out)
    }
}

struct RowUpdate2Seed<'a> {
    layout: &'a TableLayout,
}

impl<'de> DeserializeSeed<'de> for RowUpdate2Seed<'_> {
    type Value = Change;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowUpdate2Seed<'_> {
    type Value = Change;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row update with initial, insert, modify or delete")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Change, A::Error> {
        let kind = map
            .next_key::<CowStr<'de>>()?
            .ok_or_else(|| de::Error::custom("empty row update"))?;
        let change = match &*kind {
            "initial" | "insert" => {
                let (cols, v) = map.next_value_seed(RowSeed {
                    layout: self.layout,
                })?;
                Change::Insert(cols, v)
            }
            "modify" => {
                let (cols, v) = map.next_value_seed(RowSeed {
                    layout: self.layout,
                })?;
                Change::ModifyDiff(cols, v)
            }
            "delete" => {
                map.next_value::<de::IgnoredAny>()?;
                Change::Delete
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
        Ok(change)
    }
}

struct RowUpdate1Seed<'a> {
    layout: &'a TableLayout,
}

impl<'de> DeserializeSeed<'de> for RowUpdate1Seed<'_> {
    type Value = Change;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowUpdate1Seed<'_> {
    type Value = Change;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row update with old and/or new")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Change, A::Error> {
        let mut had_old = false;
        let mut new = None;
        while let Some(k) = map.next_key::<CowStr<'de>>()? {
            match &*k {
                "old" => {
                    map.next_value::<de::IgnoredAny>()?;
                    had_old = true;
                }
                "new" => {
                    new = Some(map.next_value_seed(RowSeed {
                        layout: self.layout,
                    })?)
                }
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown member {other:?} in row update"
                    )));
                }
            }
        }
        Ok(match (had_old, new) {
            (_, None) => Change::Delete,
            (false, Some((cols, v))) => Change::Insert(cols, v),
            (true, Some((cols, v))) => Change::ModifyNew(cols, v),
        })
    }
}

struct RowSeed<'a> {
    layout: &'a TableLayout,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = DecodedRow;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = DecodedRow;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cols = Vec::with_capacity(map.size_hint().unwrap_or(4));
        let mut version = None;
        while let Some(name) = map.next_key::<CowStr<'de>>()? {
            match &*name {
                "_version" => {
                    let d: Datum = map.next_value()?;
                    version = d.as_scalar().and_then(Atom::as_uuid);
                }
                "_uuid" => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                _ => {
                    let i = self.layout.index_of(&name).ok_or_else(|| {
                        de::Error::custom(format!("unknown column {}.{name}", self.layout.name))
                    })?;
                    let d: Datum = map.next_value()?;
                    let ty = &self.layout.columns[i].1;
                    let d = d.coerce(ty);
                    cols.push((i, d));
                }
            }
        }
        Ok((cols, version))
    }
}

#[cfg(test)]
#[path = "replica/tests.rs"]
mod tests;
