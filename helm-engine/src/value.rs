//! The dynamic value that templates operate on, modelled on what Go's `interface{}` holds in Helm.
//!
//! Values parsed from YAML or JSON become `Map`, `List`, `String`, `Float` (Helm reads values
//! through a JSON layer, so every number from a values file is a float64), `Bool` and `Nil`.
//! Template functions also produce `Int` (Go `int`/`int64`), and the engine exposes its built-in
//! objects (`.Release`, `.Chart`, `.Files`, `.Capabilities`) as `Map`s or `Object`s.
//!
//! While templates execute, Go's reference types keep their Go semantics: maps are
//! [`SharedMap`]s (possibly Go's nil map), named map types such as `chartutil.Values` are
//! [`NamedMap`]s over them, and slices of other element types are [`TypedList`]s, which share
//! their backing array with the slices taken of them (`slice`, `toStrings`) and may be nil.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The bytes of a Go string held as our `String` (see [`crate::yaml::go_string`]: bytes that
/// are not valid UTF-8 are private-use characters).
pub fn go_bytes(s: &str) -> std::borrow::Cow<'_, [u8]> {
    crate::yaml::go_bytes(s)
}

/// A Go string of arbitrary bytes as our `String` (see [`crate::yaml::go_string`]).
pub fn go_string(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => crate::yaml::go_string(b),
    }
}

/// The byte a raw-byte character of [`crate::yaml::go_string`] stands for, if `c` is one.
pub fn raw_byte_of(c: char) -> Option<u8> {
    crate::yaml::raw_byte(c)
}

/// Whether a string holds raw bytes (private-use characters of [`crate::yaml::go_string`]).
pub fn has_raw_bytes(s: &str) -> bool {
    // Raw-byte characters sit in plane 16, whose UTF-8 starts with F4.
    s.as_bytes().contains(&0xF4) && s.chars().any(|c| raw_byte_of(c).is_some())
}

/// `s` with its raw bytes regrouped: bytes that together form valid UTF-8 (a character cut
/// in two by `trunc` and joined again) become that character, as they are in Go.
pub fn regroup(s: String) -> String {
    if !has_raw_bytes(&s) {
        return s;
    }
    crate::yaml::go_string(&crate::yaml::go_bytes(&s))
}

