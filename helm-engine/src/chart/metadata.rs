//! `Chart.yaml` (and a v1 chart's `requirements.yaml`) read as Helm reads them:
//! `sigs.k8s.io/yaml` turns the YAML into JSON (numbers and booleans become strings where the Go
//! field is a string), `encoding/json` fills `chart.Metadata` (keys in sorted order, names matched
//! case-insensitively, the first type mismatch reported), then `Metadata.Validate` cleans the
//! strings and checks the fields, with Helm's wording throughout.

use super::{Dependency, Metadata};
use crate::error::{Error, Result};
use crate::value::{Map, Value};
use crate::yaml::{self, Node};

/// The first `encoding/json` type mismatch met while decoding; decoding goes on without it.
#[derive(Default)]
struct Decoder {
    first: Option<String>,
}

/// A JSON value's kind as `encoding/json` names it in an `UnmarshalTypeError`.
pub(crate) fn json_kind(n: &Node) -> &'static str {
    match n {
        Node::Null => "null",
        Node::Bool(_) => "bool",
        Node::Int(_) | Node::Uint(_) | Node::Float(_) => "number",
        Node::Str(_) => "string",
        Node::Seq(_) => "array",
        Node::Map(_) => "object",
    }
}

impl Decoder {
    /// Records `json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of type <ty>`.
    fn mismatch(&mut self, n: &Node, strukt: &str, path: &str, ty: &str) {
        if self.first.is_none() {
            self.first = Some(format!(
                "json: cannot unmarshal {} into Go struct field {strukt}.{path} of type {ty}",
                json_kind(n)
            ));
        }
    }

    /// A `string` field: scalars are converted as sigs.k8s.io/yaml does; null leaves the field.
    fn string(&mut self, n: &Node, strukt: &str, path: &str) -> Option<String> {
        match n {
            Node::Null => None,
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Uint(u) => Some(u.to_string()),
            Node::Float(f) => Some(yaml::format_float_g32(*f)),
            Node::Bool(b) => Some(b.to_string()),
            Node::Seq(_) | Node::Map(_) => {
                self.mismatch(n, strukt, path, "string");
                None
            }
        }
    }

    /// A `bool` field.
    fn boolean(&mut self, n: &Node, strukt: &str, path: &str) -> Option<bool> {
        match n {
            Node::Null => None,
            Node::Bool(b) => Some(*b),
            _ => {
                self.mismatch(n, strukt, path, "bool");
                None
            }
        }
    }

    /// A `[]string` field: null empties it, a list's elements are strings.
    fn strings(&mut self, n: &Node, strukt: &str, path: &str) -> Option<Vec<String>> {
        match n {
            Node::Null => Some(Vec::new()),
            Node::Seq(items) => Some(
                items
                    .iter()
                    .map(|i| self.string(i, strukt, path).unwrap_or_default())
                    .collect(),
            ),
            _ => {
                self.mismatch(n, strukt, path, "[]string");
                None
            }
        }
    }

    /// The `annotations` field, a `map[string]string`.
    fn string_map(&mut self, n: &Node, strukt: &str, path: &str) -> Option<Vec<(String, String)>> {
        match n {
            Node::Null => Some(Vec::new()),
            Node::Map(pairs) => Some(
                sorted(pairs)
                    .into_iter()
                    .map(|(k, v)| {
                        let path = format!("{path}.{k}");
                        (k.clone(), self.string(v, strukt, &path).unwrap_or_default())
                    })
                    .collect(),
            ),
            _ => {
                self.mismatch(n, strukt, path, "map[string]string");
                None
            }
        }
    }

    /// A `[]*T` field of structs: each element decoded by `one`, null elements kept as `None`.
    fn struct_list<T>(
        &mut self,
        n: &Node,
        parent: &str,
        path: &str,
        go_type: &str,
        mut one: impl FnMut(&mut Self, &[(String, Node)]) -> T,
    ) -> Option<Vec<Option<T>>> {
        match n {
            Node::Null => Some(Vec::new()),
            Node::Seq(items) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        Node::Null => None,
                        Node::Map(pairs) => Some(one(self, pairs)),
                        other => {
                            self.mismatch(other, parent, path, &format!("chart.{go_type}"));
                            None
                        }
                    })
                    .collect(),
            ),
            _ => {
                self.mismatch(n, parent, path, &format!("[]*chart.{go_type}"));
                None
            }
        }
    }
}

