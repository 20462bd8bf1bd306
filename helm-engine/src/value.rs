//! The dynamic value that templates operate on, modelled on what Go's `interface{}` holds in Helm.
//!
//! Values parsed from YAML or JSON become `Map`, `List`, `String`, `Float` (Helm reads values
//! through a JSON layer, so every number from a values file is a float64), `Bool` and `Nil`.
//! Template functions also produce `Int` (Go `int`/`int64`), and the engine exposes its built-in
//! objects (`.Release`, `.Chart`, `.Files`, `.Capabilities`) as `Map`s or `Object`s.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A map with Go's iteration order for templates and YAML/JSON output: sorted by key.
pub type Map = BTreeMap<String, Value>;

/// A dynamically typed value, as Go's `interface{}` holds in a Helm template.
#[derive(Clone, Default)]
pub enum Value {
    /// Go `nil`.
    #[default]
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int` (literals, `len`, `atoi`, `int`, `until`).
    Int(i64),
    /// Go `int64` (`--set` numbers, Sprig's arithmetic, `int64`).
    Int64(i64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`.
    String(String),
    /// Go `[]interface{}`.
    List(Vec<Value>),
    /// Go `map[string]interface{}`.
    Map(Map),
    /// A host object with fields and methods (for example `.Files` or a parsed semver).
    Object(Arc<dyn Object>),
}

/// A host object visible to templates: fields and methods looked up by name.
pub trait Object: Send + Sync {
    /// The Go type name reported by `typeOf` (for example `chartutil.Files`).
    fn type_name(&self) -> &str;
    /// A field or zero-argument method, `None` when there is none of that name.
    fn field(&self, name: &str) -> Option<Value>;
    /// Calls a method with arguments; `None` when the object has no such method.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// For objects that are Go maps or slices underneath (such as `.Files.Glob`'s result): the
    /// entries `range` visits, in order (map keys sorted), as (key or index, value) pairs.
    /// `None` (the default) for objects that are not collections. A collection object is also
    /// false in `if` when empty, and has a `len`.
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// The bytes of a Go `[]byte` (`.Files.GetBytes`): `toString`, `quote` and `%s` give them
    /// as text, `toJson`/`toYaml` as base64. `None` (the default) for other objects.
    fn bytes(&self) -> Option<&[u8]> {
        None
    }
    /// Go's `%v` formatting of the object.
    fn format(&self) -> String {
        format!("{{{}}}", self.type_name())
    }
    /// The [`SharedMap`] this object is, if it is one (a Go map while templates execute).
    fn as_shared_map(&self) -> Option<&SharedMap> {
        None
    }
    /// The [`TypedList`] this object is, if it is one (a Go slice such as `[]string`).
    fn typed_list(&self) -> Option<&TypedList> {
        None
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Map(m) => f.debug_map().entries(m).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A Go map as templates hold it while they execute: a reference. Every holder of the same
/// `SharedMap` (variables, `dict`s, dot inside `with`/`range`, a later `include`) sees what
/// `set`, `unset` and `merge` change, as in Go.
///
/// Children are stored as given and made shared when first read: a nested plain [`Value::Map`]
/// becomes a `SharedMap` in place (so every later read returns the same one), and a list's map
/// elements likewise. Only the template executor and the functions that keep Go's reference
/// semantics see `SharedMap`s; other functions get [`materialize`]d plain values.
#[derive(Default)]
pub struct SharedMap {
    map: std::sync::Mutex<Map>,
    /// Go's `map[string]string` (Sprig's `split`) rather than `map[string]interface {}`.
    strings: bool,
}

impl SharedMap {
    /// A shared map holding `m` (its nested maps become shared when read).
    pub fn new(m: Map) -> Arc<SharedMap> {
        Arc::new(SharedMap {
            map: std::sync::Mutex::new(m),
            strings: false,
        })
    }

    /// A Go `map[string]string` (what Sprig's `split` and `splitn` return): `typeOf` names it
    /// so, and functions taking `map[string]interface {}` refuse it, as in Go.
    pub fn string_map(m: Map) -> Arc<SharedMap> {
        Arc::new(SharedMap {
            map: std::sync::Mutex::new(m),
            strings: true,
        })
    }

    /// Whether this is a `map[string]string`.
    pub fn is_string_map(&self) -> bool {
        self.strings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        // A panic while holding the lock cannot leave the map half-changed (every change is
        // one BTreeMap call), so a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `key`, nested maps made shared; `None` when absent.
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut m = self.lock();
        let slot = m.get_mut(key)?;
        share_in_place(slot);
        Some(slot.clone())
    }

    /// Sets `key` (Sprig's `set`).
    pub fn insert(&self, key: String, v: Value) {
        self.lock().insert(key, v);
    }

    /// Removes `key` (Sprig's `unset`).
    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Every entry in key order, nested maps made shared.
    pub fn entries_shared(&self) -> Vec<(String, Value)> {
        let mut m = self.lock();
        m.iter_mut()
            .map(|(k, v)| {
                share_in_place(v);
                (k.clone(), v.clone())
            })
            .collect()
    }
}

impl Object for SharedMap {
    fn type_name(&self) -> &str {
        if self.strings {
            "map[string]string"
        } else {
            "map[string]interface {}"
        }
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.get(name)
    }
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.entries_shared()
                .into_iter()
                .map(|(k, v)| (Value::String(k), v))
                .collect(),
        )
    }
    fn format(&self) -> String {
        match materialize_map(self, &mut Vec::new()) {
            Ok(m) => {
                let mut out = String::new();
                crate::template::format::write_v(&mut out, &Value::Map(m));
                out
            }
            Err(e) => e,
        }
    }
    fn as_shared_map(&self) -> Option<&SharedMap> {
        Some(self)
    }
}

