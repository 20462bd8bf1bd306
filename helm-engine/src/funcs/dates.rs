//! Sprig's date functions over Go's `time.Time`, with Go's reference-time layouts, in the
//! zones Go would use: the process's local zone (`$TZ`, `/etc/localtime`) and the zones
//! `dateInZone` names, from the tz database as Go 1.23 finds it (see [`tz`]).

use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{Registry, arg_str};
use crate::value::{Object, Value};
pub(crate) use crate::values::gotime::days_from_civil;
use crate::values::gotime::{self, DAYS, MONTHS, ParsedZone};

#[path = "tz.rs"]
pub(crate) mod tz;

#[cfg(test)]
#[path = "dates_tests.rs"]
mod dates_tests;

use tz::Location;

const NANOS: i128 = 1_000_000_000;

/// A `time.Time` as BurntSushi/toml decodes one (`fromToml`), given by its wall clock's
/// offset and a zone name: `UTC` at offset zero is UTC; an empty name is an explicit offset,
/// which BurntSushi parses in `time.Local` (so the local zone when it has that offset then, an
/// unnamed fixed zone otherwise); `datetime-local`, `date-local` and `time-local` are
/// BurntSushi's zones for times without an offset, whose offset is the local zone's now (the
/// wall clock stays); any other name is `time.FixedZone(zone, offset)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GoTime {
    pub nanos: i128,
    /// Seconds east of UTC.
    pub offset: i32,
    /// The zone's name.
    pub zone: &'static str,
}

impl GoTime {
    /// The same instant as a [`Time`] in its location.
    fn time(&self) -> Time {
        let fixed = |name: &str, offset: i32| Arc::new(Location::fixed(name, offset));
        match self.zone {
            "UTC" if self.offset == 0 => Time::new(self.nanos, Location::utc()),
            "" => {
                let local = tz::zones().local();
                let unix = self.nanos.div_euclid(NANOS) as i64;
                if local.lookup(unix).offset == self.offset {
                    Time::new(self.nanos, local)
                } else {
                    Time::new(self.nanos, fixed("", self.offset))
                }
            }
            "datetime-local" | "date-local" | "time-local" => {
                let now = (now_nanos().div_euclid(NANOS)) as i64;
                let off = tz::zones().local().lookup(now).offset;
                let nanos = self.nanos + i128::from(self.offset - off) * NANOS;
                Time::new(nanos, fixed(self.zone, off))
            }
            zone => Time::new(self.nanos, fixed(zone, self.offset)),
        }
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.time().field(name)
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        self.time().call(name, args)
    }
    fn format(&self) -> String {
        self.time().format()
    }
}

/// Go's `time.Time`: an instant (nanoseconds since the Unix epoch), the location it is shown
/// in, and the monotonic clock reading `time.Now` adds (nanoseconds since the process began).
#[derive(Debug, Clone)]
pub(crate) struct Time {
    nanos: i128,
    loc: Arc<Location>,
    mono: Option<i128>,
}

impl Time {
    fn new(nanos: i128, loc: Arc<Location>) -> Time {
        Time {
            nanos,
            loc,
            mono: None,
        }
    }

    /// Go's `time.Now()`, in the local zone, with a monotonic reading.
    fn now() -> Time {
        // Go's monotonic clock counts from its runtime's start; ours from the first use.
        static START: OnceLock<Instant> = OnceLock::new();
        let start = *START.get_or_init(Instant::now);
        Time {
            nanos: now_nanos(),
            loc: tz::zones().local(),
            mono: Some(start.elapsed().as_nanos() as i128 + 1),
        }
    }

    fn unix(&self) -> i64 {
        self.nanos.div_euclid(NANOS) as i64
    }

    /// The zone in effect: its abbreviation and offset.
    fn zone(&self) -> tz::ZoneAt {
        self.loc.lookup(self.unix())
    }

    /// Go's `t.In(loc)` (which drops the monotonic reading).
    fn in_loc(&self, loc: Arc<Location>) -> Time {
        Time::new(self.nanos, loc)
    }

