//! Corner cases of Go types and template functions, recorded from helm 3.17.3
//! (`helm template`) and replayed here: the built-in objects' Go types, typed slices and maps,
//! regular expressions, and every function called with nil, empty, wrong-typed, large,
//! negative and Unicode arguments.

use crate::chart::{Chart, ChartFile};
use crate::render::{RenderOptions, template};
use crate::value::Map;

/// The chart the golden cases render: `mychart` 0.1.0 (apiVersion v2), `values` as its
/// values.yaml and the case's template as `templates/t.yaml`.
fn case_chart(values: &str, src: &str) -> Chart {
    let mut c = Chart::default();
    c.metadata.name = "mychart".into();
    c.metadata.version = "0.1.0".into();
    c.metadata.api_version = "v2".into();
    c.values = crate::chart::parse_values_file(values.as_bytes()).unwrap_or_default();
    c.templates = vec![ChartFile {
        name: "templates/t.yaml".into(),
        data: src.as_bytes().to_vec(),
    }];
    c
}

/// The case chart with its own `Chart.yaml`, loaded from a temporary directory as Helm loads
/// charts.
fn case_chart_with(chart_yaml: &str, values: &str, src: &str) -> Chart {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mychart");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(root.join("Chart.yaml"), chart_yaml).unwrap();
    std::fs::write(root.join("values.yaml"), values).unwrap();
    std::fs::write(root.join("templates/t.yaml"), src).unwrap();
    crate::chart::load(&root).unwrap()
}

fn render_case(values: &str, src: &str) -> Result<String, String> {
    render_chart(case_chart(values, src))
}

fn render_chart(chart: Chart) -> Result<String, String> {
    let opts = RenderOptions {
        release_name: "rel".into(),
        ..RenderOptions::default()
    };
    template(chart, &Map::new(), &opts).map_err(|e| e.to_string())
}

/// The snippet's own output from a rendering of the wrapped case (`x: "<base64>"`).
fn unwrap_case(out: &str) -> String {
    use base64::Engine as _;
    let Some(i) = out.find("x: \"") else {
        return out.to_string();
    };
    let b64 = out[i + 4..].trim_end().trim_end_matches('"');
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_default();
    crate::template::tests::golden_text(&bytes)
}

