//! Sprig's list and dict functions.

use super::{NIL_DEREF, Registry, arg_int, arg_str, kind_name, strval, to_i64};
use crate::template::exec::{Shared, V};
use crate::value::{Map, Value};

pub(super) fn register(r: &mut Registry) {
    r.plain("list", "a*", |a| {
        Ok(Value::List(a.iter().map(|v| (*v).clone()).collect()))
    });
    r.plain("tuple", "a*", |a| {
        Ok(Value::List(a.iter().map(|v| (*v).clone()).collect()))
    });
    r.plain("dict", "a*", |a| {
        let mut m = Map::new();
        for pair in a.chunks(2) {
            let k = strval(pair[0]);
            m.insert(
                k,
                pair.get(1)
                    .map(|v| (*v).clone())
                    .unwrap_or(Value::String(String::new())),
            );
        }
        Ok(Value::Map(m))
    });
    r.ctx("get", "ms", get);
    r.plain("set", "msa", |a| {
        let mut m = as_map(a[0]);
        m.insert(arg_str(a, 1).to_string(), a[2].clone());
        Ok(Value::Map(m))
    });
    r.plain("unset", "ms", |a| {
        let mut m = as_map(a[0]);
        m.remove(arg_str(a, 1));
        Ok(Value::Map(m))
    });
    r.plain("hasKey", "ms", |a| {
        Ok(Value::Bool(
            matches!(a[0], Value::Map(m) if m.contains_key(arg_str(a, 1))),
        ))
    });
    r.plain("keys", "m*", |a| {
        let mut out = Vec::new();
        for m in a {
            if let Value::Map(m) = m {
                out.extend(m.keys().map(|k| Value::String(k.clone())));
            }
        }
        Ok(Value::List(out))
    });
    r.plain("values", "m", |a| {
        Ok(Value::List(as_map(a[0]).into_values().collect()))
    });
    r.plain("pick", "ms*", |a| {
        let m = as_map(a[0]);
        let mut out = Map::new();
        for k in &a[1..] {
            if let Value::String(k) = k {
                if let Some(v) = m.get(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(Value::Map(out))
    });
    r.plain("omit", "ms*", |a| {
        let mut m = as_map(a[0]);
        for k in &a[1..] {
            if let Value::String(k) = k {
                m.remove(k);
            }
        }
        Ok(Value::Map(m))
    });
    r.plain("pluck", "sm*", |a| {
        let k = arg_str(a, 0);
        Ok(Value::List(
            a[1..]
                .iter()
                .filter_map(|m| match m {
                    Value::Map(m) => m.get(k).cloned(),
                    _ => None,
                })
                .collect(),
        ))
    });
    r.plain("merge", "mm*", |a| Ok(Value::Map(merge(a, false))));
    r.plain("mustMerge", "mm*", |a| Ok(Value::Map(merge(a, false))));
    r.plain("mergeOverwrite", "mm*", |a| Ok(Value::Map(merge(a, true))));
    r.plain("mustMergeOverwrite", "mm*", |a| {
        Ok(Value::Map(merge(a, true)))
    });
    r.plain("deepCopy", "a", |a| Ok(a[0].clone()));
    r.plain("mustDeepCopy", "a", |a| match a[0] {
        Value::Nil => Err("copy: cannot deep copy nil".into()),
        v => Ok(v.clone()),
    });
    r.ctx("dig", "a*", dig);

    r.ctx("first", "a", first);
    r.ctx("mustFirst", "a", first);
    r.ctx("last", "a", last);
    r.ctx("mustLast", "a", last);
    r.plain("rest", "a", |a| {
        slice_op(a[0], "rest", |l| Some(l.get(1..).unwrap_or(&[]).to_vec()))
    });
    r.plain("mustRest", "a", |a| {
        slice_op(a[0], "rest", |l| Some(l.get(1..).unwrap_or(&[]).to_vec()))
    });
    r.plain("initial", "a", |a| {
        slice_op(a[0], "initial", |l| {
            Some(l[..l.len().saturating_sub(1)].to_vec())
        })
    });
    r.plain("mustInitial", "a", |a| {
        slice_op(a[0], "initial", |l| {
            Some(l[..l.len().saturating_sub(1)].to_vec())
        })
    });
    r.plain("reverse", "a", |a| {
        slice_op(a[0], "reverse", |l| Some(l.iter().rev().cloned().collect()))
    });
    r.plain("mustReverse", "a", |a| {
        slice_op(a[0], "reverse", |l| Some(l.iter().rev().cloned().collect()))
    });
    r.plain("uniq", "a", |a| slice_op(a[0], "uniq", |l| Some(uniq(l))));
    r.plain("mustUniq", "a", |a| {
        slice_op(a[0], "uniq", |l| Some(uniq(l)))
    });
    r.plain("compact", "a", |a| {
        slice_op(a[0], "compact", |l| Some(compact(l)))
    });
    r.plain("mustCompact", "a", |a| {
        slice_op(a[0], "compact", |l| Some(compact(l)))
    });
    r.plain("append", "aa", |a| push(a[0], a[1]));
    r.plain("push", "aa", |a| push(a[0], a[1]));
    r.plain("mustAppend", "aa", |a| push(a[0], a[1]));
    r.plain("mustPush", "aa", |a| push(a[0], a[1]));
    r.plain("prepend", "aa", |a| prepend(a[0], a[1]));
    r.plain("mustPrepend", "aa", |a| prepend(a[0], a[1]));
    r.plain("without", "aa*", |a| without(a[0], &a[1..]));
    r.plain("mustWithout", "aa*", |a| without(a[0], &a[1..]));
    r.plain("has", "aa", |a| has(a[0], a[1]));
    r.plain("mustHas", "aa", |a| has(a[0], a[1]));
    r.plain("concat", "a*", |a| {
        let mut out = Vec::new();
        for l in a {
            match l {
                Value::List(l) => out.extend(l.iter().cloned()),
                Value::Nil => return Err(NIL_DEREF.into()),
                other => return Err(format!("Cannot concat type {} as list", kind_name(other))),
            }
        }
        Ok(Value::List(out))
    });
    r.plain("slice", "aa*", |a| sprig_slice(a[0], &a[1..]));
    r.plain("mustSlice", "aa*", |a| sprig_slice(a[0], &a[1..]));
    r.plain("chunk", "ia", |a| chunk(arg_int(a, 0), a[1]));
    r.plain("mustChunk", "ia", |a| chunk(arg_int(a, 0), a[1]));
    r.plain("until", "i", |a| {
        Ok(until_step(
            0,
            arg_int(a, 0),
            if arg_int(a, 0) < 0 { -1 } else { 1 },
        ))
    });
    r.plain("untilStep", "iii", |a| {
        Ok(until_step(arg_int(a, 0), arg_int(a, 1), arg_int(a, 2)))
    });
    r.plain("seq", "i*", seq);
}

fn as_map(v: &Value) -> Map {
    match v {
        Value::Map(m) => m.clone(),
        _ => Map::new(),
    }
}

fn get<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let key = a.pop().map(V::into_value).unwrap_or_default();
    let key = match &key {
        Value::String(k) => k.as_str(),
        _ => "",
    };
    let m = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let present = matches!(m.get(), Value::Map(mm) if mm.contains_key(key));
    if present {
        Ok(m.map_elem(key))
    } else {
        Ok(V::own(Value::String(String::new())))
    }
}

fn dig<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    if a.len() < 3 {
        return Err(format!(
            "dig needs at least three arguments (got {})",
            a.len()
        ));
    }
    let dict = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let default = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let keys: Vec<String> = a
        .into_iter()
        .map(|k| match k.get() {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "interface conversion: interface {{}} is {}, not string",
                crate::template::format::type_name(other)
            )),
        })
        .collect::<Result<_, _>>()?;
    match dict.get() {
        Value::Map(_) => {}
        Value::Nil => {
            return Err(
                "interface conversion: interface {} is nil, not map[string]interface {}".into(),
            );
        }
        other => {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                crate::template::format::type_name(other)
            ));
        }
    }
    let mut cur = dict;
    for (i, k) in keys.iter().enumerate() {
        let present = matches!(cur.get(), Value::Map(m) if m.contains_key(k));
        if !present {
            return Ok(default);
        }
        cur = cur.map_elem(k);
        if i + 1 < keys.len() && !matches!(cur.get(), Value::Map(_)) {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                crate::template::format::type_name(cur.get())
            ));
        }
    }
    Ok(cur)
}

