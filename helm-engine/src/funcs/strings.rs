//! Sprig's string functions.

use super::{Registry, arg_int, arg_str, s, strval};
use crate::template::format;
use crate::value::{Map, SharedMap, TypedList, Value};

pub(super) fn register(r: &mut Registry) {
    r.plain("trim", "s", |a| {
        s(arg_str(a, 0).trim_matches(char::is_whitespace))
    });
    r.plain("trimAll", "ss", |a| {
        s(trim_set(arg_str(a, 1), arg_str(a, 0)))
    });
    r.plain("trimall", "ss", |a| {
        s(trim_set(arg_str(a, 1), arg_str(a, 0)))
    });
    r.plain("trimSuffix", "ss", |a| {
        s(arg_str(a, 1)
            .strip_suffix(arg_str(a, 0))
            .unwrap_or(arg_str(a, 1)))
    });
    r.plain("trimPrefix", "ss", |a| {
        s(arg_str(a, 1)
            .strip_prefix(arg_str(a, 0))
            .unwrap_or(arg_str(a, 1)))
    });
    r.plain("upper", "s", |a| s(arg_str(a, 0).to_uppercase()));
    r.plain("lower", "s", |a| s(arg_str(a, 0).to_lowercase()));
    r.plain("title", "s", |a| s(title(arg_str(a, 0))));
    r.plain("untitle", "s", |a| s(untitle(arg_str(a, 0))));
    r.plain("swapcase", "s", |a| s(swapcase(arg_str(a, 0))));
    r.plain("substr", "iis", |a| {
        substr(arg_int(a, 0), arg_int(a, 1), arg_str(a, 2))
    });
    r.plain("repeat", "is", |a| {
        let n = arg_int(a, 0);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        let len = arg_str(a, 1).len();
        if len > 0 && (n as u128) * (len as u128) > isize::MAX as u128 {
            return Err("strings: Repeat output length overflow".into());
        }
        s(arg_str(a, 1).repeat(n as usize))
    });
    r.plain("nospace", "s", |a| {
        s(arg_str(a, 0)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>())
    });
    r.plain("trunc", "is", |a| s(trunc(arg_int(a, 0), arg_str(a, 1))));
    r.plain("abbrev", "is", |a| s(abbrev(arg_int(a, 0), arg_str(a, 1))));
    r.plain("abbrevboth", "iis", |a| {
        s(abbrevboth(arg_int(a, 0), arg_int(a, 1), arg_str(a, 2)))
    });
    r.plain("initials", "s", |a| s(initials(arg_str(a, 0))));
    r.plain("wrap", "is", |a| {
        s(wrap_custom(arg_str(a, 1), arg_int(a, 0), "", false))
    });
    r.plain("wrapWith", "iss", |a| {
        s(wrap_custom(
            arg_str(a, 2),
            arg_int(a, 0),
            arg_str(a, 1),
            true,
        ))
    });
    r.plain("contains", "ss", |a| {
        Ok(Value::Bool(arg_str(a, 1).contains(arg_str(a, 0))))
    });
    r.plain("hasPrefix", "ss", |a| {
        Ok(Value::Bool(arg_str(a, 1).starts_with(arg_str(a, 0))))
    });
    r.plain("hasSuffix", "ss", |a| {
        Ok(Value::Bool(arg_str(a, 1).ends_with(arg_str(a, 0))))
    });
    r.plain("quote", "a*", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format::go_quote(&strval(v)))
            .collect();
        s(parts.join(" "))
    });
    r.plain("squote", "a*", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        s(parts.join(" "))
    });
    r.plain("cat", "a*", |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format::sprint_value(v))
            .collect();
        s(parts.join(" "))
    });
    r.plain("indent", "is", |a| {
        Ok(Value::String(indent(arg_int(a, 0), arg_str(a, 1))?))
    });
    r.plain("nindent", "is", |a| {
        Ok(Value::String(format!(
            "\n{}",
            indent(arg_int(a, 0), arg_str(a, 1))?
        )))
    });
    r.plain("replace", "sss", |a| {
        s(arg_str(a, 2).replace(arg_str(a, 0), arg_str(a, 1)))
    });
    r.plain("plural", "ssi", |a| {
        s(if arg_int(a, 2) == 1 {
            arg_str(a, 0)
        } else {
            arg_str(a, 1)
        })
    });
    r.plain("snakecase", "s", |a| s(snake(arg_str(a, 0), '_')));
    r.plain("kebabcase", "s", |a| s(snake(arg_str(a, 0), '-')));
    r.plain("camelcase", "s", |a| s(camel(arg_str(a, 0))));
    r.plain("split", "ss", |a| {
        let mut m = Map::new();
        for (i, p) in go_split(arg_str(a, 1), arg_str(a, 0), -1)
            .into_iter()
            .enumerate()
        {
            m.insert(format!("_{i}"), Value::String(p));
        }
        Ok(Value::Object(SharedMap::string_map(m)))
    });
    r.plain("splitn", "sis", |a| {
        let mut m = Map::new();
        for (i, p) in go_split(arg_str(a, 2), arg_str(a, 0), arg_int(a, 1))
            .into_iter()
            .enumerate()
        {
            m.insert(format!("_{i}"), Value::String(p));
        }
        Ok(Value::Object(SharedMap::string_map(m)))
    });
    r.plain("splitList", "ss", |a| {
        Ok(TypedList::strings(go_split(
            arg_str(a, 1),
            arg_str(a, 0),
            -1,
        )))
    });
    r.plain("join", "sa", |a| s(strslice(a[1]).join(arg_str(a, 0))));
    r.shared("toStrings", "a", |a| {
        // A `[]string` is returned as it is (the same backing array).
        if let Value::Object(o) = a[0] {
            if o.typed_list().is_some_and(|t| t.type_name == "[]string") {
                return Ok(a[0].clone());
            }
        }
        let plain = crate::value::materialize(a[0])?;
        Ok(TypedList::strings(strslice(&plain)))
    });
    r.shared("sortAlpha", "a", |a| {
        // A `[]string` is sorted in place (Sprig sorts the slice it was given).
        if let Value::Object(o) = a[0] {
            if let Some(t) = o.typed_list().filter(|t| t.type_name == "[]string") {
                t.sort_strings();
                return Ok(a[0].clone());
            }
        }
        let a = [&crate::value::materialize(a[0])?];
        let mut v = match a[0] {
            Value::List(_) => strslice(a[0]),
            other => vec![strval(other)],
        };
        v.sort();
        Ok(TypedList::strings(v))
    });
    r.plain("toString", "a", |a| s(strval(a[0])));
    r.plain("shuffle", "s", |a| {
        let mut c: Vec<char> = arg_str(a, 0).chars().collect();
        fastrand::shuffle(&mut c);
        s(c.into_iter().collect::<String>())
    });
}

