//! The built-in objects templates see besides `.Values`: `.Chart`, `.Files` and `.Capabilities`.

use crate::chart::{Metadata, glob};
use crate::error::{Error, Result};
use crate::value::{Map, Object, TypedList, Value};
use base64::Engine;
use std::collections::BTreeMap;
use std::sync::Arc;

const DEFAULT_API_VERSIONS: &str = include_str!("default_api_versions.txt");

/// `.Capabilities.KubeVersion`.
#[derive(Debug, Clone)]
pub struct KubeVersion {
    /// `v1.32.0`.
    pub version: String,
    /// `1`.
    pub major: String,
    /// `32`.
    pub minor: String,
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "chartutil.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" | "String" => Some(Value::String(self.version.clone())),
            "Major" => Some(Value::String(self.major.clone())),
            "Minor" => Some(Value::String(self.minor.clone())),
            _ => None,
        }
    }
    /// Go prints the struct (its `String` method has a pointer receiver): `{v1.32.0 1 32}`.
    fn format(&self) -> String {
        format!("{{{} {} {}}}", self.version, self.major, self.minor)
    }
    fn print(&self) -> String {
        self.version.clone()
    }
    fn format_plus(&self) -> String {
        format!(
            "{{Version:{} Major:{} Minor:{}}}",
            self.version, self.major, self.minor
        )
    }
    fn go_syntax(&self) -> String {
        format!(
            "chartutil.KubeVersion{{Version:{:?}, Major:{:?}, Minor:{:?}}}",
            self.version, self.major, self.minor
        )
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn go_comparable(&self) -> bool {
        true
    }
    fn go_eq(&self, other: &dyn Object) -> bool {
        ["Version", "Major", "Minor"]
            .iter()
            .all(|f| self.field(f) == other.field(f))
    }
    fn format_verb(&self, spec: &str) -> Option<String> {
        let f = |s: &str| crate::template::format::sprintf(spec, &[&Value::String(s.into())]);
        Some(format!(
            "{{{} {} {}}}",
            f(&self.version),
            f(&self.major),
            f(&self.minor)
        ))
    }
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(vec![
            ("Version".into(), Value::String(self.version.clone())),
            ("Major".into(), Value::String(self.major.clone())),
            ("Minor".into(), Value::String(self.minor.clone())),
        ])
    }
}

/// `.Capabilities.APIVersions`: a list with a `Has` method.
#[derive(Debug, Clone)]
pub struct VersionSet(pub Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        (name == "Has").then_some("s")
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<std::result::Result<Value, String>> {
        match name {
            "Has" => {
                let Some(Value::String(s)) = args.first() else {
                    return Some(Err("wrong type for value; expected string".into()));
                };
                Some(Ok(Value::Bool(self.0.iter().any(|v| v == s))))
            }
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    /// A `[]string`: the directive applies to each element.
    fn format_verb(&self, spec: &str) -> Option<String> {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| crate::template::format::sprintf(spec, &[&Value::String(v.clone())]))
            .collect();
        Some(format!("[{}]", parts.join(" ")))
    }
    fn go_syntax(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|v| crate::template::format::go_quote(v))
            .collect();
        format!("chartutil.VersionSet{{{}}}", items.join(", "))
    }
    fn kind(&self) -> &'static str {
        "slice"
    }
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), Value::String(v.clone())))
                .collect(),
        )
    }
    fn json_plain(&self) -> Option<Value> {
        Some(Value::List(
            self.0.iter().map(|v| Value::String(v.clone())).collect(),
        ))
    }
}

const HELM_GIT_COMMIT: &str = "e4da49785aa6e6ee2b86efd5dd9e43400318262b";

/// `.Capabilities.HelmVersion`: the reference helm's build information (`version.BuildInfo`).
fn helm_version_value() -> Value {
    let s = |x: &str| Value::String(x.into());
    GoStruct::value(
        "version.BuildInfo",
        vec![
            Field::new("Version", "version", true, s(super::HELM_VERSION)),
            Field::new("GitCommit", "git_commit", true, s(HELM_GIT_COMMIT)),
            Field::new("GitTreeState", "git_tree_state", true, s("clean")),
            Field::new("GoVersion", "go_version", true, s("go1.23.7")),
        ],
    )
}

