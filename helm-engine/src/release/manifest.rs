//! Splitting rendered output into a release's resources and its hooks, as Helm's
//! `releaseutil.SortManifests` does at install time: a document whose annotations carry
//! `helm.sh/hook` becomes a [`Hook`] (events, `helm.sh/hook-weight`,
//! `helm.sh/hook-delete-policy`); every other document is a resource of the manifest.

use super::{CodecError, Hook, HookDeletePolicy, HookEvent};
use crate::value::Value;

/// A rendered chart split the way a release stores it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderedManifests {
    /// The resources, each as `---\n# Source: PATH\nDOC\n`, in install order (Helm's
    /// `Release.Manifest`).
    pub manifest: String,
    /// The hooks, in install order by kind.
    pub hooks: Vec<Hook>,
}

const SEPARATOR: &str = "\n---\n# Source: ";

/// Splits what `render::template` returned (default options: no CRDs, no `--show-only`) into
/// the release manifest and hooks. Documents keep the order the renderer gave them, which is
/// Helm's install order by kind.
pub fn split_rendered(rendered: &str) -> Result<RenderedManifests, CodecError> {
    let text = format!("\n{rendered}");
    let mut pieces = text.split(SEPARATOR);
    let head = pieces.next().unwrap_or("");
    if !head.trim().is_empty() {
        return Err(CodecError::Manifest(format!(
            "rendered output must start with \"---\\n# Source: \", found {:?}",
            head.trim().chars().take(40).collect::<String>()
        )));
    }
    let mut out = RenderedManifests::default();
    for piece in pieces {
        let (path, content) = piece.split_once('\n').unwrap_or((piece, ""));
        let content = content.trim_end();
        let doc = Document::parse(path, content)?;
        match doc.hook_annotation() {
            None => {
                out.manifest
                    .push_str(&format!("---\n# Source: {path}\n{content}\n"));
            }
            Some(types) => {
                if let Some(hook) = doc.hook(types, path, content) {
                    out.hooks.push(hook);
                }
            }
        }
    }
    Ok(out)
}

/// The fields of a manifest that classify it (Helm's `SimpleHead`).
struct Document {
    kind: String,
    name: String,
    annotations: Vec<(String, String)>,
}

impl Document {
    fn parse(path: &str, content: &str) -> Result<Document, CodecError> {
        let v = crate::yaml::from_yaml(content)
            .map_err(|e| CodecError::Manifest(format!("YAML parse error on {path}: {e}")))?;
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let mut doc = Document {
            kind: String::new(),
            name: String::new(),
            annotations: Vec::new(),
        };
        if let Value::Map(m) = &v {
            doc.kind = text(m.get("kind"));
            if let Some(Value::Map(md)) = m.get("metadata") {
                doc.name = text(md.get("name"));
                if let Some(Value::Map(a)) = md.get("annotations") {
                    doc.annotations = a
                        .iter()
                        .filter_map(|(k, v)| match v {
                            Value::String(s) => Some((k.clone(), s.clone())),
                            Value::Nil => Some((k.clone(), String::new())),
                            _ => None,
                        })
                        .collect();
                }
            }
        }
        Ok(doc)
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn hook_annotation(&self) -> Option<&str> {
        self.annotation("helm.sh/hook")
    }

    /// The hook, or `None` when an event is unknown (Helm logs and drops such manifests).
    fn hook(&self, types: &str, path: &str, content: &str) -> Option<Hook> {
        let mut events = Vec::new();
        for t in types.split(',') {
            events.push(HookEvent::from_annotation(&t.trim().to_lowercase())?);
        }
        let weight = self
            .annotation("helm.sh/hook-weight")
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(0);
        let delete_policies = self
            .annotation("helm.sh/hook-delete-policy")
            .map(|p| {
                p.split(',')
                    .map(|x| HookDeletePolicy::from(x.trim().to_lowercase()))
                    .collect()
            })
            .unwrap_or_default();
        Some(Hook {
            name: self.name.clone(),
            kind: self.kind.clone(),
            path: path.to_string(),
            manifest: content.to_string(),
            events,
            last_run: Default::default(),
            weight,
            delete_policies,
        })
    }
}
