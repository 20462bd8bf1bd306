//! Sprig's list and dict functions.

use super::{NIL_DEREF, Registry, arg_int, arg_str, kind_name, strval, to_i64};
use crate::template::exec::{Shared, V};
use crate::value::{Map, SharedMap, TypedList, Value, materialize};

pub(super) fn register(r: &mut Registry) {
    r.shared("list", "a*", |a| {
        Ok(Value::List(a.iter().map(|v| (*v).clone()).collect()))
    });
    r.shared("tuple", "a*", |a| {
        Ok(Value::List(a.iter().map(|v| (*v).clone()).collect()))
    });
    r.shared("dict", "a*", |a| {
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
    // Go maps are references: `set`, `unset` and `merge` change their first argument in place
    // and return it.
    r.shared("set", "msa", |a| {
        let h = shared_of(a[0]);
        if h.as_shared_map().is_some_and(|m| m.is_nil()) {
            return Err("assignment to entry in nil map".into());
        }
        if let Some(m) = h.as_shared_map() {
            m.insert(arg_str(a, 1).to_string(), a[2].clone());
        }
        Ok(h)
    });
    r.shared("unset", "ms", |a| {
        let h = shared_of(a[0]);
        if let Some(m) = h.as_shared_map() {
            m.remove(arg_str(a, 1));
        }
        Ok(h)
    });
    r.shared("hasKey", "ms", |a| {
        let h = shared_of(a[0]);
        Ok(Value::Bool(
            h.as_shared_map()
                .is_some_and(|m| m.contains_key(arg_str(a, 1))),
        ))
    });
    r.shared("keys", "m*", |a| {
        let mut out = Vec::new();
        for m in a {
            let h = shared_of(m);
            if let Some(m) = h.as_shared_map() {
                out.extend(m.keys());
            }
        }
        Ok(TypedList::strings(out))
    });
    r.shared("values", "m", |a| {
        Ok(Value::List(
            entries(a[0]).into_iter().map(|(_, v)| v).collect(),
        ))
    });
    r.shared("pick", "ms*", |a| {
        let mut out = Map::new();
        let h = shared_of(a[0]);
        if let Some(m) = h.as_shared_map() {
            for k in &a[1..] {
                if let Value::String(k) = k {
                    if let Some(v) = m.get(k) {
                        out.insert(k.clone(), v);
                    }
                }
            }
        }
        Ok(Value::Map(out))
    });
    r.shared("omit", "ms*", |a| {
        let mut out: Map = entries(a[0]).into_iter().collect();
        for k in &a[1..] {
            if let Value::String(k) = k {
                out.remove(k);
            }
        }
        Ok(Value::Map(out))
    });
    r.shared("pluck", "sm*", |a| {
        let k = arg_str(a, 0);
        Ok(Value::List(
            a[1..]
                .iter()
                .filter_map(|m| shared_of(m).as_shared_map().and_then(|m| m.get(k)))
                .collect(),
        ))
    });
    r.shared("merge", "mm*", |a| merge(a, false));
    r.shared("mustMerge", "mm*", |a| merge(a, false));
    r.shared("mergeOverwrite", "mm*", |a| merge(a, true));
    r.shared("mustMergeOverwrite", "mm*", |a| merge(a, true));
    // A copy shares nothing with the original.
    // Go's reflection fails on a nil argument (copystructure asks for its type).
    for name in ["deepCopy", "mustDeepCopy"] {
        r.shared(name, "a", |a| match a[0] {
            Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".into()),
            // copystructure keeps the named type of a map.
            Value::Object(o) if o.as_shared_map().is_some_and(|m| m.is_string_map()) => {
                match materialize(a[0])? {
                    Value::Map(m) => Ok(Value::Object(crate::value::SharedMap::string_map(m))),
                    other => Ok(other),
                }
            }
            Value::Object(o) if o.typed_list().is_some() => {
                let t = o.typed_list().map_or("[]interface {}", |t| t.type_name);
                match materialize(a[0])? {
                    Value::List(l) => Ok(TypedList::of(t, l)),
                    other => Ok(other),
                }
            }
            Value::Object(o) if o.named_map().is_some() => {
                materialize(a[0]).map(crate::value::NamedMap::values)
            }
            v => materialize(v),
        });
    }
    r.ctx("dig", "a*", dig);

    r.ctx("first", "a", first);
    r.ctx("mustFirst", "a", first);
    r.ctx("last", "a", last);
    r.ctx("mustLast", "a", last);
    r.shared("rest", "a", |a| {
        slice_op(a[0], "rest", |l| Some(l.get(1..).unwrap_or(&[]).to_vec()))
    });
    r.shared("mustRest", "a", |a| {
        slice_op(a[0], "rest", |l| Some(l.get(1..).unwrap_or(&[]).to_vec()))
    });
    r.shared("initial", "a", |a| {
        slice_op(a[0], "initial", |l| {
            Some(l[..l.len().saturating_sub(1)].to_vec())
        })
    });
    r.shared("mustInitial", "a", |a| {
        slice_op(a[0], "initial", |l| {
            Some(l[..l.len().saturating_sub(1)].to_vec())
        })
    });
    r.shared("reverse", "a", |a| {
        slice_op(a[0], "reverse", |l| Some(l.iter().rev().cloned().collect()))
    });
    r.shared("mustReverse", "a", |a| {
        slice_op(a[0], "reverse", |l| Some(l.iter().rev().cloned().collect()))
    });
    r.plain("uniq", "a", |a| slice_op(a[0], "uniq", |l| Some(uniq(l))));
    r.plain("mustUniq", "a", |a| {
        slice_op(a[0], "uniq", |l| Some(uniq(l)))
    });
    r.shared("compact", "a", |a| {
        slice_op(a[0], "compact", |l| Some(compact(l)))
    });
    r.shared("mustCompact", "a", |a| {
        slice_op(a[0], "compact", |l| Some(compact(l)))
    });
    r.shared("append", "aa", |a| push(a[0], a[1]));
    r.shared("push", "aa", |a| push(a[0], a[1]));
    r.shared("mustAppend", "aa", |a| push(a[0], a[1]));
    r.shared("mustPush", "aa", |a| push(a[0], a[1]));
    r.shared("prepend", "aa", |a| prepend(a[0], a[1]));
    r.shared("mustPrepend", "aa", |a| prepend(a[0], a[1]));
    r.plain("without", "aa*", |a| without(a[0], &a[1..]));
    r.plain("mustWithout", "aa*", |a| without(a[0], &a[1..]));
    r.plain("has", "aa", |a| has(a[0], a[1]));
    r.plain("mustHas", "aa", |a| has(a[0], a[1]));
    r.shared("concat", "a*", |a| {
        let mut out = Vec::new();
        for l in a {
            match l {
                l if l.as_list().is_some() => {
                    out.extend(l.as_list().unwrap_or_default().iter().cloned())
                }
                Value::Nil => return Err(NIL_DEREF.into()),
                other => return Err(format!("Cannot concat type {} as list", kind_name(other))),
            }
        }
        // Go's append to a nil slice of nothing leaves it nil.
        if out.is_empty() {
            return Ok(TypedList::nil("[]interface {}"));
        }
        Ok(Value::List(out))
    });
    r.shared("slice", "aa*", |a| sprig_slice(a[0], &a[1..]));
    r.shared("mustSlice", "aa*", |a| sprig_slice(a[0], &a[1..]));
    r.shared("chunk", "ia", |a| chunk(arg_int(a, 0), a[1]));
    r.shared("mustChunk", "ia", |a| chunk(arg_int(a, 0), a[1]));
    r.plain("until", "i", |a| {
        Ok(int_slice(until_step(
            0,
            arg_int(a, 0),
            if arg_int(a, 0) < 0 { -1 } else { 1 },
        )?))
    });
    r.plain("untilStep", "iii", |a| {
        Ok(int_slice(until_step(
            arg_int(a, 0),
            arg_int(a, 1),
            arg_int(a, 2),
        )?))
    });
    r.plain("seq", "i*", seq);
}

/// The map argument as a shared map value: itself when it is one (so changes reach every
/// holder), a new shared copy of a plain map, and a new empty map for anything else.
fn shared_of(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.as_shared_map().is_some() => v.clone(),
        Value::Map(m) => Value::Object(SharedMap::new(m.clone())),
        _ => Value::Object(SharedMap::new(Map::new())),
    }
}

/// The entries of a map argument (none for anything else), nested maps shared.
fn entries(v: &Value) -> Vec<(String, Value)> {
    shared_of(v)
        .as_shared_map()
        .map(SharedMap::entries_shared)
        .unwrap_or_default()
}

/// Go's `[]int` (what `until` and `untilStep` return).
fn int_slice(v: Value) -> Value {
    match v {
        Value::List(l) => TypedList::of("[]int", l),
        other => other,
    }
}

fn get<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let key = a.pop().map(V::into_value).unwrap_or_default();
    let key = match &key {
        Value::String(k) => k.as_str(),
        _ => "",
    };
    let m = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    let present = has_key(m.get(), key);
    if present {
        Ok(m.map_elem(key))
    } else {
        Ok(V::own(Value::String(String::new())))
    }
}

