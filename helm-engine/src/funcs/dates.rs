//! Sprig's date functions over a `time.Time` object, with Go's reference-time layouts.
//! Times are UTC (the zone `helm template` uses on machines without a local zone).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Registry, arg_str};
use crate::value::{Object, Value};

/// Go's `time.Time`, held as nanoseconds since the Unix epoch, with the location it is shown
/// in: UTC unless built otherwise (`fromToml` gives fixed zones).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GoTime {
    pub nanos: i128,
    /// Seconds east of UTC.
    pub offset: i32,
    /// The zone's name (`UTC`; empty for an unnamed fixed offset, printed as `-0700`).
    pub zone: &'static str,
}

impl GoTime {
    /// A time in UTC.
    pub(crate) fn utc(nanos: i128) -> GoTime {
        GoTime {
            nanos,
            offset: 0,
            zone: "UTC",
        }
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let c = civil(self.nanos + i128::from(self.offset) * 1_000_000_000);
        Some(match name {
            "Year" => Value::Int(c.year),
            "Month" => Value::Int(c.month),
            "Day" => Value::Int(c.day),
            "Hour" => Value::Int(c.hour),
            "Minute" => Value::Int(c.min),
            "Second" => Value::Int(c.sec),
            "Nanosecond" => Value::Int(c.nano),
            "Unix" => Value::Int64(self.nanos.div_euclid(1_000_000_000) as i64),
            "UnixNano" => Value::Int64(self.nanos as i64),
            "YearDay" => Value::Int(c.yday),
            "UTC" | "Local" => Value::Object(Arc::new(GoTime::utc(self.nanos))),
            "String" => Value::String(self.format()),
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("Format", [Value::String(layout)]) => Some(Ok(Value::String(format_time_in(
                self.nanos,
                self.offset,
                self.zone,
                layout,
            )))),
            ("Add", [Value::Int(d) | Value::Int64(d)]) => {
                Some(Ok(Value::Object(Arc::new(GoTime {
                    nanos: self.nanos + i128::from(*d),
                    ..*self
                }))))
            }
            _ => None,
        }
    }
    fn format(&self) -> String {
        format_time_in(
            self.nanos,
            self.offset,
            self.zone,
            "2006-01-02 15:04:05.999999999 -0700 MST",
        )
    }
}

pub(super) fn register(r: &mut Registry) {
    r.plain("now", "", |_| Ok(time_value(now_nanos())));
    r.plain("date", "sa", |a| {
        Ok(Value::String(format_time(time_of(a[1]), arg_str(a, 0))))
    });
    r.plain("dateInZone", "sas", |a| {
        Ok(Value::String(format_time(time_of(a[1]), arg_str(a, 0))))
    });
    r.plain("date_in_zone", "sas", |a| {
        Ok(Value::String(format_time(time_of(a[1]), arg_str(a, 0))))
    });
    r.plain("htmlDate", "a", |a| {
        Ok(Value::String(format_time(time_of(a[0]), "2006-01-02")))
    });
    r.plain("htmlDateInZone", "as", |a| {
        Ok(Value::String(format_time(time_of(a[0]), "2006-01-02")))
    });
    r.plain("unixEpoch", "a", |a| {
        Ok(Value::String(
            (time_of(a[0]).div_euclid(1_000_000_000)).to_string(),
        ))
    });
    r.plain("ago", "a", |a| {
        Ok(Value::String(go_duration(
            ((now_nanos() - time_of(a[0])) / 1_000_000_000) * 1_000_000_000,
        )))
    });
    // Sprig reads only strings and int64s; a Go `int` (what literals are) counts as zero.
    r.plain("duration", "a", |a| {
        let secs = match a[0] {
            Value::String(s) => s.parse::<i64>().unwrap_or(0),
            _ => 0,
        };
        Ok(Value::String(go_duration(i128::from(secs) * 1_000_000_000)))
    });
    r.plain("durationRound", "a", |a| {
        let d: i128 = match a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Object(o) if o.type_name() == "time.Time" => now_nanos() - time_of(a[0]),
            _ => 0,
        };
        Ok(Value::String(duration_round(d.unsigned_abs())))
    });
    r.plain("toDate", "ss", |a| {
        Ok(parse_date(arg_str(a, 0), arg_str(a, 1))
            .map(|t| Value::Object(Arc::new(t)))
            .unwrap_or_else(|_| time_value(ZERO_TIME)))
    });
    r.plain("mustToDate", "ss", |a| {
        parse_date(arg_str(a, 0), arg_str(a, 1)).map(|t| Value::Object(Arc::new(t)))
    });
    r.plain("dateModify", "sa", |a| {
        Ok(parse_duration(arg_str(a, 0))
            .map(|d| add_duration(a[1], d))
            .unwrap_or_else(|_| a[1].clone()))
    });
    r.plain("date_modify", "sa", |a| {
        Ok(parse_duration(arg_str(a, 0))
            .map(|d| add_duration(a[1], d))
            .unwrap_or_else(|_| a[1].clone()))
    });
    r.plain("mustDateModify", "sa", |a| {
        parse_duration(arg_str(a, 0)).map(|d| add_duration(a[1], d))
    });
    r.plain("must_date_modify", "sa", |a| {
        parse_duration(arg_str(a, 0)).map(|d| add_duration(a[1], d))
    });
}

