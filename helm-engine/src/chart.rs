//! Charts: loading a chart directory or `.tgz` archive into memory as Helm's loader does.
//!
//! Files are sorted into `Chart.yaml` metadata, `values.yaml`, `values.schema.json`,
//! `templates/`, subcharts under `charts/` (directories or archives) and everything else, which
//! templates reach through `.Files`. `.helmignore` applies to directories, and Helm's limits
//! apply to archives: 100 MiB decompressed, 5 MiB per file, and no entry outside the chart.

use crate::error::{Error, Result};
use crate::value::{Map, Value};
use crate::yaml;
use std::io::Read;
use std::path::Path;

pub mod glob;
mod ignore;
pub(crate) mod metadata;
pub(crate) mod symlink;

/// Helm's `MaxDecompressedChartSize`: 100 MiB.
pub const MAX_DECOMPRESSED_CHART_SIZE: u64 = 100 * 1024 * 1024;
/// Helm's `MaxDecompressedFileSize`: 5 MiB.
pub const MAX_DECOMPRESSED_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// A file of a chart: its path relative to the chart root (with `/`) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartFile {
    /// Path inside the chart, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// Contents, with a UTF-8 byte-order mark removed.
    pub data: Vec<u8>,
}

/// One entry of `dependencies` in `Chart.yaml` (or `requirements.yaml` for apiVersion v1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// The chart name.
    pub name: String,
    /// The version constraint.
    pub version: String,
    /// The repository URL.
    pub repository: String,
    /// A comma-separated list of values paths that switch the dependency on or off.
    pub condition: String,
    /// Tags that switch the dependency on or off.
    pub tags: Vec<String>,
    /// Whether the dependency is enabled (set while processing conditions and tags).
    pub enabled: bool,
    /// `import-values` entries: strings or `{child, parent}` maps.
    pub import_values: Vec<Value>,
    /// An alternative name for the dependency.
    pub alias: String,
}

/// `Chart.yaml`, with Helm's field set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// `name`.
    pub name: String,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `version`.
    pub version: String,
    /// `description`.
    pub description: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `maintainers` as maps with `name`, `email`, `url`.
    pub maintainers: Vec<Map>,
    /// `icon`.
    pub icon: String,
    /// `apiVersion` (`v1` when absent).
    pub api_version: String,
    /// `condition` (deprecated in charts, kept for `.Chart`).
    pub condition: String,
    /// `tags` (deprecated in charts, kept for `.Chart`).
    pub tags: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`.
    pub annotations: Vec<(String, String)>,
    /// `kubeVersion`.
    pub kube_version: String,
    /// `dependencies`.
    pub dependencies: Vec<Dependency>,
    /// `type` (`application` or `library`).
    pub chart_type: String,
    /// `maintainers` held a null entry (Helm's validation refuses it).
    pub(crate) null_maintainer: bool,
    /// `dependencies` held a null entry (Helm's validation refuses it).
    pub(crate) null_dependency: bool,
    /// List and map fields Chart.yaml set to an empty `[]` or `{}`: Go then holds an empty
    /// slice or map, not nil, which `printf "%#v"` and `toToml` of `.Chart` show.
    pub(crate) set_empty: SetEmpty,
}

/// Which of [`Metadata`]'s list and map fields were given empty (`[]`, `{}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SetEmpty {
    pub(crate) sources: bool,
    pub(crate) keywords: bool,
    pub(crate) maintainers: bool,
    pub(crate) annotations: bool,
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `values.yaml`, an empty map when absent.
    pub values: Map,
    /// `values.schema.json`, if present.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/`, in load order.
    pub templates: Vec<ChartFile>,
    /// Every other file (including `crds/`), for `.Files`.
    pub files: Vec<ChartFile>,
    /// Subcharts from `charts/`.
    pub dependencies: Vec<Chart>,
    /// The chart path of the parent, e.g. `top/charts/mid` for a grandchild; empty for the root.
    pub parent_path: String,
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Helm's `ChartFullPath`: `top`, `top/charts/sub`, ...
    pub fn full_path(&self) -> String {
        if self.parent_path.is_empty() {
            self.metadata.name.clone()
        } else {
            format!("{}/charts/{}", self.parent_path, self.metadata.name)
        }
    }

    /// Whether this is a library chart (only its partials render).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// Sets each subchart's parent path, recursively (after aliases are applied).
    pub fn fix_paths(&mut self) {
        let me = self.full_path();
        for d in &mut self.dependencies {
            d.parent_path = me.clone();
            d.fix_paths();
        }
    }
}

