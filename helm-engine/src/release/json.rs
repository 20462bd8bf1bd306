//! JSON exactly as Go's `encoding/json` writes it, so a record we store is byte-for-byte what
//! Helm would store: HTML-safe string escapes (`<`, `>`, `&`, U+2028, U+2029 as `\u…`), float64
//! numbers in Go's shortest form (`1000000`, `1e+21`, `1e-7`), map keys sorted. Values decode as
//! Go's `interface{}` does: every JSON number becomes a float64.

use crate::value::{Map, Value};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::io;

/// A `serde_json` formatter with Go's `json.Marshal` conventions.
pub(crate) struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(crate::yaml::json_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serialises `v` with Go's `json.Marshal` conventions.
pub(crate) fn to_go_json<T: Serialize>(v: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    v.serialize(&mut ser)?;
    Ok(out)
}

/// A borrowed template value, serialised as Go marshals the `interface{}` it models.
pub(crate) struct JsonValue<'a>(pub &'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) | Value::Int64(i) => s.serialize_i64(*i),
            Value::Float(f) => {
                if f.is_finite() {
                    s.serialize_f64(*f)
                } else {
                    Err(ser::Error::custom(format!(
                        "json: unsupported value: {}",
                        crate::yaml::format_float_g(*f)
                    )))
                }
            }
            Value::String(x) => s.serialize_str(x),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for x in l {
                    seq.serialize_element(&JsonValue(x))?;
                }
                seq.end()
            }
            Value::Map(m) => serialize_map(m, s),
            Value::Object(o) => Err(ser::Error::custom(format!(
                "json: unsupported type: {}",
                o.type_name()
            ))),
        }
    }
}

/// Serialises a values map (keys are sorted: `Map` is ordered).
pub(crate) fn serialize_map<S: Serializer>(m: &Map, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, &JsonValue(v))?;
    }
    map.end()
}

/// Serialises an optional values map: Go's nil map is `null`.
pub(crate) fn serialize_opt_map<S: Serializer>(m: &Option<Map>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => serialize_map(m, s),
        None => s.serialize_unit(),
    }
}

/// Serialises a list of values.
pub(crate) fn serialize_list<S: Serializer>(l: &[Value], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(l.len()))?;
    for x in l {
        seq.serialize_element(&JsonValue(x))?;
    }
    seq.end()
}

/// A template value decoded from JSON as Go decodes into `interface{}`.
pub(crate) struct OwnedValue(pub Value);

impl<'de> Deserialize<'de> for OwnedValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(OwnedValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Float(i as f64))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Float(u as f64))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(OwnedValue(v)) = a.next_element()? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((k, OwnedValue(v))) = a.next_entry::<String, OwnedValue>()? {
            out.insert(k, v);
        }
        Ok(Value::Map(out))
    }
}

/// Decodes a values map; `null` is an empty map.
pub(crate) fn deserialize_map<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
    Ok(deserialize_opt_map(d)?.unwrap_or_default())
}

/// Decodes an optional values map, keeping `null` apart from `{}`.
pub(crate) fn deserialize_opt_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Map>, D::Error> {
    match OwnedValue::deserialize(d)?.0 {
        Value::Nil => Ok(None),
        Value::Map(m) => Ok(Some(m)),
        other => Err(de::Error::custom(format!(
            "expected a JSON object or null, found {other:?}"
        ))),
    }
}

/// Decodes a list of values; `null` is an empty list.
pub(crate) fn deserialize_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    match OwnedValue::deserialize(d)?.0 {
        Value::Nil => Ok(Vec::new()),
        Value::List(l) => Ok(l),
        other => Err(de::Error::custom(format!(
            "expected a JSON array or null, found {other:?}"
        ))),
    }
}

/// Go's `[]byte` in JSON: standard base64, `null` for nil.
pub(crate) mod bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Serialises bytes as standard base64.
    pub(crate) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    /// Decodes standard base64; `null` gives no bytes.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s {
            None => Ok(Vec::new()),
            Some(s) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| de::Error::custom(format!("invalid base64 bytes: {e}"))),
        }
    }

    /// Optional bytes: `None` is Go's nil slice, written as `null`.
    pub(crate) mod opt {
        use super::*;

        /// Serialises optional bytes.
        pub(crate) fn serialize<S: Serializer>(
            b: &Option<Vec<u8>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match b {
                Some(b) => super::serialize(b, s),
                None => s.serialize_unit(),
            }
        }

        /// Decodes optional bytes.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Vec<u8>>, D::Error> {
            let s: Option<String> = Option::deserialize(d)?;
            match s {
                None => Ok(None),
                Some(s) => base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map(Some)
                    .map_err(|e| de::Error::custom(format!("invalid base64 bytes: {e}"))),
            }
        }
    }
}

/// Go's nil slice in JSON: an empty `Vec` is written as `null`, and `null` decodes as empty.
pub(crate) mod nil_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialises an empty list as `null`.
    pub(crate) fn serialize<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            s.serialize_unit()
        } else {
            v.serialize(s)
        }
    }

    /// Decodes `null` as an empty list.
    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}