/// `s` as Go's rune-wise functions (`strings.Map`, `for range`) see it: each invalid byte is
/// U+FFFD.
pub fn runes_lossy(s: &str) -> std::borrow::Cow<'_, str> {
    if !has_raw_bytes(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if raw_byte_of(c).is_some() {
                    char::REPLACEMENT_CHARACTER
                } else {
                    c
                }
            })
            .collect(),
    )
}

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
    /// The parameters of method `name`, if the object has one, in the signature notation of
    /// the function registry (`"s"`: one string; `""`: none; `"a"`: one of any type). Go looks
    /// methods up before fields and map keys, and checks their arguments as a function's.
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        let _ = name;
        None
    }
    /// The Go type a method argument must have when its signature letter is `a` but Go wants
    /// a type no template value has (such as `io.Writer`), for the error message.
    fn method_arg_type(&self, name: &str) -> Option<&'static str> {
        let _ = name;
        None
    }
    /// What an action such as `{{ .Capabilities.KubeVersion }}` prints: text/template uses a
    /// `String` method even when it has a pointer receiver, where `%v` does not.
    fn print(&self) -> String {
        self.format()
    }
    /// Go's `%+v` (struct field names).
    fn format_plus(&self) -> String {
        self.format()
    }
    /// Go's `%#v`.
    fn go_syntax(&self) -> String {
        self.format()
    }
    /// A Go struct's fields as `encoding/json` writes them, in declaration order, with their
    /// JSON names (`omitempty` fields left out when empty). `None` for objects that are not
    /// structs.
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// The plain value `encoding/json` sees for an object that is not a struct (a Go slice or
    /// map type such as `chartutil.VersionSet`). `None` when there is none.
    fn json_plain(&self) -> Option<Value> {
        None
    }
    /// The Go kind (`reflect.Kind`) for `kindOf` and `kindIs`, when it is not `ptr`.
    fn kind(&self) -> &'static str {
        if self.as_shared_map().is_some() {
            "map"
        } else if self.typed_list().is_some() || self.bytes().is_some() {
            "slice"
        } else {
            "ptr"
        }
    }
    /// The [`NamedMap`] this object is, if it is one (such as `chartutil.Values`).
    fn named_map(&self) -> Option<&NamedMap> {
        None
    }
    /// Whether Go's `==` is defined on the object's type (`eq` refuses other types): true for
    /// pointers, and for structs whose fields are all comparable.
    fn go_comparable(&self) -> bool {
        self.kind() == "ptr"
    }
    /// Go's `==` against another object of the same type name, for comparable types other
    /// than pointers (pointers are equal only when they are the same object).
    fn go_eq(&self, other: &dyn Object) -> bool {
        let _ = other;
        false
    }
    /// Go's formatting with `spec` (a whole directive such as `%5.1s`, whose verb is not `v`
    /// or `T`) when it differs from [`format`](Self::format): a struct applies the directive
    /// to each field (`%s` of a `bool` field reads `%!s(bool=true)`), a `Stringer` to its
    /// text for `%s`, `%q`, `%x`. `None` (the default) formats as `%v` for `s` and complains
    /// for other verbs.
    fn format_verb(&self, spec: &str) -> Option<String> {
        let _ = spec;
        None
    }
    /// Go's truth of a scalar object (a `complex128` is false when zero); `None` (the
    /// default) for objects whose truth is their emptiness or that are always true.
    fn truth(&self) -> Option<bool> {
        None
    }
    /// The number of an object whose Go kind is an integer kind (a named integer type such as
    /// `time.Month` or `time.Duration`, or a `uint64`): Go's `eq` and `lt`, `printf`'s
    /// numeric verbs and Sprig's conversions see this number. `None` (the default) for other
    /// objects.
    fn go_int(&self) -> Option<i128> {
        None
    }
    /// text/template's error for a member the type has but templates cannot use: an
    /// unexported field (`wall is an unexported field of struct type time.Time`), or a method
    /// whose results a template cannot take (checked after the method's arity). `None`
    /// (the default) for usable members and names the type does not have.
    fn member_error(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
}

/// A Go integer that is neither `int` nor `int64`: a named integer type with no methods but
/// `String` (`time.Month`, `time.Weekday`), or a `uint64` (a semver's `Major`). Its reflect
/// kind is an integer kind, so Go's comparisons, `printf`'s `%d` and Sprig's conversions
/// see its number, while `%v`, `%s` and actions print its `String` text when it has one.
pub struct GoInt {
    type_name: &'static str,
    kind: &'static str,
    n: i128,
    /// What the type's `String` method returns; `None` when it has none.
    text: Option<String>,
}

impl GoInt {
    /// A value of Go type `type_name` (reflect kind `kind`, such as `int` or `uint64`)
    /// holding `n`, with `text` as its `String()` if the type has that method.
    pub fn value(
        type_name: &'static str,
        kind: &'static str,
        n: i128,
        text: Option<String>,
    ) -> Value {
        Value::Object(Arc::new(GoInt {
            type_name,
            kind,
            n,
            text,
        }))
    }

    /// A Go `uint64`.
    pub fn uint64(n: u64) -> Value {
        GoInt::value("uint64", "uint64", i128::from(n), None)
    }

    fn unsigned(&self) -> bool {
        self.kind.starts_with('u')
    }
}