/// `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// The Kubernetes version.
    pub kube_version: KubeVersion,
    /// The API versions.
    pub api_versions: Vec<String>,
}

impl Capabilities {
    /// The reference helm's defaults (Kubernetes v1.32.0 and its API group versions), with
    /// `--kube-version` and `--api-versions` applied.
    pub fn new(kube_version: Option<&str>, extra_apis: &[String]) -> Result<Self> {
        let kube_version = match kube_version {
            None => KubeVersion {
                version: "v1.32.0".into(),
                major: "1".into(),
                minor: "32".into(),
            },
            Some(v) => parse_kube_version(v)?,
        };
        let mut api_versions: Vec<String> =
            DEFAULT_API_VERSIONS.lines().map(str::to_string).collect();
        api_versions.extend(extra_apis.iter().cloned());
        Ok(Capabilities {
            kube_version,
            api_versions,
        })
    }

    /// The template value: Helm's `*chartutil.Capabilities`.
    pub fn to_value(&self) -> Value {
        GoStruct::value(
            "*chartutil.Capabilities",
            vec![
                Field::new(
                    "KubeVersion",
                    "KubeVersion",
                    false,
                    Value::Object(Arc::new(self.kube_version.clone())),
                ),
                Field::new(
                    "APIVersions",
                    "APIVersions",
                    false,
                    Value::Object(Arc::new(VersionSet(self.api_versions.clone()))),
                ),
                Field::new("HelmVersion", "HelmVersion", false, helm_version_value()),
            ],
        )
    }
}

/// Helm's `ParseKubeVersion`: a lenient semver, printed back as `vMAJOR.MINOR.PATCH`.
fn parse_kube_version(v: &str) -> Result<KubeVersion> {
    let bad = || {
        Error::Render(format!(
            "invalid kube version '{v}': Invalid Semantic Version"
        ))
    };
    let s = v.strip_prefix('v').unwrap_or(v);
    let (core, rest) = match s.find(['-', '+']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad());
    }
    let nums: Vec<u64> = parts
        .iter()
        .map(|p| p.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let major = nums[0];
    let minor = nums.get(1).copied().unwrap_or(0);
    let patch = nums.get(2).copied().unwrap_or(0);
    Ok(KubeVersion {
        version: format!("v{major}.{minor}.{patch}{rest}"),
        major: major.to_string(),
        minor: minor.to_string(),
    })
}

/// Go's `[]byte`, as `.Files.GetBytes` and ranging over `.Files.Glob` give a file's contents.
#[derive(Debug, Clone)]
pub struct GoBytes(pub Vec<u8>);

impl Object for GoBytes {
    fn type_name(&self) -> &str {
        "[]uint8"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// `range` and `len` see the bytes as numbers.
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .enumerate()
                .map(|(i, b)| (Value::Int(i as i64), Value::Int(i64::from(*b))))
                .collect(),
        )
    }
    fn bytes(&self) -> Option<&[u8]> {
        Some(&self.0)
    }
    fn go_syntax(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:#x}")).collect();
        format!("[]byte{{{}}}", parts.join(", "))
    }
    /// `%v` prints the numbers: `[104 105 10]`.
    fn format(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|b| b.to_string()).collect();
        format!("[{}]", parts.join(" "))
    }
}

fn bytes_value(data: &[u8]) -> Value {
    Value::Object(Arc::new(GoBytes(data.to_vec())))
}

/// `.Files`: the chart's non-template files.
#[derive(Debug, Clone, Default)]
pub struct FilesObject {
    files: BTreeMap<String, Vec<u8>>,
}

impl FilesObject {
    /// Wraps the chart's files.
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> Self {
        FilesObject { files }
    }

