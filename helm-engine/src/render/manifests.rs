//! Helm's post-processing of rendered files: `SplitManifests`, `SortManifests` (hooks apart,
//! generic manifests stably sorted by `InstallOrder`), CRDs and `--show-only`, and the exact
//! text `helm template` prints.

use super::{RenderOptions, show_only_match};
use crate::chart::Chart;
use crate::error::{Error, Result};
use crate::value::Value;
use crate::yaml;

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

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Float(_) | Value::Int(_) | Value::Int64(_) => "number",
        Value::Bool(_) => "bool",
        Value::List(_) => "array",
        _ => "object",
    }
}

fn parse_head(doc: &str, path: &str) -> Result<Head> {
    let wrap = |m: String| Error::Render(format!("YAML parse error on {path}: {m}"));
    let v = yaml::from_yaml(doc).map_err(|e| wrap(e.to_string()))?;
    let m = match v {
        Value::Map(m) => m,
        Value::Nil => {
            return Ok(Head {
                kind: String::new(),
                annotations: None,
            });
        }
        other => {
            return Err(wrap(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type releaseutil.SimpleHead",
                json_type(&other)
            )));
        }
    };
    let field_err = |field: &str, want: &str, got: &Value| {
        wrap(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field SimpleHead.{field} of type {want}",
            json_type(got)
        ))
    };
    let kind = match m.get("kind") {
        None | Some(Value::Nil) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(field_err("kind", "string", other)),
    };
    if let Some(v) = m.get("apiVersion") {
        if !matches!(v, Value::String(_) | Value::Nil) {
            return Err(field_err("apiVersion", "string", v));
        }
    }
    let mut annotations = None;
    match m.get("metadata") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(md)) => {
            if let Some(n) = md.get("name") {
                if !matches!(n, Value::String(_) | Value::Nil) {
                    return Err(field_err("metadata.name", "string", n));
                }
            }
            match md.get("annotations") {
                None | Some(Value::Nil) => {}
                Some(Value::Map(a)) => {
                    let mut out = Vec::new();
                    for (k, v) in a {
                        match v {
                            Value::String(s) => out.push((k.clone(), s.clone())),
                            Value::Nil => out.push((k.clone(), String::new())),
                            other => {
                                return Err(field_err("metadata.annotations", "string", other));
                            }
                        }
                    }
                    annotations = Some(out);
                }
                Some(other) => {
                    return Err(field_err(
                        "metadata.annotations",
                        "map[string]string",
                        other,
                    ));
                }
            }
        }
        Some(other) => {
            return Err(field_err(
                "metadata",
                "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
                other,
            ));
        }
    }
    Ok(Head { kind, annotations })
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
                        // Helm logs and skips manifests with an unknown hook.
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

fn write_crds(chart: &Chart, out: &mut String) {
    let full = chart.full_path();
    for f in &chart.files {
        let n = &f.name;
        if n.starts_with("crds/")
            && (n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json"))
        {
            out.push_str(&format!(
                "---\n# Source: {full}/{n}\n{}\n",
                String::from_utf8_lossy(&f.data)
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
