//! Go's `fmt` formatting of template values: `%v` of floats, maps and lists, `Sprint`,
//! `Sprintln` and `Sprintf` with the verbs, flags and `%!verb(type=value)` complaints of Go.

use crate::value::Value;

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    quote_into(&mut out, s, '"');
    out.push('"');
    out
}

fn quote_into(out: &mut String, s: &str, quote: char) {
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            // A raw byte (invalid UTF-8 in Go's string).
            c if crate::value::raw_byte_of(c).is_some() => out.push_str(&format!(
                "\\x{:02x}",
                crate::value::raw_byte_of(c).unwrap_or(0)
            )),
            c if !is_go_print(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
}

/// Go's `strconv.QuoteToASCII` (`%+q`): non-ASCII runes escaped as `\u` or `\U`.
pub fn go_quote_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii() || crate::value::raw_byte_of(c).is_some() {
            quote_into(&mut out, c.encode_utf8(&mut [0; 4]), '"');
        } else if (c as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(&format!("\\U{:08x}", c as u32));
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space.
fn is_go_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c as u32, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0xfeff | 0xfff9..=0xfffb))
}

/// The Go type name of a value as `%T` prints it.
pub fn type_name(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_) => "int".into(),
        Value::Int64(_) => "int64".into(),
        Value::Float(_) => "float64".into(),
        Value::String(_) => "string".into(),
        Value::List(_) => "[]interface {}".into(),
        Value::Map(_) => "map[string]interface {}".into(),
        Value::Object(o) => o.type_name().to_string(),
    }
}

/// Go's shortest `strconv.FormatFloat(f, fmt, -1, 64)` for `fmt` in `g`, `e`, `f`; and with a
/// precision when `prec` is set.
pub fn format_float(f: f64, fmt: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let body = match (fmt, prec) {
        ('f', Some(p)) => format!("{a:.p$}"),
        ('f', None) => {
            let (digits, exp) = shortest_digits(a);
            fixed_from_digits(&digits, exp, None)
        }
        ('e' | 'E', Some(p)) => {
            let s = format!("{a:.p$e}");
            go_exp(&s, fmt == 'E')
        }
        ('e' | 'E', None) => {
            let (digits, exp) = shortest_digits(a);
            exp_from_digits(&digits, exp, fmt == 'E')
        }
        ('g' | 'G', p) => {
            let (digits, exp) = match p {
                None => shortest_digits(a),
                Some(p) => {
                    let p = p.max(1);
                    let s = format!("{a:.prec$e}", prec = p - 1);
                    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                    let mut d: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
                    while d.len() > 1 && d.ends_with('0') {
                        d.pop();
                    }
                    (d, e.parse::<i32>().unwrap_or(0))
                }
            };
            let eprec = match p {
                None => 6,
                Some(p) => {
                    let p = p.max(1) as i32;
                    if p > digits.len() as i32 && digits.len() as i32 > exp {
                        digits.len() as i32
                    } else {
                        p
                    }
                }
            };
            if a != 0.0 && (exp < -4 || exp >= eprec) {
                exp_from_digits(&digits, exp, fmt == 'G')
            } else if a == 0.0 {
                "0".into()
            } else {
                fixed_from_digits(&digits, exp, None)
            }
        }
        _ => format!("{a}"),
    };
    if neg { format!("-{body}") } else { body }
}

/// The shortest decimal digits that round-trip `a` (> 0), and the decimal exponent of the
/// first digit.
fn shortest_digits(a: f64) -> (String, i32) {
    if a == 0.0 {
        return ("0".into(), 0);
    }
    let s = format!("{a:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, e.parse().unwrap_or(0))
}

fn exp_from_digits(digits: &str, exp: i32, upper: bool) -> String {
    let mut s = String::new();
    s.push_str(&digits[..1]);
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits[1..]);
    }
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

fn fixed_from_digits(digits: &str, exp: i32, _prec: Option<usize>) -> String {
    let n = digits.len() as i32;
    if exp < 0 {
        let mut s = "0.".to_string();
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(digits);
        s
    } else if exp + 1 >= n {
        let mut s = digits.to_string();
        for _ in 0..(exp + 1 - n) {
            s.push('0');
        }
        s
    } else {
        let (a, b) = digits.split_at((exp + 1) as usize);
        format!("{a}.{b}")
    }
}

