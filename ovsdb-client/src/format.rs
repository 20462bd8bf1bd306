//! Output formats of Open vSwitch's command-line tools, reproduced byte for byte.
//!
//! Tools that must print exactly what `ovsdb-client` (or `ovs-vsctl`, `ovn-nbctl`) prints use
//! these pieces:
//!
//! - [`OvsJson`]: a JSON value as OVS's `lib/json.c` holds it, with its serializer: compact or
//!   `--pretty`, members sorted bytewise, strings escaped the OVS way (`\u001f`, raw `/` and raw
//!   UTF-8), reals as `%.15g`. Values that came over the wire go through
//!   [`OvsJson::from_wire`], which applies what the C tools do when they parse a server's
//!   text: a real whose `%.15g` text is a whole number (`1e+15`) becomes an integer.
//! - [`format_real`]: C's `%.15g` (`DBL_DIG` digits), the way OVS prints every real.
//! - [`Table`] and [`TablePrinter`]: `lib/table.c`'s output formats (`table`, `list`, `csv`,
//!   `html`, `json`) and cell formats (`string`, `bare`, `json`).
//! - [`dump_table`], [`monitor_table`], [`list_tables_table`], [`schema_json`]: what
//!   `ovsdb-client`'s commands print, from what the server sent.
//! - [`shash_order`]: the order in which OVS iterates a string hash map (`struct shash`),
//!   which `ovsdb-client list-tables` prints.
//!
//! This module knows the OVSDB data model (atoms, datums, column types) but nothing about a
//! connection or any particular schema.

mod commands;
mod json;
mod shash;
mod table;

pub use commands::{
    MissingColumn, MonitorWarnings, dump_table, list_tables_table, monitor_table, schema_json,
    sorted_db_names, table_names_in_wire_order, uuid_column_type,
};
pub use json::{OvsJson, format_real};
pub use shash::shash_order;
pub use table::{Cell, CellFormat, Table, TableFormat, TablePrinter, TableStyle, timestamp};

#[cfg(test)]
#[path = "format/tests.rs"]
mod tests;
