//! Go's regular expression syntax (RE2 as `regexp.Compile` reads it), translated into the
//! regex crate's, for the `regex*` template functions and the schema's `pattern`,
//! `patternProperties` and `format: regex`, with Go's compile errors.
//!
//! The two dialects mostly agree; where they do not, this follows Go: `\d`, `\w`, `\s` and
//! `\b` are ASCII, `\Q...\E` quotes, `\12` is octal, a `{` that starts no valid repeat is a
//! literal, `[` inside a class is a literal, named groups may start with a digit (and
//! replacements reach them by name), a repeat
//! of a repeat (`a**`) and counts over 1000 (also nested: `(a{100}){100}`) are refused, as
//! are flags other than `imsU` and Unicode classes Go does not know.

use regex::Regex;

/// Compiles a Go pattern, or `None` when Go's `regexp.Compile` would refuse it.
pub(crate) fn compile(pattern: &str) -> Option<Regex> {
    compile_go(pattern).ok()
}

/// Compiles a Go pattern, or gives Go's error text (`error parsing regexp: missing closing ]:
/// `[a``) when `regexp.Compile` would refuse it.
pub(crate) fn compile_go(pattern: &str) -> Result<Regex, String> {
    let translated = translate_go(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    regex::RegexBuilder::new(&translated)
        .nest_limit(1100)
        .size_limit(1 << 26)
        .build()
        .map_err(|_| format!("error parsing regexp: expression too large: `{pattern}`"))
}

/// One open group: whether something a repeat may apply to ends it, that thing's weight
/// (the largest product of repeat counts along one nesting path, as Go's `repeatIsValid`
/// counts) and the largest weight seen in the group.
#[derive(Default)]
struct Frame {
    atom: Option<u64>,
    max: u64,
    /// Where in the output the last atom starts.
    atom_start: usize,
    /// Where in the output the group's `(` is.
    open_at: usize,
    /// Where in the output a flags-only group (`(?i)`) after the last atom starts: Go lets a
    /// repeat after it take that atom.
    flags_at: Option<usize>,
}

impl Frame {
    fn push(&mut self, weight: u64) {
        self.atom = Some(weight);
        self.max = self.max.max(weight);
        self.flags_at = None;
    }
}

/// The pattern in the regex crate's syntax, or `None` when Go refuses it.
pub(crate) fn translate(p: &str) -> Option<String> {
    translate_go(p).ok()
}

/// Go's error code and argument, as `regexp/syntax.Error` prints them.
fn err(code: &str, arg: &str) -> String {
    format!("{code}: `{arg}`")
}

const MISSING_PAREN: &str = "missing closing )";
const INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const MISSING_REPEAT_ARG: &str = "missing argument to repetition operator";
const NESTED_REPEAT: &str = "invalid nested repetition operator";
const INVALID_ESCAPE: &str = "invalid escape sequence";
const INVALID_RANGE: &str = "invalid character class range";
const INVALID_NAMED: &str = "invalid named capture";
const INVALID_PERL: &str = "invalid or unsupported Perl syntax";

/// The pattern in the regex crate's syntax, or Go's error (code and argument).
fn translate_go(p: &str) -> Result<String, String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut stack = vec![Frame::default()];
    let mut group_names = 0usize;
    let mut t = p;
    // Where the previous repeat operator started in `p` (Go's `lastRepeat`).
    let mut last_repeat: Option<usize> = None;
    let top = |stack: &mut Vec<Frame>| -> usize { stack.len() - 1 };
    while let Some(c) = t.chars().next() {
        let mut repeat = None;
        let before = out.len();
        let at = p.len() - t.len();
        match c {
            '(' => {
                if let Some(rest) = t.strip_prefix("(?") {
                    let named = rest
                        .strip_prefix("P<")
                        .or_else(|| rest.strip_prefix('<'))
                        .filter(|_| rest.len() > 1);
                    if let Some(named) = named {
                        let Some(end) = named.find('>') else {
                            return Err(err(INVALID_NAMED, t));
                        };
                        let name = &named[..end];
                        let whole = &t[..t.len() - named.len() + end + 1];
                        if name.is_empty()
                            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        {
                            return Err(err(INVALID_NAMED, whole));
                        }
                        // Go allows a name twice and names that start with a digit; the
                        // regex crate allows neither, so every Go name is encoded (see
                        // `go_group_names`), numbered to keep them distinct.
                        group_names += 1;
                        out.push_str(&format!("(?P<{}>", encode_name(name, group_names)));
                        stack.push(Frame {
                            open_at: before,
                            ..Frame::default()
                        });
                        t = &named[end + 1..];
                    } else {
                        let (flags, group, after) =
                            perl_flags(rest).ok_or_else(|| perl_error(t))?;
                        if group {
                            out.push_str(&format!("(?{flags}:"));
                            stack.push(Frame {
                                open_at: before,
                                ..Frame::default()
                            });
                        } else if !flags.is_empty() {
                            out.push_str(&format!("(?{flags})"));
                            let i = top(&mut stack);
                            if stack[i].atom.is_some() && stack[i].flags_at.is_none() {
                                stack[i].flags_at = Some(before);
                            }
                        }
                        t = after;
                    }
                } else {
                    out.push('(');
                    stack.push(Frame {
                        open_at: before,
                        ..Frame::default()
                    });
                    t = &t[1..];
                }
            }
            ')' => {
                if stack.len() < 2 {
                    return Err(err("unexpected )", p));
                }
                let inner = stack.pop().unwrap_or_default();
                out.push(')');
                let i = top(&mut stack);
                stack[i].push(inner.max.max(1));
                stack[i].atom_start = inner.open_at;
                t = &t[1..];
            }
            '|' => {
                out.push('|');
                let i = top(&mut stack);
                stack[i].atom = None;
                stack[i].flags_at = None;
                t = &t[1..];
            }
            '*' | '+' | '?' => {
                let mut op_len = 1;
                if t[1..].starts_with('?') {
                    op_len = 2;
                }
                let op = &t[..op_len];
                if let Some(start) = last_repeat {
                    return Err(err(NESTED_REPEAT, &p[start..at + op_len]));
                }
                let i = top(&mut stack);
                if stack[i].atom.is_none() {
                    return Err(err(MISSING_REPEAT_ARG, op));
                }
                apply_repeat(&mut out, &mut stack[i], op);
                t = &t[op_len..];
                repeat = Some(at);
            }
            '{' => match parse_repeat(t) {
                Some((min, max, after)) => {
                    let mut op_len = t.len() - after.len();
                    let size = &t[..op_len];
                    if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                        return Err(err(INVALID_REPEAT_SIZE, size));
                    }
                    if after.starts_with('?') {
                        op_len += 1;
                    }
                    if let Some(start) = last_repeat {
                        return Err(err(NESTED_REPEAT, &p[start..at + op_len]));
                    }
                    let i = top(&mut stack);
                    let Some(w) = stack[i].atom else {
                        return Err(err(MISSING_REPEAT_ARG, &t[..op_len]));
                    };
                    let m = if max >= 0 { max } else { min } as u64;
                    let weight = if m == 0 { 1 } else { m.saturating_mul(w) };
                    if (min >= 2 || max >= 2) && weight > 1000 {
                        return Err(err(INVALID_REPEAT_SIZE, size));
                    }
                    let mut op = if max < 0 {
                        format!("{{{min},}}")
                    } else {
                        format!("{{{min},{max}}}")
                    };
                    if op_len > size.len() {
                        op.push('?');
                    }
                    apply_repeat(&mut out, &mut stack[i], &op);
                    let start = stack[i].atom_start;
                    stack[i].push(weight);
                    stack[i].atom_start = start;
                    t = &t[op_len..];
                    repeat = Some(at);
                }
                None => {
                    out.push_str("\\{");
                    atom(&mut stack, before);
                    t = &t[1..];
                }
            },
            '^' | '$' | '.' => {
                out.push(c);
                atom(&mut stack, before);
                t = &t[1..];
            }
            '[' => {
                let (class, after) = parse_class(t)?;
                out.push_str(&class);
                atom(&mut stack, before);
                t = after;
            }
            '\\' => {
                let (piece, after) = top_level_escape(t)?;
                out.push_str(&piece);
                if !piece.is_empty() {
                    atom(&mut stack, before);
                }
                t = after;
            }
            _ => {
                push_literal(&mut out, c);
                atom(&mut stack, before);
                t = &t[c.len_utf8()..];
            }
        }
        last_repeat = repeat;
    }
    if stack.len() == 1 {
        Ok(out)
    } else {
        Err(err(MISSING_PAREN, p))
    }
}