/// Go's `strings.Trim(s, cutset)`.
fn trim_set<'x>(s: &'x str, cutset: &str) -> &'x str {
    s.trim_matches(|c| cutset.contains(c))
}

/// Sprig's `strslice`: the non-nil elements of a list as strings, or a scalar as one string.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => vec![],
        other => vec![strval(other)],
    }
}

/// Go's `strings.SplitN` (with `n < 0` meaning all).
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return vec![];
    }
    if sep.is_empty() {
        let mut out: Vec<String> = Vec::new();
        let chars: Vec<char> = s.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if n > 0 && out.len() as i64 == n - 1 {
                out.push(chars[i..].iter().collect());
                return out;
            }
            out.push(c.to_string());
        }
        return out;
    }
    if n < 0 {
        return s.split(sep).map(str::to_string).collect();
    }
    s.splitn(n as usize, sep).map(str::to_string).collect()
}

fn indent(n: i64, s: &str) -> Result<String, String> {
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let pad = " ".repeat(n as usize);
    let mut out = String::with_capacity(s.len() + pad.len());
    out.push_str(&pad);
    out.push_str(&s.replace('\n', &format!("\n{pad}")));
    Ok(out)
}

/// Sprig's `trunc`: byte-based, negative counts keep the end.
fn trunc(c: i64, s: &str) -> String {
    let len = s.len() as i64;
    let cut = |i: i64| -> usize {
        let mut i = i as usize;
        while i < s.len() && !s.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    if c < 0 && len + c > 0 {
        return s[cut(len + c)..].to_string();
    }
    if c >= 0 && len > c {
        return s[..cut(c)].to_string();
    }
    s.to_string()
}

fn substr(start: i64, end: i64, s: &str) -> Result<Value, String> {
    let len = s.len() as i64;
    let out = if start < 0 {
        if end < 0 || end > len {
            return Err(format!(
                "runtime error: slice bounds out of range [:{end}] with length {len}"
            ));
        }
        &s.as_bytes()[..end as usize]
    } else if end < 0 || end > len {
        if start > len {
            return Err(format!(
                "runtime error: slice bounds out of range [{start}:{len}]"
            ));
        }
        &s.as_bytes()[start as usize..]
    } else {
        if start > end {
            return Err(format!(
                "runtime error: slice bounds out of range [{start}:{end}]"
            ));
        }
        &s.as_bytes()[start as usize..end as usize]
    };
    Ok(Value::String(String::from_utf8_lossy(out).into_owned()))
}

fn is_sep(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's deprecated `strings.Title`.
fn title(s: &str) -> String {
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn untitle(s: &str) -> String {
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if prev.is_whitespace() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn swapcase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase())
        } else {
            out.push(c);
        }
    }
    out
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_string();
    }
    let n = s.chars().count() as i64;
    if n <= width {
        return s.to_string();
    }
    let keep: String = s.chars().take((width - 3) as usize).collect();
    format!("{keep}...")
}