/// A JSON object's keys as `json.Marshal` writes them (sorted; a repeated YAML key once, its
/// last value).
fn sorted(pairs: &[(String, Node)]) -> Vec<(&String, &Node)> {
    let mut out: Vec<(&String, &Node)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// `encoding/json`'s field lookup: the exact name, else a case-insensitive match.
pub(crate) fn field<'a>(fields: &[&'a str], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| **f == key)
        .or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(key)))
        .copied()
}

const METADATA_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
];

const MAINTAINER_FIELDS: &[&str] = &["name", "email", "url"];

const DEPENDENCY_FIELDS: &[&str] = &[
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "enabled",
    "import-values",
    "alias",
];

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// The top-level mapping of `file`, as `yaml.Unmarshal` into a Go `go_type` struct reads it:
/// `None` for an empty document or null (nothing to decode), an error naming the type for any
/// other kind of node.
fn top_pairs(data: &[u8], file: &str, go_type: &str) -> Result<Option<Vec<(String, Node)>>> {
    let wrap = |m: String| Error::Chart(format!("cannot load {file}: {m}"));
    let text = yaml::decode_yaml_bytes(data).map_err(|e| wrap(e.to_string()))?;
    match yaml::parse_first_node(&text).map_err(|e| wrap(e.to_string()))? {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Map(p)) => Ok(Some(p)),
        Some(other) => Err(wrap(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type {go_type}",
            json_kind(&other)
        ))),
    }
}

/// Decodes `file` (`Chart.yaml` or `requirements.yaml`) over `md`, as `yaml.Unmarshal(data,
/// c.Metadata)` does: fields the file names are replaced, the others kept.
pub(crate) fn decode(data: &[u8], file: &str, md: &mut Metadata) -> Result<()> {
    let wrap = |m: String| Error::Chart(format!("cannot load {file}: {m}"));
    let Some(pairs) = top_pairs(data, file, "chart.Metadata")? else {
        return Ok(());
    };
    let mut d = Decoder::default();
    for (k, v) in sorted(&pairs) {
        let Some(f) = field(METADATA_FIELDS, k) else {
            continue;
        };
        let s = "Metadata";
        let empty = match v {
            Node::Seq(items) => items.is_empty(),
            Node::Map(pairs) => pairs.is_empty(),
            _ => false,
        };
        match f {
            "name" => set(&mut md.name, d.string(v, s, f)),
            "home" => set(&mut md.home, d.string(v, s, f)),
            "sources" => {
                md.set_empty.sources = empty;
                set(&mut md.sources, d.strings(v, s, f));
            }
            "version" => set(&mut md.version, d.string(v, s, f)),
            "description" => set(&mut md.description, d.string(v, s, f)),
            "keywords" => {
                md.set_empty.keywords = empty;
                set(&mut md.keywords, d.strings(v, s, f));
            }
            "maintainers" => {
                md.set_empty.maintainers = empty;
                if let Some(list) = d.struct_list(v, "Metadata", f, "Maintainer", decode_maintainer)
                {
                    md.null_maintainer = list.iter().any(Option::is_none);
                    md.maintainers = list.into_iter().flatten().collect();
                }
            }
            "icon" => set(&mut md.icon, d.string(v, s, f)),
            "apiVersion" => set(&mut md.api_version, d.string(v, s, f)),
            "condition" => set(&mut md.condition, d.string(v, s, f)),
            "tags" => set(&mut md.tags, d.string(v, s, f)),
            "appVersion" => set(&mut md.app_version, d.string(v, s, f)),
            "deprecated" => set(&mut md.deprecated, d.boolean(v, s, f)),
            "annotations" => {
                md.set_empty.annotations = empty;
                set(&mut md.annotations, d.string_map(v, s, f));
            }
            "kubeVersion" => set(&mut md.kube_version, d.string(v, s, f)),
            "dependencies" => {
                if let Some(list) = d.struct_list(v, "Metadata", f, "Dependency", decode_dependency)
                {
                    md.null_dependency = list.iter().any(Option::is_none);
                    md.dependencies = list.into_iter().flatten().collect();
                }
            }
            "type" => set(&mut md.chart_type, d.string(v, s, f)),
            _ => {}
        }
    }
    match d.first {
        Some(e) => Err(wrap(format!(
            "error unmarshaling JSON: while decoding JSON: {e}"
        ))),
        None => Ok(()),
    }
}