/// The regex crate's name for the `n`th named group of a Go pattern, called `name` in Go:
/// `_g`, the number, `_`, then the name's bytes in hex.
fn encode_name(name: &str, n: usize) -> String {
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{GROUP_PREFIX}{n}_{hex}")
}

const GROUP_PREFIX: &str = "_g";

/// The Go names of a compiled pattern's groups, by group number (`None` for unnamed ones),
/// as Go's `Regexp.SubexpNames` gives them.
pub(crate) fn go_group_names(re: &Regex) -> Vec<Option<String>> {
    re.capture_names()
        .map(|n| {
            let (_, hex) = n?.strip_prefix(GROUP_PREFIX)?.split_once('_')?;
            let bytes: Option<Vec<u8>> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect();
            String::from_utf8(bytes?).ok()
        })
        .collect()
}

/// Go's `Regexp.Expand` of `template` for one match: `$name` and `${name}` become the text of
/// group `name` (a number without leading zeros under 10^8 is a group number; otherwise the
/// first group of that name that took part in the match), `$$` is `$`, and a `$` that starts
/// no valid reference is kept as it is. A name is a run of Unicode letters, decimal digits
/// and `_`.
pub(crate) fn go_expand(
    out: &mut String,
    template: &str,
    caps: &regex::Captures<'_>,
    names: &[Option<String>],
) {
    let mut t = template;
    while let Some(i) = t.find('$') {
        out.push_str(&t[..i]);
        t = &t[i..];
        if t[1..].starts_with('$') {
            out.push('$');
            t = &t[2..];
            continue;
        }
        let Some((name, rest)) = expand_name(t) else {
            out.push('$');
            t = &t[1..];
            continue;
        };
        t = rest;
        let group = match group_number(name) {
            Some(n) => caps.get(n),
            None => names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.as_deref() == Some(name))
                .find_map(|(i, _)| caps.get(i)),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(t);
}

/// The name of the reference `t` (which starts with `$`) makes, and the text after it.
fn expand_name(t: &str) -> Option<(&str, &str)> {
    let (braced, body) = match t[1..].strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, &t[1..]),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c == '_' || is_go_letter_or_digit(c)))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let rest = body[end..].strip_prefix('}')?;
        return Some((name, rest));
    }
    Some((name, &body[end..]))
}

