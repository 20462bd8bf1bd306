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

pub use objects::{Capabilities, FilesObject, GoBytes, KubeVersion, go_struct_fields};

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
    /// `.Release.IsInstall`: true for `helm template` and `helm install`, false for an upgrade
    /// (and for `helm template --is-upgrade`).
    pub is_install: bool,
    /// `.Release.IsUpgrade`: true for `helm upgrade` and `helm template --is-upgrade`.
    pub is_upgrade: bool,
    /// `.Release.Revision`: 1 for `helm template` and an install, the new revision number for
    /// an upgrade.
    pub revision: u32,
    /// `--render-subchart-notes`: [`Rendered::notes`] also holds the `NOTES.txt` of every
    /// subchart (and any other template whose name ends in `NOTES.txt`), not only the top
    /// chart's `templates/NOTES.txt`.
    pub render_subchart_notes: bool,
}

impl RenderOptions {
    /// The options of an upgrade to `revision`: `.Release.IsUpgrade` true, `IsInstall` false.
    pub fn upgrade(mut self, revision: u32) -> Self {
        self.is_install = false;
        self.is_upgrade = true;
        self.revision = revision;
        self
    }
}

/// What rendering a chart produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Exactly what `helm template` prints on stdout (manifests and hooks; no notes).
    pub manifest: String,
    /// The rendered notes, as Helm's install and upgrade store them in `info.notes`: the top
    /// chart's `templates/NOTES.txt`, untrimmed; with
    /// [`RenderOptions::render_subchart_notes`], every rendered template whose name ends in
    /// `NOTES.txt`, joined by a newline. Helm joins those in Go map order (a different order on
    /// each run); we join them in template-path order. Empty when the chart has no notes.
    pub notes: String,
    /// The lines Helm logs on stderr while rendering, each without its newline (values
    /// coalescing's warnings, as `coalesce.go:LINE: message`).
    pub warnings: Vec<String>,
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
            is_install: true,
            is_upgrade: false,
            revision: 1,
            render_subchart_notes: false,
        }
    }
}

/// Renders `chart` with the user's merged values, returning exactly what `helm template`
/// prints on stdout.
pub fn template(chart: Chart, user_values: &Map, opts: &RenderOptions) -> Result<String> {
    render(chart, user_values, opts).map(|r| r.manifest)
}

/// Helm's `CheckDependencies` (run by `helm template`, `install` and `upgrade`): every
/// dependency `Chart.yaml` lists must be a chart in `charts/` (matched by its own name).
fn check_dependencies(chart: &Chart) -> Result<()> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.name() == d.name))
        .map(|d| d.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Render(format!(
        "An error occurred while checking for chart dependencies. You may need to run `helm \
         dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in \
         charts/ directory: {}",
        missing.join(", ")
    )))
}

/// Renders `chart` with the user's merged values as Helm's install and upgrade do: what
/// `helm template` prints, and the notes (`NOTES.txt`) that `helm template` leaves out.
pub fn render(chart: Chart, user_values: &Map, opts: &RenderOptions) -> Result<Rendered> {
    let mut warnings = Vec::new();
    let mut rendered = render_collecting(chart, user_values, opts, &mut warnings)?;
    rendered.warnings = warnings;
    Ok(rendered)
}

