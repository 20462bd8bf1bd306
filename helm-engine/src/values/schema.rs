//! `values.schema.json` validation with the wording of gojsonschema, which Helm 3.17 uses:
//! `- FIELD: DESCRIPTION` lines under the chart's name.

use crate::chart::Chart;
use crate::error::{Error, Result};
use crate::value::{Map, Value};
use crate::yaml::format_float_g;
use serde_json::Value as Json;

/// Validates coalesced values against the chart's schema and its subcharts' schemas, returning
/// Helm's error text when any fails.
pub fn validate_against_schema(chart: &Chart, values: &Map) -> Result<()> {
    let mut sb = String::new();
    collect(chart, values, &mut sb)?;
    if sb.is_empty() {
        Ok(())
    } else {
        Err(Error::Schema(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{sb}"
        )))
    }
}

fn collect(chart: &Chart, values: &Map, sb: &mut String) -> Result<()> {
    if let Some(schema) = &chart.schema {
        let schema: Json = serde_json::from_slice(schema)
            .map_err(|e| Error::Schema(format!("unable to validate schema: {e}")))?;
        // Helm's `yaml.Marshal` of the values writes them as JSON and reads that back with
        // go-yaml, whose reader refuses the characters JSON leaves bare (DEL, C1 controls,
        // U+FFFE, U+FFFF): the chart's whole report is then that one line, unterminated.
        if !json_text_is_yaml(values) {
            sb.push_str(&format!(
                "{}:\nyaml: {}",
                chart.name(),
                crate::yaml::CONTROL_CHARACTERS
            ));
            return collect_deps(chart, values, sb);
        }
        let mut errors = Vec::new();
        let doc = to_json(&Value::Map(values.clone()));
        validate(&schema, &schema, &doc, "(root)", &mut errors);
        if !errors.is_empty() {
            sb.push_str(&format!("{}:\n", chart.name()));
            for e in errors {
                sb.push_str(&format!("- {e}\n"));
            }
        }
    }
    collect_deps(chart, values, sb)
}

fn collect_deps(chart: &Chart, values: &Map, sb: &mut String) -> Result<()> {
    for sub in &chart.dependencies {
        let sv = match values.get(sub.name()) {
            Some(Value::Map(m)) => m.clone(),
            _ => Map::new(),
        };
        collect(sub, &sv, sb)?;
    }
    Ok(())
}

/// Whether the values' JSON text (keys too) holds only characters go-yaml reads; JSON
/// escapes the controls below U+0020 itself.
fn json_text_is_yaml(values: &Map) -> bool {
    fn text_ok(s: &str) -> bool {
        s.chars().all(|c| c < ' ' || crate::yaml::is_yaml_char(c))
    }
    fn ok(v: &Value) -> bool {
        match v {
            Value::String(s) => text_ok(s),
            Value::List(l) => l.iter().all(ok),
            Value::Map(m) => json_text_is_yaml(m),
            _ => true,
        }
    }
    values.iter().all(|(k, v)| text_ok(k) && ok(v))
}

/// Values pass through YAML and JSON before validation, so whole floats become integers.
fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Json::from(*i),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Json::from(*f as i64)
            } else {
                serde_json::Number::from_f64(*f)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            }
        }
        Value::String(s) => Json::String(s.clone()),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Object(o) => Json::String(o.format()),
    }
}

/// JSON Schema's name for the type of a value (whole numbers are integers).
fn type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if is_integer(n) => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn field(ctx: &str) -> String {
    ctx.strip_prefix("(root).").unwrap_or(ctx).to_string()
}

