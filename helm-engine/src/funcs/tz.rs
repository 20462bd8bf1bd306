//! Go's time zones as `time` in Go 1.23 (the toolchain of the reference helm) has them on
//! Linux: `Location`s read from TZif files, `LoadLocation`'s search (`$ZONEINFO`, the platform
//! zoneinfo directories, `$GOROOT/lib/time/zoneinfo.zip`; helm embeds no tz database), and the
//! local zone from `$TZ` or `/etc/localtime`, read once per process.
//!
//! Templates reach zones only through Sprig's date functions, which fall back to UTC on any
//! failure, so load errors stay inside this module; a malformed TZif file is an error here,
//! never a panic.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// Why a zone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZoneError {
    /// The name holds `..` or starts with a slash (Go's `errLocation`).
    #[error("time: invalid location name")]
    InvalidName,
    /// No source has a file of that name (Go's `unknown time zone`).
    #[error("unknown time zone {0}")]
    Unknown(String),
    /// The file exists but is not TZif data Go accepts.
    #[error("malformed time zone information")]
    BadData,
    /// A zip source could not be read as Go's uncompressed zoneinfo zip.
    #[error("corrupt zip file {0}")]
    BadZip(String),
    /// A zip entry is compressed, which Go does not read.
    #[error("unsupported compression for {name} in {zip}")]
    Compressed {
        /// The zone's name.
        name: String,
        /// The zip file.
        zip: String,
    },
    /// The file is over Go's 10 MiB limit.
    #[error("time: file {0} is too large")]
    TooLarge(String),
    /// Reading a file failed for a reason other than its absence.
    #[error("{0}")]
    Io(String),
}

impl ZoneError {
    /// Go's `syscall.ENOENT`: a source without the file, which the search skips silently.
    fn is_not_found(&self) -> bool {
        matches!(self, ZoneError::Unknown(_))
    }
}

/// Go's `alpha` and `omega`: the beginning and end of time for zone transitions.
const ALPHA: i64 = i64::MIN;
const OMEGA: i64 = i64::MAX;
const DAY: i64 = 86_400;

/// One of a location's zones, such as CET.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Zone {
    name: String,
    offset: i32,
    is_dst: bool,
}

#[derive(Debug, Clone, Copy)]
struct Transition {
    when: i64,
    index: u8,
}

/// Go's `*time.Location`: zones, the transitions between them, and the POSIX TZ rule
/// (`extend`) for instants past the last transition.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    name: String,
    zones: Vec<Zone>,
    tx: Vec<Transition>,
    extend: Vec<u8>,
}

/// The zone in effect at an instant, and the span of Unix seconds it is known to cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneAt {
    /// The abbreviation (`CET`, `+03`); Go prints a numeric offset for an empty one.
    pub name: String,
    /// Seconds east of UTC.
    pub offset: i32,
    /// Whether the zone is daylight saving time (Go's `Time.IsDST`).
    pub is_dst: bool,
    start: i64,
    end: i64,
}

impl Location {
    /// Go's `time.UTC`.
    pub(crate) fn utc() -> Arc<Location> {
        static UTC: OnceLock<Arc<Location>> = OnceLock::new();
        UTC.get_or_init(|| {
            Arc::new(Location {
                name: "UTC".into(),
                zones: Vec::new(),
                tx: Vec::new(),
                extend: Vec::new(),
            })
        })
        .clone()
    }

    /// Go's `time.FixedZone(name, offset)`.
    pub(crate) fn fixed(name: &str, offset: i32) -> Location {
        Location {
            name: name.into(),
            zones: vec![Zone {
                name: name.into(),
                offset,
                is_dst: false,
            }],
            tx: vec![Transition {
                when: ALPHA,
                index: 0,
            }],
            extend: Vec::new(),
        }
    }

    /// The offset of a location with one zone and no transitions (Go's `FixedZone`, or a
    /// TZif file such as `Etc/GMT-3`).
    pub(crate) fn fixed_offset(&self) -> Option<i32> {
        match (self.zones.as_slice(), self.tx.as_slice()) {
            ([z], [t]) if t.when == ALPHA && self.extend.is_empty() => Some(z.offset),
            _ => None,
        }
    }