    /// Helm's `Files.Get`: Go's `string(bytes)`, raw bytes kept (see
    /// [`crate::yaml::go_string`]).
    fn get(&self, name: &str) -> String {
        self.files
            .get(name)
            .map(|d| crate::value::go_string(d))
            .unwrap_or_default()
    }

    fn as_map(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let mut m = Map::new();
        for (k, v) in &self.files {
            let base = k.rsplit('/').next().unwrap_or(k).to_string();
            m.insert(base, Value::String(encode(v)));
        }
        crate::yaml::to_yaml(&Value::Map(m)).unwrap_or_default()
    }

    /// The files as (name, contents) pairs in name order, for `range`.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.files
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(crate::value::go_string(v))))
            .collect()
    }
}

/// The text `encoding/json` makes of bytes: each byte that is not part of valid UTF-8
/// becomes U+FFFD (where `String::from_utf8_lossy` replaces whole invalid sequences).
fn json_lossy(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    out
}

fn str_arg(args: &[Value]) -> std::result::Result<String, String> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err("wrong type for value; expected string".into()),
        None => Err("wrong number of args: want 1 got 0".into()),
    }
}

impl Object for FilesObject {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    /// `range` over `.Files.Glob`: names in order with the contents (Go `[]byte`).
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.files
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), bytes_value(v)))
                .collect(),
        )
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some("s"),
            "AsConfig" | "AsSecrets" => Some(""),
            _ => None,
        }
    }
    /// Any other name is a key of Go's `map[string][]byte`: the file's bytes, or the zero
    /// value (an empty `[]byte`) when there is no such file.
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" | "AsSecrets" => self.call(name, &[]).and_then(|r| r.ok()),
            _ => Some(bytes_value(
                self.files.get(name).map(Vec::as_slice).unwrap_or_default(),
            )),
        }
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<std::result::Result<Value, String>> {
        Some(match name {
            // Helm writes the map through encoding/json, which makes each byte that is not
            // UTF-8 a U+FFFD of its own.
            "AsConfig" => Ok(Value::String(self.as_map(json_lossy))),
            "AsSecrets" => {
                Ok(Value::String(self.as_map(|d| {
                    base64::engine::general_purpose::STANDARD.encode(d)
                })))
            }
            "Get" => str_arg(args).map(|n| Value::String(self.get(&n))),
            "GetBytes" => str_arg(args)
                .map(|n| bytes_value(self.files.get(&n).map(Vec::as_slice).unwrap_or_default())),
            "Glob" => str_arg(args).map(|pattern| {
                let files = self
                    .files
                    .iter()
                    .filter(|(k, _)| glob::files_glob_match(&pattern, k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::Object(Arc::new(FilesObject::new(files)))
            }),
            "Lines" => str_arg(args).and_then(|n| {
                // Helm's Files.Lines is a []string, empty for a missing file.
                let Some(data) = self.files.get(&n) else {
                    return Ok(TypedList::strings(Vec::new()));
                };
                if data.is_empty() {
                    // Helm indexes the last byte of the file without checking its length.
                    return Err("runtime error: index out of range [-1]".into());
                }
                let mut s = crate::value::go_string(data);
                if s.ends_with('\n') {
                    s.pop();
                }
                Ok(TypedList::strings(s.split('\n').map(str::to_owned)))
            }),
            _ => return None,
        })
    }
    fn kind(&self) -> &'static str {
        "map"
    }
    fn go_syntax(&self) -> String {
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    crate::template::format::go_quote(k),
                    GoBytes(v.clone()).go_syntax()
                )
            })
            .collect();
        format!("engine.files{{{}}}", parts.join(", "))
    }
    fn json_plain(&self) -> Option<Value> {
        Some(Value::Map(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), bytes_value(v)))
                .collect(),
        ))
    }
    fn format(&self) -> String {
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(|b| b.to_string()).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", parts.join(" "))
    }
}

