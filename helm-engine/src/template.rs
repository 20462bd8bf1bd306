//! Go `text/template`, as Helm uses it: a set of templates parsed from chart files that share
//! their `define`s, executed over a [`Value`] with Sprig's and Helm's functions.
//!
//! ```
//! use helm_engine::template::TemplateSet;
//! use helm_engine::value::Value;
//!
//! let mut set = TemplateSet::new();
//! set.parse("chart/templates/_helpers.tpl", r#"{{ define "name" }}{{ .name | upper }}{{ end }}"#).unwrap();
//! set.parse("chart/templates/a.yaml", r#"name: {{ include "name" . | quote }}"#).unwrap();
//! let mut data = helm_engine::value::Map::new();
//! data.insert("name".into(), Value::String("web".into()));
//! let out = set.render("chart/templates/a.yaml", &Value::Map(data)).unwrap();
//! assert_eq!(out, "name: \"WEB\"");
//! ```
//!
//! Behaviour follows Go 1.23's `text/template` and Helm 3.17's engine:
//! - parse errors read `template: NAME:LINE: MESSAGE`;
//! - execution errors read `template: NAME:LINE:COL: executing "TEMPLATE" at <NODE>: MESSAGE`;
//! - missing map keys follow the [`MissingKey`] option (Helm uses [`MissingKey::Zero`], the
//!   default here), and [`TemplateSet::render`] strips `<no value>` as Helm does.
//!
//! Go maps are references, and so are the maps templates hold here: when a template starts, its
//! data's maps become [`SharedMap`](crate::value::SharedMap)s, as do the maps functions build.
//! `set`, `unset`, `merge` and `mergeOverwrite` change their first argument in place, and every
//! holder sees it: other variables, dot inside `with` and `range`, `dict`s and `list`s holding
//! the map, templates it is passed to with `include`, and values returned by `get`, `index`,
//! `default`, `pick`, `values`. `deepCopy` makes an independent copy. Functions that only read
//! (`toYaml`, `toJson`, `printf`, …) get plain copies. A map set into itself cannot be printed
//! or serialised (Go overflows its stack; here it is an error).
//!
//! Data passed to [`TemplateSet::render`] as a plain [`Value::Map`] is shared within that one
//! execution. To share changes across templates, as Helm does between the templates of a chart
//! (they all get the same map as dot), pass the result of [`crate::value::share`] to every
//! call: it is not copied.
//!
//! Go's `int` and `int64` are distinct ([`Value::Int`], [`Value::Int64`]): `typeOf (add 1 2)` is
//! `int64`, and an `int64` where a function takes `int` is Go's "wrong type for value" error.
//! Sprig's typed slices and maps keep their Go type ([`crate::value::TypedList`]): `[]string`
//! from `splitList`, `keys`, `sortAlpha`, `toStrings`, `regexFindAll`, `regexSplit`; `[]int`
//! from `until` and `untilStep`; `map[string]string` from `split` and `splitn`. `typeOf`, `%T`
//! and Go's argument checks see them (`keys (split …)` is Go's "wrong type" error), and
//! `sortAlpha` sorts a `[]string` in place as Sprig does. [`TemplateSet::render`] gives dot,
//! `.Values` and `.Template` Helm's type `chartutil.Values` (with its methods `AsMap`, `YAML`,
//! `Table`, `PathValue`), which functions taking a `map[string]interface {}` see converted.
//!
//! Go strings are bytes; ours are UTF-8. A string that holds bytes that are not UTF-8 (a
//! `"\xff"` escape, a character cut by `trunc` or `substr`, `b64dec` or `.Files.Get` output,
//! template source given as [`crate::yaml::go_string`]) keeps each such byte as one
//! private-use character: byte-wise functions (`len`, `b64enc`, hashes, `trunc`, `substr`,
//! `wrap`, `contains`, `replace`, `%x`, `quote`'s `\xNN`) see the bytes, rune-wise ones see
//! U+FFFD as Go does, and pieces that join into a character again become it; `toJson` and
//! `toYaml` write U+FFFD for them, as Go's encoders do.
//!
//! Complex constants (`1i`, `1+2i`) are Go's `complex128` for printing, `typeOf`, `eq` and
//! truth; Go's JSON encoder refuses them (`json: unsupported type: complex128`).
//!
//! Named integer types keep their Go type: `time.Month` and `time.Weekday` print their names
//! and compare, convert and serialise as numbers; a semver's `Major`, `Minor` and `Patch` are
//! `uint64`.

pub(crate) mod exec;
pub mod format;
pub(crate) mod lex;
pub(crate) mod parse;

