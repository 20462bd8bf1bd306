//! Glob matching as Go's `path.Match` (for `.helmignore` and `--show-only`) and as
//! `gobwas/glob` with `/` as separator (for `.Files.Glob`, where `**` crosses directories).

/// Go's `path.Match` (and `filepath.Match` on Unix): `*` and `?` never match `/`; `[...]`
/// classes with ranges and `^` negation; `\\` escapes. A malformed pattern matches nothing.
pub fn path_match(pattern: &str, name: &str) -> bool {
    go_match(pattern.as_bytes(), name.as_bytes()).unwrap_or(false)
}

/// Whether Go's `filepath.Match` reports `syntax error in pattern` for `pattern` (it checks the
/// whole pattern, whatever the name).
pub(crate) fn is_bad_pattern(pattern: &str) -> bool {
    go_match(pattern.as_bytes(), b"abc").is_err()
}

/// `ErrBadPattern`.
struct BadPattern;

/// Go's `utf8.DecodeRune`: an invalid or empty sequence is U+FFFD of width 1 (0 when empty).
fn decode_rune(b: &[u8]) -> (u32, usize) {
    if b.is_empty() {
        return (0xFFFD, 0);
    }
    let want = match b[0] {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (0xFFFD, 1),
    };
    match b.get(..want).and_then(|s| std::str::from_utf8(s).ok()) {
        Some(s) => (s.chars().next().map_or(0xFFFD, u32::from), want),
        None => (0xFFFD, 1),
    }
}

/// Splits off the leading stars and the chunk up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut p = pattern;
    let mut star = false;
    while let Some((b'*', rest)) = p.split_first() {
        p = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' if i + 1 < p.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

/// Go's `getEsc`: one (possibly escaped) character of a class, which must be followed by more.
fn get_esc(chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    let mut c = chunk;
    match c.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            c = &c[1..];
            if c.is_empty() {
                return Err(BadPattern);
            }
        }
        _ => {}
    }
    let (r, n) = decode_rune(c);
    if r == 0xFFFD && n == 1 && c[0] >= 0x80 {
        return Err(BadPattern);
    }
    let rest = &c[n..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

/// Go's `matchChunk`: matches one chunk at the start of `s`, returning what is left; the whole
/// chunk is checked for syntax even once the match has failed.
fn match_chunk<'a>(chunk: &[u8], s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (rr, n) = decode_rune(s);
                    r = rr;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// Go's `path.Match`, with its `ErrBadPattern`.
fn go_match(pattern: &[u8], name: &[u8]) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&b'/'));
        }
        let here = match_chunk(chunk, name);
        if let Ok(Some(t)) = here {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        here?;
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                match match_chunk(chunk, &name[i + 1..])? {
                    Some(t) if pattern.is_empty() && !t.is_empty() => {}
                    Some(t) => {
                        name = t;
                        continue 'pattern;
                    }
                    None => {}
                }
                i += 1;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// `gobwas/glob` with separator `/`: like [`path_match`], plus `**` matching across `/` and
/// `{a,b}` alternatives.
pub fn files_glob_match(pattern: &str, name: &str) -> bool {
    // Helm's `Files.Glob` falls back to `**` when the pattern does not compile.
    if gobwas_rejects(pattern) {
        return true;
    }
    for alt in expand_braces(pattern) {
        let p: Vec<char> = alt.chars().collect();
        let n: Vec<char> = name.chars().collect();
        if match_from(&p, 0, &n, 0, true).unwrap_or(false) {
            return true;
        }
    }
    false
}

/// Whether `gobwas/glob` fails to compile `pattern`: a class or a brace group left open, or a
/// trailing escape.
fn gobwas_rejects(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    let mut braces = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return true,
            '[' if !chars.by_ref().any(|c| c == ']') => return true,
            '{' => braces += 1,
            '}' if braces > 0 => braces -= 1,
            _ => {}
        }
    }
    braces > 0
}