/// Go's zero `time.Time` (January 1, year 1), in Unix nanoseconds.
const ZERO_TIME: i128 = -62_135_596_800 * 1_000_000_000;

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// `t.Add(d)`: a time keeps its zone; Unix seconds and anything else count from UTC.
fn add_duration(t: &Value, d: i128) -> Value {
    if let Value::Object(o) = t {
        if let Some(Ok(v)) = o.call("Add", &[Value::Int64(d as i64)]) {
            return v;
        }
    }
    time_value(time_of(t) + d)
}

fn time_value(nanos: i128) -> Value {
    Value::Object(Arc::new(GoTime::utc(nanos)))
}

/// Sprig's `toTime`-like coercion for `date`: a time, or Unix seconds; anything else is now.
fn time_of(v: &Value) -> i128 {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => match o.field("UnixNano") {
            Some(Value::Int64(n)) => i128::from(n),
            _ => now_nanos(),
        },
        Value::Int(i) | Value::Int64(i) => i128::from(*i) * 1_000_000_000,
        _ => now_nanos(),
    }
}

struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nano: i64,
    wday: i64,
    yday: i64,
}

fn civil(nanos: i128) -> Civil {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let nano = nanos.rem_euclid(1_000_000_000) as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if m <= 2 { y + 1 } else { y };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = CUM[(m - 1) as usize] + d + i64::from(leap && m > 2);
    Civil {
        year,
        month: m,
        day: d,
        hour: sod / 3600,
        min: (sod % 3600) / 60,
        sec: sod % 60,
        nano,
        wday: (days + 4).rem_euclid(7),
        yday,
    }
}

pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A layout element and how it prints.
type Token<'f> = (&'static str, &'f dyn Fn(&mut String));

/// Go's `Time.Format` with a reference-time layout, in UTC.
pub(crate) fn format_time(nanos: i128, layout: &str) -> String {
    format_time_in(nanos, 0, "UTC", layout)
}

