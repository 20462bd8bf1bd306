//! The generator of typed tables: turns any [`DatabaseSchema`] into Rust source implementing
//! the traits of [`crate::typed`].
//!
//! It is run by a test or a small program, not by a build script: the output is committed,
//! reviewed like any code, and a freshness test regenerates it and compares. [`generate`] emits
//! plain source; [`rustfmt`] formats it exactly as `cargo fmt` would, so the committed file is
//! stable under the workspace's formatting check.
//!
//! For each table it emits: a struct with `_uuid`, `_version` and one field per column; one
//! `Column` constant per column; the `Table` implementation with the schema's metadata
//! (columns with their constraints, `isRoot`, `maxRows`, indexes); an enum per enum-constrained
//! column; and a `…Lookups` trait on the typed replica view with one method per index (plus
//! `by_name` for a non-unique `name` column).
//!
//! Column types map as follows: exactly one value is the value type, zero or one is an
//! `Option`, any other set is a `BTreeSet`, a map is a `BTreeMap`. Strings are `String`,
//! integers `i64`, reals `f64` (`typed::Real` in sets and map keys, which need an order),
//! booleans `bool`, references `Ref<Target>` or `WeakRef<Target>`, other UUIDs `Uuid`, and
//! enum-constrained strings and integers a generated enum.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::atom::{Atom, AtomicType};
use crate::error::{Error, SchemaError};
use crate::schema::{BaseType, ColumnSchema, ColumnType, DatabaseSchema, Max, RefType};