fn expand_braces(p: &str) -> Vec<String> {
    let Some(open) = p.find('{') else {
        return vec![p.to_string()];
    };
    let Some(close_rel) = p[open..].find('}') else {
        return vec![p.to_string()];
    };
    let close = open + close_rel;
    let (pre, body, post) = (&p[..open], &p[open + 1..close], &p[close + 1..]);
    let mut out = Vec::new();
    for alt in body.split(',') {
        for rest in expand_braces(post) {
            out.push(format!("{pre}{alt}{rest}"));
        }
    }
    out
}

/// Returns `None` for a malformed pattern.
fn match_from(
    p: &[char],
    mut pi: usize,
    n: &[char],
    mut ni: usize,
    double_star: bool,
) -> Option<bool> {
    while pi < p.len() {
        match p[pi] {
            '*' => {
                let cross = double_star && pi + 1 < p.len() && p[pi + 1] == '*';
                let next = if cross { pi + 2 } else { pi + 1 };
                // Try every possible split.
                let mut k = ni;
                loop {
                    if match_from(p, next, n, k, double_star)? {
                        return Some(true);
                    }
                    if k >= n.len() || (!cross && n[k] == '/') {
                        return Some(false);
                    }
                    k += 1;
                }
            }
            '?' => {
                if ni >= n.len() || n[ni] == '/' {
                    return Some(false);
                }
                pi += 1;
                ni += 1;
            }
            '[' => {
                let (matched, end) = match_class(p, pi, n.get(ni).copied())?;
                if !matched || ni >= n.len() {
                    return Some(false);
                }
                pi = end;
                ni += 1;
            }
            '\\' => {
                let c = *p.get(pi + 1)?;
                if ni >= n.len() || n[ni] != c {
                    return Some(false);
                }
                pi += 2;
                ni += 1;
            }
            c => {
                if ni >= n.len() || n[ni] != c {
                    return Some(false);
                }
                pi += 1;
                ni += 1;
            }
        }
    }
    Some(ni == n.len())
}

fn match_class(p: &[char], start: usize, c: Option<char>) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('^') | Some('!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            i += 1;
            hi = if p[i] == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                p[i]
            };
            i += 1;
        }
        if let Some(c) = c {
            if lo <= c && c <= hi {
                matched = true;
            }
        }
    }
    let ok = c.is_some_and(|c| c != '/') && matched != negate;
    Some((ok, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match() {
        assert!(path_match("*.yaml", "a.yaml"));
        assert!(!path_match("*.yaml", "dir/a.yaml"));
        assert!(path_match("templates/*.yaml", "templates/a.yaml"));
        assert!(path_match("a?c", "abc"));
        assert!(path_match("[a-c]x", "bx"));
        assert!(!path_match("[^a-c]x", "bx"));
        // Go's classes: `!` is a plain character, `-` or `]` cannot open a range, and `/`
        // is not excluded.
        assert!(path_match("[!a]", "!"));
        assert!(!path_match("[!a]", "b"));
        assert!(path_match("a[^x]b", "a/b"));
        assert!(path_match("\\*", "*"));
        assert!(path_match("*/*.yaml", "templates/a.yaml"));
        assert!(!path_match("*", "a/b"));
        for bad in ["[a-", "[]a]", "[a-]", "a\\", "[", "x*[", "*x[z"] {
            assert!(is_bad_pattern(bad), "{bad}");
            assert!(!path_match(bad, "a"), "{bad}");
        }
        assert!(!is_bad_pattern("[a-c]*.txt"));
    }

    #[test]
    fn files_glob() {
        assert!(files_glob_match("dashboards/*.json", "dashboards/a.json"));
        assert!(!files_glob_match(
            "dashboards/*.json",
            "dashboards/x/a.json"
        ));
        assert!(files_glob_match("**.json", "dashboards/x/a.json"));
        assert!(files_glob_match("files/{a,b}.txt", "files/b.txt"));
        // A pattern gobwas cannot compile becomes `**`.
        assert!(files_glob_match("[a-", "dir/any.txt"));
        assert!(files_glob_match("{a,b", "x"));
        assert!(!files_glob_match("[a-c]", "x"));
    }
}