/// [`render`], pushing onto `warnings` the lines Helm logs on stderr while rendering (values
/// coalescing's, see [`values::coalesce_values_warn`]) as they come, so that a caller that
/// gets an error still has the warnings printed before it.
pub fn render_collecting(
    mut chart: Chart,
    user_values: &Map,
    opts: &RenderOptions,
    warnings: &mut Vec<String>,
) -> Result<Rendered> {
    // Helm's `checkIfInstallable`, before anything else about the release.
    if chart.is_library() {
        return Err(Error::Render(format!(
            "{} charts are not installable",
            chart.metadata.chart_type
        )));
    }
    check_dependencies(&chart)?;
    validate_release_name(&opts.release_name)?;
    let caps = Capabilities::new(opts.kube_version.as_deref(), &opts.api_versions)?;
    // Processing sets each subchart's path as Helm's parent pointers give it.
    values::process_dependencies_warn(&mut chart, user_values, warnings)?;
    if !chart.metadata.kube_version.is_empty()
        && !values::is_compatible_kube(&chart.metadata.kube_version, &caps.kube_version.version)
    {
        return Err(Error::Render(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, caps.kube_version.version
        ))
        .rendering());
    }
    let vals = values::coalesce_values_warn(&chart, user_values, false, warnings)?;
    values::validate_against_schema(&chart, &vals)?;

    // Go maps are references: every template of a chart gets the same dot, a subchart's
    // `.Values` is its parent's `.Values.<name>`, and `.Release` is one map for all charts, so
    // what `set` changes in one template is seen by the templates rendered after it.
    let release = crate::value::share(release_value(opts));
    let caps_value = caps.to_value();
    let mut renderables = Vec::new();
    collect_templates(
        &chart,
        &crate::value::share(Value::Map(vals.clone())),
        true,
        &release,
        &caps_value,
        &mut renderables,
    );
    // Helm keeps templates in a map by path: a subchart that two aliased copies of a chart
    // share is collected twice under one path, and the later one stays.
    let mut by_name = std::collections::HashMap::new();
    let mut unique: Vec<Renderable> = Vec::new();
    for r in renderables {
        match by_name.get(&r.name) {
            Some(&i) => unique[i] = r,
            None => {
                by_name.insert(r.name.clone(), unique.len());
                unique.push(r);
            }
        }
    }
    let rendered = execute(unique).map_err(Error::rendering)?;
    let notes = collect_notes(chart.name(), &rendered, opts.render_subchart_notes);
    let manifest = manifests::assemble(&chart, rendered, opts, warnings)?;
    Ok(Rendered {
        manifest,
        notes,
        warnings: Vec::new(),
    })
}

/// Helm's `renderResources`: every rendered file whose name ends in `NOTES.txt` is taken out
/// of the manifests; the top chart's `templates/NOTES.txt` (or, with subchart notes, each of
/// them) becomes the notes, pieces separated by one newline, in path order.
fn collect_notes(chart_name: &str, rendered: &[(String, String)], subchart_notes: bool) -> String {
    let top = format!("{chart_name}/templates/{NOTES_SUFFIX}");
    let mut pieces: Vec<&(String, String)> = rendered
        .iter()
        .filter(|(name, _)| name.ends_with(NOTES_SUFFIX) && (subchart_notes || *name == top))
        .collect();
    pieces.sort_by(|a, b| a.0.cmp(&b.0));
    let mut notes = String::new();
    for (_, text) in pieces {
        if !notes.is_empty() {
            notes.push('\n');
        }
        notes.push_str(text);
    }
    notes
}

/// Helm's `notesFileSuffix`.
pub(crate) const NOTES_SUFFIX: &str = "NOTES.txt";

fn validate_release_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::Render("release name \"\": no name provided".into()));
    }
    let ok = name.len() <= 53
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
    m.insert("IsUpgrade".into(), Value::Bool(opts.is_upgrade));
    m.insert("IsInstall".into(), Value::Bool(opts.is_install));
    m.insert("Revision".into(), Value::Int(i64::from(opts.revision)));
    m.insert("Service".into(), Value::String("Helm".into()));
    Value::Map(m)
}

