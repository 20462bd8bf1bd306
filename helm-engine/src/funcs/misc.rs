//! Sprig's remaining functions: defaults and emptiness, type reflection, paths, encodings,
//! regular expressions, semver, UUIDs and random strings.

use std::sync::Arc;

use base64::Engine as _;

use super::{Registry, arg_int, arg_str, s, strval};
use crate::template::exec::{Shared, V, is_true};
use crate::template::format::type_name;
use crate::value::{GoInt, Map, Object, TypedList, Value};

pub(super) fn register(r: &mut Registry) {
    r.ctx("default", "aa*", default);
    r.shared("empty", "a", |a| Ok(Value::Bool(!is_true(a[0]))));
    r.ctx("coalesce", "a*", coalesce);
    r.shared("all", "a*", |a| {
        Ok(Value::Bool(a.iter().all(|v| is_true(v))))
    });
    r.shared("any", "a*", |a| {
        Ok(Value::Bool(a.iter().any(|v| is_true(v))))
    });
    r.ctx("ternary", "aab", ternary);
    r.shared("typeOf", "a", |a| s(type_name(a[0])));
    r.plain("hello", "", |_| s("Hello!"));
    r.shared("typeIs", "sa", |a| {
        Ok(Value::Bool(arg_str(a, 0) == type_name(a[1])))
    });
    r.shared("typeIsLike", "sa", |a| {
        let t = type_name(a[1]);
        let want = arg_str(a, 0);
        Ok(Value::Bool(want == t || want == format!("*{t}")))
    });
    r.shared("kindOf", "a", |a| s(super::kind_name(a[0])));
    r.shared("kindIs", "sa", |a| {
        Ok(Value::Bool(arg_str(a, 0) == super::kind_name(a[1])))
    });
    // reflect.DeepEqual: equal contents of different Go types (a `chartutil.Values` and a
    // `map[string]interface {}`, a `[]string` and a `[]interface {}`) are not equal.
    r.shared("deepEqual", "aa", |a| {
        let same_types = go_type_tree(a[0]) == go_type_tree(a[1]);
        let x = crate::value::materialize(a[0])?;
        let y = crate::value::materialize(a[1])?;
        Ok(Value::Bool(same_types && x == y))
    });

    r.plain("base", "s", |a| s(path_base(arg_str(a, 0))));
    r.plain("dir", "s", |a| s(path_dir(arg_str(a, 0))));
    r.plain("clean", "s", |a| s(path_clean(arg_str(a, 0))));
    r.plain("ext", "s", |a| s(path_ext(arg_str(a, 0))));
    r.plain("isAbs", "s", |a| {
        Ok(Value::Bool(arg_str(a, 0).starts_with('/')))
    });
    r.plain("osBase", "s", |a| s(path_base(arg_str(a, 0))));
    r.plain("osDir", "s", |a| s(path_dir(arg_str(a, 0))));
    r.plain("osClean", "s", |a| s(path_clean(arg_str(a, 0))));
    r.plain("osExt", "s", |a| s(path_ext(arg_str(a, 0))));
    r.plain("osIsAbs", "s", |a| {
        Ok(Value::Bool(arg_str(a, 0).starts_with('/')))
    });

    r.plain("b64enc", "s", |a| {
        s(base64::engine::general_purpose::STANDARD.encode(crate::value::go_bytes(arg_str(a, 0))))
    });
    r.plain("b64dec", "s", |a| {
        s(match go_b64_decode(arg_str(a, 0)) {
            Ok(b) => crate::value::go_string(&b),
            Err(e) => e,
        })
    });
    r.plain("b32enc", "s", |a| {
        s(base32_encode(&crate::value::go_bytes(arg_str(a, 0))))
    });
    r.plain("b32dec", "s", |a| {
        s(match base32_decode(arg_str(a, 0)) {
            Ok(b) => crate::value::go_string(&b),
            Err(e) => e,
        })
    });

    // `regexMatch` drops a compile error (false); the other plain forms compile with
    // `regexp.MustCompile`, whose panic names the pattern; the `must` forms return
    // `regexp.Compile`'s error.
    r.plain("regexMatch", "ss", |a| {
        Ok(Value::Bool(
            must_re(arg_str(a, 0))
                .map(|r| r.is_match(arg_str(a, 1)))
                .unwrap_or(false),
        ))
    });
    r.plain("mustRegexMatch", "ss", |a| {
        Ok(Value::Bool(must_re(arg_str(a, 0))?.is_match(arg_str(a, 1))))
    });
    r.plain("regexFind", "ss", |a| {
        regex_find(re(arg_str(a, 0))?, arg_str(a, 1))
    });
    r.plain("mustRegexFind", "ss", |a| {
        regex_find(must_re(arg_str(a, 0))?, arg_str(a, 1))
    });
    r.plain("regexFindAll", "ssi", |a| {
        find_all(re(arg_str(a, 0))?, arg_str(a, 1), arg_int(a, 2))
    });
    r.plain("mustRegexFindAll", "ssi", |a| {
        find_all(must_re(arg_str(a, 0))?, arg_str(a, 1), arg_int(a, 2))
    });
    r.plain("regexReplaceAll", "sss", |a| {
        replace_all(re(arg_str(a, 0))?, arg_str(a, 1), arg_str(a, 2), false)
    });
    r.plain("mustRegexReplaceAll", "sss", |a| {
        replace_all(must_re(arg_str(a, 0))?, arg_str(a, 1), arg_str(a, 2), false)
    });
    r.plain("regexReplaceAllLiteral", "sss", |a| {
        replace_all(re(arg_str(a, 0))?, arg_str(a, 1), arg_str(a, 2), true)
    });
    r.plain("mustRegexReplaceAllLiteral", "sss", |a| {
        replace_all(must_re(arg_str(a, 0))?, arg_str(a, 1), arg_str(a, 2), true)
    });
    r.plain("regexSplit", "ssi", |a| {
        split_re(
            re(arg_str(a, 0))?,
            arg_str(a, 0),
            arg_str(a, 1),
            arg_int(a, 2),
        )
    });
    r.plain("mustRegexSplit", "ssi", |a| {
        split_re(
            must_re(arg_str(a, 0))?,
            arg_str(a, 0),
            arg_str(a, 1),
            arg_int(a, 2),
        )
    });
    r.plain("regexQuoteMeta", "s", |a| s(quote_meta(arg_str(a, 0))));

    r.plain("semverCompare", "ss", |a| {
        let c = Constraints::parse(arg_str(a, 0))?;
        let v = SemVer::parse(arg_str(a, 1)).map_err(|e| e.to_string())?;
        Ok(Value::Bool(c.check(&v)))
    });
    r.plain("semver", "s", |a| {
        let v = SemVer::parse(arg_str(a, 0)).map_err(|e| e.to_string())?;
        Ok(Value::Object(Arc::new(v)))
    });

    r.plain("uuidv4", "", |_| {
        let mut b = [0u8; 16];
        for x in &mut b {
            *x = fastrand::u8(..);
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        s(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    });
    r.plain("randAlphaNum", "i", |a| {
        s(rand_from(
            arg_int(a, 0),
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        ))
    });
    r.plain("randAlpha", "i", |a| {
        s(rand_from(
            arg_int(a, 0),
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ))
    });
    r.plain("randNumeric", "i", |a| {
        s(rand_from(arg_int(a, 0), "0123456789"))
    });
    r.plain("randAscii", "i", |a| {
        let set: String = (32u8..127).map(char::from).collect();
        s(rand_from(arg_int(a, 0), &set))
    });
    r.plain("randBytes", "i", |a| {
        let b: Vec<u8> = (0..arg_int(a, 0).max(0))
            .map(|_| fastrand::u8(..))
            .collect();
        s(base64::engine::general_purpose::STANDARD.encode(b))
    });
    r.plain("urlParse", "s", |a| url_parse(arg_str(a, 0)));
    r.plain("urlJoin", "m", |a| s(url_join(a[0])));
    r.plain("getHostByName", "s", |a| {
        use std::net::ToSocketAddrs;
        let addrs: Vec<String> = (arg_str(a, 0), 0)
            .to_socket_addrs()
            .map(|it| it.map(|sa| sa.ip().to_string()).collect())
            .unwrap_or_default();
        if addrs.is_empty() {
            // Sprig picks `addrs[rand.Intn(len(addrs))]`, which panics on an empty answer.
            return Err("invalid argument to Intn".into());
        }
        s(addrs[fastrand::usize(..addrs.len())].clone())
    });
}

fn default<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let given = if a.len() > 1 {
        Some(a.swap_remove(1))
    } else {
        None
    };
    match given {
        Some(g) if is_true(g.get()) => Ok(g),
        _ => Ok(a.swap_remove(0)),
    }
}

fn coalesce<'a>(_: &mut Shared<'_>, a: Vec<V<'a>>) -> Result<V<'a>, String> {
    Ok(a.into_iter()
        .find(|v| is_true(v.get()))
        .unwrap_or_else(|| V::own(Value::Nil)))
}

fn ternary<'a>(_: &mut Shared<'_>, mut a: Vec<V<'a>>) -> Result<V<'a>, String> {
    let cond = matches!(a[2].get(), Value::Bool(true));
    a.truncate(2);
    Ok(if cond {
        a.swap_remove(0)
    } else {
        a.swap_remove(1)
    })
}

/// The Go types of a value and of the maps and slices in it, in order, for comparing values
/// as `reflect.DeepEqual` does.
fn go_type_tree(v: &Value) -> Vec<String> {
    let mut out = vec![crate::template::format::type_name(v)];
    match v {
        Value::List(l) => l.iter().for_each(|x| out.extend(go_type_tree(x))),
        Value::Map(m) => m.values().for_each(|x| out.extend(go_type_tree(x))),
        Value::Object(o) => {
            if let Some(t) = o.typed_list() {
                t.items().iter().for_each(|x| out.extend(go_type_tree(x)));
            } else if let Some(m) = o.as_shared_map() {
                for (_, x) in m.entries_shared() {
                    out.extend(go_type_tree(&x));
                }
            }
        }
        _ => {}
    }
    out
}

/// Compiles a pattern as Go's `regexp.MustCompile` does: a bad one is its panic message.
fn re(p: &str) -> Result<regex::Regex, String> {
    super::goregex::compile_go(p).map_err(|e| format!("regexp: Compile({}): {e}", go_backquote(p)))
}

/// Compiles a pattern as Go's `regexp.Compile` does.
fn must_re(p: &str) -> Result<regex::Regex, String> {
    super::goregex::compile_go(p)
}

/// Go's `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn regex_find(r: regex::Regex, s: &str) -> Result<Value, String> {
    Ok(Value::String(
        r.find(s)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    ))
}

