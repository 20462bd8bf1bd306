//! The string checks behind gojsonschema's `format` keyword, as Helm 3.17 (gojsonschema
//! v1.2.0, Go 1.23) runs them: each format is a call into Go's standard library
//! (`net/mail.ParseAddress`, `net.ParseIP`, `time.Parse`, `net/url.Parse`) or a Go regular
//! expression, so what passes here is what those functions accept, corner cases included.

/// The formats gojsonschema knows; any other format name accepts every value.
pub(super) const KNOWN_FORMATS: &[&str] = &[
    "date",
    "time",
    "date-time",
    "hostname",
    "email",
    "idn-email",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "uuid",
    "regex",
    "json-pointer",
    "relative-json-pointer",
];

/// Whether the string `s` passes gojsonschema's checker for `format` (true for unknown formats).
pub(super) fn string_matches(format: &str, s: &str) -> bool {
    match format {
        "email" | "idn-email" => mail::parse_address(s),
        "ipv4" => s.contains('.') && parse_ip(s).is_some(),
        "ipv6" => s.contains(':') && parse_ip(s).is_some(),
        "date" => go_time_parse("2006-01-02", s),
        "time" => go_time_parse("15:04:05Z07:00", s) || go_time_parse("15:04:05", s),
        "date-time" => [
            "15:04:05",
            "15:04:05Z07:00",
            "2006-01-02",
            "2006-01-02T15:04:05Z07:00",
            "2006-01-02T15:04:05.999999999Z07:00",
        ]
        .iter()
        .any(|layout| go_time_parse(layout, s)),
        "hostname" => s.len() < 256 && is_hostname(s),
        "uri" | "iri" => !s.contains('\\') && url::parse(s).is_some_and(|u| u.has_scheme),
        "uri-reference" | "iri-reference" => !s.contains('\\') && url::parse(s).is_some(),
        "uri-template" => {
            !s.contains('\\') && url::parse(s).is_some_and(|u| is_uri_template_path(&u.path))
        }
        "uuid" => is_uuid(s),
        "regex" => s.is_empty() || super::goregex::translate(s).is_some(),
        "json-pointer" => is_json_pointer(s),
        "relative-json-pointer" => is_relative_json_pointer(s),
        _ => true,
    }
}

/// `^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])(\.(same))*$`: dot-separated
/// labels of 1 to 63 ASCII letters, digits and inner hyphens.
fn is_hostname(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// `^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`: lower case only.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// `^(?:/(?:[^~/]|~0|~1)*)*$`.
fn is_json_pointer(s: &str) -> bool {
    (s.is_empty() || s.starts_with('/')) && tildes_escaped(s)
}

/// Every `~` is followed by `0` or `1`.
fn tildes_escaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, c)| *c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

/// `^(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~0|~1)*)*)$`.
fn is_relative_json_pointer(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && s.starts_with('0')) {
        return false;
    }
    let rest = &s[digits..];
    rest == "#" || is_json_pointer(rest)
}

/// `^([^{]*({[^}]*})?)*$`: every `{` is closed by a later `}` (a `{` inside an open brace is
/// text).
fn is_uri_template_path(p: &str) -> bool {
    let mut open = false;
    for c in p.chars() {
        match c {
            '{' => open = true,
            '}' => open = false,
            _ => {}
        }
    }
    !open
}

/// Go's `net.ParseIP` (through `netip.ParseAddr`): the address as 16 bytes, IPv4 mapped into
/// `::ffff:0:0/96`; `None` for what Go refuses (octets with leading zeros, zones, ...).
pub(super) fn parse_ip(s: &str) -> Option<[u8; 16]> {
    if s.contains('%') {
        return None;
    }
    match s.bytes().find(|c| *c == b'.' || *c == b':')? {
        b'.' => {
            let v4 = parse_ipv4_fields(s)?;
            let mut ip = [0u8; 16];
            ip[10] = 0xff;
            ip[11] = 0xff;
            ip[12..].copy_from_slice(&v4);
            Some(ip)
        }
        _ => parse_ipv6(s),
    }
}

fn parse_ipv4_fields(s: &str) -> Option<[u8; 4]> {
    let mut fields = [0u8; 4];
    let (mut val, mut pos, mut digits) = (0u32, 0usize, 0);
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && val == 0 {
                    return None;
                }
                val = val * 10 + u32::from(c - b'0');
                digits += 1;
                if val > 255 {
                    return None;
                }
            }
            b'.' => {
                if i == 0 || i == b.len() - 1 || b[i - 1] == b'.' || pos == 3 {
                    return None;
                }
                fields[pos] = val as u8;
                pos += 1;
                val = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if pos < 3 {
        return None;
    }
    fields[3] = val as u8;
    Some(fields)
}