    /// Go's `t.Format(layout)`.
    fn layout(&self, layout: &str) -> String {
        let z = self.zone();
        format_time_in(self.nanos, z.offset, &z.name, layout)
    }
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let c = civil(self.nanos + i128::from(self.zone().offset) * NANOS);
        Some(match name {
            "Year" => Value::Int(c.year),
            "Month" => Value::Int(c.month),
            "Day" => Value::Int(c.day),
            "Hour" => Value::Int(c.hour),
            "Minute" => Value::Int(c.min),
            "Second" => Value::Int(c.sec),
            "Nanosecond" => Value::Int(c.nano),
            "Unix" => Value::Int64(self.unix()),
            "UnixNano" => Value::Int64(self.nanos as i64),
            "YearDay" => Value::Int(c.yday),
            "UTC" => Value::Object(Arc::new(self.in_loc(Location::utc()))),
            "Local" => Value::Object(Arc::new(self.in_loc(tz::zones().local()))),
            "Location" => Value::String(self.loc.name().to_string()),
            "String" => Value::String(self.format()),
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("Format", [Value::String(layout)]) => Some(Ok(Value::String(self.layout(layout)))),
            ("Add", [Value::Int(d) | Value::Int64(d)]) => {
                Some(Ok(Value::Object(Arc::new(self.add(*d)))))
            }
            _ => None,
        }
    }
    /// Go's `Time.String`: the time, its zone, and `m=±s.nnnnnnnnn` for a monotonic reading.
    fn format(&self) -> String {
        let mut s = self.layout("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            s.push_str(&format!(
                " m={sign}{}.{:09}",
                m / 1_000_000_000,
                m % 1_000_000_000
            ));
        }
        s
    }
}

impl Time {
    /// Go's `t.Add(d)`: the location stays; a monotonic reading moves with it unless it
    /// would overflow.
    fn add(&self, d: i64) -> Time {
        let mono = self.mono.and_then(|m| {
            let te = (m as i64).checked_add(d)?;
            Some(i128::from(te))
        });
        Time {
            nanos: self.nanos + i128::from(d),
            loc: self.loc.clone(),
            mono,
        }
    }
}