    /// The name Go's `Location.String` gives (`Local`, `UTC`, `America/New_York`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Go's `LoadLocationFromTZData`: TZif version 1 (32-bit) or 2+ (64-bit data and footer).
    pub(crate) fn from_tzif(name: &str, data: &[u8]) -> Result<Location, ZoneError> {
        let mut d = Reader(data);
        if d.take(4) != Some(b"TZif".as_slice()) {
            return Err(ZoneError::BadData);
        }
        let version = match d.take(16).ok_or(ZoneError::BadData)?[0] {
            0 => 1,
            b'2' => 2,
            b'3' => 3,
            _ => return Err(ZoneError::BadData),
        };
        let mut counts = d.counts()?;
        let mut size = 4;
        if version > 1 {
            // Skip the 32-bit block and the second header; the 64-bit block follows.
            let [utc_local, std_wall, leap, time, zone, chars] = counts;
            let skip = time * 5 + zone * 6 + chars + leap * 8 + std_wall + utc_local + 20;
            d.take(skip).ok_or(ZoneError::BadData)?;
            counts = d.counts()?;
            size = 8;
        }
        let [n_utc_local, n_std_wall, n_leap, n_time, n_zone, n_chars] = counts;
        let bad = || ZoneError::BadData;
        let times = d.take(n_time * size).ok_or_else(bad)?;
        let indices = d.take(n_time).ok_or_else(bad)?;
        let zone_data = d.take(n_zone * 6).ok_or_else(bad)?;
        let abbrev = d.take(n_chars).ok_or_else(bad)?;
        d.take(n_leap * (size + 4)).ok_or_else(bad)?;
        d.take(n_std_wall).ok_or_else(bad)?;
        d.take(n_utc_local).ok_or_else(bad)?;
        let rest = d.0;
        let extend = if rest.len() > 2 && rest[0] == b'\n' && rest[rest.len() - 1] == b'\n' {
            rest[1..rest.len() - 1].to_vec()
        } else {
            Vec::new()
        };
        if n_zone == 0 {
            return Err(ZoneError::BadData);
        }
        let zones = zone_data
            .chunks_exact(6)
            .map(|z| {
                let offset = i32::from_be_bytes([z[0], z[1], z[2], z[3]]);
                let at = usize::from(z[5]);
                if at >= abbrev.len() {
                    return Err(ZoneError::BadData);
                }
                let name = &abbrev[at..];
                let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
                Ok(Zone {
                    name: String::from_utf8_lossy(&name[..end]).into_owned(),
                    offset,
                    is_dst: z[4] != 0,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = times
            .chunks_exact(size)
            .zip(indices)
            .map(|(t, &index)| {
                let when = if size == 4 {
                    i64::from(i32::from_be_bytes([t[0], t[1], t[2], t[3]]))
                } else {
                    i64::from_be_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]])
                };
                if usize::from(index) >= zones.len() {
                    return Err(ZoneError::BadData);
                }
                Ok(Transition { when, index })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if tx.is_empty() {
            // A fixed zone such as Etc/GMT-3: one transition at the beginning of time.
            tx.push(Transition {
                when: ALPHA,
                index: 0,
            });
        }
        Ok(Location {
            name: name.into(),
            zones,
            tx,
            extend,
        })
    }

    /// Go's `Location.lookup`: the zone in effect at Unix second `sec`.
    pub(crate) fn lookup(&self, sec: i64) -> ZoneAt {
        if self.zones.is_empty() {
            return ZoneAt {
                name: "UTC".into(),
                offset: 0,
                is_dst: false,
                start: ALPHA,
                end: OMEGA,
            };
        }
        if self.tx.is_empty() || sec < self.tx[0].when {
            let z = &self.zones[self.first_zone()];
            return ZoneAt {
                name: z.name.clone(),
                offset: z.offset,
                is_dst: z.is_dst,
                start: ALPHA,
                end: self.tx.first().map_or(OMEGA, |t| t.when),
            };
        }
        // The last transition at or before `sec`; `end` is the next one's time.
        let mut end = OMEGA;
        let (mut lo, mut hi) = (0, self.tx.len());
        while hi - lo > 1 {
            let m = lo + (hi - lo) / 2;
            if sec < self.tx[m].when {
                end = self.tx[m].when;
                hi = m;
            } else {
                lo = m;
            }
        }
        let z = &self.zones[usize::from(self.tx[lo].index)];
        if lo == self.tx.len() - 1 && !self.extend.is_empty() {
            if let Some(r) = tzset(&self.extend, end, sec) {
                return r;
            }
        }
        ZoneAt {
            name: z.name.clone(),
            offset: z.offset,
            is_dst: z.is_dst,
            start: self.tx[lo].when,
            end,
        }
    }

    /// Go's `lookupFirstZone`: the zone before the first transition, as tzcode picks it.
    fn first_zone(&self) -> usize {
        if !self.tx.iter().any(|t| t.index == 0) {
            return 0;
        }
        if let Some(first) = self.tx.first() {
            if self.zones[usize::from(first.index)].is_dst {
                if let Some(i) = (0..usize::from(first.index))
                    .rev()
                    .find(|&i| !self.zones[i].is_dst)
                {
                    return i;
                }
            }
        }
        self.zones.iter().position(|z| !z.is_dst).unwrap_or(0)
    }

    /// Go's `lookupName`: the offset of abbreviation `name` around the pseudo-Unix time
    /// `unix` (the wall clock read as UTC), preferring a zone actually in effect then.
    pub(crate) fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
        for z in self.zones.iter().filter(|z| z.name == name) {
            let at = self.lookup(unix.wrapping_sub(i64::from(z.offset)));
            if at.name == z.name {
                return Some(at.offset);
            }
        }
        self.zones.iter().find(|z| z.name == name).map(|z| z.offset)
    }

    /// Go's `time.Date` normalisation: the Unix second of wall-clock second `wall` (seconds
    /// since the epoch as if the wall clock were UTC) in this location. In a gap or an overlap
    /// Go's choice falls out of the zone found for `wall` itself.
    pub(crate) fn wall_to_unix(&self, wall: i64) -> i64 {
        let at = self.lookup(wall);
        let mut offset = at.offset;
        if offset != 0 {
            let utc = wall.wrapping_sub(i64::from(offset));
            if utc < at.start || utc >= at.end {
                offset = self.lookup(utc).offset;
            }
            return wall.wrapping_sub(i64::from(offset));
        }
        wall
    }
}

/// A cursor over TZif bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            self.0 = &[];
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    /// The six big-endian counts of a TZif header.
    fn counts(&mut self) -> Result<[usize; 6], ZoneError> {
        let mut n = [0usize; 6];
        for c in &mut n {
            let b = self.take(4).ok_or(ZoneError::BadData)?;
            *c = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        }
        Ok(n)
    }
}

/// A rule of a POSIX TZ string: when in the year a change happens.
#[derive(Debug, Clone, Copy)]
enum RuleDay {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian(i64),
    /// `n`: zero-based day of the year, February 29 counted.
    Day(i64),
    /// `Mm.w.d`: day `d` of week `w` (5 = last) of month `m`.
    MonthWeekDay { mon: i64, week: i64, day: i64 },
}

/// Go's `tzset`: the zone a POSIX TZ string (a TZif footer) gives at Unix second `sec`, with
/// `init_end` the end of the last transition; `None` when Go cannot parse the string.
fn tzset(s: &[u8], init_end: i64, sec: i64) -> Option<ZoneAt> {
    let (std_name, s) = tz_name(s)?;
    let (std_off, mut s) = tz_offset(s)?;
    let std_off = -std_off;
    if s.is_empty() || s[0] == b',' {
        return Some(ZoneAt {
            name: std_name,
            offset: std_off as i32,
            is_dst: false,
            start: init_end,
            end: OMEGA,
        });
    }
    let (dst_name, rest) = tz_name(s)?;
    s = rest;
    let dst_off = if s.is_empty() || s[0] == b',' {
        std_off + 3600
    } else {
        let (o, rest) = tz_offset(s)?;
        s = rest;
        -o
    };
    if s.is_empty() {
        s = b",M3.2.0,M11.1.0";
    }
    if s[0] != b',' && s[0] != b';' {
        return None;
    }
    let (start_rule, rest) = tz_rule(&s[1..])?;
    if rest.first() != Some(&b',') {
        return None;
    }
    let (end_rule, rest) = tz_rule(&rest[1..])?;
    if !rest.is_empty() {
        return None;
    }
    let days = sec.div_euclid(DAY);
    let (year, _, _) = civil_from_days(days);
    let year_start_days = crate::values::gotime::days_from_civil(year, 1, 1);
    let yday = days - year_start_days;
    // Go adds the truncated remainder, so a negative instant lands a day early.
    let ysec = yday * DAY + sec % DAY;
    let abs = year_start_days.wrapping_mul(DAY);
    let mut start = rule_time(year, start_rule, std_off);
    let mut end = rule_time(year, end_rule, dst_off);
    let (mut std_name, mut dst_name, mut std_off, mut dst_off) =
        (std_name, dst_name, std_off, dst_off);
    // In the southern hemisphere the labels swap, DST flags included.
    let (mut std_is_dst, mut dst_is_dst) = (false, true);
    if end < start {
        std::mem::swap(&mut start, &mut end);
        std::mem::swap(&mut std_name, &mut dst_name);
        std::mem::swap(&mut std_off, &mut dst_off);
        std::mem::swap(&mut std_is_dst, &mut dst_is_dst);
    }
    // Go's int64 arithmetic wraps at the ends of time.
    Some(if ysec < start {
        ZoneAt {
            name: std_name,
            offset: std_off as i32,
            is_dst: std_is_dst,
            start: abs,
            end: start.wrapping_add(abs),
        }
    } else if ysec >= end {
        ZoneAt {
            name: std_name,
            offset: std_off as i32,
            is_dst: std_is_dst,
            start: end.wrapping_add(abs),
            end: abs.wrapping_add(365 * DAY),
        }
    } else {
        ZoneAt {
            name: dst_name,
            offset: dst_off as i32,
            is_dst: dst_is_dst,
            start: start.wrapping_add(abs),
            end: end.wrapping_add(abs),
        }
    })
}

/// Year, month and day of a day count from the Unix epoch.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Go's `tzsetName`: an alphabetic name of three or more bytes, or `<...>`.
fn tz_name(s: &[u8]) -> Option<(String, &[u8])> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match s.first()? {
        b'<' => {
            let close = s.iter().position(|&c| c == b'>')?;
            Some((text(&s[1..close]), &s[close + 1..]))
        }
        _ => match s
            .iter()
            .position(|c| c.is_ascii_digit() || matches!(c, b',' | b'-' | b'+'))
        {
            Some(i) if i < 3 => None,
            Some(i) => Some((text(&s[..i]), &s[i..])),
            None if s.len() < 3 => None,
            None => Some((text(s), &[])),
        },
    }
}

