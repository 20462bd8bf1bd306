//! Tests of the template language against Go's behaviour.

use super::*;
use crate::value::Map;

/// The data most tests run against: a Helm-like root with `.Values` parsed from YAML.
pub(crate) fn root(values_yaml: &str) -> Value {
    let mut m = Map::new();
    m.insert(
        "Values".into(),
        crate::yaml::from_yaml(values_yaml).unwrap_or(Value::Map(Map::new())),
    );
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::String("rel".into()));
    rel.insert("Namespace".into(), Value::String("default".into()));
    rel.insert("Service".into(), Value::String("Helm".into()));
    rel.insert("IsInstall".into(), Value::Bool(true));
    rel.insert("IsUpgrade".into(), Value::Bool(false));
    rel.insert("Revision".into(), Value::Int(1));
    m.insert("Release".into(), Value::Map(rel));
    let mut t = Map::new();
    t.insert(
        "Name".into(),
        Value::String("mychart/templates/t.yaml".into()),
    );
    t.insert("BasePath".into(), Value::String("mychart/templates".into()));
    m.insert("Template".into(), Value::Map(t));
    Value::Map(m)
}

/// Runs the cases in `$TMPL_CASES/cases.json` (written by a script that also renders them with
/// the real helm) and writes our raw outputs to `$TMPL_CASES/ours.json`, for comparison.
#[test]
#[ignore = "developer tool: needs a cases file produced with the helm binary"]
fn dump_cases_for_helm_comparison() {
    let Ok(dir) = std::env::var("TMPL_CASES") else {
        return;
    };
    let text = std::fs::read_to_string(format!("{dir}/cases.json")).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    let values = cases["values"].as_str().unwrap_or("");
    let data = root(values);
    let mut out = serde_json::Map::new();
    for c in cases["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let file = c["file"].as_str().unwrap();
        let src = c["src"].as_str().unwrap();
        let mut set = TemplateSet::new();
        let mut r = serde_json::Map::new();
        match set.parse(file, src) {
            Err(e) => {
                r.insert("err".into(), e.to_string().into());
                r.insert("helm".into(), e.helm_message(file).into());
            }
            Ok(()) => match set.render(file, &data) {
                Ok(s) => {
                    r.insert("ok".into(), s.into());
                }
                Err(e) => {
                    r.insert("err".into(), e.to_string().into());
                    r.insert("helm".into(), e.helm_message(file).into());
                }
            },
        }
        out.insert(name.into(), r.into());
    }
    std::fs::write(
        format!("{dir}/ours.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}

/// Renders the chart at `$TMPL_CHART` (with the values file `$TMPL_VALUES`, if set) through the
/// whole engine and writes the output to `$TMPL_OUT`, for comparison with `helm template`.
#[test]
#[ignore = "developer tool: compares a chart's rendering with the helm binary's"]
fn dump_chart_rendering() {
    let (Ok(chart), Ok(out)) = (std::env::var("TMPL_CHART"), std::env::var("TMPL_OUT")) else {
        return;
    };
    let c = crate::chart::load(std::path::Path::new(&chart)).unwrap();
    let vals = match std::env::var("TMPL_VALUES") {
        Ok(p) if !p.is_empty() => {
            crate::chart::parse_values_file(&std::fs::read(p).unwrap()).unwrap()
        }
        Ok(_) => Map::new(),
        Err(_) => Map::new(),
    };
    let text = match crate::render::template(c, &vals, &crate::render::RenderOptions::default()) {
        Ok(t) => t,
        Err(e) => format!("Error: {e}\n"),
    };
    std::fs::write(out, text).unwrap();
}

/// Checks every case of a golden file recorded from `helm template` (helm 3.17.3): each
/// snippet is wrapped as `define` + `include | b64enc`, rendered as the file
/// `mychart/templates/t.yaml`, and must give helm's output byte for byte, or helm's error
/// message.
pub(crate) fn check_golden(json: &str) {
    use base64::Engine as _;
    let golden: serde_json::Value = serde_json::from_str(json).unwrap();
    let data = root(golden["values"].as_str().unwrap());
    let file = "mychart/templates/t.yaml";
    let mut failures = Vec::new();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let src = case["src"].as_str().unwrap();
        let pre = golden["pre"].as_str().unwrap_or("");
        let wrapped = format!(
            "{pre}{{{{- define \"{name}\" }}}}{src}{{{{ end -}}}}\nx: {{{{ include \"{name}\" . | b64enc | quote }}}}\n"
        );
        let mut set = TemplateSet::new();
        let got = set
            .parse(file, &wrapped)
            .and_then(|_| set.render(file, &data));
        let got = match got {
            Ok(out) => {
                let b64 = out.trim_start_matches("x: \"").trim_end_matches("\"\n");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                Ok(golden_text(&bytes))
            }
            Err(e) => Err(e.helm_message(file)),
        };
        let want = match case.get("out") {
            Some(o) => Ok(o.as_str().unwrap().to_string()),
            None => Err(case["err"].as_str().unwrap().to_string()),
        };
        if got != want {
            failures.push(format!("{name}: {src}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ from helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Output bytes as the golden files hold them: UTF-8, with each invalid byte written `\xNN`
/// (as Python's `backslashreplace` writes them when recording).
pub(crate) fn golden_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[test]
fn language_matches_helm() {
    check_golden(include_str!("testdata/language.json"));
}

#[test]
fn functions_match_helm() {
    check_golden(include_str!("testdata/functions.json"));
}

/// Unbounded recursion ends with Go's and Helm's errors, not a stack overflow, even on a test
/// thread's small stack.
#[test]
fn runaway_recursion_is_an_error() {
    let data = root("a: 1");
    let mut set = TemplateSet::new();
    set.parse(
        "c/templates/t.yaml",
        r#"{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}"#,
    )
    .unwrap();
    let err = set
        .render("c/templates/t.yaml", &data)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(
        "template: c/templates/t.yaml:1:53: executing \"c/templates/t.yaml\" at <include \"loop\" .>: error calling include: "
    ));
    assert!(err.ends_with(
        "error calling include: rendering template has a nested reference name: loop: unable to execute template"
    ));
    let mut set = TemplateSet::new();
    set.parse(
        "c/templates/u.yaml",
        r#"{{ define "t" }}{{ template "t" . }}{{ end }}{{ template "t" . }}"#,
    )
    .unwrap();
    let err = set
        .render("c/templates/u.yaml", &data)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "template: c/templates/u.yaml:1:28: executing \"t\" at <{{template \"t\" .}}>: exceeded maximum template depth (100000)"
    );
}

/// `set` on a variable's dict (or a dict inside it) is visible through the variable, as Go's
/// map references are.
#[test]
fn set_mutates_variables() {
    let mut set = TemplateSet::new();
    set.parse(
        "t",
        r#"{{ $d := dict "a" (dict) }}{{ $_ := set $d "x" 1 }}{{ $_ := set $d.a "y" 2 }}{{ $_ := unset $d "nope" }}{{ $d }}"#,
    )
    .unwrap();
    assert_eq!(set.render("t", &Value::Nil).unwrap(), "map[a:map[y:2] x:1]");
}

/// Later definitions replace earlier ones, an empty one does not, and `tpl` sees the set's
/// definitions while its own stay local to it.
#[test]
fn definitions_across_files() {
    let mut set = TemplateSet::new();
    set.parse("c/templates/_a.tpl", r#"{{ define "n" }}A{{ end }}"#)
        .unwrap();
    set.parse(
        "c/templates/_b.tpl",
        r#"{{ define "n" }}B{{ end }}{{ define "m" }}M{{ end }}"#,
    )
    .unwrap();
    set.parse("c/templates/_c.tpl", r#"{{ define "m" }}{{ end }}"#)
        .unwrap();
    set.parse(
        "c/templates/t.yaml",
        r#"{{ include "n" . }}{{ include "m" . }}{{ tpl "{{ define \"n\" }}T{{ end }}{{ include \"n\" . }}" . }}{{ include "n" . }}"#,
    )
    .unwrap();
    assert_eq!(
        set.render("c/templates/t.yaml", &Value::Nil).unwrap(),
        "BMTB"
    );
    assert!(set.contains("m"));
    let err = set.execute("nope", &Value::Nil).unwrap_err().to_string();
    assert_eq!(
        err,
        "template: no template \"nope\" associated with template \"gotpl\""
    );
}

/// Parse errors carry the file name and line, and Helm's form names the location.
#[test]
fn parse_errors_name_file_and_line() {
    let mut set = TemplateSet::new();
    let e = set
        .parse("c/templates/x.yaml", "a: 1\nb: {{ foo }}\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: c/templates/x.yaml:2: function \"foo\" not defined"
    );
    assert_eq!(
        e.helm_message("c/templates/x.yaml"),
        "parse error at (c/templates/x.yaml:2): function \"foo\" not defined"
    );
    let e = set
        .parse("c/templates/y.yaml", "{{ if .a }}\n{{ else }}\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: c/templates/y.yaml:3: unexpected EOF"
    );
}

#[test]
fn edge_cases_match_helm() {
    check_golden(include_str!("testdata/edge_cases.json"));
}

#[test]
fn parse_errors_match_helm() {
    check_golden(include_str!("testdata/parse_errors.json"));
}

/// Renders `$TMPL_CHART` `$TMPL_RUNS` times and prints the mean wall time per render (a
/// developer measurement to set against `helm template`; it asserts nothing about time).
#[test]
#[ignore = "developer tool: timing, run in release mode"]
fn time_chart_rendering() {
    let Ok(chart) = std::env::var("TMPL_CHART") else {
        return;
    };
    let runs: u32 = std::env::var("TMPL_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let start = std::time::Instant::now();
    for _ in 0..runs {
        let c = crate::chart::load(std::path::Path::new(&chart)).unwrap();
        let out = crate::render::template(c, &Map::new(), &crate::render::RenderOptions::default())
            .unwrap();
        assert!(!out.is_empty());
    }
    println!("mean render time: {:?}", start.elapsed() / runs);
}

/// Hostile input gives errors, not crashes: deep nesting, huge widths, huge repeats.
#[test]
fn hostile_templates_fail_cleanly() {
    let mut set = TemplateSet::new();
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
    let e = set.parse("deep", &deep).unwrap_err().to_string();
    assert_eq!(
        e,
        "template: deep:1: template nested more than 100 levels deep"
    );
    let ifs = "{{ if 1 }}".repeat(100_000);
    assert!(set.parse("ifs", &ifs).is_err());
    set.parse("w", r#"{{ printf "a%99999999999d|%.9f" 1 1.5 }}"#)
        .unwrap();
    assert_eq!(
        set.render("w", &Value::Nil).unwrap(),
        "a%!(NOVERB)%!(EXTRA int=1, float64=1.5)"
    );
    set.parse("r", r#"{{ repeat 9223372036854775807 "ab" }}"#)
        .unwrap();
    let e = set.render("r", &Value::Nil).unwrap_err().to_string();
    assert!(
        e.ends_with("error calling repeat: strings: Repeat output length overflow"),
        "{e}"
    );
}

/// The nesting limit leaves room for real templates: 100 levels of parentheses and of
/// `if` blocks execute on a test thread's stack.
#[test]
fn nesting_at_the_limit_executes() {
    let mut set = TemplateSet::new();
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(98), ")".repeat(98));
    set.parse("p", &parens).unwrap();
    assert_eq!(set.render("p", &Value::Nil).unwrap(), "1");
    let ifs = format!("{}x{}", "{{ if 1 }}".repeat(98), "{{ end }}".repeat(98));
    set.parse("i", &ifs).unwrap();
    assert_eq!(set.render("i", &Value::Nil).unwrap(), "x");
}

/// Values built by functions (owned, shared by reference count) support the same field,
/// index and range access as borrowed data.
#[test]
fn owned_values_navigate_like_borrowed_ones() {
    let data = root("a: {b: [1, {c: x}]}");
    let mut set = TemplateSet::new();
    set.parse(
        "t",
        r#"{{ define "x" }}{{ .ctx.Values.a.b }}|{{ index .ctx.Values.a.b 1 "c" }}|{{ range $i, $v := .l }}{{ $i }}{{ $v }}{{ end }}|{{ range $k, $v := .m }}{{ $k }}={{ $v.z }}{{ end }}|{{ .nope.x }}{{ end }}{{ include "x" (dict "ctx" $ "l" (list "p" "q") "m" (dict "k" (dict "z" 5))) }}"#,
    )
    .unwrap();
    let err = set.render("t", &data).unwrap_err().to_string();
    assert!(
        err.ends_with("nil pointer evaluating interface {}.x"),
        "{err}"
    );
    set.parse(
        "u",
        r#"{{ define "y" }}{{ .ctx.Values.a.b }}|{{ index .ctx.Values.a.b 1 "c" }}|{{ range $i, $v := .l }}{{ $i }}{{ $v }}{{ end }}|{{ range $k, $v := .m }}{{ $k }}={{ $v.z }}{{ end }}{{ end }}{{ include "y" (dict "ctx" $ "l" (list "p" "q") "m" (dict "k" (dict "z" 5))) }}"#,
    )
    .unwrap();
    assert_eq!(set.render("u", &data).unwrap(), "[1 map[c:x]]|x|0p1q|k=5");
}

/// `set`, `unset` and `merge` through dot, `.Values` and `$` change the data that later
/// actions see, as Go's shared maps do.
#[test]
fn mutation_through_dot_matches_helm() {
    check_golden(include_str!("testdata/mutation.json"));
}

/// Go maps are references (`set`, `unset`, `merge` reach every holder: variables, `with` and
/// `range` dot, list and dict members, values returned by `get`, `default`, `pick`, …), and
/// Sprig's typed slices and maps (`[]string`, `[]int`, `map[string]string`) as `typeOf`,
/// `%T` and argument checking see them. Recorded from helm 3.17.3.
#[test]
fn references_and_typed_collections_match_helm() {
    check_golden(include_str!("testdata/references.json"));
}

/// Sprig's typed slices and maps (`[]string` from `splitList`, `keys`, `sortAlpha`; `[]int`
/// from `until`; `map[string]string` from `split`) as `typeOf`, `kindOf`, `%T`, ranges and Go's
/// argument checking see them. Recorded from helm 3.17.3.
#[test]
fn typed_collections_match_helm() {
    check_golden(include_str!("testdata/typed.json"));
}

/// A map set into itself can be navigated, but printing, serialising or copying it is an
/// error rather than a crash (Go overflows its stack).
#[test]
fn a_map_containing_itself_is_an_error_not_a_crash() {
    let prefix = r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}"#;
    let mut set = TemplateSet::new();
    set.parse("ok", &format!("{prefix}{{{{ $d.self.self.a }}}} {{{{ len $d.self }}}} {{{{ hasKey $d.self \"a\" }}}} {{{{ $m := merge $d $d }}}}{{{{ $m.a }}}}"))
        .unwrap();
    assert_eq!(set.render("ok", &Value::Nil).unwrap(), "1 2 true 1");
    for action in [
        "{{ $d }}",
        "{{ printf \"%v\" $d }}",
        "{{ toYaml $d }}",
        "{{ toJson $d }}",
        "{{ deepCopy $d }}",
        "{{ list $d | toString }}",
    ] {
        let mut set = TemplateSet::new();
        set.parse("t", &format!("{prefix}{action}")).unwrap();
        let err = set.render("t", &Value::Nil).unwrap_err().to_string();
        assert!(err.contains(crate::value::CYCLE_ERROR), "{action}: {err}");
    }
}

/// Changes made through data shared with [`crate::value::share`] are seen by later renders
/// that get the same shared value, as Helm's templates of one chart share their dot.
#[test]
fn shared_data_carries_changes_across_renders() {
    let data = crate::value::share(root("a: {b: 1}"));
    let mut set = TemplateSet::new();
    set.parse("w", r#"{{ $_ := set .Values.a "c" 2 }}"#)
        .unwrap();
    set.parse("r", r#"{{ toJson .Values.a }}"#).unwrap();
    assert_eq!(set.render("r", &data).unwrap(), r#"{"b":1}"#);
    set.render("w", &data).unwrap();
    assert_eq!(set.render("r", &data).unwrap(), r#"{"b":1,"c":2}"#);
    // A plain map is copied for each render: nothing carries over.
    let plain = root("a: {b: 1}");
    set.render("w", &plain).unwrap();
    assert_eq!(set.render("r", &plain).unwrap(), r#"{"b":1}"#);
}

/// Corners of Go's formatting, comparison, `index`/`slice`/`len`, `and`/`or`, `range` over
/// nil, integers, strings and maps, `break`/`continue`, `with`/`else with`, trimming around
/// comments, and Sprig's conversions and arithmetic. Recorded from helm 3.17.3.
#[test]
fn corners_match_helm() {
    check_golden(include_str!("testdata/corners.json"));
}

/// More corners: Sprig's string, regex, encoding, list, dict and merge functions, `tpl`,
/// `required`, `fail`, YAML and JSON output of awkward strings, and Go's number formatting.
/// Recorded from helm 3.17.3.
#[test]
fn more_corners_match_helm() {
    check_golden(include_str!("testdata/corners2.json"));
}

/// `call` on values that are not functions (Go names the callee by its source text; piped
/// with no argument, Go indexes past the end, a runtime panic that `include` and `tpl`
/// report as their error), JSON of complex numbers (Go's encoder refuses them), and named
/// integers in `toToml`/`toJson` and comparisons, including a `uint64` past 2^63. Recorded
/// from helm 3.17.3.
#[test]
fn call_and_named_integers_match_helm() {
    check_golden(include_str!("testdata/call_and_named_ints.json"));
}

/// Named integers (`time.Month`, `time.Weekday`, a semver's `uint64` fields, a
/// `time.Duration`) and complex numbers through `toYaml`, `toYamlPretty`, the JSON functions
/// and `toToml`, at the top and nested. Recorded from helm 3.17.3.
#[test]
fn named_integers_serialise_as_in_helm() {
    check_golden(include_str!("testdata/named_ints_serialised.json"));
}

/// The JSON functions escape `\b` and `\f` by name, as Go 1.22's encoder does, and other
/// control, HTML and line-separator characters as `\u00XX`. Recorded from helm 3.17.3.
#[test]
fn json_control_escapes_match_helm() {
    check_golden(include_str!("testdata/json_control_escapes.json"));
}

/// `printf` of a semver under every verb and a few flags, with version numbers past
/// `int64`'s range (Go prints the `uint64` fields, never a wrapped negative). Recorded from
/// helm 3.17.3.
#[test]
fn semver_printf_matches_helm() {
    check_golden(include_str!("testdata/semver_printf.json"));
}

/// Template source that is not UTF-8 (given as [`crate::yaml::go_string`] text): Go keeps
/// the bytes of text and raw strings, while a double-quoted literal's invalid byte becomes
/// U+FFFD (as `strconv.Unquote` decodes it). Expected bytes from helm 3.17.3.
#[test]
fn invalid_utf8_in_template_source_matches_go() {
    let src = crate::value::go_string(b"{{ \"a\xffb\" | b64enc }}|{{ `a\xffb` | b64enc }}|t\xff");
    let mut set = TemplateSet::new();
    set.parse("t", &src).unwrap();
    let out = set.render("t", &Value::Nil).unwrap();
    assert_eq!(&*crate::value::go_bytes(&out), b"Ye+/vWI=|Yf9i|t\xff");
}