fn dig<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
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
        v if is_iface_map(v) => {}
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
        let present = has_key(cur.get(), k);
        if !present {
            return Ok(default);
        }
        cur = cur.map_elem(k);
        if i + 1 < keys.len() && !is_iface_map(cur.get()) {
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
    if let Some(t) = typed(l.get()) {
        return Ok(V::own(t.get(0).unwrap_or(Value::Nil)));
    }
    match l.get() {
        Value::List(x) if x.is_empty() => Ok(V::own(Value::Nil)),
        Value::List(_) => Ok(l.list_elem(0)),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot find first on type {}", kind_name(other))),
    }
}

fn last<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let l = a.pop().unwrap_or_else(|| V::own(Value::Nil));
    if let Some(t) = typed(l.get()) {
        return Ok(V::own(
            t.len()
                .checked_sub(1)
                .and_then(|i| t.get(i))
                .unwrap_or(Value::Nil),
        ));
    }
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

/// The elements of a typed slice (`[]string`, `[]int`).
fn typed(v: &Value) -> Option<&TypedList> {
    match v {
        Value::Object(o) => o.typed_list(),
        _ => None,
    }
}

/// A list operation with Sprig's errors for non-lists; `None` from `f` means Go's nil.
fn slice_op(
    v: &Value,
    what: &str,
    f: impl Fn(&[Value]) -> Option<Vec<Value>>,
) -> Result<Value, String> {
    if let Some(l) = v.as_list() {
        // Sprig's `rest` and `initial` return a nil slice for an empty one.
        if l.is_empty() && matches!(what, "rest" | "initial") {
            return Ok(TypedList::nil("[]interface {}"));
        }
        return Ok(f(&l).map(Value::List).unwrap_or(Value::Nil));
    }
    match v {
        Value::Nil => Err(NIL_DEREF.into()),
        other if what == "compact" => Err(format!("Cannot compact on type {}", kind_name(other))),
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
        l if l.as_list().is_some() => {
            let x = l.as_list().unwrap_or_default();
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
        l if l.as_list().is_some() => {
            let x = l.as_list().unwrap_or_default();
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
        l if l.as_list().is_some() => {
            let x = l.as_list().unwrap_or_default();
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
                return Err("reflect.Value.Slice: slice index out of bounds".to_string());
            }
            // reflect's Slice keeps the slice's type and shares its backing array.
            if let Some(t) = l_typed(l) {
                return Ok(t.window(start as usize, end as usize));
            }
            Ok(Value::List(x[start as usize..end as usize].to_vec()))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!(
            "list should be type of slice or array but {}",
            kind_name(other)
        )),
    }
}

fn l_typed(l: &Value) -> Option<&TypedList> {
    match l {
        Value::Object(o) => o.typed_list(),
        _ => None,
    }
}

fn chunk(size: i64, l: &Value) -> Result<Value, String> {
    match l {
        l if l.as_list().is_some() => {
            let x = l.as_list().unwrap_or_default();
            if size <= 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(TypedList::of(
                "[][]interface {}",
                x.chunks(size as usize)
                    .map(|c| Value::List(c.to_vec()))
                    .collect(),
            ))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot chunk type {}", kind_name(other))),
    }
}

/// The most elements `until`, `untilStep` and `seq` build. Go would try to allocate any
/// number (and run out of memory, or loop forever when the counter wraps); this refuses.
const MAX_RANGE: i128 = 10_000_000;

/// Sprig's `untilStep`.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Value, String> {
    let count = if (stop < start && step < 0) || (stop > start && step > 0) {
        let span = i128::from(stop) - i128::from(start);
        let step = i128::from(step);
        (span + step - step.signum()) / step
    } else {
        0
    };
    if count > MAX_RANGE {
        return Err(format!(
            "a range of {count} numbers is too large (more than {MAX_RANGE})"
        ));
    }
    let mut v = Vec::with_capacity(count as usize);
    let mut i = start;
    for _ in 0..count {
        v.push(Value::Int(i));
        i = i.wrapping_add(step);
    }
    Ok(Value::List(v))
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
            join(until_step(start, end.wrapping_add(step), step)?)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            join(until_step(*start, end.wrapping_add(step), step)?)
        }
        [start, step, end, ..] => {
            if *end < *start && *step >= 0 || *end > *start && *step <= 0 {
                return Ok(Value::String(String::new()));
            }
            let dir = if *step < 0 { -1 } else { 1 };
            join(until_step(*start, end.wrapping_add(dir), *step)?)
        }
    })
}