/// Go's `tzsetOffset`: `[+-]hh[:mm[:ss]]` in seconds, hours up to 168.
fn tz_offset(s: &[u8]) -> Option<(i64, &[u8])> {
    let (neg, s) = match s.first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let (hours, mut s) = tz_num(s, 0, 24 * 7)?;
    let mut off = hours * 3600;
    for mult in [60, 1] {
        if s.first() != Some(&b':') {
            break;
        }
        let (n, rest) = tz_num(&s[1..], 0, 59)?;
        off += n * mult;
        s = rest;
    }
    Some((if neg { -off } else { off }, s))
}

/// Go's `tzsetRule`: a rule day and its time of day (default 02:00).
fn tz_rule(s: &[u8]) -> Option<((RuleDay, i64), &[u8])> {
    let (day, s) = match s.first()? {
        b'J' => {
            let (n, s) = tz_num(&s[1..], 1, 365)?;
            (RuleDay::Julian(n), s)
        }
        b'M' => {
            let (mon, s) = tz_num(&s[1..], 1, 12)?;
            let s = s.strip_prefix(b".")?;
            let (week, s) = tz_num(s, 1, 5)?;
            let s = s.strip_prefix(b".")?;
            let (day, s) = tz_num(s, 0, 6)?;
            (RuleDay::MonthWeekDay { mon, week, day }, s)
        }
        _ => {
            let (n, s) = tz_num(s, 0, 365)?;
            (RuleDay::Day(n), s)
        }
    };
    match s.strip_prefix(b"/") {
        None => Some(((day, 2 * 3600), s)),
        Some(rest) => {
            let (t, rest) = tz_offset(rest)?;
            Some(((day, t), rest))
        }
    }
}