/// Turns Rust's `1.5e3` into Go's `1.5e+03`.
fn go_exp(s: &str, upper: bool) -> String {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let mut out = m.to_string();
    out.push(if upper { 'E' } else { 'e' });
    out.push(if e < 0 { '-' } else { '+' });
    let a = e.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// Go's `%v` of a value (as `fmt.Sprint` prints one operand).
pub fn sprint_value(v: &Value) -> String {
    let mut s = String::new();
    write_v(&mut s, v);
    s
}

/// Appends Go's `%v` of a value.
pub fn write_v(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f, 'g', None)),
        Value::String(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, x);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, x);
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&o.format()),
    }
}

/// Go's `fmt.Sprint`: operands formatted with `%v`, a space between two operands when neither
/// is a string.
pub fn sprint(args: &[&Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_v(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[&Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(&mut out, a);
    }
    out.push('\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    /// `%#v`: Go syntax (Go moves `#` here for the `v` verb).
    sharp_v: bool,
    /// `%+v`: struct field names (Go moves `+` here for the `v` verb).
    plus_v: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`: flags, explicit argument indexes (`%[2]d`, `%[1]*d`), widths and
/// precisions from arguments, and Go's complaints (`%!d(MISSING)`, `%!d(BADINDEX)`,
/// `%!(BADWIDTH)`, `%!(NOVERB)`, `%!(EXTRA …)` unless arguments were reordered).
pub fn sprintf(format: &str, args: &[&Value]) -> String {
    let mut out = String::new();
    let b = format.as_bytes();
    let end = b.len();
    let mut argi = 0;
    let mut reordered = false;
    let mut i = 0;
    while i < end {
        let mut good_index = true;
        let start = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= end {
            break;
        }
        i += 1;
        let mut sp = Spec::default();
        while i < end {
            match b[i] {
                b'#' => sp.sharp = true,
                b'0' => sp.zero = !sp.minus,
                b'+' => sp.plus = true,
                b'-' => {
                    sp.minus = true;
                    sp.zero = false;
                }
                b' ' => sp.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut after_index;
        reordered |= b.get(i) == Some(&b'[');
        (argi, i, after_index) = arg_number(argi, format, i, args.len(), &mut good_index);
        if i < end && b[i] == b'*' {
            i += 1;
            let (w, ok, next) = int_from_arg(args, argi);
            argi = next;
            if !ok {
                out.push_str("%!(BADWIDTH)");
            }
            if w < 0 {
                sp.minus = true;
                sp.zero = false;
            }
            sp.width = ok.then_some(w.unsigned_abs() as usize);
            after_index = false;
        } else {
            let (w, present, next) = parse_num(b, i);
            i = next;
            if present {
                sp.width = Some(w);
                if after_index {
                    good_index = false;
                }
            }
        }
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                good_index = false;
            }
            reordered |= b.get(i) == Some(&b'[');
            (argi, i, after_index) = arg_number(argi, format, i, args.len(), &mut good_index);
            if i < end && b[i] == b'*' {
                i += 1;
                let (p, ok, next) = int_from_arg(args, argi);
                argi = next;
                if ok && p >= 0 {
                    sp.prec = Some(p as usize);
                } else {
                    out.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (p, _, next) = parse_num(b, i);
                i = next;
                sp.prec = Some(p);
            }
        }
        if !after_index {
            reordered |= b.get(i) == Some(&b'[');
            (argi, i, _) = arg_number(argi, format, i, args.len(), &mut good_index);
        }
        if i >= end {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('%');
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_index {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        if verb == 'v' {
            // Go's doPrintf: `#` and `+` mean Go syntax and field names for `v`, not flags.
            sp.sharp_v = std::mem::take(&mut sp.sharp);
            sp.plus_v = std::mem::take(&mut sp.plus);
        }
        format_arg(&mut out, arg, verb, &sp);
    }
    if !reordered && argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if let Value::Nil = a {
                out.push_str("<nil>");
            } else {
                out.push_str(&type_name(a));
                out.push('=');
                write_v(&mut out, a);
            }
        }
        out.push(')');
    }
    out
}

/// Go's `parsenum`: the decimal number at `i` (none: 0, false), and where it ends. A number
/// past 10^6 gives up on the rest of the format.
fn parse_num(b: &[u8], mut i: usize) -> (usize, bool, usize) {
    let mut n: usize = 0;
    let mut present = false;
    while i < b.len() && b[i].is_ascii_digit() {
        if n > 1_000_000 {
            return (0, false, b.len());
        }
        n = n * 10 + usize::from(b[i] - b'0');
        present = true;
        i += 1;
    }
    (n, present, i)
}

