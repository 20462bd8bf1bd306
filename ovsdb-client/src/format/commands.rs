//! What `ovsdb-client`'s commands print, built from what a server sent: `get-schema`,
//! `list-tables`, `dump` and `monitor` (the `update` form).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::atom::{Atom, AtomicType, Uuid};
use crate::datum::Datum;
use crate::format::json::OvsJson;
use crate::format::shash::shash_order;
use crate::format::table::{Cell, Table};
use crate::operation::Row;
use crate::schema::ColumnType;
use crate::update::RowUpdate;

/// The type of the `_uuid` and `_version` columns, which schemas do not list.
pub fn uuid_column_type() -> ColumnType {
    ColumnType::scalar(AtomicType::Uuid)
}

/// `get-schema`: the schema JSON as `ovsdb_schema_to_json` rebuilds it from the server's,
/// which is the server's JSON with reals in base-type constraints (`minReal`, `maxReal`, real
/// `enum`s) kept as reals.
pub fn schema_json(schema: &Value) -> OvsJson {
    let mut json = OvsJson::from_wire(schema);
    restore_real_constraints(&mut json, schema);
    json
}

/// Walks the schema JSON alongside the serde value; wherever an object is a base type of
/// type `real`, its constraint numbers are reals as the schema holds them.
fn restore_real_constraints(json: &mut OvsJson, raw: &Value) {
    match (json, raw) {
        (OvsJson::Object(members), Value::Object(raw_members)) => {
            let real_base = raw_members.get("type") == Some(&Value::String("real".into()));
            for (name, member) in members.iter_mut() {
                let Some(raw_member) = raw_members.get(name) else {
                    continue;
                };
                if real_base && matches!(name.as_str(), "minReal" | "maxReal" | "enum") {
                    *member = reals_of(raw_member);
                } else {
                    restore_real_constraints(member, raw_member);
                }
            }
        }
        (OvsJson::Array(items), Value::Array(raw_items)) => {
            for (item, raw_item) in items.iter_mut().zip(raw_items) {
                restore_real_constraints(item, raw_item);
            }
        }
        _ => {}
    }
}

/// Every number in `raw` as an [`OvsJson::Real`], the rest as received.
fn reals_of(raw: &Value) -> OvsJson {
    match raw {
        Value::Number(n) => OvsJson::Real(n.as_f64().unwrap_or(0.0)),
        Value::Array(a) => OvsJson::Array(a.iter().map(reals_of).collect()),
        other => OvsJson::from_wire(other),
    }
}

/// The names of a schema's tables in the order the server sent them, from the raw text of a
/// `get_schema` reply.
pub fn table_names_in_wire_order(schema_text: &str) -> Result<Vec<String>, serde_json::Error> {
    #[derive(Deserialize)]
    struct SchemaTables {
        tables: KeysInOrder,
    }
    let parsed: SchemaTables = serde_json::from_str(schema_text)?;
    Ok(parsed.tables.0)
}

struct KeysInOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeysInOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeysInOrder;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeysInOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(KeysInOrder(keys))
            }
        }
        d.deserialize_map(V)
    }
}

/// `list-tables`: one `Table` column, the tables in the order OVS's shash iterates them.
pub fn list_tables_table(wire_order: &[String]) -> Table {
    let mut t = Table::new(["Table"]);
    for name in shash_order(wire_order.iter().map(String::as_str)) {
        t.rows.push(vec![Cell::Text(name.to_owned())]);
    }
    t
}

/// What is wrong with a server's `select` reply for `dump`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row} in table {table} response lacks {column} column")]
pub struct MissingColumn {
    /// The table.
    pub table: String,
    /// The row's position in the reply.
    pub row: usize,
    /// The column it lacks.
    pub column: String,
}