/// How to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The path of the `ovsdb-client` crate in the generated code (`ovsdb_client`, or `crate`
    /// inside this crate).
    pub client_crate: String,
    /// A line for the module's doc comment, e.g. where the schema comes from.
    pub source_note: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_crate: "ovsdb_client".to_owned(),
            source_note: None,
        }
    }
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// `Logical_Switch_Port` → `LogicalSwitchPort`, `ACL` → `Acl`, `Open_vSwitch` → `OpenVSwitch`.
pub fn camel_case(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        if part.is_empty() {
            continue;
        }
        let all_upper = part
            .chars()
            .filter(char::is_ascii_alphabetic)
            .all(|c| c.is_ascii_uppercase());
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            let rest: String = chars.collect();
            if all_upper {
                out.push_str(&rest.to_ascii_lowercase());
            } else {
                out.push_str(&rest);
            }
        }
    }
    if out.is_empty() {
        out.push_str("Empty");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A column name as a field name: lower case, `_` for other characters, `r#` for keywords.
pub fn field_name(column: &str) -> String {
    let mut s: String = column
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

fn const_name(column: &str) -> String {
    field_name(column)
        .trim_start_matches("r#")
        .to_ascii_uppercase()
}

fn bare(field: &str) -> &str {
    field.trim_start_matches("r#")
}

fn err(at: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Schema(SchemaError::new(at, message))
}

/// A generated enum for one base type.
struct EnumDef {
    name: String,
    table: String,
    column: String,
    atomic: AtomicType,
    /// (variant, atom) in atom order.
    variants: Vec<(String, Atom)>,
}

struct Names {
    structs: BTreeMap<String, String>,
    taken: BTreeSet<String>,
}

/// Generates the Rust module for `schema`. Errors when names collide after conversion to Rust
/// identifiers or when a reference names a missing table.
pub fn generate(schema: &DatabaseSchema, options: &Options) -> Result<String, Error> {
    let mut names = Names {
        structs: BTreeMap::new(),
        taken: BTreeSet::new(),
    };
    for t in schema.tables.keys() {
        let n = camel_case(t);
        if !names.taken.insert(n.clone()) {
            return Err(err(
                t.as_str(),
                format!("two tables map to the struct name {n}"),
            ));
        }
        names.structs.insert(t.clone(), n);
    }
    // Enums, named after table and column, decided before any code refers to them.
    let mut enums: BTreeMap<(String, String, bool), EnumDef> = BTreeMap::new();
    for (tname, table) in &schema.tables {
        for (cname, col) in &table.columns {
            let is_map = col.ty.value.is_some();
            let bases = [(false, Some(&col.ty.key)), (true, col.ty.value.as_ref())];
            for (is_value, base) in bases {
                let Some(base) = base else { continue };
                if !enum_worthy(base) {
                    continue;
                }
                let suffix = match (is_map, is_value) {
                    (false, _) => "",
                    (true, false) => "Key",
                    (true, true) => "Value",
                };
                let mut name = format!("{}{}{suffix}", names.structs[tname], camel_case(cname));
                while names.taken.contains(&name) {
                    name.push_str("Value");
                }
                names.taken.insert(name.clone());
                let variants = variant_names(base.enumeration.as_deref().unwrap_or_default());
                enums.insert(
                    (tname.clone(), cname.clone(), is_value),
                    EnumDef {
                        name,
                        table: tname.clone(),
                        column: cname.clone(),
                        atomic: base.atomic,
                        variants,
                    },
                );
            }
        }
    }

    let c = &options.client_crate;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Typed tables of the `{}` database, schema version {}.",
        schema.name, schema.version
    );
    out.push_str("//!\n//! Generated by `ovsdb_client::codegen` from the schema: do not edit.\n");
    if let Some(note) = &options.source_note {
        let _ = writeln!(out, "//! {note}");
    }
    out.push_str(
        "\n#![allow(clippy::enum_variant_names, clippy::too_many_lines, \
         clippy::large_enum_variant)]\n\n",
    );
    let header = out;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// The database name.\npub const DATABASE: &str = {:?};",
        schema.name
    );
    let _ = writeln!(
        out,
        "/// The schema version the code was generated from.\npub const SCHEMA_VERSION: &str = {:?};",
        schema.version
    );
    let _ = writeln!(
        out,
        "/// The schema's checksum, when it has one.\npub const SCHEMA_CKSUM: Option<&str> = {};",
        match &schema.cksum {
            Some(c) => format!("Some({c:?})"),
            None => "None".to_owned(),
        }
    );
    let _ = writeln!(
        out,
        "/// Every table's name.\npub const TABLE_NAMES: &[&str] = &[{}];\n",
        schema
            .tables
            .keys()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(
        "/// Calls `visitor.visit::<T>()` for every table type, in table-name order.\n\
         pub fn visit_tables<V: TableVisitor>(visitor: &mut V) {\n",
    );
    for t in schema.tables.keys() {
        let _ = writeln!(out, "    visitor.visit::<{}>();", names.structs[t]);
    }
    out.push_str("}\n\n");

    let mut lookup_traits = Vec::new();
    for (tname, table) in &schema.tables {
        let sname = &names.structs[tname];
        // Field names must be unique after conversion.
        let mut fields = BTreeSet::new();
        for cname in table.columns.keys() {
            if !fields.insert(bare(&field_name(cname)).to_owned()) {
                return Err(err(
                    format!("{tname}.{cname}"),
                    "two columns map to the same field name",
                ));
            }
        }
        let rust_types: Vec<(String, &ColumnSchema, String)> = table
            .columns
            .iter()
            .map(|(cname, col)| {
                column_rust_type(tname, cname, &col.ty, &names, &enums)
                    .map(|ty| (cname.clone(), col, ty))
            })
            .collect::<Result<_, _>>()?;

        // The struct.
        let _ = writeln!(
            out,
            "/// A row of table `{tname}` of `{}`.\n///",
            schema.name
        );
        let _ = writeln!(
            out,
            "/// {}",
            if table.is_root {
                "A root table: rows live until deleted."
            } else {
                "Not a root table: the server deletes a row that no strong reference points at."
            }
        );
        if let Some(m) = table.max_rows {
            let _ = writeln!(out, "/// At most {m} row{}.", if m == 1 { "" } else { "s" });
        }
        for ix in &table.indexes {
            let _ = writeln!(
                out,
                "/// Unique index: {}.",
                ix.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, PartialEq, Default)]\npub struct {sname} {{"
        );
        out.push_str("    /// The row's UUID (`_uuid`).\n    pub _uuid: Uuid,\n");
        out.push_str(
            "    /// The row's version (`_version`), when the server sent it.\n    pub _version: Option<Uuid>,\n",
        );
        for (cname, col, ty) in &rust_types {
            let _ = writeln!(
                out,
                "    /// `{cname}`: {}\n    pub {}: {ty},",
                describe_column(tname, cname, col, &names, &enums),
                field_name(cname)
            );
        }
        out.push_str("}\n\n");

        // Column handles.
        let _ = writeln!(out, "impl {sname} {{");
        out.push_str(
            "    /// Column `_uuid`.\n    pub const _UUID: Column<Self, Uuid> = Column::new(\"_uuid\");\n",
        );
        out.push_str(
            "    /// Column `_version`.\n    pub const _VERSION: Column<Self, Uuid> = Column::new(\"_version\");\n",
        );
        for (cname, _, ty) in &rust_types {
            let _ = writeln!(
                out,
                "    /// Column `{cname}`.\n    pub const {}: Column<Self, {ty}> = Column::new({cname:?});",
                const_name(cname)
            );
        }
        out.push_str("}\n\n");

        // The Table implementation.
        let _ = writeln!(out, "impl Table for {sname} {{");
        let _ = writeln!(out, "    const DATABASE: &'static str = {:?};", schema.name);
        let _ = writeln!(out, "    const TABLE_NAME: &'static str = {tname:?};");
        let _ = writeln!(out, "    const IS_ROOT: bool = {};", table.is_root);
        let _ = writeln!(
            out,
            "    const MAX_ROWS: Option<u64> = {};",
            table
                .max_rows
                .map_or("None".to_owned(), |m| format!("Some({m})"))
        );
        let _ = writeln!(
            out,
            "    const INDEXES: &'static [&'static [&'static str]] = &[{}];",
            table
                .indexes
                .iter()
                .map(|ix| format!(
                    "&[{}]",
                    ix.iter()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.push_str("    const COLUMNS: &'static [ColumnSpec] = &[\n");
        for (cname, col) in &table.columns {
            let _ = writeln!(out, "        {},", column_spec_expr(cname, col));
        }
        out.push_str("    ];\n\n");
        out.push_str("    fn uuid(&self) -> Uuid {\n        self._uuid\n    }\n\n");
        out.push_str("    fn version(&self) -> Option<Uuid> {\n        self._version\n    }\n\n");
        out.push_str("    fn to_row(&self) -> Row {\n");
        if rust_types.is_empty() {
            out.push_str("        Row::new()\n");
        } else {
            out.push_str("        let mut row = Row::new();\n");
            for (cname, _, _) in &rust_types {
                let _ = writeln!(
                    out,
                    "        row.insert({cname:?}.to_owned(), ColumnValue::to_datum(&self.{}));",
                    field_name(cname)
                );
            }
            out.push_str("        row\n");
        }
        out.push_str("    }\n\n");
        let take = if rust_types.is_empty() {
            "_take"
        } else {
            "mut take"
        };
        let _ = writeln!(
            out,
            "    fn from_columns<F>(uuid: Uuid, version: Option<Uuid>, {take}: F) -> Result<Self, Error>\n    \
             where\n        F: FnMut(usize, &'static str) -> Option<Datum>,\n    {{"
        );
        out.push_str(
            "        Ok(Self {\n            _uuid: uuid,\n            _version: version,\n",
        );
        for (i, (cname, _, _)) in rust_types.iter().enumerate() {
            let _ = writeln!(
                out,
                "            {}: decode_column(Self::TABLE_NAME, {cname:?}, take({i}, {cname:?}))?,",
                field_name(cname)
            );
        }
        out.push_str("        })\n    }\n}\n\n");

        // Lookups on the typed replica view.
        let mut lookups: Vec<(String, Vec<&str>, bool)> = table
            .indexes
            .iter()
            .map(|ix| {
                (
                    format!(
                        "by_{}",
                        ix.iter()
                            .map(|c| bare(&field_name(c)).to_owned())
                            .collect::<Vec<_>>()
                            .join("_and_")
                    ),
                    ix.iter().map(String::as_str).collect(),
                    true,
                )
            })
            .collect();
        let name_indexed = table
            .indexes
            .iter()
            .any(|ix| ix.len() == 1 && ix[0] == "name");
        if !name_indexed
            && table
                .columns
                .get("name")
                .is_some_and(|c| c.ty.is_scalar() && c.ty.key.atomic == AtomicType::String)
        {
            lookups.push(("by_name".to_owned(), vec!["name"], false));
        }
        if !lookups.is_empty() {
            let tr = format!("{sname}Lookups");
            lookup_traits.push(tr.clone());
            let _ = writeln!(
                out,
                "/// Lookups on a typed replica view of [`{sname}`] (`replica.typed::<{sname}>()`)."
            );
            let _ = writeln!(out, "pub trait {tr} {{");
            let mut bodies = String::new();
            for (method, cols, unique) in &lookups {
                let params: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        let ty = &rust_types
                            .iter()
                            .find(|(n, _, _)| n == c)
                            .map(|(_, _, t)| t.clone())
                            .unwrap_or_default();
                        format!("{}: impl Into<{ty}>", field_name(c))
                    })
                    .collect();
                let ret = if *unique {
                    format!("Result<Option<{sname}>, Error>")
                } else {
                    format!("Result<Vec<{sname}>, Error>")
                };
                let cols_doc = cols
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let doc = if *unique {
                    format!(
                        "The row with these values of {cols_doc} (a unique index of the schema)."
                    )
                } else {
                    format!(
                        "The rows with this {cols_doc} (not unique; add a replica index on it for large tables)."
                    )
                };
                let _ = writeln!(
                    out,
                    "    /// {doc}\n    fn {method}(&self, {}) -> {ret};",
                    params.join(", ")
                );
                let _ = writeln!(
                    bodies,
                    "    fn {method}(&self, {}) -> {ret} {{",
                    params.join(", ")
                );
                let mut datums = Vec::new();
                for c in cols {
                    let f = field_name(c);
                    let ty = rust_types
                        .iter()
                        .find(|(n, _, _)| n == c)
                        .map(|(_, _, t)| t.clone())
                        .unwrap_or_default();
                    let _ = writeln!(bodies, "        let {f}: {ty} = {f}.into();");
                    datums.push(format!("ColumnValue::to_datum(&{f})"));
                }
                let lookup = format!(
                    "self.lookup(&[{}], &[{}])",
                    cols.iter()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    datums.join(", ")
                );
                if *unique {
                    let _ = writeln!(bodies, "        Ok({lookup}?.into_iter().next())\n    }}");
                } else {
                    let _ = writeln!(bodies, "        {lookup}\n    }}");
                }
            }
            out.push_str("}\n\n");
            let _ = writeln!(
                out,
                "impl {tr} for TypedTable<'_, {sname}> {{\n{bodies}}}\n"
            );
        }
    }

    for e in enums.values() {
        emit_enum(&mut out, e);
    }
    if !lookup_traits.is_empty() {
        let _ = writeln!(
            out,
            "/// Every `…Lookups` trait, for `use …::lookups::*`.\npub mod lookups {{\n    pub use super::{{{}}};\n}}",
            lookup_traits.join(", ")
        );
    }
    Ok(format!("{header}{}{out}", imports(&out, c)))
}

/// The `use` lines for the names `body` mentions, so that no import is unused.
fn imports(body: &str, client: &str) -> String {
    let mentions = |name: &str| {
        body.match_indices(name).any(|(i, _)| {
            let before = body[..i].chars().next_back();
            let after = body[i + name.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !ident(before) && !ident(after)
        })
    };
    let pick = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| mentions(n))
            .map(|n| (*n).to_owned())
            .collect()
    };
    let mut out = String::new();
    let std_names = pick(&["BTreeMap", "BTreeSet"]);
    if !std_names.is_empty() {
        let _ = writeln!(out, "use std::collections::{{{}}};\n", std_names.join(", "));
    }
    let typed = pick(&[
        "AtomValue",
        "BaseSpec",
        "Column",
        "ColumnSpec",
        "ColumnValue",
        "ConstAtom",
        "Real",
        "Ref",
        "Table",
        "TableVisitor",
        "TypedTable",
        "WeakRef",
        "decode_column",
        "unknown_enum_reason",
        "unknown_enum_value",
    ]);
    if !typed.is_empty() {
        let _ = writeln!(out, "use {client}::typed::{{{}}};", typed.join(", "));
    }
    let root = pick(&[
        "Atom",
        "AtomicType",
        "Datum",
        "Error",
        "RefType",
        "Row",
        "Uuid",
    ]);
    if !root.is_empty() {
        let _ = writeln!(out, "use {client}::{{{}}};", root.join(", "));
    }
    out.push('\n');
    out
}

fn enum_worthy(base: &BaseType) -> bool {
    base.enumeration.as_ref().is_some_and(|e| !e.is_empty())
        && matches!(base.atomic, AtomicType::String | AtomicType::Integer)
}

fn variant_names(atoms: &[Atom]) -> Vec<(String, Atom)> {
    let mut taken = BTreeSet::new();
    let mut out = Vec::new();
    for a in atoms {
        let mut name = match a {
            Atom::String(s) => camel_case(s),
            Atom::Integer(i) if *i < 0 => format!("VMinus{}", i.unsigned_abs()),
            Atom::Integer(i) => format!("V{i}"),
            other => camel_case(&other.to_string()),
        };
        if name == "Self" {
            name.push('_');
        }
        let base = name.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push((name, a.clone()));
    }
    out
}

fn base_rust_type(
    at: &str,
    base: &BaseType,
    enum_name: Option<&str>,
    ordered: bool,
    names: &Names,
) -> Result<String, Error> {
    if let Some(e) = enum_name {
        return Ok(e.to_owned());
    }
    Ok(match base.atomic {
        AtomicType::Integer => "i64".to_owned(),
        AtomicType::Real if ordered => "Real".to_owned(),
        AtomicType::Real => "f64".to_owned(),
        AtomicType::Boolean => "bool".to_owned(),
        AtomicType::String => "String".to_owned(),
        AtomicType::Uuid => match &base.ref_table {
            Some(t) => {
                let target = names.structs.get(t).ok_or_else(|| {
                    err(at, format!("refTable {t:?} is not a table of the schema"))
                })?;
                match base.ref_type {
                    RefType::Strong => format!("Ref<{target}>"),
                    RefType::Weak => format!("WeakRef<{target}>"),
                }
            }
            None => "Uuid".to_owned(),
        },
    })
}

type Enums = BTreeMap<(String, String, bool), EnumDef>;

fn enum_of<'a>(enums: &'a Enums, t: &str, c: &str, value: bool) -> Option<&'a str> {
    enums
        .get(&(t.to_owned(), c.to_owned(), value))
        .map(|e| e.name.as_str())
}

