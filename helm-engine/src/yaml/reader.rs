//! What go-yaml v2's reader hands its scanner, rewritten into a text saphyr-parser reads the
//! same way. Every rewrite replaces one character with one character, so char indices (and
//! saphyr's spans) still point into the original text.
//!
//! - NEL (U+0085) is a line break to libyaml, and reads as `\n` wherever it stands.
//! - LS and PS (U+2028, U+2029) are line breaks too, but libyaml keeps them in scalar content
//!   where it would put a `\n`; they read as `\n` here, and the scalars whose span holds one are
//!   re-read from the original text ([`refold_flow`], [`relink_literal`]).
//! - A byte-order mark after the start of the stream is an ordinary character to go-yaml (its
//!   scanner skips one only where the decoded buffer starts with one); saphyr refuses it, so it
//!   stands in as a character absent from the text, put back in scalars by [`Prepared::restore`].

use std::borrow::Cow;

/// The text saphyr parses, and what was changed to get it.
pub(crate) struct Prepared<'a> {
    /// The rewritten text.
    pub text: Cow<'a, str>,
    /// The character standing in for U+FEFF, if any was replaced.
    pub bom: Option<char>,
    /// When an LS or PS was read as `\n`: what each `\n` of the text stands for, in order.
    pub newlines: Vec<char>,
}

const BOM: char = '\u{FEFF}';

impl Prepared<'_> {
    /// The chars of `text` (the prepared text, or one whose blanks were rewritten since, with
    /// as many line breaks) with each LS and PS back in place of its `\n`; empty when no LS or
    /// PS was replaced.
    pub fn with_breaks(&self, text: &str) -> Vec<char> {
        if self.newlines.is_empty() {
            return Vec::new();
        }
        let mut kinds = self.newlines.iter();
        text.chars()
            .map(|c| {
                if c == '\n' {
                    *kinds.next().unwrap_or(&'\n')
                } else {
                    c
                }
            })
            .collect()
    }

    /// A scalar's text with the byte-order marks put back.
    pub fn restore(&self, s: String) -> String {
        match self.bom {
            Some(p) if s.contains(p) => s.replace(p, "\u{FEFF}"),
            _ => s,
        }
    }
}

/// Rewrites `s` as described in the module doc.
pub(crate) fn prepare(s: &str) -> Prepared<'_> {
    let body = s.strip_prefix(BOM).unwrap_or(s);
    let needs = body
        .chars()
        .any(|c| matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | BOM));
    if !needs {
        return Prepared {
            text: Cow::Borrowed(s),
            bom: None,
            newlines: Vec::new(),
        };
    }
    let bom = body.contains(BOM).then(|| stand_in(s));
    let mut out = String::with_capacity(s.len());
    let mut newlines = Vec::new();
    let mut chars = s.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            BOM if i == 0 => out.push(c),
            // The decoded buffer starts with it once the first is taken for the encoding's:
            // go-yaml's scanner skips it at column 0.
            BOM if i == 1 && s.starts_with(BOM) => {}
            BOM => out.push(bom.unwrap_or(c)),
            // libyaml joins only CR LF; CR then NEL are two breaks, each a `\n` in content.
            '\r' if chars.peek().is_some_and(|&(_, n)| n == '\u{85}') => {
                newlines.push('\n');
                out.push('\n');
            }
            '\n' | '\u{85}' => {
                newlines.push('\n');
                out.push('\n');
            }
            '\u{2028}' | '\u{2029}' => {
                newlines.push(c);
                out.push('\n');
            }
            _ => out.push(c),
        }
    }
    Prepared {
        text: Cow::Owned(out),
        bom,
        newlines: if newlines.iter().any(|&c| c != '\n') {
            newlines
        } else {
            Vec::new()
        },
    }
}

