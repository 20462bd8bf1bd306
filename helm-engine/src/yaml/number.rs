//! Go's number parsing and formatting as go-yaml and encoding/json use them.

/// Shortest decimal digits and decimal-point position of a finite, non-negative float
/// (strconv's `digs.d` and `digs.dp`): value = 0.d1d2... × 10^dp.
fn shortest_digits(f: f64, f32_precision: bool) -> (String, i32) {
    let s = if f32_precision {
        format!("{:e}", f as f32)
    } else {
        format!("{:e}", f)
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.bytes().all(|b| b == b'0') {
        return (String::new(), 0);
    }
    let digits = digits.trim_end_matches('0').to_string();
    (digits, exp + 1)
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f == f64::INFINITY {
        Some("+Inf".into())
    } else if f == f64::NEG_INFINITY {
        Some("-Inf".into())
    } else {
        None
    }
}

fn fmt_e(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let d = if digits.is_empty() { "0" } else { digits };
    out.push_str(&d[..1]);
    if d.len() > 1 {
        out.push('.');
        out.push_str(&d[1..]);
    }
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

fn fmt_f(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let nd = digits.len() as i32;
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp {
            out.push(if i < nd {
                digits.as_bytes()[i as usize] as char
            } else {
                '0'
            });
        }
    }
    let frac = (nd - dp).max(0);
    if frac > 0 {
        out.push('.');
        for i in dp..dp + frac {
            out.push(if i >= 0 && i < nd {
                digits.as_bytes()[i as usize] as char
            } else {
                '0'
            });
        }
    }
    out
}

fn format_g(f: f64, f32_precision: bool) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let neg = f.is_sign_negative();
    let (digits, dp) = shortest_digits(f.abs(), f32_precision);
    let exp = dp - 1;
    if !digits.is_empty() && !(-4..6).contains(&exp) {
        fmt_e(neg, &digits, dp)
    } else {
        fmt_f(neg, &digits, dp)
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which is also what `%v` prints for a float64.
pub fn format_float_g(f: f64) -> String {
    format_g(f, false)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
pub fn format_float_g32(f: f64) -> String {
    format_g(f, true)
}

/// Go's `encoding/json` text for a finite float64: `'f'` format between 1e-6 and 1e21, `'e'`
/// otherwise with a one-digit negative exponent cleaned up (`1e-7`).
pub fn json_float(f: f64) -> String {
    // Go writes negative zero as `-0` (strconv.AppendFloat keeps the sign).
    let neg = f.is_sign_negative();
    let abs = f.abs();
    let (digits, dp) = shortest_digits(abs, false);
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = fmt_e(neg, &digits, dp);
        if let Some(pos) = s.find("e-0") {
            let mut t = s[..pos + 2].to_string();
            t.push_str(&s[pos + 3..]);
            return t;
        }
        s
    } else {
        fmt_f(neg, &digits, dp)
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` (sign, then `0x`, `0o`, `0b`, leading-zero octal or decimal).
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = parse_go_uint(body)?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(mag as i64)
    } else {
        None
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: no sign allowed.
pub(crate) fn parse_go_uint(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (radix, digits) = if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => (16, &s[2..]),
            b'o' | b'O' => (8, &s[2..]),
            b'b' | b'B' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
pub(crate) fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can produce.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.iter()
        .any(|c| c.is_ascii_alphabetic() && *c != b'e' && *c != b'E')
    {
        return None;
    }
    if !is_yaml_float(s) {
        return None;
    }
    // Rust's parser wants a digit on both sides of the point.
    let mut t = s.replace(".e", ".0e").replace(".E", ".0E");
    if t.ends_with('.') {
        t.push('0');
    }
    // Go's ParseFloat refuses an overflow (ErrRange), so go-yaml keeps the text a string.
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// go-yaml v2's base-60 float check (`1:20` and the like are quoted when emitted).
pub(crate) fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let n = i - start;
        if n == 0 || (n == 2 && b[start] > b'5') {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's `parseTimestamp`: the forms `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`
/// (also `t`) and `2006-1-2 15:4:5.999999999`, with Go's range checks.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i != 4 || i == b.len() || b[i] != b'-' {
        return false;
    }
    let num = |i: &mut usize, min: usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        s[start..*i].parse().ok()
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    i += 1;
    let Some(month) = num(&mut i, 1, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 1, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in(year, month) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return false;
    }
    i += 1;
    let Some(h) = num(&mut i, 1, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(m) = num(&mut i, 1, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(sec) = num(&mut i, 1, 2) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        let start = i + 1;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i == b.len() {
        return true;
    }
    if sep == b' ' {
        return false;
    }
    if b[i] == b'Z' && i + 1 == b.len() {
        return true;
    }
    if b[i] == b'+' || b[i] == b'-' {
        let rest = &s[i + 1..];
        let rb = rest.as_bytes();
        return rb.len() == 5
            && rb[0].is_ascii_digit()
            && rb[1].is_ascii_digit()
            && rb[2] == b':'
            && rb[3].is_ascii_digit()
            && rb[4].is_ascii_digit();
    }
    false
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
