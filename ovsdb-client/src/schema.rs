//! Database schemas (`.ovsschema`, RFC 7047 section 3.2) as typed values.
//!
//! Parsing validates the structure and reports the table and column at fault. The schema is
//! what lets the replica decode compact rows, fill in omitted default values and apply
//! update2 diffs with the right semantics per column.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::atom::{Atom, AtomicType};
use crate::datum::Datum;
use crate::error::SchemaError;

/// A whole database schema.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    /// Database name, e.g. `OVN_Northbound`.
    pub name: String,
    /// Schema version, e.g. `7.0.0`.
    pub version: String,
    /// Checksum, when the schema carries one.
    pub cksum: Option<String>,
    /// Tables by name.
    pub tables: BTreeMap<String, TableSchema>,
}

/// One table of a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// Columns by name (without `_uuid` and `_version`).
    pub columns: BTreeMap<String, ColumnSchema>,
    /// The most rows the table may hold (`maxRows`).
    pub max_rows: Option<u64>,
    /// Whether rows live without a strong reference (`isRoot`).
    pub is_root: bool,
    /// Column sets whose values must be unique across rows (`indexes`).
    pub indexes: Vec<Vec<String>>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// The column's type.
    pub ty: ColumnType,
    /// Whether the value is not persisted (`ephemeral`).
    pub ephemeral: bool,
    /// Whether the value may change after insert (`mutable`, default true).
    pub mutable: bool,
}

/// Upper bound on a set or map's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Max {
    /// At most this many elements.
    Limited(u64),
    /// No limit (`"unlimited"`).
    Unlimited,
}

impl Max {
    /// True when `n` elements are allowed by this bound.
    pub fn allows(self, n: u64) -> bool {
        match self {
            Max::Limited(m) => n <= m,
            Max::Unlimited => true,
        }
    }
}

/// A column type: a key base type, an optional value base type (for maps) and size bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    /// The key (or only) base type.
    pub key: BaseType,
    /// The value base type; `Some` makes this a map.
    pub value: Option<BaseType>,
    /// Minimum number of elements (0 or 1).
    pub min: u64,
    /// Maximum number of elements.
    pub max: Max,
}

impl ColumnType {
    /// A type holding exactly one atom of `atomic` type.
    pub fn scalar(atomic: AtomicType) -> Self {
        ColumnType {
            key: BaseType::new(atomic),
            value: None,
            min: 1,
            max: Max::Limited(1),
        }
    }

    /// True for exactly-one-atom columns (not optional, not a set, not a map).
    pub fn is_scalar(&self) -> bool {
        self.min == 1 && self.max == Max::Limited(1) && self.value.is_none()
    }

    /// True for 0-or-1 columns, which libraries present as `Option`.
    pub fn is_optional(&self) -> bool {
        self.min == 0 && self.max == Max::Limited(1) && self.value.is_none()
    }

    /// True for map columns.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// True for set columns that may hold more than one element.
    pub fn is_set(&self) -> bool {
        self.value.is_none() && !matches!(self.max, Max::Limited(1))
    }

    /// Checks that `datum` is a valid value of this type; the error says what is wrong.
    pub fn check(&self, datum: &Datum) -> Result<(), String> {
        let n = datum.len() as u64;
        if n < self.min {
            return Err(format!("{n} elements, but at least {} required", self.min));
        }
        if let Max::Limited(m) = self.max {
            if n > m {
                return Err(format!("{n} elements, but at most {m} allowed"));
            }
        }
        match (datum, &self.value) {
            (Datum::Set(s), None) => s.iter().try_for_each(|a| self.key.check(a)),
            (Datum::Map(m), Some(v)) => m.iter().try_for_each(|(k, val)| {
                self.key.check(k)?;
                v.check(val)
            }),
            (Datum::Set(s), Some(_)) if s.is_empty() => Ok(()),
            (Datum::Set(_), Some(_)) => Err("a set where a map is expected".into()),
            (Datum::Map(_), None) => Err("a map where a set is expected".into()),
        }
    }
}

/// Whether a reference keeps its target alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefType {
    /// The target may not be deleted while referenced.
    Strong,
    /// The reference vanishes when the target is deleted.
    Weak,
}

/// A base type with its constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    /// The atomic type.
    pub atomic: AtomicType,
    /// The allowed values, when enum-constrained (sorted).
    pub enumeration: Option<Vec<Atom>>,
    /// Minimum integer value.
    pub min_integer: Option<i64>,
    /// Maximum integer value.
    pub max_integer: Option<i64>,
    /// Minimum real value.
    pub min_real: Option<f64>,
    /// Maximum real value.
    pub max_real: Option<f64>,
    /// Minimum string length, in bytes.
    pub min_length: Option<u64>,
    /// Maximum string length, in bytes.
    pub max_length: Option<u64>,
    /// The table a UUID refers to.
    pub ref_table: Option<String>,
    /// Strong or weak, for references.
    pub ref_type: RefType,
}