const LOCK_FIELDS: &[&str] = &["generated", "digest", "dependencies"];

/// `Chart.lock` and `requirements.lock`: Helm decodes them into `chart.Lock` (`helm template`
/// uses none of its fields: the digest is not checked, the dependencies come from `charts/`)
/// and fails on YAML it cannot read, a document that is not a map, fields of the wrong type
/// (the first in JSON key order), or a `generated` time that `time.Time`'s `UnmarshalJSON`
/// refuses, which stops the decoding at once and so wins over type errors.
pub(crate) fn check_lock(data: &[u8], file: &str) -> Result<()> {
    let wrap = |m: String| Error::Chart(format!("cannot load {file}: {m}"));
    let Some(pairs) = top_pairs(data, file, "chart.Lock")? else {
        return Ok(());
    };
    let mut d = Decoder::default();
    for (k, v) in sorted(&pairs) {
        match field(LOCK_FIELDS, k) {
            Some("generated") => {
                if let Err(e) = unmarshal_json_time(v) {
                    return Err(wrap(format!(
                        "error unmarshaling JSON: while decoding JSON: {e}"
                    )));
                }
            }
            Some("digest") => {
                d.string(v, "Lock", "digest");
            }
            Some("dependencies") => {
                d.struct_list(v, "Lock", "dependencies", "Dependency", decode_dependency);
            }
            _ => {}
        }
    }
    match d.first {
        Some(e) => Err(wrap(format!(
            "error unmarshaling JSON: while decoding JSON: {e}"
        ))),
        None => Ok(()),
    }
}

/// `time.Time`'s `UnmarshalJSON` of a field's JSON text: null leaves the time alone, a string
/// is parsed as RFC 3339 from its JSON-escaped bytes (Go does not unescape them first),
/// anything else is not a JSON string. (sigs.k8s.io/yaml converts no scalar for a field whose
/// type unmarshals itself, so a number stays a number.)
fn unmarshal_json_time(n: &Node) -> std::result::Result<(), String> {
    let s = match n {
        Node::Null => return Ok(()),
        Node::Str(s) => s,
        _ => return Err("Time.UnmarshalJSON: input is not a JSON string".into()),
    };
    let escaped = json_escaped(s);
    crate::values::gotime::parse("2006-01-02T15:04:05Z07:00", &escaped).map(|_| ())
}

/// A string's bytes inside the quotes `json.Marshal` writes: HTML characters, U+2028/U+2029,
/// control characters, quote and backslash escaped; bytes that are not UTF-8 as U+FFFD.
fn json_escaped(s: &str) -> String {
    let valid: String = s
        .chars()
        .map(|c| match yaml::raw_byte(c) {
            Some(_) => '\u{fffd}',
            None => c,
        })
        .collect();
    let mut out = String::with_capacity(valid.len());
    crate::funcs::helm::json_chars(&mut out, &valid, true);
    out
}

fn decode_maintainer(d: &mut Decoder, pairs: &[(String, Node)]) -> Map {
    let mut out = Map::new();
    for f in MAINTAINER_FIELDS {
        out.insert(f.to_string(), Value::String(String::new()));
    }
    for (k, v) in sorted(pairs) {
        if let Some(f) = field(MAINTAINER_FIELDS, k) {
            if let Some(s) = d.string(v, "Maintainer", &format!("maintainers.{f}")) {
                out.insert(f.to_string(), Value::String(s));
            }
        }
    }
    out
}

