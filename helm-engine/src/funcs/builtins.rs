//! Go `text/template`'s predefined functions.

use super::{P, Registry, arg_int, s};
use crate::template::exec::{Shared, V, is_true};
use crate::template::format::{self, type_name};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add_logic();
    r.shared("not", "a", |a| Ok(Value::Bool(!is_true(a[0]))));
    r.ctx("len", "a", |_, a| {
        if a[0].is_untyped_nil() {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        length(&[a[0].get()]).map(V::own)
    });
    r.ctx("index", "aa*", index);
    r.plain("print", "a*", |a| s(format::sprint(a)));
    r.plain("println", "a*", |a| s(format::sprintln(a)));
    r.shared("printf", "sa*", |a| {
        // Maps are formatted from their contents; one that contains itself cannot be.
        for v in &a[1..] {
            if crate::value::has_shared(v) {
                crate::value::materialize(v)?;
            }
        }
        let f = super::arg_str(a, 0);
        s(format::sprintf(f, &a[1..]))
    });
    r.plain("html", "a*", |a| s(html_escape(&eval_args(a))));
    r.plain("js", "a*", |a| s(js_escape(&eval_args(a))));
    r.plain("urlquery", "a*", |a| s(query_escape(&eval_args(a))));
    r.shared("eq", "aa*", |a| {
        if a.len() < 2 {
            return Err("missing argument for comparison".into());
        }
        for b in &a[1..] {
            if eq(a[0], b)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    r.shared("ne", "aa", |a| Ok(Value::Bool(!eq(a[0], a[1])?)));
    r.plain("lt", "aa", |a| Ok(Value::Bool(lt(a[0], a[1])?)));
    r.plain("le", "aa", |a| {
        Ok(Value::Bool(lt(a[0], a[1])? || eq(a[0], a[1])?))
    });
    r.plain("gt", "aa", |a| {
        Ok(Value::Bool(!(lt(a[0], a[1])? || eq(a[0], a[1])?)))
    });
    r.plain("ge", "aa", |a| Ok(Value::Bool(!lt(a[0], a[1])?)));
    let _ = arg_int;
}

impl Registry {
    /// The builtins the executor evaluates itself: `and` and `or` (lazily) and `call`.
    fn add_logic(&mut self) {
        self.add("and", "aa*", super::Imp::And);
        self.add("or", "aa*", super::Imp::Or);
        self.add("call", "aa*", super::Imp::Call);
    }
}

/// Go's `evalArgs`: a lone string as is, otherwise `fmt.Sprint`.
fn eval_args(a: &[&Value]) -> String {
    if let [Value::String(s)] = a {
        return s.clone();
    }
    // Go prints nil operands here as templates print them: `<no value>`.
    let no_value = Value::String("<no value>".into());
    let args: Vec<&Value> = a
        .iter()
        .map(|v| {
            if matches!(v, Value::Nil) {
                &no_value
            } else {
                *v
            }
        })
        .collect();
    format::sprint(&args)
}

fn length(a: &[&Value]) -> Result<Value, String> {
    match a[0] {
        Value::String(s) => Ok(Value::Int(crate::value::go_bytes(s).len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        Value::Nil => Err("len of nil pointer".into()),
        Value::Object(o) if o.as_shared_map().is_some() => {
            Ok(Value::Int(o.as_shared_map().map_or(0, |m| m.len()) as i64))
        }
        Value::Object(o) if o.entries().is_some() => {
            Ok(Value::Int(o.entries().map_or(0, |e| e.len()) as i64))
        }
        // Go takes the length of what a pointer points to.
        other => Err(format!(
            "len of type {}",
            type_name(other).trim_start_matches('*')
        )),
    }
}

fn index<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let idx: Vec<Value> = a.drain(1..).map(V::into_value).collect();
    let mut cur = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    if matches!(cur.get(), Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for i in idx {
        cur = index_one(cur, &i)?;
    }
    Ok(cur)
}

/// Go's error for a nil map key (a nil can only be converted to a type that can be nil).
const NIL_KEY: &str = "value is nil; should be of type string";

fn index_one<'a>(cur: V<'a>, i: &Value) -> Result<V<'a>, String> {
    let is_string = matches!(cur.get(), Value::String(_));
    let pos = |len: usize| -> Result<usize, String> {
        let x = match i {
            Value::Int(n) | Value::Int64(n) => *n,
            Value::Nil => return Err("cannot index slice/array with nil".into()),
            other => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    type_name(other)
                ));
            }
        };
        if x < 0 || x as usize > len {
            return Err(format!("index out of range: {x}"));
        }
        if x as usize == len {
            // Go's bounds check lets the length through; reflect's Index then panics.
            return Err(format!(
                "reflect: {} index out of range",
                if is_string { "string" } else { "slice" }
            ));
        }
        Ok(x as usize)
    };
    if let Value::Object(o) = cur.get() {
        if let Some(t) = o.typed_list() {
            let p = pos(t.len())?;
            return Ok(V::own(t.get(p).unwrap_or(Value::Nil)));
        }
        // Host objects that are Go slices or maps underneath (`chartutil.VersionSet`,
        // `engine.files`).
        if o.as_shared_map().is_none() {
            if let Some(entries) = o.entries() {
                match o.kind() {
                    "slice" => {
                        let p = pos(entries.len())?;
                        return Ok(V::own(entries[p].1.clone()));
                    }
                    "map" => {
                        let Value::String(k) = i else {
                            return Err(format!(
                                "value has type {}; should be string",
                                type_name(i)
                            ));
                        };
                        return Ok(V::own(o.field(k).unwrap_or(Value::Nil)));
                    }
                    _ => {}
                }
            }
        }
    }
    match cur.get() {
        Value::List(l) => {
            let p = pos(l.len())?;
            Ok(cur.list_elem(p))
        }
        Value::String(s) => {
            let b = crate::value::go_bytes(s);
            let p = pos(b.len())?;
            Ok(V::own(Value::Int(i64::from(b[p]))))
        }
        // A missing key of a `map[string]string` gives the zero string.
        v if v.as_shared_map().is_some_and(|m| m.is_string_map()) => match i {
            Value::String(k) => Ok(match v.as_shared_map().and_then(|m| m.get(k)) {
                Some(x) => V::own(x),
                None => V::own(Value::String(String::new())),
            }),
            Value::Nil => Err(NIL_KEY.into()),
            other => Err(format!(
                "value has type {}; should be string",
                type_name(other)
            )),
        },
        v if v.is_map() => match i {
            Value::String(k) => Ok(cur.map_elem(k)),
            Value::Nil => Err(NIL_KEY.into()),
            other => Err(format!(
                "value has type {}; should be string",
                type_name(other)
            )),
        },
        Value::Nil => Err("index of nil pointer".into()),
        other => Err(format!("can't index item of type {}", type_name(other))),
    }
}

