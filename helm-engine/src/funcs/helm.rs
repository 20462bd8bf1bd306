//! Helm's own template functions: `include`, `tpl`, `required`, the YAML/JSON/TOML codecs and
//! `lookup` (which, as in `helm template`, finds nothing).

use super::{Registry, arg_str, s};
use crate::template::exec::{Shared, V};
use crate::template::{HELM_ERR_END, HELM_ERR_START, format};
use crate::value::{Map, Value};
use std::borrow::Cow;

mod toml_decode;

pub(super) fn register(r: &mut Registry) {
    r.ctx("include", "sa", include);
    r.ctx("tpl", "sa", tpl);
    r.ctx("required", "sa", required);
    // Helm gives "" when the encoder fails (a time it cannot marshal).
    r.shared("toYaml", "a", |a| match json_view(a[0]) {
        Err(e) if e.starts_with(MARSHAL_ERROR) => s(String::new()),
        v => s(crate::yaml::to_yaml(&v?).unwrap_or_default()),
    });
    r.shared("toYamlPretty", "a", |a| match json_view(a[0]) {
        Err(e) if e.starts_with(MARSHAL_ERROR) => s(String::new()),
        v => s(crate::yaml::to_yaml_pretty(&v?)),
    });
    r.plain("fromToml", "s", |a| {
        Ok(Value::Map(match toml_decode::decode(arg_str(a, 0)) {
            Ok(m) => m,
            Err(e) => {
                let mut m = Map::new();
                m.insert("Error".into(), Value::String(e));
                m
            }
        }))
    });
    r.plain("fromYaml", "s", |a| {
        Ok(Value::Map(match from_yaml_map(arg_str(a, 0)) {
            Ok(m) => m,
            Err(e) => {
                let mut m = Map::new();
                m.insert("Error".into(), Value::String(e));
                m
            }
        }))
    });
    r.plain("fromYamlArray", "s", |a| {
        Ok(Value::List(match from_yaml_list(arg_str(a, 0)) {
            Ok(l) => l,
            Err(e) => vec![Value::String(e)],
        }))
    });
    r.shared("toJson", "a", |a| s(lenient_json(a[0], true, None)?));
    r.shared("mustToJson", "a", |a| {
        to_json(&json_view_keep_structs(a[0])?, true, None).map(Value::String)
    });
    r.shared("toPrettyJson", "a", |a| {
        s(lenient_json(a[0], true, Some("  "))?)
    });
    r.shared("mustToPrettyJson", "a", |a| {
        to_json(&json_view_keep_structs(a[0])?, true, Some("  ")).map(Value::String)
    });
    // Sprig's toRawJson panics on an encoder error, which the template reports.
    r.shared("toRawJson", "a", |a| {
        to_json(&json_view_keep_structs(a[0])?, false, None).map(Value::String)
    });
    r.shared("mustToRawJson", "a", |a| {
        to_json(&json_view_keep_structs(a[0])?, false, None).map(Value::String)
    });
    r.plain("fromJson", "s", |a| {
        Ok(match from_json(arg_str(a, 0)) {
            Ok(Value::Map(m)) => Value::Map(m),
            Ok(other) => error_map(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => error_map(e),
        })
    });
    r.plain("mustFromJson", "s", |a| from_json(arg_str(a, 0)));
    // Sprig's own fromJson, which `--name-template` gets: any JSON value, nil on an error.
    r.plain("name-template:fromJson", "s", |a| {
        Ok(from_json(arg_str(a, 0)).unwrap_or(Value::Nil))
    });
    r.plain("fromJsonArray", "s", |a| {
        Ok(match from_json(arg_str(a, 0)) {
            Ok(Value::List(l)) => Value::List(l),
            Ok(other) => Value::List(vec![Value::String(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::List(vec![Value::String(e)]),
        })
    });
    // Shared so that Go types inside (a nil `[]*chart.Dependency`) reach the encoder as they
    // are; a map that holds itself is still an error.
    r.shared("toToml", "a", |a| {
        crate::value::materialize(a[0])?;
        if matches!(a[0], Value::Nil) {
            // The encoder asks reflect for the type of nil, which panics.
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        s(match to_toml(a[0]) {
            Ok(t) => t,
            Err(e) => e,
        })
    });
    r.plain("lookup", "ssss", |_| Ok(Value::Map(Map::new())));
    // Helm replaces Sprig's `fail` so that its message reaches the user without the template
    // trace, like `required`'s.
    r.plain("fail", "s", |a| {
        Err(format!("{HELM_ERR_START}{}{HELM_ERR_END}", arg_str(a, 0)))
    });
}

/// How `encoding/json` reports a `MarshalJSON` method's failure.
const MARSHAL_ERROR: &str = "json: error calling MarshalJSON";

/// The value as `encoding/json` sees it (Helm's YAML goes through JSON): Go structs (such as
/// `.Chart`) become maps of their JSON fields, slice and map types their plain values, and a
/// nil slice `null`. Fails when a map contains itself.
pub(crate) fn json_view(v: &Value) -> Result<Value, String> {
    crate::value::materialize(v)?;
    json_view_in(v, true)
}

/// [`json_view`] for `encoding/json` itself, which keeps Go structs (their fields are written
/// in declaration order by [`to_json`]).
fn json_view_keep_structs(v: &Value) -> Result<Value, String> {
    crate::value::materialize(v)?;
    json_view_in(v, false)
}

fn json_view_in(v: &Value, structs: bool) -> Result<Value, String> {
    let json_view = |x: &Value| json_view_in(x, structs);
    Ok(match v {
        Value::Object(o) if !structs && o.json_fields().is_some() => v.clone(),
        // Kept: the JSON and YAML writers put named integers as exact numbers (a `uint64`
        // past 2^63 would lose digits as a float).
        Value::Object(o) if o.go_int().is_some() => v.clone(),
        Value::Object(o) if o.typed_list().is_some_and(|t| t.nil) => Value::Nil,
        Value::Object(o) if o.as_shared_map().is_some_and(|m| m.is_nil()) => Value::Nil,
        Value::Object(o) if o.typed_list().is_some() || o.as_shared_map().is_some() => {
            json_view(&crate::value::materialize_shallow(v))?
        }
        Value::List(l) => Value::List(l.iter().map(json_view).collect::<Result<_, _>>()?),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), json_view(x)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(o) if o.type_name() == "time.Time" => {
            match super::dates::json_text(o.as_ref()) {
                Some(t) => Value::String(t?),
                None => v.clone(),
            }
        }
        Value::Object(o) => {
            if let Some(fields) = o.json_fields() {
                let mut m = Map::new();
                for (k, x) in fields {
                    m.insert(k, json_view(&crate::value::materialize(&x)?)?);
                }
                Value::Map(m)
            } else if let Some(p) = o.json_plain() {
                json_view(&p)?
            } else {
                v.clone()
            }
        }
        other => other.clone(),
    })
}

/// Helm's `toJson` family: `json.Marshal`'s errors give "" (a map holding itself is still an
/// error, as Go would never return).
fn lenient_json(v: &Value, html: bool, indent: Option<&str>) -> Result<String, String> {
    match json_view_keep_structs(v) {
        Err(e) if e.starts_with(MARSHAL_ERROR) => Ok(String::new()),
        v => Ok(to_json(&v?, html, indent).unwrap_or_default()),
    }
}

fn error_map(e: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::String(e));
    Value::Map(m)
}

fn include<'a>(sh: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let dot = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let name = a.pop().map(V::into_value).unwrap_or_default();
    let name = match &name {
        Value::String(n) => n.as_str(),
        _ => "",
    };
    sh.include(name, dot).map(|s| V::own(Value::String(s)))
}

fn tpl<'a>(sh: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let dot = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let text = a.pop().map(V::into_value).unwrap_or_default();
    let text = match &text {
        Value::String(t) => t.as_str(),
        _ => "",
    };
    sh.tpl(text, dot).map(|s| V::own(Value::String(s)))
}

fn required<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let val = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let warn = a.pop().map(V::into_value).unwrap_or_default();
    let warn = match &warn {
        Value::String(w) => w.clone(),
        _ => String::new(),
    };
    match val.get() {
        Value::Nil => Err(format::sprintf(
            &format!("{HELM_ERR_START}{warn}{HELM_ERR_END}"),
            &[],
        )),
        Value::String(s) if s.is_empty() => Err(format::sprintf(
            &format!("{HELM_ERR_START}{warn}{HELM_ERR_END}"),
            &[],
        )),
        _ => Ok(val),
    }
}

