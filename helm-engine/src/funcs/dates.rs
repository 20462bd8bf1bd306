//! Sprig's date functions over Go's `time.Time`, with Go's reference-time layouts, in the
//! zones Go would use: the process's local zone (`$TZ`, `/etc/localtime`) and the zones
//! `dateInZone` names, from the tz database as Go 1.23 finds it (see [`tz`]).

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Registry, arg_str};
use crate::render::GoBytes;
use crate::value::{GoInt, Object, Value};
pub(crate) use crate::values::gotime::days_from_civil;
use crate::values::gotime::{self, DAYS, MONTHS, ParsedZone};

#[path = "tz.rs"]
pub(crate) mod tz;

#[cfg(test)]
#[path = "dates_tests.rs"]
pub(crate) mod dates_tests;

use tz::Location;

const NANOS: i128 = 1_000_000_000;

/// Seconds from January 1 of year 1 (Go's zero time) to the Unix epoch.
const UNIX_TO_INTERNAL: i64 = 62_135_596_800;

/// The zone of a TOML date-time as BurntSushi/toml v1.4 decodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TomlZone {
    /// `Z`: UTC.
    Utc,
    /// An explicit offset (seconds east of UTC), parsed in `time.Local`.
    Offset(i32),
    /// A date-time without an offset (BurntSushi's `datetime-local` zone).
    LocalDatetime,
    /// A date alone (`date-local`).
    LocalDate,
    /// A time alone, on January 1 of year 0 (`time-local`).
    LocalTime,
}

/// BurntSushi/toml's `time.Time` for a TOML date-time whose wall clock, read as UTC, is
/// `wall` nanoseconds from the Unix epoch. An explicit offset parsed in `time.Local` is the
/// local zone when it has that offset then and an unnamed fixed zone otherwise (so `+00:00`
/// is not UTC unless the local zone is); the local forms sit in fixed zones named
/// `datetime-local`, `date-local` and `time-local` at the offset the local zone had when the
/// program started (BurntSushi reads `time.Now().Zone()` once), wall clock kept.
pub(crate) fn toml_time(wall: i128, zone: TomlZone) -> Value {
    let fixed = |name: &str, offset: i32| Arc::new(Location::fixed(name, offset));
    let at = |name: &str| {
        let off = start_offset();
        Time::new(wall - i128::from(off) * NANOS, fixed(name, off))
    };
    let t = match zone {
        TomlZone::Utc => Time::new(wall, Location::utc()),
        TomlZone::Offset(off) => {
            let nanos = wall - i128::from(off) * NANOS;
            let local = tz::zones().local();
            if local.lookup(nanos.div_euclid(NANOS) as i64).offset == off {
                Time::new(nanos, local)
            } else {
                Time::new(nanos, fixed("", off))
            }
        }
        TomlZone::LocalDatetime => at("datetime-local"),
        TomlZone::LocalDate => at("date-local"),
        TomlZone::LocalTime => at("time-local"),
    };
    Value::Object(Arc::new(t))
}

/// The local zone's offset when the program started (the first time it is asked for here),
/// as packages that read `time.Now().Zone()` at initialisation see it. Per test thread under
/// injected zones, so tests do not depend on each other.
fn start_offset() -> i32 {
    let now = now_nanos().div_euclid(NANOS) as i64;
    tz::zones().local().lookup(now).offset
}

/// BurntSushi/toml's encoding of a `time.Time` (`toToml`): RFC 3339 with nanoseconds in its
/// own zone, except that times in its decoder's local zones are converted to UTC first and
/// printed in the local forms (`2006-01-02T15:04:05.999999999`, `2006-01-02`,
/// `15:04:05.999999999`).
pub(crate) fn toml_text(o: &dyn Object) -> Option<String> {
    let t = Instant::of(o)?;
    let layout = match t.loc_name.as_str() {
        "datetime-local" => "2006-01-02T15:04:05.999999999",
        "date-local" => "2006-01-02",
        "time-local" => "15:04:05.999999999",
        _ => {
            let z = if t.fixed.is_some() || t.is_utc || t.is_local {
                o.call("Format", &[Value::String(RFC3339_NANO.into())])
            } else {
                None
            };
            return match z {
                Some(Ok(Value::String(s))) => Some(s),
                _ => None,
            };
        }
    };
    Some(format_time(t.nanos, layout))
}