fn first<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let l = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    match l.get() {
        Value::List(x) if x.is_empty() => Ok(V::own(Value::Nil)),
        Value::List(_) => Ok(l.list_elem(0)),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot find first on type {}", kind_name(other))),
    }
}

fn last<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let l = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    match l.get() {
        Value::List(x) if x.is_empty() => Ok(V::own(Value::Nil)),
        Value::List(x) => {
            let n = x.len() - 1;
            Ok(l.list_elem(n))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot find last on type {}", kind_name(other))),
    }
}

/// A list operation with Sprig's errors for non-lists; `None` from `f` means Go's nil.
fn slice_op(
    v: &Value,
    what: &str,
    f: impl Fn(&[Value]) -> Option<Vec<Value>>,
) -> Result<Value, String> {
    match v {
        Value::List(l) => Ok(f(l).map(Value::List).unwrap_or(Value::Nil)),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot find {what} on type {}", kind_name(other))),
    }
}

/// Go's `reflect.DeepEqual` for template values.
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => std::sync::Arc::ptr_eq(x, y),
        _ => a == b,
    }
}

fn uniq(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for x in l {
        if !out.iter().any(|y| deep_equal(x, y)) {
            out.push(x.clone());
        }
    }
    out
}

fn compact(l: &[Value]) -> Vec<Value> {
    l.iter()
        .filter(|x| crate::template::exec::is_true(x))
        .cloned()
        .collect()
}