/// One field of a [`GoStruct`].
struct Field {
    /// The Go field name.
    name: &'static str,
    /// The `encoding/json` name and whether it is `omitempty`; `None` for an embedded struct
    /// (its fields are promoted).
    json: Option<(&'static str, bool)>,
    value: Value,
    /// `%#v` of the field when its Go value is nil (a nil slice or map), such as
    /// `[]string(nil)`.
    nil_syntax: Option<&'static str>,
}

impl Field {
    fn new(name: &'static str, json: &'static str, omitempty: bool, value: Value) -> Field {
        Field {
            name,
            json: Some((json, omitempty)),
            value,
            nil_syntax: None,
        }
    }
    /// A slice or map field that is nil in Go when it has no elements.
    fn nillable(mut self, syntax: &'static str) -> Field {
        if is_empty(&self.value) {
            self.nil_syntax = Some(syntax);
        }
        self
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(o) => {
            if let Some(m) = o.as_shared_map() {
                m.is_empty()
            } else if let Some(t) = o.typed_list() {
                t.is_empty()
            } else {
                false
            }
        }
        _ => false,
    }
}

/// A Go struct (or pointer to one) as templates see it: fields by name, Go's `%v`, `%+v` and
/// `%#v`, and `encoding/json`'s field names and `omitempty`.
pub(crate) struct GoStruct {
    /// The Go type, such as `*chart.Maintainer`.
    type_name: &'static str,
    fields: Vec<Field>,
}

impl GoStruct {
    fn value(type_name: &'static str, fields: Vec<Field>) -> Value {
        Value::Object(Arc::new(GoStruct { type_name, fields }))
    }

    fn is_pointer(&self) -> bool {
        self.type_name.starts_with('*')
    }

    fn format_with(&self, plus: bool) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let v = field_text(&f.value, plus);
                if plus { format!("{}:{v}", f.name) } else { v }
            })
            .collect();
        format!("{{{}}}", parts.join(" "))
    }
}

/// Whether a struct field's Go type is comparable: not a map or slice, nor a struct holding
/// one.
fn comparable_value(v: &Value) -> bool {
    match v {
        Value::List(_) | Value::Map(_) => false,
        Value::Object(o) => o.go_comparable(),
        _ => true,
    }
}

/// `%v` (or `%+v`) of a struct field.
fn field_text(v: &Value, plus: bool) -> String {
    match v {
        Value::Object(o) if plus && o.as_shared_map().is_none() && o.typed_list().is_none() => {
            o.format_plus()
        }
        other => crate::template::format::sprintf(if plus { "%+v" } else { "%v" }, &[other]),
    }
}

impl Object for GoStruct {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn kind(&self) -> &'static str {
        if self.is_pointer() { "ptr" } else { "struct" }
    }
    fn go_comparable(&self) -> bool {
        self.is_pointer() || self.fields.iter().all(|f| comparable_value(&f.value))
    }
    fn go_eq(&self, other: &dyn Object) -> bool {
        !self.is_pointer()
            && self
                .fields
                .iter()
                .all(|f| match (&f.value, other.field(f.name)) {
                    (Value::Object(x), Some(Value::Object(y))) => {
                        x.type_name() == y.type_name() && (Arc::ptr_eq(x, &y) || x.go_eq(&*y))
                    }
                    (x, Some(y)) => *x == y,
                    (_, None) => false,
                })
    }
    fn format_verb(&self, spec: &str) -> Option<String> {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| crate::template::format::sprintf(spec, &[&f.value]))
            .collect();
        let s = format!("{{{}}}", parts.join(" "));
        Some(if self.is_pointer() {
            format!("&{s}")
        } else {
            s
        })
    }
    fn field(&self, name: &str) -> Option<Value> {
        for f in &self.fields {
            if f.name == name {
                return Some(f.value.clone());
            }
        }
        // Fields of an embedded struct are promoted.
        self.fields
            .iter()
            .filter(|f| f.json.is_none())
            .find_map(|f| match &f.value {
                Value::Object(o) => o.field(name),
                _ => None,
            })
    }
    fn format(&self) -> String {
        let s = self.format_with(false);
        if self.is_pointer() {
            format!("&{s}")
        } else {
            s
        }
    }
    fn print(&self) -> String {
        // text/template prints what a pointer points to.
        self.format_with(false)
    }
    fn format_plus(&self) -> String {
        let s = self.format_with(true);
        if self.is_pointer() {
            format!("&{s}")
        } else {
            s
        }
    }
    fn go_syntax(&self) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let v = match f.nil_syntax {
                    Some(n) => n.to_string(),
                    None => crate::template::format::go_syntax(&f.value),
                };
                format!("{}:{v}", f.name)
            })
            .collect();
        let name = self.type_name.trim_start_matches('*');
        let s = format!("{name}{{{}}}", parts.join(", "));
        if self.is_pointer() {
            format!("&{s}")
        } else {
            s
        }
    }
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        let mut out = Vec::new();
        for f in &self.fields {
            match f.json {
                None => {
                    if let Value::Object(o) = &f.value {
                        out.extend(o.json_fields().unwrap_or_default());
                    }
                }
                Some((_, true)) if is_empty(&f.value) => {}
                Some((name, _)) => out.push((name.to_string(), f.value.clone())),
            }
        }
        Some(out)
    }
}