/// Go's `time.RFC3339Nano`.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// Go's `Time.MarshalJSON` / `MarshalText` checks before RFC 3339: a year within 0..=9999
/// and a zone offset under 24 hours.
fn marshal_check(year: i64, offset: i32, what: &str) -> Result<(), String> {
    if !(0..=9999).contains(&year) {
        return Err(format!("Time.{what}: year outside of range [0,9999]"));
    }
    if offset.unsigned_abs() >= 24 * 3600 {
        return Err(format!(
            "Time.{what}: timezone hour outside of range [0,23]"
        ));
    }
    Ok(())
}

/// What `encoding/json` writes for a `time.Time` (its `MarshalJSON`, without the quotes),
/// or the error `json.Marshal` reports.
pub(crate) fn json_text(o: &dyn Object) -> Option<Result<String, String>> {
    if o.type_name() != "time.Time" {
        return None;
    }
    Some(match o.call("MarshalText", &[]) {
        Some(Ok(Value::Object(b))) => {
            Ok(String::from_utf8_lossy(b.bytes().unwrap_or_default()).into_owned())
        }
        Some(Err(e)) => Err(format!(
            "json: error calling MarshalJSON for type time.Time: {}",
            e.replace("MarshalText", "MarshalJSON")
        )),
        _ => Err("json: unsupported type: time.Time".into()),
    })
}

/// A time's instant, monotonic reading and location, read back from any time object through
/// [`INSTANT`] (template values are trait objects).
struct Instant {
    nanos: i128,
    mono: Option<i128>,
    loc_name: String,
    fixed: Option<i32>,
    is_utc: bool,
    is_local: bool,
}

/// A method name no template can spell (identifiers have no spaces), through which time and
/// location objects hand their insides to each other.
const INSTANT: &str = " instant";

impl Instant {
    fn of(o: &dyn Object) -> Option<Instant> {
        let Some(Ok(Value::List(l))) = o.call(INSTANT, &[]) else {
            return None;
        };
        match l.as_slice() {
            [
                Value::String(n),
                Value::Int64(sec),
                Value::Int(ns),
                mono,
                Value::String(loc_name),
                fixed,
                Value::Bool(is_utc),
                Value::Bool(is_local),
            ] => Some(Instant {
                nanos: n
                    .parse()
                    .unwrap_or(i128::from(*sec) * NANOS + i128::from(*ns)),
                mono: match mono {
                    Value::String(m) => m.parse().ok(),
                    _ => None,
                },
                loc_name: loc_name.clone(),
                fixed: match fixed {
                    Value::Int(f) => Some(*f as i32),
                    _ => None,
                },
                is_utc: *is_utc,
                is_local: *is_local,
            }),
            _ => None,
        }
    }

    /// The location back as one: UTC, the local zone, a fixed zone, or a zone loaded by name.
    fn location(&self) -> Arc<Location> {
        if self.is_utc {
            Location::utc()
        } else if self.is_local {
            tz::zones().local()
        } else if let Some(off) = self.fixed {
            Arc::new(Location::fixed(&self.loc_name, off))
        } else {
            tz::zones()
                .load(&self.loc_name)
                .unwrap_or_else(|_| Location::utc())
        }
    }
}