/// `sigs.k8s.io/yaml.Unmarshal` into a `map[string]interface{}`.
fn from_yaml_map(text: &str) -> Result<Map, String> {
    match crate::yaml::from_yaml(text).map_err(|e| e.to_string())? {
        Value::Map(m) => Ok(m),
        Value::Nil => Ok(Map::new()),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
    }
}

fn from_yaml_list(text: &str) -> Result<Vec<Value>, String> {
    match crate::yaml::from_yaml(text).map_err(|e| e.to_string())? {
        Value::List(l) => Ok(l),
        Value::Nil => Ok(vec![]),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&other)
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}

/// Go's `json.Unmarshal` into `interface{}`: numbers become float64.
pub(crate) fn from_json(text: &str) -> Result<Value, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| json_error(text, &e))?;
    Ok(json_to_value(v))
}

fn json_error(text: &str, e: &serde_json::Error) -> String {
    if text.trim().is_empty() {
        return "unexpected end of JSON input".into();
    }
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of JSON input".into(),
        _ => {
            // Go names the offending character; find it from serde's line/column.
            let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("");
            let ch = line
                .chars()
                .nth(e.column().saturating_sub(1))
                .unwrap_or(' ');
            format!(
                "invalid character {} looking for beginning of value",
                go_char(ch)
            )
        }
    }
}