/// Loads a chart from a directory or a `.tgz` archive, as `helm template` does for a local path.
pub fn load(path: &Path) -> Result<Chart> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let mut chart = if meta.is_dir() {
        load_dir(path)?
    } else {
        let data = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        ensure_archive(&absolute(path)?.to_string_lossy(), &data)?;
        load_archive(&data)?
    };
    chart.fix_paths();
    Ok(chart)
}

/// Loads a chart directory, honouring `.helmignore`.
pub fn load_dir(dir: &Path) -> Result<Chart> {
    let rules = match std::fs::read(dir.join(".helmignore")) {
        Ok(data) => ignore::Rules::parse(&String::from_utf8_lossy(&data))?,
        Err(_) => ignore::Rules::default(),
    }
    .with_defaults();
    // Helm walks the absolute path (Go's `filepath.Abs`: joined to the working directory and
    // cleaned, links not resolved), and its messages name files by it.
    let abs = absolute(dir)?;
    let mut files = Vec::new();
    walk(&abs, "", &rules, &mut files)?;
    load_files(files)
}

/// Go's `filepath.Abs`: joined to the working directory and cleaned, links not resolved.
fn absolute(p: &Path) -> Result<std::path::PathBuf> {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(p.display().to_string(), e))?
            .join(p)
    };
    Ok(std::path::PathBuf::from(clean_path(
        &joined.to_string_lossy(),
    )))
}

fn walk(dir: &Path, rel: &str, rules: &ignore::Rules, out: &mut Vec<ChartFile>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir.display().to_string(), e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = entry.path();
        // Symlinks are followed, as Helm's sympath.Walk does; one that leads nowhere fails the
        // load before any ignore rule is consulted.
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                return Err(match symlink::broken_link_message(&path) {
                    Some(m) => Error::Chart(m),
                    None => Error::Chart(format!(
                        "lstat {}: {}",
                        path.display(),
                        symlink::errno_text(&e)
                    )),
                });
            }
        };
        if meta.is_dir() {
            if rules.ignore(&n, true) {
                continue;
            }
            walk(&path, &n, rules, out)?;
            continue;
        }
        if rules.ignore(&n, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(Error::Chart(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                path.display()
            )));
        }
        if meta.len() > MAX_DECOMPRESSED_FILE_SIZE {
            return Err(Error::TooLarge(format!(
                "chart file {:?} is larger than the maximum file size {}",
                name, MAX_DECOMPRESSED_FILE_SIZE
            )));
        }
        let data = std::fs::read(&path).map_err(|e| {
            Error::Chart(format!(
                "error reading {n}: open {}: {}",
                path.display(),
                symlink::errno_text(&e)
            ))
        })?;
        out.push(ChartFile {
            name: n,
            data: strip_bom(data),
        });
    }
    Ok(())
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
    data
}

/// Loads a gzipped tar chart archive, enforcing Helm's size and path rules.
pub fn load_archive(data: &[u8]) -> Result<Chart> {
    load_files(archive_files(data)?)
}