/// Checks a golden file of cases that need the whole engine (`.Chart`, `.Capabilities`,
/// `.Files`, `.Subcharts`): each snippet is rendered through [`template`] as the only template
/// of `mychart`, and must give helm's output byte for byte, or helm's error message.
pub(crate) fn check_chart_golden(json: &str) {
    let golden: serde_json::Value = serde_json::from_str(json).unwrap();
    let values = golden["values"].as_str().unwrap();
    let mut failures = Vec::new();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let src = case["src"].as_str().unwrap();
        let pre = golden["pre"].as_str().unwrap_or("");
        let wrapped = format!(
            "{pre}{{{{- define \"{name}\" }}}}{src}{{{{ end -}}}}\nx: {{{{ include \"{name}\" . | b64enc | quote }}}}\n"
        );
        let rendered = match golden.get("chart_yaml").and_then(|c| c.as_str()) {
            Some(chart_yaml) => render_chart(case_chart_with(chart_yaml, values, &wrapped)),
            None => render_case(values, &wrapped),
        };
        let got = match rendered {
            Ok(out) => Ok(unwrap_case(&out)),
            Err(e) => Err(e),
        };
        let want = match (case.get("out"), case.get("err")) {
            (Some(o), _) => Ok(o.as_str().unwrap().to_string()),
            (None, Some(e)) => Err(e.as_str().unwrap().to_string()),
            _ => panic!("case {name} has neither out nor err"),
        };
        if got != want {
            failures.push(format!("{name}: {src}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Renders the charts the comparison script wrote under `$TMPL_CHART_CASES/<name>/mychart`
/// through the whole engine and writes the outputs to `$TMPL_CHART_CASES/ours.json`.
#[test]
#[ignore = "developer tool: needs case charts produced by the helm comparison script"]
fn dump_chart_cases_for_helm_comparison() {
    let Ok(dir) = std::env::var("TMPL_CHART_CASES") else {
        return;
    };
    let text = std::fs::read_to_string(format!("{dir}/cases.json")).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    let values = cases["values"].as_str().unwrap_or("");
    let mut out = serde_json::Map::new();
    for c in cases["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let src = c["src"].as_str().unwrap();
        let mut r = serde_json::Map::new();
        let chart_yaml = cases["chart_yaml"].as_str();
        let got = std::panic::catch_unwind(|| match chart_yaml {
            Some(c) => render_chart(case_chart_with(c, values, src)),
            None => render_case(values, src),
        });
        match got {
            Ok(Ok(s)) => r.insert("ok".into(), s.into()),
            Ok(Err(e)) => r.insert("helm".into(), e.into()),
            Err(_) => r.insert("helm".into(), "PANIC".into()),
        };
        out.insert(name.into(), r.into());
    }
    std::fs::write(
        format!("{dir}/ours.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}

#[test]
fn built_in_objects_have_helms_go_types() {
    check_chart_golden(include_str!("../template/testdata/go_types.json"));
}

#[test]
fn typed_slices_share_and_print_as_go() {
    check_chart_golden(include_str!("../template/testdata/typed_slices.json"));
}

#[test]
fn regular_expressions_follow_re2_as_go_does() {
    check_chart_golden(include_str!("../template/testdata/regex_corners.json"));
}

#[test]
fn regular_expression_errors_read_as_go() {
    check_chart_golden(include_str!("../template/testdata/regex_errors.json"));
}

/// Writes every registered function's parameter count and whether it is variadic to
/// `$TMPL_FUNC_SIGS`, for generating comparison cases.
#[test]
#[ignore = "developer tool: lists the function registry for the helm comparison script"]
fn dump_function_signatures() {
    let Ok(path) = std::env::var("TMPL_FUNC_SIGS") else {
        return;
    };
    let mut out = serde_json::Map::new();
    for name in super::names() {
        if let Some(def) = super::lookup(name) {
            out.insert(
                name.into(),
                serde_json::json!([def.params.len(), def.variadic.is_some()]),
            );
        }
    }
    std::fs::write(path, serde_json::to_string(&out).unwrap()).unwrap();
}

#[test]
fn object_fields_methods_and_arguments_match_helm() {
    check_chart_golden(include_str!("../template/testdata/object_methods.json"));
}

/// Every function (except those whose results vary per run, the date functions, `include`,
/// `tpl` and `lookup`) called with nil, `""`, an empty list and map, a negative number, a
/// float, a `[]string`, a `map[string]string`, Unicode, the largest int64, a bool and an
/// `int64` in every argument, with no arguments and with one too many.
#[test]
fn every_function_with_odd_arguments_matches_helm_part_1() {
    check_chart_golden(include_str!("../template/testdata/funcs_odd_args_1.json"));
}

#[test]
fn every_function_with_odd_arguments_matches_helm_part_2() {
    check_chart_golden(include_str!("../template/testdata/funcs_odd_args_2.json"));
}

#[test]
fn every_function_with_odd_arguments_matches_helm_part_3() {
    check_chart_golden(include_str!("../template/testdata/funcs_odd_args_3.json"));
}

#[test]
fn every_function_with_odd_arguments_matches_helm_part_4() {
    check_chart_golden(include_str!("../template/testdata/funcs_odd_args_4.json"));
}

#[test]
fn functions_over_built_in_objects_match_helm() {
    check_chart_golden(include_str!("../template/testdata/object_values.json"));
}

/// The same snippets need nothing but `.Values`, so they also hold when executed over the
/// template tests' data alone (without the chart around them).
#[test]
fn snippet_goldens_hold_without_the_chart() {
    use crate::template::tests::check_golden;
    check_golden(include_str!("../template/testdata/regex_corners.json"));
    check_golden(include_str!("../template/testdata/regex_errors.json"));
    check_golden(include_str!("../template/testdata/funcs_odd_args_1.json"));
    check_golden(include_str!("../template/testdata/funcs_odd_args_2.json"));
    check_golden(include_str!("../template/testdata/funcs_odd_args_3.json"));
    check_golden(include_str!("../template/testdata/funcs_odd_args_4.json"));
}

#[test]
fn comparisons_name_go_types_as_helm_does() {
    check_chart_golden(include_str!("../template/testdata/comparisons.json"));
}

#[test]
fn wrap_and_decimal_arithmetic_match_helm() {
    check_chart_golden(include_str!("../template/testdata/wrap_and_decimals.json"));
}

#[test]
fn nil_maps_behave_as_go_nil_maps() {
    check_chart_golden(include_str!("../template/testdata/nil_maps.json"));
}

#[test]
fn base64_decoding_errors_name_the_byte_go_names() {
    check_chart_golden(include_str!("../template/testdata/base64_decoding.json"));
}

/// Every function with two or more parameters, with `"abc"` in every argument but one, which
/// is nil, an empty list or map, a negative number, a float, a `[]string`, a
/// `map[string]string`, Unicode or an `int64`, given directly and through a pipeline.
#[test]
fn every_function_with_one_odd_argument_matches_helm_part_1() {
    check_chart_golden(include_str!("../template/testdata/funcs_mixed_args_1.json"));
}

#[test]
fn every_function_with_one_odd_argument_matches_helm_part_2() {
    check_chart_golden(include_str!("../template/testdata/funcs_mixed_args_2.json"));
}

#[test]
fn every_function_with_one_odd_argument_matches_helm_part_3() {
    check_chart_golden(include_str!("../template/testdata/funcs_mixed_args_3.json"));
}

#[test]
fn chart_metadata_fields_and_encodings_match_helm() {
    check_chart_golden(include_str!("../template/testdata/chart_metadata.json"));
}

/// `eq` and `ne` on Go structs, pointers, maps and slices (`.Chart`, `.Capabilities`,
/// `.Files`, `.Values`, nil `[]string` fields of `.Chart`): Go's non-comparable errors, nil
/// rules and pointer identity; `%s` and `%d` of structs applied to each field.
#[test]
fn eq_on_structs_pointers_maps_and_slices_matches_helm() {
    check_chart_golden(include_str!("../template/testdata/eq_objects.json"));
}

/// Go's group names (starting with a digit, repeated, `(?<n>…)`) and `Regexp.Expand`'s
/// references (`$1a`, `${01}`, `$1é`, `${a-b}`, first matched group of a name) in the regex
/// functions, and Go's errors for malformed names. Recorded from helm 3.17.3.
#[test]
fn regex_group_names_and_expansion_match_helm() {
    crate::template::tests::check_golden(include_str!(
        "../template/testdata/regex_group_names.json"
    ));
}

/// Sprig's and Go's string functions on non-ASCII text: Go's simple case mappings and
/// general categories (`upper "ß"` is `ß`, `title "ǆ"` is `ǅ`, Ⓐ is not upper-case),
/// xstrings' camel and snake case, goutils' byte-wise `initials`, `nospace`, `abbrev` and
/// `wrap`, byte-wise `trunc` and `substr`, `%+q`, and regex replacements. Recorded from helm
/// 3.17.3.
#[test]
fn string_functions_on_unicode_match_helm() {
    crate::template::tests::check_golden(include_str!("../template/testdata/strings_unicode.json"));
}

/// Go strings holding bytes that are not UTF-8 (`"\xff"` escapes, characters cut by `trunc`
/// or `substr`, `b64dec` output): byte lengths, hashes and encodings of the bytes, `\x`
/// quoting, U+FFFD from rune-wise functions, pieces joined again into characters. Recorded
/// from helm 3.17.3.
#[test]
fn invalid_utf8_strings_match_helm() {
    check_chart_golden(include_str!("../template/testdata/invalid_utf8.json"));
}

/// `range` over `[]int`, `[]string`, `map[string]string`, `chartutil.VersionSet` and
/// `[]byte` gives elements of the concrete type (named in Go's errors), and `index` of a map
/// with a nil key is Go's "value is nil" error. Recorded from helm 3.17.3.
#[test]
fn range_elements_and_nil_map_keys_match_helm() {
    check_chart_golden(include_str!("../template/testdata/range_index_types.json"));
}

/// Randomly generated templates (nested `if`/`with`/`range`/`block`/`template`,
/// `break`/`continue`, variables and assignment, pipelines with parenthesised calls, fields
/// of nil, maps and scalars, comparisons across types, `and`/`or`, trim markers, comments,
/// and parse errors from corrupted sources), recorded from helm 3.17.3. Cases that print dot
/// itself are left out: helm prints `.Capabilities`' pointer address there.
#[test]
fn random_templates_match_helm() {
    check_chart_golden(include_str!("../template/testdata/language_random_1.json"));
    check_chart_golden(include_str!("../template/testdata/language_random_2.json"));
    check_chart_golden(include_str!("../template/testdata/language_random_3.json"));
}

/// Lexical errors inside actions that span lines name the line the action began on, and
/// `index` one past the end is reflect's panic. Recorded from helm 3.17.3.
#[test]
fn action_errors_and_index_bounds_match_helm() {
    check_chart_golden(include_str!("../template/testdata/language_misc.json"));
}

/// Randomly generated expressions over every kind of operand (literals of each number form,
/// nil, maps, lists, `.Chart`, `.Capabilities`, `.Files`, `chartutil.Values` methods,
/// semvers, typed slices), nested comparisons, `and`/`or`, `default`, `coalesce`, `index`,
/// `fail` in branches that may or may not run, variable scoping through `range` and `with`.
/// Recorded from helm 3.17.3; cases printing dot itself or a semver's `uint64` fields are
/// left out.
#[test]
fn random_expressions_match_helm() {
    check_chart_golden(include_str!(
        "../template/testdata/expressions_random_4.json"
    ));
    check_chart_golden(include_str!(
        "../template/testdata/expressions_random_5.json"
    ));
}

/// Random soups of template syntax (delimiters with and without trim markers, comments in odd
/// places, keywords, literals of every form and malformed ones, CR LF, Unicode): the same
/// output, or the same parse or execution error with its line and column, as helm 3.17.3.
#[test]
fn random_syntax_matches_helm() {
    check_chart_golden(include_str!("../template/testdata/syntax_random_6.json"));
    check_chart_golden(include_str!("../template/testdata/syntax_random_7.json"));
}

/// `printf` directives with flags, widths and precisions on structs (applied per field),
/// pointers to structs, `fmt.Stringer`s (semver), `chartutil.VersionSet` (per element), maps,
/// lists and typed slices; `%#x` of strings, `%+d` of a float. Recorded from helm 3.17.3.
#[test]
fn printf_of_objects_matches_helm() {
    check_chart_golden(include_str!("../template/testdata/printf_objects.json"));
}
