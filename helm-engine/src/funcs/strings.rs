//! Sprig's string functions.

use super::{Registry, arg_int, arg_str, s, strval};
use crate::template::format;
use crate::value::{Map, SharedMap, TypedList, Value};

pub(super) fn register(r: &mut Registry) {
    // Sprig's `env` and `expandenv`, for `--name-template` only (see
    // `render::render_name_template`): no template identifier holds a `:`, so chart templates
    // cannot call them, as Helm removes them there.
    r.plain("name-template:env", "s", |a| s(getenv(arg_str(a, 0))));
    r.plain("name-template:expandenv", "s", |a| {
        s(expand_env(arg_str(a, 0)))
    });
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
        s(bytewise(arg_str(a, 1), arg_str(a, 0), |x, y| {
            x.strip_suffix(y).unwrap_or(x).to_vec()
        }))
    });
    r.plain("trimPrefix", "ss", |a| {
        s(bytewise(arg_str(a, 1), arg_str(a, 0), |x, y| {
            x.strip_prefix(y).unwrap_or(x).to_vec()
        }))
    });
    r.plain("upper", "s", |a| s(go_upper(arg_str(a, 0))));
    r.plain("lower", "s", |a| s(go_lower(arg_str(a, 0))));
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
    r.plain("nospace", "s", |a| s(nospace(arg_str(a, 0))));
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
        let (hay, needle) = (go_bytes(arg_str(a, 1)), go_bytes(arg_str(a, 0)));
        Ok(Value::Bool(
            needle.is_empty() || hay.windows(needle.len()).any(|w| w == &needle[..]),
        ))
    });
    r.plain("hasPrefix", "ss", |a| {
        Ok(Value::Bool(
            go_bytes(arg_str(a, 1)).starts_with(&go_bytes(arg_str(a, 0))),
        ))
    });
    r.plain("hasSuffix", "ss", |a| {
        Ok(Value::Bool(
            go_bytes(arg_str(a, 1)).ends_with(&go_bytes(arg_str(a, 0))),
        ))
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
        let (text, old, new) = (arg_str(a, 2), arg_str(a, 0), arg_str(a, 1));
        if [text, old, new]
            .iter()
            .any(|x| crate::value::has_raw_bytes(x))
            && !old.is_empty()
        {
            return s(replace_bytes(text, old, new));
        }
        s(text.replace(old, new))
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

/// The bytes of a Go string.
fn go_bytes(s: &str) -> std::borrow::Cow<'_, [u8]> {
    crate::value::go_bytes(s)
}

/// `f` over the bytes of two Go strings when either holds raw bytes (which may combine with
/// the other's bytes), else over their UTF-8 (the same bytes).
fn bytewise(a: &str, b: &str, f: impl Fn(&[u8], &[u8]) -> Vec<u8>) -> String {
    crate::value::go_string(&f(&go_bytes(a), &go_bytes(b)))
}

/// Go's `strings.Replace(s, old, new, -1)` over bytes (`old` not empty).
fn replace_bytes(text: &str, old: &str, new: &str) -> String {
    let (t, o, n) = (go_bytes(text), go_bytes(old), go_bytes(new));
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        if t[i..].starts_with(&o) {
            out.extend_from_slice(&n);
            i += o.len();
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    crate::value::go_string(&out)
}

/// Go's `strings.ToUpper`.
fn go_upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    go_map(s, go_to_upper)
}

/// Go's `strings.ToLower`.
fn go_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    go_map(s, go_to_lower)
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
/// Sprig's `trunc`: cuts Go's string bytes, so a character may be cut in two (its pieces are
/// raw bytes here, as in Go).
fn trunc(c: i64, s: &str) -> String {
    let b = crate::value::go_bytes(s);
    let len = b.len() as i64;
    if c < 0 && len + c > 0 {
        return crate::value::go_string(&b[(len + c) as usize..]);
    }
    if c >= 0 && len > c {
        return crate::value::go_string(&b[..c as usize]);
    }
    s.to_string()
}

fn substr(start: i64, end: i64, s: &str) -> Result<Value, String> {
    let bytes = crate::value::go_bytes(s);
    let s: &[u8] = &bytes;
    let len = s.len() as i64;
    let out = if start < 0 {
        if end < 0 || end > len {
            return Err(format!(
                "runtime error: slice bounds out of range [:{end}] with length {len}"
            ));
        }
        &s[..end as usize]
    } else if end < 0 || end > len {
        if start > len {
            return Err(format!(
                "runtime error: slice bounds out of range [{start}:{len}]"
            ));
        }
        &s[start as usize..]
    } else {
        if start > end {
            return Err(format!(
                "runtime error: slice bounds out of range [{start}:{end}]"
            ));
        }
        &s[start as usize..end as usize]
    };
    Ok(Value::String(crate::value::go_string(out)))
}

// ---- Go's Unicode rules: `unicode.IsUpper` and friends are general categories (Rust's
// `is_uppercase` also takes Other_Uppercase, such as Ⓐ), and `unicode.ToUpper` is the simple
// one-rune mapping (Rust's gives `SS` for ß). ----

/// The general categories the `go_is_*` tests ask about.
const CATEGORIES: [&str; 7] = ["L", "Lu", "Ll", "Lt", "N", "Nd", "P"];

/// Go's `unicode.Is*` tests by general category (one of [`CATEGORIES`]). The patterns are
/// compiled once, and reading them takes no lock: these run per character.
fn category(c: char, class: &'static str) -> bool {
    use std::sync::OnceLock;
    static PATTERNS: OnceLock<Vec<(&'static str, regex::Regex)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        CATEGORIES
            .iter()
            .filter_map(|&k| Some((k, regex::Regex::new(&format!(r"^\p{{{k}}}$")).ok()?)))
            .collect()
    });
    patterns
        .iter()
        .find(|(k, _)| *k == class)
        .is_some_and(|(_, re)| re.is_match(c.encode_utf8(&mut [0; 4])))
}