fn parse_ipv6(input: &str) -> Option<[u8; 16]> {
    let mut s = input;
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if let Some(rest) = s.strip_prefix("::") {
        ellipsis = Some(0);
        s = rest;
        if s.is_empty() {
            return Some(ip);
        }
    }
    let mut i = 0;
    while i < 16 {
        let b = s.as_bytes();
        let mut off = 0;
        let mut acc = 0u32;
        while off < b.len() {
            let Some(d) = (b[off] as char).to_digit(16) else {
                break;
            };
            acc = (acc << 4) + d;
            if off > 3 {
                return None;
            }
            off += 1;
        }
        if off == 0 {
            return None;
        }
        if b.get(off) == Some(&b'.') {
            if (ellipsis.is_none() && i != 12) || i + 4 > 16 {
                return None;
            }
            ip[i..i + 4].copy_from_slice(&parse_ipv4_fields(s)?);
            s = "";
            i += 4;
            break;
        }
        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if !s.starts_with(':') || s.len() == 1 {
            return None;
        }
        s = &s[1..];
        if let Some(rest) = s.strip_prefix(':') {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(i);
            s = rest;
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if i < 16 {
        let e = ellipsis?;
        let n = 16 - i;
        ip.copy_within(e..i, e + n);
        ip[e..e + n].fill(0);
    } else if ellipsis.is_some() {
        return None;
    }
    Some(ip)
}

/// Whether Go's `time.Parse(layout, s)` succeeds.
fn go_time_parse(layout: &str, s: &str) -> bool {
    super::gotime::parse(layout, s).is_ok()
}

/// Go's `net/url.Parse`, as far as whether it fails and what the scheme and path are.
mod url {
    /// The parts of a parsed URL the format checkers look at.
    pub(super) struct Url {
        /// Whether the URL has a scheme (`http:`).
        pub(super) has_scheme: bool,
        /// The unescaped path (empty for an opaque URL such as `mailto:x`).
        pub(super) path: String,
    }

    pub(super) fn parse(raw: &str) -> Option<Url> {
        let (u, frag) = match raw.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (raw, None),
        };
        let url = parse_no_fragment(u)?;
        if let Some(f) = frag {
            unescape(f, Mode::Other)?;
        }
        Some(url)
    }

    fn parse_no_fragment(raw: &str) -> Option<Url> {
        if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
            return None;
        }
        if raw == "*" {
            return Some(Url {
                has_scheme: false,
                path: "*".into(),
            });
        }
        let (scheme, rest) = get_scheme(raw)?;
        let has_scheme = !scheme.is_empty();
        let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
            &rest[..rest.len() - 1]
        } else {
            rest.split_once('?').map_or(rest, |(r, _)| r)
        };
        if !rest.starts_with('/') {
            if has_scheme {
                return Some(Url {
                    has_scheme,
                    path: String::new(),
                });
            }
            let segment = rest.split('/').next().unwrap_or("");
            if segment.contains(':') {
                return None;
            }
        }
        let mut path = rest;
        if (has_scheme || !rest.starts_with("///")) && rest.starts_with("//") {
            let authority = &rest[2..];
            let (authority, p) = match authority.find('/') {
                Some(i) => (&authority[..i], &authority[i..]),
                None => (authority, ""),
            };
            parse_authority(authority)?;
            path = p;
        }
        Some(Url {
            has_scheme,
            path: unescape(path, Mode::Other)?,
        })
    }

    /// The scheme (empty when there is none) and the rest; `None` for a leading `:`.
    fn get_scheme(raw: &str) -> Option<(&str, &str)> {
        for (i, c) in raw.bytes().enumerate() {
            match c {
                b'a'..=b'z' | b'A'..=b'Z' => {}
                b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
                b':' if i == 0 => return None,
                b':' => return Some((&raw[..i], &raw[i + 1..])),
                _ => return Some(("", raw)),
            }
        }
        Some(("", raw))
    }

    fn parse_authority(authority: &str) -> Option<()> {
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        parse_host(host)?;
        if let Some(u) = userinfo {
            let valid = u
                .chars()
                .all(|r| r.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(r));
            if !valid {
                return None;
            }
            for part in u.splitn(2, ':') {
                unescape(part, Mode::Other)?;
            }
        }
        Some(())
    }

    fn valid_optional_port(p: &str) -> bool {
        p.is_empty() || (p.starts_with(':') && p[1..].bytes().all(|b| b.is_ascii_digit()))
    }

    fn parse_host(host: &str) -> Option<()> {
        if host.starts_with('[') {
            let i = host.rfind(']')?;
            if !valid_optional_port(&host[i + 1..]) {
                return None;
            }
            if let Some(zone) = host[..i].find("%25") {
                unescape(&host[..zone], Mode::Host)?;
                unescape(&host[zone..i], Mode::Zone)?;
                unescape(&host[i..], Mode::Host)?;
                return Some(());
            }
        } else if let Some(i) = host.rfind(':') {
            if !valid_optional_port(&host[i..]) {
                return None;
            }
        }
        unescape(host, Mode::Host).map(|_| ())
    }

    #[derive(PartialEq, Clone, Copy)]
    enum Mode {
        Host,
        Zone,
        Other,
    }

    /// Bytes a host may hold unescaped (`shouldEscape` in host mode is false).
    fn host_byte_ok(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&c)
    }

    /// Go's `unescape`: `%` must start two hex digits; in a host only a non-ASCII byte or
    /// `%25` may be escaped, and only [`host_byte_ok`] ASCII bytes appear bare.
    fn unescape(s: &str, mode: Mode) -> Option<String> {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    return None;
                };
                let is25 = &b[i..i + 3] == b"%25";
                let v = (hi << 4 | lo) as u8;
                if mode == Mode::Host && hi < 8 && !is25 {
                    return None;
                }
                if mode == Mode::Zone && !is25 && v != b' ' && v < 0x80 && !host_byte_ok(v) {
                    return None;
                }
                out.push(v);
                i += 3;
            } else {
                if mode != Mode::Other && b[i] < 0x80 && !host_byte_ok(b[i]) {
                    return None;
                }
                out.push(b[i]);
                i += 1;
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Go's `net/mail.ParseAddress` (Go 1.23), reduced to whether it succeeds.
mod mail {
    use super::parse_ip;

    /// Why a step failed; `Charset` (an RFC 2047 word in a charset Go cannot decode) is the
    /// one error a phrase does not swallow.
    #[derive(Debug, PartialEq)]
    enum Fail {
        Syntax,
        Charset,
    }

    type Res<T> = Result<T, Fail>;

    struct Parser<'a> {
        s: &'a str,
    }

    pub(super) fn parse_address(s: &str) -> bool {
        let mut p = Parser { s };
        let Ok(n) = p.parse_address(true) else {
            return false;
        };
        p.skip_cfws() && p.s.is_empty() && n == 1
    }

    fn is_vchar(r: char) -> bool {
        ('!'..='~').contains(&r) || !r.is_ascii()
    }

    fn is_atext(r: char, dot: bool) -> bool {
        match r {
            '.' => dot,
            '(' | ')' | '<' | '>' | '[' | ']' | ':' | ';' | '@' | '\\' | ',' | '"' => false,
            _ => is_vchar(r),
        }
    }

    fn is_qtext(r: char) -> bool {
        r != '\\' && r != '"' && is_vchar(r)
    }

    fn is_wsp(r: char) -> bool {
        r == ' ' || r == '\t'
    }

    fn is_dtext(r: char) -> bool {
        r != '[' && r != ']' && r != '\\' && is_vchar(r)
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.as_bytes().first().copied()
        }

        fn consume(&mut self, c: u8) -> bool {
            if self.peek() == Some(c) {
                self.s = &self.s[1..];
                true
            } else {
                false
            }
        }

        fn skip_space(&mut self) {
            self.s = self.s.trim_start_matches([' ', '\t']);
        }

        fn skip_cfws(&mut self) -> bool {
            self.skip_space();
            while self.consume(b'(') {
                if self.consume_comment().is_none() {
                    return false;
                }
                self.skip_space();
            }
            true
        }

        /// The number of addresses parsed (a group may hold any number).
        fn parse_address(&mut self, handle_group: bool) -> Res<usize> {
            self.skip_space();
            if self.s.is_empty() {
                return Err(Fail::Syntax);
            }
            let orig = self.s;
            if self.consume_addr_spec().is_ok() {
                self.skip_space();
                if self.peek() == Some(b'(') {
                    self.consume_display_name_comment()?;
                }
                return Ok(1);
            }
            self.s = orig;
            if self.peek() != Some(b'<') {
                self.consume_phrase()?;
            }
            self.skip_space();
            if handle_group && self.consume(b':') {
                return self.consume_group_list();
            }
            if !self.consume(b'<') {
                return Err(Fail::Syntax);
            }
            let before = self.s;
            if let Err(e) = self.consume_addr_spec() {
                self.s = before;
                return Err(e);
            }
            if !self.consume(b'>') {
                return Err(Fail::Syntax);
            }
            Ok(1)
        }

        fn consume_group_list(&mut self) -> Res<usize> {
            let mut n = 0;
            self.skip_space();
            if self.consume(b';') {
                return if self.skip_cfws() {
                    Ok(0)
                } else {
                    Err(Fail::Syntax)
                };
            }
            loop {
                self.skip_space();
                n += self.parse_address(false)?;
                if !self.skip_cfws() {
                    return Err(Fail::Syntax);
                }
                if self.consume(b';') {
                    if !self.skip_cfws() {
                        return Err(Fail::Syntax);
                    }
                    return Ok(n);
                }
                if !self.consume(b',') {
                    return Err(Fail::Syntax);
                }
            }
        }

        /// On failure the caller restores `s`, as Go's deferred reset does.
        fn consume_addr_spec(&mut self) -> Res<()> {
            self.skip_space();
            if self.s.is_empty() {
                return Err(Fail::Syntax);
            }
            if self.peek() == Some(b'"') {
                if self.consume_quoted_string()?.is_empty() {
                    return Err(Fail::Syntax);
                }
            } else {
                self.consume_atom(true, false)?;
            }
            if !self.consume(b'@') {
                return Err(Fail::Syntax);
            }
            self.skip_space();
            if self.s.is_empty() {
                return Err(Fail::Syntax);
            }
            if self.peek() == Some(b'[') {
                self.consume_domain_literal()
            } else {
                self.consume_atom(true, false).map(|_| ())
            }
        }

        fn consume_phrase(&mut self) -> Res<()> {
            let mut words = 0;
            loop {
                if words > 0 && !self.skip_cfws() {
                    return Err(Fail::Syntax);
                }
                self.skip_space();
                if self.s.is_empty() {
                    break;
                }
                let word = if self.peek() == Some(b'"') {
                    self.consume_quoted_string().map(|_| ())
                } else {
                    self.consume_atom(true, true).and_then(|w| {
                        if rfc2047_charset_error(&w) {
                            Err(Fail::Charset)
                        } else {
                            Ok(())
                        }
                    })
                };
                match word {
                    Ok(()) => words += 1,
                    Err(e) if words == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(())
        }

        fn consume_quoted_string(&mut self) -> Res<String> {
            let mut out = String::new();
            let mut escaped = false;
            let mut chars = self.s.char_indices().skip(1);
            loop {
                let Some((i, r)) = chars.next() else {
                    return Err(Fail::Syntax);
                };
                if escaped {
                    if !is_vchar(r) && !is_wsp(r) {
                        return Err(Fail::Syntax);
                    }
                    out.push(r);
                    escaped = false;
                } else if is_qtext(r) || is_wsp(r) {
                    out.push(r);
                } else if r == '"' {
                    self.s = &self.s[i + 1..];
                    return Ok(out);
                } else if r == '\\' {
                    escaped = true;
                } else {
                    return Err(Fail::Syntax);
                }
            }
        }

        fn consume_atom(&mut self, dot: bool, permissive: bool) -> Res<String> {
            let end = self
                .s
                .char_indices()
                .find(|(_, r)| !is_atext(*r, dot))
                .map_or(self.s.len(), |(i, _)| i);
            if end == 0 {
                return Err(Fail::Syntax);
            }
            let atom = &self.s[..end];
            self.s = &self.s[end..];
            if !permissive && (atom.starts_with('.') || atom.contains("..") || atom.ends_with('.'))
            {
                return Err(Fail::Syntax);
            }
            Ok(atom.to_string())
        }

        fn consume_domain_literal(&mut self) -> Res<()> {
            if !self.consume(b'[') {
                return Err(Fail::Syntax);
            }
            let end = self.s.find(|r: char| !is_dtext(r)).ok_or(Fail::Syntax)?;
            let dtext = &self.s[..end];
            self.s = &self.s[end..];
            if !self.consume(b']') {
                return Err(Fail::Syntax);
            }
            // Go 1.23 takes any address `net.ParseIP` reads (no `IPv6:` tag).
            if parse_ip(dtext).is_some() {
                Ok(())
            } else {
                Err(Fail::Syntax)
            }
        }

        fn consume_display_name_comment(&mut self) -> Res<()> {
            if !self.consume(b'(') {
                return Err(Fail::Syntax);
            }
            let comment = self.consume_comment().ok_or(Fail::Syntax)?;
            if comment
                .split([' ', '\t'])
                .any(|w| !w.is_empty() && rfc2047_charset_error(w))
            {
                return Err(Fail::Charset);
            }
            Ok(())
        }

        /// After `(`: the comment's text, or `None` when it is not closed.
        fn consume_comment(&mut self) -> Option<String> {
            let mut depth = 1;
            let mut comment = Vec::new();
            let b = self.s.as_bytes();
            let mut i = 0;
            while i < b.len() && depth > 0 {
                if b[i] == b'\\' && b.len() - i > 1 {
                    i += 1;
                } else if b[i] == b'(' {
                    depth += 1;
                } else if b[i] == b')' {
                    depth -= 1;
                }
                if depth > 0 {
                    comment.push(b[i]);
                }
                i += 1;
            }
            self.s = &self.s[i..];
            (depth == 0).then(|| String::from_utf8_lossy(&comment).into_owned())
        }
    }

    /// Whether `word` is a well-formed RFC 2047 encoded word (`=?charset?B|Q?text?=`) whose
    /// text decodes but whose charset Go's `mime.WordDecoder` cannot read (anything but
    /// UTF-8, ISO-8859-1 and US-ASCII): `net/mail` fails on those and ignores other words.
    fn rfc2047_charset_error(word: &str) -> bool {
        if word.len() < 8
            || !word.starts_with("=?")
            || !word.ends_with("?=")
            || word.matches('?').count() != 4
        {
            return false;
        }
        let inner = &word[2..word.len() - 2];
        let mut parts = inner.splitn(3, '?');
        let (Some(charset), Some(enc), Some(text)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        if charset.is_empty() || enc.len() != 1 {
            return false;
        }
        let decodes = match enc {
            "B" | "b" => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .is_ok()
            }
            "Q" | "q" => q_decodes(text),
            _ => false,
        };
        decodes
            && !["utf-8", "iso-8859-1", "us-ascii"]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(charset))
    }

    /// Whether Go's `qDecode` accepts `s`: `=` starts two hex digits, other bytes are
    /// printable ASCII or line breaks and tabs.
    fn q_decodes(s: &str) -> bool {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'=' => {
                    let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                    if !(hex(i + 1) && hex(i + 2)) {
                        return false;
                    }
                    i += 3;
                }
                b' '..=b'~' | b'\n' | b'\r' | b'\t' => i += 1,
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::string_matches as ok;

    #[test]
    fn email_follows_go_net_mail() {
        for good in [
            "a@b",
            "A <a@b.c>",
            "a@b.c (c)",
            "g: a@b;",
            "a@[1.2.3.4]",
            "a@[::1]",
            "Name (c) <a@b.c>",
        ] {
            assert!(ok("email", good), "{good}");
        }
        for bad in [
            "a b@c",
            "a..b@c",
            "\"\"@c",
            "g: a@b, c@d;",
            "a@[IPv6:::1]",
            "=?foo?q?x?= <a@b.c>",
            "(c) a@b.c",
            "",
        ] {
            assert!(!ok("email", bad), "{bad}");
        }
    }

    #[test]
    fn addresses_times_and_urls_follow_go() {
        assert!(ok("ipv4", "::ffff:1.2.3.4"));
        assert!(!ok("ipv4", "01.2.3.4"));
        assert!(ok("ipv6", "1:2:3:4:5:6:7::"));
        assert!(!ok("ipv6", "1:2:3:4:5:6:7:8::"));
        assert!(ok("date-time", "2024-01-01"));
        assert!(ok("date-time", "2024-01-01T1:00:00,5+24:00"));
        assert!(!ok("date-time", "2024-02-30T00:00:00Z"));
        assert!(!ok("time", "12:00:00+01:61"));
        assert!(ok("uri", "x:y%"));
        assert!(!ok("uri", "http://a%20b/"));
        assert!(ok("uri-reference", "./a:b"));
        assert!(!ok("uri-reference", "1a:b"));
        assert!(ok("uri-template", "//a/{{x}}"));
        assert!(!ok("uuid", "123E4567-E89B-12D3-A456-426614174000"));
        assert!(ok("relative-json-pointer", "1#"));
        assert!(!ok("json-pointer", "/~2"));
    }
}
