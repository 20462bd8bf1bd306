//! Values: what the user supplies (`-f`, `--set`, `--set-string`, `--set-file`) and how Helm
//! coalesces it with chart defaults, subchart values, globals, dependency conditions and tags,
//! and `import-values`.

use crate::chart::symlink::errno_text;
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

/// Helm's `readFile` for `-f` and `--set-file`: `-` (blanks around it allowed) is standard
/// input, read to its end (a second `-` then reads nothing); anything else is a local file.
/// The error is Go's text (`open PATH: no such file or directory`, `read PATH: is a
/// directory`, or `url.Parse`'s complaint about the path). URLs with a scheme Helm fetches
/// (`http`, `https`, `oci`) are refused: nothing is fetched here.
pub fn read_value_source(path: &str) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    if path.trim() == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| format!("read /dev/stdin: {}", errno_text(&e)))?;
        return Ok(data);
    }
    check_url(path)?;
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("open {path}: {}", errno_text(&e)))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| format!("read {path}: {}", errno_text(&e)))?;
    Ok(data)
}

/// The part of Go's `url.Parse` that can refuse a path given to `-f` or `--set-file`, and the
/// schemes Helm would download from.
fn check_url(path: &str) -> std::result::Result<(), String> {
    let quoted = crate::template::format::go_quote(path);
    if path.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {quoted}: net/url: invalid control character in URL"
        ));
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.len() >= i + 3
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                let end = (i + 3).min(bytes.len());
                let bad = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                return Err(format!(
                    "parse {quoted}: invalid URL escape {}",
                    crate::template::format::go_quote(&bad)
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    // Go's getScheme: letters first, then letters, digits, `+`, `-`, `.` up to a colon.
    let mut scheme = None;
    for (i, c) in path.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => {
                return Err(format!("parse {quoted}: missing protocol scheme"));
            }
            ':' => {
                scheme = Some(path[..i].to_ascii_lowercase());
                break;
            }
            _ => break,
        }
    }
    match scheme.as_deref() {
        Some(s @ ("http" | "https" | "oci")) => Err(format!(
            "{s} values from {path} are not fetched: download the file and pass its path"
        )),
        _ => Ok(()),
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
                // Helm formats the value with `%t`.
                return Err(Error::Values(format!(
                    "type mismatch on {name}: {}",
                    crate::template::format::sprintf("%t", &[v])
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

/// [`process_dependencies`], pushing Helm's warnings onto `warnings` (see
/// [`coalesce_values_warn`]; also `dependencies.go`'s about non-boolean conditions and tags
/// and missing import tables).
///
/// Helm copies an aliased chart shallowly: every copy shares the chart's dependency entries
/// and subcharts. So when one chart sits under two aliases, what processing the first copy
/// does to those shared entries is what the second copy sees: an aliased entry already carries
/// its alias as its name (so its chart is not found and the subchart stays under its own name,
/// as if undeclared), and `import-values` already rewritten by the first copy are dropped by
/// the second (Go sees a `map[string]string` it does not handle). A subchart shared by the
/// copies renders once, under the copy processed last. This is reproduced with reference
/// counted nodes that share what Go's pointers share.
pub fn process_dependencies_warn(
    chart: &mut Chart,
    vals: &Map,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let root = dep_tree::Node::from_chart(std::mem::take(chart));
    dep_tree::process_enabled(&root, vals, "", warnings)?;
    dep_tree::process_import_values(&root, warnings)?;
    *chart = dep_tree::Node::to_chart(&root, "");
    Ok(())
}

/// Helm's chart tree during dependency processing, with Go's pointer sharing.
mod dep_tree {
    use super::*;
    use crate::chart::Dependency;
    use std::cell::RefCell;
    use std::rc::{Rc, Weak};

    /// A `*chart.Dependency`: shared by every copy of the chart that declares it.
    pub(super) struct Req {
        dep: Dependency,
        /// Go rewrote its `import-values` into `map[string]string`s, which a second pass skips.
        imports_rewritten: bool,
    }

    /// A `*chart.Chart`.
    pub(super) struct Node {
        /// The chart without its subcharts and dependency entries (held below).
        chart: Chart,
        /// `Metadata.Dependencies`.
        reqs: Vec<Rc<RefCell<Req>>>,
        /// `Dependencies()`.
        children: Vec<Rc<RefCell<Node>>>,
        /// The parent pointer `SetDependencies` sets last, which names template paths.
        parent: Option<Weak<RefCell<Node>>>,
    }

    type NodeRef = Rc<RefCell<Node>>;

    impl Node {
        pub(super) fn from_chart(mut chart: Chart) -> NodeRef {
            let reqs = std::mem::take(&mut chart.metadata.dependencies)
                .into_iter()
                .map(|dep| {
                    Rc::new(RefCell::new(Req {
                        dep,
                        imports_rewritten: false,
                    }))
                })
                .collect();
            let children: Vec<Chart> = std::mem::take(&mut chart.dependencies);
            let node = Rc::new(RefCell::new(Node {
                chart,
                reqs,
                children: Vec::new(),
                parent: None,
            }));
            let kids: Vec<NodeRef> = children.into_iter().map(Node::from_chart).collect();
            set_dependencies(&node, kids);
            node
        }

        /// The processed tree as a [`Chart`]; `parent_path` is the parent's full path as
        /// Helm's parent pointers give it.
        pub(super) fn to_chart(node: &NodeRef, parent_path: &str) -> Chart {
            let n = node.borrow();
            let mut chart = n.chart.clone();
            chart.parent_path = parent_path.to_string();
            chart.metadata.dependencies = n.reqs.iter().map(|r| r.borrow().dep.clone()).collect();
            chart.dependencies = n
                .children
                .iter()
                .map(|child| {
                    let parent = child
                        .borrow()
                        .parent
                        .as_ref()
                        .and_then(Weak::upgrade)
                        .map(|p| full_path(&p))
                        .unwrap_or_default();
                    Node::to_chart(child, &parent)
                })
                .collect();
            chart
        }

        /// The chart as coalescing sees it: names, values and subcharts, no files.
        fn values_view(node: &NodeRef) -> Chart {
            let n = node.borrow();
            Chart {
                metadata: crate::chart::Metadata {
                    name: n.chart.metadata.name.clone(),
                    ..Default::default()
                },
                values: n.chart.values.clone(),
                dependencies: n.children.iter().map(Node::values_view).collect(),
                ..Default::default()
            }
        }
    }

    fn name(node: &NodeRef) -> String {
        node.borrow().chart.metadata.name.clone()
    }

    /// Helm's `ChartFullPath`, following parent pointers.
    fn full_path(node: &NodeRef) -> String {
        let n = node.borrow();
        match n.parent.as_ref().and_then(Weak::upgrade) {
            Some(p) => format!("{}/charts/{}", full_path(&p), n.chart.metadata.name),
            None => n.chart.metadata.name.clone(),
        }
    }

    /// `SetDependencies`: the new list, each child's parent pointer set to `node`.
    fn set_dependencies(node: &NodeRef, children: Vec<NodeRef>) {
        for c in &children {
            c.borrow_mut().parent = Some(Rc::downgrade(node));
        }
        node.borrow_mut().children = children;
    }

    fn declares(req: &Dependency, chart: &NodeRef) -> bool {
        let c = chart.borrow();
        c.chart.metadata.name == req.name
            && semver_range::is_compatible(&req.version, &c.chart.metadata.version)
    }

    /// Helm's `getAliasDependency`: a shallow copy of the first matching chart, renamed.
    fn alias_dependency(children: &[NodeRef], req: &Dependency) -> Option<NodeRef> {
        let found = children.iter().find(|c| declares(req, c))?;
        let f = found.borrow();
        let mut chart = f.chart.clone();
        if !req.alias.is_empty() {
            chart.metadata.name = req.alias.clone();
        }
        Some(Rc::new(RefCell::new(Node {
            chart,
            reqs: f.reqs.clone(),
            children: f.children.clone(),
            parent: f.parent.clone(),
        })))
    }

    /// Helm's log line from `pkg/chartutil/dependencies.go`.
    fn dep_warn(warnings: &mut Vec<String>, line: u32, message: String) {
        warnings.push(format!("dependencies.go:{line}: {message}"));
    }

    pub(super) fn process_enabled(
        node: &NodeRef,
        v: &Map,
        path: &str,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let reqs = node.borrow().reqs.clone();
        if reqs.is_empty() {
            return Ok(());
        }
        let children = node.borrow().children.clone();
        let mut deps: Vec<NodeRef> = children
            .iter()
            .filter(|c| !reqs.iter().any(|r| declares(&r.borrow().dep, c)))
            .cloned()
            .collect();
        for r in &reqs {
            if let Some(c) = alias_dependency(&children, &r.borrow().dep) {
                deps.push(c);
            }
            let mut r = r.borrow_mut();
            if !r.dep.alias.is_empty() {
                r.dep.name = r.dep.alias.clone();
            }
        }
        set_dependencies(node, deps);
        for r in &reqs {
            r.borrow_mut().dep.enabled = true;
        }
        let cvals = coalesce_values_warn(&Node::values_view(node), v, false, warnings)?;
        process_tags(&reqs, &cvals, warnings);
        process_conditions(&reqs, &cvals, path, warnings);
        let removed: Vec<String> = reqs
            .iter()
            .filter(|r| !r.borrow().dep.enabled)
            .map(|r| r.borrow().dep.name.clone())
            .collect();
        let kept: Vec<NodeRef> = node
            .borrow()
            .children
            .iter()
            .filter(|c| !removed.contains(&name(c)))
            .cloned()
            .collect();
        let kept_reqs: Vec<Rc<RefCell<Req>>> = reqs
            .iter()
            .filter(|r| !removed.contains(&r.borrow().dep.name))
            .cloned()
            .collect();
        for t in &kept {
            let subpath = format!("{path}{}.", name(t));
            process_enabled(t, &cvals, &subpath, warnings)?;
        }
        node.borrow_mut().reqs = kept_reqs;
        set_dependencies(node, kept);
        Ok(())
    }

    /// Helm's `processDependencyTags`: the top-level `tags` table switches entries.
    fn process_tags(reqs: &[Rc<RefCell<Req>>], cvals: &Map, warnings: &mut Vec<String>) {
        let Some(tags) = table(cvals, "tags") else {
            return;
        };
        for r in reqs {
            let mut r = r.borrow_mut();
            let (mut has_true, mut has_false) = (false, false);
            for k in &r.dep.tags {
                match tags.get(k) {
                    Some(Value::Bool(true)) => has_true = true,
                    Some(Value::Bool(false)) => has_false = true,
                    Some(_) => dep_warn(
                        warnings,
                        94,
                        format!(
                            "Warning: Tag '{k}' for chart {} returned non-bool value",
                            r.dep.name
                        ),
                    ),
                    None => {}
                }
            }
            if !has_true && has_false {
                r.dep.enabled = false;
            } else if has_true || !has_false {
                r.dep.enabled = true;
            }
        }
    }

    /// Helm's `processDependencyConditions`: the first condition path holding a boolean wins.
    fn process_conditions(
        reqs: &[Rc<RefCell<Req>>],
        cvals: &Map,
        path: &str,
        warnings: &mut Vec<String>,
    ) {
        for r in reqs {
            let mut r = r.borrow_mut();
            let condition = r.dep.condition.trim().to_string();
            for cond in condition.split(',') {
                if cond.is_empty() {
                    continue;
                }
                match path_value(cvals, &format!("{path}{cond}")) {
                    Some(Value::Bool(b)) => {
                        r.dep.enabled = *b;
                        break;
                    }
                    Some(_) => dep_warn(
                        warnings,
                        63,
                        format!(
                            "Warning: Condition path '{cond}' for chart {} returned non-bool value",
                            r.dep.name
                        ),
                    ),
                    None => {}
                }
            }
        }
    }

    /// Helm's `Values.Table` with its error: the first path element that is not a table.
    fn table_or_missing<'a>(m: &'a Map, path: &str) -> std::result::Result<&'a Map, String> {
        let mut cur = m;
        for part in path.split('.') {
            match cur.get(part) {
                Some(Value::Map(next)) => cur = next,
                _ => {
                    return Err(format!(
                        "{} is not a table",
                        crate::template::format::go_quote(part)
                    ));
                }
            }
        }
        Ok(cur)
    }

    /// Helm's `processDependencyImportValues`: children first, then the chart itself.
    pub(super) fn process_import_values(node: &NodeRef, warnings: &mut Vec<String>) -> Result<()> {
        let children = node.borrow().children.clone();
        for d in &children {
            process_import_values(d, warnings)?;
        }
        let reqs = node.borrow().reqs.clone();
        if reqs.is_empty() {
            return Ok(());
        }
        let cvals = coalesce_values_warn(&Node::values_view(node), &Map::new(), true, warnings)?;
        let mut b = Map::new();
        for r in &reqs {
            let mut r = r.borrow_mut();
            let mut out = Vec::new();
            if !r.imports_rewritten {
                for riv in &r.dep.import_values {
                    match riv {
                        Value::Map(iv) => {
                            let field = |k: &str| match iv.get(k) {
                                Some(Value::String(s)) => s.clone(),
                                _ => String::new(),
                            };
                            let (child, parent) = (field("child"), field("parent"));
                            out.push(child_parent(&child, &parent));
                            match table_or_missing(&cvals, &format!("{}.{}", r.dep.name, child)) {
                                Ok(vv) => coalesce_tables_at(
                                    &mut b,
                                    path_to_map(&parent, vv.clone()),
                                    true,
                                    "",
                                    warnings,
                                ),
                                Err(e) => dep_warn(
                                    warnings,
                                    269,
                                    format!(
                                        "Warning: ImportValues missing table from chart {}: {e}",
                                        r.dep.name
                                    ),
                                ),
                            }
                        }
                        Value::String(s) => {
                            let child = format!("exports.{s}");
                            out.push(child_parent(&child, "."));
                            match table_or_missing(&cvals, &format!("{}.{}", r.dep.name, child)) {
                                Ok(vm) => {
                                    coalesce_tables_at(&mut b, vm.clone(), true, "", warnings)
                                }
                                Err(e) => dep_warn(
                                    warnings,
                                    286,
                                    format!("Warning: ImportValues missing table: {e}"),
                                ),
                            }
                        }
                        _ => {}
                    }
                }
            }
            r.imports_rewritten = !out.is_empty();
            r.dep.import_values = out;
        }
        let mut merged = cvals;
        coalesce_tables_at(&mut merged, b, true, "", warnings);
        node.borrow_mut().chart.values = merged;
        Ok(())
    }

    fn child_parent(child: &str, parent: &str) -> Value {
        let mut m = Map::new();
        m.insert("child".into(), Value::String(child.to_string()));
        m.insert("parent".into(), Value::String(parent.to_string()));
        Value::Map(m)
    }
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

#[cfg(test)]
mod tests;

/// Whether a Kubernetes version satisfies a chart's `kubeVersion` constraint.
pub fn is_compatible_kube(constraint: &str, version: &str) -> bool {
    semver_range::is_compatible(constraint, version)
}
