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
    for sub in &chart.dependencies {
        let sv = match values.get(sub.name()) {
            Some(Value::Map(m)) => m.clone(),
            _ => Map::new(),
        };
        collect(sub, &sv, sb)?;
    }
    Ok(())
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

fn type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                "integer"
            } else {
                "number"
            }
        }
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn type_ok(want: &str, v: &Json) -> bool {
    let have = type_of(v);
    want == have || (want == "number" && have == "integer")
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

fn resolve<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
    if let Some(Json::String(r)) = schema.get("$ref") {
        if let Some(ptr) = r.strip_prefix('#') {
            if let Some(target) = root.pointer(ptr) {
                return target;
            }
        }
    }
    schema
}

fn validate(root: &Json, schema: &Json, v: &Json, ctx: &str, errs: &mut Vec<String>) {
    let schema = resolve(root, schema);
    let Json::Object(s) = schema else { return };
    if let Some(t) = s.get("type") {
        let wants: Vec<&str> = match t {
            Json::String(x) => vec![x.as_str()],
            Json::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => vec![],
        };
        if !wants.is_empty() && !wants.iter().any(|w| type_ok(w, v)) {
            errs.push(format!(
                "{}: Invalid type. Expected: {}, given: {}",
                field(ctx),
                wants.join("/"),
                type_of(v)
            ));
            return;
        }
    }
    if let Some(Json::Array(allowed)) = s.get("enum") {
        if !allowed.iter().any(|a| json_eq(a, v)) {
            let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            let f = field(ctx);
            errs.push(format!(
                "{f}: {f} must be one of the following: {}",
                list.join(", ")
            ));
        }
    }
    if let Some(c) = s.get("const") {
        if !json_eq(c, v) {
            let f = field(ctx);
            errs.push(format!("{f}: {f} does not match: {c}"));
        }
    }
    for (kw, label) in [("allOf", "allOf"), ("anyOf", "anyOf"), ("oneOf", "oneOf")] {
        if let Some(Json::Array(subs)) = s.get(kw) {
            let results: Vec<Vec<String>> = subs
                .iter()
                .map(|sub| {
                    let mut e = Vec::new();
                    validate(root, sub, v, ctx, &mut e);
                    e
                })
                .collect();
            let ok = results.iter().filter(|e| e.is_empty()).count();
            match label {
                "allOf" if ok != subs.len() => {
                    for e in results.into_iter().flatten() {
                        errs.push(e);
                    }
                    errs.push(format!(
                        "{}: Must validate all the schemas (allOf)",
                        field(ctx)
                    ));
                }
                "anyOf" if ok == 0 => {
                    errs.push(format!(
                        "{}: Must validate at least one schema (anyOf)",
                        field(ctx)
                    ));
                }
                "oneOf" if ok != 1 => {
                    errs.push(format!(
                        "{}: Must validate one and only one schema (oneOf)",
                        field(ctx)
                    ));
                }
                _ => {}
            }
        }
    }
    if let Some(not) = s.get("not") {
        let mut e = Vec::new();
        validate(root, not, v, ctx, &mut e);
        if e.is_empty() {
            errs.push(format!(
                "{}: Must not validate the schema (not)",
                field(ctx)
            ));
        }
    }
    match v {
        Json::Object(obj) => {
            if let Some(Json::Array(req)) = s.get("required") {
                for r in req.iter().filter_map(|r| r.as_str()) {
                    if !obj.contains_key(r) {
                        errs.push(format!("{}: {r} is required", field(ctx)));
                    }
                }
            }
            let props = s.get("properties").and_then(|p| p.as_object());
            if let Some(props) = props {
                for (k, sub) in props {
                    if let Some(child) = obj.get(k) {
                        validate(root, sub, child, &format!("{ctx}.{k}"), errs);
                    }
                }
            }
            match s.get("additionalProperties") {
                Some(Json::Bool(false)) => {
                    for k in obj.keys() {
                        if !props.is_some_and(|p| p.contains_key(k)) {
                            errs.push(format!(
                                "{}: Additional property {k} is not allowed",
                                field(ctx)
                            ));
                        }
                    }
                }
                Some(sub @ Json::Object(_)) => {
                    for (k, child) in obj {
                        if !props.is_some_and(|p| p.contains_key(k)) {
                            validate(root, sub, child, &format!("{ctx}.{k}"), errs);
                        }
                    }
                }
                _ => {}
            }
        }
        Json::Array(items) => {
            if let Some(min) = s.get("minItems").and_then(num) {
                if (items.len() as f64) < min {
                    errs.push(format!(
                        "{}: Array must have at least {} items",
                        field(ctx),
                        fmt_num(min)
                    ));
                }
            }
            if let Some(max) = s.get("maxItems").and_then(num) {
                if (items.len() as f64) > max {
                    errs.push(format!(
                        "{}: Array must have at most {} items",
                        field(ctx),
                        fmt_num(max)
                    ));
                }
            }
            if let Some(sub @ Json::Object(_)) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(root, sub, item, &format!("{ctx}.{i}"), errs);
                }
            }
        }
        Json::String(st) => {
            let len = st.chars().count() as f64;
            if let Some(min) = s.get("minLength").and_then(num) {
                if len < min {
                    errs.push(format!(
                        "{}: String length must be greater than or equal to {}",
                        field(ctx),
                        fmt_num(min)
                    ));
                }
            }
            if let Some(max) = s.get("maxLength").and_then(num) {
                if len > max {
                    errs.push(format!(
                        "{}: String length must be less than or equal to {}",
                        field(ctx),
                        fmt_num(max)
                    ));
                }
            }
            if let Some(Json::String(p)) = s.get("pattern") {
                if let Ok(re) = regex::Regex::new(p) {
                    if !re.is_match(st) {
                        errs.push(format!("{}: Does not match pattern '{p}'", field(ctx)));
                    }
                }
            }
        }
        Json::Number(_) => {
            let x = num(v).unwrap_or(0.0);
            let excl_min = s.get("exclusiveMinimum");
            let excl_max = s.get("exclusiveMaximum");
            if let Some(min) = s.get("minimum").and_then(num) {
                if excl_min == Some(&Json::Bool(true)) {
                    if x <= min {
                        errs.push(format!(
                            "{}: Must be greater than {}",
                            field(ctx),
                            fmt_num(min)
                        ));
                    }
                } else if x < min {
                    errs.push(format!(
                        "{}: Must be greater than or equal to {}",
                        field(ctx),
                        fmt_num(min)
                    ));
                }
            }
            if let Some(min) = excl_min.and_then(num) {
                if x <= min {
                    errs.push(format!(
                        "{}: Must be greater than {}",
                        field(ctx),
                        fmt_num(min)
                    ));
                }
            }
            if let Some(max) = s.get("maximum").and_then(num) {
                if excl_max == Some(&Json::Bool(true)) {
                    if x >= max {
                        errs.push(format!(
                            "{}: Must be less than {}",
                            field(ctx),
                            fmt_num(max)
                        ));
                    }
                } else if x > max {
                    errs.push(format!(
                        "{}: Must be less than or equal to {}",
                        field(ctx),
                        fmt_num(max)
                    ));
                }
            }
            if let Some(max) = excl_max.and_then(num) {
                if x >= max {
                    errs.push(format!(
                        "{}: Must be less than {}",
                        field(ctx),
                        fmt_num(max)
                    ));
                }
            }
        }
        _ => {}
    }
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