/// Go's `argNumber`: an explicit `[n]` at `i` selects argument n (1-based); a malformed or
/// out-of-range one makes the directive `BADINDEX`. Returns the argument number, where
/// parsing goes on, and whether an index was read.
fn arg_number(
    argi: usize,
    format: &str,
    i: usize,
    n: usize,
    good: &mut bool,
) -> (usize, usize, bool) {
    let b = format.as_bytes();
    if i >= b.len() || b[i] != b'[' {
        return (argi, i, false);
    }
    let rest = &b[i..];
    if rest.len() < 3 {
        *good = false;
        return (argi, i + 1, false);
    }
    let Some(close) = rest.iter().position(|&c| c == b']') else {
        *good = false;
        return (argi, i + 1, false);
    };
    let (num, present, stop) = parse_num(rest, 1);
    if !present || stop != close {
        *good = false;
        return (argi, i + close + 1, false);
    }
    match num.checked_sub(1) {
        Some(idx) if idx < n => (idx, i + close + 1, true),
        _ => {
            *good = false;
            (argi, i + close + 1, true)
        }
    }
}

/// Go's `intFromArg`: argument `argi` as a width or precision (an integer of at most 10^6
/// in size), whether it was one, and the next argument number.
fn int_from_arg(args: &[&Value], argi: usize) -> (i64, bool, usize) {
    let Some(a) = args.get(argi) else {
        return (0, false, argi);
    };
    let n = match a {
        Value::Int(n) | Value::Int64(n) => Some(*n),
        Value::Object(o) => o.go_int().and_then(|n| i64::try_from(n).ok()),
        _ => None,
    };
    match n {
        Some(n) if (-1_000_000..=1_000_000).contains(&n) => (n, true, argi + 1),
        _ => (0, false, argi + 1),
    }
}

/// The directive `sp` and `verb` were parsed from (`%-5.1s`).
fn directive(sp: &Spec, verb: char) -> String {
    let mut d = String::from("%");
    for (on, c) in [
        (sp.minus, '-'),
        (sp.plus, '+'),
        (sp.sharp, '#'),
        (sp.space, ' '),
        (sp.zero, '0'),
    ] {
        if on {
            d.push(c);
        }
    }
    if let Some(w) = sp.width {
        d.push_str(&w.to_string());
    }
    if let Some(p) = sp.prec {
        d.push('.');
        d.push_str(&p.to_string());
    }
    d.push(verb);
    d
}

