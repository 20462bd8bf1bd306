//! Typed OVN_Northbound, OVN_Southbound and Open_vSwitch tables.
//!
//! This crate owns the schemas our control plane is written against (copied from Debian's OVN
//! 23.03 and Open vSwitch 3.1 packages into `schemas/`) and the Rust generated from them by
//! `ovsdb_client::codegen`: modules [`nb`], [`sb`] and [`vswitch`]. The generated files are
//! committed; `cargo run -p ovn-model --example regenerate` rewrites them after a schema bump,
//! and the `generated_code_is_fresh` test fails while they are stale. It knows nothing about
//! connections: rows become operations and come back from replicas through `ovsdb_client`.

use ovsdb_client::DatabaseSchema;

pub mod desired;
pub mod nb;
pub mod network;
pub mod reconcile;
pub mod sb;
pub mod vswitch;

/// One schema this crate generates code for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaSource {
    /// The module name (`nb`, `sb`, `vswitch`).
    pub module: &'static str,
    /// The file in `schemas/`.
    pub file: &'static str,
    /// The schema's JSON text.
    pub json: &'static str,
}

/// The three schemas, with their modules.
pub const SCHEMAS: [SchemaSource; 3] = [
    SchemaSource {
        module: "nb",
        file: "ovn-nb.ovsschema",
        json: include_str!("../schemas/ovn-nb.ovsschema"),
    },
    SchemaSource {
        module: "sb",
        file: "ovn-sb.ovsschema",
        json: include_str!("../schemas/ovn-sb.ovsschema"),
    },
    SchemaSource {
        module: "vswitch",
        file: "vswitch.ovsschema",
        json: include_str!("../schemas/vswitch.ovsschema"),
    },
];

impl SchemaSource {
    /// The parsed schema.
    pub fn schema(&self) -> Result<DatabaseSchema, ovsdb_client::Error> {
        Ok(DatabaseSchema::from_json_str(self.json)?)
    }

    /// The generated module's source, formatted as committed.
    pub fn generate(&self) -> Result<String, ovsdb_client::Error> {
        let options = ovsdb_client::codegen::Options {
            source_note: Some(format!(
                "Source: `ovn-model/schemas/{}`; regenerate with \
                 `cargo run -p ovn-model --example regenerate`.",
                self.file
            )),
            ..Default::default()
        };
        ovsdb_client::codegen::generate_formatted(&self.schema()?, &options)
    }
}

/// The `OVN_Northbound` schema.
pub fn nb_schema() -> DatabaseSchema {
    parse(&SCHEMAS[0])
}

/// The `OVN_Southbound` schema.
pub fn sb_schema() -> DatabaseSchema {
    parse(&SCHEMAS[1])
}

/// The `Open_vSwitch` schema.
pub fn vswitch_schema() -> DatabaseSchema {
    parse(&SCHEMAS[2])
}

fn parse(source: &SchemaSource) -> DatabaseSchema {
    // The files are part of this crate and checked by its tests: a parse failure is a bug here.
    #[allow(clippy::expect_used)]
    source
        .schema()
        .expect("the schemas shipped in ovn-model/schemas parse")
}

#[cfg(test)]
mod tests;