fn abbrevboth(left: i64, right: i64, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    if right < 4 || n <= right {
        return s.to_string();
    }
    let mut offset = left.max(0).min(n);
    if n - offset < right - 3 {
        offset = n - (right - 3);
    }
    if offset <= 4 {
        return abbrev(right, s);
    }
    if right < 7 {
        return s.to_string();
    }
    let rest: String = chars[offset as usize..].iter().collect();
    if (offset + right - 3) < n {
        return format!("...{}", abbrev(right - 3, &rest));
    }
    let tail: String = chars[(n - (right - 3)) as usize..].iter().collect();
    format!("...{tail}")
}

fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut prev_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            prev_space = true;
        } else {
            if prev_space {
                out.push(c);
            }
            prev_space = false;
        }
    }
    out
}

/// goutils `WrapCustom` with long words left unbroken.
/// goutils' `WrapCustom` (Sprig's `wrap` is it with `"\n"` and long words left whole,
/// `wrapWith` with long words cut): it counts bytes and breaks at the last space that fits.
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline }.as_bytes();
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::with_capacity(len + 8);
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        match b[offset..end].iter().rposition(|&c| c == b' ') {
            Some(sp) => {
                let at = offset + sp;
                out.extend_from_slice(&b[offset..at]);
                out.extend_from_slice(newline);
                offset = at + 1;
            }
            None if wrap_long => {
                out.extend_from_slice(&b[offset..offset + width]);
                out.extend_from_slice(newline);
                offset += width;
            }
            None => {
                let end = width + offset;
                match b[end..].iter().position(|&c| c == b' ') {
                    None => {
                        out.extend_from_slice(&b[offset..]);
                        offset = len;
                    }
                    Some(i) => {
                        let at = end + i;
                        out.extend_from_slice(&b[offset..at]);
                        out.extend_from_slice(newline);
                        offset = at + 1;
                    }
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    // Cutting inside a multi-byte character gives Go invalid UTF-8; here it becomes U+FFFD.
    String::from_utf8_lossy(&out).into_owned()
}

/// xstrings' `ToSnakeCase`/`ToKebabCase`: words split at case changes, spaces, `_` and `-`,
/// lower-cased and joined by `sep`.
fn snake(s: &str, sep: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '_' || c == '-' || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(sep) {
                out.push(sep);
            }
            i += 1;
            continue;
        }
        if c.is_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.is_empty() && !out.ends_with(sep) {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        i += 1;
    }
    while out.ends_with(sep) {
        out.pop();
    }
    out
}

/// xstrings' `ToPascalCase` (Sprig's `camelcase`): words separated by `_`, `-` or spaces
/// joined, each capitalised.
fn camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper_next = true;
    for c in s.chars() {
        if c == '_' || c == '-' || c.is_whitespace() {
            upper_next = true;
            continue;
        }
        if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sprig_strings() {
        assert_eq!(trunc(3, "abcdef"), "abc");
        assert_eq!(trunc(-2, "abcdef"), "ef");
        assert_eq!(trunc(63, "ab"), "ab");
        assert_eq!(indent(2, "a\nb").unwrap(), "  a\n  b");
        assert_eq!(title("hello world-foo"), "Hello World-Foo");
        assert_eq!(snake("HTTPServer", '_'), "http_server");
        assert_eq!(snake("first name", '-'), "first-name");
        assert_eq!(camel("http_server"), "HttpServer");
        assert_eq!(abbrev(5, "hello world"), "he...");
        assert_eq!(go_split("a,b,,c", ",", -1), vec!["a", "b", "", "c"]);
        assert_eq!(go_split("a,b,c", ",", 2), vec!["a", "b,c"]);
        assert_eq!(wrap_custom("aaa bbb ccc", 7, "", false), "aaa bbb\nccc");
        assert_eq!(initials("First Try"), "FT");
    }

    fn snake1(s: &str) -> String {
        super::snake(s, '_')
    }

    #[test]
    fn snake_forms() {
        assert_eq!(snake1("FirstName"), "first_name");
    }
}