impl Object for GoInt {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.call(name, &[])?.ok()
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        (name == "String" && self.text.is_some()).then_some("")
    }
    fn member_error(&self, name: &str) -> Option<String> {
        match self.method_sig(name) {
            Some(_) => None,
            None => Some(format!(
                "can't evaluate field {name} in type {}",
                self.type_name
            )),
        }
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args, &self.text) {
            ("String", [], Some(t)) => Some(Ok(Value::String(t.clone()))),
            _ => None,
        }
    }
    fn format(&self) -> String {
        match &self.text {
            Some(t) => t.clone(),
            None => self.n.to_string(),
        }
    }
    /// Go's `%#v` of an integer kind: unsigned ones in hexadecimal.
    fn go_syntax(&self) -> String {
        if self.unsigned() {
            format!("{:#x}", self.n)
        } else {
            self.n.to_string()
        }
    }
    fn json_plain(&self) -> Option<Value> {
        Some(match i64::try_from(self.n) {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Float(self.n as f64),
        })
    }
    fn go_comparable(&self) -> bool {
        true
    }
    fn go_eq(&self, other: &dyn Object) -> bool {
        other.go_int() == Some(self.n)
    }
    fn truth(&self) -> Option<bool> {
        Some(self.n != 0)
    }
    fn go_int(&self) -> Option<i128> {
        Some(self.n)
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
    /// Go's nil map (what `nil` becomes as a map parameter): empty, encoded as `null`, and
    /// `set` on it fails. Cleared when something is stored (as `merge` replaces a nil map).
    nil: std::sync::atomic::AtomicBool,
}

impl SharedMap {
    /// A shared map holding `m` (its nested maps become shared when read).
    pub fn new(m: Map) -> Arc<SharedMap> {
        Arc::new(SharedMap {
            map: std::sync::Mutex::new(m),
            strings: false,
            nil: Default::default(),
        })
    }