/// Go's `tzsetNum`: a decimal number within `min..=max`.
fn tz_num(s: &[u8], min: i64, max: i64) -> Option<(i64, &[u8])> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut n: i64 = 0;
    for &c in &s[..digits] {
        n = n * 10 + i64::from(c - b'0');
        if n > max {
            return None;
        }
    }
    (n >= min).then_some((n, &s[digits..]))
}

/// Go's `tzruleTime`: seconds from the start of `year` (UTC) to the rule's change, for a zone
/// `off` seconds east of UTC.
fn rule_time(year: i64, (day, time): (RuleDay, i64), off: i64) -> i64 {
    const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let days = match day {
        RuleDay::Julian(n) => n - 1 + i64::from(is_leap(year) && n >= 60),
        RuleDay::Day(n) => n,
        RuleDay::MonthWeekDay { mon, week, day } => {
            // Zeller's congruence: the weekday of the month's first day.
            let m1 = (mon + 9) % 12 + 1;
            let yy0 = if mon <= 2 { year - 1 } else { year };
            let (yy1, yy2) = (yy0 / 100, yy0 % 100);
            let mut dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7;
            if dow < 0 {
                dow += 7;
            }
            let mut d = day - dow;
            if d < 0 {
                d += 7;
            }
            let month_len = match mon {
                2 if is_leap(year) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            for _ in 1..week {
                if d + 7 >= month_len {
                    break;
                }
                d += 7;
            }
            d + BEFORE[(mon - 1) as usize] + i64::from(is_leap(year) && mon > 2)
        }
    };
    days * DAY + time - off
}

/// Where zones come from: Go's `$ZONEINFO`, its platform directories and GOROOT zip, and the
/// local zone it settled on.
#[derive(Debug)]
pub(crate) struct Zones {
    local: Arc<Location>,
    zoneinfo: String,
    sources: Vec<String>,
}

/// The environment Go consults for zones, so tests can give their own.
#[derive(Debug, Clone, Default)]
pub(crate) struct ZoneEnv {
    /// `$TZ`: `None` when unset.
    pub tz: Option<String>,
    /// `$ZONEINFO` (empty when unset).
    pub zoneinfo: String,
    /// The zoneinfo sources after `$ZONEINFO`: Go's platform directories and
    /// `$GOROOT/lib/time/zoneinfo.zip`.
    pub sources: Vec<String>,
    /// The directory holding `localtime`, for an unset `$TZ` (`/etc`).
    pub etc: String,
}

impl ZoneEnv {
    /// The process environment, as Go 1.23 on Linux reads it.
    pub(crate) fn from_process() -> ZoneEnv {
        let mut sources: Vec<String> = [
            "/usr/share/zoneinfo/",
            "/usr/share/lib/zoneinfo/",
            "/usr/lib/locale/TZ/",
            "/etc/zoneinfo",
        ]
        .map(String::from)
        .to_vec();
        // runtime.GOROOT() is $GOROOT for a binary built without a GOROOT of its own.
        if let Some(root) = std::env::var_os("GOROOT").filter(|r| !r.is_empty()) {
            sources.push(format!("{}/lib/time/zoneinfo.zip", root.to_string_lossy()));
        }
        ZoneEnv {
            tz: std::env::var_os("TZ").map(|t| t.to_string_lossy().into_owned()),
            zoneinfo: std::env::var_os("ZONEINFO")
                .map(|z| z.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sources,
            etc: "/etc".into(),
        }
    }
}

impl Zones {
    /// Go's `initLocal` over `env`: `$TZ` unset reads `<etc>/localtime`; empty or `UTC` is
    /// UTC; `:` is dropped; an absolute path is read as is; anything else is looked up in the
    /// sources (not `$ZONEINFO`); every failure is UTC.
    pub(crate) fn new(env: ZoneEnv) -> Zones {
        Zones {
            // Go's fallback local zone is UTC under another pointer: times in it are
            // `time.Local`, not `time.UTC`.
            local: Arc::new(local_location(&env).unwrap_or_else(|| (*Location::utc()).clone())),
            zoneinfo: env.zoneinfo,
            sources: env.sources,
        }
    }

    /// Go's `time.Local`.
    pub(crate) fn local(&self) -> Arc<Location> {
        self.local.clone()
    }

    /// Go's `time.LoadLocation`.
    pub(crate) fn load(&self, name: &str) -> Result<Arc<Location>, ZoneError> {
        if name.is_empty() || name == "UTC" {
            return Ok(Location::utc());
        }
        if name == "Local" {
            return Ok(self.local());
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err(ZoneError::InvalidName);
        }
        let mut first_err = None;
        if !self.zoneinfo.is_empty() {
            match read_from(&self.zoneinfo, name) {
                Ok(data) => match Location::from_tzif(name, &data) {
                    Ok(l) => return Ok(Arc::new(l)),
                    Err(e) => first_err = Some(e),
                },
                Err(e) if !e.is_not_found() => first_err = Some(e),
                Err(_) => {}
            }
        }
        match load_from_sources(name, &self.sources) {
            Ok(l) => Ok(Arc::new(l)),
            Err(e) => Err(first_err.unwrap_or(e)),
        }
    }
}

fn local_location(env: &ZoneEnv) -> Option<Location> {
    match env.tz.as_deref() {
        None => {
            let mut l = load_from_sources("localtime", std::slice::from_ref(&env.etc)).ok()?;
            l.name = "Local".into();
            Some(l)
        }
        Some(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(tz);
            if tz.starts_with('/') {
                let mut l = load_from_sources(tz, &[String::new()]).ok()?;
                l.name = if tz == "/etc/localtime" {
                    "Local".into()
                } else {
                    tz.into()
                };
                Some(l)
            } else if !tz.is_empty() && tz != "UTC" {
                load_from_sources(tz, &env.sources).ok()
            } else {
                None
            }
        }
    }
}

/// Go's `loadLocation`: the first source whose file parses; the first error other than
/// absence otherwise.
fn load_from_sources(name: &str, sources: &[String]) -> Result<Location, ZoneError> {
    let mut first_err = None;
    for source in sources {
        let err = match read_from(source, name) {
            Ok(data) => match Location::from_tzif(name, &data) {
                Ok(l) => return Ok(l),
                Err(e) => e,
            },
            Err(e) => e,
        };
        if first_err.is_none() && !err.is_not_found() {
            first_err = Some(err);
        }
    }
    Err(first_err.unwrap_or_else(|| ZoneError::Unknown(name.into())))
}

/// Go's `loadTzinfoFromDirOrZip`: `name` inside directory `dir`, or inside `dir` when it is
/// an uncompressed zip; an empty `dir` reads `name` as a path.
fn read_from(dir: &str, name: &str) -> Result<Vec<u8>, ZoneError> {
    if dir.len() > 4 && dir.ends_with(".zip") {
        return read_from_zip(dir, name);
    }
    let path = if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    };
    read_file(&path)
}

/// Go's `readFile`, with its 10 MiB limit.
fn read_file(path: &str) -> Result<Vec<u8>, ZoneError> {
    use std::io::Read as _;
    const MAX: u64 = 10 << 20;
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ZoneError::Unknown(path.into())
        } else {
            ZoneError::Io(format!("{path}: {e}"))
        }
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut data = Vec::new();
    f.take(MAX + 4096).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > MAX {
        return Err(ZoneError::TooLarge(path.into()));
    }
    Ok(data)
}