fn pad(out: &mut String, s: &str, sp: &Spec, numeric: bool) {
    let n = s.chars().count();
    let w = sp.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if sp.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if sp.zero && numeric {
        // Zero padding goes after the sign.
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else if sp.zero {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Go's `%!verb(type=value)`; the value is printed with `%v` and the verb's flags, width and
/// precision (`%03d` of 3.0 is `%!d(float64=003)`).
fn bad_verb(out: &mut String, v: &Value, verb: char, sp: &Spec) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if let Value::Nil = v {
        out.push_str("<nil>");
    } else {
        out.push_str(&type_name(v));
        out.push('=');
        // Go prints the operand with `v` but the directive's flags: `+` is a sign and `#`
        // the alternate form here.
        format_arg(out, v, 'v', sp);
    }
    out.push(')');
}

/// Go's `%x`/`%X` of a finite float64: a hexadecimal mantissa `1.hhh` (shortest without a
/// precision, else rounded half to even to `prec` digits) and a binary exponent of at least
/// two digits (`0x1.8p+01`).
fn hex_float(f: f64, upper: bool, prec: Option<usize>) -> String {
    let bits = f.to_bits();
    let neg = bits >> 63 == 1;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 && mant == 0 {
        exp = 0;
    } else if exp == 0 {
        // Subnormal: normalise so the leading 1 sits at bit 52.
        exp = -1022;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
    } else {
        mant |= 1u64 << 52;
        exp -= 1023;
    }
    let lead = mant >> 52;
    let mut frac = mant & ((1u64 << 52) - 1);
    let mut lead = lead;
    let text = match prec {
        None => {
            let t = format!("{frac:013x}");
            t.trim_end_matches('0').to_string()
        }
        Some(p) if p < 13 => {
            let shift = 4 * (13 - p as u32);
            let full = (lead << 52) | frac;
            let mut q = full >> shift;
            let rem = full & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q += 1;
            }
            if q >> (4 * p as u32) >= 2 {
                q >>= 1;
                exp += 1;
            }
            lead = q >> (4 * p as u32);
            frac = q & ((1u64 << (4 * p as u32)) - 1);
            if p == 0 {
                String::new()
            } else {
                format!("{frac:0w$x}", w = p)
            }
        }
        Some(p) => format!("{frac:013x}{}", "0".repeat(p - 13)),
    };
    let dot = if text.is_empty() { "" } else { "." };
    let sign = if exp < 0 { '-' } else { '+' };
    let body = format!("0x{lead}{dot}{text}p{sign}{:02}", exp.abs());
    let s = if neg { format!("-{body}") } else { body };
    if upper { s.to_uppercase() } else { s }
}

/// Go's `%b` of a float64: decimal mantissa and binary exponent (`6755399441055744p-51`).
fn binary_float(f: f64) -> String {
    let bits = f.to_bits();
    let neg = bits >> 63 == 1;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp = 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023 + 52;
    let sign = if exp >= 0 { "+" } else { "" };
    format!("{}{mant}p{sign}{exp}", if neg { "-" } else { "" })
}

/// Go's `fmtInteger`: digits in the verb's base, zero-padded to the precision (or, with the
/// `0` flag and no precision, to the width less the sign), then the `#` prefix and the sign;
/// padded with spaces. A zero with precision 0 prints no digits.
fn format_int(out: &mut String, i: i128, verb: char, sp: &Spec) {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let mut digits = match verb {
        'x' => format!("{a:x}"),
        'X' => format!("{a:X}"),
        'o' | 'O' => format!("{a:o}"),
        'b' => format!("{a:b}"),
        _ => a.to_string(),
    };
    let spaces = Spec { zero: false, ..*sp };
    let mut min_digits = 0;
    if let Some(p) = sp.prec {
        if p == 0 && a == 0 {
            return pad(out, "", &spaces, false);
        }
        min_digits = p;
    } else if let (true, false, Some(w)) = (sp.zero, sp.minus, sp.width) {
        min_digits = if neg || sp.plus || sp.space {
            w.saturating_sub(1)
        } else {
            w
        };
    }
    if digits.len() < min_digits {
        digits.insert_str(0, &"0".repeat(min_digits - digits.len()));
    }
    let mut prefix = match verb {
        'b' if sp.sharp => "0b",
        'o' | 'O' if sp.sharp && !digits.starts_with('0') => "0",
        'x' if sp.sharp => "0x",
        'X' if sp.sharp => "0X",
        _ => "",
    }
    .to_string();
    if verb == 'O' {
        prefix.insert_str(0, "0o");
    }
    let sign = if neg {
        "-"
    } else if sp.plus {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    };
    pad(out, &format!("{sign}{prefix}{digits}"), &spaces, false);
}

/// Go's `fmtFloat` for the verbs of a float64 (`v` is `g`; `e`, `f` default to precision
/// 6): the sign (`+`, or a space), `#`'s decimal point and trailing zeros (which Go also
/// adds to `%#x`, counting the `x` as a digit), zero padding after the sign, and infinities
/// and NaN never zero-padded.
fn format_float_verb(out: &mut String, f: f64, verb: char, sp: &Spec) {
    let (fv, default) = match verb {
        'v' => ('g', None),
        'F' => ('f', Some(6)),
        'e' | 'E' | 'f' => (verb, Some(6)),
        _ => (verb, None),
    };
    let prec = sp.prec.or(default);
    let body = if !f.is_finite() {
        format_float(f, 'g', None)
    } else {
        match fv {
            'x' | 'X' => hex_float(f, fv == 'X', prec),
            'b' => binary_float(f),
            _ => format_float(f, fv, prec),
        }
    };
    let mut num = if body.starts_with(['-', '+']) {
        body
    } else {
        format!("+{body}")
    };
    if sp.space && num.starts_with('+') && !sp.plus {
        num.replace_range(0..1, " ");
    }
    if num[1..].starts_with(['I', 'N']) {
        if num[1..].starts_with('N') && !sp.space && !sp.plus {
            num.remove(0);
        }
        let sp = Spec { zero: false, ..*sp };
        return pad(out, &num, &sp, false);
    }
    if sp.sharp && fv != 'b' {
        let mut digits: i64 = match fv {
            'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
            _ => 0,
        };
        let chars: Vec<char> = num.chars().collect();
        let mut head = String::new();
        head.push(chars[0]);
        let mut tail = String::new();
        let (mut has_dot, mut nonzero) = (false, false);
        for (i, &c) in chars.iter().enumerate().skip(1) {
            match c {
                '.' => has_dot = true,
                'p' | 'P' => {
                    tail = chars[i..].iter().collect();
                    break;
                }
                'e' | 'E' if fv != 'x' && fv != 'X' => {
                    tail = chars[i..].iter().collect();
                    break;
                }
                _ => {
                    nonzero |= c != '0';
                    if nonzero {
                        digits -= 1;
                    }
                }
            }
            head.push(c);
        }
        if !has_dot {
            if head.len() == 2 && head.ends_with('0') {
                digits -= 1;
            }
            head.push('.');
        }
        while digits > 0 {
            head.push('0');
            digits -= 1;
        }
        head.push_str(&tail);
        num = head;
    }
    let shown = if sp.plus || !num.starts_with('+') {
        &num[..]
    } else {
        &num[1..]
    };
    pad(out, shown, sp, true);
}

fn format_arg(out: &mut String, v: &Value, verb: char, sp: &Spec) {
    let composite = match v {
        Value::List(_) | Value::Map(_) => true,
        Value::Object(o) => o.as_shared_map().is_some() || o.typed_list().is_some(),
        _ => false,
    };
    if sp.sharp_v && composite && (sp.width.is_some() || sp.prec.is_some() || sp.space) {
        // Go applies the width, precision and sign flags to each element (and key), not to
        // the whole.
        match crate::value::materialize(v) {
            Ok(_) => go_syntax_each(out, v, sp),
            Err(e) => out.push_str(&e),
        }
        return;
    }
    if let (true, Value::Object(o)) = (sp.sharp_v, v) {
        if o.type_name() == "*semver.Version"
            && (sp.width.is_some() || sp.prec.is_some() || sp.space)
        {
            // A struct pointer without GoString: each field gets the directive.
            let d = directive(&Spec { sharp: true, ..*sp }, 'v');
            if let Some(t) = o.format_verb(&d) {
                return out.push_str(&t);
            }
        }
    }
    if sp.sharp_v && !is_scalar(v) {
        // Go syntax names the Go types, so typed slices and named maps are printed as they
        // are (after checking that no map contains itself).
        match crate::value::materialize(v) {
            Ok(_) => {
                let mut text = go_syntax(v);
                if let (Value::Object(o), Some(p)) = (v, sp.prec) {
                    // A GoStringer's text is cut to the precision.
                    if o.type_name() == "time.Time" {
                        text = text.chars().take(p).collect();
                    }
                }
                pad(out, &text, sp, false)
            }
            Err(e) => out.push_str(&e),
        }
        return;
    }
    if let (Value::Object(o), 'v', true) = (v, verb, sp.plus_v) {
        if is_stringer(o.type_name()) && !sp.sharp_v {
            return format_arg(out, &Value::String(o.format()), 'v', sp);
        }
        if !crate::value::has_shared(v) && o.go_int().is_none() {
            pad(out, &o.format_plus(), sp, false);
            return;
        }
    }
    if crate::value::has_shared(v) && verb != 'T' {
        // A map or typed slice as templates hold it: formatted as its plain contents.
        match crate::value::materialize(v) {
            Ok(plain) => format_arg(out, &plain, verb, sp),
            Err(e) => out.push_str(&e),
        }
        return;
    }
    if verb == 'T' {
        let t = type_name(v);
        let t: String = match sp.prec {
            // Go pads `<nil>` without truncating it.
            Some(p) if !matches!(v, Value::Nil) => t.chars().take(p).collect(),
            _ => t,
        };
        return pad(out, &t, sp, false);
    }
    match v {
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_elem(out, x, verb, sp);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, &Value::String(k.clone()), verb, sp);
                out.push(':');
                format_elem(out, x, verb, sp);
            }
            out.push(']');
        }
        Value::Nil => match verb {
            'v' => pad(out, "<nil>", sp, false),
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, sp, false),
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Int(i) | Value::Int64(i) => match verb {
            'v' | 'd' | 'x' | 'X' | 'o' | 'O' | 'b' => format_int(out, i128::from(*i), verb, sp),
            'c' | 'q' | 'U' => format_rune(out, i128::from(*i), verb, sp),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, v, verb, sp),
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Float(f) => match verb {
            'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F' | 'x' | 'X' | 'b' => {
                format_float_verb(out, *f, verb, sp)
            }
            _ => bad_verb(out, v, verb, sp),
        },
        Value::String(s) if sp.sharp_v => {
            let t: String = match sp.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            pad(out, &go_quote(&t), sp, false);
        }
        Value::String(s) => match verb {
            'v' | 's' => {
                let t: String = match sp.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.clone(),
                };
                pad(out, &t, sp, false);
            }
            'q' => {
                let t: String = match sp.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.clone(),
                };
                let q = if sp.sharp && can_backquote(&t) {
                    format!("`{t}`")
                } else if sp.plus {
                    go_quote_ascii(&t)
                } else {
                    go_quote(&t)
                };
                pad(out, &q, sp, false);
            }
            'x' | 'X' => {
                let mut h = String::new();
                let prefix = if verb == 'x' { "0x" } else { "0X" };
                if sp.sharp {
                    h.push_str(prefix);
                }
                let bytes = crate::value::go_bytes(s);
                let n = sp.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
                if n == 0 {
                    return pad(out, "", sp, false);
                }
                for (i, byte) in bytes[..n].iter().copied().enumerate() {
                    if sp.space && i > 0 {
                        h.push(' ');
                        if sp.sharp {
                            h.push_str(prefix);
                        }
                    }
                    if verb == 'x' {
                        h.push_str(&format!("{byte:02x}"));
                    } else {
                        h.push_str(&format!("{byte:02X}"));
                    }
                }
                pad(out, &h, sp, false);
            }
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Object(o) if o.bytes().is_some() => {
            let text = crate::value::go_string(o.bytes().unwrap_or_default());
            match verb {
                's' => pad(out, &text, sp, false),
                'q' => pad(out, &go_quote(&text), sp, false),
                'x' | 'X' => {
                    let bytes = o.bytes().unwrap_or_default();
                    let hex: String = bytes
                        .iter()
                        .map(|b| {
                            if verb == 'x' {
                                format!("{b:02x}")
                            } else {
                                format!("{b:02X}")
                            }
                        })
                        .collect();
                    pad(out, &hex, sp, false)
                }
                _ => pad(out, &o.format(), sp, false),
            }
        }
        Value::Object(o) if o.go_int().is_some() => {
            format_go_int(out, o.as_ref(), o.go_int().unwrap_or(0), verb, sp)
        }
        Value::Object(o)
            if is_stringer(o.type_name()) && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') =>
        {
            // fmt's handleMethods: these verbs format the String() text.
            format_arg(out, &Value::String(o.format()), verb, sp)
        }
        Value::Object(o) => match verb {
            'v' => pad(out, &o.format(), sp, false),
            _ if o.format_verb(&directive(sp, verb)).is_some() => {
                // The object applies the width and flags itself (to each field of a struct).
                out.push_str(&o.format_verb(&directive(sp, verb)).unwrap_or_default())
            }
            's' => pad(out, &o.format(), sp, false),
            _ => bad_verb(out, v, verb, sp),
        },
    }
}