/// A private-use character that `s` does not hold.
fn stand_in(s: &str) -> char {
    (0xF0000u32..=0xFFFFD)
        .filter_map(char::from_u32)
        .find(|c| !s.contains(*c))
        .unwrap_or('\u{F0000}')
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// What libyaml's `read_line` appends for the break at `chars[i]`, and its length.
fn read_break(chars: &[char], i: usize) -> (char, usize) {
    match chars[i] {
        '\r' if chars.get(i + 1) == Some(&'\n') => ('\n', 2),
        '\u{2028}' | '\u{2029}' => (chars[i], 1),
        _ => ('\n', 1),
    }
}

/// The scalar style of a flow scalar re-read by [`refold_flow`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Plain,
    Single,
    Double,
}

/// A flow scalar (plain or quoted) whose source `chars[start..end]` holds an LS or PS, read as
/// libyaml reads it: blanks around breaks dropped, a run of breaks joined to one space when it
/// is a single `\n`, otherwise its first break dropped when that is a `\n` and the others kept
/// as they are (LS and PS as themselves). `None` when the source is not what was expected
/// (the caller then keeps saphyr's reading).
pub(crate) fn refold_flow(chars: &[char], start: usize, end: usize, style: Flow) -> Option<String> {
    let end = end.min(chars.len());
    let (mut i, stop) = match style {
        Flow::Plain => (start, end),
        Flow::Single => (start + 1, end.checked_sub(1)?),
        Flow::Double => (start + 1, end.checked_sub(1)?),
    };
    if style != Flow::Plain && (chars.get(start) != chars.get(end - 1)) {
        return None;
    }
    let mut out = String::new();
    let mut blanks = String::new();
    let mut breaks: Vec<char> = Vec::new();
    while i < stop {
        let c = chars[i];
        if is_break(c) {
            let (b, w) = read_break(chars, i);
            breaks.push(b);
            blanks.clear();
            i += w;
            continue;
        }
        if c == ' ' || c == '\t' {
            if breaks.is_empty() {
                blanks.push(c);
            }
            i += 1;
            continue;
        }
        // Content: settle the blanks or breaks before it.
        flush(&mut out, &mut blanks, &mut breaks);
        match style {
            Flow::Single if c == '\'' && chars.get(i + 1) == Some(&'\'') => {
                out.push('\'');
                i += 2;
            }
            Flow::Double if c == '\\' => {
                let e = *chars.get(i + 1)?;
                if is_break(e) {
                    // An escaped break: the break and the next line's indentation vanish.
                    let (_, w) = read_break(chars, i + 1);
                    i += 1 + w;
                    breaks.push(ESCAPED_BREAK);
                    while i < stop && (chars[i] == ' ' || chars[i] == '\t') {
                        i += 1;
                    }
                    continue;
                }
                let (value, used) = unescape(&chars[i + 1..stop])?;
                out.push(value);
                i += 1 + used;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    if style != Flow::Plain {
        flush(&mut out, &mut blanks, &mut breaks);
    }
    Some(out)
}

/// Stands first in a run of breaks after an escaped line break, which adds nothing itself and
/// keeps the breaks after it as they are.
const ESCAPED_BREAK: char = '\0';

fn flush(out: &mut String, blanks: &mut String, breaks: &mut Vec<char>) {
    if breaks.is_empty() {
        out.push_str(blanks);
    } else if breaks[0] == ESCAPED_BREAK {
        out.extend(&breaks[1..]);
    } else if breaks[0] == '\n' {
        if breaks.len() == 1 {
            out.push(' ');
        } else {
            out.extend(&breaks[1..]);
        }
    } else {
        out.extend(breaks.iter());
    }
    blanks.clear();
    breaks.clear();
}

/// A double-quoted escape (after the backslash): its character and how many chars it used.
fn unescape(rest: &[char]) -> Option<(char, usize)> {
    let simple = match rest.first()? {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '\'' => '\'',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        c @ ('x' | 'u' | 'U') => {
            let w = match c {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex: String = rest.get(1..1 + w)?.iter().collect();
            let v = u32::from_str_radix(&hex, 16).ok()?;
            return Some((char::from_u32(v)?, 1 + w));
        }
        _ => return None,
    };
    Some((simple, 1))
}

/// A literal block scalar whose source holds an LS or PS: saphyr read every break as `\n`;
/// libyaml keeps each LS or PS in place of its `\n`. The content's `\n`s stand, in order, for
/// the source's breaks after the header line (chomping only drops trailing ones).
pub(crate) fn relink_literal(chars: &[char], start: usize, end: usize, value: &str) -> String {
    let end = end.min(chars.len());
    let mut i = start;
    let mut source_breaks = Vec::new();
    // saphyr's span starts at the content; skip the header line if it starts at the `|`.
    if chars.get(start) == Some(&'|') {
        while i < end && !is_break(chars[i]) {
            i += 1;
        }
        if i < end {
            i += read_break(chars, i).1;
        }
    }
    while i < end {
        if is_break(chars[i]) {
            let (b, w) = read_break(chars, i);
            source_breaks.push(b);
            i += w;
        } else {
            i += 1;
        }
    }
    let mut breaks = source_breaks.into_iter();
    value
        .chars()
        .map(|c| {
            if c == '\n' {
                breaks.next().unwrap_or('\n')
            } else {
                c
            }
        })
        .collect()
}

/// How a UTF-16 code unit is read from its two bytes (big or little endian).
type Utf16Unit = fn([u8; 2]) -> u16;

/// go-yaml's raw buffer: the reader takes the input 512 bytes at a time (less what an
/// incomplete character left over) and decodes the whole chunk at once.
const RAW_CHUNK: usize = 512;

/// A reader problem, and the text decoded from the chunks before the one holding it: the
/// scanner meets the problem only when it asks for a character past that text.
#[derive(Debug)]
pub(crate) struct ReaderProblem {
    /// libyaml's wording.
    pub problem: &'static str,
    /// The characters of the chunks read before the problem's.
    pub before: String,
}

/// libyaml's reader over raw bytes: the text, or the first problem (an encoding error or a
/// character outside [`super::is_yaml_char`]) with what the chunks before it held.
pub(crate) fn decode(data: &[u8]) -> Result<Cow<'_, str>, ReaderProblem> {
    let (unit, bom): (Option<Utf16Unit>, usize) = match data {
        [0xFE, 0xFF, ..] => (Some(u16::from_be_bytes), 2),
        [0xFF, 0xFE, ..] => (Some(u16::from_le_bytes), 2),
        [0xEF, 0xBB, 0xBF, ..] => (None, 0),
        _ => (None, 0),
    };
    if unit.is_none() {
        if let Ok(s) = std::str::from_utf8(data) {
            if s.chars().all(super::is_yaml_char) {
                return Ok(Cow::Borrowed(s));
            }
        }
    }
    let mut out = String::with_capacity(data.len());
    let mut i = bom;
    let mut chunk_start = 0;
    while i < data.len() {
        let raw_end = chunk_start + RAW_CHUNK;
        let before = out.len();
        while i < data.len() {
            let avail = raw_end.min(data.len()) - i;
            let at_eof = raw_end >= data.len();
            let step = match unit {
                Some(unit) => utf16_char(&data[i..], avail, at_eof, unit),
                None => utf8_char(&data[i..], avail, at_eof),
            };
            match step {
                Ok(Some((c, w))) => {
                    out.push(c);
                    i += w;
                }
                Ok(None) => break,
                Err(problem) => {
                    out.truncate(before);
                    return Err(ReaderProblem {
                        problem,
                        before: out,
                    });
                }
            }
        }
        chunk_start = i;
    }
    Ok(Cow::Owned(out))
}

/// One UTF-8 character at the start of `b` as libyaml decodes it (leading octet, length,
/// trailing octets, shortest form, range, then the YAML character set), `None` when it runs
/// past the `avail` bytes read so far and more will come.
fn utf8_char(b: &[u8], avail: usize, at_eof: bool) -> Result<Option<(char, usize)>, &'static str> {
    let first = b[0];
    let (w, init) = match first {
        0x00..=0x7F => (1, u32::from(first)),
        _ if first & 0xE0 == 0xC0 => (2, u32::from(first & 0x1F)),
        _ if first & 0xF0 == 0xE0 => (3, u32::from(first & 0x0F)),
        _ if first & 0xF8 == 0xF0 => (4, u32::from(first & 0x07)),
        _ => return Err("invalid leading UTF-8 octet"),
    };
    if w > avail {
        return if at_eof {
            Err("incomplete UTF-8 octet sequence")
        } else {
            Ok(None)
        };
    }
    let mut v = init;
    for &t in &b[1..w] {
        if t & 0xC0 != 0x80 {
            return Err("invalid trailing UTF-8 octet");
        }
        v = (v << 6) | u32::from(t & 0x3F);
    }
    let shortest = match w {
        1 => true,
        2 => v >= 0x80,
        3 => v >= 0x800,
        _ => v >= 0x10000,
    };
    if !shortest {
        return Err("invalid length of a UTF-8 sequence");
    }
    if (0xD800..=0xDFFF).contains(&v) || v > 0x10FFFF {
        return Err("invalid Unicode character");
    }
    match char::from_u32(v) {
        Some(c) if super::is_yaml_char(c) => Ok(Some((c, w))),
        _ => Err(super::CONTROL_CHARACTERS),
    }
}

/// One UTF-16 character (a unit or a surrogate pair) as libyaml decodes it; `None` as for
/// [`utf8_char`].
fn utf16_char(
    b: &[u8],
    avail: usize,
    at_eof: bool,
    unit: Utf16Unit,
) -> Result<Option<(char, usize)>, &'static str> {
    let wait = |problem| if at_eof { Err(problem) } else { Ok(None) };
    if avail < 2 {
        return wait("incomplete UTF-16 character");
    }
    let u = unit([b[0], b[1]]);
    let (v, w) = match u {
        0xDC00..=0xDFFF => return Err("unexpected low surrogate area"),
        0xD800..=0xDBFF => {
            if avail < 4 {
                return wait("incomplete UTF-16 surrogate pair");
            }
            let low = unit([b[2], b[3]]);
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err("expected low surrogate area");
            }
            (
                0x10000 + ((u32::from(u) & 0x3FF) << 10) + (u32::from(low) & 0x3FF),
                4,
            )
        }
        _ => (u32::from(u), 2),
    };
    match char::from_u32(v) {
        Some(c) if super::is_yaml_char(c) => Ok(Some((c, w))),
        Some(_) => Err(super::CONTROL_CHARACTERS),
        None => Err("invalid Unicode character"),
    }
}