fn num(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn fmt_num(f: f64) -> String {
    format_float_g(f)
}

fn resolve<'a>(root: &'a Json, schema: &'a Json) -> Option<&'a Json> {
    match schema.get("$ref") {
        Some(Json::String(r)) => r.strip_prefix('#').and_then(|ptr| root.pointer(ptr)),
        _ => None,
    }
}

/// The outcome of validating against one (sub)schema: errors in gojsonschema's order, and its
/// score (how far validation got), which picks the "closest" failing branch of `anyOf`,
/// `oneOf` and `contains` whose errors are reported.
#[derive(Default)]
struct Outcome {
    errs: Vec<String>,
    score: u64,
}

impl Outcome {
    fn add(&mut self, ctx: &str, description: impl std::fmt::Display) {
        self.errs.push(format!("{}: {description}", field(ctx)));
    }
    fn merge(&mut self, other: Outcome) {
        self.errs.extend(other.errs);
        self.score += other.score;
    }
    fn valid(&self) -> bool {
        self.errs.is_empty()
    }
}

fn validate(root: &Json, schema: &Json, v: &Json, ctx: &str, errs: &mut Vec<String>) {
    let mut out = Outcome::default();
    validate_recursive(root, schema, v, ctx, &mut out);
    errs.extend(out.errs);
}

fn sub_validate(root: &Json, schema: &Json, v: &Json, ctx: &str) -> Outcome {
    let mut out = Outcome::default();
    validate_recursive(root, schema, v, ctx, &mut out);
    out
}

/// gojsonschema's `validateRecursive`: a `$ref` replaces the schema; then the type check, and
/// the keyword groups in its order for the value's kind.
fn validate_recursive(root: &Json, schema: &Json, v: &Json, ctx: &str, out: &mut Outcome) {
    if let Some(target) = resolve(root, schema) {
        validate_recursive(root, target, v, ctx, out);
        return;
    }
    let s = match schema {
        Json::Object(s) => s,
        Json::Bool(false) => {
            out.add(ctx, "False always fails validation");
            return;
        }
        _ => return,
    };
    let types: Vec<&str> = match s.get("type") {
        Some(Json::String(x)) => vec![x.as_str()],
        Some(Json::Array(a)) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => vec![],
    };
    let given = type_of(v);
    let type_ok = types.is_empty()
        || types
            .iter()
            .any(|t| *t == given || (*t == "number" && given == "integer"));
    if !type_ok {
        let expected = if types.len() == 1 {
            types[0].to_string()
        } else {
            format!("[{}]", types.join(","))
        };
        out.add(
            ctx,
            format!("Invalid type. Expected: {expected}, given: {given}"),
        );
        return;
    }
    match v {
        Json::Null | Json::Bool(_) => {
            validate_schema(root, s, v, ctx, out);
            validate_common(s, v, ctx, out);
        }
        Json::Number(_) => {
            validate_schema(root, s, v, ctx, out);
            validate_number(s, v, ctx, out);
            validate_common(s, v, ctx, out);
        }
        Json::String(st) => {
            validate_string(s, st, ctx, out);
            validate_schema(root, s, v, ctx, out);
            validate_common(s, v, ctx, out);
        }
        Json::Array(items) => {
            validate_schema(root, s, v, ctx, out);
            validate_array(root, s, items, ctx, out);
            validate_common(s, v, ctx, out);
        }
        Json::Object(obj) => {
            validate_schema(root, s, v, ctx, out);
            validate_object(root, s, obj, ctx, out);
            validate_common(s, v, ctx, out);
            if let Some(Json::Object(props)) = s.get("properties") {
                for (k, sub) in props {
                    if let Some(child) = obj.get(k) {
                        validate_recursive(root, sub, child, &format!("{ctx}.{k}"), out);
                    }
                }
            }
        }
    }
    out.score += 1;
}

type SchemaMap = serde_json::Map<String, Json>;

/// The rule of `anyOf` and `contains`: valid as soon as one candidate is (later ones are not
/// tried); otherwise the failing candidate that got furthest (highest score, the first on a
/// tie), whose errors gojsonschema reports.
fn any_valid(candidates: impl Iterator<Item = Outcome>) -> Result<(), Outcome> {
    let mut best: Option<Outcome> = None;
    for r in candidates {
        if r.valid() {
            return Ok(());
        }
        if best.as_ref().is_none_or(|b| r.score > b.score) {
            best = Some(r);
        }
    }
    Err(best.unwrap_or_default())
}

/// `anyOf`, `oneOf`, `allOf`, `not`, `dependencies`, `if`/`then`/`else`.
fn validate_schema(root: &Json, s: &SchemaMap, v: &Json, ctx: &str, out: &mut Outcome) {
    if let Some(Json::Array(subs)) = s
        .get("anyOf")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
    {
        if let Err(best) = any_valid(subs.iter().map(|sub| sub_validate(root, sub, v, ctx))) {
            out.add(ctx, "Must validate at least one schema (anyOf)");
            out.merge(best);
        }
    }
    if let Some(Json::Array(subs)) = s
        .get("oneOf")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
    {
        let mut valid = 0;
        let mut best: Option<Outcome> = None;
        for sub in subs {
            let r = sub_validate(root, sub, v, ctx);
            if r.valid() {
                valid += 1;
            } else if valid == 0 && best.as_ref().is_none_or(|b| r.score > b.score) {
                best = Some(r);
            }
        }
        if valid != 1 {
            out.add(ctx, "Must validate one and only one schema (oneOf)");
            if valid == 0 {
                if let Some(b) = best {
                    out.merge(b);
                }
            }
        }
    }
    if let Some(Json::Array(subs)) = s
        .get("allOf")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
    {
        let mut valid = 0;
        for sub in subs {
            let r = sub_validate(root, sub, v, ctx);
            if r.valid() {
                valid += 1;
            }
            out.merge(r);
        }
        if valid != subs.len() {
            out.add(ctx, "Must validate all the schemas (allOf)");
        }
    }
    if let Some(not) = s.get("not") {
        if sub_validate(root, not, v, ctx).valid() {
            out.add(ctx, "Must not validate the schema (not)");
        }
    }
    if let (Some(Json::Object(deps)), Json::Object(obj)) = (s.get("dependencies"), v) {
        for key in obj.keys() {
            match deps.get(key) {
                Some(Json::Array(needs)) => {
                    for need in needs.iter().filter_map(|n| n.as_str()) {
                        if !obj.contains_key(need) {
                            out.add(ctx, format!("Has a dependency on {need}"));
                        }
                    }
                }
                Some(sub @ Json::Object(_)) => validate_recursive(root, sub, v, ctx, out),
                _ => {}
            }
        }
    }
    if let Some(cond) = s.get("if") {
        let holds = sub_validate(root, cond, v, ctx).valid();
        let (branch, word, was) = if holds {
            (s.get("then"), "then", "was")
        } else {
            (s.get("else"), "else", "was not")
        };
        if let Some(branch) = branch {
            let r = sub_validate(root, branch, v, ctx);
            if !r.valid() {
                out.add(
                    ctx,
                    format!("Must validate \"{word}\" as \"if\" {was} valid"),
                );
                out.merge(r);
            }
        }
    }
    out.score += 1;
}

/// `const` and `enum`, compared as JSON with numbers normalised.
fn validate_common(s: &SchemaMap, v: &Json, ctx: &str, out: &mut Outcome) {
    if let Some(c) = s.get("const") {
        if !json_eq(c, v) {
            let f = field(ctx);
            out.add(ctx, format!("{f} does not match: {}", json_text(c)));
        }
    }
    if let Some(Json::Array(allowed)) = s.get("enum") {
        if !allowed.is_empty() && !allowed.iter().any(|a| json_eq(a, v)) {
            let list: Vec<String> = allowed.iter().map(json_text).collect();
            let f = field(ctx);
            out.add(
                ctx,
                format!("{f} must be one of the following: {}", list.join(", ")),
            );
        }
    }
    out.score += 1;
}

/// gojsonschema's `marshalWithoutNumber`: JSON text with numbers as float64 prints them.
fn json_text(v: &Json) -> String {
    match v {
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            Some(f) => crate::yaml::json_float(f),
            None => n.to_string(),
        },
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(json_text).collect::<Vec<_>>().join(",")
        ),
        Json::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}:{}", json_text(&Json::String(k.clone())), json_text(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        // Go's encoder escapes HTML characters and the JavaScript line separators.
        other => other
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029"),
    }
}