fn push(l: &Value, v: &Value) -> Result<Value, String> {
    match l {
        Value::List(x) => {
            let mut out = Vec::with_capacity(x.len() + 1);
            out.extend(x.iter().cloned());
            out.push(v.clone());
            Ok(Value::List(out))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot push on type {}", kind_name(other))),
    }
}

fn prepend(l: &Value, v: &Value) -> Result<Value, String> {
    match l {
        Value::List(x) => {
            let mut out = Vec::with_capacity(x.len() + 1);
            out.push(v.clone());
            out.extend(x.iter().cloned());
            Ok(Value::List(out))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot prepend on type {}", kind_name(other))),
    }
}

fn without(l: &Value, omit: &[&Value]) -> Result<Value, String> {
    match l {
        Value::List(x) => Ok(Value::List(
            x.iter()
                .filter(|e| !omit.iter().any(|o| deep_equal(e, o)))
                .cloned()
                .collect(),
        )),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot find without on type {}", kind_name(other))),
    }
}

fn has(needle: &Value, hay: &Value) -> Result<Value, String> {
    match hay {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(x) => Ok(Value::Bool(x.iter().any(|e| deep_equal(e, needle)))),
        other => Err(format!("Cannot find has on type {}", kind_name(other))),
    }
}

fn sprig_slice(l: &Value, idx: &[&Value]) -> Result<Value, String> {
    match l {
        Value::List(x) => {
            if x.is_empty() {
                return Ok(Value::Nil);
            }
            let start = idx.first().map(|v| to_i64(v)).unwrap_or(0);
            let end = if idx.len() < 2 {
                x.len() as i64
            } else {
                to_i64(idx[1])
            };
            if start < 0 || end < start || end > x.len() as i64 {
                return Err("reflect: slice index out of range".to_string());
            }
            Ok(Value::List(x[start as usize..end as usize].to_vec()))
        }
        Value::String(s) => {
            let start = idx.first().map(|v| to_i64(v)).unwrap_or(0);
            let end = if idx.len() < 2 {
                s.len() as i64
            } else {
                to_i64(idx[1])
            };
            if start < 0 || end < start || end > s.len() as i64 {
                return Err("reflect: string slice index out of range".to_string());
            }
            Ok(Value::String(
                String::from_utf8_lossy(&s.as_bytes()[start as usize..end as usize]).into_owned(),
            ))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!(
            "list should be type of slice or array but {}",
            kind_name(other)
        )),
    }
}

fn chunk(size: i64, l: &Value) -> Result<Value, String> {
    match l {
        Value::List(x) => {
            if size <= 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(Value::List(
                x.chunks(size as usize)
                    .map(|c| Value::List(c.to_vec()))
                    .collect(),
            ))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot chunk type {}", kind_name(other))),
    }
}

fn until_step(start: i64, stop: i64, step: i64) -> Value {
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return Value::List(v);
        }
        let mut i = start;
        while i > stop {
            v.push(Value::Int(i));
            i += step;
        }
        return Value::List(v);
    }
    if step <= 0 {
        return Value::List(v);
    }
    let mut i = start;
    while i < stop {
        v.push(Value::Int(i));
        i += step;
    }
    Value::List(v)
}

/// Sprig's `seq`, modelled on GNU seq: `seq END`, `seq START END`, `seq START STEP END`.
fn seq(a: &[&Value]) -> Result<Value, String> {
    let p: Vec<i64> = a
        .iter()
        .map(|v| arg_int(std::slice::from_ref(v), 0))
        .collect();
    let join = |v: Value| -> Value {
        match v {
            Value::List(l) => Value::String(l.iter().map(strval).collect::<Vec<_>>().join(" ")),
            o => o,
        }
    };
    Ok(match p.as_slice() {
        [] => Value::String(String::new()),
        [end] => {
            let (start, end) = (1, *end);
            let step = if end < start { -1 } else { 1 };
            join(until_step(start, end + step, step))
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            join(until_step(*start, end + step, step))
        }
        [start, step, end, ..] => {
            if *end < *start && *step >= 0 || *end > *start && *step <= 0 {
                return Ok(Value::String(String::new()));
            }
            let dir = if *step < 0 { -1 } else { 1 };
            join(until_step(*start, end + dir, *step))
        }
    })
}

/// Sprig's `merge`/`mergeOverwrite` (mergo): keys of later maps fill in (or, overwriting,
/// replace) keys of the first; nested maps merge recursively.
fn merge(a: &[&Value], overwrite: bool) -> Map {
    let mut dst = as_map(a[0]);
    for src in &a[1..] {
        if let Value::Map(src) = src {
            merge_into(&mut dst, src, overwrite);
        }
    }
    dst
}

fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, sv) in src {
        match (dst.get_mut(k), sv) {
            (Some(Value::Map(dm)), Value::Map(sm)) => merge_into(dm, sm, overwrite),
            // mergo keeps a non-empty destination when the source is a map, and replaces
            // lists only when overwriting.
            (Some(dv), Value::Map(_)) if !is_empty_value(dv) => {}
            (Some(dv), Value::List(_)) if !is_empty_value(dv) => {
                if overwrite {
                    *dv = sv.clone();
                }
            }
            (Some(dv), _) => {
                if overwrite || is_empty_value(dv) {
                    *dv = sv.clone();
                }
            }
            (None, _) => {
                dst.insert(k.clone(), sv.clone());
            }
        }
    }
}

fn is_empty_value(v: &Value) -> bool {
    !crate::template::exec::is_true(v)
}