/// A folded block scalar whose source holds an LS or PS, read as libyaml reads it from the
/// header before the content at `chars[start]` (saphyr's span of the scalar event): only a `\n` between two lines that start with no blank folds
/// (into a space, or into nothing before more breaks); an LS or PS is kept as itself. `None`
/// when the source is not a block scalar header (the caller keeps saphyr's reading).
pub(crate) fn refold_block(chars: &[char], start: usize) -> Option<String> {
    let start = block_header(chars, start)?;
    let literal = match chars.get(start)? {
        '|' => true,
        '>' => false,
        _ => return None,
    };
    let mut i = start + 1;
    let mut chomp = 0i8;
    let mut increment = 0usize;
    for _ in 0..2 {
        match chars.get(i) {
            Some('+') if chomp == 0 => chomp = 1,
            Some('-') if chomp == 0 => chomp = -1,
            Some(c @ '1'..='9') if increment == 0 => increment = *c as usize - '0' as usize,
            _ => break,
        }
        i += 1;
    }
    while matches!(chars.get(i), Some(' ' | '\t')) {
        i += 1;
    }
    if chars.get(i) == Some(&'#') {
        while i < chars.len() && !is_break(chars[i]) {
            i += 1;
        }
    }
    if i < chars.len() {
        i += read_break(chars, i).1;
    }
    // The enclosing block's indentation: the column of the node the header belongs to (a
    // key, or the last `-` of entries opened on its line); -1 at the top level.
    let line_start = chars[..start]
        .iter()
        .rposition(|&c| is_break(c))
        .map_or(0, |p| p + 1);
    let mut parent: isize = -1;
    let mut j = line_start;
    while j < start {
        while j < start && chars[j] == ' ' {
            j += 1;
        }
        if j >= start {
            break;
        }
        parent = (j - line_start) as isize;
        if chars[j] == '-' && matches!(chars.get(j + 1), Some(' ')) {
            j += 1;
            continue;
        }
        break;
    }
    let mut indent = if increment > 0 {
        (parent.max(-1) + increment as isize).max(increment as isize) as usize
    } else {
        0
    };
    let mut column = 0usize;
    let mut out = String::new();
    let mut leading_break = String::new();
    let mut trailing_breaks = String::new();
    let mut leading_blank = false;
    // libyaml's block scalar breaks: indentation and empty lines, fixing the indentation at
    // the first line with content when the header gave none.
    let breaks = |i: &mut usize, column: &mut usize, indent: &mut usize, trailing: &mut String| {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || *column < *indent) && chars.get(*i) == Some(&' ') {
                *i += 1;
                *column += 1;
            }
            max_indent = max_indent.max(*column);
            match chars.get(*i) {
                Some(&c) if is_break(c) => {
                    let (b, w) = read_break(chars, *i);
                    trailing.push(b);
                    *i += w;
                    *column = 0;
                }
                _ => break,
            }
        }
        if *indent == 0 {
            *indent = max_indent.max((parent + 1).max(1) as usize);
        }
    };
    breaks(&mut i, &mut column, &mut indent, &mut trailing_breaks);
    while column == indent && i < chars.len() {
        let trailing_blank = matches!(chars[i], ' ' | '\t');
        if !literal && leading_break.starts_with('\n') && !leading_blank && !trailing_blank {
            if trailing_breaks.is_empty() {
                out.push(' ');
            }
        } else {
            out.push_str(&leading_break);
        }
        leading_break.clear();
        out.push_str(&trailing_breaks);
        trailing_breaks.clear();
        leading_blank = trailing_blank;
        while i < chars.len() && !is_break(chars[i]) {
            out.push(chars[i]);
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let (b, w) = read_break(chars, i);
        leading_break.push(b);
        i += w;
        column = 0;
        breaks(&mut i, &mut column, &mut indent, &mut trailing_breaks);
    }
    if chomp != -1 {
        out.push_str(&leading_break);
    }
    if chomp == 1 {
        out.push_str(&trailing_breaks);
    }
    Some(out)
}

