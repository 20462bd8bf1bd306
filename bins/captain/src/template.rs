//! `captain template`: renders a chart exactly as `helm template` does, with Helm's flags.

use clap::Args;
use helm_engine::render::RenderOptions;
use helm_engine::template::format::go_quote;
use helm_engine::values::ValueOptions;
use std::path::Path;

/// The flags of `captain template`, as `helm template` names them.
#[derive(Args)]
pub struct TemplateArgs {
    /// `[NAME] CHART`: an optional release name, then a chart directory or `.tgz`.
    #[arg(num_args = 0..)]
    pub args: Vec<String>,
    /// Values files, in order (later files win).
    #[arg(short = 'f', long = "values")]
    pub values: Vec<String>,
    /// `--set key=value` (typed).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// `--set-string key=value`.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// `--set-file key=path`.
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// `--set-json key=JSON` (or a whole JSON object).
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// `--set-literal key=value`, the value taken verbatim.
    #[arg(long = "set-literal")]
    pub set_literal: Vec<String>,
    /// The release namespace.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Print the chart's `crds/` files too.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// The Kubernetes version for `.Capabilities`.
    #[arg(long = "kube-version")]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions`.
    #[arg(short = 'a', long = "api-versions")]
    pub api_versions: Vec<String>,
    /// Only print manifests from these templates.
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// A template for the release name.
    #[arg(long = "name-template")]
    pub name_template: Option<String>,
    /// Generate the release name. `helm template` names the release `release-name` anyway,
    /// so this only conflicts with a NAME argument.
    #[arg(short = 'g', long = "generate-name")]
    pub generate_name: bool,
    /// Leave out test hooks.
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
}

/// What a `template` flag takes, as pflag types it.
#[derive(Clone, Copy)]
enum FlagKind {
    /// A boolean: bare means true, `--flag=VALUE` takes Go's `strconv.ParseBool` spellings.
    Bool,
    /// A string; a repeated flag keeps the last value.
    Str,
    /// A list, each occurrence one item (`StringArray`) or one CSV record (`StringSlice`,
    /// split later by [`string_slice`]).
    List,
}

/// The `template` flags: long name, shorthand, kind.
const TEMPLATE_FLAGS: &[(&str, Option<char>, FlagKind)] = &[
    ("values", Some('f'), FlagKind::List),
    ("set", None, FlagKind::List),
    ("set-string", None, FlagKind::List),
    ("set-file", None, FlagKind::List),
    ("set-json", None, FlagKind::List),
    ("set-literal", None, FlagKind::List),
    ("namespace", Some('n'), FlagKind::Str),
    ("include-crds", None, FlagKind::Bool),
    ("kube-version", None, FlagKind::Str),
    ("api-versions", Some('a'), FlagKind::List),
    ("show-only", Some('s'), FlagKind::List),
    ("name-template", None, FlagKind::Str),
    ("generate-name", Some('g'), FlagKind::Bool),
    ("skip-tests", None, FlagKind::Bool),
    ("is-upgrade", None, FlagKind::Bool),
];

/// Whether `args` (after `template`) ask for help, which clap prints.
pub fn wants_help(args: &[String]) -> bool {
    for a in args {
        if a == "--" {
            return false;
        }
        if a == "--help" || a.starts_with("--help=") {
            return true;
        }
        if let Some(shorts) = a.strip_prefix('-') {
            if !shorts.starts_with('-') && shorts.starts_with('h') {
                return true;
            }
        }
    }
    false
}

