//! Go's regular expression syntax (RE2 as `regexp.Compile` reads it), translated into the
//! regex crate's, for the schema's `pattern`, `patternProperties` and `format: regex`.
//!
//! The two dialects mostly agree; where they do not, this follows Go: `\d`, `\w`, `\s` and
//! `\b` are ASCII, `\Q...\E` quotes, `\12` is octal, a `{` that starts no valid repeat is a
//! literal, `[` inside a class is a literal, named groups may start with a digit, a repeat
//! of a repeat (`a**`) and counts over 1000 (also nested: `(a{100}){100}`) are refused, as
//! are flags other than `imsU` and Unicode classes Go does not know.

use regex::Regex;

/// Compiles a Go pattern, or `None` when Go's `regexp.Compile` would refuse it.
pub(super) fn compile(pattern: &str) -> Option<Regex> {
    let translated = translate(pattern)?;
    regex::RegexBuilder::new(&translated)
        .nest_limit(1100)
        .build()
        .ok()
}

/// One open group: whether something a repeat may apply to ends it, that thing's weight
/// (the largest product of repeat counts along one nesting path, as Go's `repeatIsValid`
/// counts) and the largest weight seen in the group.
#[derive(Default)]
struct Frame {
    atom: Option<u64>,
    max: u64,
}

impl Frame {
    fn push(&mut self, weight: u64) {
        self.atom = Some(weight);
        self.max = self.max.max(weight);
    }
}

/// The pattern in the regex crate's syntax, or `None` when Go refuses it.
pub(super) fn translate(p: &str) -> Option<String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut stack = vec![Frame::default()];
    let mut names: Vec<&str> = Vec::new();
    let mut t = p;
    let mut last_repeat = false;
    while let Some(c) = t.chars().next() {
        let mut repeat = false;
        match c {
            '(' => {
                if let Some(rest) = t.strip_prefix("(?") {
                    let named = rest
                        .strip_prefix("P<")
                        .or_else(|| rest.strip_prefix('<'))
                        .filter(|_| rest.len() > 1);
                    if let Some(named) = named {
                        let end = named.find('>')?;
                        let name = &named[..end];
                        if name.is_empty()
                            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                            || names.contains(&name)
                        {
                            return None;
                        }
                        names.push(name);
                        out.push('(');
                        stack.push(Frame::default());
                        t = &named[end + 1..];
                    } else {
                        let (flags, group, after) = perl_flags(rest)?;
                        if group {
                            out.push_str(&format!("(?{flags}:"));
                            stack.push(Frame::default());
                        } else if !flags.is_empty() {
                            // Go would let a repeat after `(?i)` take the atom before it;
                            // the regex crate refuses that, so this does too (rare).
                            out.push_str(&format!("(?{flags})"));
                            stack.last_mut()?.atom = None;
                        }
                        t = after;
                    }
                } else {
                    out.push('(');
                    stack.push(Frame::default());
                    t = &t[1..];
                }
            }
            ')' => {
                if stack.len() < 2 {
                    return None;
                }
                let inner = stack.pop()?;
                out.push(')');
                stack.last_mut()?.push(inner.max.max(1));
                t = &t[1..];
            }
            '|' => {
                out.push('|');
                stack.last_mut()?.atom = None;
                t = &t[1..];
            }
            '*' | '+' | '?' => {
                let top = stack.last_mut()?;
                if last_repeat || top.atom.is_none() {
                    return None;
                }
                out.push(c);
                t = &t[1..];
                if let Some(rest) = t.strip_prefix('?') {
                    out.push('?');
                    t = rest;
                }
                repeat = true;
            }
            '{' => match parse_repeat(t) {
                Some((min, max, after)) => {
                    if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                        return None;
                    }
                    let top = stack.last_mut()?;
                    let w = top.atom?;
                    if last_repeat {
                        return None;
                    }
                    let m = if max >= 0 { max } else { min } as u64;
                    let weight = if m == 0 { 1 } else { m.saturating_mul(w) };
                    if (min >= 2 || max >= 2) && weight > 1000 {
                        return None;
                    }
                    top.push(weight);
                    if max < 0 {
                        out.push_str(&format!("{{{min},}}"));
                    } else {
                        out.push_str(&format!("{{{min},{max}}}"));
                    }
                    t = after;
                    if let Some(rest) = t.strip_prefix('?') {
                        out.push('?');
                        t = rest;
                    }
                    repeat = true;
                }
                None => {
                    out.push_str("\\{");
                    stack.last_mut()?.push(1);
                    t = &t[1..];
                }
            },
            '^' | '$' | '.' => {
                out.push(c);
                stack.last_mut()?.push(1);
                t = &t[1..];
            }
            '[' => {
                let (class, after) = parse_class(t)?;
                out.push_str(&class);
                stack.last_mut()?.push(1);
                t = after;
            }
            '\\' => {
                let (piece, after) = top_level_escape(t)?;
                out.push_str(&piece);
                if !piece.is_empty() {
                    stack.last_mut()?.push(1);
                }
                t = after;
            }
            _ => {
                push_literal(&mut out, c);
                stack.last_mut()?.push(1);
                t = &t[c.len_utf8()..];
            }
        }
        last_repeat = repeat;
    }
    (stack.len() == 1).then_some(out)
}