fn replace_all(r: regex::Regex, s: &str, with: &str, literal: bool) -> Result<Value, String> {
    Ok(Value::String(if literal {
        r.replace_all(s, regex::NoExpand(with)).into_owned()
    } else {
        let names = super::goregex::go_group_names(&r);
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for caps in r.captures_iter(s) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&s[last..m.start()]);
            super::goregex::go_expand(&mut out, with, &caps, &names);
            last = m.end();
        }
        out.push_str(&s[last..]);
        out
    }))
}

/// Go's `%#q`-style quoting used in regexp panics: backquotes when possible.
fn go_backquote(p: &str) -> String {
    if p.contains('`') {
        crate::template::format::go_quote(p)
    } else {
        format!("`{p}`")
    }
}

/// Go's `FindAllString`: at most `n` matches (all when `n < 0`), as a `[]string`.
fn find_all(r: regex::Regex, s: &str, n: i64) -> Result<Value, String> {
    let it = r
        .find_iter(s)
        .map(|m| Value::String(m.as_str().to_string()));
    let found: Vec<Value> = if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    };
    // Go returns a nil slice when nothing matches.
    Ok(if found.is_empty() {
        TypedList::nil("[]string")
    } else {
        TypedList::of("[]string", found)
    })
}

/// Go's `Regexp.Split`, a `[]string` (nil for `n == 0`).
fn split_re(r: regex::Regex, expr: &str, s: &str, n: i64) -> Result<Value, String> {
    if n == 0 {
        return Ok(TypedList::nil("[]string"));
    }
    if !expr.is_empty() && s.is_empty() {
        return Ok(TypedList::strings([String::new()]));
    }
    let matches: Vec<(usize, usize)> = {
        let it = r.find_iter(s).map(|m| (m.start(), m.end()));
        if n < 0 {
            it.collect()
        } else {
            it.take(n as usize).collect()
        }
    };
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (start, stop) in matches {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = start;
        if stop != 0 {
            parts.push(s[beg..end].to_string());
        }
        beg = stop;
    }
    if end != s.len() {
        parts.push(s[beg..].to_string());
    }
    Ok(TypedList::strings(parts))
}

