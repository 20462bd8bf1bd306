//! Datums: the value of a column, a set of atoms or a map of atom pairs (RFC 7047 section 5.1).
//!
//! Sets and maps are kept sorted by key (and de-duplicated), so equality and update2 diffs are
//! linear. A scalar column holds a one-element set. On the wire a one-element set is sent as the
//! bare atom, which [`Datum`]'s serde implementation does in both directions.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::atom::{Atom, AtomOrTagged, AtomOrTaggedVisitor, AtomicType};
use crate::schema::ColumnType;

/// The value of one column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Datum {
    /// A set of atoms, sorted and without duplicates. A scalar is a one-element set.
    Set(Vec<Atom>),
    /// A map, sorted by key, with unique keys.
    Map(Vec<(Atom, Atom)>),
}

impl Default for Datum {
    fn default() -> Self {
        Datum::Set(Vec::new())
    }
}

impl Datum {
    /// The empty set.
    pub fn empty() -> Self {
        Datum::Set(Vec::new())
    }

    /// The empty map.
    pub fn empty_map() -> Self {
        Datum::Map(Vec::new())
    }

    /// A one-element set: the value of a scalar column.
    pub fn scalar(atom: impl Into<Atom>) -> Self {
        Datum::Set(vec![atom.into()])
    }

    /// A set from atoms in any order; duplicates are dropped.
    pub fn set(atoms: impl IntoIterator<Item = impl Into<Atom>>) -> Self {
        let mut v: Vec<Atom> = atoms.into_iter().map(Into::into).collect();
        sort_dedup(&mut v);
        Datum::Set(v)
    }

    /// A map from pairs in any order; for a repeated key the last value wins.
    pub fn map(pairs: impl IntoIterator<Item = (impl Into<Atom>, impl Into<Atom>)>) -> Self {
        let mut v: Vec<(Atom, Atom)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        sort_dedup_pairs(&mut v);
        Datum::Map(v)
    }

    /// Number of elements (set members or map pairs).
    pub fn len(&self) -> usize {
        match self {
            Datum::Set(s) => s.len(),
            Datum::Map(m) => m.len(),
        }
    }

    /// True for an empty set or map.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The set's atoms (empty for a map).
    pub fn as_set(&self) -> &[Atom] {
        match self {
            Datum::Set(s) => s,
            Datum::Map(_) => &[],
        }
    }

    /// The map's pairs (empty for a set).
    pub fn as_map(&self) -> &[(Atom, Atom)] {
        match self {
            Datum::Map(m) => m,
            Datum::Set(_) => &[],
        }
    }

    /// The only atom of a one-element set.
    pub fn as_scalar(&self) -> Option<&Atom> {
        match self {
            Datum::Set(s) if s.len() == 1 => s.first(),
            _ => None,
        }
    }

    /// Looks up a key in a map.
    pub fn get(&self, key: &Atom) -> Option<&Atom> {
        match self {
            Datum::Map(m) => m
                .binary_search_by(|(k, _)| k.cmp(key))
                .ok()
                .map(|i| &m[i].1),
            Datum::Set(_) => None,
        }
    }

    /// Looks up a string key in a map of strings, e.g. `external_ids`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self {
            Datum::Map(m) => m
                .binary_search_by(|(k, _)| match k {
                    Atom::String(s) => s.as_str().cmp(key),
                    other => other.cmp(&Atom::String(String::new())),
                })
                .ok()
                .and_then(|i| m[i].1.as_str()),
            Datum::Set(_) => None,
        }
    }

    /// True when the set contains the atom, or the map contains the key.
    pub fn contains(&self, atom: &Atom) -> bool {
        match self {
            Datum::Set(s) => s.binary_search(atom).is_ok(),
            Datum::Map(m) => m.binary_search_by(|(k, _)| k.cmp(atom)).is_ok(),
        }
    }

    /// The default value of a column of type `ty`: empty when `min` is 0, otherwise the
    /// default atom (0, 0.0, false, "", all-zero UUID), mapped to the value default for maps.
    pub fn default_for(ty: &ColumnType) -> Self {
        if ty.min == 0 {
            return if ty.value.is_some() {
                Datum::empty_map()
            } else {
                Datum::empty()
            };
        }
        match &ty.value {
            Some(v) => Datum::Map(vec![(
                ty.key.atomic.default_atom(),
                v.atomic.default_atom(),
            )]),
            None => Datum::Set(vec![ty.key.atomic.default_atom()]),
        }
    }

    /// Adapts a datum decoded without its schema to the column type: a map column's empty
    /// `["set",[]]` becomes an empty map, and integers in real columns become reals.
    pub fn coerce(self, ty: &ColumnType) -> Self {
        let key_real = ty.key.atomic == AtomicType::Real;
        let val_real = ty
            .value
            .as_ref()
            .is_some_and(|v| v.atomic == AtomicType::Real);
        match (self, &ty.value) {
            (Datum::Set(s), Some(_)) if s.is_empty() => Datum::empty_map(),
            (Datum::Set(s), None) if key_real => {
                let mut v: Vec<Atom> = s.into_iter().map(|a| a.coerce(AtomicType::Real)).collect();
                sort_dedup(&mut v);
                Datum::Set(v)
            }
            (Datum::Map(m), Some(_)) if key_real || val_real => {
                let mut v: Vec<(Atom, Atom)> = m
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            if key_real {
                                k.coerce(AtomicType::Real)
                            } else {
                                k
                            },
                            if val_real {
                                v.coerce(AtomicType::Real)
                            } else {
                                v
                            },
                        )
                    })
                    .collect();
                sort_dedup_pairs(&mut v);
                Datum::Map(v)
            }
            (d, _) => d,
        }
    }

    /// Applies an update2 `modify` diff to this (old) value, as ovsdb-server computes it:
    /// for a column of at most one element (scalar or optional) the diff is the new value; for a set it is the symmetric difference;
    /// for a map, a diff pair whose key is absent is added, one whose key is present with the
    /// same value is removed, and one whose key is present with another value replaces it.
    pub fn apply_diff(&self, diff: &Datum, ty: &ColumnType) -> Datum {
        // ovsdb-server sends the new value, not a difference, for every column of at most one
        // element (scalar or optional): clearing an optional column arrives as ["set",[]].
        if ty.max == crate::schema::Max::Limited(1) {
            return diff.clone();
        }
        match (self, diff) {
            (Datum::Map(old), Datum::Map(d)) => Datum::Map(apply_map_diff(old, d)),
            (Datum::Map(old), Datum::Set(d)) if d.is_empty() => Datum::Map(old.clone()),
            (Datum::Set(old), Datum::Map(d)) if old.is_empty() => Datum::Map(d.clone()),
            (Datum::Set(old), Datum::Set(d)) => Datum::Set(symmetric_difference(old, d)),
            // A diff whose shape disagrees with the old value: the diff is all we know.
            (_, d) => d.clone(),
        }
    }

    /// The update2 diff that turns `self` into `new` (inverse of [`Datum::apply_diff`]).
    pub fn diff(&self, new: &Datum, ty: &ColumnType) -> Datum {
        if ty.max == crate::schema::Max::Limited(1) {
            return new.clone();
        }
        match (self, new) {
            (Datum::Map(old), Datum::Map(new)) => Datum::Map(map_diff(old, new)),
            (Datum::Set(old), Datum::Set(new)) => Datum::Set(symmetric_difference(old, new)),
            (_, n) => n.clone(),
        }
    }
}