fn go_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        c => format!("'{c}'"),
    }
}

pub(crate) fn json_to_value(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(a) => Value::List(a.into_iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => {
            Value::Map(o.into_iter().map(|(k, v)| (k, json_to_value(v))).collect())
        }
    }
}

/// Go's `json.Marshal` (sorted keys, HTML-safe escaping when `html`), indented when `indent`
/// is set (`json.MarshalIndent` with an empty prefix).
pub(crate) fn to_json(v: &Value, html: bool, indent: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, html, indent, 0)?;
    Ok(out)
}

/// `json.MarshalIndent`'s line break and indentation before something at `depth`; nothing
/// when not indenting.
fn json_newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

/// A JSON object of `fields` (in the order given), written as [`write_json`] writes maps and
/// structs.
fn write_json_object<'a>(
    out: &mut String,
    fields: impl Iterator<Item = Result<(&'a str, Cow<'a, Value>), String>>,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), String> {
    let nl = |out: &mut String, d: usize| json_newline(out, indent, d);
    let mut empty = true;
    for field in fields {
        let (k, x) = field?;
        out.push(if empty { '{' } else { ',' });
        empty = false;
        nl(out, depth + 1);
        json_string(out, k, html);
        out.push(':');
        if indent.is_some() {
            out.push(' ');
        }
        write_json(out, &x, html, indent, depth + 1)?;
    }
    if empty {
        out.push_str("{}");
    } else {
        nl(out, depth);
        out.push('}');
    }
    Ok(())
}

fn write_json(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), String> {
    let nl = |out: &mut String, d: usize| json_newline(out, indent, d);
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "json: unsupported value: {}",
                    format::format_float(*f, 'g', None)
                ));
            }
            out.push_str(&crate::yaml::json_float(*f));
        }
        Value::String(s) => json_string(out, s, html),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write_json(out, x, html, indent, depth + 1)?;
            }
            nl(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let fields = m.iter().map(|(k, x)| Ok((k.as_str(), Cow::Borrowed(x))));
            write_json_object(out, fields, html, indent, depth)?;
        }
        Value::Object(o) if o.json_fields().is_some() => {
            let fields = o.json_fields().unwrap_or_default();
            let fields = fields
                .iter()
                .map(|(k, x)| Ok((k.as_str(), Cow::Owned(crate::value::materialize(x)?))));
            write_json_object(out, fields, html, indent, depth)?;
        }
        // Named integers (`time.Month`, a semver's `uint64` fields) are numbers to Go's
        // encoder, written exactly even past 2^63.
        Value::Object(o) if o.go_int().is_some() => {
            out.push_str(&o.go_int().unwrap_or_default().to_string());
        }
        Value::Object(o) if o.json_plain().is_some() => {
            let plain = o.json_plain().unwrap_or_default();
            write_json(out, &plain, html, indent, depth)?;
        }
        // Go's encoder refuses complex numbers, as it refuses NaN.
        Value::Object(o) if o.type_name() == "complex128" => {
            return Err("json: unsupported type: complex128".into());
        }
        Value::Object(o) => match super::dates::json_text(o.as_ref()) {
            Some(t) => json_string(out, &t?, html),
            None => json_string(out, &crate::yaml::object_text(o.as_ref()), html),
        },
    }
    Ok(())
}