fn rand_from(n: i64, set: &str) -> String {
    let chars: Vec<char> = set.chars().collect();
    (0..n.max(0))
        .map(|_| chars[fastrand::usize(..chars.len())])
        .collect()
}

/// Go's `encoding/base64` StdEncoding decoding (`decodeQuantum`), with its error text and
/// the input byte it names.
pub(super) fn go_b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let src = s.as_bytes();
    let corrupt = |at: usize| format!("illegal base64 data at input byte {at}");
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let skip_newlines = |mut si: usize| {
        while si < src.len() && matches!(src[si], b'\n' | b'\r') {
            si += 1;
        }
        si
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut buf = [0u32; 4];
        let mut j = 0;
        let mut dlen = 4;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(corrupt(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if matches!(c, b'\n' | b'\r') {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(corrupt(si - 1));
            }
            if j == 2 {
                // "==" is expected; the first "=" is consumed.
                si = skip_newlines(si);
                if si == src.len() {
                    return Err(corrupt(src.len()));
                }
                if src[si] != b'=' {
                    return Err(corrupt(si - 1));
                }
                si += 1;
            }
            si = skip_newlines(si);
            if si < src.len() {
                return Err(corrupt(si));
            }
            dlen = j;
            break;
        }
        let v = (buf[0] << 18) | (buf[1] << 12) | (buf[2] << 6) | buf[3];
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if dlen < 4 {
            break;
        }
    }
    Ok(out)
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim_end_matches('=');
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut out = Vec::new();
    for (i, c) in t.bytes().enumerate() {
        let v = B32
            .iter()
            .position(|&x| x == c)
            .ok_or_else(|| format!("illegal base32 data at input byte {i}"))?;
        bits = (bits << 5) | v as u64;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Ok(out)
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let j = parts.join("/");
    if rooted {
        format!("/{j}")
    } else if j.is_empty() {
        ".".into()
    } else {
        j
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    path_clean(&p[..i])
}

fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

fn url_parse(u: &str) -> Result<Value, String> {
    let mut m = Map::new();
    let (scheme, rest) = match u.find("://") {
        Some(i) => (&u[..i], &u[i + 3..]),
        None => ("", u),
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = if scheme.is_empty() {
        ("", rest)
    } else {
        match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    };
    let (userinfo, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    for (k, v) in [
        ("scheme", scheme),
        ("host", host),
        (
            "hostname",
            host.rsplit_once(':').map(|x| x.0).unwrap_or(host),
        ),
        ("path", path),
        ("query", query),
        ("opaque", ""),
        ("fragment", fragment),
        ("userinfo", userinfo),
    ] {
        m.insert(k.into(), Value::String(v.into()));
    }
    Ok(Value::Map(m))
}

fn url_join(v: &Value) -> String {
    let Value::Map(m) = v else {
        return String::new();
    };
    let g = |k: &str| m.get(k).map(strval).unwrap_or_default();
    let mut out = String::new();
    if !g("scheme").is_empty() {
        out.push_str(&g("scheme"));
        out.push_str("://");
    }
    if !g("userinfo").is_empty() {
        out.push_str(&g("userinfo"));
        out.push('@');
    }
    out.push_str(&g("host"));
    out.push_str(&g("path"));
    if !g("query").is_empty() {
        out.push('?');
        out.push_str(&g("query"));
    }
    if !g("fragment").is_empty() {
        out.push('#');
        out.push_str(&g("fragment"));
    }
    out
}

// ---- Masterminds/semver v3 ----

/// A semantic version as Masterminds/semver parses it (leading `v`, missing minor/patch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

impl SemVer {
    pub(crate) fn parse(s: &str) -> Result<SemVer, &'static str> {
        const INVALID: &str = "Invalid Semantic Version";
        let orig = s;
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, meta) = match s.split_once('+') {
            Some((a, b)) => (a, b.to_string()),
            None => (s, String::new()),
        };
        let (s, pre) = match s.split_once('-') {
            Some((a, b)) => (a, b.to_string()),
            None => (s, String::new()),
        };
        let parts: Vec<&str> = s.split('.').collect();
        if parts.is_empty()
            || parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(INVALID);
        }
        let num = |i: usize| -> Result<u64, &'static str> {
            parts
                .get(i)
                .map(|p| p.parse().map_err(|_| INVALID))
                .unwrap_or(Ok(0))
        };
        let ok_ident = |x: &str| {
            x.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        if (!pre.is_empty() && !ok_ident(&pre)) || (!meta.is_empty() && !ok_ident(&meta)) {
            return Err(INVALID);
        }
        Ok(SemVer {
            major: num(0)?,
            minor: num(1)?,
            patch: num(2)?,
            pre,
            meta,
            original: orig.to_string(),
        })
    }

    fn cmp(&self, o: &SemVer) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let c = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if c != Ordering::Equal {
            return c;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let a: Vec<&str> = self.pre.split('.').collect();
                let b: Vec<&str> = o.pre.split('.').collect();
                for (x, y) in a.iter().zip(b.iter()) {
                    let c = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(p), Ok(q)) => p.cmp(&q),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        _ => x.cmp(y),
                    };
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
        }
    }
}