/// After `(?`: the flags (as written, for the regex crate, which reads them alike), whether a
/// group opens (`:`) and the rest; `None` for anything but `imsU`, one `-` and flags after it.
fn perl_flags(s: &str) -> Option<(&str, bool, &str)> {
    let mut negated = false;
    let mut saw_flag = false;
    for (i, c) in s.char_indices() {
        match c {
            'i' | 'm' | 's' | 'U' => saw_flag = true,
            '-' if !negated => {
                negated = true;
                saw_flag = false;
            }
            ':' | ')' => {
                if negated && !saw_flag {
                    return None;
                }
                return Some((&s[..i], c == ':', &s[i + 1..]));
            }
            _ => return None,
        }
    }
    None
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` without leading zeros; min, max (-1 when
/// open) and the rest, or `None` when the `{` is a literal. Too large a number reads as -1.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (min, s) = parse_int(s)?;
    let (max, s) = match s.strip_prefix(',') {
        None => (min, s),
        Some(rest) if rest.starts_with('}') => (-1, rest),
        Some(rest) => {
            let (max, rest) = parse_int(rest)?;
            (max, rest)
        }
    };
    let min = if max < -1 { -1 } else { min };
    let rest = s.strip_prefix('}')?;
    Some((min, max, rest))
}

fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let n = s[..digits].parse::<i64>().ok().filter(|n| *n < 100_000_000);
    // Go's parseInt gives -1 for too large a number; keep it distinct from "open" (-1).
    Some((n.unwrap_or(-2), &s[digits..]))
}

fn push_literal(out: &mut String, c: char) {
    if c.is_alphanumeric() || c == ' ' || c == '_' {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

/// Go's ASCII Perl classes (`\d`, `\s`, `\w` and negations), as class items.
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'D' => "[^0-9]",
        's' => "\\t\\n\\f\\r ",
        'S' => "[^\\t\\n\\f\\r ]",
        'w' => "0-9A-Za-z_",
        'W' => "[^0-9A-Za-z_]",
        _ => return None,
    })
}

/// An escape outside a class: its translation (empty for `\Q\E`) and the rest.
fn top_level_escape(t: &str) -> Option<(String, &str)> {
    let mut chars = t[1..].chars();
    let c = chars.next()?;
    let after = &t[1 + c.len_utf8()..];
    match c {
        'A' => return Some(("\\A".into(), after)),
        'z' => return Some(("\\z".into(), after)),
        'b' => return Some(("(?-u:\\b)".into(), after)),
        'B' => return Some(("(?-u:\\B)".into(), after)),
        'C' => return None,
        'Q' => {
            let (lit, rest) = match after.find("\\E") {
                Some(i) => (&after[..i], &after[i + 2..]),
                None => (after, ""),
            };
            // Each quoted character is its own literal: a repeat after `\Q..\E` takes the last.
            let mut s = String::new();
            for ch in lit.chars() {
                push_literal(&mut s, ch);
            }
            return Some((s, rest));
        }
        'p' | 'P' => {
            let (class, rest) = unicode_class(t)?;
            return Some((format!("[{class}]"), rest));
        }
        _ => {}
    }
    if let Some(class) = perl_class(c) {
        return Some((format!("[{class}]"), after));
    }
    let (r, rest) = parse_escape(t)?;
    let mut s = String::new();
    push_literal(&mut s, r);
    Some((s, rest))
}

/// `\p{Name}`, `\pN`, `\P...` and `\p{^Name}` as a class item; `None` for names Go's
/// `unicodeTable` lacks (it knows `Any`, the general categories and the scripts, spelt
/// exactly).
fn unicode_class(t: &str) -> Option<(String, &str)> {
    let mut negate = t.as_bytes().get(1) == Some(&b'P');
    let body = &t[2..];
    let first = body.chars().next()?;
    let (mut name, rest) = if first == '{' {
        let end = t.find('}')?;
        (&t[3..end], &t[end + 1..])
    } else {
        (&body[..first.len_utf8()], &body[first.len_utf8()..])
    };
    if let Some(n) = name.strip_prefix('^') {
        negate = !negate;
        name = n;
    }
    const CATEGORIES: &[&str] = &[
        "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
        "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm",
        "So", "Z", "Zl", "Zp", "Zs",
    ];
    let item = if name == "Any" {
        "\\x00-\\x{10FFFF}".to_string()
    } else if CATEGORIES.contains(&name) {
        format!("\\p{{{name}}}")
    } else {
        // A script, spelt as Go's table spells it: capitalised words joined by `_`.
        let words_ok = name.split('_').all(|w| {
            w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && w.chars().all(|c| c.is_ascii_alphabetic())
        });
        if !words_ok || Regex::new(&format!("\\p{{sc={name}}}")).is_err() {
            return None;
        }
        format!("\\p{{sc={name}}}")
    };
    Some((if negate { format!("[^{item}]") } else { item }, rest))
}

/// Go's `parseEscape`: a single escaped character (octal, hex, C escapes, punctuation).
fn parse_escape(t: &str) -> Option<(char, &str)> {
    let rest = t.strip_prefix('\\')?;
    let c = rest.chars().next()?;
    let mut after = &rest[c.len_utf8()..];
    let octal = |s: &str| {
        s.as_bytes()
            .first()
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    match c {
        '1'..='7' | '0' if c == '0' || octal(after) => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                if !octal(after) {
                    break;
                }
                r = r * 8 + (after.as_bytes()[0] - b'0') as u32;
                after = &after[1..];
            }
            char::from_u32(r).map(|r| (r, after))
        }
        'x' => {
            if let Some(braced) = after.strip_prefix('{') {
                let end = braced.find('}')?;
                let hex = &braced[..end];
                if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let r = u32::from_str_radix(hex, 16).ok()?;
                // Go takes surrogates too; they never match a Go string built from YAML.
                let r = char::from_u32(r).or_else(|| (r <= 0x10FFFF).then_some('\u{FFFD}'))?;
                Some((r, &braced[end + 1..]))
            } else {
                let b = after.as_bytes();
                if b.len() < 2 || !b[0].is_ascii_hexdigit() || !b[1].is_ascii_hexdigit() {
                    return None;
                }
                let r = u32::from_str_radix(&after[..2], 16).ok()?;
                Some((char::from_u32(r)?, &after[2..]))
            }
        }
        'a' => Some(('\u{7}', after)),
        'f' => Some(('\u{c}', after)),
        'n' => Some(('\n', after)),
        'r' => Some(('\r', after)),
        't' => Some(('\t', after)),
        'v' => Some(('\u{b}', after)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some((c, after)),
        _ => None,
    }
}

/// Go's `parseClass` from `[`: the class in the regex crate's syntax (every character
/// escaped, so `&&`, `--`, `~~` and `[` stay literal) and the rest.
fn parse_class(s: &str) -> Option<(String, &str)> {
    let mut t = &s[1..];
    let mut out = String::from("[");
    if let Some(rest) = t.strip_prefix('^') {
        out.push('^');
        t = rest;
    }
    let mut first = true;
    loop {
        if t.starts_with(']') && !first {
            break;
        }
        first = false;
        if t.starts_with("[:") {
            if let Some(end) = t[2..].find(":]") {
                let name = &t[..end + 4];
                const POSIX: &[&str] = &[
                    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
                    "print", "punct", "space", "upper", "word", "xdigit",
                ];
                let bare = name[2..name.len() - 2].trim_start_matches('^');
                if !POSIX.contains(&bare) || name[2..].matches('^').count() > 1 {
                    return None;
                }
                out.push_str(name);
                t = &t[end + 4..];
                continue;
            }
        }
        if t.starts_with("\\p") || t.starts_with("\\P") {
            let (item, rest) = unicode_class(t)?;
            out.push_str(&item);
            t = rest;
            continue;
        }
        if let Some(class) = t
            .strip_prefix('\\')
            .and_then(|r| r.chars().next())
            .and_then(perl_class)
        {
            out.push_str(class);
            t = &t[2..];
            continue;
        }
        let (lo, rest) = class_char(t)?;
        t = rest;
        let mut hi = lo;
        if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
            let (h, rest) = class_char(&t[1..])?;
            if h < lo {
                return None;
            }
            hi = h;
            t = rest;
        }
        out.push_str(&format!("\\x{{{:X}}}", lo as u32));
        if hi != lo {
            out.push_str(&format!("-\\x{{{:X}}}", hi as u32));
        }
    }
    out.push(']');
    Some((out, &t[1..]))
}

fn class_char(t: &str) -> Option<(char, &str)> {
    let c = t.chars().next()?;
    if c == '\\' {
        parse_escape(t)
    } else {
        Some((c, &t[c.len_utf8()..]))
    }
}

#[cfg(test)]
mod tests {
    use super::compile;

    #[test]
    fn go_accepts_and_refuses_as_go_does() {
        for ok in [
            "a+",
            "a{",
            "a{,5}",
            "\\12",
            "\\0",
            "(?P<1a>x)",
            "(?<n>a)",
            "\\Qa",
            "\\Q[\\E",
            "\\p{^Greek}",
            "\\P{^Greek}",
            "[[:alpha:]]",
            "x*?",
            "(?U)a",
            "\\z",
            "^*",
            "a{1000}",
            "[]a]",
            "[a&&b]",
            "(?i)",
            "(?)",
            "a{01}",
            "[^\\x00-\\x{10FFFF}]",
            "\\_",
            "\\-",
        ] {
            assert!(compile(ok).is_some(), "{ok} should compile");
        }
        for bad in [
            "(",
            "a{1001}",
            "a**",
            "\\C",
            "\\Z",
            "a{2,1}",
            "\\8",
            "(?=a)",
            "[a-\\d]",
            "(?x)a",
            "(?u)a",
            "\\1",
            "a{2}{3}",
            "a*?*",
            "(a{100}){100}",
            "\\e",
            "[\\b]",
            "\\p{Alphabetic}",
            "(?-)",
            "(?i-)",
            "[[:foo:]]",
            "a\\E",
            "\\Q\\E*",
            "a|*",
            "\\q",
            "a{2}?*",
            "[a",
            "\\",
            "a)",
            "[\\Q]\\E]",
            "\\x",
            "\\x1",
            "\\x{}",
            "\\p{greek}",
            "(?P<a>x)(?P<a>y)",
        ] {
            assert!(compile(bad).is_none(), "{bad} should be refused");
        }
    }

    #[test]
    fn classes_are_ascii_and_literals_literal() {
        let re = compile("^\\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        assert!(compile("^a{$").unwrap().is_match("a{"));
        assert!(compile("^[[]$").unwrap().is_match("["));
        assert!(compile("^\\Q.*\\E$").unwrap().is_match(".*"));
        assert!(compile("^\\101$").unwrap().is_match("A"));
        assert!(compile("^[a&&b]+$").unwrap().is_match("&ab"));
    }
}