fn archive_files(data: &[u8]) -> Result<Vec<ChartFile>> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut archive = tar::Archive::new(gz);
    let mut files = Vec::new();
    let mut remaining = MAX_DECOMPRESSED_CHART_SIZE;
    let entries = archive
        .entries()
        .map_err(|e| Error::Chart(go_stream_error(&e)))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::Chart(go_stream_error(&e)))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let delim = if raw.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw.split(delim).collect();
        let n = parts[1..].join("/");
        if n.starts_with('/') {
            return Err(Error::PathTraversal(raw.clone().into()));
        }
        let cleaned = clean_path(&n);
        if cleaned == "." {
            return Err(Error::Chart(format!(
                "chart illegally contains content outside the base directory: {raw:?}"
            )));
        }
        if cleaned.starts_with("..") {
            return Err(Error::PathTraversal(raw.clone().into()));
        }
        let b = cleaned.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return Err(Error::Chart("chart contains illegally named files".into()));
        }
        if parts[0] == "Chart.yaml" {
            return Err(Error::Chart("chart yaml not in base directory".into()));
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(too_large_chart());
        }
        if size > MAX_DECOMPRESSED_FILE_SIZE {
            return Err(Error::TooLarge(format!(
                "decompressed chart file {raw:?} is larger than the maximum file size {MAX_DECOMPRESSED_FILE_SIZE}"
            )));
        }
        let mut buf = Vec::new();
        let written = (&mut entry)
            .take(remaining)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Chart(go_stream_error(&e)))? as u64;
        remaining -= written;
        if written < size || remaining == 0 {
            return Err(too_large_chart());
        }
        files.push(ChartFile {
            name: cleaned,
            data: strip_bom(buf),
        });
    }
    if files.is_empty() {
        return Err(Error::Chart("no files in chart archive".into()));
    }
    Ok(files)
}

/// What Go's `compress/gzip` and `archive/tar` readers say for a broken archive stream.
fn go_stream_error(e: &std::io::Error) -> String {
    let m = e.to_string();
    if e.kind() == std::io::ErrorKind::UnexpectedEof
        || m.contains("failed to read entire block")
        || m.contains("incomplete deflate stream")
        || m.contains("unexpected end of file")
    {
        "unexpected EOF".into()
    } else if m.contains("invalid gzip header") {
        "gzip: invalid header".into()
    } else if m.contains("checksum") && m.contains("gzip") {
        "gzip: invalid checksum".into()
    } else {
        format!("archive/tar: {m}")
    }
}

/// Helm's `ensureArchive` for a chart given as a file: it must start as gzip does, else the
/// message names the file (by its absolute path) and what `http.DetectContentType` sees.
fn ensure_archive(abs: &str, data: &[u8]) -> Result<()> {
    if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Ok(());
    }
    if abs.ends_with(".yml") || abs.ends_with(".yaml") {
        return Err(Error::Chart(format!(
            "file '{abs}' seems to be a YAML file, but expected a gzipped archive"
        )));
    }
    Err(Error::Chart(format!(
        "file '{abs}' does not appear to be a gzipped archive; got '{}'",
        sniff_content_type(data)
    )))
}