use std::collections::HashMap;
use std::sync::Arc;

use crate::value::Value;
use parse::Tree;

/// What a template error was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A template failed to parse; the text is Go's (`template: NAME:LINE: MESSAGE`).
    #[error("{0}")]
    Parse(String),
    /// Execution failed; `message` is Go's full error text.
    #[error("{message}")]
    Exec {
        /// The name of the template that was executing when the error occurred.
        template: String,
        /// Go's error text: `template: LOCATION: executing "NAME" at <NODE>: MESSAGE`.
        message: String,
    },
    /// No template of that name is in the set.
    #[error("template: no template {name:?} associated with template {root:?}")]
    NoTemplate {
        /// The requested name.
        name: String,
        /// The set's root name (`gotpl` in Helm).
        root: String,
    },
    /// A Go runtime panic inside text/template itself, such as `runtime error: index out of
    /// range [0] with length 0`. A function running the template (`include`, `tpl`) turns it
    /// into its own `error calling` error; at the top, Helm's renderer recovers it and
    /// reports `rendering template failed: PANIC` (see [`Error::helm_message`]).
    #[error("{0}")]
    Panic(String),
    /// The engine itself failed (for example, it could not start a thread for a deep include
    /// chain).
    #[error("internal template engine error: {0}")]
    Internal(String),
}

impl Error {
    /// The error as Helm reports it, after its `cleanupParseError` / `cleanupExecError`:
    /// parse errors become `parse error at (LOCATION): MESSAGE`, and `required` failures become
    /// `execution error at (LOCATION): MESSAGE`. `filename` is the template being rendered.
    pub fn helm_message(&self, filename: &str) -> String {
        match self {
            Error::Parse(text) => {
                let tokens: Vec<&str> = text.split(": ").collect();
                if tokens.len() == 1 {
                    return format!("parse error in ({filename}): {text}");
                }
                format!(
                    "parse error at ({}): {}",
                    tokens[1],
                    tokens[tokens.len() - 1]
                )
            }
            Error::Exec { message, .. } => {
                let tokens: Vec<&str> = message.splitn(3, ": ").collect();
                if tokens.len() != 3 {
                    return format!("execution error in ({filename}): {message}");
                }
                if let Some(start) = tokens[2].find(HELM_ERR_START) {
                    let rest = &tokens[2][start + HELM_ERR_START.len()..];
                    // Helm's `HELM_ERR_START((?s).*)HELM_ERR_END` is greedy across lines.
                    if let Some(end) = rest.rfind(HELM_ERR_END) {
                        return format!("execution error at ({}): {}", tokens[1], &rest[..end]);
                    }
                }
                message.clone()
            }
            Error::Panic(text) => format!("rendering template failed: {text}"),
            other => other.to_string(),
        }
    }
}

/// Markers Helm's `required` wraps its message in, so the renderer can find it again.
pub(crate) const HELM_ERR_START: &str = "HELM_ERR_START";
pub(crate) const HELM_ERR_END: &str = "HELM_ERR_END";

/// Go's `missingkey` option: what a missing map key evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: an invalid value, printed as `<no value>`; fields of it
    /// evaluate to nothing.
    Invalid,
    /// `missingkey=zero` (Helm's choice): the zero value of `interface{}` — nil, which prints as
    /// `<no value>` and makes a further field access fail with "nil pointer evaluating".
    #[default]
    Zero,
    /// `missingkey=error`: a missing key is an error (Helm's `--strict` lint mode).
    Error,
}

/// A set of parsed templates that share their definitions, as Helm's engine builds one per
/// render.
#[derive(Debug)]
pub struct TemplateSet {
    trees: HashMap<String, Arc<Tree>>,
    missing_key: MissingKey,
    root_name: String,
}

impl Default for TemplateSet {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateSet {
    /// An empty set named `gotpl` (the name Helm gives its root template, which appears in
    /// `include` and `tpl` error messages), with `missingkey=zero`.
    pub fn new() -> Self {
        TemplateSet {
            trees: HashMap::new(),
            missing_key: MissingKey::Zero,
            root_name: "gotpl".into(),
        }
    }

    /// Sets the `missingkey` option.
    pub fn set_missing_key(&mut self, mk: MissingKey) {
        self.missing_key = mk;
    }

