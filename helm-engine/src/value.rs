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
