//! Helm's post-processing of rendered files: `SplitManifests`, `SortManifests` (hooks apart,
//! generic manifests stably sorted by `InstallOrder`), CRDs and `--show-only`, and the exact
//! text `helm template` prints.

use super::{RenderOptions, show_only_match};
use crate::chart::Chart;
use crate::chart::metadata::{field, json_kind};
use crate::error::{Error, Result};
use crate::yaml::{self, Node};

/// Helm 3.17's `InstallOrder`.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

struct Manifest {
    name: String,
    content: String,
    kind: String,
    is_test: bool,
}

/// Go's `strings.TrimSpace`.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace())
}

fn is_go_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// Helm's `SplitManifests`: split on `(?:^|\s*\n)---\s*`, dropping empty pieces, trimming each.
pub(crate) fn split_manifests(big: &str) -> Vec<String> {
    let s = trim(big);
    let b = s.as_bytes();
    let mut docs = Vec::new();
    let mut start = 0;
    let mut i = 0;
    // Find each separator match, leftmost first, as Go's regexp would.
    while i <= b.len() {
        // Candidate: at the very beginning (`^`), or whitespace run ending in '\n' before "---".
        let mut matched = None;
        if i == 0 && b.starts_with(b"---") {
            matched = Some((0, 3));
        } else if i < b.len() && is_go_space(b[i]) {
            // Longest whitespace run from i containing a '\n' directly before "---".
            let mut j = i;
            let mut last_nl_end = None;
            while j < b.len() && is_go_space(b[j]) {
                if b[j] == b'\n' && b[j + 1..].starts_with(b"---") {
                    last_nl_end = Some(j + 1);
                }
                j += 1;
            }
            if let Some(e) = last_nl_end {
                matched = Some((i, e + 3));
            }
        }
        match matched {
            Some((ms, mut me)) => {
                while me < b.len() && is_go_space(b[me]) {
                    me += 1;
                }
                docs.push(&s[start..ms]);
                start = me;
                i = if me > ms { me } else { ms + 1 };
            }
            None => i += 1,
        }
    }
    docs.push(&s[start..]);
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| trim(d).to_string())
        .collect()
}

struct Head {
    kind: String,
    annotations: Option<Vec<(String, String)>>,
}

/// A mapping's entries as `json.Marshal` writes them: one per key (the last), sorted.
fn sorted_entries(pairs: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut out: Vec<(String, Node)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// sigs.k8s.io/yaml's conversion for a Go `string` target: numbers and booleans become text.
fn to_string_target(n: Node) -> Node {
    match n {
        Node::Int(i) => Node::Str(i.to_string()),
        Node::Uint(u) => Node::Str(u.to_string()),
        Node::Float(f) => Node::Str(yaml::format_float_g32(f)),
        Node::Bool(b) => Node::Str(b.to_string()),
        other => other,
    }
}

/// Converts the scalars `SimpleHead` reads as strings (`apiVersion`, `kind`, `metadata.name`,
/// the annotation values), as sigs.k8s.io/yaml does before its JSON round trip.
fn convert_head(node: Node) -> Node {
    let Node::Map(pairs) = node else {
        return node;
    };
    let pairs = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = match field(&["apiVersion", "kind", "metadata"], &k) {
                Some("metadata") => match v {
                    Node::Map(md) => Node::Map(
                        md.into_iter()
                            .map(|(mk, mv)| {
                                let mv = match field(&["name", "annotations"], &mk) {
                                    Some("name") => to_string_target(mv),
                                    Some(_) => match mv {
                                        Node::Map(a) => Node::Map(
                                            a.into_iter()
                                                .map(|(ak, av)| (ak, to_string_target(av)))
                                                .collect(),
                                        ),
                                        other => other,
                                    },
                                    None => mv,
                                };
                                (mk, mv)
                            })
                            .collect(),
                    ),
                    other => other,
                },
                Some(_) => to_string_target(v),
                None => v,
            };
            (k, v)
        })
        .collect();
    Node::Map(pairs)
}

/// The first `encoding/json` type mismatch while filling `SimpleHead`.
struct HeadDecoder {
    first: Option<String>,
}

