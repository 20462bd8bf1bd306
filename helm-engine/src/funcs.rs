//! The functions templates can call: Go's `text/template` builtins, Sprig v3 (without `env`
//! and `expandenv`, as Helm removes them) and Helm's own (`include`, `tpl`, `required`,
//! `toYaml`, `fromYaml`, `toJson`, `lookup`, …).
//!
//! Each function declares Go's parameter types, so the executor checks arity and argument
//! types and reports mismatches with Go's messages (`wrong number of args for X: want 2 got 1`,
//! `wrong type for value; expected string; got float64`) before the function runs.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::template::exec::{Shared, V};
use crate::value::Value;

mod builtins;
mod certs;
mod convert;
mod crypto;
mod dates;
pub(crate) mod goregex;
pub(crate) mod helm;
mod lists;
mod maths;
mod misc;
mod strings;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod corner_tests;

pub(crate) use convert::{to_f64, to_i64, to_string as strval};
pub(crate) use helm::json_to_value;

/// A Go parameter type, as far as argument checking needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum P {
    /// `interface{}`.
    Any,
    /// `string`.
    Str,
    /// `int` / `int64`.
    Int,
    /// `float64`.
    Float,
    /// `bool`.
    Bool,
    /// `map[string]interface{}`.
    Map,
    /// `[]interface{}`.
    List,
    /// `uint32` (`derivePassword`'s counter).
    Uint32,
    /// `time.Time` (Sprig's `unixEpoch`, `dateModify`; `Time.Sub`, `Time.Before`…).
    Time,
    /// `time.Duration` (`Time.Add`, `Duration.Round`…): integer constants convert to it, but
    /// a computed value must already be one.
    Duration,
    /// `*time.Location` (`Time.In`): nil converts to it.
    Location,
}

impl P {
    /// The type of a signature letter (see [`Registry::plain`]).
    pub(crate) fn from_sig(c: char) -> P {
        match c {
            's' => P::Str,
            'i' => P::Int,
            'f' => P::Float,
            'b' => P::Bool,
            'm' => P::Map,
            'l' => P::List,
            'u' => P::Uint32,
            't' => P::Time,
            'd' => P::Duration,
            'L' => P::Location,
            _ => P::Any,
        }
    }

    /// The Go type name used in error messages.
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Bool => "bool",
            P::Map => "map[string]interface {}",
            P::List => "[]interface {}",
            P::Uint32 => "uint32",
            P::Time => "time.Time",
            P::Duration => "time.Duration",
            P::Location => "*time.Location",
        }
    }
}

/// A function over plain values.
pub(crate) type PlainFn = fn(&[&Value]) -> Result<Value, String>;
/// A function that needs the executor (`include`, `tpl`) or keeps borrowed values borrowed.
pub(crate) type CtxFn = for<'a, 's, 'x> fn(&'x mut Shared<'s>, Vec<V<'a>>) -> Result<V<'a>, String>;

/// How a function is implemented.
pub(crate) enum Imp {
    Plain(PlainFn),
    Ctx(CtxFn),
    /// Go's short-circuit `and`.
    And,
    /// Go's short-circuit `or`.
    Or,
    /// Go's `call`, which the executor answers itself: no template value is a function, and
    /// its error names the callee by the first argument's source text.
    Call,
}

/// A function: Go's parameter list and the implementation.
pub(crate) struct FuncDef {
    pub params: Vec<P>,
    /// Whether a plain function takes [`SharedMap`](crate::value::SharedMap)s as they are
    /// (keeping Go's map references); others get plain copies.
    pub shared: bool,
    /// The element type of a variadic last parameter.
    pub variadic: Option<P>,
    /// From which argument on the function reads its operands by their reflect kind, as
    /// Go's comparisons and `index`'s indexes do: a named integer type (`time.Month`) or a
    /// `uint64` is then its number.
    pub by_kind: Option<usize>,
    pub imp: Imp,
}

/// The function table being built.
pub(crate) struct Registry(HashMap<&'static str, FuncDef>);

impl Registry {
    /// Registers `name` with a signature such as `"is"` (int, string) or `"sa*"` (string,
    /// ...interface{}): `a` any, `s` string, `i` int, `f` float64, `b` bool, `m` map, `l` list,
    /// `u` uint32, `t` time.Time, `d` time.Duration, `L` *time.Location, and a trailing `*`
    /// makes the last one variadic.
    pub(crate) fn plain(&mut self, name: &'static str, sig: &str, f: PlainFn) {
        self.add(name, sig, Imp::Plain(f));
    }

    /// Registers a plain function that handles [`SharedMap`](crate::value::SharedMap)s
    /// itself: it keeps map references (`dict`, `list`, `set`) or only reads them.
    pub(crate) fn shared(&mut self, name: &'static str, sig: &str, f: PlainFn) {
        self.add(name, sig, Imp::Plain(f));
        if let Some(d) = self.0.get_mut(name) {
            d.shared = true;
        }
    }

    pub(crate) fn ctx(&mut self, name: &'static str, sig: &str, f: CtxFn) {
        self.add(name, sig, Imp::Ctx(f));
    }

    fn add(&mut self, name: &'static str, sig: &str, imp: Imp) {
        let mut params: Vec<P> = sig.chars().filter(|&c| c != '*').map(P::from_sig).collect();
        let variadic = if sig.ends_with('*') {
            params.pop()
        } else {
            None
        };
        self.0.insert(
            name,
            FuncDef {
                params,
                shared: false,
                variadic,
                by_kind: None,
                imp,
            },
        );
    }
}

fn registry() -> &'static HashMap<&'static str, FuncDef> {
    static REG: OnceLock<HashMap<&'static str, FuncDef>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut r = Registry(HashMap::new());
        builtins::register(&mut r);
        // text/template's comparisons take `basicKind`s and `index` reads indexes by kind:
        // a time.Month is an int to them.
        for (name, from) in [
            ("eq", 0),
            ("ne", 0),
            ("lt", 0),
            ("le", 0),
            ("gt", 0),
            ("ge", 0),
            ("index", 1),
        ] {
            if let Some(d) = r.0.get_mut(name) {
                d.by_kind = Some(from);
            }
        }
        strings::register(&mut r);
        lists::register(&mut r);
        maths::register(&mut r);
        dates::register(&mut r);
        crypto::register(&mut r);
        certs::register(&mut r);
        misc::register(&mut r);
        helm::register(&mut r);
        r.0
    })
}

/// Looks up a function by name.
pub(crate) fn lookup(name: &str) -> Option<&'static FuncDef> {
    registry().get(name)
}

/// The names of every function templates can call, sorted.
pub fn names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = registry().keys().copied().collect();
    v.sort_unstable();
    v
}

// ---- argument helpers for plain functions (types are checked before the call) ----

pub(crate) fn arg_str<'v>(a: &[&'v Value], i: usize) -> &'v str {
    match a.get(i) {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

pub(crate) fn arg_int(a: &[&Value], i: usize) -> i64 {
    match a.get(i) {
        Some(Value::Int(n) | Value::Int64(n)) => *n,
        Some(Value::Float(f)) => *f as i64,
        _ => 0,
    }
}

pub(crate) fn s(v: impl Into<String>) -> Result<Value, String> {
    Ok(Value::String(v.into()))
}

/// Go's message for a runtime panic from a nil interface (`reflect.TypeOf(nil).Kind()`).
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// The reflect kind name of a value, as Sprig's error messages print it.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => o.kind(),
    }
}