fn strings_field(name: &'static str, json: &'static str, xs: &[String], set_empty: bool) -> Field {
    Field::new(
        name,
        json,
        true,
        typed_slice(
            "[]string",
            xs.iter().map(|x| Value::String(x.clone())).collect(),
            set_empty,
        ),
    )
    .nillable("[]string(nil)")
}

/// A slice field of Go type `type_name`: nil when it has no elements (as Helm's decoder leaves
/// a field that Chart.yaml does not set), unless Chart.yaml gave it as `[]` (`set_empty`).
fn typed_slice(type_name: &'static str, items: Vec<Value>, set_empty: bool) -> Value {
    if items.is_empty() && !set_empty {
        TypedList::nil(type_name)
    } else {
        TypedList::of(type_name, items)
    }
}

/// `chart.Metadata`, the struct embedded in `.Chart`.
fn metadata_value(md: &Metadata) -> Value {
    let s = |x: &str| Value::String(x.to_string());
    let maintainers = md
        .maintainers
        .iter()
        .map(|mm| {
            let f = |k: &str| match mm.get(k) {
                Some(Value::String(v)) => s(v),
                _ => s(""),
            };
            GoStruct::value(
                "*chart.Maintainer",
                vec![
                    Field::new("Name", "name", true, f("name")),
                    Field::new("Email", "email", true, f("email")),
                    Field::new("URL", "url", true, f("url")),
                ],
            )
        })
        .collect();
    let dependencies = md
        .dependencies
        .iter()
        .map(|d| {
            GoStruct::value(
                "*chart.Dependency",
                vec![
                    Field::new("Name", "name", false, s(&d.name)),
                    Field::new("Version", "version", true, s(&d.version)),
                    Field::new("Repository", "repository", false, s(&d.repository)),
                    Field::new("Condition", "condition", true, s(&d.condition)),
                    strings_field("Tags", "tags", &d.tags, false),
                    Field::new("Enabled", "enabled", true, Value::Bool(d.enabled)),
                    Field::new(
                        "ImportValues",
                        "import-values",
                        true,
                        typed_slice("[]interface {}", d.import_values.clone(), false),
                    )
                    .nillable("[]interface {}(nil)"),
                    Field::new("Alias", "alias", true, s(&d.alias)),
                ],
            )
        })
        .collect();
    let annotations: Map = md
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    GoStruct::value(
        "chart.Metadata",
        vec![
            Field::new("Name", "name", true, s(&md.name)),
            Field::new("Home", "home", true, s(&md.home)),
            strings_field("Sources", "sources", &md.sources, md.set_empty.sources),
            Field::new("Version", "version", true, s(&md.version)),
            Field::new("Description", "description", true, s(&md.description)),
            strings_field("Keywords", "keywords", &md.keywords, md.set_empty.keywords),
            Field::new(
                "Maintainers",
                "maintainers",
                true,
                typed_slice("[]*chart.Maintainer", maintainers, md.set_empty.maintainers),
            )
            .nillable("[]*chart.Maintainer(nil)"),
            Field::new("Icon", "icon", true, s(&md.icon)),
            Field::new("APIVersion", "apiVersion", true, s(&md.api_version)),
            Field::new("Condition", "condition", true, s(&md.condition)),
            Field::new("Tags", "tags", true, s(&md.tags)),
            Field::new("AppVersion", "appVersion", true, s(&md.app_version)),
            Field::new("Deprecated", "deprecated", true, Value::Bool(md.deprecated)),
            Field::new(
                "Annotations",
                "annotations",
                true,
                Value::Object(if annotations.is_empty() && !md.set_empty.annotations {
                    crate::value::SharedMap::nil_string_map()
                } else {
                    crate::value::SharedMap::string_map(annotations)
                }),
            )
            .nillable("map[string]string(nil)"),
            Field::new("KubeVersion", "kubeVersion", true, s(&md.kube_version)),
            Field::new(
                "Dependencies",
                "dependencies",
                true,
                // Helm rebuilds the list from the charts it loads: nil when there are none.
                typed_slice("[]*chart.Dependency", dependencies, false),
            )
            .nillable("[]*chart.Dependency(nil)"),
            Field::new("Type", "type", true, s(&md.chart_type)),
        ],
    )
}

