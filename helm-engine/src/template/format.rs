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
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[&Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= b.len() {
            break;
        }
        i += 1;
        let mut sp = Spec::default();
        while i < b.len() {
            match b[i] {
                b'-' => {
                    sp.minus = true;
                    sp.zero = false;
                }
                b'+' => sp.plus = true,
                b'#' => sp.sharp = true,
                b' ' => sp.space = true,
                b'0' => sp.zero = !sp.minus,
                _ => break,
            }
            i += 1;
        }
        // An explicit argument index: `%[2]d`.
        if i < b.len() && b[i] == b'[' {
            if let Some(close) = format[i..].find(']') {
                if let Ok(n) = format[i + 1..i + close].parse::<usize>() {
                    if n >= 1 {
                        argi = n - 1;
                        i += close + 1;
                    }
                }
            }
        }
        if i < b.len() && b[i] == b'*' {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(w) | Value::Int64(w)) => {
                    argi += 1;
                    if *w < 0 {
                        sp.minus = true;
                        sp.zero = false;
                    }
                    sp.width = Some(w.unsigned_abs() as usize);
                }
                _ => {
                    argi += 1;
                    out.push_str("%!(BADWIDTH)");
                }
            }
        } else {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i > s {
                // Go refuses widths and precisions over 10^6.
                match format[s..i].parse::<usize>() {
                    Ok(w) if w <= 1_000_000 => sp.width = Some(w),
                    // Go's parsenum gives up on the rest of the format.
                    _ => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            if i < b.len() && b[i] == b'*' {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(p) | Value::Int64(p)) if *p >= 0 => {
                        argi += 1;
                        sp.prec = Some(*p as usize);
                    }
                    _ => {
                        argi += 1;
                        out.push_str("%!(BADPREC)");
                    }
                }
            } else {
                let s = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                match format[s..i].parse::<usize>() {
                    Ok(p) if p <= 1_000_000 => sp.prec = Some(p),
                    Err(_) if s == i => sp.prec = Some(0),
                    _ => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        let Some(verb) = format[i..].chars().next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        format_arg(&mut out, arg, verb, &sp);
    }
    if argi < args.len() {
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
        // Go prints the operand with `v` but the directive's flags: `+` is a sign here.
        let as_v = match v {
            Value::Float(_) if sp.plus => 'g',
            Value::Int(_) | Value::Int64(_) if sp.plus => 'd',
            _ => 'v',
        };
        format_arg(out, v, as_v, sp);
    }
    out.push(')');
}

/// Go's `%x`/`%X` of a float64 without precision: shortest hexadecimal mantissa and a
/// binary exponent of at least two digits (`0x1.8p+01`).
fn hex_float(f: f64, upper: bool) -> String {
    let bits = f.to_bits();
    let neg = bits >> 63 == 1;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    let body = if exp == 0 && mant == 0 {
        "0x0p+00".to_string()
    } else {
        if exp == 0 {
            // Subnormal: normalise so the leading 1 sits at bit 52.
            exp = -1022;
            while mant & (1u64 << 52) == 0 {
                mant <<= 1;
                exp -= 1;
            }
        } else {
            exp -= 1023;
        }
        let frac = format!("{:013x}", mant & ((1u64 << 52) - 1));
        let frac = frac.trim_end_matches('0');
        let dot = if frac.is_empty() { "" } else { "." };
        let sign = if exp < 0 { '-' } else { '+' };
        format!("0x1{dot}{frac}p{sign}{:02}", exp.abs())
    };
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

fn sign(s: String, sp: &Spec, neg: bool) -> String {
    if neg {
        s
    } else if sp.plus {
        format!("+{s}")
    } else if sp.space {
        format!(" {s}")
    } else {
        s
    }
}

fn format_int(out: &mut String, i: i64, verb: char, sp: &Spec) {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => a.to_string(),
        'x' => format!("{a:x}"),
        'X' => format!("{a:X}"),
        'o' | 'O' => format!("{a:o}"),
        'b' => format!("{a:b}"),
        _ => a.to_string(),
    };
    if let Some(p) = sp.prec {
        if p == 0 && a == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match verb {
        'x' if sp.sharp => "0x",
        'X' if sp.sharp => "0X",
        'o' if sp.sharp => "0",
        'O' => "0o",
        'b' if sp.sharp => "0b",
        _ => "",
    };
    let s = format!("{}{prefix}{digits}", if neg { "-" } else { "" });
    let s = sign(s, sp, neg);
    let sp2 = Spec {
        zero: sp.zero && sp.prec.is_none(),
        ..*sp
    };
    pad(out, &s, &sp2, true);
}

fn format_arg(out: &mut String, v: &Value, verb: char, sp: &Spec) {
    if verb == 'v' && sp.sharp {
        // Go syntax names the Go types, so typed slices and named maps are printed as they
        // are (after checking that no map contains itself).
        match crate::value::materialize(v) {
            Ok(_) => pad(out, &go_syntax(v), sp, false),
            Err(e) => out.push_str(&e),
        }
        return;
    }
    if let (Value::Object(o), 'v', true) = (v, verb, sp.plus) {
        if !crate::value::has_shared(v) {
            let sp = Spec { plus: false, ..*sp };
            pad(out, &o.format_plus(), &sp, false);
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
    if verb == 'v' && sp.plus {
        // `%+v` is Go's plusV (field names for structs), not a sign flag.
        let sp = Spec { plus: false, ..*sp };
        return format_arg(out, v, verb, &sp);
    }
    match verb {
        'T' => {
            pad(out, &type_name(v), sp, false);
            return;
        }
        'v' if sp.sharp => {
            pad(out, &go_syntax(v), sp, false);
            return;
        }
        _ => {}
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
            'v' | 'd' | 'x' | 'X' | 'o' | 'O' | 'b' => format_int(out, *i, verb, sp),
            'c' => pad(
                out,
                &char::from_u32(*i as u32).unwrap_or('\u{fffd}').to_string(),
                sp,
                false,
            ),
            'q' => {
                let c = char::from_u32(*i as u32).unwrap_or('\u{fffd}');
                let mut s = String::from("'");
                if c == '\'' {
                    s.push_str("\\'");
                } else {
                    quote_into(&mut s, &c.to_string(), '\'');
                }
                s.push('\'');
                pad(out, &s, sp, false);
            }
            'U' => pad(out, &format!("U+{:04X}", i), sp, false),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, v, verb, sp),
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Float(f) => match verb {
            'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F' => {
                let fv = match verb {
                    'v' => 'g',
                    'F' => 'f',
                    c => c,
                };
                let prec = match verb {
                    'e' | 'E' | 'f' | 'F' => Some(sp.prec.unwrap_or(6)),
                    _ => sp.prec,
                };
                let mut s = format_float(*f, fv, prec);
                if sp.sharp && !s.contains('.') && !s.contains("Inf") && !s.contains("NaN") {
                    if let Some(e) = s.find(['e', 'E']) {
                        s.insert(e, '.');
                    } else {
                        s.push('.');
                    }
                }
                let neg = s.starts_with('-');
                let s = if s == "+Inf" && !sp.plus {
                    "+Inf".to_string()
                } else {
                    sign(s, sp, neg)
                };
                pad(out, &s, sp, true);
            }
            'x' | 'X' if sp.prec.is_none() => {
                let s = hex_float(*f, verb == 'X');
                let neg = s.starts_with('-');
                pad(out, &sign(s, sp, neg), sp, true);
            }
            'b' => {
                let s = binary_float(*f);
                let neg = s.starts_with('-');
                pad(out, &sign(s, sp, neg), sp, true);
            }
            _ => bad_verb(out, v, verb, sp),
        },
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
                let q = if sp.sharp && !t.contains('`') {
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
                if sp.sharp && !s.is_empty() {
                    h.push_str(prefix);
                }
                for (i, byte) in crate::value::go_bytes(s).iter().copied().enumerate() {
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

/// An element of a list or map: a nil one prints `<nil>` whatever the verb (Go prints the
/// nil interface before looking at the verb).
fn format_elem(out: &mut String, v: &Value, verb: char, sp: &Spec) {
    if matches!(v, Value::Nil) && verb != 'T' {
        pad(out, "<nil>", sp, false);
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