/// A JSON string as `encoding/json` writes it; each byte that is not part of valid UTF-8
/// (a raw byte of [`crate::value::go_string`]) becomes `\ufffd`, as Go replaces it.
fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    if crate::value::has_raw_bytes(s) {
        let bytes = crate::value::go_bytes(s);
        for chunk in bytes.utf8_chunks() {
            json_chars(out, chunk.valid(), html);
            for _ in chunk.invalid() {
                out.push_str("\\ufffd");
            }
        }
    } else {
        json_chars(out, s, html);
    }
    out.push('"');
}

/// The characters of a JSON string as `encoding/json` (Go 1.22 and later) escapes them:
/// quote, backslash, `\b \f \n \r \t` by name, other control characters, U+2028 and U+2029
/// as `\u00XX`, and `<`, `>`, `&` too when `html`.
pub(crate) fn json_chars(out: &mut String, s: &str, html: bool) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// A value as BurntSushi/toml's encoder sees it: Go structs are tables of their fields in
/// declaration order (embedded structs flattened, nil fields left out), Go maps tables in
/// key order, slices (typed, `[]byte`, `chartutil.VersionSet`) arrays.
enum Tv {
    Leaf(Value),
    Nil,
    Array(Vec<Tv>),
    Table(Vec<(String, Tv)>),
}

fn toml_view(v: &Value) -> Result<Tv, String> {
    Ok(match v {
        Value::Nil => Tv::Nil,
        Value::List(l) => Tv::Array(l.iter().map(toml_view).collect::<Result<_, _>>()?),
        Value::Map(m) => Tv::Table(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), toml_view(x)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(o) => {
            if let Some(t) = o.typed_list() {
                if t.nil {
                    return Ok(Tv::Nil);
                }
                return Ok(Tv::Array(
                    t.items().iter().map(toml_view).collect::<Result<_, _>>()?,
                ));
            }
            if let Some(m) = o.as_shared_map() {
                if m.is_nil() {
                    return Ok(Tv::Nil);
                }
                return toml_view(&crate::value::materialize_shallow(v));
            }
            if let Some(fields) = crate::render::go_struct_fields(o.type_name()) {
                let mut out = Vec::new();
                struct_fields(o.as_ref(), fields, &mut out)?;
                return Ok(Tv::Table(out));
            }
            if let Some(b) = o.bytes() {
                return Ok(Tv::Array(
                    b.iter()
                        .map(|&x| Tv::Leaf(Value::Int(i64::from(x))))
                        .collect(),
                ));
            }
            match (o.type_name(), o.kind()) {
                // Only unexported fields: an empty table.
                ("*time.Location", _) => Tv::Table(Vec::new()),
                (_, "map") => Tv::Table(
                    o.entries()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, x)| Ok((crate::funcs::strval(&k), toml_view(&x)?)))
                        .collect::<Result<_, String>>()?,
                ),
                (_, "slice") => match o.json_plain() {
                    Some(p) => toml_view(&p)?,
                    None => Tv::Leaf(v.clone()),
                },
                _ => Tv::Leaf(v.clone()),
            }
        }
        other => Tv::Leaf(other.clone()),
    })
}

/// The fields of a Go struct for the TOML encoder, embedded structs' fields in their place.
fn struct_fields(
    o: &dyn crate::value::Object,
    fields: &[(&str, bool)],
    out: &mut Vec<(String, Tv)>,
) -> Result<(), String> {
    for &(name, embedded) in fields {
        let Some(x) = o.field(name) else {
            continue;
        };
        if embedded {
            if let Value::Object(inner) = &x {
                if let Some(f) = crate::render::go_struct_fields(inner.type_name()) {
                    struct_fields(inner.as_ref(), f, out)?;
                }
            }
            continue;
        }
        match toml_view(&x)? {
            Tv::Nil => {}
            t => out.push((name.to_string(), t)),
        }
    }
    Ok(())
}