/// A group number as Go's `extract` reads one: decimal digits, no leading zero, under 10^8.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    let mut n: usize = 0;
    for b in name.bytes() {
        if n >= 100_000_000 {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(n)
}

/// Go's `unicode.IsLetter(c) || unicode.IsDigit(c)`: general categories L and Nd.
fn is_go_letter_or_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[\p{L}\p{Nd}]$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut [0; 4])))
}

/// Records an atom that starts at `start` in the output.
fn atom(stack: &mut [Frame], start: usize) {
    if let Some(f) = stack.last_mut() {
        f.push(1);
        f.atom_start = start;
    }
}

/// Appends a repeat operator to the frame's last atom. When a flags-only group came between
/// the atom and the operator (`a(?i)*`, which Go reads as `a*` followed by the flags), the
/// atom is wrapped and the flags moved after the operator.
fn apply_repeat(out: &mut String, f: &mut Frame, op: &str) {
    match f.flags_at.take() {
        Some(at) if at >= f.atom_start && at <= out.len() => {
            let flags = out.split_off(at);
            out.insert_str(f.atom_start, "(?:");
            out.push(')');
            out.push_str(op);
            out.push_str(&flags);
        }
        _ => out.push_str(op),
    }
}

/// Go's error for a bad `(?` group starting `t`: the text up to the offending character.
fn perl_error(t: &str) -> String {
    let body = &t[2..];
    for (i, c) in body.char_indices() {
        if !matches!(c, 'i' | 'm' | 's' | 'U' | '-') {
            if c == ')' || c == ':' {
                return err(INVALID_PERL, &t[..2 + i + 1]);
            }
            return err(INVALID_PERL, &t[..2 + i + c.len_utf8()]);
        }
    }
    err(INVALID_PERL, t)
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
fn top_level_escape(t: &str) -> Result<(String, &str), String> {
    let mut chars = t[1..].chars();
    let Some(c) = chars.next() else {
        return Err("trailing backslash at end of expression: ``".into());
    };
    let after = &t[1 + c.len_utf8()..];
    match c {
        'A' => return Ok(("\\A".into(), after)),
        'z' => return Ok(("\\z".into(), after)),
        'b' => return Ok(("(?-u:\\b)".into(), after)),
        'B' => return Ok(("(?-u:\\B)".into(), after)),
        'C' => return Err(err(INVALID_ESCAPE, "\\C")),
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
            return Ok((s, rest));
        }
        'p' | 'P' => {
            let (class, rest) = unicode_class(t)?;
            return Ok((format!("[{class}]"), rest));
        }
        _ => {}
    }
    if let Some(class) = perl_class(c) {
        return Ok((format!("[{class}]"), after));
    }
    let (r, rest) = escape(t)?;
    let mut s = String::new();
    push_literal(&mut s, r);
    Ok((s, rest))
}