/// The indicator of the block scalar whose content starts at `chars[content]` (or at the
/// indicator itself): on the last line before the content that holds more than blanks, the
/// first `|` or `>` followed by nothing but indicators, blanks and a comment.
pub(crate) fn block_header(chars: &[char], content: usize) -> Option<usize> {
    if matches!(chars.get(content), Some('|' | '>')) {
        return Some(content);
    }
    let mut end = chars[..content.min(chars.len())]
        .iter()
        .rposition(|&c| is_break(c))?;
    loop {
        let begin = chars[..end]
            .iter()
            .rposition(|&c| is_break(c))
            .map_or(0, |p| p + 1);
        let line = &chars[begin..end];
        if line.iter().all(|&c| c == ' ' || c == '\t' || c == '\r') {
            end = begin.checked_sub(1)?;
            continue;
        }
        return (0..line.len())
            .find(|&p| matches!(line[p], '|' | '>') && is_header_rest(&line[p + 1..]))
            .map(|p| begin + p);
    }
}

fn is_header_rest(rest: &[char]) -> bool {
    let mut i = 0;
    while i < rest.len() && i < 2 && matches!(rest[i], '+' | '-' | '1'..='9') {
        i += 1;
    }
    let indicators = i;
    while i < rest.len() && matches!(rest[i], ' ' | '\t') {
        i += 1;
    }
    i == rest.len() || (rest[i] == '#' && i > indicators)
}