impl Object for SemVer {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Major" => GoInt::uint64(self.major),
            "Minor" => GoInt::uint64(self.minor),
            "Patch" => GoInt::uint64(self.patch),
            "Prerelease" => Value::String(self.pre.clone()),
            "Metadata" => Value::String(self.meta.clone()),
            "Original" => Value::String(self.original.clone()),
            "String" => Value::String(self.canonical()),
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("Compare", [Value::Object(o)]) => {
                let other = SemVer::parse(&o.format()).ok()?;
                Some(Ok(Value::Int(self.cmp(&other) as i64)))
            }
            _ => None,
        }
    }
    fn format(&self) -> String {
        self.canonical()
    }
    /// A `fmt.Stringer` for `%s`, `%q`, `%x`, `%X`; other verbs print the pointed-to struct
    /// (`uint64` version numbers, then the strings), and `%#v` with a width, precision or
    /// space its Go syntax field by field.
    fn format_verb(&self, spec: &str) -> Option<String> {
        use crate::template::format::sprintf;
        let verb = spec.chars().last().unwrap_or('v');
        let s = |x: &str| sprintf(spec, &[&Value::String(x.to_string())]);
        if verb == 'v' {
            // `%#v` with a width, precision or space: Go syntax with the directive applied
            // to each field.
            let [major, minor, patch, pre, meta, original] =
                self.fields(|n| sprintf(spec, &[&GoInt::uint64(n)]), s);
            return Some(format!(
                "&semver.Version{{major:{major}, minor:{minor}, patch:{patch}, pre:{pre}, metadata:{meta}, original:{original}}}"
            ));
        }
        if matches!(verb, 's' | 'q' | 'x' | 'X') {
            return Some(sprintf(spec, &[&Value::String(self.canonical())]));
        }
        let num = |n: u64| -> String {
            if matches!(verb, 'd' | 'x' | 'X' | 'o' | 'O' | 'b' | 'c' | 'q' | 'U') {
                sprintf(spec, &[&GoInt::uint64(n)])
            } else {
                // Go prints the number as `v` with the directive's flags (a sign for `+`).
                format!(
                    "%!{verb}(uint64={})",
                    sprintf(&spec.replace(verb, "d"), &[&GoInt::uint64(n)])
                )
            }
        };
        Some(format!("&{{{}}}", self.fields(num, s).join(" ")))
    }
    fn go_syntax(&self) -> String {
        let q = crate::template::format::go_quote;
        format!(
            "&semver.Version{{major:{:#x}, minor:{:#x}, patch:{:#x}, pre:{}, metadata:{}, original:{}}}",
            self.major,
            self.minor,
            self.patch,
            q(&self.pre),
            q(&self.meta),
            q(&self.original)
        )
    }
}