/// BurntSushi's encoding of a map or struct: plain keys first, then tables, sub-tables
/// indented.
fn to_toml(v: &Value) -> Result<String, String> {
    // A nil slice is an empty array at the top; a nil map an empty table.
    if let Value::Object(o) = v {
        if o.typed_list().is_some_and(|t| t.nil) {
            return Ok("[]".into());
        }
        if o.as_shared_map().is_some_and(|m| m.is_nil()) {
            return Ok(String::new());
        }
    }
    let t = toml_view(v)?;
    match &t {
        Tv::Table(fields) => {
            let mut out = String::new();
            toml_table(&mut out, fields, &[], 0)?;
            Ok(out)
        }
        // BurntSushi's encoder writes a top-level scalar as a TOML value.
        Tv::Leaf(
            Value::String(_) | Value::Int(_) | Value::Int64(_) | Value::Float(_) | Value::Bool(_),
        ) => toml_value(&t),
        // Text marshalers (semver, times) encode as their text.
        Tv::Leaf(Value::Object(o))
            if o.type_name() == "*semver.Version" || o.type_name() == "time.Time" =>
        {
            toml_value(&t)
        }
        Tv::Leaf(Value::Object(o)) if o.type_name() == "complex128" => {
            Err("unsupported type for key '': complex128".into())
        }
        // Integer kinds of named types and `uint64` too (`time.Duration` as its text).
        Tv::Leaf(Value::Object(o)) if o.go_int().is_some() => toml_value(&t),
        // An array of tables needs a key to hang from.
        Tv::Array(l) if !is_table_array(l) => toml_value(&t),
        _ => Err("toml: top-level values must be Go maps or structs".into()),
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_quote(k)
    }
}

/// BurntSushi/toml's basic string: `"` and `\` escaped, `\b \t \n \f \r` by name, other
/// control characters and DEL as `\uXXXX`, everything else as it is.
fn toml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// BurntSushi's `isTableArray`: a non-empty array of tables only.
fn is_table_array(l: &[Tv]) -> bool {
    !l.is_empty() && l.iter().all(|x| matches!(x, Tv::Table(_)))
}

fn toml_value(t: &Tv) -> Result<String, String> {
    let v = match t {
        Tv::Nil => return Err("toml: cannot encode a nil value".into()),
        Tv::Array(l) => {
            if l.iter().any(|x| matches!(x, Tv::Nil)) {
                return Err("toml: cannot encode array with nil element".into());
            }
            let items: Result<Vec<String>, String> = l.iter().map(toml_value).collect();
            return Ok(format!("[{}]", items?.join(", ")));
        }
        Tv::Table(fields) => {
            let items: Result<Vec<String>, String> = fields
                .iter()
                .filter(|(_, x)| !matches!(x, Tv::Nil))
                .map(|(k, x)| Ok(format!("{} = {}", toml_key(k), toml_value(x)?)))
                .collect();
            return Ok(format!("{{{}}}", items?.join(", ")));
        }
        Tv::Leaf(v) => v,
    };
    Ok(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => {
            if f.is_sign_negative() { "-nan" } else { "nan" }.to_string()
        }
        Value::Float(f) if f.is_infinite() => if *f < 0.0 { "-inf" } else { "inf" }.to_string(),
        Value::Float(f) => {
            let s = format::format_float(*f, 'f', None);
            if s.contains('.') { s } else { format!("{s}.0") }
        }
        Value::String(s) => toml_quote(s),
        Value::Object(o) if o.type_name() == "time.Time" => {
            super::dates::toml_text(o.as_ref()).unwrap_or_else(|| format::go_quote(&o.format()))
        }
        Value::Object(o) if o.type_name() == "complex128" => {
            return Err("unsupported type: complex128".into());
        }
        // BurntSushi writes integer kinds as numbers (a `time.Month` is its number), except
        // `time.Duration`, which it writes as its text.
        Value::Object(o) if o.type_name() != "time.Duration" && o.go_int().is_some() => {
            o.go_int().unwrap_or_default().to_string()
        }
        Value::Object(o) => toml_quote(&o.format()),
        // Lists, maps and nil are views of their own (see `toml_view`).
        other => toml_value(&toml_view(other)?)?,
    })
}