    /// Go's nil `map[string]interface {}`.
    pub fn nil_map() -> Arc<SharedMap> {
        Arc::new(SharedMap {
            map: Default::default(),
            strings: false,
            nil: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Whether this is Go's nil map.
    pub fn is_nil(&self) -> bool {
        self.nil.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A Go `map[string]string` (what Sprig's `split` and `splitn` return): `typeOf` names it
    /// so, and functions taking `map[string]interface {}` refuse it, as in Go.
    pub fn string_map(m: Map) -> Arc<SharedMap> {
        Arc::new(SharedMap {
            map: std::sync::Mutex::new(m),
            strings: true,
            nil: Default::default(),
        })
    }

    /// Go's nil `map[string]string`.
    pub fn nil_string_map() -> Arc<SharedMap> {
        Arc::new(SharedMap {
            map: Default::default(),
            strings: true,
            nil: std::sync::atomic::AtomicBool::new(true),
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
        self.nil.store(false, std::sync::atomic::Ordering::Relaxed);
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

    /// The map of a [`NamedMap`] as Go's unnamed `map[string]interface {}`: what a function
    /// parameter of that type receives (Go converts named map types on assignment). Other
    /// values are returned unchanged.
    pub fn unnamed(&self) -> Value {
        match self {
            Value::Object(o) => match o.named_map() {
                Some(n) => Value::Object(n.map.clone()),
                None => self.clone(),
            },
            _ => self.clone(),
        }
    }

    /// The number of a value of an integer kind other than `int`/`int64` (see
    /// [`Object::go_int`]) as an `int64`, for functions that compare by kind. A `uint64`
    /// past `int64`'s range has no such value.
    pub fn as_go_int(&self) -> Option<Value> {
        match self {
            Value::Object(o) => o
                .go_int()
                .and_then(|n| i64::try_from(n).ok())
                .map(Value::Int64),
            _ => None,
        }
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
    /// The backing array, shared with the slices `slice` takes of this one.
    items: Arc<std::sync::Mutex<Vec<Value>>>,
    /// The window of the backing array this slice is.
    start: usize,
    end: usize,
    /// Whether this is Go's nil slice (which `%#v` prints as `[]string(nil)`).
    pub nil: bool,
}

impl TypedList {
    /// A `[]string` of these strings.
    pub fn strings(items: impl IntoIterator<Item = String>) -> Value {
        Self::of("[]string", items.into_iter().map(Value::String).collect())
    }

    /// A slice of Go type `type_name` (for example `[]int`) holding `items`.
    pub fn of(type_name: &'static str, items: Vec<Value>) -> Value {
        let end = items.len();
        Value::Object(Arc::new(TypedList {
            type_name,
            items: Arc::new(std::sync::Mutex::new(items)),
            start: 0,
            end,
            nil: false,
        }))
    }

    /// Go's nil slice of type `type_name`.
    pub fn nil(type_name: &'static str) -> Value {
        Value::Object(Arc::new(TypedList {
            type_name,
            items: Arc::default(),
            start: 0,
            end: 0,
            nil: true,
        }))
    }

    /// Go's `s[start:end]`: a slice of the same type sharing this one's backing array (the
    /// caller checked `start <= end <= len`).
    pub fn window(&self, start: usize, end: usize) -> Value {
        let end = (self.start + end).min(self.end);
        Value::Object(Arc::new(TypedList {
            type_name: self.type_name,
            items: self.items.clone(),
            start: (self.start + start).min(end),
            end,
            nil: false,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the elements.
    pub fn items(&self) -> Vec<Value> {
        self.lock()
            .get(self.start..self.end)
            .unwrap_or_default()
            .to_vec()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<Value> {
        if i >= self.len() {
            return None;
        }
        self.lock().get(self.start + i).cloned()
    }

    /// Sorts the elements in place (Sprig's `sortAlpha` on a `[]string`), by their text.
    pub fn sort_strings(&self) {
        let mut items = self.lock();
        if let Some(window) = items.get_mut(self.start..self.end) {
            window.sort_by(|a, b| match (a, b) {
                (Value::String(x), Value::String(y)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            });
        }
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

/// One level of [`materialize`]: a [`SharedMap`] (or named map) as a [`Value::Map`] of its
/// current entries and a [`TypedList`] as a [`Value::List`], the children left as they are.
/// Other values are returned unchanged.
pub fn materialize_shallow(v: &Value) -> Value {
    match v {
        Value::Object(o) => match (o.as_shared_map(), o.typed_list()) {
            (Some(sm), _) => Value::Map(sm.entries_shared().into_iter().collect()),
            (None, Some(t)) => Value::List(t.items()),
            (None, None) => v.clone(),
        },
        _ => v.clone(),
    }
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

/// Go's `complex128`, from a complex constant in a template (`1i`, `1+2i`).
pub struct GoComplex {
    re: f64,
    im: f64,
}

impl GoComplex {
    /// The complex number `re + im·i` as a template value.
    pub fn value(re: f64, im: f64) -> Value {
        Value::Object(Arc::new(GoComplex { re, im }))
    }
}

impl Object for GoComplex {
    fn type_name(&self) -> &str {
        "complex128"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// Go's `%v`: `(1+2i)`.
    fn format(&self) -> String {
        let f = |x: f64| crate::template::format::format_float(x, 'g', None);
        let im = f(self.im);
        let sign = if im.starts_with(['-', '+']) { "" } else { "+" };
        format!("({}{sign}{im}i)", f(self.re))
    }
    fn kind(&self) -> &'static str {
        "complex128"
    }
    fn go_comparable(&self) -> bool {
        true
    }
    fn go_eq(&self, other: &dyn Object) -> bool {
        other.format() == self.format()
    }
    fn truth(&self) -> Option<bool> {
        Some(self.re != 0.0 || self.im != 0.0)
    }
}

/// A Go named type whose underlying type is `map[string]interface {}`, such as Helm's
/// `chartutil.Values` (the type of dot, `.Values` and `.Template`): the same map as the
/// [`SharedMap`] it wraps, seen with another type name and with the type's methods.
///
/// Go converts a named map to `map[string]interface {}` when it is passed to a parameter of
/// that type, so `merge`, `set`, `pick`… see (and return) the plain map type, while functions
/// taking `interface{}` (`typeOf`, `deepCopy`, `dig`) see the named type.
pub struct NamedMap {
    type_name: &'static str,
    /// A [`SharedMap`] object (checked when built).
    map: Arc<dyn Object>,
}

/// Go's type name of Helm's values.
pub const VALUES_TYPE: &str = "chartutil.Values";

impl NamedMap {
    /// `map` (a Go map: a [`Value::Map`] or a [`SharedMap`]) as a `chartutil.Values`; other
    /// values are returned unchanged.
    pub fn values(map: Value) -> Value {
        let map = match share(map) {
            Value::Object(o) if o.named_map().is_some() => return Value::Object(o),
            Value::Object(o) if o.as_shared_map().is_some_and(|m| !m.is_string_map()) => o,
            other => return other,
        };
        Value::Object(Arc::new(NamedMap {
            type_name: VALUES_TYPE,
            map,
        }))
    }

    fn shared(&self) -> &SharedMap {
        static EMPTY: std::sync::OnceLock<SharedMap> = std::sync::OnceLock::new();
        self.map
            .as_shared_map()
            .unwrap_or_else(|| EMPTY.get_or_init(SharedMap::default))
    }

    /// Helm's `Values.Table`: the nested table at a dotted path.
    fn table(&self, path: &str) -> Result<Value, String> {
        let mut cur = Value::Object(self.map.clone());
        for key in path.split('.') {
            let next = cur.as_shared_map().and_then(|m| m.get(key));
            match next {
                Some(v) if is_plain_table(&v) => cur = v,
                Some(Value::Object(o)) if o.named_map().is_some() => {
                    cur = Value::Object(o).unnamed()
                }
                _ => return Err(format!("{} is not a table", quote(key))),
            }
        }
        Ok(NamedMap::values(cur))
    }

    /// Helm's `Values.PathValue`: the non-table value at a dotted path.
    fn path_value(&self, path: &str) -> Result<Value, String> {
        if path.is_empty() {
            return Err("YAML path cannot be empty".into());
        }
        let (table, key) = match path.rsplit_once('.') {
            Some((t, k)) => (self.table(t).map_err(|_| no_value(k))?, k),
            None => (Value::Object(self.map.clone()), path),
        };
        match table.as_shared_map().and_then(|m| m.get(key)) {
            Some(v) if !is_plain_table(&v) => Ok(v),
            _ => Err(no_value(key)),
        }
    }
}

impl Object for NamedMap {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.shared().get(name)
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        match name {
            "AsMap" | "YAML" => Some(""),
            "Table" | "PathValue" => Some("s"),
            "Encode" => Some("a"),
            _ => None,
        }
    }
    fn method_arg_type(&self, name: &str) -> Option<&'static str> {
        (name == "Encode").then_some("io.Writer")
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arg = match args.first() {
            Some(Value::String(s)) => s.as_str(),
            _ => "",
        };
        Some(match name {
            "AsMap" if self.shared().is_empty() => Ok(Value::Object(SharedMap::new(Map::new()))),
            "AsMap" => Ok(Value::Object(self.map.clone())),
            "YAML" => materialize(&Value::Object(self.map.clone()))
                .and_then(|v| crate::yaml::marshal(&v).map_err(|e| e.to_string()))
                .map(Value::String),
            "Table" => self.table(arg),
            "PathValue" => self.path_value(arg),
            // Encode writes to a nil io.Writer (the only one a template can pass).
            "Encode" => Err(crate::funcs::NIL_DEREF.into()),
            _ => return None,
        })
    }
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        self.map.entries()
    }
    fn format(&self) -> String {
        self.map.format()
    }
    fn as_shared_map(&self) -> Option<&SharedMap> {
        self.map.as_shared_map()
    }
    fn named_map(&self) -> Option<&NamedMap> {
        Some(self)
    }
}

fn no_value(key: &str) -> String {
    format!("{} is not a value", quote(key))
}

fn quote(s: &str) -> String {
    crate::template::format::go_quote(s)
}

/// Helm's `istable`: a `map[string]interface {}` (not a named map or a `map[string]string`).
fn is_plain_table(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::Object(o) => {
            o.named_map().is_none() && o.as_shared_map().is_some_and(|m| !m.is_string_map())
        }
        _ => false,
    }
}