impl HeadDecoder {
    fn mismatch(&mut self, n: &Node, strukt: &str, field: &str, ty: &str) {
        if self.first.is_none() {
            self.first = Some(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {strukt}.{field} of type {ty}",
                json_kind(n)
            ));
        }
    }

    fn string(&mut self, n: Node, strukt: &str, field: &str) -> Option<String> {
        match n {
            Node::Null => None,
            Node::Str(s) => Some(s),
            other => {
                self.mismatch(&other, strukt, field, "string");
                None
            }
        }
    }
}

/// The type Go names for `SimpleHead.Metadata`, an anonymous struct.
const METADATA_TYPE: &str = "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }";

/// Helm's `yaml.Unmarshal(manifest, &SimpleHead{})`: the kind and the annotations, with
/// sigs.k8s.io/yaml's conversions and `encoding/json`'s errors (keys in sorted order, field
/// names matched case-insensitively, the first mismatch reported).
fn parse_head(doc: &str, path: &str) -> Result<Head> {
    let wrap = |m: String| Error::Render(format!("YAML parse error on {path}: {m}"));
    let node = match yaml::parse_first_node(doc).map_err(|e| wrap(e.to_string()))? {
        Some(n) => convert_head(n),
        None => Node::Null,
    };
    // The JSON leg fails on what JSON cannot hold (infinities), wherever it is.
    yaml::node_to_value(node.clone()).map_err(|e| wrap(e.to_string()))?;
    let pairs = match node {
        Node::Null => Vec::new(),
        Node::Map(p) => p,
        other => {
            return Err(wrap(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type releaseutil.SimpleHead",
                json_kind(&other)
            )));
        }
    };
    let mut d = HeadDecoder { first: None };
    let mut kind = String::new();
    let mut annotations: Option<Vec<(String, String)>> = None;
    for (k, v) in sorted_entries(pairs) {
        match field(&["apiVersion", "kind", "metadata"], &k) {
            Some("apiVersion") => {
                d.string(v, "SimpleHead", "apiVersion");
            }
            Some("kind") => {
                if let Some(s) = d.string(v, "SimpleHead", "kind") {
                    kind = s;
                }
            }
            Some(_) => match v {
                Node::Null => annotations = None,
                Node::Map(md) => {
                    for (mk, mv) in sorted_entries(md) {
                        match field(&["name", "annotations"], &mk) {
                            Some("name") => {
                                d.string(mv, "", "metadata.name");
                            }
                            Some(_) => match mv {
                                Node::Null => annotations = None,
                                Node::Map(a) => {
                                    let mut out = annotations.take().unwrap_or_default();
                                    for (ak, av) in sorted_entries(a) {
                                        let s = d.string(av, "", "metadata.annotations");
                                        let s = s.unwrap_or_default();
                                        match out.iter_mut().find(|(ok, _)| *ok == ak) {
                                            Some(slot) => slot.1 = s,
                                            None => out.push((ak, s)),
                                        }
                                    }
                                    annotations = Some(out);
                                }
                                other => d.mismatch(
                                    &other,
                                    "",
                                    "metadata.annotations",
                                    "map[string]string",
                                ),
                            },
                            None => {}
                        }
                    }
                }
                other => d.mismatch(&other, "SimpleHead", "metadata", METADATA_TYPE),
            },
            None => {}
        }
    }
    match d.first {
        Some(e) => Err(wrap(e)),
        None => Ok(Head { kind, annotations }),
    }
}

fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

fn sort_by_kind(list: &mut [Manifest]) {
    list.sort_by(|a, b| {
        use std::cmp::Ordering::*;
        match (kind_rank(&a.kind), kind_rank(&b.kind)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Less,
            (None, Some(_)) => Greater,
            (None, None) => a.kind.cmp(&b.kind),
        }
    });
}