/// The fields [`Instant::of`] reads, for a location (and, for a time, its instant).
fn instant_list(nanos: i128, mono: Option<i128>, loc: &Arc<Location>) -> Value {
    Value::List(vec![
        Value::String(nanos.to_string()),
        Value::Int64(nanos.div_euclid(NANOS) as i64),
        Value::Int(nanos.rem_euclid(NANOS) as i64),
        mono.map_or(Value::Nil, |m| Value::String(m.to_string())),
        Value::String(loc.name().to_string()),
        loc.fixed_offset()
            .map_or(Value::Nil, |o| Value::Int(i64::from(o))),
        Value::Bool(Arc::ptr_eq(loc, &Location::utc())),
        Value::Bool(Arc::ptr_eq(loc, &tz::zones().local())),
    ])
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
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        let start = *START.get_or_init(std::time::Instant::now);
        Time {
            nanos: now_nanos(),
            loc: tz::zones().local(),
            mono: Some(start.elapsed().as_nanos() as i128 + 1),
        }
    }

    /// Go's `time.Unix(sec, 0)`, in the local zone: Go keeps seconds since year 1 in an
    /// int64, so seconds past its end wrap around.
    fn unix_time(sec: i64) -> Time {
        let internal = sec.wrapping_add(UNIX_TO_INTERNAL);
        let unix = i128::from(internal) - i128::from(UNIX_TO_INTERNAL);
        Time::new(unix * NANOS, tz::zones().local())
    }

    fn unix(&self) -> i64 {
        self.nanos.div_euclid(NANOS) as i64
    }

    /// The zone in effect: its abbreviation and offset.
    fn zone(&self) -> tz::ZoneAt {
        self.loc.lookup(self.unix())
    }

    /// The wall clock's calendar fields.
    fn civil(&self) -> Civil {
        civil(self.nanos + i128::from(self.zone().offset) * NANOS)
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

    /// Go's `t.Sub(u)`: by the monotonic readings when both have one, else by the instants,
    /// saturating at the ends of `time.Duration`.
    fn sub(&self, u_nanos: i128, u_mono: Option<i128>) -> i64 {
        let d = match (self.mono, u_mono) {
            (Some(a), Some(b)) => a - b,
            _ => self.nanos - u_nanos,
        };
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Go's `t.Compare(u)`: by the monotonic readings when both have one.
    fn compare(&self, u_nanos: i128, u_mono: Option<i128>) -> std::cmp::Ordering {
        match (self.mono, u_mono) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.nanos.cmp(&u_nanos),
        }
    }

    /// Go's `t.Truncate(d)` and `t.Round(d)`: the remainder counts from Go's zero time
    /// (January 1, year 1), and the monotonic reading is dropped.
    fn round(&self, d: i64, round: bool) -> Time {
        let stripped = Time::new(self.nanos, self.loc.clone());
        if d <= 0 {
            return stripped;
        }
        let d = i128::from(d);
        let since_zero = self.nanos + i128::from(UNIX_TO_INTERNAL) * NANOS;
        let r = since_zero.rem_euclid(d);
        let nanos = if round && r + r >= d {
            self.nanos + d - r
        } else {
            self.nanos - r
        };
        Time::new(nanos, self.loc.clone())
    }

    /// Go's `t.AddDate(y, m, d)`: the calendar fields moved and normalised by `time.Date` in
    /// the time's location.
    fn add_date(&self, years: i64, months: i64, days: i64) -> Time {
        let c = self.civil();
        let m0 = c.month - 1 + months;
        let year = c.year + years + m0.div_euclid(12);
        let month = m0.rem_euclid(12) + 1;
        let day = days_from_civil(year, month, 1) + c.day - 1 + days;
        let wall = day * 86_400 + c.hour * 3600 + c.min * 60 + c.sec;
        let unix = self.loc.wall_to_unix(wall);
        Time::new(
            i128::from(unix) * NANOS + i128::from(c.nano),
            self.loc.clone(),
        )
    }

    /// Go's `Time.GoString`.
    fn go_string(&self) -> String {
        let c = self.civil();
        let loc = if Arc::ptr_eq(&self.loc, &Location::utc()) {
            "time.UTC".to_string()
        } else if Arc::ptr_eq(&self.loc, &tz::zones().local()) {
            "time.Local".to_string()
        } else {
            format!(
                "time.Location({})",
                crate::template::format::go_quote(self.loc.name())
            )
        };
        format!(
            "time.Date({}, time.{}, {}, {}, {}, {}, {}, {loc})",
            c.year,
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.hour,
            c.min,
            c.sec,
            c.nano
        )
    }

    /// Go's `MarshalText` (`MarshalJSON` adds the quotes).
    fn marshal(&self, what: &str) -> Result<String, String> {
        marshal_check(self.civil().year, self.zone().offset, what)?;
        Ok(self.layout(RFC3339_NANO))
    }

    /// Go's `MarshalBinary` (and `GobEncode`): a version byte, seconds since year 1, the
    /// nanoseconds, the zone offset in minutes (-1 for UTC) and, in version 2, its seconds.
    fn marshal_binary(&self) -> Result<Vec<u8>, String> {
        let mut version = 1u8;
        let mut offset_sec = None;
        let offset_min: i16 = if Arc::ptr_eq(&self.loc, &Location::utc()) {
            -1
        } else {
            let offset = self.zone().offset;
            if offset % 60 != 0 {
                version = 2;
                offset_sec = Some((offset % 60) as i8);
            }
            match i16::try_from(offset / 60) {
                Ok(m) if m != -1 => m,
                _ => return Err("Time.MarshalBinary: unexpected zone offset".into()),
            }
        };
        let sec = (self.nanos.div_euclid(NANOS) as i64).wrapping_add(UNIX_TO_INTERNAL);
        let nsec = self.nanos.rem_euclid(NANOS) as u32;
        let mut out = vec![version];
        out.extend(sec.to_be_bytes());
        out.extend(nsec.to_be_bytes());
        out.extend(offset_min.to_be_bytes());
        if let Some(s) = offset_sec {
            out.push(s as u8);
        }
        Ok(out)
    }

    /// The zero-argument methods, by name.
    fn method0(&self, name: &str) -> Option<Result<Value, String>> {
        let obj = |o: Arc<dyn Object>| Ok(Value::Object(o));
        let c = || self.civil();
        Some(match name {
            "Year" => Ok(Value::Int(c().year)),
            "Month" => Ok(month_value(c().month)),
            "Day" => Ok(Value::Int(c().day)),
            "Hour" => Ok(Value::Int(c().hour)),
            "Minute" => Ok(Value::Int(c().min)),
            "Second" => Ok(Value::Int(c().sec)),
            "Nanosecond" => Ok(Value::Int(c().nano)),
            "YearDay" => Ok(Value::Int(c().yday)),
            "Weekday" => Ok(weekday_value(c().wday)),
            "Unix" => Ok(Value::Int64(self.unix())),
            "UnixMilli" => Ok(Value::Int64(self.nanos.div_euclid(1_000_000) as i64)),
            "UnixMicro" => Ok(Value::Int64(self.nanos.div_euclid(1_000) as i64)),
            // Go's int64 arithmetic wraps for instants past about 2262.
            "UnixNano" => Ok(Value::Int64(self.nanos as i64)),
            "IsZero" => Ok(Value::Bool(self.nanos == ZERO_TIME)),
            "IsDST" => Ok(Value::Bool(self.zone().is_dst)),
            "UTC" => obj(Arc::new(self.in_loc(Location::utc()))),
            "Local" => obj(Arc::new(self.in_loc(tz::zones().local()))),
            "Location" => obj(Arc::new(LocationObj(self.loc.clone()))),
            "String" => Ok(Value::String(self.format())),
            "GoString" => Ok(Value::String(self.go_string())),
            "MarshalText" => self
                .marshal("MarshalText")
                .map(|s| Value::Object(Arc::new(GoBytes(s.into_bytes())))),
            "MarshalJSON" => self
                .marshal("MarshalJSON")
                .map(|s| Value::Object(Arc::new(GoBytes(format!("\"{s}\"").into_bytes())))),
            "MarshalBinary" | "GobEncode" => self
                .marshal_binary()
                .map(|b| Value::Object(Arc::new(GoBytes(b)))),
            INSTANT => Ok(instant_list(self.nanos, self.mono, &self.loc)),
            _ => return None,
        })
    }
}