fn decode_dependency(d: &mut Decoder, pairs: &[(String, Node)]) -> Dependency {
    let mut dep = Dependency::default();
    for (k, v) in sorted(pairs) {
        let Some(f) = field(DEPENDENCY_FIELDS, k) else {
            continue;
        };
        let (s, path) = ("Dependency", format!("dependencies.{f}"));
        match f {
            "name" => set(&mut dep.name, d.string(v, s, &path)),
            "version" => set(&mut dep.version, d.string(v, s, &path)),
            "repository" => set(&mut dep.repository, d.string(v, s, &path)),
            "condition" => set(&mut dep.condition, d.string(v, s, &path)),
            "tags" => set(&mut dep.tags, d.strings(v, s, &path)),
            "enabled" => set(&mut dep.enabled, d.boolean(v, s, &path)),
            "import-values" => match v {
                Node::Null => dep.import_values = Vec::new(),
                Node::Seq(_) => {
                    if let Ok(Value::List(l)) = yaml::node_to_value(v.clone()) {
                        dep.import_values = l;
                    }
                }
                other => d.mismatch(other, s, &path, "[]interface {}"),
            },
            "alias" => set(&mut dep.alias, d.string(v, s, &path)),
            _ => {}
        }
    }
    dep
}

/// Go's `unicode.IsPrint` for a character that is not white space: letters, marks, numbers,
/// punctuation and symbols.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_graphic();
    }
    static PRINT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PRINT.get_or_init(|| {
        regex::Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").expect("a valid character class")
    });
    let mut buf = [0u8; 4];
    re.is_match(c.encode_utf8(&mut buf))
}

/// Helm's `sanitizeString`: white space becomes a plain space, other unprintable characters go.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if is_print(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

fn sanitize_all(v: &mut [String]) {
    for s in v {
        *s = sanitize(s);
    }
}

fn validation(msg: String) -> Error {
    Error::Chart(format!("validation: {msg}"))
}

/// Go's `filepath.Base` (on Unix).
fn go_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Helm's `Metadata.Validate`: strings are sanitised first (as Helm does, in place), then the
/// required fields, the version, the type, the maintainers and the dependencies are checked.
pub(crate) fn validate(md: &mut Metadata) -> Result<()> {
    md.name = sanitize(&md.name);
    md.description = sanitize(&md.description);
    md.home = sanitize(&md.home);
    md.icon = sanitize(&md.icon);
    md.condition = sanitize(&md.condition);
    md.tags = sanitize(&md.tags);
    md.app_version = sanitize(&md.app_version);
    md.kube_version = sanitize(&md.kube_version);
    sanitize_all(&mut md.sources);
    sanitize_all(&mut md.keywords);

    if md.api_version.is_empty() {
        return Err(validation("chart.metadata.apiVersion is required".into()));
    }
    if md.name.is_empty() {
        return Err(validation("chart.metadata.name is required".into()));
    }
    if md.name != go_base(&md.name) {
        return Err(validation(format!(
            "chart.metadata.name {:?} is invalid",
            md.name
        )));
    }
    if md.version.is_empty() {
        return Err(validation("chart.metadata.version is required".into()));
    }
    if !is_valid_semver(&md.version) {
        return Err(validation(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        )));
    }
    if !md.chart_type.is_empty() && md.chart_type != "application" && md.chart_type != "library" {
        return Err(validation(
            "chart.metadata.type must be application or library".into(),
        ));
    }
    if md.null_maintainer {
        return Err(validation(
            "maintainers must not contain empty or null nodes".into(),
        ));
    }
    for m in &mut md.maintainers {
        for (_, v) in m.iter_mut() {
            if let Value::String(s) = v {
                *s = sanitize(s);
            }
        }
    }
    if md.null_dependency {
        return Err(validation(
            "dependencies must not contain empty or null nodes".into(),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for d in &mut md.dependencies {
        d.name = sanitize(&d.name);
        d.version = sanitize(&d.version);
        d.repository = sanitize(&d.repository);
        d.condition = sanitize(&d.condition);
        sanitize_all(&mut d.tags);
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(validation(format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            )));
        }
        let key = if d.alias.is_empty() {
            d.name.clone()
        } else {
            d.alias.clone()
        };
        if seen.contains(&key) {
            return Err(validation(format!(
                "more than one dependency with name or alias {key:?}"
            )));
        }
        seen.push(key);
    }
    Ok(())
}

