//! Helm's own template functions: `include`, `tpl`, `required`, the YAML/JSON/TOML codecs and
//! `lookup` (which, as in `helm template`, finds nothing).

use super::{Registry, arg_str, s};
use crate::template::exec::{Shared, V};
use crate::template::{HELM_ERR_END, HELM_ERR_START, format};
use crate::value::{Map, Value};
use std::borrow::Cow;

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
        Ok(Value::Map(match from_toml(arg_str(a, 0)) {
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
    r.shared("toRawJson", "a", |a| s(lenient_json(a[0], false, None)?));
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
    r.plain("toToml", "a", |a| {
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
        Value::Object(o) if o.json_plain().is_some() => {
            let plain = o.json_plain().unwrap_or_default();
            write_json(out, &plain, html, indent, depth)?;
        }
        Value::Object(o) => match super::dates::json_text(o.as_ref()) {
            Some(t) => json_string(out, &t?, html),
            None => json_string(out, &crate::yaml::object_text(o.as_ref()), html),
        },
    }
    Ok(())
}

fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// BurntSushi/toml's encoding of a map: plain keys first, then tables, sub-tables indented.
fn to_toml(v: &Value) -> Result<String, String> {
    let v = &plain_lists(v);
    let m = match v {
        Value::Map(m) => m,
        // BurntSushi's encoder writes a top-level scalar as a TOML value.
        Value::String(_) | Value::Int(_) | Value::Int64(_) | Value::Float(_) | Value::Bool(_) => {
            return toml_value(v);
        }
        // An array of tables needs a key to hang from.
        Value::List(l) if !is_table_array(l) => return toml_value(v),
        // Text marshalers (semver, times) encode as their text.
        Value::Object(o) if o.type_name() == "*semver.Version" || o.type_name() == "time.Time" => {
            return toml_value(v);
        }
        _ => return Err("toml: top-level values must be Go maps or structs".into()),
    };
    let mut out = String::new();
    toml_table(&mut out, m, &[], 0)?;
    Ok(out)
}

/// The value with Go slice types (`[]string`, `[]map[string]interface {}`) as plain lists,
/// which BurntSushi's encoder treats alike.
fn plain_lists(v: &Value) -> Value {
    match v {
        Value::Object(o) => match o.typed_list() {
            Some(t) if !t.nil => Value::List(t.items().iter().map(plain_lists).collect()),
            _ => v.clone(),
        },
        Value::List(l) => Value::List(l.iter().map(plain_lists).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), plain_lists(x))).collect()),
        other => other.clone(),
    }
}

/// Helm's `fromToml` (BurntSushi/toml into `map[string]interface{}`): integers are int64,
/// floats float64, dates and times `time.Time` in BurntSushi's zones. Error texts are the
/// `toml` crate's, not BurntSushi's.
fn from_toml(text: &str) -> Result<Map, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(0, |r| {
            text[..r.start.min(text.len())].matches('\n').count() + 1
        });
        format!("toml: line {line}: {}", e.message().trim_end())
    })?;
    let mut cx = TomlCtx {
        text,
        headers: table_array_headers(text),
        path: Vec::new(),
    };
    toml_table_to_map(table, &mut cx)
}

/// The key paths of the `[[...]]` headers in a TOML document: BurntSushi decodes those
/// arrays of tables as `[]map[string]interface {}`, where an inline array of tables is
/// `[]interface {}`.
fn table_array_headers(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("[[") else {
            continue;
        };
        if let Some(path) = header_keys(rest) {
            out.push(path);
        }
    }
    out
}

/// The dotted key of a `[[` header up to its `]]`: bare, "basic" or 'literal' parts.
fn header_keys(mut s: &str) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t']);
        let key;
        if let Some(r) = s.strip_prefix('"') {
            let mut k = String::new();
            let mut chars = r.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => k.push('\n'),
                        't' => k.push('\t'),
                        'r' => k.push('\r'),
                        'b' => k.push('\u{8}'),
                        'f' => k.push('\u{c}'),
                        'u' | 'U' => return None,
                        c => k.push(c),
                    },
                    (_, c) => k.push(c),
                }
            };
            key = k;
            s = &r[end + 1..];
        } else if let Some(r) = s.strip_prefix('\'') {
            let end = r.find('\'')?;
            key = r[..end].to_string();
            s = &r[end + 1..];
        } else {
            let n = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(s.len());
            if n == 0 {
                return None;
            }
            key = s[..n].to_string();
            s = &s[n..];
        }
        keys.push(key);
        s = s.trim_start_matches([' ', '\t']);
        if let Some(r) = s.strip_prefix('.') {
            s = r;
        } else {
            return s.starts_with("]]").then_some(keys);
        }
    }
}

/// BurntSushi/toml's `time.Time` for a TOML date-time (see [`super::dates::toml_time`]);
/// a local time falls on January 1 of year 0.
fn toml_time(d: &toml::value::Datetime) -> Value {
    use super::dates::TomlZone;
    let (y, mo, day) = d.date.map_or((0, 1, 1), |x| {
        (i64::from(x.year), i64::from(x.month), i64::from(x.day))
    });
    let (h, mi, sec, nano) = d.time.map_or((0, 0, 0, 0), |t| {
        (
            i64::from(t.hour),
            i64::from(t.minute),
            i64::from(t.second.unwrap_or(0)),
            i128::from(t.nanosecond.unwrap_or(0)),
        )
    });
    let zone = match (d.offset, d.date.is_some(), d.time.is_some()) {
        (Some(toml::value::Offset::Z), _, _) => TomlZone::Utc,
        (Some(toml::value::Offset::Custom { minutes }), _, _) => {
            TomlZone::Offset(i32::from(minutes) * 60)
        }
        (None, true, true) => TomlZone::LocalDatetime,
        (None, true, false) => TomlZone::LocalDate,
        (None, _, _) => TomlZone::LocalTime,
    };
    let wall = super::dates::days_from_civil(y, mo, day) * 86_400 + h * 3600 + mi * 60 + sec;
    super::dates::toml_time(i128::from(wall) * 1_000_000_000 + nano, zone)
}

