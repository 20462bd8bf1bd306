//! Go's `time.Parse` up to the zone: the layout elements of `nextStdChunk`, Go's range checks
//! and error texts, giving the wall clock and what the text said about its zone (placing it in
//! a location is the caller's, as it needs the zone database). Shared by the schema's date and time
//! formats and Sprig's `toDate`, which both call into it in Go.

/// English month names, as Go's layouts spell them.
pub(crate) const MONTHS: [&str; 12] = [
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
/// English day names, Sunday first.
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A parsed wall clock and what the text said about its zone; the caller places it in a
/// location as Go's `ParseInLocation` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedTime {
    /// The wall clock as nanoseconds since the Unix epoch, read as if it were UTC.
    pub wall: i128,
    /// The zone the text gave.
    pub zone: ParsedZone,
}

/// The zone part of a parsed time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParsedZone {
    /// None: the time is in the location parsed in.
    Unspecified,
    /// `Z` or `UTC`.
    Utc,
    /// A numeric offset (seconds east of UTC), with the abbreviation also read, if any.
    Offset(i32, String),
    /// An abbreviation alone (`EST`, `GMT+3`).
    Abbrev(String),
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A layout element Go's `time.Parse` reads and `Time.Format` writes (`nextStdChunk`'s
/// codes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Std {
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
    /// Fractional seconds: whether the digits are `9`s (optional), how many, and the
    /// separator (`.` or `,`).
    Frac(bool, usize, char),
}

/// The shape of a numeric zone element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TzForm {
    Short,
    Plain,
    Colon,
    Seconds,
    ColonSeconds,
}

/// Go's `nextStdChunk`: the literal prefix, the element, and the rest of the layout.
pub(crate) fn next_std(layout: &str) -> (&str, Option<(Std, &str)>) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout[i..].starts_with(s);
    let lower_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            // `Jan` and `Mon` followed by a lower-case letter are words, not elements.
            b'J' if at(i, "Jan") && !lower_at(i + 3) => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if at(i, "Mon") && !lower_at(i + 3) => Some((Std::WeekDay, 3)),
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
                    Some((Std::Frac(ch == b'9', n, char::from(b[i])), n + 1))
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

/// Go's `time.Parse(layout, value)` up to placing the result in a location: the wall clock
/// and the zone the text names, or Go's error text.
pub(crate) fn parse(layout: &str, value: &str) -> Result<ParsedTime, String> {
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
            Std::Frac(nines, n, _) => {
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
    let wall =
        i128::from(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
            * 1_000_000_000
            + i128::from(nsec);
    let zone = if utc {
        ParsedZone::Utc
    } else if let Some(off) = zone_offset {
        ParsedZone::Offset(off as i32, zone_name)
    } else if !zone_name.is_empty() {
        ParsedZone::Abbrev(zone_name)
    } else {
        ParsedZone::Unspecified
    };
    Ok(ParsedTime { wall, zone })
}

/// Go's `parseNanoseconds` on the digits after the separator: at most nine count.
fn nanos_of(digits: &str) -> i64 {
    let d = &digits[..digits.len().min(9)];
    let n: i64 = d.parse().unwrap_or(0);
    n * 10i64.pow(9 - d.len() as u32)
}