/// The parameters of `time.Time`'s methods that templates can call, in the registry's
/// signature letters (`a` where Go wants a `time.Time` or `*time.Location`, checked here).
fn time_method_sig(name: &str) -> Option<&'static str> {
    Some(match name {
        "Year" | "Month" | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay"
        | "Weekday" | "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "IsZero" | "IsDST"
        | "UTC" | "Local" | "Location" | "String" | "GoString" | "MarshalText" | "MarshalJSON"
        | "MarshalBinary" | "GobEncode" | "Clock" | "Date" | "ISOWeek" | "Zone" | "ZoneBounds" => {
            ""
        }
        "Add" | "Truncate" | "Round" => "d",
        "AddDate" => "iii",
        "Format" => "s",
        "Sub" | "Before" | "After" | "Equal" | "Compare" => "t",
        "In" => "L",
        _ => return None,
    })
}

/// A `time.Time` argument, or Go's complaint about the value given instead.
fn time_arg(v: &Value) -> Result<Instant, String> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            Instant::of(o.as_ref()).ok_or_else(|| "invalid time.Time".to_string())
        }
        Value::Nil => Err("cannot assign nil to time.Time".into()),
        other => Err(format!(
            "wrong type for value; expected time.Time; got {}",
            crate::template::format::type_name(other)
        )),
    }
}

