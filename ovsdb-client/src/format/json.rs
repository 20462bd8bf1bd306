//! JSON the way OVS's `lib/json.c` holds, parses numbers and serializes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::atom::{Atom, AtomicType};
use crate::datum::Datum;
use crate::schema::ColumnType;

/// A JSON value as OVS holds it: integers and reals are distinct kinds, and objects are
/// serialized with their members sorted bytewise (what `JSSF_SORT` does, which every
/// `ovsdb-client` output uses).
#[derive(Debug, Clone, PartialEq)]
pub enum OvsJson {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A 64-bit integer, printed as `%lld`.
    Integer(i64),
    /// A double, printed as `%.15g` (see [`format_real`]).
    Real(f64),
    /// A string (never contains NUL: OVS rejects `\u0000`).
    String(String),
    /// An array.
    Array(Vec<OvsJson>),
    /// An object; members are kept (and printed) in bytewise order of their names.
    Object(BTreeMap<String, OvsJson>),
}

impl OvsJson {
    /// A JSON string.
    pub fn string(s: impl Into<String>) -> Self {
        OvsJson::String(s.into())
    }

    /// The value an OVS tool holds after parsing a server's JSON text, given that text parsed
    /// by serde_json.
    ///
    /// OVS's number lexer turns every number whose decimal value is a whole number in the
    /// 64-bit range into an integer: a server prints the real 1e15 as `1e+15`, and the C tool
    /// holds (and prints) the integer `1000000000000000`. Servers print reals as `%.15g`, so
    /// the text is recovered from the double exactly.
    pub fn from_wire(value: &Value) -> Self {
        match value {
            Value::Null => OvsJson::Null,
            Value::Bool(b) => OvsJson::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    OvsJson::Integer(i)
                } else if let Some(u) = n.as_u64() {
                    // Beyond i64: OVS's lexer falls back to strtod.
                    OvsJson::Real(u as f64)
                } else {
                    relexed_real(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => OvsJson::String(s.clone()),
            Value::Array(a) => OvsJson::Array(a.iter().map(OvsJson::from_wire).collect()),
            Value::Object(o) => OvsJson::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), OvsJson::from_wire(v)))
                    .collect(),
            ),
        }
    }

    /// An atom as `ovsdb_atom_to_json` builds it: reals stay reals.
    pub fn from_atom(atom: &Atom) -> Self {
        match atom {
            Atom::Integer(i) => OvsJson::Integer(*i),
            Atom::Real(r) => OvsJson::Real(*r),
            Atom::Boolean(b) => OvsJson::Bool(*b),
            Atom::String(s) => OvsJson::String(s.clone()),
            Atom::Uuid(u) => tagged("uuid", OvsJson::string(u.hyphenated().to_string())),
            Atom::NamedUuid(n) => tagged("named-uuid", OvsJson::string(n.clone())),
        }
    }

    /// A datum as `ovsdb_datum_to_json` builds it for a column of type `ty`: a map column is
    /// always `["map",…]`; otherwise one element is the bare atom and anything else is
    /// `["set",…]`. Integers in real columns become reals, in OVS's order.
    pub fn from_datum(datum: &Datum, ty: &ColumnType) -> Self {
        let datum = datum.clone().coerce(ty);
        datum_json(&datum, ty.is_map(), &OvsJson::from_atom)
    }

    /// A datum as the C tools hold it after parsing a server's text for it (in a monitor
    /// update or a transaction reply): shaped like [`OvsJson::from_datum`], with reals
    /// re-lexed as in [`OvsJson::from_wire`].
    pub fn from_wire_datum(datum: &Datum) -> Self {
        let relex = |a: &Atom| match a {
            Atom::Real(r) => relexed_real(*r),
            other => OvsJson::from_atom(other),
        };
        // Our datums order integers before reals, but a real column's atoms (some of which
        // arrive as whole numbers) are in numeric order on the wire.
        let datum = match datum {
            Datum::Set(atoms) if atoms.iter().any(|a| matches!(a, Atom::Real(_))) => {
                let mut atoms = atoms.clone();
                atoms.sort_by(numeric_order);
                Datum::Set(atoms)
            }
            Datum::Map(pairs) if pairs.iter().any(|(k, _)| matches!(k, Atom::Real(_))) => {
                let mut pairs = pairs.clone();
                pairs.sort_by(|a, b| numeric_order(&a.0, &b.0));
                Datum::Map(pairs)
            }
            other => other.clone(),
        };
        datum_json(&datum, matches!(datum, Datum::Map(_)), &relex)
    }

    /// Serializes as `json_to_string(json, JSSF_SORT)`, or with `JSSF_PRETTY` too when
    /// `pretty` (two spaces per level, OVS's own placement of line breaks).
    pub fn to_text(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, pretty, 0);
        out
    }

    fn write(&self, out: &mut String, pretty: bool, depth: usize) {
        match self {
            OvsJson::Null => out.push_str("null"),
            OvsJson::Bool(true) => out.push_str("true"),
            OvsJson::Bool(false) => out.push_str("false"),
            OvsJson::Integer(i) => {
                let _ = write!(out, "{i}");
            }
            OvsJson::Real(r) => out.push_str(&format_real(*r)),
            OvsJson::String(s) => write_json_string(out, s),
            OvsJson::Array(a) => {
                out.push('[');
                if !a.is_empty() {
                    indent(out, pretty, depth + 1);
                    for (i, v) in a.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                            indent(out, pretty, depth + 1);
                        }
                        v.write(out, pretty, depth + 1);
                    }
                }
                out.push(']');
            }
            OvsJson::Object(o) => {
                out.push('{');
                // OVS breaks the line after `{` even for an empty object.
                indent(out, pretty, depth + 1);
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        indent(out, pretty, depth + 1);
                    }
                    write_json_string(out, k);
                    out.push(':');
                    if pretty {
                        out.push(' ');
                    }
                    v.write(out, pretty, depth + 1);
                }
                out.push('}');
            }
        }
    }
}