fn go_is_upper(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    category(c, "Lu")
}

fn go_is_lower(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_lowercase();
    }
    category(c, "Ll")
}

fn go_is_title(c: char) -> bool {
    !c.is_ascii() && category(c, "Lt")
}

fn go_is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    category(c, "L")
}

fn go_is_number(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    category(c, "N")
}

fn go_is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    category(c, "Nd")
}

fn go_is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && category(c, "P");
    }
    category(c, "P")
}

/// One rune of Rust's full case mapping, or `None` when it gives several (Go's simple mapping
/// then leaves the rune, except Greek letters with iota subscript, whose simple upper and
/// title case is the capital with prosgegrammeni).
fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

fn greek_iota(c: char) -> Option<char> {
    let u = u32::from(c);
    let mapped = match u {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => u + 8,
        0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF => u,
        0x1FB3 | 0x1FC3 | 0x1FF3 => u + 9,
        _ => return None,
    };
    char::from_u32(mapped)
}

/// Go's `unicode.ToUpper`.
fn go_to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    single(c.to_uppercase())
        .or_else(|| greek_iota(c))
        .unwrap_or(c)
}

/// Go's `unicode.ToLower`.
fn go_to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if c == '\u{130}' {
        return 'i';
    }
    single(c.to_lowercase()).unwrap_or(c)
}

/// Go's `unicode.ToTitle`.
fn go_to_title(c: char) -> char {
    match u32::from(c) {
        0x1C4..=0x1C6 => '\u{1C5}',
        0x1C7..=0x1C9 => '\u{1C8}',
        0x1CA..=0x1CC => '\u{1CB}',
        0x1F1..=0x1F3 => '\u{1F2}',
        // Georgian Mkhedruli letters have capitals but are their own title case.
        0x10D0..=0x10FA | 0x10FD..=0x10FF => c,
        _ => go_to_upper(c),
    }
}