/// Whether a value is a Go `map[string]interface {}` (not a `map[string]string`).
/// Whether a Go type assertion to `map[string]interface {}` succeeds: not for named map
/// types such as `chartutil.Values`, nor `map[string]string`.
fn is_iface_map(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::Object(o) => {
            o.named_map().is_none() && o.as_shared_map().is_some_and(|m| !m.is_string_map())
        }
        _ => false,
    }
}

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Map(m) => m.contains_key(key),
        other => other.as_shared_map().is_some_and(|m| m.contains_key(key)),
    }
}

/// Sprig's `merge`/`mergeOverwrite` (mergo): keys of later maps fill in (or, overwriting,
/// replace) keys of the first, in place; nested maps merge recursively, also in place.
fn merge(a: &[&Value], overwrite: bool) -> Result<Value, String> {
    let dst = shared_of(a[0]);
    if let Some(d) = dst.as_shared_map() {
        for src in &a[1..] {
            let src = shared_of(src);
            if let Some(s) = src.as_shared_map() {
                merge_into(d, s, overwrite, 0)?;
            }
        }
    }
    Ok(dst)
}

/// How deep `merge` follows nested maps before it decides they contain themselves.
const MAX_MERGE_DEPTH: usize = 10_000;

fn merge_into(
    dst: &SharedMap,
    src: &SharedMap,
    overwrite: bool,
    depth: usize,
) -> Result<(), String> {
    if std::ptr::eq(dst, src) {
        // Merging a map into itself changes nothing.
        return Ok(());
    }
    if depth > MAX_MERGE_DEPTH {
        return Err(crate::value::CYCLE_ERROR.into());
    }
    for (k, sv) in src.entries_shared() {
        match dst.get(&k) {
            Some(dv) if dv.as_shared_map().is_some() && sv.as_shared_map().is_some() => {
                if let (Some(dm), Some(sm)) = (dv.as_shared_map(), sv.as_shared_map()) {
                    merge_into(dm, sm, overwrite, depth + 1)?;
                }
            }
            // mergo keeps a non-empty destination when the source is a map, and replaces
            // lists only when overwriting.
            Some(dv) if sv.is_map() && !is_empty_value(&dv) => {}
            Some(dv) if matches!(sv, Value::List(_)) && !is_empty_value(&dv) => {
                if overwrite {
                    dst.insert(k, sv);
                }
            }
            Some(dv) => {
                if overwrite || is_empty_value(&dv) {
                    dst.insert(k, sv);
                }
            }
            None => dst.insert(k, sv),
        }
    }
    Ok(())
}

fn is_empty_value(v: &Value) -> bool {
    !crate::template::exec::is_true(v)
}
