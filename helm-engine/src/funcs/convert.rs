//! Conversions as Sprig performs them (through `spf13/cast` and its own `strval`).

use crate::template::format;
use crate::value::Value;

/// Sprig's `strval`: strings as they are, everything else through `%v`.
pub(crate) fn to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // Sprig's strval converts a []byte to a string.
        Value::Object(o) if o.bytes().is_some() => {
            crate::value::go_string(o.bytes().unwrap_or_default())
        }
        other => format::sprint_value(other),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` (base prefixes and underscores allowed).
fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if radix == 10 && digits.contains('_') {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let u = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// cast's `trimZeroDecimal`: `"12.000"` becomes `"12"`.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, c) in s.char_indices().rev() {
        match c {
            '.' => {
                if found_zero {
                    return &s[..i];
                }
                return s;
            }
            '0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `int64(f)` on amd64: out-of-range values and NaN become the minimum int64.
pub(crate) fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// The number cast reads from an object: its unsigned integers, and the two named integer
/// types it knows (`time.Month`, `time.Weekday`); other named types (`time.Duration`) fail.
fn cast_go_int(v: &Value) -> Option<i128> {
    let Value::Object(o) = v else {
        return None;
    };
    let known = matches!(o.type_name(), "time.Month" | "time.Weekday")
        || (o.kind().starts_with("uint") && o.kind() == o.type_name());
    known.then(|| o.go_int()).flatten()
}

/// `cast.ToInt64E`: numbers truncate, booleans are 0/1, strings parse with base prefixes, nil
/// is 0. Errors name the value as cast does.
pub(crate) fn to_i64_e(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Float(f) => Ok(go_f64_to_i64(*f)),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Nil => Ok(0),
        // Go's int64(u) of a uint64 wraps.
        v if cast_go_int(v).is_some() => Ok(cast_go_int(v).unwrap_or(0) as i64),
        Value::String(s) => parse_int_base0(trim_zero_decimal(s)).ok_or_else(|| {
            format!(
                "unable to cast {} of type string to int64",
                format::go_quote(s)
            )
        }),
        other => Err(format!(
            "unable to cast {} of type {} to int64",
            format::sprint_value(other),
            format::type_name(other)
        )),
    }
}

/// `cast.ToInt64`: like [`to_i64_e`] with 0 on failure.
pub(crate) fn to_i64(v: &Value) -> i64 {
    to_i64_e(v).unwrap_or(0)
}

/// `cast.ToFloat64`: 0 on failure.
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        v if cast_go_int(v).is_some() => cast_go_int(v).unwrap_or(0) as f64,
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .filter(|_| !s.contains(['_', 'x', 'X']) || s.contains('.'))
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_rules() {
        assert_eq!(to_i64(&Value::String("0x10".into())), 16);
        assert_eq!(to_i64(&Value::String("010".into())), 8);
        assert_eq!(to_i64(&Value::String("12.0".into())), 12);
        assert_eq!(to_i64(&Value::String("12.5".into())), 0);
        assert_eq!(to_i64(&Value::Float(3.9)), 3);
        assert_eq!(to_i64(&Value::Float(-3.9)), -3);
        assert_eq!(to_i64(&Value::Bool(true)), 1);
        assert_eq!(to_i64(&Value::Nil), 0);
        assert_eq!(to_f64(&Value::String("1.5".into())), 1.5);
        assert_eq!(to_f64(&Value::String("x".into())), 0.0);
        assert_eq!(to_string(&Value::Float(1e6)), "1e+06");
        assert_eq!(to_string(&Value::Nil), "<nil>");
    }
}
