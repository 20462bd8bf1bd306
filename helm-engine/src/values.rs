//! Values: what the user supplies (`-f`, `--set`, `--set-string`, `--set-file`) and how Helm
//! coalesces it with chart defaults, subchart values, globals, dependency conditions and tags,
//! and `import-values`.

use crate::chart::{Chart, parse_values_file};
use crate::error::{Error, Result};
use crate::value::{Map, Value};

mod formats;
mod goregex;
pub(crate) mod gotime;
mod schema;
mod semver_range;
pub mod strvals;

pub use schema::validate_against_schema;

/// The user's value sources in the order Helm applies them.
#[derive(Debug, Clone, Default)]
pub struct ValueOptions {
    /// `-f/--values` file contents with their names, in command-line order.
    pub value_files: Vec<(String, Vec<u8>)>,
    /// `--set` expressions.
    pub values: Vec<String>,
    /// `--set-string` expressions.
    pub string_values: Vec<String>,
    /// `--set-file` expressions (`key=path`); paths are read when merging.
    pub file_values: Vec<String>,
    /// `--set-json` expressions (`key=JSON`).
    pub json_values: Vec<String>,
    /// `--set-literal` expressions (`key=anything`, taken verbatim).
    pub literal_values: Vec<String>,
}

impl ValueOptions {
    /// Helm's `MergeValues`: files merged in order, then every `--set-json`, `--set`,
    /// `--set-string`, `--set-file` and `--set-literal`, in that order.
    pub fn merge(&self) -> Result<Map> {
        let mut base = Map::new();
        for (name, data) in &self.value_files {
            // go-yaml's reader sees the bytes: encoding errors and UTF-16 are its to report.
            let current = crate::yaml::decode_yaml_bytes(data)
                .and_then(|text| parse_values_file(text.as_bytes()))
                .map_err(|e| Error::Values(format!("failed to parse {name}: {e}")))?;
            base = merge_maps(base, current);
        }
        // Helm 3.17 takes only `key=JSON` (a bare JSON object came in 3.18), and does not say
        // what was wrong.
        for s in &self.json_values {
            strvals::parse_into(s, &mut base, strvals::Mode::Json)
                .map_err(|_| Error::Values(format!("failed parsing --set-json data {s}")))?;
        }
        for s in &self.values {
            strvals::parse_into(s, &mut base, strvals::Mode::Typed)
                .map_err(|e| Error::Values(format!("failed parsing --set data: {e}")))?;
        }
        for s in &self.string_values {
            strvals::parse_into(s, &mut base, strvals::Mode::String)
                .map_err(|e| Error::Values(format!("failed parsing --set-string data: {e}")))?;
        }
        for s in &self.file_values {
            strvals::parse_into(s, &mut base, strvals::Mode::File)
                .map_err(|e| Error::Values(format!("failed parsing --set-file data: {e}")))?;
        }
        for s in &self.literal_values {
            strvals::parse_into(s, &mut base, strvals::Mode::Literal)
                .map_err(|e| Error::Values(format!("failed parsing --set-literal data: {e}")))?;
        }
        Ok(base)
    }
}

