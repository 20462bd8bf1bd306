//! Masterminds/semver constraint checks, as Helm uses them to match `dependencies` entries to
//! the subcharts found under `charts/`.

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

fn parse_version(s: &str) -> Option<Version> {
    let s = s.trim().strip_prefix('v').unwrap_or(s.trim());
    let s = s.split('+').next()?;
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p.to_string()),
        None => (s, String::new()),
    };
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map(|p| p.parse().ok()).unwrap_or(Some(0))?;
    let patch = parts.next().map(|p| p.parse().ok()).unwrap_or(Some(0))?;
    if parts.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre,
    })
}

fn cmp_versions(a: &Version, b: &Version) -> std::cmp::Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => a.pre.cmp(&b.pre),
        })
}

/// Whether `version` satisfies `constraint` (`^1.2`, `~1.2.3`, `>=1 <2`, `1.x`, `*`, `a || b`).
/// An unparsable constraint or version is not compatible, as in Helm.
pub fn is_compatible(constraint: &str, version: &str) -> bool {
    let Some(v) = parse_version(version) else {
        return false;
    };
    if constraint.trim().is_empty() {
        return false;
    }
    constraint.split("||").any(|alt| {
        let terms: Vec<&str> = alt.split([',', ' ']).filter(|t| !t.is_empty()).collect();
        // Join an operator written apart from its version (`>= 1.0`).
        let mut joined: Vec<String> = Vec::new();
        for t in terms {
            if let Some(last) = joined.last_mut() {
                if last.chars().all(|c| "<>=!~^".contains(c)) {
                    last.push_str(t);
                    continue;
                }
            }
            joined.push(t.to_string());
        }
        !joined.is_empty() && joined.iter().all(|t| term_matches(t, &v))
    })
}

fn term_matches(term: &str, v: &Version) -> bool {
    let ops = [">=", "<=", "!=", "=>", "=<", ">", "<", "=", "~>", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|op| term.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("", term));
    let rest = rest.trim();
    // Wildcards: 1.x, 1.2.*, *.
    let parts: Vec<&str> = rest
        .strip_prefix('v')
        .unwrap_or(rest)
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .collect();
    let wild = |p: Option<&&str>| p.is_none_or(|s| *s == "x" || *s == "X" || *s == "*");
    if rest == "*" || rest == "x" || rest == "X" {
        return v.pre.is_empty();
    }
    let Some(major) = parts.first().and_then(|p| p.parse::<u64>().ok()) else {
        return false;
    };
    let minor_wild = wild(parts.get(1));
    let patch_wild = wild(parts.get(2));
    let minor: u64 = if minor_wild {
        0
    } else {
        parts[1].parse().unwrap_or(0)
    };
    let patch: u64 = if patch_wild {
        0
    } else {
        parts[2].parse().unwrap_or(0)
    };
    let pre = rest
        .split_once('-')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    let c = Version {
        major,
        minor,
        patch,
        pre: pre.clone(),
    };
    // Prereleases only satisfy constraints that mention one.
    if !v.pre.is_empty() && pre.is_empty() {
        return false;
    }
    use std::cmp::Ordering::*;
    let ord = cmp_versions(v, &c);
    let upper = |v: &Version, u: Version| cmp_versions(v, &u) == Less;
    match op {
        "" | "=" => {
            if minor_wild {
                v.major == major
            } else if patch_wild {
                v.major == major && v.minor == minor
            } else {
                ord == Equal
            }
        }
        "!=" => ord != Equal,
        ">" => {
            if minor_wild {
                v.major > major
            } else if patch_wild {
                (v.major, v.minor) > (major, minor)
            } else {
                ord == Greater
            }
        }
        ">=" | "=>" => ord != Less,
        "<" => ord == Less,
        "<=" | "=<" => {
            if minor_wild {
                v.major <= major
            } else if patch_wild {
                (v.major, v.minor) <= (major, minor)
            } else {
                ord != Greater
            }
        }
        "~" | "~>" => {
            let up = if minor_wild || parts.len() == 1 {
                Version {
                    major: major + 1,
                    minor: 0,
                    patch: 0,
                    pre: String::new(),
                }
            } else {
                Version {
                    major,
                    minor: minor + 1,
                    patch: 0,
                    pre: String::new(),
                }
            };
            ord != Less && upper(v, up)
        }
        "^" => {
            let up = if major > 0 || minor_wild {
                Version {
                    major: major + 1,
                    minor: 0,
                    patch: 0,
                    pre: String::new(),
                }
            } else if minor > 0 || patch_wild {
                Version {
                    major: 0,
                    minor: minor + 1,
                    patch: 0,
                    pre: String::new(),
                }
            } else {
                Version {
                    major: 0,
                    minor: 0,
                    patch: patch + 1,
                    pre: String::new(),
                }
            };
            ord != Less && upper(v, up)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_compatible;

    #[test]
    fn masterminds_constraints() {
        assert!(is_compatible("1.2.3", "1.2.3"));
        assert!(is_compatible("^1.2", "1.9.0"));
        assert!(!is_compatible("^1.2", "2.0.0"));
        assert!(is_compatible("~1.2.3", "1.2.9"));
        assert!(!is_compatible("~1.2.3", "1.3.0"));
        assert!(is_compatible(">=1.0.0 <2.0.0", "1.5.0"));
        assert!(is_compatible("1.x", "1.7.2"));
        assert!(is_compatible("*", "0.1.0"));
        assert!(!is_compatible("", "0.1.0"));
        assert!(is_compatible(">= 1.0, < 3", "2.0.0"));
    }
}