/// The runes of a Go string, invalid bytes as U+FFFD (Go's `for range` and DecodeRune).
fn go_runes(s: &str) -> Vec<char> {
    crate::value::runes_lossy(s).chars().collect()
}

/// Go's `strings.Map` with `f`: invalid bytes become U+FFFD.
fn go_map(s: &str, f: fn(char) -> char) -> String {
    crate::value::runes_lossy(s).chars().map(f).collect()
}

/// Go's deprecated `strings.Title`: the first letter of each word in title case.
fn title(s: &str) -> String {
    fn is_sep(c: char) -> bool {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if go_is_letter(c) || go_is_digit(c) {
            return false;
        }
        c.is_whitespace()
    }
    let mut prev = ' ';
    go_runes(s)
        .into_iter()
        .map(|c| {
            let out = if is_sep(prev) { go_to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils' `Uncapitalize`: the first rune after whitespace lower-cased.
fn untitle(s: &str) -> String {
    let mut prev_space = true;
    go_runes(s)
        .into_iter()
        .map(|c| {
            let out = if prev_space { go_to_lower(c) } else { c };
            prev_space = c.is_whitespace();
            out
        })
        .collect()
}

/// goutils' `SwapCase`: upper and title case to lower; lower case to title case after
/// whitespace (and at the start), else to upper case.
fn swapcase(s: &str) -> String {
    let mut after_space = true;
    go_runes(s)
        .into_iter()
        .map(|c| {
            if go_is_upper(c) || go_is_title(c) {
                after_space = false;
                go_to_lower(c)
            } else if go_is_lower(c) {
                let out = if after_space {
                    go_to_title(c)
                } else {
                    go_to_upper(c)
                };
                after_space = false;
                out
            } else {
                after_space = c.is_whitespace();
                c
            }
        })
        .collect()
}

/// goutils' `Abbreviate`/`AbbreviateFull` over Go's string bytes (so a cut may split a
/// character); `None` where goutils returns an error (Sprig then gives "").
fn abbreviate_full(s: &str, offset: i64, width: i64) -> Option<String> {
    let b = crate::value::go_bytes(s);
    let len = b.len() as i64;
    if len == 0 {
        return Some(String::new());
    }
    if width < 4 {
        return None;
    }
    if len <= width {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        let mut out = crate::value::go_string(&b[..(width - 3) as usize]);
        out.push_str("...");
        return Some(crate::value::regroup(out));
    }
    if width < 7 {
        return None;
    }
    if offset + width - 3 < len {
        let rest = crate::value::go_string(&b[offset as usize..]);
        return Some(format!("...{}", abbreviate_full(&rest, 0, width - 3)?));
    }
    let tail = crate::value::go_string(&b[(len - (width - 3)) as usize..]);
    Some(format!("...{tail}"))
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_string();
    }
    abbreviate_full(s, 0, width).unwrap_or_default()
}

fn abbrevboth(left: i64, right: i64, s: &str) -> String {
    if right < 4 || (left > 0 && right < 7) {
        return s.to_string();
    }
    abbreviate_full(s, left, right).unwrap_or_default()
}

/// Go's `unicode.IsSpace` of a byte taken as a rune (goutils reads strings byte by byte).
fn byte_is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xA0)
}

/// goutils' `Initials`: the first byte of each word, as the rune of that number.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut gap = true;
    for &b in crate::value::go_bytes(s).iter() {
        if byte_is_space(b) {
            gap = true;
        } else if gap {
            out.push(char::from(b));
            gap = false;
        }
    }
    out
}

/// goutils' `DeleteWhiteSpace`: each byte that is not a space, as the rune of that number
/// (the string unchanged when it has no spaces).
fn nospace(s: &str) -> String {
    let b = crate::value::go_bytes(s);
    if !b.iter().any(|&x| byte_is_space(x)) {
        // goutils returns the string itself when it removed nothing.
        return s.to_string();
    }
    b.iter()
        .filter(|&&b| !byte_is_space(b))
        .map(|&b| char::from(b))
        .collect()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings' `ToPascalCase` (Sprig's `camelcase`): connectors (`-`, `_`, spaces) between words