/// One template file to execute, with the data it sees.
struct Renderable {
    name: String,
    source: String,
    data: Value,
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
        match parent_values
            .as_shared_map()
            .and_then(|m| m.get(chart.name()))
        {
            Some(v) if v.is_map() => v,
            _ => crate::value::share(Value::Map(Map::new())),
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
    let next = crate::value::share(Value::Map(next));
    let full = chart.full_path();
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.push(Renderable {
            name: format!("{full}/{}", t.name),
            // Go templates are byte strings: invalid UTF-8 is kept as raw-byte characters.
            source: crate::value::go_string(&t.data),
            data: next.clone(),
            base_path: format!("{full}/templates"),
        });
    }
    next
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
        let mut t = Map::new();
        t.insert("Name".into(), Value::String(r.name.clone()));
        t.insert("BasePath".into(), Value::String(r.base_path.clone()));
        if let Some(dot) = r.data.as_shared_map() {
            dot.insert("Template".into(), Value::Map(t));
        }
        let out = set
            .render(&r.name, &r.data)
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

/// The functions Helm adds to Sprig's for chart templates. `--name-template` is rendered with
/// Sprig's alone, so these are "not defined" there.
const HELM_ONLY_FUNCTIONS: &[&str] = &[
    "fromJsonArray",
    "fromToml",
    "fromYaml",
    "fromYamlArray",
    "include",
    "lookup",
    "mustToYaml",
    "required",
    "toToml",
    "toYaml",
    "toYamlPretty",
    "tpl",
];

/// Functions `--name-template` has and chart templates do not (Helm gives it Sprig's whole
/// map), or has in Sprig's form: registered under [`NAME_TEMPLATE_PREFIX`] plus the name.
const NAME_TEMPLATE_ONLY: &[&str] = &["env", "expandenv", "fromJson"];

/// The registry prefix of the [`NAME_TEMPLATE_ONLY`] functions; no template identifier holds
/// a `:`, so chart templates cannot call them.
const NAME_TEMPLATE_PREFIX: &str = "name-template:";

/// Renders `--name-template` into a release name as Helm's `TemplateName` does: a plain Go
/// template with Sprig's functions only (`env` and `expandenv` included, and Sprig's
/// `fromJson`, which gives any JSON value and nil on an error), executed over nil data (so
/// `{{ .Foo }}` prints `<no value>`, which stays), its errors Go's own text without Helm's
/// clean-up. An empty template gives an empty name (callers treat the flag as unset then, as
/// Helm does).
pub fn render_name_template(t: &str) -> Result<String> {
    const NAME: &str = "name-template";
    if t.is_empty() {
        return Ok(String::new());
    }
    let has_func = |n: &str| {
        NAME_TEMPLATE_ONLY.contains(&n)
            || (!HELM_ONLY_FUNCTIONS.contains(&n) && crate::funcs::lookup(n).is_some())
    };
    let rename = |n: &str| {
        NAME_TEMPLATE_ONLY
            .contains(&n)
            .then(|| format!("{NAME_TEMPLATE_PREFIX}{n}"))
    };
    // Errors name the functions as the template wrote them.
    let plain_names = |message: String| {
        if message.contains(NAME_TEMPLATE_PREFIX) {
            let mut m = message;
            for n in NAME_TEMPLATE_ONLY {
                m = m.replace(&format!("{NAME_TEMPLATE_PREFIX}{n}"), n);
            }
            m
        } else {
            message
        }
    };
    let mut set = TemplateSet::new();
    set.set_missing_key(crate::template::MissingKey::Invalid);
    set.parse_with(NAME, t, &has_func, &rename)
        .map_err(|e| Error::Template(e.to_string()))?;
    set.execute(NAME, &Value::Nil)
        .map_err(|e| Error::Template(plain_names(plain_fail_message(&e.to_string()))))
}

/// Helm's chart-template `fail` marks its message for Helm's error clean-up; Sprig's own
/// `fail`, which `--name-template` gets, returns the message as it is.
fn plain_fail_message(message: &str) -> String {
    const MARK: &str = "error calling fail: ";
    let Some(at) = message.find(MARK) else {
        return message.to_string();
    };
    let (head, tail) = message.split_at(at + MARK.len());
    let start = crate::template::HELM_ERR_START;
    let end = crate::template::HELM_ERR_END;
    match (tail.strip_prefix(start), tail.rfind(end)) {
        (Some(_), Some(e)) if e >= start.len() => {
            format!("{head}{}{}", &tail[start.len()..e], &tail[e + end.len()..])
        }
        _ => message.to_string(),
    }
}