/// Turns rendered files into `helm template`'s output.
pub(crate) fn assemble(
    chart: &Chart,
    mut rendered: Vec<(String, String)>,
    opts: &RenderOptions,
    warnings: &mut Vec<String>,
) -> Result<String> {
    rendered.retain(|(name, _)| !name.ends_with(super::NOTES_SUFFIX));
    rendered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in &rendered {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || trim(content).is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = parse_head(&doc, path).map_err(Error::rendering)?;
            let doc = printed_bytes(doc);
            let hook = head
                .annotations
                .as_ref()
                .and_then(|a| a.iter().find(|(k, _)| k == "helm.sh/hook"))
                .map(|(_, v)| v.clone());
            match hook {
                None => generic.push(Manifest {
                    name: path.clone(),
                    content: doc,
                    kind: head.kind,
                    is_test: false,
                }),
                Some(types) => {
                    let events: Vec<String> =
                        types.split(',').map(|t| t.trim().to_lowercase()).collect();
                    if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                        // Helm logs (with the whole annotation) and skips manifests with an
                        // unknown hook.
                        warnings.push(format!(
                            "manifest_sorter.go:190: info: skipping unknown hook: {}",
                            crate::template::format::go_quote(&types)
                        ));
                        continue;
                    }
                    let is_test = events.iter().any(|e| e == "test" || e == "test-success");
                    hooks.push(Manifest {
                        name: path.clone(),
                        content: doc,
                        kind: head.kind,
                        is_test,
                    });
                }
            }
        }
    }
    sort_by_kind(&mut generic);
    sort_by_kind(&mut hooks);

    let mut manifest = String::new();
    if opts.include_crds {
        write_crds(chart, &mut manifest);
    }
    for m in &generic {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
    }
    let mut out = String::new();
    out.push_str(trim(&manifest));
    out.push('\n');
    for h in &hooks {
        if opts.skip_tests && h.is_test {
            continue;
        }
        out.push_str(&format!("---\n# Source: {}\n{}\n", h.name, h.content));
    }
    if opts.show_only.is_empty() {
        return Ok(out);
    }
    let docs = split_manifests(&out);
    let mut selected = String::new();
    for f in &opts.show_only {
        let mut missing = true;
        for d in &docs {
            let Some(rest) = d.find("# Source: ").map(|i| &d[i + "# Source: ".len()..]) else {
                continue;
            };
            let line = rest.split('\n').next().unwrap_or("");
            let Some((chart_name, path)) = line.split_once('/') else {
                continue;
            };
            if chart_name.is_empty() || path.is_empty() {
                continue;
            }
            if show_only_match(f, path) {
                selected.push_str(&format!("---\n{d}\n"));
                missing = false;
            }
        }
        if missing {
            return Err(Error::Render(format!(
                "could not find template {f} in chart"
            )));
        }
    }
    Ok(selected)
}

/// A manifest that holds raw bytes (see [`yaml::go_string`]) as Helm prints it: go-yaml read
/// it, so the bytes are UTF-8 (pieces of one character rendered apart join again) or UTF-16
/// after a byte-order mark, which stays as raw bytes for the caller to write out
/// ([`yaml::go_bytes`]).
fn printed_bytes(doc: String) -> String {
    if !crate::value::has_raw_bytes(&doc) {
        return doc;
    }
    crate::value::go_string(&yaml::go_bytes(&doc))
}

fn write_crds(chart: &Chart, out: &mut String) {
    let full = chart.full_path();
    for f in &chart.files {
        let n = &f.name;
        if n.starts_with("crds/")
            && (n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json"))
        {
            out.push_str(&format!(
                "---\n# Source: {full}/{n}\n{}\n",
                crate::value::go_string(&f.data)
            ));
        }
    }
    for d in &chart.dependencies {
        write_crds(d, out);
    }
}

#[cfg(test)]
mod tests {
    use super::split_manifests;

    #[test]
    fn split_like_helm() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), vec!["a: 1", "b: 2"]);
        // As with Go's regexp, the whitespace after one `---` is consumed, so a second `---`
        // right after it stays in the next document.
        assert_eq!(
            split_manifests("---\na: 1\n---   \n\n---\nb: 2"),
            vec!["a: 1", "---\nb: 2"]
        );
        assert_eq!(split_manifests("# c\n---\n"), vec!["# c"]);
        assert!(split_manifests("  \n").is_empty());
    }
}