/// Parses the arguments after `template` as cobra's pflag does for `helm template`:
/// flags anywhere among the positionals, `--` ending them, `--flag=value` and `--flag value`,
/// `-fvalue`, `-f=value` and `-f value`, grouped boolean shorthands, and pflag's error texts
/// (`unknown flag: --x`, `flag needs an argument: --set`, `invalid argument ...`).
pub fn parse_args(argv: &[String]) -> Result<TemplateArgs, String> {
    let mut t = TemplateArgs {
        args: Vec::new(),
        values: Vec::new(),
        set: Vec::new(),
        set_string: Vec::new(),
        set_file: Vec::new(),
        set_json: Vec::new(),
        set_literal: Vec::new(),
        namespace: "default".into(),
        include_crds: false,
        kube_version: None,
        api_versions: Vec::new(),
        show_only: Vec::new(),
        name_template: None,
        generate_name: false,
        skip_tests: false,
        is_upgrade: false,
    };
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        if arg == "--" {
            t.args.extend(rest.by_ref().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            if long.is_empty() || long.starts_with(['-', '=']) {
                return Err(format!("bad flag syntax: {arg}"));
            }
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(long_name, short, kind)) =
                TEMPLATE_FLAGS.iter().find(|(n, _, _)| *n == name)
            else {
                return Err(format!("unknown flag: --{name}"));
            };
            let value = match (inline, kind) {
                (Some(v), _) => v,
                (None, FlagKind::Bool) => "true".into(),
                (None, _) => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("flag needs an argument: {arg}"))?,
            };
            set_flag(&mut t, long_name, short, kind, value)?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            let mut shorts = &arg[1..];
            while let Some(c) = shorts.chars().next() {
                let Some(&(long_name, short, kind)) =
                    TEMPLATE_FLAGS.iter().find(|(_, s, _)| *s == Some(c))
                else {
                    return Err(format!(
                        "unknown shorthand flag: {} in -{shorts}",
                        go_quote_rune(c)
                    ));
                };
                let after = &shorts[c.len_utf8()..];
                let value;
                if let Some(v) = after.strip_prefix('=').filter(|_| after.len() > 1) {
                    value = v.to_string();
                    shorts = "";
                } else if matches!(kind, FlagKind::Bool) {
                    value = "true".into();
                    shorts = after;
                } else if !after.is_empty() {
                    value = after.to_string();
                    shorts = "";
                } else {
                    value = rest.next().cloned().ok_or_else(|| {
                        format!("flag needs an argument: {} in -{shorts}", go_quote_rune(c))
                    })?;
                    shorts = "";
                }
                set_flag(&mut t, long_name, short, kind, value)?;
            }
        } else {
            t.args.push(arg.clone());
        }
    }
    Ok(t)
}

fn set_flag(
    t: &mut TemplateArgs,
    long: &str,
    short: Option<char>,
    kind: FlagKind,
    value: String,
) -> Result<(), String> {
    let display = match short {
        Some(c) => format!("-{c}, --{long}"),
        None => format!("--{long}"),
    };
    if let FlagKind::Bool = kind {
        let b = match value.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => {
                return Err(format!(
                    "invalid argument {} for \"{display}\" flag: strconv.ParseBool: parsing {}: invalid syntax",
                    go_quote(&value),
                    go_quote(&value)
                ));
            }
        };
        match long {
            "include-crds" => t.include_crds = b,
            "generate-name" => t.generate_name = b,
            "skip-tests" => t.skip_tests = b,
            _ => t.is_upgrade = b,
        }
        return Ok(());
    }
    match long {
        "values" => t.values.push(value),
        "set" => t.set.push(value),
        "set-string" => t.set_string.push(value),
        "set-file" => t.set_file.push(value),
        "set-json" => t.set_json.push(value),
        "set-literal" => t.set_literal.push(value),
        "api-versions" => t.api_versions.push(value),
        "show-only" => t.show_only.push(value),
        "namespace" => t.namespace = value,
        "kube-version" => t.kube_version = Some(value),
        _ => t.name_template = Some(value),
    }
    Ok(())
}

/// Go's `%q` of a rune.
fn go_quote_rune(c: char) -> String {
    let q = go_quote(&c.to_string());
    format!("'{}'", &q[1..q.len() - 1].replace("\\\"", "\""))
}

/// What `helm template` adds after errors raised while rendering manifests.
const DEBUG_HINT: &str = "\n\nUse --debug flag to render out invalid YAML";