/// The common answers of Go's `http.DetectContentType` over the first 512 bytes (Helm pads a
/// shorter file with zero bytes, which makes it binary).
fn sniff_content_type(data: &[u8]) -> &'static str {
    let mut buf = [0u8; 512];
    let n = data.len().min(512);
    buf[..n].copy_from_slice(&data[..n]);
    let ws = buf
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
        .unwrap_or(buf.len());
    let rest = &buf[ws..];
    let starts_ci = |p: &[u8]| rest.len() > p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
    const HTML: &[&[u8]] = &[
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    for p in HTML {
        if starts_ci(p) && matches!(rest[p.len()], b' ' | b'>') {
            return "text/html; charset=utf-8";
        }
    }
    if rest.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    let sigs: &[(&[u8], &'static str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"%!PS-Adobe-", "application/postscript"),
        (b"\xFE\xFF", "text/plain; charset=utf-16be"),
        (b"\xFF\xFE", "text/plain; charset=utf-16le"),
        (b"\xEF\xBB\xBF", "text/plain; charset=utf-8"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"BM", "image/bmp"),
        (b"PK\x03\x04", "application/zip"),
        (b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
        (b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
        (b"\x00\x61\x73\x6D", "application/wasm"),
    ];
    for (sig, ty) in sigs {
        if buf.starts_with(sig) {
            return ty;
        }
    }
    let binary = buf.iter().any(|&b| {
        b <= 0x08 || b == 0x0b || (0x0e..=0x1a).contains(&b) || (0x1c..=0x1f).contains(&b)
    });
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

fn too_large_chart() -> Error {
    Error::TooLarge(format!(
        "decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"
    ))
}

/// Go's `path.Clean`.
pub(crate) fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn load_files(files: Vec<ChartFile>) -> Result<Chart> {
    let mut chart = Chart::default();
    let mut have_meta = false;
    for f in &files {
        if f.name == "Chart.yaml" {
            metadata::decode(&f.data, "Chart.yaml", &mut chart.metadata)?;
            if chart.metadata.api_version.is_empty() {
                chart.metadata.api_version = "v1".into();
            }
            have_meta = true;
        }
    }
    let mut subcharts: Vec<(String, Vec<ChartFile>)> = Vec::new();
    for f in files {
        let name = f.name.clone();
        if name == "Chart.yaml" {
            continue;
        } else if name == "Chart.lock" {
            metadata::check_lock(&f.data, "Chart.lock")?;
        } else if name == "values.yaml" {
            chart.values = parse_values_file(&f.data)
                .map_err(|e| Error::Values(format!("cannot load values.yaml: {e}")))?;
        } else if name == "values.schema.json" {
            chart.schema = Some(f.data);
        } else if name == "requirements.yaml" {
            // Helm decodes it over the whole metadata, so any field it names is replaced.
            metadata::decode(&f.data, "requirements.yaml", &mut chart.metadata)?;
            have_meta = true;
            if chart.metadata.api_version == "v1" {
                chart.files.push(f);
            }
        } else if name == "requirements.lock" {
            metadata::check_lock(&f.data, "requirements.lock")?;
            have_meta = true;
            if chart.metadata.api_version == "v1" {
                chart.files.push(f);
            }
        } else if name.starts_with("templates/") {
            chart.templates.push(f);
        } else if let Some(rest) = name.strip_prefix("charts/") {
            if name.ends_with(".prov") {
                chart.files.push(f);
                continue;
            }
            let cname = rest.split('/').next().unwrap_or("").to_string();
            let sub = ChartFile {
                name: rest.to_string(),
                data: f.data,
            };
            match subcharts.iter_mut().find(|(n, _)| *n == cname) {
                Some((_, v)) => v.push(sub),
                None => subcharts.push((cname, vec![sub])),
            }
        } else {
            chart.files.push(f);
        }
    }
    if !have_meta {
        return Err(Error::Chart("Chart.yaml file is missing".into()));
    }
    metadata::validate(&mut chart.metadata)?;
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sub = if n.ends_with(".tgz") {
            let file = &files[0];
            if file.name != n {
                return Err(Error::Chart(format!(
                    "error unpacking subchart tar in {}: expected {}, got {}",
                    chart.name(),
                    n,
                    file.name
                )));
            }
            load_archive(&file.data)
        } else {
            let buff: Vec<ChartFile> = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(ChartFile {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files(buff)
        };
        let sub = sub.map_err(|e| match e {
            Error::PathTraversal(_) | Error::TooLarge(_) => e,
            e => Error::Chart(format!(
                "error unpacking subchart {} in {}: {}",
                n,
                chart.name(),
                e
            )),
        })?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

/// Parses a values file: a map (or empty), with Helm's wording for other shapes.
///
/// The bytes go through go-yaml's reader as Helm hands them over: UTF-16 after its byte-order
/// mark is decoded, and invalid UTF-8 or a control character is an error in libyaml's words.
pub fn parse_values_file(data: &[u8]) -> Result<Map> {
    match yaml::from_yaml_bytes(data).map_err(|e| Error::Values(e.to_string()))? {
        Value::Map(m) => Ok(m),
        Value::Nil => Ok(Map::new()),
        other => Err(Error::Values(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Float(_) | Value::Int(_) | Value::Int64(_) => "number",
        Value::Bool(_) => "bool",
        Value::List(_) => "array",
        _ => "object",
    }
}

#[cfg(test)]
mod tests;
