//! Rendering a chart as `helm template` does: dependency processing, values coalescing and
//! schema checks, the built-in objects, template execution in Helm's order, then Helm's
//! post-processing (manifest splitting, hooks, install ordering by kind) and output format.

use crate::chart::{Chart, glob};
use crate::error::{Error, Result};
use crate::template::TemplateSet;
use crate::value::{Map, Value};
use crate::values;

mod manifests;
mod objects;

pub use objects::{Capabilities, FilesObject, KubeVersion};

/// The version of Helm whose behaviour this engine reproduces.
pub const HELM_VERSION: &str = "v3.17.3";

/// What `helm template` takes besides the chart and values.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The release name (`.Release.Name`).
    pub release_name: String,
    /// The release namespace (`.Release.Namespace`).
    pub namespace: String,
    /// `--kube-version`, e.g. `1.29` or `v1.29.3`.
    pub kube_version: Option<String>,
    /// `--api-versions`, added to the default set.
    pub api_versions: Vec<String>,
    /// `--include-crds`: print `crds/` files first.
    pub include_crds: bool,
    /// `--show-only`: only the manifests from these template paths (globs allowed).
    pub show_only: Vec<String>,
    /// `--skip-tests`: leave out test hooks.
    pub skip_tests: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            show_only: Vec::new(),
            skip_tests: false,
        }
    }
}

/// Renders `chart` with the user's merged values, returning exactly what `helm template`
/// prints on stdout.
pub fn template(mut chart: Chart, user_values: &Map, opts: &RenderOptions) -> Result<String> {
    validate_release_name(&opts.release_name)?;
    let caps = Capabilities::new(opts.kube_version.as_deref(), &opts.api_versions)?;
    values::process_dependencies(&mut chart, user_values)?;
    chart.fix_paths();
    if !chart.metadata.kube_version.is_empty()
        && !values::is_compatible_kube(&chart.metadata.kube_version, &caps.kube_version.version)
    {
        return Err(Error::Render(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, caps.kube_version.version
        ))
        .rendering());
    }
    let vals = values::coalesce_values(&chart, user_values, false)?;
    values::validate_against_schema(&chart, &vals)?;

    let release = release_value(opts);
    let caps_value = caps.to_value();
    let mut renderables = Vec::new();
    collect_templates(
        &chart,
        &Value::Map(vals.clone()),
        true,
        &release,
        &caps_value,
        &mut renderables,
    );
    let rendered = execute(renderables).map_err(Error::rendering)?;
    manifests::assemble(&chart, rendered, opts)
}

fn validate_release_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 53
        && name.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && !b[0].is_ascii_uppercase()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && !b[b.len() - 1].is_ascii_uppercase()
                && b.iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || *c == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Render(format!(
            "release name {name:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
        )))
    }
}

fn release_value(opts: &RenderOptions) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), Value::String(opts.release_name.clone()));
    m.insert("Namespace".into(), Value::String(opts.namespace.clone()));
    m.insert("IsUpgrade".into(), Value::Bool(false));
    m.insert("IsInstall".into(), Value::Bool(true));
    m.insert("Revision".into(), Value::Int(1));
    m.insert("Service".into(), Value::String("Helm".into()));
    Value::Map(m)
}

/// One template file to execute, with the data it sees.
struct Renderable {
    name: String,
    source: String,
    data: Map,
    base_path: String,
}

/// Helm's `recAllTpls`: each chart's templates get that chart's `.Values`, `.Chart` and `.Files`.
fn collect_templates(
    chart: &Chart,
    parent_values: &Value,
    is_root: bool,
    release: &Value,
    caps: &Value,
    out: &mut Vec<Renderable>,
) -> Value {
    let values = if is_root {
        parent_values.clone()
    } else {
        match parent_values {
            Value::Map(m) => match m.get(chart.name()) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::Map(Map::new()),
            },
            _ => Value::Map(Map::new()),
        }
    };
    let mut subcharts = Map::new();
    for child in &chart.dependencies {
        let sub = collect_templates(child, &values, false, release, caps, out);
        subcharts.insert(child.name().to_string(), sub);
    }
    let mut next = Map::new();
    next.insert(
        "Chart".into(),
        objects::chart_value(&chart.metadata, is_root),
    );
    next.insert(
        "Files".into(),
        Value::Object(std::sync::Arc::new(FilesObject::new(
            chart
                .files
                .iter()
                .map(|f| (f.name.clone(), f.data.clone()))
                .collect(),
        ))),
    );
    next.insert("Release".into(), release.clone());
    next.insert("Capabilities".into(), caps.clone());
    next.insert("Values".into(), values);
    next.insert("Subcharts".into(), Value::Map(subcharts));
    let full = chart.full_path();
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.push(Renderable {
            name: format!("{full}/{}", t.name),
            source: String::from_utf8_lossy(&t.data).into_owned(),
            data: next.clone(),
            base_path: format!("{full}/templates"),
        });
    }
    Value::Map(next)
}

/// Helm's `sortTemplates`: deeper paths first, then reverse lexical order.
fn template_order(a: &str, b: &str) -> std::cmp::Ordering {
    let ca = a.matches('/').count();
    let cb = b.matches('/').count();
    cb.cmp(&ca).then_with(|| b.cmp(a))
}

fn execute(mut renderables: Vec<Renderable>) -> Result<Vec<(String, String)>> {
    renderables.sort_by(|a, b| template_order(&a.name, &b.name));
    let mut set = TemplateSet::new();
    for r in &renderables {
        set.parse(&r.name, &r.source)
            .map_err(|e| Error::Template(e.helm_message(&r.name)))?;
    }
    let mut rendered = Vec::new();
    for r in renderables {
        let base = r.name.rsplit('/').next().unwrap_or(&r.name);
        if base.starts_with('_') {
            continue;
        }
        let mut data = r.data;
        let mut t = Map::new();
        t.insert("Name".into(), Value::String(r.name.clone()));
        t.insert("BasePath".into(), Value::String(r.base_path.clone()));
        data.insert("Template".into(), Value::Map(t));
        let out = set
            .render(&r.name, &Value::Map(data))
            .map_err(|e| Error::Template(e.helm_message(&r.name)))?;
        rendered.push((r.name, out));
    }
    Ok(rendered)
}

/// Whether a `--show-only` pattern selects a manifest path (Go's `filepath.Match`).
pub(crate) fn show_only_match(pattern: &str, path: &str) -> bool {
    glob::path_match(pattern, path)
}

#[cfg(test)]
mod tests;

/// Renders `--name-template` (a template over no data) into a release name.
pub fn render_name_template(t: &str) -> Result<String> {
    let mut set = TemplateSet::new();
    set.parse("name-template", t)
        .map_err(|e| Error::Template(e.to_string()))?;
    set.render("name-template", &Value::Nil)
        .map_err(|e| Error::Template(e.to_string()))
}