/// Renders the chart; the text `helm template` would print, or its error message.
pub fn run_template(args: TemplateArgs) -> Result<String, String> {
    // pflag's string slices: each occurrence is one CSV record, read when the flag is parsed.
    let value_paths = string_slice(&args.values, "-f, --values")?;
    let api_versions = string_slice(&args.api_versions, "-a, --api-versions")?;
    // Helm's `NameAndChart`, with `helm template`'s default name `release-name`.
    let (name, chart_path) = match args.args.as_slice() {
        [] => {
            return Err(
                "\"captain template\" requires at least 1 argument\n\nUsage:  captain template [NAME] [CHART] [flags]"
                    .into(),
            );
        }
        [chart] => (None, chart.clone()),
        [name, chart] => (Some(name.clone()), chart.clone()),
        [_, _, extra @ ..] => {
            return Err(format!(
                "expected at most two arguments, unexpected arguments: {}",
                extra.join(", ")
            ));
        }
    };
    // `helm template` parses --kube-version before it looks at the release or the chart.
    if let Some(v) = args.kube_version.as_deref().filter(|v| !v.is_empty()) {
        if let Err(e) = check_semver(v) {
            return Err(format!("invalid kube version '{v}': {e}"));
        }
    }
    let release_name = match (name, &args.name_template) {
        (Some(_), _) if args.generate_name => {
            return Err("cannot set --generate-name and also specify a name".into());
        }
        (Some(_), Some(t)) if !t.is_empty() => {
            return Err("cannot set --name-template and also specify a name".into());
        }
        (Some(n), _) => n,
        // An empty `--name-template` counts as unset.
        (None, Some(t)) if !t.is_empty() => {
            helm_engine::render::render_name_template(t).map_err(|e| e.to_string())?
        }
        (None, _) => "release-name".into(),
    };
    // Helm's `LocateChart`: the trimmed name is a local path if it exists; else a name
    // starting with `.` or `/` is a missing path, and anything else a `repo/chart` reference
    // looked up in the repositories file (none is configured for captain).
    let chart_path = chart_path.trim();
    let path = Path::new(chart_path);
    if !path.exists() {
        return Err(if path.is_absolute() || chart_path.starts_with('.') {
            format!("path {} not found", go_quote(chart_path))
        } else if chart_path.contains("://") {
            format!("charts are not downloaded: {chart_path} must be a local directory or archive")
        } else if let Some((repo, _)) = chart_path.split_once('/') {
            format!("repo {repo} not found")
        } else {
            format!(
                "non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart_path}"
            )
        });
    }
    let mut value_files = Vec::new();
    for f in &value_paths {
        let data = helm_engine::values::read_value_source(f)?;
        value_files.push((f.clone(), data));
    }
    let opts = ValueOptions {
        value_files,
        values: args.set,
        string_values: args.set_string,
        file_values: args.set_file,
        json_values: args.set_json,
        literal_values: args.set_literal,
    };
    let user = opts.merge().map_err(|e| e.to_string())?;
    let chart = helm_engine::chart::load(path).map_err(|e| e.to_string())?;
    // Helm warns once the chart is known to be installable, before rendering.
    if chart.metadata.deprecated && !chart.is_library() {
        eprintln!("WARNING: This chart is deprecated");
    }
    let render = RenderOptions {
        release_name,
        // Helm takes an empty namespace or kube version as not given.
        namespace: if args.namespace.is_empty() {
            "default".into()
        } else {
            args.namespace
        },
        kube_version: args.kube_version.filter(|v| !v.is_empty()),
        api_versions,
        include_crds: args.include_crds,
        show_only: args.show_only,
        skip_tests: args.skip_tests,
        is_install: !args.is_upgrade,
        is_upgrade: args.is_upgrade,
        ..RenderOptions::default()
    };
    // Helm logs its warnings on stderr as they come, before any error.
    let mut warnings = Vec::new();
    let result = helm_engine::render::render_collecting(chart, &user, &render, &mut warnings);
    for w in &warnings {
        eprintln!("{w}");
    }
    result.map(|r| r.manifest).map_err(|e| match e {
        helm_engine::Error::Rendering(inner) => format!("{inner}{DEBUG_HINT}"),
        other => other.to_string(),
    })
}

/// Masterminds/semver's `NewVersion` checks (what `chartutil.ParseKubeVersion` refuses):
/// `v?MAJOR[.MINOR[.PATCH]][-PRE][+META]`, dot-separated identifiers of `[0-9A-Za-z-]`,
/// numbers that fit in a uint64, and no numeric pre-release identifier with a leading zero.
fn check_semver(v: &str) -> Result<(), String> {
    const INVALID: &str = "Invalid Semantic Version";
    let body = v.strip_prefix('v').unwrap_or(v);
    let (body, meta) = match body.split_once('+') {
        Some((b, m)) => (b, Some(m)),
        None => (body, None),
    };
    let (core, pre) = match body.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (body, None),
    };
    let idents_ok = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        || pre.is_some_and(|p| !idents_ok(p))
        || meta.is_some_and(|m| !idents_ok(m))
    {
        return Err(INVALID.into());
    }
    for p in parts {
        if p.parse::<u64>().is_err() {
            return Err(format!(
                "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                go_quote(p)
            ));
        }
    }
    if let Some(pre) = pre {
        let leading_zero = pre.split('.').any(|part| {
            part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit())
        });
        if leading_zero {
            return Err("Version segment starts with 0".into());
        }
    }
    Ok(())
}