impl Value {
    /// The shared map this value is, if it is one.
    pub fn as_shared_map(&self) -> Option<&SharedMap> {
        match self {
            Value::Object(o) => o.as_shared_map(),
            _ => None,
        }
    }

    /// Whether this is a Go map: a plain [`Value::Map`] or a [`SharedMap`].
    pub fn is_map(&self) -> bool {
        matches!(self, Value::Map(_)) || self.as_shared_map().is_some()
    }

    /// The elements of a Go slice: a plain [`Value::List`] (borrowed) or a [`TypedList`]
    /// (copied).
    pub fn as_list(&self) -> Option<std::borrow::Cow<'_, [Value]>> {
        match self {
            Value::List(l) => Some(std::borrow::Cow::Borrowed(l.as_slice())),
            Value::Object(o) => o.typed_list().map(|t| std::borrow::Cow::Owned(t.items())),
            _ => None,
        }
    }
}

/// A Go slice with an element type other than `interface{}`: `[]string` from `splitList`,
/// `keys`, `sortAlpha`, `toStrings`, `regexFindAll`; `[]int` from `until` and `untilStep`.
/// `typeOf`, `%T` and argument checking see the type; functions that take any list read its
/// elements, and the rest get it as a plain [`Value::List`] (see [`materialize`]).
///
/// Its elements are shared like a Go slice's backing array: `sortAlpha` sorts a `[]string` in
/// place, and every holder sees the new order.
pub struct TypedList {
    /// The Go type, such as `[]string`.
    pub type_name: &'static str,
    items: std::sync::Mutex<Vec<Value>>,
}

impl TypedList {
    /// A `[]string` of these strings.
    pub fn strings(items: impl IntoIterator<Item = String>) -> Value {
        Self::of("[]string", items.into_iter().map(Value::String).collect())
    }

    /// A slice of Go type `type_name` (for example `[]int`) holding `items`.
    pub fn of(type_name: &'static str, items: Vec<Value>) -> Value {
        Value::Object(Arc::new(TypedList {
            type_name,
            items: std::sync::Mutex::new(items),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the elements.
    pub fn items(&self) -> Vec<Value> {
        self.lock().clone()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Element `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<Value> {
        self.lock().get(i).cloned()
    }

    /// Sorts the elements in place (Sprig's `sortAlpha` on a `[]string`), by their text.
    pub fn sort_strings(&self) {
        self.lock().sort_by(|a, b| match (a, b) {
            (Value::String(x), Value::String(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        });
    }
}

impl Object for TypedList {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.items()
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v))
                .collect(),
        )
    }
    fn format(&self) -> String {
        let mut out = String::new();
        crate::template::format::write_v(&mut out, &Value::List(self.items()));
        out
    }
    fn typed_list(&self) -> Option<&TypedList> {
        Some(self)
    }
}

/// Makes a value shared in place: a plain map becomes a [`SharedMap`] (its children stay plain
/// until read), and a list's elements are made shared. Anything else is left as it is.
pub fn share_in_place(v: &mut Value) {
    match v {
        Value::Map(m) => {
            let m = std::mem::take(m);
            *v = Value::Object(SharedMap::new(m));
        }
        Value::List(l) if l.iter().any(needs_sharing) => {
            l.iter_mut().for_each(share_in_place);
        }
        _ => {}
    }
}

/// The value with Go's reference semantics for its maps (see [`SharedMap`]).
pub fn share(mut v: Value) -> Value {
    share_in_place(&mut v);
    v
}

fn needs_sharing(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::List(l) => l.iter().any(needs_sharing),
        _ => false,
    }
}

/// Whether a value holds a [`SharedMap`] or [`TypedList`] anywhere (so [`materialize`] would
/// change it).
pub fn has_shared(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.as_shared_map().is_some() || o.typed_list().is_some(),
        Value::List(l) => l.iter().any(has_shared),
        Value::Map(m) => m.values().any(has_shared),
        _ => false,
    }
}

/// The error for a map that contains itself, which Go cannot print or serialise either (it
/// recurses until its stack overflows).
pub const CYCLE_ERROR: &str = "map contains itself: cannot copy, print or serialise it";

/// A plain copy of a value: every [`SharedMap`] in it replaced by a [`Value::Map`] of its
/// current contents, and every [`TypedList`] by a [`Value::List`]. Fails when a map contains
/// itself.
pub fn materialize(v: &Value) -> Result<Value, String> {
    materialize_in(v, &mut Vec::new())
}

fn materialize_in(v: &Value, stack: &mut Vec<*const SharedMap>) -> Result<Value, String> {
    match v {
        Value::Object(o) => match (o.as_shared_map(), o.typed_list()) {
            (Some(sm), _) => materialize_map(sm, stack).map(Value::Map),
            (None, Some(t)) => materialize_in(&Value::List(t.items()), stack),
            (None, None) => Ok(v.clone()),
        },
        Value::List(l) => l
            .iter()
            .map(|x| materialize_in(x, stack))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(k.clone(), materialize_in(x, stack)?);
            }
            Ok(Value::Map(out))
        }
        _ => Ok(v.clone()),
    }
}

fn materialize_map(sm: &SharedMap, stack: &mut Vec<*const SharedMap>) -> Result<Map, String> {
    let p = sm as *const SharedMap;
    if stack.contains(&p) {
        return Err(CYCLE_ERROR.into());
    }
    stack.push(p);
    // Snapshot the entries so no lock is held while nested maps are read.
    let entries: Vec<(String, Value)> = sm
        .lock()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut out = Map::new();
    let mut res = Ok(());
    for (k, x) in entries {
        match materialize_in(&x, stack) {
            Ok(v) => {
                out.insert(k, v);
            }
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    stack.pop();
    res.map(|_| out)
}