/// Helm's `mergeMaps` for values files: maps merge recursively, anything else replaces.
pub fn merge_maps(a: Map, b: Map) -> Map {
    let mut out = a;
    for (k, v) in b {
        if let Value::Map(vm) = v {
            if let Some(Value::Map(existing)) = out.remove(&k) {
                out.insert(k, Value::Map(merge_maps(existing, vm)));
            } else {
                out.insert(k, Value::Map(vm));
            }
            continue;
        }
        out.insert(k, v);
    }
    out
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

/// Helm's `CoalesceValues` (`merge = false`) and `MergeValues` (`merge = true`): the chart's
/// defaults and its subcharts' under `vals`, which wins. Warnings are dropped; see
/// [`coalesce_values_warn`].
pub fn coalesce_values(chart: &Chart, vals: &Map, merge: bool) -> Result<Map> {
    coalesce_values_warn(chart, vals, merge, &mut Vec::new())
}

/// [`coalesce_values`], pushing onto `warnings` the lines Helm logs while coalescing, each as
/// Helm's logger prints it on stderr (`coalesce.go:LINE: message`). Helm visits keys in Go map
/// order, which varies between runs; these come in key order.
pub fn coalesce_values_warn(
    chart: &Chart,
    vals: &Map,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<Map> {
    let mut dest = vals.clone();
    coalesce(chart, &mut dest, merge, "", warnings)?;
    Ok(dest)
}

/// Helm 3.17.3's log line for a coalescing warning: the source line of its `printf` call in
/// `pkg/chartutil/coalesce.go`, as `log.Lshortfile` prints it.
fn warn(warnings: &mut Vec<String>, line: u32, message: String) {
    warnings.push(format!("coalesce.go:{line}: {message}"));
}

/// Helm's `concatPrefix`: the dotted path of a key, for warnings.
fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce(
    chart: &Chart,
    dest: &mut Map,
    merge: bool,
    prefix: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    coalesce_chart_values(chart, dest, merge, prefix, warnings);
    coalesce_deps(chart, dest, merge, prefix, warnings)
}

fn coalesce_deps(
    chart: &Chart,
    dest: &mut Map,
    merge: bool,
    prefix: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        match dest.get(&name) {
            None => {
                dest.insert(name.clone(), Value::Map(Map::new()));
            }
            Some(v) if !is_table(v) => {
                return Err(Error::Values(format!(
                    "type mismatch on {name}: %!t({})",
                    crate::yaml::to_yaml(v).unwrap_or_default()
                )));
            }
            _ => {}
        }
        let mut dv = match dest.remove(&name) {
            Some(Value::Map(m)) => m,
            _ => Map::new(),
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        coalesce_globals(&mut dv, dest, &sub_prefix, warnings);
        coalesce(sub, &mut dv, merge, &sub_prefix, warnings)?;
        dest.insert(name, Value::Map(dv));
    }
    Ok(())
}

fn coalesce_globals(dest: &mut Map, src: &Map, prefix: &str, warnings: &mut Vec<String>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => {
            warn(
                warnings,
                138,
                "warning: skipping globals because destination global is not a table.".into(),
            );
            return;
        }
    };
    let sg = match src.get("global") {
        None => Map::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => {
            warn(
                warnings,
                145,
                "warning: skipping globals because source global is not a table.".into(),
            );
            return;
        }
    };
    for (key, val) in sg {
        if let Value::Map(vm) = &val {
            let mut vv = vm.clone();
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Map(vv));
                }
                Some(Value::Map(destv)) => {
                    let full = concat_prefix(prefix, &key);
                    coalesce_tables_at(&mut vv, destv.clone(), true, &full, warnings);
                    dg.insert(key, Value::Map(vv));
                }
                Some(_) => warn(
                    warnings,
                    161,
                    format!(
                        "Conflict: cannot merge map onto non-map for {}. Skipping.",
                        crate::template::format::go_quote(&key)
                    ),
                ),
            }
        } else if dg.get(&key).is_some_and(is_table) {
            // A table in the destination is not replaced by a scalar.
            warn(warnings, 175, format!("key {key} is table. Skipping"));
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert("global".into(), Value::Map(dg));
}