impl SemVer {
    /// The struct's fields in declaration order, the numbers through `num` and the strings
    /// through `text`, as `fmt` prints a `*semver.Version` under a non-string verb.
    fn fields(&self, num: impl Fn(u64) -> String, text: impl Fn(&str) -> String) -> [String; 6] {
        [
            num(self.major),
            num(self.minor),
            num(self.patch),
            text(&self.pre),
            text(&self.meta),
            text(&self.original),
        ]
    }

    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }
}

/// A Masterminds/semver constraint: `||`-separated groups of space/comma-separated
/// comparisons, with `^`, `~`, wildcards and hyphen ranges.
struct Constraints {
    groups: Vec<Vec<Cmp>>,
}

struct Cmp {
    op: String,
    v: SemVer,
    /// Which parts of the version were wildcards or missing (`1.2` or `1.2.x`): minor, patch.
    dirty: (bool, bool, bool),
}

impl Constraints {
    fn parse(s: &str) -> Result<Constraints, String> {
        let mut groups = Vec::new();
        for g in s.split("||") {
            let g = g.trim();
            let mut cmps = Vec::new();
            // Hyphen ranges: "1.2 - 1.4.5".
            let toks: Vec<&str> = g
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .collect();
            let mut i = 0;
            while i < toks.len() {
                if i + 2 < toks.len() && toks[i + 1] == "-" {
                    cmps.push(Cmp::parse(&format!(">={}", toks[i]))?);
                    cmps.push(Cmp::parse(&format!("<={}", toks[i + 2]))?);
                    i += 3;
                    continue;
                }
                // An operator separated from its version by spaces: ">= 1.2".
                if matches!(
                    toks[i],
                    "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
                ) && i + 1 < toks.len()
                {
                    cmps.push(Cmp::parse(&format!("{}{}", toks[i], toks[i + 1]))?);
                    i += 2;
                    continue;
                }
                cmps.push(Cmp::parse(toks[i])?);
                i += 1;
            }
            if cmps.is_empty() {
                return Err(format!("improper constraint: {s}"));
            }
            groups.push(cmps);
        }
        Ok(Constraints { groups })
    }