/// text/template's errors for `time.Time`'s members that templates cannot use: methods
/// with more than one result (or a second one that is not an error), and unexported fields.
fn time_member_error(name: &str) -> Option<String> {
    Some(match name {
        "Clock" | "Date" => format!("function {name} has 3 return values; should be 1 or 2"),
        "ISOWeek" | "Zone" => format!(
            "invalid function signature for {name}: second return value should be error; is int"
        ),
        "ZoneBounds" => format!(
            "invalid function signature for {name}: second return value should be error; is time.Time"
        ),
        "wall" | "ext" | "loc" => {
            format!("{name} is an unexported field of struct type time.Time")
        }
        _ if time_method_sig(name).is_some() => return None,
        // Go gives up before evaluating any arguments.
        _ => format!("can't evaluate field {name} in type time.Time"),
    })
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn member_error(&self, name: &str) -> Option<String> {
        time_member_error(name)
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.method0(name)?.ok()
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        time_method_sig(name)
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let time = |t: Time| Ok(Value::Object(Arc::new(t)));
        let int = duration_arg;
        Some(match (name, args) {
            (_, []) => return self.method0(name),
            ("Format", [Value::String(layout)]) => Ok(Value::String(self.layout(layout))),
            ("Add", [d]) => time(self.add(int(d)?)),
            ("Truncate", [d]) => time(self.round(int(d)?, false)),
            ("Round", [d]) => time(self.round(int(d)?, true)),
            ("AddDate", [y, m, d]) => time(self.add_date(int(y)?, int(m)?, int(d)?)),
            ("Sub" | "Before" | "After" | "Equal" | "Compare", [u]) => {
                let u = match time_arg(u) {
                    Ok(u) => u,
                    Err(e) => return Some(Err(e)),
                };
                let ord = self.compare(u.nanos, u.mono);
                Ok(match name {
                    "Sub" => Value::Object(Arc::new(Duration(self.sub(u.nanos, u.mono)))),
                    "Before" => Value::Bool(ord.is_lt()),
                    "After" => Value::Bool(ord.is_gt()),
                    "Equal" => Value::Bool(ord.is_eq()),
                    _ => Value::Int(ord as i64),
                })
            }
            ("In", [Value::Nil]) => Err("time: missing Location in call to Time.In".into()),
            ("In", [Value::Object(l)]) if l.type_name() == "*time.Location" => {
                match Instant::of(l.as_ref()) {
                    Some(i) => time(self.in_loc(i.location())),
                    None => return None,
                }
            }
            ("In", [other]) => Err(format!(
                "wrong type for value; expected *time.Location; got {}",
                crate::template::format::type_name(other)
            )),
            _ => return None,
        })
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
    fn go_syntax(&self) -> String {
        self.go_string()
    }
}

/// Go's `time.Month` (its `String` is the English name, `%!Month(13)` out of range).
pub(crate) fn month_value(m: i64) -> Value {
    let text = match usize::try_from(m) {
        Ok(i @ 1..=12) => MONTHS[i - 1].to_string(),
        _ => format!("%!Month({m})"),
    };
    GoInt::value("time.Month", "int", i128::from(m), Some(text))
}

/// Go's `time.Weekday` (its `String` is the English name, `%!Weekday(7)` out of range).
fn weekday_value(d: i64) -> Value {
    let text = match usize::try_from(d) {
        Ok(i @ 0..=6) => DAYS[i].to_string(),
        _ => format!("%!Weekday({d})"),
    };
    GoInt::value("time.Weekday", "int", i128::from(d), Some(text))
}

/// Go's `time.Duration`: a named `int64` that prints as `1h2m3s` and has methods.
#[derive(Debug, Clone, Copy)]
struct Duration(i64);

/// A `time.Duration` argument: an integer constant converted to it, or a duration.
fn duration_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) | Value::Int64(n) => Some(*n),
        Value::Object(o) if o.type_name() == "time.Duration" => {
            o.go_int().and_then(|n| i64::try_from(n).ok())
        }
        _ => None,
    }
}