fn column_rust_type(
    tname: &str,
    cname: &str,
    ty: &ColumnType,
    names: &Names,
    enums: &Enums,
) -> Result<String, Error> {
    let at = format!("{tname}.{cname}");
    let key_enum = enum_of(enums, tname, cname, false);
    if let Some(v) = &ty.value {
        let k = base_rust_type(&at, &ty.key, key_enum, true, names)?;
        let v = base_rust_type(&at, v, enum_of(enums, tname, cname, true), false, names)?;
        return Ok(format!("BTreeMap<{k}, {v}>"));
    }
    if ty.is_scalar() {
        return base_rust_type(&at, &ty.key, key_enum, false, names);
    }
    if ty.is_optional() {
        let k = base_rust_type(&at, &ty.key, key_enum, false, names)?;
        return Ok(format!("Option<{k}>"));
    }
    let k = base_rust_type(&at, &ty.key, key_enum, true, names)?;
    Ok(format!("BTreeSet<{k}>"))
}

fn describe_base(base: &BaseType, enum_name: Option<&str>, names: &Names, plural: bool) -> String {
    let s = if plural { "s" } else { "" };
    if let (Some(e), Some(values)) = (enum_name, &base.enumeration) {
        return format!(
            "[`{e}`]{s} (one of {})",
            values
                .iter()
                .map(|a| format!("`{}`", a.to_string().trim_matches('"')))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut d = match base.atomic {
        AtomicType::Uuid => match &base.ref_table {
            Some(t) => {
                let kind = match base.ref_type {
                    RefType::Strong => "strong",
                    RefType::Weak => "weak",
                };
                let target = names.structs.get(t).map_or(t.as_str(), String::as_str);
                format!("{kind} reference{s} to [`{target}`] (`{t}`)")
            }
            None => format!("UUID{s}"),
        },
        AtomicType::Integer => format!("integer{s}"),
        AtomicType::Real => format!("real{s}"),
        AtomicType::Boolean => format!("boolean{s}"),
        AtomicType::String => format!("string{s}"),
    };
    let range = |lo: Option<String>, hi: Option<String>| match (lo, hi) {
        (None, None) => None,
        (lo, hi) => Some(format!(
            "{}..={}",
            lo.unwrap_or_default(),
            hi.unwrap_or_default()
        )),
    };
    if let Some(r) = range(
        base.min_integer.map(|v| v.to_string()),
        base.max_integer.map(|v| v.to_string()),
    ) {
        let _ = write!(d, " in `{r}`");
    }
    if let Some(r) = range(
        base.min_real.map(|v| v.to_string()),
        base.max_real.map(|v| v.to_string()),
    ) {
        let _ = write!(d, " in `{r}`");
    }
    if let Some(r) = range(
        base.min_length.map(|v| v.to_string()),
        base.max_length.map(|v| v.to_string()),
    ) {
        let _ = write!(d, " of length `{r}`");
    }
    if let Some(values) = &base.enumeration {
        let _ = write!(
            d,
            " (one of {})",
            values
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    d
}

fn describe_column(
    tname: &str,
    cname: &str,
    col: &ColumnSchema,
    names: &Names,
    enums: &Enums,
) -> String {
    let ty = &col.ty;
    let key_enum = enum_of(enums, tname, cname, false);
    let count = |ty: &ColumnType| match ty.max {
        Max::Unlimited if ty.min == 0 => "any number of".to_owned(),
        Max::Unlimited => format!("at least {}", ty.min),
        Max::Limited(m) => format!("{}..={m}", ty.min),
    };
    let mut d = if let Some(v) = &ty.value {
        format!(
            "map of {} pairs from {} to {}.",
            count(ty),
            describe_base(&ty.key, key_enum, names, true),
            describe_base(v, enum_of(enums, tname, cname, true), names, true)
        )
    } else if ty.is_scalar() {
        format!("{}.", describe_base(&ty.key, key_enum, names, false))
    } else if ty.is_optional() {
        format!(
            "optional {}.",
            describe_base(&ty.key, key_enum, names, false)
        )
    } else {
        format!(
            "set of {} {}.",
            count(ty),
            describe_base(&ty.key, key_enum, names, true)
        )
    };
    if !col.mutable {
        d.push_str(" Immutable.");
    }
    if col.ephemeral {
        d.push_str(" Ephemeral.");
    }
    d
}

fn const_atom(a: &Atom) -> String {
    match a {
        Atom::Integer(i) => format!("ConstAtom::Integer({i})"),
        Atom::Real(r) => format!("ConstAtom::Real({r:?})"),
        Atom::Boolean(b) => format!("ConstAtom::Boolean({b})"),
        Atom::String(s) => format!("ConstAtom::String({s:?})"),
        // UUIDs cannot be enum values worth keeping as constants; keep the text.
        Atom::Uuid(u) => format!("ConstAtom::String({:?})", u.to_string()),
        Atom::NamedUuid(n) => format!("ConstAtom::String({n:?})"),
    }
}

fn atomic_expr(a: AtomicType) -> &'static str {
    match a {
        AtomicType::Integer => "AtomicType::Integer",
        AtomicType::Real => "AtomicType::Real",
        AtomicType::Boolean => "AtomicType::Boolean",
        AtomicType::String => "AtomicType::String",
        AtomicType::Uuid => "AtomicType::Uuid",
    }
}

fn base_spec_expr(b: &BaseType) -> String {
    let mut fields = Vec::new();
    if let Some(e) = &b.enumeration {
        fields.push(format!(
            "enumeration: Some(&[{}])",
            e.iter().map(const_atom).collect::<Vec<_>>().join(", ")
        ));
    }
    let opt = |name: &str, v: Option<String>, fields: &mut Vec<String>| {
        if let Some(v) = v {
            fields.push(format!("{name}: Some({v})"));
        }
    };
    opt(
        "min_integer",
        b.min_integer.map(|v| v.to_string()),
        &mut fields,
    );
    opt(
        "max_integer",
        b.max_integer.map(|v| v.to_string()),
        &mut fields,
    );
    opt(
        "min_real",
        b.min_real.map(|v| format!("{v:?}")),
        &mut fields,
    );
    opt(
        "max_real",
        b.max_real.map(|v| format!("{v:?}")),
        &mut fields,
    );
    opt(
        "min_length",
        b.min_length.map(|v| v.to_string()),
        &mut fields,
    );
    opt(
        "max_length",
        b.max_length.map(|v| v.to_string()),
        &mut fields,
    );
    opt(
        "ref_table",
        b.ref_table.as_ref().map(|t| format!("{t:?}")),
        &mut fields,
    );
    if b.ref_table.is_some() && b.ref_type == RefType::Weak {
        fields.push("ref_type: RefType::Weak".to_owned());
    }
    let new = format!("BaseSpec::new({})", atomic_expr(b.atomic));
    if fields.is_empty() {
        new
    } else {
        format!("BaseSpec {{ {}, ..{new} }}", fields.join(", "))
    }
}

fn column_spec_expr(cname: &str, col: &ColumnSchema) -> String {
    format!(
        "ColumnSpec {{ name: {cname:?}, key: {}, value: {}, min: {}, max: {}, mutable: {}, ephemeral: {} }}",
        base_spec_expr(&col.ty.key),
        col.ty.value.as_ref().map_or("None".to_owned(), |v| format!(
            "Some({})",
            base_spec_expr(v)
        )),
        col.ty.min,
        match col.ty.max {
            Max::Limited(m) => format!("Some({m})"),
            Max::Unlimited => "None".to_owned(),
        },
        col.mutable,
        col.ephemeral
    )
}

fn emit_enum(out: &mut String, e: &EnumDef) {
    let EnumDef {
        name,
        table,
        column,
        atomic,
        variants,
    } = e;
    let _ = writeln!(
        out,
        "/// The values of `{table}.{column}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]\npub enum {name} {{"
    );
    for (i, (v, a)) in variants.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(
                out,
                "    /// `{a}` (the Rust default; the server's default for an unset column may be \
                 no valid value at all).\n    #[default]\n    {v},"
            );
        } else {
            let _ = writeln!(out, "    /// `{a}`.\n    {v},");
        }
    }
    out.push_str("}\n\n");
    let names = variants
        .iter()
        .map(|(_, a)| match a {
            Atom::String(s) => format!("{s:?}"),
            other => format!("{:?}", other.to_string()),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(out, "impl {name} {{");
    let _ = writeln!(
        out,
        "    /// Every value, in sorted order.\n    pub const ALL: &'static [Self] = &[{}];",
        variants
            .iter()
            .map(|(v, _)| format!("Self::{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "    /// Every value's spelling, in sorted order.\n    pub const NAMES: &'static [&'static str] = &[{names}];"
    );
    match atomic {
        AtomicType::Integer => {
            out.push_str("    /// The value as an integer.\n    pub const fn as_i64(self) -> i64 {\n        match self {\n");
            for (v, a) in variants {
                let _ = writeln!(out, "            Self::{v} => {a},");
            }
            out.push_str("        }\n    }\n");
            out.push_str("    /// The value of this integer, if any.\n    pub const fn from_i64(value: i64) -> Option<Self> {\n        match value {\n");
            for (v, a) in variants {
                let _ = writeln!(out, "            {a} => Some(Self::{v}),");
            }
            out.push_str("            _ => None,\n        }\n    }\n");
        }
        _ => {
            out.push_str("    /// The value's spelling in the schema.\n    pub const fn as_str(self) -> &'static str {\n        match self {\n");
            for (v, a) in variants {
                let _ = writeln!(out, "            Self::{v} => {a},");
            }
            out.push_str("        }\n    }\n");
            out.push_str("    /// The value spelled `name`, if any.\n    pub fn from_name(name: &str) -> Option<Self> {\n        match name {\n");
            for (v, a) in variants {
                let _ = writeln!(out, "            {a} => Some(Self::{v}),");
            }
            out.push_str("            _ => None,\n        }\n    }\n");
        }
    }
    out.push_str("}\n\n");
    let (to_atom, from_atom, display, parse, default_atom) = match atomic {
        AtomicType::Integer => (
            "Atom::Integer(self.as_i64())".to_owned(),
            "match atom {\n            Atom::Integer(i) => Self::from_i64(i).ok_or_else(|| unknown_enum_reason(&i.to_string(), Self::NAMES)),\n            other => Err(format!(\"{other} is not an integer\")),\n        }"
                .to_owned(),
            "write!(f, \"{}\", self.as_i64())".to_owned(),
            format!(
                "s.parse::<i64>().ok().and_then(Self::from_i64).ok_or_else(|| unknown_enum_value({table:?}, {column:?}, s, Self::NAMES))"
            ),
            Atom::Integer(0),
        ),
        _ => (
            "Atom::String(self.as_str().to_owned())".to_owned(),
            "match atom {\n            Atom::String(s) => Self::from_name(&s).ok_or_else(|| unknown_enum_reason(&s, Self::NAMES)),\n            other => Err(format!(\"{other} is not a string\")),\n        }".to_owned(),
            "f.write_str(self.as_str())".to_owned(),
            format!(
                "Self::from_name(s).ok_or_else(|| unknown_enum_value({table:?}, {column:?}, s, Self::NAMES))"
            ),
            Atom::String(String::new()),
        ),
    };
    let _ = writeln!(
        out,
        "impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        {display}\n    }}\n}}\n"
    );
    let _ = writeln!(
        out,
        "impl std::str::FromStr for {name} {{\n    type Err = Error;\n    fn from_str(s: &str) -> Result<Self, Error> {{\n        {parse}\n    }}\n}}\n"
    );
    let default_variant = variants.iter().find(|(_, a)| *a == default_atom);
    let wire_default = match default_variant {
        Some((v, _)) => format!("Ok(Self::{v})"),
        None => {
            let shown = match &default_atom {
                Atom::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "Err(format!(\"the server's default {{}}\", unknown_enum_reason({shown:?}, Self::NAMES)))"
            )
        }
    };
    let _ = writeln!(
        out,
        "impl AtomValue for {name} {{\n    fn to_atom(&self) -> Atom {{\n        {to_atom}\n    }}\n    fn from_atom(atom: Atom) -> Result<Self, String> {{\n        {from_atom}\n    }}\n    fn wire_default() -> Result<Self, String> {{\n        {wire_default}\n    }}\n}}\n"
    );
}

/// Formats Rust source with the installed `rustfmt` (edition 2024), as `cargo fmt` formats the
/// workspace: the generated files then pass `cargo fmt --check` unchanged.
pub fn rustfmt(source: &str) -> Result<String, Error> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("rustfmt has no stdin"))?;
    let text = source.to_owned();
    // Write from another thread: rustfmt may fill its stdout pipe before reading all input.
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| std::io::Error::other("writing to rustfmt panicked"))??;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "rustfmt failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
        .into());
    }
    String::from_utf8(output.stdout)
        .map_err(|_| std::io::Error::other("rustfmt wrote invalid UTF-8").into())
}

/// Generates and formats: what is committed.
pub fn generate_formatted(schema: &DatabaseSchema, options: &Options) -> Result<String, Error> {
    rustfmt(&generate(schema, options)?)
}

#[cfg(test)]
#[path = "codegen/tests.rs"]
mod tests;