pub(super) fn register(r: &mut Registry) {
    r.plain("now", "", |_| Ok(Value::Object(Arc::new(Time::now()))));
    r.plain("date", "sa", |a| {
        Ok(date_in_zone(arg_str(a, 0), a[1], "Local"))
    });
    r.plain("dateInZone", "sas", |a| {
        Ok(date_in_zone(arg_str(a, 0), a[1], arg_str(a, 2)))
    });
    r.plain("date_in_zone", "sas", |a| {
        Ok(date_in_zone(arg_str(a, 0), a[1], arg_str(a, 2)))
    });
    r.plain("htmlDate", "a", |a| {
        Ok(date_in_zone("2006-01-02", a[0], "Local"))
    });
    r.plain("htmlDateInZone", "as", |a| {
        Ok(date_in_zone("2006-01-02", a[0], arg_str(a, 1)))
    });
    r.plain("unixEpoch", "a", |a| {
        Ok(Value::String(time_of(a[0]).div_euclid(NANOS).to_string()))
    });
    r.plain("ago", "a", |a| {
        Ok(Value::String(go_duration(round_to_second(
            now_nanos() - time_of(a[0]),
        ))))
    });
    // Sprig reads only strings and int64s; a Go `int` (what literals are) counts as zero.
    r.plain("duration", "a", |a| {
        let secs = match a[0] {
            Value::String(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        // time.Duration(n) * time.Second wraps around as Go's int64 does.
        Ok(Value::String(go_duration(i128::from(
            secs.wrapping_mul(1_000_000_000),
        ))))
    });
    r.plain("durationRound", "a", |a| {
        let d: i128 = match a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int64(n) => i128::from(*n),
            Value::Object(o) if o.type_name() == "time.Time" => now_nanos() - time_of(a[0]),
            _ => 0,
        };
        Ok(Value::String(duration_round(d.unsigned_abs())))
    });
    r.plain("toDate", "ss", |a| {
        Ok(parse_date(arg_str(a, 0), arg_str(a, 1))
            .map(|t| Value::Object(Arc::new(t)))
            .unwrap_or_else(|_| Value::Object(Arc::new(Time::new(ZERO_TIME, Location::utc())))))
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

/// Sprig's `dateInZone`: a time, or Unix seconds from a Go int or int64 (anything else is
/// now), shown in `zone` as `time.LoadLocation` finds it, or in UTC when it cannot.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> Value {
    let nanos = match date {
        Value::Object(o) if o.type_name() == "time.Time" => time_of(date),
        Value::Int(i) | Value::Int64(i) => i128::from(*i) * NANOS,
        _ => now_nanos(),
    };
    let loc = tz::zones().load(zone).unwrap_or_else(|_| Location::utc());
    Value::String(Time::new(nanos, loc).layout(layout))
}

/// Go's `Duration.Round(time.Second)`: halves round away from zero.
fn round_to_second(d: i128) -> i128 {
    let r = d % NANOS;
    let half = |x: i128| x + x < NANOS;
    if d < 0 {
        let r = -r;
        if half(r) { d + r } else { d - NANOS + r }
    } else if half(r) {
        d - r
    } else {
        d + NANOS - r
    }
}

/// Go's zero `time.Time` (January 1, year 1), in Unix nanoseconds.
const ZERO_TIME: i128 = -62_135_596_800 * NANOS;

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
    Value::Object(Arc::new(Time::new(time_of(t) + d, Location::utc())))
}

/// The instant of a time value (through `Unix` and `Nanosecond`, which cover every year), or
/// of Unix seconds; anything else is now.
fn time_of(v: &Value) -> i128 {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            match (o.field("Unix"), o.field("Nanosecond")) {
                (Some(Value::Int64(s)), Some(Value::Int(n))) => {
                    i128::from(s) * NANOS + i128::from(n)
                }
                _ => now_nanos(),
            }
        }
        Value::Int(i) | Value::Int64(i) => i128::from(*i) * NANOS,
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

/// Sprig's `toDate`: Go's `time.ParseInLocation(layout, value, time.Local)`.
fn parse_date(layout: &str, value: &str) -> Result<Time, String> {
    let p = gotime::parse(layout, value)?;
    Ok(place(p, tz::zones().local()))
}

/// The end of Go's `parse`: a wall clock placed in `local` or in the zone the text gave. An
/// offset the local zone has at that instant (under the same name, if one was read) is the
/// local zone; an abbreviation the local zone knows takes its offset; an unknown abbreviation
/// keeps the wall clock as UTC, shown under that name (with GMT's hours).
fn place(p: gotime::ParsedTime, local: Arc<Location>) -> Time {
    let wall_secs = p.wall.div_euclid(NANOS) as i64;
    let frac = p.wall.rem_euclid(NANOS);
    let at = |unix: i64, loc: Arc<Location>| Time::new(i128::from(unix) * NANOS + frac, loc);
    match p.zone {
        ParsedZone::Utc => Time::new(p.wall, Location::utc()),
        ParsedZone::Offset(off, name) => {
            let unix = wall_secs - i64::from(off);
            let z = local.lookup(unix);
            if z.offset == off && (name.is_empty() || z.name == name) {
                at(unix, local)
            } else {
                at(unix, Arc::new(Location::fixed(&name, off)))
            }
        }
        ParsedZone::Abbrev(name) => match local.lookup_name(&name, wall_secs) {
            Some(off) => at(wall_secs - i64::from(off), local),
            None => {
                let off = match name.strip_prefix("GMT") {
                    Some(h) if !h.is_empty() => h.parse::<i32>().unwrap_or(0) * 3600,
                    _ => 0,
                };
                Time::new(p.wall, Arc::new(Location::fixed(&name, off)))
            }
        },
        ParsedZone::Unspecified => at(local.wall_to_unix(wall_secs), local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = place(
            gotime::parse("2006-01-02", "2024-02-29").unwrap(),
            Location::utc(),
        )
        .nanos;
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