/// Go's `Time.Format` in a zone `offset` seconds east of UTC named `zone`.
pub(crate) fn format_time_in(nanos: i128, offset: i32, zone: &str, layout: &str) -> String {
    let c = civil(nanos + i128::from(offset) * 1_000_000_000);
    let sign = if offset < 0 { '-' } else { '+' };
    let (oh, om, os) = (
        offset.unsigned_abs() / 3600,
        offset.unsigned_abs() % 3600 / 60,
        offset.unsigned_abs() % 60,
    );
    let num_zone = |colons: bool, secs: bool, hours_only: bool| {
        let mut z = format!("{sign}{oh:02}");
        if !hours_only {
            if colons {
                z.push(':');
            }
            z.push_str(&format!("{om:02}"));
            if secs {
                if colons {
                    z.push(':');
                }
                z.push_str(&format!("{os:02}"));
            }
        }
        z
    };
    let iso = |o: &mut String, colons: bool, secs: bool, hours_only: bool| {
        if offset == 0 {
            o.push('Z');
        } else {
            o.push_str(&num_zone(colons, secs, hours_only));
        }
    };
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        let tok: &[Token<'_>] = &[
            ("January", &|o| o.push_str(MONTHS[(c.month - 1) as usize])),
            ("Monday", &|o| o.push_str(DAYS[c.wday as usize])),
            ("2006", &|o| o.push_str(&format!("{:04}", c.year))),
            ("-07:00:00", &|o| o.push_str(&num_zone(true, true, false))),
            ("-0700", &|o| o.push_str(&num_zone(false, false, false))),
            ("-07:00", &|o| o.push_str(&num_zone(true, false, false))),
            ("-07", &|o| o.push_str(&num_zone(false, false, true))),
            ("Z07:00:00", &|o| iso(o, true, true, false)),
            ("Z0700", &|o| iso(o, false, false, false)),
            ("Z07:00", &|o| iso(o, true, false, false)),
            ("Z07", &|o| iso(o, false, false, true)),
            ("Jan", &|o| o.push_str(&MONTHS[(c.month - 1) as usize][..3])),
            ("Mon", &|o| o.push_str(&DAYS[c.wday as usize][..3])),
            ("MST", &|o| {
                if zone.is_empty() {
                    o.push_str(&num_zone(false, false, false));
                } else {
                    o.push_str(zone);
                }
            }),
            ("002", &|o| o.push_str(&format!("{:03}", c.yday))),
            ("__2", &|o| o.push_str(&format!("{:>3}", c.yday))),
            ("01", &|o| o.push_str(&format!("{:02}", c.month))),
            ("02", &|o| o.push_str(&format!("{:02}", c.day))),
            ("_2", &|o| o.push_str(&format!("{:>2}", c.day))),
            ("06", &|o| o.push_str(&format!("{:02}", c.year % 100))),
            ("15", &|o| o.push_str(&format!("{:02}", c.hour))),
            ("03", &|o| {
                o.push_str(&format!(
                    "{:02}",
                    if c.hour % 12 == 0 { 12 } else { c.hour % 12 }
                ))
            }),
            ("04", &|o| o.push_str(&format!("{:02}", c.min))),
            ("05", &|o| o.push_str(&format!("{:02}", c.sec))),
            ("PM", &|o| {
                o.push_str(if c.hour >= 12 { "PM" } else { "AM" })
            }),
            ("pm", &|o| {
                o.push_str(if c.hour >= 12 { "pm" } else { "am" })
            }),
            ("1", &|o| o.push_str(&c.month.to_string())),
            ("2", &|o| o.push_str(&c.day.to_string())),
            ("3", &|o| {
                o.push_str(&(if c.hour % 12 == 0 { 12 } else { c.hour % 12 }).to_string())
            }),
            ("4", &|o| o.push_str(&c.min.to_string())),
            ("5", &|o| o.push_str(&c.sec.to_string())),
        ];
        // Fractional seconds: `.000`/`,000` (fixed) or `.999` (trailing zeros dropped).
        if let Some(sep @ ('.' | ',')) = rest.chars().next() {
            let digits: String = rest[1..]
                .chars()
                .take_while(|&d| d == '0' || d == '9')
                .collect();
            let all_same =
                !digits.is_empty() && digits.chars().all(|d| d == digits.as_bytes()[0] as char);
            let next_is_digit = rest[1 + digits.len()..]
                .chars()
                .next()
                .is_some_and(|d| d.is_ascii_digit());
            if all_same && !next_is_digit {
                let n = digits.len().min(9);
                let frac = format!("{:09}", c.nano);
                let mut f = frac[..n].to_string();
                if digits.starts_with('9') {
                    while f.ends_with('0') {
                        f.pop();
                    }
                    if !f.is_empty() {
                        out.push(sep);
                        out.push_str(&f);
                    }
                } else {
                    out.push(sep);
                    out.push_str(&f);
                }
                rest = &rest[1 + digits.len()..];
                continue;
            }
        }
        if let Some((t, f)) = tok.iter().find(|(t, _)| rest.starts_with(t)) {
            f(&mut out);
            rest = &rest[t.len()..];
            continue;
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// Sprig's `durationRound`: the largest whole unit (years of 365 days, months of 30).
fn duration_round(u: u128) -> String {
    const SEC: u128 = 1_000_000_000;
    let units: [(u128, &str); 6] = [
        (SEC * 3600 * 24 * 365, "y"),
        (SEC * 3600 * 24 * 30, "mo"),
        (SEC * 3600 * 24, "d"),
        (SEC * 3600, "h"),
        (SEC * 60, "m"),
        (SEC, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

/// Go's `Duration.String`.
pub(crate) fn go_duration(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u128)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&trim_frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&trim_frac(s, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn trim_frac(v: u128, div: u128) -> String {
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let mut f = format!("{frac:0width$}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{int}.{f}")
}

/// Go's `time.ParseDuration`.
pub(crate) fn parse_duration(s: &str) -> Result<i128, String> {
    let orig = s;
    let err = || {
        format!(
            "time: invalid duration {}",
            crate::template::format::go_quote(orig)
        )
    };
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        if n == 0 {
            return Err(err());
        }
        let num: f64 = s[..n].parse().map_err(|_| err())?;
        s = &s[n..];
        let u = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..u];
        s = &s[u..];
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::template::format::go_quote(orig)
                ));
            }
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::template::format::go_quote(unit),
                    crate::template::format::go_quote(orig)
                ));
            }
        };
        total += num * mult;
    }
    Ok(if neg { -(total as i128) } else { total as i128 })
}