/// Masterminds/semver 3.3's `NewVersion` (which coerces): `v` prefix allowed, minor and patch
/// optional, leading zeros allowed in the core numbers (each must fit a uint64), dot-separated
/// pre-release identifiers of `[0-9A-Za-z-]` without leading zeros in numeric ones, and build
/// identifiers of the same characters.
pub(crate) fn is_valid_semver(v: &str) -> bool {
    let s = v.strip_prefix('v').unwrap_or(v);
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let (core, rest) = s.split_at(core_end);
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() > 3
        || !nums.iter().all(|n| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u64>().is_ok()
        })
    {
        return false;
    }
    let ident_ok =
        |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let (pre, build) = match rest.strip_prefix('-') {
        Some(r) => match r.split_once('+') {
            Some((p, b)) => (Some(p), Some(b)),
            None => (Some(r), None),
        },
        None => (None, rest.strip_prefix('+')),
    };
    if let Some(pre) = pre {
        for id in pre.split('.') {
            if !ident_ok(id) {
                return false;
            }
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
        }
    }
    if let Some(build) = build {
        if !build.split('.').all(ident_ok) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_as_masterminds_coerces() {
        for ok in [
            "1",
            "v1",
            "1.2",
            "01.2.3",
            "1.2.3-0",
            "1.2.3-0a",
            "1.2.3--",
            "1.2.3+01",
            "1.2.3-a+b.c",
            "18446744073709551615.0.0",
            "1.0.0-rc.1",
        ] {
            assert!(is_valid_semver(ok), "{ok} should be valid");
        }
        for bad in [
            "",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-01",
            "1.2.3+a+b",
            "1.2.3-a..b",
            "1.2.3-a_b",
            "V1.0",
            " 1.0.0",
            "1.0.0 ",
            "1..2",
            "1.2.",
            "1.2.3.",
            "+1",
            "1.2.3.4",
            "99999999999999999999.0.0",
        ] {
            assert!(!is_valid_semver(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn sanitize_as_helm() {
        assert_eq!(
            sanitize("tab\there\u{7}bell\u{a0}nbsp\nnl\u{200b}zw\u{85}x"),
            "tab herebell nbsp nlzw x"
        );
        assert_eq!(sanitize("ünï ok"), "ünï ok");
    }

    #[test]
    fn names_as_filepath_base() {
        assert_eq!(go_base(".."), "..");
        assert_eq!(go_base("a/"), "a");
        assert_eq!(go_base("/"), "/");
        assert_eq!(go_base("//"), "/");
        assert_eq!(go_base("a/b"), "b");
    }

    fn decoded(text: &str) -> Result<Metadata> {
        let mut md = Metadata::default();
        decode(text.as_bytes(), "Chart.yaml", &mut md).map(|()| md)
    }

    #[test]
    fn type_errors_name_the_first_field_in_key_order() {
        let e = decoded("version: [1]\nname: {a: 1}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go struct field Metadata.name of type string"
        );
        let e = decoded("maintainers:\n  - name: [x]\n").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("Go struct field Maintainer.maintainers.name of type string"),
            "{e}"
        );
        let e = decoded("dependencies: [1]\n").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("cannot unmarshal number into Go struct field Metadata.dependencies of type chart.Dependency"),
            "{e}"
        );
        let e = decoded("- a\n").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("cannot unmarshal array into Go value of type chart.Metadata"),
            "{e}"
        );
    }

    #[test]
    fn scalars_become_strings_and_names_match_any_case() {
        let md = decoded("NAME: 12\nversion: 1.10\ndeprecated: true\nannotations: {a: 1, b: on}\n")
            .unwrap();
        assert_eq!(md.name, "12");
        assert_eq!(md.version, "1.1");
        assert!(md.deprecated);
        assert_eq!(
            md.annotations,
            vec![("a".into(), "1".into()), ("b".into(), "true".into())]
        );
    }

    #[test]
    fn null_list_entries_fail_validation() {
        let mut md =
            decoded("apiVersion: v2\nname: a\nversion: 1.0.0\nmaintainers: [~]\n").unwrap();
        assert_eq!(
            validate(&mut md).unwrap_err().to_string(),
            "validation: maintainers must not contain empty or null nodes"
        );
        let mut md =
            decoded("apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n  -\n").unwrap();
        assert_eq!(
            validate(&mut md).unwrap_err().to_string(),
            "validation: dependencies must not contain empty or null nodes"
        );
    }
}