/// A value of an integer kind that is not `int` or `int64` (a named integer type such as
/// `time.Month`, or a `uint64`): a `fmt.Stringer` gives its text to `%v`, `%s`, `%q`, `%x`
/// and `%X` (Go's `handleMethods`); the integer verbs print the number, and other verbs
/// complain naming the type, with the number (methods are not called while erroring).
fn format_go_int(out: &mut String, o: &dyn crate::value::Object, n: i128, verb: char, sp: &Spec) {
    if sp.sharp_v {
        // Go syntax: the number, unsigned kinds in hexadecimal.
        if o.kind().starts_with('u') {
            let sp = Spec { sharp: true, ..*sp };
            return format_int(out, n, 'x', &sp);
        }
        return format_int(out, n, 'v', sp);
    }
    let stringer = o.method_sig("String") == Some("");
    if stringer && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') {
        return format_arg(out, &Value::String(o.format()), verb, sp);
    }
    match verb {
        'v' | 'd' | 'x' | 'X' | 'o' | 'O' | 'b' => format_int(out, n, verb, sp),
        'c' | 'q' | 'U' => format_rune(out, n, verb, sp),
        _ => {
            out.push_str("%!");
            out.push(verb);
            out.push('(');
            out.push_str(o.type_name());
            out.push('=');
            format_int(out, n, 'v', sp);
            out.push(')');
        }
    }
}