/// Numbers by value, anything else as [`Atom`] orders it.
fn numeric_order(a: &Atom, b: &Atom) -> std::cmp::Ordering {
    match (a.as_real(), b.as_real()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn tagged(tag: &str, value: OvsJson) -> OvsJson {
    OvsJson::Array(vec![OvsJson::string(tag), value])
}

fn datum_json(datum: &Datum, is_map: bool, atom: &dyn Fn(&Atom) -> OvsJson) -> OvsJson {
    match datum {
        Datum::Map(pairs) => tagged(
            "map",
            OvsJson::Array(
                pairs
                    .iter()
                    .map(|(k, v)| OvsJson::Array(vec![atom(k), atom(v)]))
                    .collect(),
            ),
        ),
        Datum::Set(atoms) if is_map && atoms.is_empty() => tagged("map", OvsJson::Array(vec![])),
        Datum::Set(atoms) if atoms.len() == 1 => atom(&atoms[0]),
        Datum::Set(atoms) => tagged("set", OvsJson::Array(atoms.iter().map(atom).collect())),
    }
}

fn indent(out: &mut String, pretty: bool, depth: usize) {
    if pretty {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', 2 * depth));
    }
}

/// Appends `s` as a JSON string the way OVS escapes it: `"` and `\`, the five short escapes,
/// other control characters as `\u00xx` (lowercase hex), everything else (including `/`,
/// DEL and non-ASCII) as is.
pub(crate) fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Formats a real as C's `printf("%.15g")`, which OVS uses for every real it prints
/// (`0.1`, `1e-07`, `1e+15`, `1.23456789012346e+17`).
pub fn format_real(r: f64) -> String {
    const DIGITS: i32 = 15;
    if r.is_nan() {
        return if r.is_sign_negative() { "-nan" } else { "nan" }.to_owned();
    }
    if r.is_infinite() {
        return if r < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    if r == 0.0 {
        return if r.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // %g picks the style from the exponent of the value rounded to 15 digits, and Rust's
    // exact formatting rounds ties to even like glibc.
    let scientific = format!("{:.*e}", (DIGITS - 1) as usize, r);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..DIGITS).contains(&exponent) {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    } else {
        let fixed = format!("{:.*}", (DIGITS - 1 - exponent) as usize, r);
        strip_fraction_zeros(&fixed).to_owned()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// What an OVS tool holds after lexing a server's text for the real `r`, which the server
/// printed as `%.15g`.
fn relexed_real(r: f64) -> OvsJson {
    lex_number(&format_real(r)).unwrap_or(OvsJson::Real(r))
}

/// OVS's number lexer (`json_lex_number`): a number whose exact decimal value is a whole
/// number that fits in 64 signed bits is an integer, anything else a real. `None` for text
/// that is not a JSON number.
pub(crate) fn lex_number(text: &str) -> Option<OvsJson> {
    let b = text.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u64::from(c - b'0'))
    };
    let mut i = 0;
    let negative = b.first() == Some(&b'-');
    if negative {
        i += 1;
    }
    let mut significand: u64 = 0;
    let mut pow10: i64 = 0;
    let mut imprecise = false;
    match b.get(i) {
        Some(b'0') => {
            i += 1;
            if digit(i).is_some() {
                return None;
            }
        }
        Some(c) if c.is_ascii_digit() => {
            while let Some(d) = digit(i) {
                if significand <= u64::MAX / 10 {
                    significand = significand.wrapping_mul(10).wrapping_add(d);
                } else {
                    pow10 += 1;
                    imprecise |= d != 0;
                }
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        digit(i)?;
        while let Some(d) = digit(i) {
            if significand <= u64::MAX / 10 {
                significand = significand.wrapping_mul(10).wrapping_add(d);
                pow10 -= 1;
            } else {
                imprecise |= d != 0;
            }
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative_exponent = b.get(i) == Some(&b'-');
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        digit(i)?;
        let mut exponent: i64 = 0;
        while let Some(d) = digit(i) {
            if exponent >= i64::from(i32::MAX / 10) {
                return None;
            }
            exponent = exponent * 10 + d as i64;
            i += 1;
        }
        pow10 += if negative_exponent {
            -exponent
        } else {
            exponent
        };
    }
    if i != b.len() {
        return None;
    }
    if significand == 0 {
        return Some(OvsJson::Integer(0));
    }
    if !imprecise {
        while pow10 > 0 && significand < u64::MAX / 10 {
            significand *= 10;
            pow10 -= 1;
        }
        while pow10 < 0 && significand % 10 == 0 {
            significand /= 10;
            pow10 += 1;
        }
        let limit = if negative {
            i64::MAX as u64 + 1
        } else {
            i64::MAX as u64
        };
        if pow10 == 0 && significand <= limit {
            let magnitude = significand as i64;
            return Some(OvsJson::Integer(if negative {
                magnitude.wrapping_neg()
            } else {
                magnitude
            }));
        }
    }
    let r: f64 = text.parse().ok()?;
    if !r.is_finite() {
        return None;
    }
    // OVS suppresses negative zero.
    Some(OvsJson::Real(if r == 0.0 { 0.0 } else { r }))
}

/// The atomic type a JSON atom has in a column, for rendering cells: integers in real columns
/// are reals.
pub(crate) fn atom_kind(json: &OvsJson, ty: AtomicType) -> Option<OvsJson> {
    match (json, ty) {
        (OvsJson::Integer(i), AtomicType::Real) => Some(OvsJson::Real(*i as f64)),
        (OvsJson::Real(_), AtomicType::Real)
        | (OvsJson::Integer(_), AtomicType::Integer)
        | (OvsJson::Bool(_), AtomicType::Boolean)
        | (OvsJson::String(_), AtomicType::String) => Some(json.clone()),
        (OvsJson::Array(a), AtomicType::Uuid) if a.len() == 2 => Some(json.clone()),
        _ => None,
    }
}