/// A table's values; `path` is its key path (array indices left out), `headers` the paths
/// of the document's `[[...]]` headers.
/// What the decoder carries along: the document, its `[[...]]` header paths, and the key
/// path (array indices left out) of the value at hand.
struct TomlCtx<'t> {
    text: &'t str,
    headers: Vec<Vec<String>>,
    path: Vec<String>,
}

fn toml_table_to_map(t: toml::Table, cx: &mut TomlCtx<'_>) -> Result<Map, String> {
    t.into_iter()
        .map(|(k, v)| {
            cx.path.push(k.clone());
            let v = toml_to_value(v, cx);
            cx.path.pop();
            Ok((k, v?))
        })
        .collect()
}

fn toml_to_value(v: toml::Value, cx: &mut TomlCtx<'_>) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Int64(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => {
            check_toml_datetime(&d, cx)?;
            toml_time(&d)
        }
        toml::Value::Array(a) => {
            let of_tables = !a.is_empty()
                && a.iter().all(toml::Value::is_table)
                && cx.headers.contains(&cx.path);
            let items = a
                .into_iter()
                .map(|x| toml_to_value(x, cx))
                .collect::<Result<Vec<_>, _>>()?;
            if of_tables {
                crate::value::TypedList::of("[]map[string]interface {}", items)
            } else {
                Value::List(items)
            }
        }
        toml::Value::Table(t) => Value::Map(toml_table_to_map(t, cx)?),
    })
}

/// BurntSushi/toml v1.4 reads TOML 1.0 date-times through Go's `time.Parse`, which wants
/// seconds and refuses a 60th second; the `toml` crate (TOML 1.1) takes both. Its error
/// names the line, the key and the value (with `t`, `z` and a space as `T`, `Z`, `T`).
fn check_toml_datetime(d: &toml::value::Datetime, cx: &TomlCtx<'_>) -> Result<(), String> {
    let Some(t) = d.time else {
        return Ok(());
    };
    if t.second.is_some_and(|s| s < 60) {
        return Ok(());
    }
    let shown = d.to_string();
    let normalised: String = cx
        .text
        .chars()
        .map(|c| match c {
            't' => 'T',
            'z' => 'Z',
            ' ' => 'T',
            c => c,
        })
        .collect();
    let line = normalised.find(&shown).map_or(1, |at| {
        cx.text[..at.min(cx.text.len())].matches('\n').count() + 1
    });
    Err(format!(
        "toml: line {line} (last key {}): invalid datetime: {}",
        format::go_quote(&cx.path.join(".")),
        format::go_quote(&shown)
    ))
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
fn is_table_array(l: &[Value]) -> bool {
    !l.is_empty() && l.iter().all(|x| matches!(x, Value::Map(_)))
}

fn toml_value(v: &Value) -> Result<String, String> {
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
        Value::List(l) => {
            if l.iter().any(|x| matches!(x, Value::Nil)) {
                return Err("toml: cannot encode array with nil element".into());
            }
            let items: Result<Vec<String>, String> = l.iter().map(toml_value).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Map(m) => {
            let items: Result<Vec<String>, String> = m
                .iter()
                .map(|(k, x)| Ok(format!("{} = {}", toml_key(k), toml_value(x)?)))
                .collect();
            format!("{{{}}}", items?.join(", "))
        }
        Value::Nil => return Err("toml: cannot encode a nil value".into()),
        Value::Object(o) if o.type_name() == "time.Time" => {
            super::dates::toml_text(o.as_ref()).unwrap_or_else(|| format::go_quote(&o.format()))
        }
        Value::Object(o) => toml_quote(&o.format()),
    })
}

fn toml_table(out: &mut String, m: &Map, path: &[String], depth: usize) -> Result<(), String> {
    let ind = "  ".repeat(depth);
    let is_table = |v: &Value| matches!(v, Value::Map(_));
    let is_table_array = |v: &Value| matches!(v, Value::List(l) if !l.is_empty() && l.iter().all(|x| matches!(x, Value::Map(_))));
    for (k, v) in m {
        if is_table(v) || is_table_array(v) || matches!(v, Value::Nil) {
            continue;
        }
        out.push_str(&format!("{ind}{} = {}\n", toml_key(k), toml_value(v)?));
    }
    for (k, v) in m {
        let mut p = path.to_vec();
        p.push(toml_key(k));
        if let Value::Map(sub) = v {
            // BurntSushi separates only top-level tables with a blank line; arrays of
            // tables get one at every depth.
            if depth == 0 && !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{}[{}]\n", "  ".repeat(depth), p.join(".")));
            toml_table(out, sub, &p, depth + 1)?;
        } else if is_table_array(v) {
            if let Value::List(l) = v {
                for x in l {
                    if let Value::Map(sub) = x {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&format!("{}[[{}]]\n", "  ".repeat(depth), p.join(".")));
                        toml_table(out, sub, &p, depth + 1)?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