/// How much of a bad `\x` escape Go's `parseEscape` read before it failed.
fn hex_escape_len(t: &str) -> usize {
    let mut n = 2;
    let rest = &t[2..];
    if let Some(braced) = rest.strip_prefix('{') {
        n += 1;
        for c in braced.chars() {
            n += c.len_utf8();
            if c == '}' || !c.is_ascii_hexdigit() {
                break;
            }
        }
    } else {
        for c in rest.chars().take(2) {
            n += c.len_utf8();
        }
    }
    n.min(t.len())
}

/// [`parse_escape`] with Go's error: the backslash and the character after it.
fn escape(t: &str) -> Result<(char, &str), String> {
    parse_escape(t).ok_or_else(|| {
        let n = t[1..].chars().next().map_or(0, char::len_utf8);
        if n == 0 {
            "trailing backslash at end of expression: ``".to_string()
        } else if t[1..].starts_with('x') {
            err(INVALID_ESCAPE, &t[..hex_escape_len(t)])
        } else {
            err(INVALID_ESCAPE, &t[..1 + n])
        }
    })
}

/// `\p{Name}`, `\pN`, `\P...` and `\p{^Name}` as a class item; `None` for names Go's
/// `unicodeTable` lacks (it knows `Any`, the general categories and the scripts, spelt
/// exactly).
fn unicode_class(t: &str) -> Result<(String, &str), String> {
    let mut negate = t.as_bytes().get(1) == Some(&b'P');
    let body = &t[2..];
    let Some(first) = body.chars().next() else {
        return Err(err(INVALID_RANGE, t));
    };
    let (mut name, rest) = if first == '{' {
        let Some(end) = t.find('}') else {
            return Err(err(INVALID_RANGE, t));
        };
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
            return Err(err(INVALID_RANGE, &t[..t.len() - rest.len()]));
        }
        format!("\\p{{sc={name}}}")
    };
    Ok((if negate { format!("[^{item}]") } else { item }, rest))
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
fn parse_class(s: &str) -> Result<(String, &str), String> {
    let missing = || err("missing closing ]", s);
    let mut t = &s[1..];
    let mut out = String::from("[");
    if let Some(rest) = t.strip_prefix('^') {
        out.push('^');
        t = rest;
    }
    let mut first = true;
    loop {
        if t.is_empty() {
            return Err(missing());
        }
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
                    return Err(err(INVALID_RANGE, name));
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
        let range_start = t;
        let (lo, rest) = class_char(t)?;
        t = rest;
        let mut hi = lo;
        if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
            let (h, rest) = class_char(&t[1..])?;
            if h < lo {
                return Err(err(
                    INVALID_RANGE,
                    &range_start[..range_start.len() - rest.len()],
                ));
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
    Ok((out, &t[1..]))
}

fn class_char(t: &str) -> Result<(char, &str), String> {
    match t.chars().next() {
        Some('\\') => escape(t),
        Some(c) => Ok((c, &t[c.len_utf8()..])),
        None => Err(err(INVALID_ESCAPE, t)),
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
            "(?P<a>x)(?P<a>y)",
            "a(?i)*",
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