/// The comparison class of a value (Go's `basicKind`).
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        // Named integer kinds (a `uint64` past `int64`'s range, which the executor cannot
        // turn into an `int64`) compare by value with the others, as Go's signed/unsigned
        // rules amount to.
        Value::Object(o) if o.go_int().is_some() => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

/// The value of an operand of [`Kind::Int`].
fn int_of(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(i128::from(*i)),
        Value::Object(o) => o.go_int(),
        _ => None,
    }
}

/// Go's `eq` for two operands (`a == b` after Go's rules: numbers of one class compare by
/// value, nil equals only nil, maps and slices equal only nil, pointers by identity, structs
/// field by field when their type is comparable).
pub(crate) fn eq(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 != k2 {
        if !matches!(a, Value::Nil) && !matches!(b, Value::Nil) {
            return Err("incompatible types for comparison".into());
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ if k1 == Kind::Int => int_of(a) == int_of(b),
        _ => return eq_composite(a, b),
    })
}

/// Go's `eq` for operands that are not booleans, numbers or strings: both must be of one
/// reflect kind (or one nil); a nil map, slice or pointer equals only nil; otherwise the second
/// operand's type must be comparable, and the two are equal when of one type and `==`.
fn eq_composite(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (reflect_kind(a), reflect_kind(b));
    if ka != kb && ka != "invalid" && kb != "invalid" {
        return Err(format!(
            "non-comparable types {}: {}, {}: {}",
            format::sprintf("%s", &[a]),
            type_name(a),
            type_name(b),
            format::sprintf("%v", &[b])
        ));
    }
    if is_nil(a) || is_nil(b) {
        return Ok(is_nil(a) == is_nil(b));
    }
    let comparable = match b {
        Value::Object(o) => o.go_comparable(),
        _ => false,
    };
    if !comparable {
        return Err(format!(
            "non-comparable type {}: {}",
            format::sprintf("%s", &[b]),
            type_name(b)
        ));
    }
    Ok(match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && (std::sync::Arc::ptr_eq(x, y) || x.go_eq(&**y))
        }
        _ => false,
    })
}

/// Go's `reflect.Kind` name of a value.
fn reflect_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => o.kind(),
        other => super::kind_name(other),
    }
}

/// Go's `isNil` of text/template: the untyped nil, and nil maps and slices.
fn is_nil(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Object(o) => {
            o.as_shared_map().is_some_and(|m| m.is_nil()) || o.typed_list().is_some_and(|t| t.nil)
        }
        _ => false,
    }
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        _ if k1 == Kind::Int => int_of(a) < int_of(b),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in crate::value::go_bytes(s).iter().copied() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[allow(dead_code)]
fn unused(_: P) {}