    fn check(&self, v: &SemVer) -> bool {
        self.groups.iter().any(|g| g.iter().all(|c| c.check(v)))
    }
}

impl Cmp {
    fn parse(t: &str) -> Result<Cmp, String> {
        let bad = || format!("improper constraint: {t}");
        let op_len = t
            .find(|c: char| c.is_ascii_digit() || c == 'v' || c == 'x' || c == 'X' || c == '*')
            .ok_or_else(bad)?;
        let op = t[..op_len].trim().to_string();
        let ver = &t[op_len..];
        let ver_trim = ver.strip_prefix('v').unwrap_or(ver);
        let (core, suffix) = match ver_trim.find(['-', '+']) {
            Some(i) => (&ver_trim[..i], &ver_trim[i..]),
            None => (ver_trim, ""),
        };
        let parts: Vec<&str> = core.split('.').collect();
        let wild = |i: usize| parts.get(i).is_none_or(|p| matches!(*p, "x" | "X" | "*"));
        let dirty = (wild(0), wild(1), wild(2));
        let nums: Vec<String> = (0..3)
            .map(|i| {
                if wild(i) {
                    "0".to_string()
                } else {
                    parts[i].to_string()
                }
            })
            .collect();
        let v = SemVer::parse(&format!("{}{}", nums.join("."), suffix)).map_err(|_| bad())?;
        if !matches!(
            op.as_str(),
            "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
        ) {
            return Err(bad());
        }
        Ok(Cmp { op, v, dirty })
    }