/// A layout element Go's `time.Parse` reads (`nextStdChunk`'s codes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    /// A numeric zone: whether `Z` stands for UTC, and its form (`-07`, `-0700`, `-07:00`,
    /// `-070000`, `-07:00:00`).
    NumTz(bool, TzForm),
    /// Fractional seconds: whether the digits are `9`s (optional), and how many.
    Frac(bool, usize),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TzForm {
    Short,
    Plain,
    Colon,
    Seconds,
    ColonSeconds,
}

/// Go's `nextStdChunk`: the literal prefix, the element, and the rest of the layout.
fn next_std(layout: &str) -> (&str, Option<(Std, &str)>) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if at(i, "Jan") => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if at(i, "Mon") => Some((Std::WeekDay, 3)),
            b'M' if at(i, "MST") => Some((Std::Tz, 3)),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => Some((
                [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(b[i + 1] - b'1')],
                2,
            )),
            b'0' if at(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if at(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if at(i, "_2006") => {
                return (&layout[..i + 1], Some((Std::LongYear, &layout[i + 5..])));
            }
            b'_' if at(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::Pm, 2)),
            b'p' if at(i, "pm") => Some((Std::PmLower, 2)),
            c @ (b'-' | b'Z') => {
                let z = c == b'Z';
                [
                    ("070000", TzForm::Seconds),
                    ("07:00:00", TzForm::ColonSeconds),
                    ("0700", TzForm::Plain),
                    ("07:00", TzForm::Colon),
                    ("07", TzForm::Short),
                ]
                .iter()
                .find(|(f, _)| at(i + 1, f))
                .map(|(f, form)| (Std::NumTz(z, *form), f.len() + 1))
            }
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let n = b[i + 1..].iter().take_while(|c| **c == ch).count();
                if b.get(i + 1 + n).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Std::Frac(ch == b'9', n), n + 1))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some((std, &layout[i + len..])));
        }
    }
    (layout, None)
}