/// The Go fields, in declaration order, of the structs templates see (`.Chart` and its
/// parts, `.Capabilities` and its parts), for encoders that read Go field names
/// (BurntSushi/toml): each name with whether it is an embedded struct.
pub fn go_struct_fields(type_name: &str) -> Option<&'static [(&'static str, bool)]> {
    const METADATA: &[(&str, bool)] = &[
        ("Name", false),
        ("Home", false),
        ("Sources", false),
        ("Version", false),
        ("Description", false),
        ("Keywords", false),
        ("Maintainers", false),
        ("Icon", false),
        ("APIVersion", false),
        ("Condition", false),
        ("Tags", false),
        ("AppVersion", false),
        ("Deprecated", false),
        ("Annotations", false),
        ("KubeVersion", false),
        ("Dependencies", false),
        ("Type", false),
    ];
    Some(match type_name {
        "struct { chart.Metadata; IsRoot bool }" => &[("Metadata", true), ("IsRoot", false)],
        "chart.Metadata" | "*chart.Metadata" => METADATA,
        "*chart.Maintainer" => &[("Name", false), ("Email", false), ("URL", false)],
        "*chart.Dependency" => &[
            ("Name", false),
            ("Version", false),
            ("Repository", false),
            ("Condition", false),
            ("Tags", false),
            ("Enabled", false),
            ("ImportValues", false),
            ("Alias", false),
        ],
        "*chartutil.Capabilities" => &[
            ("KubeVersion", false),
            ("APIVersions", false),
            ("HelmVersion", false),
        ],
        "chartutil.KubeVersion" => &[("Version", false), ("Major", false), ("Minor", false)],
        "version.BuildInfo" => &[
            ("Version", false),
            ("GitCommit", false),
            ("GitTreeState", false),
            ("GoVersion", false),
        ],
        _ => return None,
    })
}

/// `.Chart`: Helm's `struct { chart.Metadata; IsRoot bool }`.
pub(crate) fn chart_value(md: &Metadata, is_root: bool) -> Value {
    GoStruct::value(
        "struct { chart.Metadata; IsRoot bool }",
        vec![
            Field {
                name: "Metadata",
                json: None,
                value: metadata_value(md),
                nil_syntax: None,
            },
            Field::new("IsRoot", "IsRoot", false, Value::Bool(is_root)),
        ],
    )
}