/// `dump`: one table's rows as `ovsdb-client dump` prints them. `columns` are the columns
/// selected (with `_uuid`, without `_version`); they are printed sorted by name, and the rows
/// sorted by their values, UUID columns last, as the C tool does for reproducible output.
pub fn dump_table(
    table: &str,
    columns: &[(String, ColumnType)],
    rows: &[Row],
) -> Result<Table, MissingColumn> {
    let mut columns: Vec<&(String, ColumnType)> =
        columns.iter().filter(|(n, _)| n != "_version").collect();
    columns.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut data = Vec::with_capacity(rows.len());
    for (y, row) in rows.iter().enumerate() {
        let mut values = Vec::with_capacity(columns.len());
        for (name, ty) in &columns {
            let value = row.get(name).ok_or_else(|| MissingColumn {
                table: table.to_owned(),
                row: y,
                column: name.clone(),
            })?;
            values.push(value.clone().coerce(ty));
        }
        data.push(values);
    }
    let uuid_first: Vec<bool> = columns
        .iter()
        .map(|(_, ty)| ty.key.atomic == AtomicType::Uuid)
        .collect();
    data.sort_by(|a, b| {
        let pass = |uuid: bool| {
            (0..columns.len())
                .filter(|&x| uuid_first[x] == uuid)
                .map(|x| compare_datums(&a[x], &b[x]))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        pass(false).then_with(|| pass(true))
    });
    let mut t = Table::new(columns.iter().map(|(n, _)| n.clone()));
    t.caption = Some(format!("{table} table"));
    for values in data {
        t.rows.push(
            values
                .iter()
                .zip(&columns)
                .map(|(d, (_, ty))| Cell::Datum {
                    json: OvsJson::from_datum(d, ty),
                    ty: Box::new(ty.clone()),
                })
                .collect(),
        );
    }
    Ok(t)
}

/// `ovsdb_datum_compare_3way`: size first, then keys, then values, atom by atom.
fn compare_datums(a: &Datum, b: &Datum) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| match (a, b) {
        (Datum::Set(x), Datum::Set(y)) => compare_atom_lists(x.iter(), y.iter()),
        (Datum::Map(x), Datum::Map(y)) => {
            compare_atom_lists(x.iter().map(|p| &p.0), y.iter().map(|p| &p.0))
                .then_with(|| compare_atom_lists(x.iter().map(|p| &p.1), y.iter().map(|p| &p.1)))
        }
        _ => Ordering::Equal,
    })
}

fn compare_atom_lists<'a>(
    a: impl Iterator<Item = &'a Atom>,
    b: impl Iterator<Item = &'a Atom>,
) -> Ordering {
    a.zip(b)
        .map(|(x, y)| compare_atoms(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `ovsdb_atom_compare_3way`: like [`Atom`]'s order, except that reals compare by value
/// (`-0` equals `0`).
fn compare_atoms(a: &Atom, b: &Atom) -> Ordering {
    match (a, b) {
        (Atom::Real(x), Atom::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// What one `monitor` update printed, besides the table: the complaints `ovsdb-client`
/// writes to stderr about malformed row updates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorWarnings(pub Vec<String>);

/// `monitor` (the `update` form): one table's changes as `ovsdb-client monitor` prints them.
/// Headings are `row`, `action` and `columns`; an insert or delete is one row, a modify two
/// (`old` with only the changed columns, then `new` with an empty `row` cell). `initial`
/// marks the reply to the monitor request. Rows appear in UUID order (the C tool prints them
/// in hash order).
pub fn monitor_table(
    columns: &[(String, ColumnType)],
    updates: &BTreeMap<Uuid, RowUpdate>,
    initial: bool,
    caption: Option<String>,
) -> (Table, MonitorWarnings) {
    let mut t = Table::new(
        ["row", "action"]
            .into_iter()
            .map(str::to_owned)
            .chain(columns.iter().map(|(n, _)| n.clone())),
    );
    t.caption = caption;
    let mut warnings = MonitorWarnings::default();
    for (uuid, update) in updates {
        let uuid = uuid.hyphenated().to_string();
        let (old, new) = (update.old.as_ref(), update.new.as_ref());
        let rows: Vec<(Option<&Row>, &str, &str)> = if initial {
            vec![(new, "initial", &uuid)]
        } else if old.is_none() {
            vec![(new, "insert", &uuid)]
        } else if new.is_none() {
            vec![(old, "delete", &uuid)]
        } else {
            vec![(old, "old", &uuid), (new, "new", "")]
        };
        for (row, action, row_cell) in rows {
            let Some(row) = row else {
                warnings.0.push(format!("missing {action} row"));
                continue;
            };
            let mut cells = vec![
                Cell::Text(row_cell.to_owned()),
                Cell::Text(action.to_owned()),
            ];
            for (name, ty) in columns {
                cells.push(match row.get(name) {
                    Some(d) => Cell::Datum {
                        json: OvsJson::from_wire_datum(d),
                        ty: Box::new(ty.clone()),
                    },
                    None => Cell::Empty,
                });
            }
            t.rows.push(cells);
        }
    }
    (t, warnings)
}

/// Parses the server's reply to `list_dbs` the way `ovsdb-client` prints it: sorted bytewise.
pub fn sorted_db_names(mut names: Vec<String>) -> Vec<String> {
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    names
}