/// dropped and the next rune upper-cased; in a word that starts upper-case, the following
/// upper-case runes are lowered; leading, trailing and repeated connectors kept.
fn camel(s: &str) -> String {
    let runes = go_runes(s);
    if runes.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = runes.into_iter();
    let mut r0 = ' ';
    let mut first_upper = false;
    let mut read = false;
    let mut started = false;
    for c in it.by_ref() {
        read = true;
        r0 = c;
        if !is_connector(c) {
            first_upper = go_is_upper(c);
            r0 = go_to_upper(c);
            started = true;
            break;
        }
        out.push(c);
    }
    let rest: Vec<char> = it.collect();
    if rest.is_empty() {
        if read && (started || !out.is_empty()) {
            out.push(r0);
        }
        return out;
    }
    for c in rest {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = go_is_upper(r0);
            r0 = go_to_upper(r0);
        } else {
            if first_upper {
                if go_is_upper(r0) {
                    r0 = go_to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    if !go_is_letter(c) {
        return false;
    }
    !matches!(u32::from(c), 0x4E00..=0x9FCC | 0x3400..=0x4D85 | 0x20000..=0x2B81D)
}

/// xstrings' `nextWord` over runes: the kind and length (in runes) of the word at the start.
fn next_word(r: &[char]) -> (Word, usize) {
    let Some(&c) = r.first() else {
        return (Word::Invalid, 0);
    };
    let run = |from: usize, keep: &dyn Fn(char) -> bool| -> usize {
        let mut i = from;
        while i < r.len() && keep(r[i]) {
            i += 1;
        }
        i
    };
    if c == char::REPLACEMENT_CHARACTER {
        return (Word::Invalid, 1);
    }
    if is_connector(c) {
        return (Word::Connector, run(1, &is_connector));
    }
    if go_is_punct(c) {
        return (Word::Punct, run(1, &go_is_punct));
    }
    if go_is_upper(c) {
        let Some(&n) = r.get(1) else {
            return (Word::Upper, 1);
        };
        if go_is_upper(n) {
            let end = run(2, &go_is_upper);
            // "HTTPStatus": the S starts the next word.
            if end < r.len() && is_alphabet(r[end]) {
                return (Word::Upper, end - 1);
            }
            return (Word::Upper, end);
        }
        if is_alphabet(n) {
            return (Word::Upper, run(2, &|x| is_alphabet(x) && !go_is_upper(x)));
        }
        return (Word::Upper, 1);
    }
    if is_alphabet(c) {
        return (
            Word::Alphabet,
            run(1, &|x| is_alphabet(x) && !go_is_upper(x)),
        );
    }
    if go_is_number(c) {
        return (Word::Number, run(1, &go_is_number));
    }
    (
        Word::Other,
        run(1, &|x| {
            !(is_connector(x) || is_alphabet(x) || go_is_number(x) || go_is_punct(x))
        }),
    )
}

/// xstrings' `toLower` of one word: upper-case words lowered, connectors replaced.
fn word_lower(out: &mut String, wt: Word, w: &[char], sep: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.extend(w);
        return;
    }
    for &c in w {
        if is_connector(c) {
            out.push(sep);
        } else if go_is_upper(c) {
            out.push(go_to_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `ToSnakeCase`/`ToKebabCase`: words (upper-case runs, lower-case runs, numbers,
/// punctuation, connectors) lowered and joined by `sep`, numbers kept with the word before
/// them unless lower-case letters follow.
fn snake(s: &str, sep: char) -> String {
    let runes = go_runes(s);
    if runes.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 4);
    let mut pos = 0;
    let take = |pos: &mut usize| -> (Word, std::ops::Range<usize>) {
        let (wt, n) = next_word(&runes[*pos..]);
        let range = *pos..*pos + n;
        *pos += n;
        (wt, range)
    };
    let (mut wt, mut word) = take(&mut pos);
    while pos < runes.len() {
        if wt != Word::Connector {
            word_lower(&mut out, wt, &runes[word.clone()], sep);
        }
        let prev = wt;
        let last = word.clone();
        (wt, word) = take(&mut pos);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    word_lower(&mut out, wt, &runes[word.clone()], sep);
                    (wt, word) = take(&mut pos);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(sep);
                }
            }
            Word::Connector => word_lower(&mut out, prev, &runes[last], sep),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(sep);
                    }
                    continue;
                }
                if pos >= runes.len() {
                    continue;
                }
                let last = word.clone();
                (wt, word) = take(&mut pos);
                if wt != Word::Alphabet {
                    word_lower(&mut out, Word::Number, &runes[last], sep);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(sep);
                    }
                    continue;
                }
                out.push(sep);
                word_lower(&mut out, Word::Number, &runes[last], sep);
                while wt == Word::Alphabet || wt == Word::Number {
                    word_lower(&mut out, wt, &runes[word.clone()], sep);
                    (wt, word) = take(&mut pos);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(sep);
                }
            }
        }
    }
    word_lower(&mut out, wt, &runes[word], sep);
    out
}