/// pflag's `StringSlice` flag: every occurrence is read as one record of Go's `encoding/csv`
/// (empty means none), and the records are concatenated.
fn string_slice(occurrences: &[String], flag: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for raw in occurrences {
        if raw.is_empty() {
            continue;
        }
        let fields = csv_record(raw).map_err(|e| {
            format!(
                "invalid argument {} for \"{flag}\" flag: {e}",
                go_quote(raw)
            )
        })?;
        out.extend(fields);
    }
    Ok(out)
}

/// The first record of Go's `csv.Reader` (comma-separated, `"` quoting with `""` escapes,
/// empty lines skipped, a quoted field may span lines), or its error text.
fn csv_record(text: &str) -> Result<Vec<String>, String> {
    let normalised = text.replace("\r\n", "\n");
    let mut s = normalised.as_str();
    s = s.strip_suffix('\r').unwrap_or(s);
    // Empty lines before the record are skipped.
    let mut line = 1;
    while let Some(rest) = s.strip_prefix('\n') {
        s = rest;
        line += 1;
    }
    if s.is_empty() {
        return Err("EOF".into());
    }
    let b = s.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    let mut col_base = 0; // byte index where the current line starts
    let err = |line: usize, col: usize, what: &str| {
        format!("parse error on line {line}, column {col}: {what}")
    };
    loop {
        if i < b.len() && b[i] == b'"' {
            // A quoted field.
            let mut field = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(err(
                            line,
                            i - col_base + 1,
                            "extraneous or missing \" in quoted-field",
                        ));
                    }
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        match b.get(i) {
                            None | Some(b',') | Some(b'\n') => break,
                            Some(_) => {
                                return Err(err(
                                    line,
                                    i - col_base,
                                    "extraneous or missing \" in quoted-field",
                                ));
                            }
                        }
                    }
                    Some(b'\n') => {
                        field.push(b'\n');
                        i += 1;
                        line += 1;
                        col_base = i;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            fields.push(String::from_utf8_lossy(&field).into_owned());
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' && b[i] != b'\n' {
                if b[i] == b'"' {
                    return Err(err(line, i - col_base + 1, "bare \" in non-quoted-field"));
                }
                i += 1;
            }
            fields.push(s[start..i].to_string());
        }
        match b.get(i) {
            Some(b',') => i += 1,
            _ => return Ok(fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csv_record;

    #[test]
    fn kube_versions_are_checked_as_semver_does() {
        use super::check_semver;
        for ok in ["1", "v1.2", "1.2.3-rc.1+b.2", "1.2.3-0", "1.2.3-0a"] {
            assert_eq!(check_semver(ok), Ok(()), "{ok}");
        }
        for bad in ["1.2.3-", "1.2.3+", "1.2.3.4", "x", "1.2.3-a..b", "V1"] {
            assert_eq!(
                check_semver(bad).unwrap_err(),
                "Invalid Semantic Version",
                "{bad}"
            );
        }
        assert_eq!(
            check_semver("1.2.3-01").unwrap_err(),
            "Version segment starts with 0"
        );
        assert!(
            check_semver("99999999999999999999")
                .unwrap_err()
                .ends_with("value out of range")
        );
    }

    #[test]
    fn csv_records_read_as_go_does() {
        assert_eq!(csv_record("a,b").unwrap(), ["a", "b"]);
        assert_eq!(csv_record("a,").unwrap(), ["a", ""]);
        assert_eq!(csv_record("\"a,b\",\"c\"\"d\"").unwrap(), ["a,b", "c\"d"]);
        assert_eq!(csv_record("a\nb").unwrap(), ["a"]);
        assert_eq!(csv_record("\n\nb").unwrap(), ["b"]);
        assert_eq!(csv_record("\n").unwrap_err(), "EOF");
        assert_eq!(
            csv_record("x,a\"b").unwrap_err(),
            "parse error on line 1, column 4: bare \" in non-quoted-field"
        );
        assert_eq!(
            csv_record("\"a/v1\"x").unwrap_err(),
            "parse error on line 1, column 6: extraneous or missing \" in quoted-field"
        );
        assert_eq!(
            csv_record("\"a/v1").unwrap_err(),
            "parse error on line 1, column 6: extraneous or missing \" in quoted-field"
        );
    }
}