fn coalesce_chart_values(
    chart: &Chart,
    v: &mut Map,
    merge: bool,
    prefix: &str,
    warnings: &mut Vec<String>,
) {
    let sub_prefix = concat_prefix(prefix, chart.name());
    for (key, val) in &chart.values {
        match v.get_mut(key) {
            Some(Value::Nil) if !merge => {
                v.remove(key);
            }
            Some(Value::Map(dest)) => match val {
                Value::Map(src) => {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    let full = concat_prefix(&sub_prefix, key);
                    coalesce_tables_at(dest, src.clone(), merge, &full, warnings);
                }
                Value::Nil => {}
                _ => warn(
                    warnings,
                    237,
                    format!("warning: skipped value for {sub_prefix}.{key}: Not a table."),
                ),
            },
            Some(_) => {}
            None => {
                v.insert(key.clone(), val.clone());
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey`: `dst` wins; a null in `dst` deletes the key `src` has,
/// unless merging (a null for a key `src` lacks stays, as in Helm 3.17).
pub fn coalesce_tables(dst: &mut Map, src: Map, merge: bool) {
    coalesce_tables_at(dst, src, merge, "", &mut Vec::new());
}

/// [`coalesce_tables`] for the table at dotted path `prefix`, with Helm's warnings.
fn coalesce_tables_at(
    dst: &mut Map,
    src: Map,
    merge: bool,
    prefix: &str,
    warnings: &mut Vec<String>,
) {
    for (key, val) in src {
        match dst.get_mut(&key) {
            Some(Value::Nil) if !merge => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(dv) => match (&val, &*dv) {
                (Value::Map(_), Value::Map(_)) => {
                    let (Value::Map(sv), Value::Map(dm)) = (val, dv) else {
                        continue;
                    };
                    let full = concat_prefix(prefix, &key);
                    coalesce_tables_at(dm, sv, merge, &full, warnings);
                }
                (Value::Map(_), _) => warn(
                    warnings,
                    298,
                    format!(
                        "warning: cannot overwrite table with non table for {} ({})",
                        concat_prefix(prefix, &key),
                        crate::template::format::sprint_value(&val)
                    ),
                ),
                (Value::Nil, _) => {}
                (_, Value::Map(_)) => warn(
                    warnings,
                    301,
                    format!(
                        "warning: destination for {} is a table. Ignoring non-table value ({})",
                        concat_prefix(prefix, &key),
                        crate::template::format::sprint_value(&val)
                    ),
                ),
                _ => {}
            },
        }
    }
}

/// Values.Table: walks a dotted path of maps.
pub fn table<'a>(m: &'a Map, path: &str) -> Option<&'a Map> {
    let mut cur = m;
    for part in path.split('.') {
        match cur.get(part) {
            Some(Value::Map(next)) => cur = next,
            _ => return None,
        }
    }
    Some(cur)
}

/// Values.PathValue: a non-table value at a dotted path.
fn path_value<'a>(m: &'a Map, path: &str) -> Option<&'a Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let (key, rest) = parts.split_last()?;
    let t = if rest.is_empty() {
        m
    } else {
        table(m, &rest.join("."))?
    };
    t.get(*key).filter(|v| !is_table(v))
}

/// Helm's `ProcessDependenciesWithMerge`: applies aliases, drops subcharts switched off by
/// `condition` or `tags`, then imports values from children to parents.
pub fn process_dependencies(chart: &mut Chart, vals: &Map) -> Result<()> {
    process_dependencies_warn(chart, vals, &mut Vec::new())
}

/// [`process_dependencies`], pushing Helm's coalescing warnings onto `warnings` (see
/// [`coalesce_values_warn`]).
pub fn process_dependencies_warn(
    chart: &mut Chart,
    vals: &Map,
    warnings: &mut Vec<String>,
) -> Result<()> {
    process_enabled(chart, vals, "", warnings)?;
    process_import_values(chart, warnings)
}

fn process_enabled(c: &mut Chart, v: &Map, path: &str, warnings: &mut Vec<String>) -> Result<()> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let mut kept: Vec<Chart> = Vec::new();
    for existing in &c.dependencies {
        let declared = c.metadata.dependencies.iter().any(|req| {
            existing.name() == req.name
                && semver_range::is_compatible(&req.version, &existing.metadata.version)
        });
        if !declared {
            kept.push(existing.clone());
        }
    }
    for req in &mut c.metadata.dependencies {
        if let Some(dep) = c.dependencies.iter().find(|ch| {
            ch.name() == req.name && semver_range::is_compatible(&req.version, &ch.metadata.version)
        }) {
            let mut dep = dep.clone();
            if !req.alias.is_empty() {
                dep.metadata.name = req.alias.clone();
            }
            kept.push(dep);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = kept;
    for req in &mut c.metadata.dependencies {
        req.enabled = true;
    }
    let cvals = coalesce_values_warn(c, v, false, warnings)?;
    // Tags.
    if let Some(tags) = table(&cvals, "tags") {
        for r in &mut c.metadata.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for k in &r.tags {
                if let Some(Value::Bool(b)) = tags.get(k) {
                    if *b {
                        has_true = true;
                    } else {
                        has_false = true;
                    }
                }
            }
            r.enabled = has_true || !has_false;
        }
    }
    // Conditions.
    for r in &mut c.metadata.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(&cvals, &format!("{path}{cond}")) {
                r.enabled = *b;
                break;
            }
        }
    }
    let removed: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !removed.contains(&d.metadata.name));
    c.metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for sub in &mut c.dependencies {
        let subpath = format!("{path}{}.", sub.metadata.name);
        process_enabled(sub, &cvals, &subpath, warnings)?;
    }
    c.fix_paths();
    Ok(())
}

fn path_to_map(path: &str, data: Map) -> Map {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), Value::Map(cur));
        cur = m;
    }
    cur
}

fn process_import_values(c: &mut Chart, warnings: &mut Vec<String>) -> Result<()> {
    for d in &mut c.dependencies {
        process_import_values(d, warnings)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = coalesce_values_warn(c, &Map::new(), true, warnings)?;
    let mut b = Map::new();
    for r in &mut c.metadata.dependencies {
        let mut out = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(iv) => {
                    let child = match iv.get("child") {
                        Some(Value::String(s)) => s.clone(),
                        _ => String::new(),
                    };
                    let parent = match iv.get("parent") {
                        Some(Value::String(s)) => s.clone(),
                        _ => String::new(),
                    };
                    let mut m = Map::new();
                    m.insert("child".into(), Value::String(child.clone()));
                    m.insert("parent".into(), Value::String(parent.clone()));
                    out.push(Value::Map(m));
                    if let Some(vv) = table(&cvals, &format!("{}.{}", r.name, child)) {
                        coalesce_tables_at(
                            &mut b,
                            path_to_map(&parent, vv.clone()),
                            true,
                            "",
                            warnings,
                        );
                    }
                }
                Value::String(s) => {
                    let child = format!("exports.{s}");
                    let mut m = Map::new();
                    m.insert("child".into(), Value::String(child.clone()));
                    m.insert("parent".into(), Value::String(".".into()));
                    out.push(Value::Map(m));
                    if let Some(vm) = table(&cvals, &format!("{}.{}", r.name, child)) {
                        coalesce_tables_at(&mut b, vm.clone(), true, "", warnings);
                    }
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    let mut merged = cvals;
    coalesce_tables_at(&mut merged, b, true, "", warnings);
    c.values = merged;
    Ok(())
}

#[cfg(test)]
mod tests;

/// Whether a Kubernetes version satisfies a chart's `kubeVersion` constraint.
pub fn is_compatible_kube(constraint: &str, version: &str) -> bool {
    semver_range::is_compatible(constraint, version)
}