    /// Parses `source` as the template `name` (a chart file path such as
    /// `mychart/templates/deploy.yaml`) and adds it and its `define`s to the set. A later
    /// non-empty definition replaces an earlier one of the same name, as in Go; parse files in
    /// Helm's order so the same definitions win.
    pub fn parse(&mut self, name: &str, source: &str) -> Result<(), Error> {
        let trees = parse::parse(name, source, &|n| crate::funcs::lookup(n).is_some())
            .map_err(|e| Error::Parse(e.0))?;
        for t in trees {
            let keep_old = parse::is_empty_list(&t.root) && self.trees.contains_key(&t.name);
            if !keep_old {
                self.trees.insert(t.name.clone(), Arc::new(t));
            }
        }
        Ok(())
    }

    /// [`parse`](Self::parse) with a function table of the caller's: `has_func` says which
    /// names are functions, and `rename` maps a function name as written to the name it is
    /// registered under (for functions only some templates may call).
    pub(crate) fn parse_with(
        &mut self,
        name: &str,
        source: &str,
        has_func: &dyn Fn(&str) -> bool,
        rename: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Error> {
        let trees = parse::parse(name, source, has_func).map_err(|e| Error::Parse(e.0))?;
        for mut t in trees {
            rename_list(&mut t.root, rename);
            let keep_old = parse::is_empty_list(&t.root) && self.trees.contains_key(&t.name);
            if !keep_old {
                self.trees.insert(t.name.clone(), Arc::new(t));
            }
        }
        Ok(())
    }

    /// Whether a template of that name (file or `define`) is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of all templates in the set, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.trees.keys().cloned().collect();
        v.sort();
        v
    }

    /// Executes template `name` with `data` as dot, returning Go's raw output (including any
    /// `<no value>` text).
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name).cloned() else {
            return Err(Error::NoTemplate {
                name: name.into(),
                root: self.root_name.clone(),
            });
        };
        let mut shared = exec::Shared::new(self);
        let mut out = String::new();
        shared.run(&tree, exec::V::own(data.clone()), &mut out)?;
        Ok(crate::value::regroup(out))
    }

    /// Executes template `name` as Helm renders a chart file: [`execute`](Self::execute), then
    /// every `<no value>` removed.
    ///
    /// Helm executes chart templates over a `chartutil.Values`: dot, and its `Values` and
    /// `Template` maps, are of that Go type here too (see [`NamedMap`](crate::value::NamedMap)).
    pub fn render(&self, name: &str, data: &Value) -> Result<String, Error> {
        let out = self.execute(name, &helm_dot(data))?;
        Ok(if out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        })
    }
}

/// Helm's dot: a map becomes a `chartutil.Values`, as do its `Values` and `Template` maps
/// (changed in place, so every holder of the map sees the type).
fn helm_dot(data: &Value) -> Value {
    use crate::value::NamedMap;
    let dot = crate::value::share(data.clone());
    if let Some(sm) = dot.as_shared_map() {
        for key in ["Values", "Template"] {
            if let Some(v @ Value::Object(_)) = sm.get(key) {
                let named = NamedMap::values(v.clone());
                if !matches!((&named, &v), (Value::Object(a), Value::Object(b)) if Arc::ptr_eq(a, b))
                {
                    sm.insert(key.to_string(), named);
                }
            }
        }
    }
    NamedMap::values(dot)
}

#[cfg(test)]
pub(crate) mod tests;

/// Renames function identifiers throughout a parsed template (see
/// [`TemplateSet::parse_with`]).
fn rename_list(l: &mut parse::List, rename: &dyn Fn(&str) -> Option<String>) {
    for n in &mut l.nodes {
        match n {
            parse::Node::Action(p) => rename_pipe(p, rename),
            parse::Node::If(c) | parse::Node::Range(c) | parse::Node::With(c) => {
                rename_pipe(&mut c.pipe, rename);
                rename_list(&mut c.list, rename);
                if let Some(e) = &mut c.else_list {
                    rename_list(e, rename);
                }
            }
            parse::Node::Template { pipe: Some(p), .. } => rename_pipe(p, rename),
            _ => {}
        }
    }
}

fn rename_pipe(p: &mut parse::Pipe, rename: &dyn Fn(&str) -> Option<String>) {
    for c in &mut p.cmds {
        for a in &mut c.args {
            rename_arg(a, rename);
        }
    }
}

fn rename_arg(a: &mut parse::Arg, rename: &dyn Fn(&str) -> Option<String>) {
    match a {
        parse::Arg::Identifier { name, .. } => {
            if let Some(new) = rename(name) {
                *name = new;
            }
        }
        parse::Arg::Chain { node, .. } => rename_arg(node, rename),
        parse::Arg::Pipe(p) => rename_pipe(p, rename),
        _ => {}
    }
}