/// Go's `%c`, `%q` and `%U` of an integer: the character it is (U+FFFD past Unicode or for
/// a surrogate), quoted with single quotes, or its code point.
fn format_rune(out: &mut String, i: i128, verb: char, sp: &Spec) {
    let c = u32::try_from(i)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}');
    match verb {
        'c' => pad(out, &c.to_string(), sp, false),
        'q' => {
            let mut s = String::from("'");
            if c == '\'' {
                s.push_str("\\'");
            } else if sp.plus && !c.is_ascii() {
                // Go's QuoteRuneToASCII.
                if (c as u32) < 0x10000 {
                    s.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    s.push_str(&format!("\\U{:08x}", c as u32));
                }
            } else {
                quote_into(&mut s, &c.to_string(), '\'');
            }
            s.push('\'');
            pad(out, &s, sp, false);
        }
        _ => {
            // Go's fmtUnicode: at least four digits (more with a larger precision), the
            // character after it for `#` when printable, padded with spaces.
            let digits = sp.prec.filter(|p| *p > 4).unwrap_or(4);
            let mut u = format!("U+{:0digits$X}", i as u64);
            let valid = u32::try_from(i).ok().and_then(char::from_u32).is_some();
            if sp.sharp && valid && is_go_print(c) {
                u.push_str(&format!(" '{c}'"));
            }
            let sp = Spec { zero: false, ..*sp };
            pad(out, &u, &sp, false);
        }
    }
}