fn sort_dedup(v: &mut Vec<Atom>) {
    if !v.is_sorted_by(|a, b| a < b) {
        v.sort();
        v.dedup();
    }
}

fn sort_dedup_pairs(v: &mut Vec<(Atom, Atom)>) {
    if !v.is_sorted_by(|a, b| a.0 < b.0) {
        // Stable sort keeps the input order among equal keys; keep the last one.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Atom, Atom)> = Vec::with_capacity(v.len());
        for (k, val) in v.drain(..) {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        *v = out;
    }
}

fn symmetric_difference(a: &[Atom], b: &[Atom]) -> Vec<Atom> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn apply_map_diff(old: &[(Atom, Atom)], diff: &[(Atom, Atom)]) -> Vec<(Atom, Atom)> {
    let mut out = Vec::with_capacity(old.len() + diff.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < diff.len() {
        match old[i].0.cmp(&diff[j].0) {
            std::cmp::Ordering::Less => {
                out.push(old[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(diff[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if old[i].1 != diff[j].1 {
                    out.push(diff[j].clone());
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&old[i..]);
    out.extend_from_slice(&diff[j..]);
    out
}

fn map_diff(old: &[(Atom, Atom)], new: &[(Atom, Atom)]) -> Vec<(Atom, Atom)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < new.len() {
        match old[i].0.cmp(&new[j].0) {
            std::cmp::Ordering::Less => {
                out.push(old[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(new[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if old[i].1 != new[j].1 {
                    out.push(new[j].clone());
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&old[i..]);
    out.extend_from_slice(&new[j..]);
    out
}

impl From<Atom> for Datum {
    fn from(a: Atom) -> Self {
        Datum::Set(vec![a])
    }
}

macro_rules! scalar_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Datum {
            fn from(v: $t) -> Self {
                Datum::Set(vec![Atom::from(v)])
            }
        }
    )*};
}
scalar_from!(i64, f64, bool, &str, String, crate::atom::Uuid);

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Set(s) if s.len() == 1 => write!(f, "{}", s[0]),
            Datum::Set(s) => {
                f.write_str("[")?;
                for (i, a) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str("]")
            }
            Datum::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl Serialize for Datum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Datum::Set(s) if s.len() == 1 => s[0].serialize(serializer),
            Datum::Set(s) => {
                let mut seq = serializer.serialize_seq(Some(2))?;
                seq.serialize_element("set")?;
                seq.serialize_element(s)?;
                seq.end()
            }
            Datum::Map(m) => {
                struct Pairs<'a>(&'a [(Atom, Atom)]);
                impl Serialize for Pairs<'_> {
                    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        let mut seq = s.serialize_seq(Some(self.0.len()))?;
                        for (k, v) in self.0 {
                            seq.serialize_element(&(k, v))?;
                        }
                        seq.end()
                    }
                }
                let mut seq = serializer.serialize_seq(Some(2))?;
                seq.serialize_element("map")?;
                seq.serialize_element(&Pairs(m))?;
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Datum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match d.deserialize_any(AtomOrTaggedVisitor)? {
            AtomOrTagged::Atom(a) => Datum::Set(vec![a]),
            AtomOrTagged::Set(mut s) => {
                if s.iter().any(|a| matches!(a, Atom::Real(r) if r.is_nan())) {
                    return Err(de::Error::custom("NaN in a set"));
                }
                sort_dedup(&mut s);
                Datum::Set(s)
            }
            AtomOrTagged::Map(mut m) => {
                sort_dedup_pairs(&mut m);
                Datum::Map(m)
            }
        })
    }
}

#[cfg(test)]
#[path = "datum/tests.rs"]
mod tests;