fn toml_table(
    out: &mut String,
    fields: &[(String, Tv)],
    path: &[String],
    depth: usize,
) -> Result<(), String> {
    let ind = "  ".repeat(depth);
    let is_table = |v: &Tv| matches!(v, Tv::Table(_));
    let is_tables = |v: &Tv| matches!(v, Tv::Array(l) if is_table_array(l));
    for (k, v) in fields {
        if is_table(v) || is_tables(v) || matches!(v, Tv::Nil) {
            continue;
        }
        out.push_str(&format!("{ind}{} = {}\n", toml_key(k), toml_value(v)?));
    }
    for (k, v) in fields {
        let mut p = path.to_vec();
        p.push(toml_key(k));
        match v {
            Tv::Table(sub) => {
                // BurntSushi separates only top-level tables with a blank line; arrays of
                // tables get one at every depth.
                if depth == 0 && !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{ind}[{}]\n", p.join(".")));
                toml_table(out, sub, &p, depth + 1)?;
            }
            Tv::Array(l) if is_table_array(l) => {
                for x in l {
                    if let Tv::Table(sub) = x {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&format!("{ind}[[{}]]\n", p.join(".")));
                        toml_table(out, sub, &p, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    // TOML date-times depend on the local zone; the TOML golden files have no `tz` field, so
    // they are checked with `$TZ` unset (helm's local zone UTC), as they were recorded.
    use crate::funcs::dates::dates_tests::check_with_tz;

    #[test]
    fn json_like_go() {
        let mut m = Map::new();
        m.insert("b".into(), Value::Float(1e6));
        m.insert("a".into(), Value::String("<x&y>".into()));
        m.insert(
            "c".into(),
            Value::List(vec![Value::Nil, Value::Bool(true), Value::Float(1.5)]),
        );
        let v = Value::Map(m);
        assert_eq!(
            to_json(&v, true, None).unwrap(),
            r#"{"a":"\u003cx\u0026y\u003e","b":1000000,"c":[null,true,1.5]}"#
        );
        assert_eq!(
            to_json(&v, false, None).unwrap(),
            r#"{"a":"<x&y>","b":1000000,"c":[null,true,1.5]}"#
        );
        assert_eq!(
            to_json(&v, true, Some("  ")).unwrap(),
            "{\n  \"a\": \"\\u003cx\\u0026y\\u003e\",\n  \"b\": 1000000,\n  \"c\": [\n    null,\n    true,\n    1.5\n  ]\n}"
        );
        assert_eq!(from_json("{\"a\": 1}").unwrap(), {
            let mut m = Map::new();
            m.insert("a".into(), Value::Float(1.0));
            Value::Map(m)
        });
        assert_eq!(from_json("").unwrap_err(), "unexpected end of JSON input");
    }

    /// `toJson` and its kin write each byte that is not valid UTF-8 as `\ufffd`, as Go's
    /// `encoding/json` does. Recorded from helm 3.17.3.
    #[test]
    fn json_of_invalid_bytes_matches_helm() {
        crate::template::tests::check_golden(include_str!(
            "../template/testdata/json_invalid_bytes.json"
        ));
    }

    /// 227 malformed TOML documents (bad keys, unterminated and multi-line strings, bad
    /// escapes, control characters, invalid UTF-8, duplicate keys and tables, table
    /// redefinition, bad numbers and date-times, `+24:00` offsets, broken arrays and inline
    /// tables) give BurntSushi/toml v1.4's error text, line and last key, as in helm 3.17.3.
    #[test]
    fn toml_errors_match_helm() {
        check_with_tz(include_str!("../template/testdata/toml_errors.json"));
    }

    /// 300 random mutations of valid TOML documents (deleted, inserted and replaced
    /// characters), decoded or refused as helm 3.17.3 does.
    #[test]
    fn toml_mutations_match_helm() {
        check_with_tz(include_str!("../template/testdata/toml_mutations.json"));
    }

    /// Valid TOML of every kind (integers in every base, floats, strings with escapes and line
    /// continuations, quoted keys, dotted keys, implicit tables, arrays of tables, inline
    /// tables, date-times at their edges) decodes to helm 3.17.3's values and Go types.
    #[test]
    fn toml_documents_match_helm() {
        check_with_tz(include_str!("../template/testdata/toml_valid.json"));
    }
}