    fn check(&self, v: &SemVer) -> bool {
        use std::cmp::Ordering::*;
        let c = &self.v;
        // Masterminds: a prerelease version only satisfies constraints that have a prerelease.
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        let cmp = v.cmp(c);
        let (dmaj, dmin, dpat) = self.dirty;
        match self.op.as_str() {
            "" | "=" => {
                if dmaj {
                    return true;
                }
                if dmin {
                    return v.major == c.major;
                }
                if dpat {
                    return v.major == c.major && v.minor == c.minor;
                }
                cmp == Equal
            }
            "!=" => {
                if dmaj {
                    return false;
                }
                if dmin {
                    return v.major != c.major;
                }
                if dpat {
                    return !(v.major == c.major && v.minor == c.minor);
                }
                cmp != Equal
            }
            ">" => {
                if dmin {
                    return v.major > c.major;
                }
                if dpat {
                    return v.major > c.major || (v.major == c.major && v.minor > c.minor);
                }
                cmp == Greater
            }
            "<" => cmp == Less,
            ">=" | "=>" => cmp != Less,
            "<=" | "=<" => {
                if dmin {
                    return v.major <= c.major;
                }
                if dpat {
                    return v.major < c.major || (v.major == c.major && v.minor <= c.minor);
                }
                cmp != Greater
            }
            "~" | "~>" => {
                if cmp == Less {
                    return false;
                }
                if c.major != v.major {
                    return false;
                }
                if c.minor != v.minor && !dmin {
                    return false;
                }
                true
            }
            "^" => {
                if cmp == Less {
                    return false;
                }
                if c.major > 0 {
                    return v.major == c.major;
                }
                if c.minor > 0 || dpat && !dmin {
                    return v.major == 0 && v.minor == c.minor;
                }
                if dmin {
                    return v.major == 0;
                }
                v.major == 0 && v.minor == 0 && v.patch == c.patch
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&SemVer::parse(v).unwrap())
    }

    #[test]
    fn semver_constraints() {
        assert!(sc(">=1.29.0-0", "v1.31.0"));
        assert!(sc(">= 1.2, < 3.0", "2.5.1"));
        assert!(!sc(">=1.2 <2", "2.0.0"));
        assert!(sc("^1.2.3", "1.9.0"));
        assert!(!sc("^1.2.3", "2.0.0"));
        assert!(sc("~1.2.3", "1.2.9"));
        assert!(!sc("~1.2.3", "1.3.0"));
        assert!(sc("1.2.x", "1.2.7"));
        assert!(sc("<1.5 || >=2", "2.1.0"));
        assert!(!sc(">=1.20", "1.21.0-beta.1"));
        assert!(sc("1.2 - 1.4", "1.3.0"));
        assert!(SemVer::parse("1.2.3.4").is_err());
        assert_eq!(SemVer::parse("v1.2").unwrap().canonical(), "1.2.0");
    }

    #[test]
    fn paths_and_encodings() {
        assert_eq!(path_base("/a/b.txt"), "b.txt");
        assert_eq!(path_dir("/a/b.txt"), "/a");
        assert_eq!(path_dir("b.txt"), ".");
        assert_eq!(path_ext("a/b.tar.gz"), ".gz");
        assert_eq!(path_clean("a/../b/./c/"), "b/c");
        assert_eq!(base32_encode(b"hello"), "NBSWY3DP");
        assert_eq!(base32_decode("NBSWY3DP").unwrap(), b"hello");
        assert_eq!(go_b64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(
            go_b64_decode("a!").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
    }
}