impl Duration {
    /// `time.Duration`'s methods.
    fn method(d: i64, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let dur = |d: i64| Ok(Value::Object(Arc::new(Duration(d))));
        let split = |unit: i64| (d / unit, d % unit);
        Some(match (name, args) {
            ("Hours", []) => {
                let (h, ns) = split(3_600_000_000_000);
                Ok(Value::Float(h as f64 + ns as f64 / 3.6e12))
            }
            ("Minutes", []) => {
                let (m, ns) = split(60_000_000_000);
                Ok(Value::Float(m as f64 + ns as f64 / 6e10))
            }
            ("Seconds", []) => {
                let (s, ns) = split(1_000_000_000);
                Ok(Value::Float(s as f64 + ns as f64 / 1e9))
            }
            ("Milliseconds", []) => Ok(Value::Int64(d / 1_000_000)),
            ("Microseconds", []) => Ok(Value::Int64(d / 1_000)),
            ("Nanoseconds", []) => Ok(Value::Int64(d)),
            ("String", []) => Ok(Value::String(go_duration(i128::from(d)))),
            ("Abs", []) => dur(if d >= 0 {
                d
            } else if d == i64::MIN {
                i64::MAX
            } else {
                -d
            }),
            ("Truncate", [m]) => {
                let m = duration_arg(m)?;
                dur(if m <= 0 { d } else { d - d % m })
            }
            ("Round", [m]) => dur(duration_round_to(d, duration_arg(m)?)),
            _ => return None,
        })
    }
}

/// Go's `Duration.Round(m)`: halves away from zero, saturating at the ends.
fn duration_round_to(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let r = d % m;
    let less_than_half = |x: i64| (x as u64).wrapping_add(x as u64) < m as u64;
    if d < 0 {
        let r = -r;
        if less_than_half(r) {
            return d + r;
        }
        match (d - m).checked_add(r) {
            Some(d1) if d1 < d => d1,
            _ => i64::MIN,
        }
    } else {
        if less_than_half(r) {
            return d - r;
        }
        match d.checked_add(m - r) {
            Some(d1) if d1 > d => d1,
            _ => i64::MAX,
        }
    }
}

impl Object for Duration {
    fn type_name(&self) -> &str {
        "time.Duration"
    }
    fn kind(&self) -> &'static str {
        "int64"
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.call(name, &[])?.ok()
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        match name {
            "String" | "Hours" | "Minutes" | "Seconds" | "Milliseconds" | "Microseconds"
            | "Nanoseconds" | "Abs" => Some(""),
            "Truncate" | "Round" => Some("d"),
            _ => None,
        }
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        Duration::method(self.0, name, args)
    }
    fn member_error(&self, name: &str) -> Option<String> {
        match self.method_sig(name) {
            Some(_) => None,
            None => Some(format!("can't evaluate field {name} in type time.Duration")),
        }
    }
    fn format(&self) -> String {
        go_duration(i128::from(self.0))
    }
    fn go_syntax(&self) -> String {
        self.0.to_string()
    }
    fn json_plain(&self) -> Option<Value> {
        Some(Value::Int64(self.0))
    }
    fn go_comparable(&self) -> bool {
        true
    }
    fn go_eq(&self, other: &dyn Object) -> bool {
        other.go_int() == Some(i128::from(self.0))
    }
    fn truth(&self) -> Option<bool> {
        Some(self.0 != 0)
    }
    fn go_int(&self) -> Option<i128> {
        Some(i128::from(self.0))
    }
}

/// Go's `*time.Location`: prints its name; `encoding/json` sees a struct without exported
/// fields.
#[derive(Debug, Clone)]
struct LocationObj(Arc<Location>);