/// Go's `loadTzinfoFromZip`: an entry of an uncompressed zip, found through the central
/// directory the end record (with no comment) points at.
fn read_from_zip(zip: &str, name: &str) -> Result<Vec<u8>, ZoneError> {
    let data = read_whole(zip)?;
    let corrupt = || ZoneError::BadZip(zip.into());
    let le2 = |b: &[u8], at: usize| -> Option<usize> {
        b.get(at..at + 2)
            .map(|x| usize::from(u16::from_le_bytes([x[0], x[1]])))
    };
    let le4 = |b: &[u8], at: usize| -> Option<usize> {
        b.get(at..at + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
    };
    let tail = data
        .len()
        .checked_sub(22)
        .map(|at| &data[at..])
        .ok_or_else(corrupt)?;
    if le4(tail, 0) != Some(0x0605_4b50) {
        return Err(corrupt());
    }
    let (count, size, off) = (
        le2(tail, 10).ok_or_else(corrupt)?,
        le4(tail, 12).ok_or_else(corrupt)?,
        le4(tail, 16).ok_or_else(corrupt)?,
    );
    let mut dir = data
        .get(off..off.checked_add(size).ok_or_else(corrupt)?)
        .ok_or_else(corrupt)?;
    for _ in 0..count {
        if le4(dir, 0) != Some(0x0201_4b50) {
            break;
        }
        let field = |at| le2(dir, at).ok_or_else(corrupt);
        let (meth, namelen, xlen, fclen) = (field(10)?, field(28)?, field(30)?, field(32)?);
        let fsize = le4(dir, 24).ok_or_else(corrupt)?;
        let foff = le4(dir, 42).ok_or_else(corrupt)?;
        let zname = dir.get(46..46 + namelen).ok_or_else(corrupt)?;
        let matched = zname == name.as_bytes();
        dir = dir.get(46 + namelen + xlen + fclen..).ok_or_else(corrupt)?;
        if !matched {
            continue;
        }
        if meth != 0 {
            return Err(ZoneError::Compressed {
                name: name.into(),
                zip: zip.into(),
            });
        }
        let local = data.get(foff..foff + 30 + namelen).ok_or_else(corrupt)?;
        if le4(local, 0) != Some(0x0403_4b50)
            || le2(local, 8) != Some(meth)
            || le2(local, 26) != Some(namelen)
            || &local[30..] != name.as_bytes()
        {
            return Err(corrupt());
        }
        let start = foff + 30 + namelen + le2(local, 28).ok_or_else(corrupt)?;
        return data
            .get(start..start + fsize)
            .map(<[u8]>::to_vec)
            .ok_or_else(corrupt);
    }
    Err(ZoneError::Unknown(name.into()))
}

fn read_whole(path: &str) -> Result<Vec<u8>, ZoneError> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ZoneError::Unknown(path.into())
        } else {
            ZoneError::Io(format!("{path}: {e}"))
        }
    })
}

