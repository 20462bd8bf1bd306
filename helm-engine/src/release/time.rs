//! Helm's `helm.sh/helm/v3/pkg/time.Time`: a point in time with the UTC offset it was written
//! with, whose zero value encodes as `""` in JSON (plain Go `time.Time` would print year 1).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Seconds from 0001-01-01T00:00:00Z (Go's zero time) to the Unix epoch.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// A timestamp as Helm stores it in a release record: an instant plus the UTC offset of the
/// writer's zone, so the text round-trips exactly. The default value is Go's zero time.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Time {
    instant: Option<Instant>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Instant {
    unix_seconds: i64,
    nanos: u32,
    offset_seconds: i32,
}

/// A calendar date and wall-clock time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Time {
    /// Go's zero time, which Helm writes as `""`.
    pub const ZERO: Time = Time { instant: None };

    /// The current time in UTC (Captain runs in pods, where Go's local zone is UTC).
    pub fn now() -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time::from_unix(d.as_secs() as i64, d.subsec_nanos(), 0)
    }

    /// A time from Unix seconds and nanoseconds, shown at `offset_seconds` east of UTC.
    /// The instant of Go's zero time gives [`Time::ZERO`].
    pub fn from_unix(unix_seconds: i64, nanos: u32, offset_seconds: i32) -> Time {
        let nanos = nanos.min(999_999_999);
        if unix_seconds == GO_ZERO_UNIX && nanos == 0 {
            return Time::ZERO;
        }
        Time {
            instant: Some(Instant {
                unix_seconds,
                nanos,
                offset_seconds,
            }),
        }
    }

    /// Whether this is Go's zero time.
    pub fn is_zero(&self) -> bool {
        self.instant.is_none()
    }

    /// Seconds since the Unix epoch (Go's zero time for [`Time::ZERO`]).
    pub fn unix_seconds(&self) -> i64 {
        self.instant.map_or(GO_ZERO_UNIX, |i| i.unix_seconds)
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.instant.map_or(0, |i| i.nanos)
    }

    /// The UTC offset of the zone this time is shown in, in seconds east of UTC.
    pub fn offset_seconds(&self) -> i32 {
        self.instant.map_or(0, |i| i.offset_seconds)
    }

    fn civil(&self) -> Civil {
        let local = self.unix_seconds() + i64::from(self.offset_seconds());
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// Go's `time.RFC3339Nano` text (`2006-01-02T15:04:05.999999999Z07:00`), as `time.Time`
    /// marshals to JSON; Go's zero time prints as `0001-01-01T00:00:00Z`.
    pub fn to_rfc3339(&self) -> String {
        let c = self.civil();
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
        let nanos = self.subsec_nanos();
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        let off = self.offset_seconds();
        if off == 0 {
            s.push('Z');
        } else {
            let sign = if off < 0 { '-' } else { '+' };
            let a = off.unsigned_abs();
            s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60));
        }
        s
    }

    /// Go's `time.ANSIC` layout (`Mon Jan _2 15:04:05 2006`) in the time's own offset, which is
    /// how `helm history` prints `UPDATED`.
    pub fn format_ansic(&self) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let c = self.civil();
        let local = self.unix_seconds() + i64::from(self.offset_seconds());
        let weekday = DAYS[local.div_euclid(86_400).rem_euclid(7) as usize];
        format!(
            "{weekday} {} {:>2} {:02}:{:02}:{:02} {:04}",
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.hour,
            c.minute,
            c.second,
            c.year
        )
    }

    /// Parses RFC 3339 text with optional fractional seconds, as Go's `time.Time` unmarshals
    /// JSON. `None` when the text is not such a time.
    pub fn parse_rfc3339(s: &str) -> Option<Time> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let year = num(0..4)?;
        let month = num(5..7)?;
        let day = num(8..10)?;
        let hour = num(11..13)?;
        let minute = num(14..16)?;
        let second = num(17..19)?;
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(i64::from(year), month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if b[i] == b'.' || b[i] == b',' {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return None;
            }
            let digits = std::str::from_utf8(&b[start..end]).ok()?;
            nanos = format!("{digits:0<9}").parse().ok()?;
            i = end;
        }
        let offset_seconds = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let h = i32::from(h1 - b'0') * 10 + i32::from(h2 - b'0');
                let m = i32::from(m1 - b'0') * 10 + i32::from(m2 - b'0');
                if h > 23 || m > 59 {
                    return None;
                }
                let off = h * 3600 + m * 60;
                if *sign == b'-' { -off } else { off }
            }
            _ => return None,
        };
        let days = days_from_civil(i64::from(year), month, day);
        let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Some(Time::from_unix(
            local - i64::from(offset_seconds),
            nanos,
            offset_seconds,
        ))
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            f.write_str("Time::ZERO")
        } else {
            write!(f, "Time({})", self.to_rfc3339())
        }
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_zero() {
            s.serialize_str("")
        } else {
            s.serialize_str(&self.to_rfc3339())
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s.as_deref() {
            None | Some("") => Ok(Time::ZERO),
            Some(text) => Time::parse_rfc3339(text)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time {text:?}"))),
        }
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