impl Object for LocationObj {
    fn type_name(&self) -> &str {
        "*time.Location"
    }
    fn member_error(&self, name: &str) -> Option<String> {
        match name {
            "String" => None,
            "name" | "zone" | "tx" | "extend" | "cacheStart" | "cacheEnd" | "cacheZone" => Some(
                format!("{name} is an unexported field of struct type *time.Location"),
            ),
            _ => Some(format!(
                "can't evaluate field {name} in type *time.Location"
            )),
        }
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "String").then(|| Value::String(self.format()))
    }
    fn method_sig(&self, name: &str) -> Option<&'static str> {
        (name == "String").then_some("")
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("String", []) => Some(Ok(Value::String(self.format()))),
            (INSTANT, []) => Some(Ok(instant_list(0, None, &self.0))),
            _ => None,
        }
    }
    fn format(&self) -> String {
        self.0.name().to_string()
    }
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(Vec::new())
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
    r.plain("unixEpoch", "t", |a| {
        Ok(Value::String(time_of(a[0]).unix().to_string()))
    });
    // time.Since(t).Round(time.Second); Sprig reads times, ints and int64s, else now.
    r.plain("ago", "a", |a| {
        let t = time_of(a[0]);
        let d = Time::now().sub(t.nanos, t.mono);
        Ok(Value::String(go_duration(i128::from(duration_round_to(
            d,
            1_000_000_000,
        )))))
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
            Value::Object(o) if o.type_name() == "time.Time" => {
                let t = time_of(a[0]);
                i128::from(Time::now().sub(t.nanos, t.mono))
            }
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
    for name in ["dateModify", "date_modify"] {
        r.plain(name, "st", |a| {
            Ok(parse_duration(arg_str(a, 0))
                .map(|d| add_duration(a[1], d))
                .unwrap_or_else(|_| a[1].clone()))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        r.plain(name, "st", |a| {
            parse_duration(arg_str(a, 0)).map(|d| add_duration(a[1], d))
        });
    }
}

/// Sprig's `dateInZone`: a time, or Unix seconds from a Go int or int64 (anything else is
/// now), shown in `zone` as `time.LoadLocation` finds it, or in UTC when it cannot.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> Value {
    let t = time_of(date);
    let loc = tz::zones().load(zone).unwrap_or_else(|_| Location::utc());
    Value::String(t.in_loc(loc).layout(layout))
}

/// Go's zero `time.Time` (January 1, year 1), in Unix nanoseconds.
const ZERO_TIME: i128 = -62_135_596_800 * NANOS;

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Sprig's `dateModify` on what it was given: `t.Add(d)` for a time (whose zone and
/// monotonic reading stay).
fn add_duration(t: &Value, d: i128) -> Value {
    let d = d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    Value::Object(Arc::new(time_of(t).add(d)))
}

/// Sprig's reading of a date argument: a time as it is, Unix seconds from a Go int or int64
/// (`time.Unix`, in the local zone), anything else now.
fn time_of(v: &Value) -> Time {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => match Instant::of(o.as_ref()) {
            Some(i) => Time {
                nanos: i.nanos,
                loc: i.location(),
                mono: i.mono,
            },
            None => Time::now(),
        },
        Value::Int(i) | Value::Int64(i) => Time::unix_time(*i),
        _ => Time::now(),
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

/// Go's `Time.Format` with a reference-time layout, in UTC.
pub(crate) fn format_time(nanos: i128, layout: &str) -> String {
    format_time_in(nanos, 0, "UTC", layout)
}

/// Go's `Time.Format` in a zone `offset` seconds east of UTC named `zone`: the layout's
/// elements as Go's `nextStdChunk` finds them, each printed as `appendFormat` does.
pub(crate) fn format_time_in(nanos: i128, offset: i32, zone: &str, layout: &str) -> String {
    use gotime::{Std, TzForm};
    let c = civil(nanos + i128::from(offset) * NANOS);
    let hour12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, std) = gotime::next_std(rest);
        out.push_str(prefix);
        let Some((std, after)) = std else {
            break;
        };
        rest = after;
        match std {
            Std::Year => out.push_str(&go_int(c.year.abs() % 100, 2)),
            Std::LongYear => out.push_str(&go_int(c.year, 4)),
            Std::Month => out.push_str(&MONTHS[(c.month - 1) as usize][..3]),
            Std::LongMonth => out.push_str(MONTHS[(c.month - 1) as usize]),
            Std::NumMonth => out.push_str(&go_int(c.month, 0)),
            Std::ZeroMonth => out.push_str(&go_int(c.month, 2)),
            Std::WeekDay => out.push_str(&DAYS[c.wday as usize][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.wday as usize]),
            Std::Day => out.push_str(&go_int(c.day, 0)),
            Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => out.push_str(&go_int(c.day, 2)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => out.push_str(&go_int(c.yday, 3)),
            Std::Hour => out.push_str(&go_int(c.hour, 2)),
            Std::Hour12 => out.push_str(&go_int(hour12, 0)),
            Std::ZeroHour12 => out.push_str(&go_int(hour12, 2)),
            Std::Minute => out.push_str(&go_int(c.min, 0)),
            Std::ZeroMinute => out.push_str(&go_int(c.min, 2)),
            Std::Second => out.push_str(&go_int(c.sec, 0)),
            Std::ZeroSecond => out.push_str(&go_int(c.sec, 2)),
            Std::Pm => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::PmLower => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::NumTz(iso, form) => {
                if iso && offset == 0 {
                    out.push('Z');
                    continue;
                }
                // Go takes the sign from the offset in whole minutes.
                let minutes = offset / 60;
                out.push(if minutes < 0 { '-' } else { '+' });
                let (minutes, secs) = (i64::from(minutes.abs()), i64::from(offset.abs() % 60));
                out.push_str(&go_int(minutes / 60, 2));
                let colon = matches!(form, TzForm::Colon | TzForm::ColonSeconds);
                if colon {
                    out.push(':');
                }
                if form != TzForm::Short {
                    out.push_str(&go_int(minutes % 60, 2));
                }
                if matches!(form, TzForm::Seconds | TzForm::ColonSeconds) {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&go_int(secs, 2));
                }
            }
            Std::Tz => {
                if zone.is_empty() {
                    let minutes = offset / 60;
                    out.push(if minutes < 0 { '-' } else { '+' });
                    let minutes = i64::from(minutes.abs());
                    out.push_str(&go_int(minutes / 60, 2));
                    out.push_str(&go_int(minutes % 60, 2));
                } else {
                    out.push_str(zone);
                }
            }
            Std::Frac(nines, n, sep) => {
                if nines && (n == 0 || c.nano == 0) {
                    continue;
                }
                let digits = format!("{:09}", c.nano);
                let mut frac = digits[..n.min(9)].to_string();
                if nines {
                    while frac.ends_with('0') {
                        frac.pop();
                    }
                    if frac.is_empty() {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&frac);
            }
        }
    }
    out
}

/// Go's `appendInt`: a sign, then the digits zero-padded to `width`.
fn go_int(x: i64, width: usize) -> String {
    let digits = format!("{:0width$}", x.unsigned_abs());
    if x < 0 { format!("-{digits}") } else { digits }
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

/// Go's `time.ParseDuration`: integer arithmetic with Go's overflow checks (a fraction goes
/// through float64, as in Go), and Go's error texts.
pub(crate) fn parse_duration(text: &str) -> Result<i128, String> {
    let q = crate::template::format::go_quote;
    let invalid = || format!("time: invalid duration {}", q(text));
    const LIMIT: u64 = 1 << 63;
    let (neg, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text.as_bytes()[1..]),
        Some(b'+') => (false, &text.as_bytes()[1..]),
        _ => (false, text.as_bytes()),
    };
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Go's leadingInt.
        let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &s[..digits] {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
        }
        let pre = digits > 0;
        s = &s[digits..];
        // Go's leadingFraction: digits past what fits are ignored.
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &s[..n] {
                if overflow {
                    continue;
                }
                if f > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = n > 0;
            s = &s[n..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let u = s
            .iter()
            .position(|c| *c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if u == 0 {
            return Err(format!("time: missing unit in duration {}", q(text)));
        }
        let unit_text = String::from_utf8_lossy(&s[..u]).into_owned();
        s = &s[u..];
        let unit: u64 = match unit_text.as_str() {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    q(&unit_text),
                    q(text)
                ));
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok(-i128::from(d));
    }
    if d > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(i128::from(d))
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
