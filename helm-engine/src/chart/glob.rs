//! Glob matching as Go's `path.Match` (for `.helmignore` and `--show-only`) and as
//! `gobwas/glob` with `/` as separator (for `.Files.Glob`, where `**` crosses directories).

/// Go's `path.Match`: `*` and `?` never match `/`; `[...]` classes with ranges and `^`/`!`
/// negation; `\` escapes. A malformed pattern matches nothing.
pub fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, 0, &n, 0, false).unwrap_or(false)
}

/// `gobwas/glob` with separator `/`: like [`path_match`], plus `**` matching across `/` and
/// `{a,b}` alternatives.
pub fn files_glob_match(pattern: &str, name: &str) -> bool {
    for alt in expand_braces(pattern) {
        let p: Vec<char> = alt.chars().collect();
        let n: Vec<char> = name.chars().collect();
        if match_from(&p, 0, &n, 0, true).unwrap_or(false) {
            return true;
        }
    }
    false
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
    }
}