/// `%#v` with a width or precision of a plain list or map: Go syntax whose scalar elements
/// and keys are each formatted with the directive (a nil element is `interface {}(nil)`,
/// unpadded).
fn go_syntax_each(out: &mut String, v: &Value, sp: &Spec) {
    let elem = |out: &mut String, x: &Value| match x {
        Value::Nil => out.push_str("interface {}(nil)"),
        x if is_scalar(x) => format_arg(out, x, 'v', sp),
        Value::List(_) | Value::Map(_) => go_syntax_each(out, x, sp),
        Value::Object(o) if o.as_shared_map().is_some() || o.typed_list().is_some() => {
            go_syntax_each(out, x, sp)
        }
        x => pad(out, &go_syntax_in(x, false), sp, false),
    };
    let (type_name, items, entries): (String, Vec<Value>, Vec<(String, Value)>) = match v {
        Value::List(l) => ("[]interface {}".into(), l.clone(), Vec::new()),
        Value::Map(m) => (
            "map[string]interface {}".into(),
            Vec::new(),
            m.iter().map(|(k, x)| (k.clone(), x.clone())).collect(),
        ),
        Value::Object(o) => {
            if let Some(t) = o.typed_list() {
                if t.nil {
                    return out.push_str(&format!("{}(nil)", t.type_name));
                }
                (t.type_name.to_string(), t.items(), Vec::new())
            } else if let Some(sm) = o.as_shared_map() {
                if sm.is_nil() {
                    return out.push_str(&format!("{}(nil)", o.type_name()));
                }
                (o.type_name().to_string(), Vec::new(), sm.entries_shared())
            } else {
                return elem(out, v);
            }
        }
        other => return elem(out, other),
    };
    out.push_str(&type_name);
    out.push('{');
    let is_map = matches!(v, Value::Map(_)) || v.as_shared_map().is_some();
    if is_map {
        for (i, (k, x)) in entries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            format_arg(out, &Value::String(k.clone()), 'v', sp);
            out.push(':');
            elem(out, x);
        }
    } else {
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            elem(out, x);
        }
    }
    out.push('}');
}

/// Whether `%#v` prints a value as `%v` does with its flags (booleans, numbers, strings
/// quoted), rather than as Go syntax naming its type.
fn is_scalar(v: &Value) -> bool {
    match v {
        Value::Bool(_) | Value::Int(_) | Value::Int64(_) | Value::Float(_) | Value::String(_) => {
            true
        }
        Value::Object(o) => o.go_int().is_some(),
        _ => false,
    }
}

/// Go's `strconv.CanBackquote`: no control characters but tab, no backquote, no BOM, valid
/// UTF-8.
fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| {
        !(c == '`'
            || c == '\u{feff}'
            || c == '\x7f'
            || (c < ' ' && c != '\t')
            || crate::value::raw_byte_of(c).is_some())
    })
}

/// Host types that are `fmt.Stringer`s whose `String` is their `%v` (`%s`, `%q`, `%x` and a
/// precision apply to that text).
fn is_stringer(type_name: &str) -> bool {
    matches!(
        type_name,
        "time.Time" | "time.Duration" | "*time.Location" | "*semver.Version"
    )
}