impl BaseType {
    /// An unconstrained base type.
    pub fn new(atomic: AtomicType) -> Self {
        BaseType {
            atomic,
            enumeration: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    /// Checks one atom against the type and constraints.
    pub fn check(&self, atom: &Atom) -> Result<(), String> {
        let ty = atom.atomic_type();
        let real_from_int = self.atomic == AtomicType::Real && ty == AtomicType::Integer;
        if ty != self.atomic && !real_from_int {
            return Err(format!("{atom} is a {ty}, expected a {}", self.atomic));
        }
        if let Some(e) = &self.enumeration {
            if !e.contains(atom) {
                let allowed: Vec<String> = e.iter().map(ToString::to_string).collect();
                return Err(format!("{atom} is not one of {}", allowed.join(", ")));
            }
        }
        match atom {
            Atom::Integer(i)
                if !real_from_int
                    && (self.min_integer.is_some_and(|m| *i < m)
                        || self.max_integer.is_some_and(|m| *i > m)) =>
            {
                return Err(format!(
                    "{i} is outside the range {}..={}",
                    self.min_integer.map_or("".into(), |m| m.to_string()),
                    self.max_integer.map_or("".into(), |m| m.to_string())
                ));
            }
            Atom::Integer(_) if !real_from_int => {}
            Atom::Real(_) | Atom::Integer(_) => {
                let r = atom.as_real().unwrap_or_default();
                if self.min_real.is_some_and(|m| r < m) || self.max_real.is_some_and(|m| r > m) {
                    return Err(format!(
                        "{r} is outside the range {}..={}",
                        self.min_real.map_or("".into(), |m| m.to_string()),
                        self.max_real.map_or("".into(), |m| m.to_string())
                    ));
                }
            }
            Atom::String(s) => {
                let n = s.len() as u64;
                if self.min_length.is_some_and(|m| n < m) || self.max_length.is_some_and(|m| n > m)
                {
                    return Err(format!(
                        "string {s:?} has length {n}, outside {}..={}",
                        self.min_length.map_or("".into(), |m| m.to_string()),
                        self.max_length.map_or("".into(), |m| m.to_string())
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl DatabaseSchema {
    /// Parses a schema from JSON text.
    pub fn from_json_str(s: &str) -> Result<Self, SchemaError> {
        let v: Json =
            serde_json::from_str(s).map_err(|e| SchemaError::new("", format!("not JSON: {e}")))?;
        Self::from_json(&v)
    }

    /// Parses a schema from a JSON value.
    pub fn from_json(v: &Json) -> Result<Self, SchemaError> {
        let obj = v
            .as_object()
            .ok_or_else(|| SchemaError::new("", "schema is not an object"))?;
        let name = req_str(obj.get("name"), "", "name")?;
        let version = obj
            .get("version")
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| SchemaError::new("version", "not a string"))
            })
            .transpose()?
            .unwrap_or_default();
        let cksum = obj.get("cksum").and_then(|c| c.as_str()).map(str::to_owned);
        let tables_json = obj
            .get("tables")
            .and_then(Json::as_object)
            .ok_or_else(|| SchemaError::new("tables", "missing or not an object"))?;
        let mut tables = BTreeMap::new();
        for (tname, t) in tables_json {
            tables.insert(tname.clone(), TableSchema::from_json(tname, t)?);
        }
        Ok(DatabaseSchema {
            name,
            version,
            cksum,
            tables,
        })
    }

    /// The table of that name.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }
}

fn req_str(v: Option<&Json>, at: &str, what: &str) -> Result<String, SchemaError> {
    v.and_then(Json::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SchemaError::new(at, format!("{what} missing or not a string")))
}

impl TableSchema {
    fn from_json(tname: &str, v: &Json) -> Result<Self, SchemaError> {
        let obj = v
            .as_object()
            .ok_or_else(|| SchemaError::new(tname, "table is not an object"))?;
        let cols = obj
            .get("columns")
            .and_then(Json::as_object)
            .ok_or_else(|| SchemaError::new(tname, "columns missing or not an object"))?;
        let mut columns = BTreeMap::new();
        for (cname, c) in cols {
            let at = format!("{tname}.{cname}");
            let cobj = c
                .as_object()
                .ok_or_else(|| SchemaError::new(&at, "column is not an object"))?;
            let ty = ColumnType::from_json(
                cobj.get("type")
                    .ok_or_else(|| SchemaError::new(&at, "column has no type"))?,
                &at,
            )?;
            let flag = |k: &str, default: bool| -> Result<bool, SchemaError> {
                match cobj.get(k) {
                    None => Ok(default),
                    Some(Json::Bool(b)) => Ok(*b),
                    Some(_) => Err(SchemaError::new(&at, format!("{k} is not a boolean"))),
                }
            };
            columns.insert(
                cname.clone(),
                ColumnSchema {
                    ty,
                    ephemeral: flag("ephemeral", false)?,
                    mutable: flag("mutable", true)?,
                },
            );
        }
        let max_rows = match obj.get("maxRows") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| SchemaError::new(tname, "maxRows is not a positive integer"))?,
            ),
        };
        let is_root = match obj.get("isRoot") {
            None => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(SchemaError::new(tname, "isRoot is not a boolean")),
        };
        let mut indexes = Vec::new();
        if let Some(ix) = obj.get("indexes") {
            let arr = ix
                .as_array()
                .ok_or_else(|| SchemaError::new(tname, "indexes is not an array"))?;
            for i in arr {
                let cols = i
                    .as_array()
                    .ok_or_else(|| SchemaError::new(tname, "an index is not an array"))?
                    .iter()
                    .map(|c| c.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| SchemaError::new(tname, "an index column is not a string"))?;
                indexes.push(cols);
            }
        }
        Ok(TableSchema {
            columns,
            max_rows,
            is_root,
            indexes,
        })
    }

    /// The column of that name.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.get(name)
    }
}

impl ColumnType {
    /// Parses a column type (`"string"` or `{"key":…,"value":…,"min":…,"max":…}`).
    pub fn from_json(v: &Json, at: &str) -> Result<Self, SchemaError> {
        match v {
            Json::String(_) => Ok(ColumnType {
                key: BaseType::from_json(v, at)?,
                value: None,
                min: 1,
                max: Max::Limited(1),
            }),
            Json::Object(o) => {
                let key = BaseType::from_json(
                    o.get("key")
                        .ok_or_else(|| SchemaError::new(at, "type has no key"))?,
                    at,
                )?;
                let value = o
                    .get("value")
                    .map(|v| BaseType::from_json(v, at))
                    .transpose()?;
                let min = match o.get("min") {
                    None => 1,
                    Some(m) => m
                        .as_u64()
                        .filter(|m| *m <= 1)
                        .ok_or_else(|| SchemaError::new(at, "min must be 0 or 1"))?,
                };
                let max = match o.get("max") {
                    None => Max::Limited(1),
                    Some(Json::String(s)) if s == "unlimited" => Max::Unlimited,
                    Some(m) => Max::Limited(m.as_u64().filter(|m| *m >= 1).ok_or_else(|| {
                        SchemaError::new(at, "max must be a positive integer or \"unlimited\"")
                    })?),
                };
                Ok(ColumnType {
                    key,
                    value,
                    min,
                    max,
                })
            }
            _ => Err(SchemaError::new(
                at,
                "type is neither a string nor an object",
            )),
        }
    }
}

impl BaseType {
    fn from_json(v: &Json, at: &str) -> Result<Self, SchemaError> {
        match v {
            Json::String(s) => {
                let atomic = AtomicType::from_name(s)
                    .ok_or_else(|| SchemaError::new(at, format!("unknown atomic type {s:?}")))?;
                Ok(BaseType::new(atomic))
            }
            Json::Object(o) => {
                let tname = o
                    .get("type")
                    .and_then(Json::as_str)
                    .ok_or_else(|| SchemaError::new(at, "base type has no type"))?;
                let atomic = AtomicType::from_name(tname).ok_or_else(|| {
                    SchemaError::new(at, format!("unknown atomic type {tname:?}"))
                })?;
                let mut b = BaseType::new(atomic);
                if let Some(e) = o.get("enum") {
                    let d: Datum = serde_json::from_value(e.clone())
                        .map_err(|err| SchemaError::new(at, format!("bad enum: {err}")))?;
                    let atoms: Vec<Atom> = d
                        .as_set()
                        .iter()
                        .cloned()
                        .map(|a| a.coerce(atomic))
                        .collect();
                    let mut atoms = atoms;
                    atoms.sort();
                    atoms.dedup();
                    b.enumeration = Some(atoms);
                }
                let int = |k: &str| {
                    o.get(k)
                        .map(|v| {
                            v.as_i64().ok_or_else(|| {
                                SchemaError::new(at, format!("{k} is not an integer"))
                            })
                        })
                        .transpose()
                };
                let real = |k: &str| {
                    o.get(k)
                        .map(|v| {
                            v.as_f64()
                                .ok_or_else(|| SchemaError::new(at, format!("{k} is not a number")))
                        })
                        .transpose()
                };
                let uint = |k: &str| {
                    o.get(k)
                        .map(|v| {
                            v.as_u64().ok_or_else(|| {
                                SchemaError::new(at, format!("{k} is not a non-negative integer"))
                            })
                        })
                        .transpose()
                };
                b.min_integer = int("minInteger")?;
                b.max_integer = int("maxInteger")?;
                b.min_real = real("minReal")?;
                b.max_real = real("maxReal")?;
                b.min_length = uint("minLength")?;
                b.max_length = uint("maxLength")?;
                b.ref_table = o
                    .get("refTable")
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| SchemaError::new(at, "refTable is not a string"))
                    })
                    .transpose()?;
                b.ref_type = match o.get("refType").and_then(Json::as_str) {
                    None | Some("strong") => RefType::Strong,
                    Some("weak") => RefType::Weak,
                    Some(other) => {
                        return Err(SchemaError::new(
                            at,
                            format!("refType {other:?} is neither strong nor weak"),
                        ));
                    }
                };
                Ok(b)
            }
            _ => Err(SchemaError::new(
                at,
                "base type is neither a string nor an object",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for DatabaseSchema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Json::deserialize(d)?;
        DatabaseSchema::from_json(&v).map_err(de::Error::custom)
    }
}

impl Serialize for DatabaseSchema {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl DatabaseSchema {
    /// The schema as JSON, in the `.ovsschema` form.
    pub fn to_json(&self) -> Json {
        let mut tables = serde_json::Map::new();
        for (name, t) in &self.tables {
            let mut cols = serde_json::Map::new();
            for (cname, c) in &t.columns {
                let mut co = serde_json::Map::new();
                co.insert("type".into(), c.ty.to_json());
                if c.ephemeral {
                    co.insert("ephemeral".into(), Json::Bool(true));
                }
                if !c.mutable {
                    co.insert("mutable".into(), Json::Bool(false));
                }
                cols.insert(cname.clone(), Json::Object(co));
            }
            let mut to = serde_json::Map::new();
            to.insert("columns".into(), Json::Object(cols));
            if let Some(m) = t.max_rows {
                to.insert("maxRows".into(), m.into());
            }
            if t.is_root {
                to.insert("isRoot".into(), Json::Bool(true));
            }
            if !t.indexes.is_empty() {
                to.insert(
                    "indexes".into(),
                    serde_json::to_value(&t.indexes).unwrap_or_default(),
                );
            }
            tables.insert(name.clone(), Json::Object(to));
        }
        let mut o = serde_json::Map::new();
        o.insert("name".into(), self.name.clone().into());
        o.insert("version".into(), self.version.clone().into());
        if let Some(c) = &self.cksum {
            o.insert("cksum".into(), c.clone().into());
        }
        o.insert("tables".into(), Json::Object(tables));
        Json::Object(o)
    }
}

impl ColumnType {
    /// The type as schema JSON.
    pub fn to_json(&self) -> Json {
        if self.is_scalar() && self.key == BaseType::new(self.key.atomic) {
            return Json::String(self.key.atomic.as_str().into());
        }
        let mut o = serde_json::Map::new();
        o.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            o.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            o.insert("min".into(), self.min.into());
        }
        match self.max {
            Max::Limited(1) => {}
            Max::Limited(m) => {
                o.insert("max".into(), m.into());
            }
            Max::Unlimited => {
                o.insert("max".into(), "unlimited".into());
            }
        }
        Json::Object(o)
    }
}

impl BaseType {
    fn to_json(&self) -> Json {
        if *self == BaseType::new(self.atomic) {
            return Json::String(self.atomic.as_str().into());
        }
        let mut o = serde_json::Map::new();
        o.insert("type".into(), self.atomic.as_str().into());
        if let Some(e) = &self.enumeration {
            o.insert(
                "enum".into(),
                serde_json::to_value(Datum::Set(e.clone())).unwrap_or_default(),
            );
        }
        if let Some(v) = self.min_integer {
            o.insert("minInteger".into(), v.into());
        }
        if let Some(v) = self.max_integer {
            o.insert("maxInteger".into(), v.into());
        }
        if let Some(v) = self.min_real {
            o.insert("minReal".into(), v.into());
        }
        if let Some(v) = self.max_real {
            o.insert("maxReal".into(), v.into());
        }
        if let Some(v) = self.min_length {
            o.insert("minLength".into(), v.into());
        }
        if let Some(v) = self.max_length {
            o.insert("maxLength".into(), v.into());
        }
        if let Some(t) = &self.ref_table {
            o.insert("refTable".into(), t.clone().into());
            if self.ref_type == RefType::Weak {
                o.insert("refType".into(), "weak".into());
            }
        }
        Json::Object(o)
    }
}

#[cfg(test)]
#[path = "schema/tests.rs"]
mod tests;