/// Go's `skip`: the layout's literal text; a space matches any run of spaces.
fn skip<'v>(mut value: &'v str, mut prefix: &str) -> Option<&'v str> {
    while let Some(p) = prefix.chars().next() {
        if p == ' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        value = value.strip_prefix(p)?;
        prefix = &prefix[p.len_utf8()..];
    }
    Some(value)
}

/// Go's `getnum`: one or two digits, exactly two when `fixed`.
fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    let d = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let first = d(0)?;
    match d(1) {
        Some(second) => Some((first * 10 + second, &v[2..])),
        None if fixed => None,
        None => Some((first, &v[1..])),
    }
}

/// Go's `getnum3`: one to three digits, exactly three when `fixed`.
fn getnum3(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let n = v.bytes().take(3).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((v[..n].parse().ok()?, &v[n..]))
}

/// Go's case-insensitive `lookup` of a month or day name: its index and the rest.
fn lookup<'v>(names: &[&str], v: &'v str, short: bool) -> Option<(usize, &'v str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = if short { &name[..3] } else { name };
        let head = v.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (i, &v[name.len()..]))
    })
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `v`.
fn time_zone_len(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if v.starts_with("ChST") || v.starts_with("MeST") {
        return Some(4);
    }
    if v.starts_with("GMT") {
        return Some(gmt_len(v));
    }
    if matches!(b[0], b'+' | b'-') {
        return signed_offset_len(v);
    }
    let upper = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    match upper {
        3 => Some(3),
        4 if b[3] == b'T' || v.starts_with("WITA") => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `parseGMT`: `GMT` and an optional signed hour offset.
fn gmt_len(v: &str) -> usize {
    match signed_offset_len(&v[3..]) {
        Some(n) => {
            let sign_ok = matches!(v.as_bytes().get(3), Some(b'+' | b'-'));
            if sign_ok { 3 + n } else { 3 }
        }
        None => 3,
    }
}

/// Go's `parseSignedOffset`: a sign and hours under 24.
fn signed_offset_len(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    if !matches!(b.first(), Some(b'+' | b'-')) {
        return None;
    }
    let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let hours: i64 = v[1..1 + n].parse().ok()?;
    (hours <= 23).then_some(1 + n)
}

/// Interned zone names, so [`GoTime`] stays `Copy`; parsed abbreviations are few.
fn intern_zone(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

/// Go's `time.ParseInLocation(layout, value, time.Local)` with the local zone UTC: the time in
/// UTC, in a fixed zone for an offset or an abbreviation other than UTC, and Go's error text.
fn parse_date(layout: &str, value: &str) -> Result<GoTime, String> {
    let q = crate::template::format::go_quote;
    let elem_error = |elem: &str, rest: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            q(value),
            q(layout),
            q(rest),
            q(elem)
        )
    };
    let range_error = |what: &str| format!("parsing time {}: {what} out of range", q(value));
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let (mut pm, mut am) = (false, false);
    let mut utc = false;
    let mut zone_offset: Option<i64> = None;
    let mut zone_name = String::new();
    let mut l = layout;
    let mut v = value;
    loop {
        let (prefix, std) = next_std(l);
        v = skip(v, prefix).ok_or_else(|| elem_error(prefix, v))?;
        let Some((std, rest_layout)) = std else {
            if !v.is_empty() {
                return Err(format!("parsing time {}: extra text: {}", q(value), q(v)));
            }
            break;
        };
        let std_str = &l[prefix.len()..l.len() - rest_layout.len()];
        l = rest_layout;
        let hold = v;
        let bad = || elem_error(std_str, hold);
        let mut range: Option<&str> = None;
        match std {
            Std::Year => {
                let (y, rest) = v
                    .get(..2)
                    .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
                    .map(|p| (p.parse::<i64>().unwrap_or(0), &v[2..]))
                    .ok_or_else(bad)?;
                year = if y >= 69 { y + 1900 } else { y + 2000 };
                v = rest;
            }
            Std::LongYear => {
                let p = v
                    .get(..4)
                    .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
                    .ok_or_else(bad)?;
                year = p.parse().map_err(|_| bad())?;
                v = &v[4..];
            }
            Std::Month | Std::LongMonth => {
                let (m, rest) = lookup(&MONTHS, v, std == Std::Month).ok_or_else(bad)?;
                month = m as i64 + 1;
                v = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, rest) = getnum(v, std == Std::ZeroMonth).ok_or_else(bad)?;
                if !(1..=12).contains(&m) {
                    range = Some("month");
                }
                month = m;
                v = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                v = lookup(&DAYS, v, std == Std::WeekDay).ok_or_else(bad)?.1;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay {
                    v = v.strip_prefix(' ').unwrap_or(v);
                }
                let (d, rest) = getnum(v, std == Std::ZeroDay).ok_or_else(bad)?;
                day = d;
                v = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                if std == Std::UnderYearDay {
                    v = v.trim_start_matches(' ');
                }
                let (d, rest) = getnum3(v, std == Std::ZeroYearDay).ok_or_else(bad)?;
                if !(1..=366).contains(&d) {
                    range = Some("day-of-year");
                }
                yday = d;
                v = rest;
            }
            Std::Hour => {
                let (h, rest) = getnum(v, false).ok_or_else(bad)?;
                if h >= 24 {
                    range = Some("hour");
                }
                hour = h;
                v = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, rest) = getnum(v, std == Std::ZeroHour12).ok_or_else(bad)?;
                if h > 12 {
                    range = Some("hour");
                }
                hour = h;
                v = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, rest) = getnum(v, std == Std::ZeroMinute).ok_or_else(bad)?;
                if m >= 60 {
                    range = Some("minute");
                }
                min = m;
                v = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, rest) = getnum(v, std == Std::ZeroSecond).ok_or_else(bad)?;
                if s >= 60 {
                    range = Some("second");
                }
                sec = s;
                v = rest;
                // A fraction the layout does not show is taken anyway.
                let b = v.as_bytes();
                let layout_has_frac = matches!(next_std(l).1, Some((Std::Frac(..), _)));
                if b.len() >= 2
                    && matches!(b[0], b'.' | b',')
                    && b[1].is_ascii_digit()
                    && !layout_has_frac
                {
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = nanos_of(&v[1..n]);
                    v = &v[n..];
                }
            }
            Std::Pm | Std::PmLower => {
                let p = v.get(..2).ok_or_else(bad)?;
                let (am_s, pm_s) = if std == Std::Pm {
                    ("AM", "PM")
                } else {
                    ("am", "pm")
                };
                if p == pm_s {
                    pm = true;
                } else if p == am_s {
                    am = true;
                } else {
                    return Err(bad());
                }
                v = &v[2..];
            }
            Std::NumTz(z, form) => {
                if z && v.starts_with('Z') {
                    v = &v[1..];
                    utc = true;
                    continue;
                }
                let b = v.as_bytes();
                let (len, hh, mm, ss) = match form {
                    TzForm::Colon if b.len() >= 6 && b[3] == b':' => (6, 1..3, 4..6, None),
                    TzForm::ColonSeconds if b.len() >= 9 && b[3] == b':' && b[6] == b':' => {
                        (9, 1..3, 4..6, Some(7..9))
                    }
                    TzForm::Short if b.len() >= 3 => (3, 1..3, 0..0, None),
                    TzForm::Seconds if b.len() >= 7 => (7, 1..3, 3..5, Some(5..7)),
                    TzForm::Plain if b.len() >= 5 => (5, 1..3, 3..5, None),
                    _ => return Err(bad()),
                };
                let num = |r: std::ops::Range<usize>| -> Option<i64> {
                    if r.is_empty() {
                        return Some(0);
                    }
                    getnum(&v[r], true).map(|(n, _)| n)
                };
                let (Some(h), Some(m), Some(s)) = (num(hh), num(mm), ss.map_or(Some(0), num))
                else {
                    return Err(bad());
                };
                if h > 24 {
                    range = Some("time zone offset hour");
                }
                if m > 60 {
                    range = Some("time zone offset minute");
                }
                if s > 60 {
                    range = Some("time zone offset second");
                }
                let off = (h * 60 + m) * 60 + s;
                zone_offset = Some(match b[0] {
                    b'+' => off,
                    b'-' => -off,
                    _ => return Err(bad()),
                });
                v = &v[len..];
            }
            Std::Tz => {
                if let Some(rest) = v.strip_prefix("UTC") {
                    utc = true;
                    v = rest;
                    continue;
                }
                let n = time_zone_len(v).ok_or_else(bad)?;
                zone_name = v[..n].to_string();
                v = &v[n..];
            }
            Std::Frac(nines, n) => {
                let b = v.as_bytes();
                if nines {
                    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                        continue;
                    }
                    let k = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = nanos_of(&v[1..k]);
                    v = &v[k..];
                } else {
                    let digits = v.get(1..n + 1).ok_or_else(bad)?;
                    if !matches!(b[0], b'.' | b',') || !digits.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(bad());
                    }
                    nsec = nanos_of(digits);
                    v = &v[n + 1..];
                }
            }
        }
        if let Some(what) = range {
            return Err(format!("parsing time {}: {what} out of range", q(value)));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = |m: i64, y: i64| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if yday >= 0 {
        let mut d = yday;
        let mut m = 1;
        if d > 365 && !leap(year) {
            return Err(range_error("day-of-year"));
        }
        while m < 12 && d > days_in(m, year) {
            d -= days_in(m, year);
            m += 1;
        }
        if (month >= 0 && month != m) || (day >= 0 && day != d) {
            return Err(format!(
                "parsing time {}: day-of-year does not match {}",
                q(value),
                if month >= 0 && month != m {
                    "month"
                } else {
                    "day"
                }
            ));
        }
        month = m;
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!("parsing time {}: day out of range", q(value)));
    }
    let local =
        i128::from(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
            * 1_000_000_000
            + i128::from(nsec);
    let at = |offset: i64, zone: &str| GoTime {
        nanos: local - i128::from(offset) * 1_000_000_000,
        offset: offset as i32,
        zone: intern_zone(zone),
    };
    Ok(if utc {
        GoTime::utc(local)
    } else if let Some(off) = zone_offset {
        // The local zone (UTC) is used when it has that offset and name.
        if off == 0 && (zone_name.is_empty() || zone_name == "UTC") {
            GoTime::utc(local)
        } else {
            at(off, &zone_name)
        }
    } else if !zone_name.is_empty() {
        // An unknown abbreviation keeps the wall clock as UTC and shows it in a zone of that
        // name: offset zero, or GMT's hours.
        let offset = zone_name
            .strip_prefix("GMT")
            .and_then(|h| h.parse::<i64>().ok())
            .map_or(0, |h| h * 3600);
        GoTime {
            nanos: local,
            offset: offset as i32,
            zone: intern_zone(&zone_name),
        }
    } else {
        GoTime::utc(local)
    })
}

/// Go's `parseNanoseconds` on the digits after the separator: at most nine count.
fn nanos_of(digits: &str) -> i64 {
    let d = &digits[..digits.len().min(9)];
    let n: i64 = d.parse().unwrap_or(0);
    n * 10i64.pow(9 - d.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = parse_date("2006-01-02", "2024-02-29").unwrap().nanos;
        assert_eq!(
            format_time(t, "2006-01-02 Mon Jan _2 15:04:05"),
            "2024-02-29 Thu Feb 29 00:00:00"
        );
        let t = 1_700_000_000i128 * 1_000_000_000 + 123_000_000;
        assert_eq!(
            format_time(t, "2006-01-02T15:04:05.000Z07:00"),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(format_time(t, "3:04PM .999"), "10:13PM .123");
        assert_eq!(go_duration(90 * 1_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(parse_duration("-1h30m").unwrap(), -5_400_000_000_000);
        assert!(parse_duration("5x").is_err());
    }
}