/// An element of a list or map: a nil one prints `<nil>` whatever the verb (Go prints the
/// nil interface before looking at the verb).
fn format_elem(out: &mut String, v: &Value, verb: char, sp: &Spec) {
    if matches!(v, Value::Nil) && verb != 'T' {
        out.push_str("<nil>");
    } else {
        format_arg(out, v, verb, sp);
    }
}

/// Go's `%#v` of a value.
pub(crate) fn go_syntax(v: &Value) -> String {
    go_syntax_in(v, true)
}

/// `top` is false for an element of a map or slice of `interface {}`, where Go names the nil
/// interface's type.
fn go_syntax_in(v: &Value, top: bool) -> String {
    let items = |l: &[Value]| -> String {
        l.iter()
            .map(|x| go_syntax_in(x, false))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let entries = |m: &mut dyn Iterator<Item = (String, Value)>| -> String {
        m.map(|(k, x)| format!("{}:{}", go_quote(&k), go_syntax_in(&x, false)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match v {
        Value::Nil if top => "<nil>".into(),
        Value::Nil => "interface {}(nil)".into(),
        Value::String(s) => go_quote(s),
        Value::Float(f) => format_float(*f, 'g', None),
        Value::List(l) => format!("[]interface {{}}{{{}}}", items(l)),
        Value::Map(m) => format!(
            "map[string]interface {{}}{{{}}}",
            entries(&mut m.iter().map(|(k, x)| (k.clone(), x.clone())))
        ),
        Value::Object(o) => {
            if let Some(t) = o.typed_list() {
                if t.nil {
                    return format!("{}(nil)", t.type_name);
                }
                format!("{}{{{}}}", t.type_name, items(&t.items()))
            } else if let Some(sm) = o.as_shared_map() {
                if sm.is_nil() {
                    return format!("{}(nil)", o.type_name());
                }
                format!(
                    "{}{{{}}}",
                    o.type_name(),
                    entries(&mut sm.entries_shared().into_iter())
                )
            } else {
                o.go_syntax()
            }
        }
        other => sprint_value(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        format_float(x, 'g', None)
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(f(1e6), "1e+06");
        assert_eq!(f(123456.0), "123456");
        assert_eq!(f(1234567.0), "1.234567e+06");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(3.0), "3");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(-2.5e-10), "-2.5e-10");
        assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float(2.71555, 'f', Some(2)), "2.72");
        assert_eq!(format_float(1e21, 'f', None), "1000000000000000000000");
        assert_eq!(format_float(1234.5678, 'e', Some(2)), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(100.0, 'g', Some(3)), "100");
    }

    #[test]
    fn sprintf_verbs() {
        let s = Value::String("hi".into());
        let i = Value::Int(42);
        let fl = Value::Float(80.0);
        assert_eq!(sprintf("%s-%d-%v", &[&s, &i, &fl]), "hi-42-80");
        assert_eq!(sprintf("%d", &[&fl]), "%!d(float64=80)");
        assert_eq!(
            sprintf("%5.2f|%-4d|%04d", &[&Value::Float(2.71555), &i, &i]),
            " 2.72|42  |0042"
        );
        assert_eq!(
            sprintf("%q %x %X", &[&s, &s, &Value::Int(255)]),
            "\"hi\" 6869 FF"
        );
        assert_eq!(sprintf("%s %s", &[&s]), "hi %!s(MISSING)");
        assert_eq!(sprintf("%s", &[&s, &i]), "hi%!(EXTRA int=42)");
        assert_eq!(
            sprintf("%t %T %T", &[&Value::Bool(true), &fl, &Value::Nil]),
            "true float64 <nil>"
        );
        assert_eq!(
            sprintf("%v %s", &[&Value::Nil, &Value::Nil]),
            "<nil> %!s(<nil>)"
        );
        assert_eq!(sprintf("100%%", &[]), "100%");
        let l = Value::List(vec![Value::String("a".into()), Value::Int(1)]);
        assert_eq!(sprintf("%v %d", &[&l, &l]), "[a 1] [%!d(string=a) 1]");
    }

    #[test]
    fn sprint_spacing() {
        let a = Value::String("a".into());
        let one = Value::Int(1);
        assert_eq!(sprint(&[&a, &one, &one, &a]), "a1 1a");
        assert_eq!(sprintln(&[&a, &one]), "a 1\n");
        let mut m = crate::value::Map::new();
        m.insert("b".into(), Value::Float(2.0));
        m.insert("a".into(), Value::List(vec![Value::Nil]));
        assert_eq!(sprint_value(&Value::Map(m)), "map[a:[<nil>] b:2]");
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
    }
}