/// goutils `WrapCustom` with long words left unbroken.
/// goutils' `WrapCustom` (Sprig's `wrap` is it with `"\n"` and long words left whole,
/// `wrapWith` with long words cut): it counts bytes and breaks at the last space that fits.
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = crate::value::go_bytes(if newline.is_empty() { "\n" } else { newline });
    let newline: &[u8] = &newline;
    let width = width.max(1) as usize;
    let bytes = crate::value::go_bytes(s);
    let b: &[u8] = &bytes;
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
    // Cutting inside a multi-byte character gives Go invalid UTF-8, kept as raw bytes.
    crate::value::go_string(&out)
}

/// Go's `os.Getenv`: the variable's bytes, or "" when unset.
fn getenv(name: &str) -> String {
    if name.is_empty() || name.contains(['=', '\0']) {
        return String::new();
    }
    match std::env::var_os(name) {
        Some(v) => crate::value::go_string(v.as_encoded_bytes()),
        None => String::new(),
    }
}

/// Go's `os.ExpandEnv`: `$name` and `${name}` replaced by the variables' values, a shell
/// special character (`$1`, `$*`, …) a name of its own, bad syntax (`${}`, an unclosed `${`)
/// eaten, a `$` before anything else kept.
fn expand_env(s: &str) -> String {
    let special = |c: u8| b"*#$@!?-0123456789".contains(&c);
    let alnum = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    let b = s.as_bytes();
    if !b[..b.len().saturating_sub(1)].contains(&b'$') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() * 2);
    let mut i = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.push_str(&s[i..j]);
            let rest = &b[j + 1..];
            // (name range within `rest`, width eaten)
            let (name, w): (Option<(usize, usize)>, usize) = if rest[0] == b'{' {
                if rest.len() > 2 && special(rest[1]) && rest[2] == b'}' {
                    (Some((1, 2)), 3)
                } else {
                    match rest.iter().skip(1).position(|&c| c == b'}') {
                        Some(0) => (None, 2),
                        Some(k) => (Some((1, k + 1)), k + 2),
                        None => (None, 1),
                    }
                }
            } else if special(rest[0]) {
                (Some((0, 1)), 1)
            } else {
                let n = rest.iter().take_while(|&&c| alnum(c)).count();
                (if n > 0 { Some((0, n)) } else { None }, n)
            };
            match name {
                Some((a, z)) => {
                    let name_text = &s[j + 1 + a..j + 1 + z];
                    out.push_str(&getenv(name_text));
                }
                None if w > 0 => {}
                None => out.push('$'),
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    out.push_str(s.get(i..).unwrap_or(""));
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