thread_local! {
    /// A test's zones for the templates it renders on its own thread.
    static OVERRIDE: RefCell<Option<Arc<Zones>>> = const { RefCell::new(None) };
}

/// The zones templates use: a test's override on this thread, else the process's own, read
/// from its environment once (as Go reads `$TZ` and `$ZONEINFO` once).
pub(crate) fn zones() -> Arc<Zones> {
    if let Some(z) = OVERRIDE.with(|o| o.borrow().clone()) {
        return z;
    }
    static PROCESS: OnceLock<Arc<Zones>> = OnceLock::new();
    PROCESS
        .get_or_init(|| Arc::new(Zones::new(default_env())))
        .clone()
}

/// The environment the process's zones come from.
#[cfg(not(test))]
fn default_env() -> ZoneEnv {
    ZoneEnv::from_process()
}

/// Set (to anything) in the environment of a unit-test process to make templates use the
/// process's own zones (`$TZ`, `/etc/localtime`), as the developer tools that compare our
/// output with a helm run in the same environment need.
#[cfg(test)]
pub(crate) const PROCESS_ZONES_VAR: &str = "HELM_ENGINE_PROCESS_ZONES";

/// In unit tests, the zones helm's golden cases were recorded in unless a test says
/// otherwise: `$TZ` unset with an `/etc/localtime` of UTC, and zones from the test data,
/// whatever the machine's `$TZ`, `/etc/localtime` or tz database.
#[cfg(test)]
fn default_env() -> ZoneEnv {
    if std::env::var_os(PROCESS_ZONES_VAR).is_some() {
        return ZoneEnv::from_process();
    }
    test_env(None)
}

/// A test environment over the TZif files in the test data (tzdata 2025b), with `$TZ` as
/// given (`None`: unset, where the test data's `/etc/localtime` is UTC).
#[cfg(test)]
pub(crate) fn test_env(tz: Option<&str>) -> ZoneEnv {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/src/funcs/testdata");
    ZoneEnv {
        tz: tz.map(String::from),
        zoneinfo: String::new(),
        sources: vec![format!("{data}/zoneinfo/")],
        etc: format!("{data}/etc"),
    }
}

/// Restores the previous zones of this thread when dropped.
#[cfg(test)]
pub(crate) struct ZonesGuard(Option<Arc<Zones>>);

/// Makes this thread's templates use `zones` until the guard drops (also on a panic).
#[cfg(test)]
pub(crate) fn use_zones(zones: Zones) -> ZonesGuard {
    ZonesGuard(OVERRIDE.with(|o| o.borrow_mut().replace(Arc::new(zones))))
}

#[cfg(test)]
impl Drop for ZonesGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        OVERRIDE.with(|o| *o.borrow_mut() = prev);
    }
}
