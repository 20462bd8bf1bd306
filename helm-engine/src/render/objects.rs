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
}

/// `.Capabilities.HelmVersion`: the reference helm's build information.
#[derive(Debug, Clone, Copy)]
pub struct HelmVersion;

const HELM_GIT_COMMIT: &str = "e4da49785aa6e6ee2b86efd5dd9e43400318262b";

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let s = match name {
            "Version" => super::HELM_VERSION,
            "GitCommit" => HELM_GIT_COMMIT,
            "GitTreeState" => "clean",
            "GoVersion" => "go1.23.7",
            _ => return None,
        };
        Some(Value::String(s.into()))
    }
    fn format(&self) -> String {
        format!(
            "{{{} {HELM_GIT_COMMIT} clean go1.23.7}}",
            super::HELM_VERSION
        )
    }
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

    /// The template value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "KubeVersion".into(),
            Value::Object(Arc::new(self.kube_version.clone())),
        );
        m.insert(
            "APIVersions".into(),
            Value::Object(Arc::new(VersionSet(self.api_versions.clone()))),
        );
        m.insert("HelmVersion".into(), Value::Object(Arc::new(HelmVersion)));
        Value::Map(m)
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

    fn get(&self, name: &str) -> String {
        self.files
            .get(name)
            .map(|d| String::from_utf8_lossy(d).into_owned())
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
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::String(String::from_utf8_lossy(v).into_owned()),
                )
            })
            .collect()
    }
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
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => Some(Value::String(
                self.as_map(|d| String::from_utf8_lossy(d).into_owned()),
            )),
            "AsSecrets" => {
                Some(Value::String(self.as_map(|d| {
                    base64::engine::general_purpose::STANDARD.encode(d)
                })))
            }
            _ => None,
        }
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<std::result::Result<Value, String>> {
        Some(match name {
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
                let mut s = String::from_utf8_lossy(data).into_owned();
                if s.ends_with('\n') {
                    s.pop();
                }
                Ok(TypedList::strings(s.split('\n').map(str::to_owned)))
            }),
            _ => return None,
        })
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

/// `.Chart`: the metadata with Go's field names, plus `IsRoot`.
pub(crate) fn chart_value(md: &Metadata, is_root: bool) -> Value {
    let s = |x: &str| Value::String(x.to_string());
    let list = |xs: &[String]| Value::List(xs.iter().map(|x| s(x)).collect());
    let mut m = Map::new();
    m.insert("Name".into(), s(&md.name));
    m.insert("Home".into(), s(&md.home));
    m.insert("Sources".into(), list(&md.sources));
    m.insert("Version".into(), s(&md.version));
    m.insert("Description".into(), s(&md.description));
    m.insert("Keywords".into(), list(&md.keywords));
    m.insert(
        "Maintainers".into(),
        Value::List(
            md.maintainers
                .iter()
                .map(|mm| {
                    let mut out = Map::new();
                    for (k, g) in [("name", "Name"), ("email", "Email"), ("url", "URL")] {
                        out.insert(g.into(), mm.get(k).cloned().unwrap_or(s("")));
                    }
                    Value::Map(out)
                })
                .collect(),
        ),
    );
    m.insert("Icon".into(), s(&md.icon));
    m.insert("APIVersion".into(), s(&md.api_version));
    m.insert("Condition".into(), s(&md.condition));
    m.insert("Tags".into(), s(&md.tags));
    m.insert("AppVersion".into(), s(&md.app_version));
    m.insert("Deprecated".into(), Value::Bool(md.deprecated));
    m.insert(
        "Annotations".into(),
        Value::Map(
            md.annotations
                .iter()
                .map(|(k, v)| (k.clone(), s(v)))
                .collect(),
        ),
    );
    m.insert("KubeVersion".into(), s(&md.kube_version));
    m.insert(
        "Dependencies".into(),
        Value::List(
            md.dependencies
                .iter()
                .map(|d| {
                    let mut out = Map::new();
                    out.insert("Name".into(), s(&d.name));
                    out.insert("Version".into(), s(&d.version));
                    out.insert("Repository".into(), s(&d.repository));
                    out.insert("Condition".into(), s(&d.condition));
                    out.insert("Tags".into(), list(&d.tags));
                    out.insert("Enabled".into(), Value::Bool(d.enabled));
                    out.insert("ImportValues".into(), Value::List(d.import_values.clone()));
                    out.insert("Alias".into(), s(&d.alias));
                    Value::Map(out)
                })
                .collect(),
        ),
    );
    m.insert("Type".into(), s(&md.chart_type));
    m.insert("IsRoot".into(), Value::Bool(is_root));
    Value::Map(m)
}