fn validate_array(root: &Json, s: &SchemaMap, items: &[Json], ctx: &str, out: &mut Outcome) {
    match s.get("items") {
        Some(sub @ (Json::Object(_) | Json::Bool(_))) => {
            for (i, item) in items.iter().enumerate() {
                let r = sub_validate(root, sub, item, &format!("{ctx}.{i}"));
                out.merge(r);
            }
        }
        Some(Json::Array(tuple)) if !tuple.is_empty() => {
            for (i, (sub, item)) in tuple.iter().zip(items).enumerate() {
                let r = sub_validate(root, sub, item, &format!("{ctx}.{i}"));
                out.merge(r);
            }
            if tuple.len() < items.len() {
                match s.get("additionalItems") {
                    Some(Json::Bool(false)) => out.add(ctx, "No additional items allowed on array"),
                    Some(sub @ Json::Object(_)) => {
                        for (i, item) in items.iter().enumerate().skip(tuple.len()) {
                            let r = sub_validate(root, sub, item, &format!("{ctx}.{i}"));
                            out.merge(r);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    check_count(
        s,
        items.len(),
        ctx,
        out,
        ("minItems", "maxItems"),
        |word, n| format!("Array must have at {word} {n} items"),
    );
    if s.get("uniqueItems") == Some(&Json::Bool(true)) {
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (j, item) in items.iter().enumerate() {
            let key = json_text(item);
            if let Some(i) = seen.get(&key) {
                out.add(ctx, format!("array items[{i},{j}] must be unique"));
            }
            seen.insert(key, j);
        }
    }
    if let Some(sub) = s.get("contains") {
        let outcomes = items
            .iter()
            .enumerate()
            .map(|(i, item)| sub_validate(root, sub, item, &format!("{ctx}.{i}")));
        if let Err(best) = any_valid(outcomes) {
            out.add(ctx, "At least one of the items must match");
            out.merge(best);
        }
    }
    out.score += 1;
}

/// A pair of count keywords (`minItems`/`maxItems`, `minProperties`/`maxProperties`,
/// `minLength`/`maxLength`): a count under the minimum or over the maximum gets the message
/// `describe` words with "least" or "most" and the bound as gojsonschema prints it.
fn check_count(
    s: &SchemaMap,
    count: usize,
    ctx: &str,
    out: &mut Outcome,
    (min_key, max_key): (&str, &str),
    describe: impl Fn(&str, String) -> String,
) {
    let count = count as f64;
    if let Some(min) = s.get(min_key).and_then(num) {
        if count < min {
            out.add(ctx, describe("least", fmt_num(min)));
        }
    }
    if let Some(max) = s.get(max_key).and_then(num) {
        if count > max {
            out.add(ctx, describe("most", fmt_num(max)));
        }
    }
}

fn validate_object(root: &Json, s: &SchemaMap, obj: &SchemaMap, ctx: &str, out: &mut Outcome) {
    check_count(
        s,
        obj.len(),
        ctx,
        out,
        ("minProperties", "maxProperties"),
        |word, n| format!("Must have at {word} {n} properties"),
    );
    if let Some(Json::Array(req)) = s.get("required") {
        for r in req.iter().filter_map(|r| r.as_str()) {
            if obj.contains_key(r) {
                out.score += 1;
            } else {
                out.add(ctx, format!("{r} is required"));
            }
        }
    }
    let props = s.get("properties").and_then(|p| p.as_object());
    let declared = |k: &str| props.is_some_and(|p| p.contains_key(k));
    match s.get("additionalProperties") {
        Some(Json::Bool(false)) => {
            for (k, child) in obj {
                let matched = validate_pattern_properties(root, s, k, child, ctx, out);
                if !declared(k) && !matched {
                    out.add(ctx, format!("Additional property {k} is not allowed"));
                }
            }
        }
        // gojsonschema checks nothing more here, not even patternProperties.
        Some(Json::Bool(true)) => {}
        Some(sub @ Json::Object(_)) => {
            for (k, child) in obj {
                let matched = validate_pattern_properties(root, s, k, child, ctx, out);
                if !declared(k) && !matched {
                    let r = sub_validate(root, sub, child, &format!("{ctx}.{k}"));
                    out.merge(r);
                }
            }
        }
        _ => {
            for (k, child) in obj {
                validate_pattern_properties(root, s, k, child, ctx, out);
            }
        }
    }
    if let Some(names) = s.get("propertyNames") {
        for k in obj.keys() {
            let r = sub_validate(root, names, &Json::String(k.clone()), ctx);
            if !r.valid() {
                out.add(ctx, format!("Property name of \"{k}\" does not match"));
                out.merge(r);
            }
        }
    }
    out.score += 1;
}

/// Validates a property against every `patternProperties` schema whose pattern matches its
/// name; whether any matched.
fn validate_pattern_properties(
    root: &Json,
    s: &SchemaMap,
    key: &str,
    v: &Json,
    ctx: &str,
    out: &mut Outcome,
) -> bool {
    let Some(Json::Object(patterns)) = s.get("patternProperties") else {
        return false;
    };
    let mut matched = false;
    for (pattern, sub) in patterns {
        if super::goregex::compile(pattern).is_some_and(|re| re.is_match(key)) {
            matched = true;
            let r = sub_validate(root, sub, v, &format!("{ctx}.{key}"));
            out.merge(r);
        }
    }
    if matched {
        out.score += 1;
    }
    matched
}

fn validate_string(s: &SchemaMap, st: &str, ctx: &str, out: &mut Outcome) {
    check_count(
        s,
        st.chars().count(),
        ctx,
        out,
        ("minLength", "maxLength"),
        |word, n| {
            let relation = if word == "least" { "greater" } else { "less" };
            format!("String length must be {relation} than or equal to {n}")
        },
    );
    if let Some(Json::String(p)) = s.get("pattern") {
        if super::goregex::compile(p).is_some_and(|re| !re.is_match(st)) {
            out.add(ctx, format!("Does not match pattern '{p}'"));
        }
    }
    if let Some(Json::String(f)) = s.get("format") {
        if !super::formats::string_matches(f, st) {
            out.add(ctx, format!("Does not match format '{f}'"));
        }
    }
    out.score += 1;
}

fn validate_number(s: &SchemaMap, v: &Json, ctx: &str, out: &mut Outcome) {
    let x = num(v).unwrap_or(0.0);
    if let Some(m) = s.get("multipleOf").and_then(num) {
        if m != 0.0 && (x / m).fract() != 0.0 {
            out.add(ctx, format!("Must be a multiple of {}", fmt_num(m)));
        }
    }
    let excl_min = s.get("exclusiveMinimum");
    let excl_max = s.get("exclusiveMaximum");
    if let Some(max) = s.get("maximum").and_then(num) {
        if excl_max == Some(&Json::Bool(true)) {
            if x >= max {
                out.add(ctx, format!("Must be less than {}", fmt_num(max)));
            }
        } else if x > max {
            out.add(
                ctx,
                format!("Must be less than or equal to {}", fmt_num(max)),
            );
        }
    }
    if let Some(max) = excl_max.and_then(num) {
        if x >= max {
            out.add(ctx, format!("Must be less than {}", fmt_num(max)));
        }
    }
    if let Some(min) = s.get("minimum").and_then(num) {
        if excl_min == Some(&Json::Bool(true)) {
            if x <= min {
                out.add(ctx, format!("Must be greater than {}", fmt_num(min)));
            }
        } else if x < min {
            out.add(
                ctx,
                format!("Must be greater than or equal to {}", fmt_num(min)),
            );
        }
    }
    if let Some(min) = excl_min.and_then(num) {
        if x <= min {
            out.add(ctx, format!("Must be greater than {}", fmt_num(min)));
        }
    }
    if let Some(Json::String(f)) = s.get("format") {
        // gojsonschema's checkers accept only strings: a number fails every known format.
        if super::formats::KNOWN_FORMATS.contains(&f.as_str()) {
            out.add(ctx, format!("Does not match format '{f}'"));
        }
    }
    out.score += 1;
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
