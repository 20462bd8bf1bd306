//! Version constraints as Helm resolves chart versions (Masterminds/semver v3): `||` between
//! alternatives, `,` or spaces between terms that must all hold, operators `= != > >= < <= ~ ~>
//! ^`, wildcards `x X *` and partial versions (`1.2` means `1.2.x`), hyphen ranges
//! (`1.2 - 1.4.5`). A prerelease version satisfies a term only when that term names a
//! prerelease itself, so `^1.0` never picks `1.1.0-rc.1`.

use std::cmp::Ordering;

use semver::{Prerelease, Version};

use crate::error::{Error, Result};

/// A parsed constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    alternatives: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Tilde,
    Caret,
}

/// A version with possibly wildcard (`None`) minor and patch; a wildcard major matches all.
#[derive(Debug, Clone, PartialEq)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    op: Op,
    v: Partial,
}

impl Constraint {
    /// Parses a constraint; `*` (any non-prerelease version) when `text` is blank.
    pub fn parse(text: &str) -> Result<Constraint> {
        let bad = || Error::Constraint {
            constraint: text.to_owned(),
        };
        let text_or_any = if text.trim().is_empty() { "*" } else { text };
        let mut alternatives = Vec::new();
        for alt in text_or_any.split("||") {
            let words = tokens(alt);
            if words.is_empty() {
                return Err(bad());
            }
            let mut terms = Vec::new();
            let mut i = 0;
            while i < words.len() {
                // A hyphen range: `A - B`.
                if words.get(i + 1).map(String::as_str) == Some("-") {
                    let lo = words.get(i).ok_or_else(bad)?;
                    let hi = words.get(i + 2).ok_or_else(bad)?;
                    terms.push(Term {
                        op: Op::Ge,
                        v: parse_partial(lo).ok_or_else(bad)?,
                    });
                    terms.push(Term {
                        op: Op::Le,
                        v: parse_partial(hi).ok_or_else(bad)?,
                    });
                    i += 3;
                    continue;
                }
                terms.push(parse_term(&words[i]).ok_or_else(bad)?);
                i += 1;
            }
            alternatives.push(terms);
        }
        Ok(Constraint { alternatives })
    }

    /// Whether `version` satisfies the constraint.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|terms| terms.iter().all(|t| t.matches(version)))
    }
}

/// Splits a constraint alternative into words, gluing an operator written apart from its
/// version (`>= 1.2`) back onto it.
fn tokens(alt: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in alt.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
        if let Some(last) = out.last_mut() {
            if !last.is_empty() && last.chars().all(|c| "<>=!~^".contains(c)) {
                last.push_str(w);
                continue;
            }
        }
        out.push(w.to_owned());
    }
    out
}

fn parse_term(word: &str) -> Option<Term> {
    let (op, rest) = [
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ]
    .iter()
    .find_map(|(p, op)| word.strip_prefix(p).map(|r| (*op, r)))
    .unwrap_or((Op::Eq, word));
    Some(Term {
        op,
        v: parse_partial(rest.trim())?,
    })
}

fn is_wild(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_partial(s: &str) -> Option<Partial> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let s = s.split('+').next()?;
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Prerelease::new(p).ok()?),
        None => (s, Prerelease::EMPTY),
    };
    let mut parts = core.split('.');
    let mut next = |required: bool| -> Option<Option<u64>> {
        match parts.next() {
            None if !required => Some(None),
            None => None,
            Some(p) if is_wild(p) => Some(None),
            Some(p) => p.parse().ok().map(Some),
        }
    };
    let major = next(true)?;
    let minor = if major.is_none() { None } else { next(false)? };
    let patch = if minor.is_none() { None } else { next(false)? };
    if parts.next().is_some() {
        return None;
    }
    Some(Partial {
        major,
        minor,
        patch,
        pre,
    })
}

/// Parses a chart version leniently, as Masterminds' `NewVersion` does (`v1.2` is `1.2.0`).
pub fn parse_version(s: &str) -> Option<Version> {
    let p = parse_partial(s.trim())?;
    let build = s.split_once('+').map(|(_, b)| b);
    let mut v = Version::new(p.major?, p.minor.unwrap_or(0), p.patch.unwrap_or(0));
    v.pre = p.pre;
    if let Some(b) = build {
        v.build = semver::BuildMetadata::new(b).ok()?;
    }
    Some(v)
}

/// SemVer precedence (build metadata ignored).
fn precedence(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

fn triple(v: &Version) -> (u64, u64, u64) {
    (v.major, v.minor, v.patch)
}

impl Partial {
    fn dirty(&self) -> bool {
        self.patch.is_none()
    }

    fn lower(&self) -> Version {
        let mut v = Version::new(
            self.major.unwrap_or(0),
            self.minor.unwrap_or(0),
            self.patch.unwrap_or(0),
        );
        v.pre = self.pre.clone();
        v
    }

    /// The first (major, minor, patch) past the wildcard range; `None` when unbounded.
    fn wildcard_end(&self) -> Option<(u64, u64, u64)> {
        match (self.major, self.minor, self.patch) {
            (None, _, _) => None,
            (Some(m), None, _) => Some((m + 1, 0, 0)),
            (Some(m), Some(n), None) => Some((m, n + 1, 0)),
            (Some(m), Some(n), Some(p)) => Some((m, n, p + 1)),
        }
    }
}

impl Term {
    fn matches(&self, v: &Version) -> bool {
        if !v.pre.is_empty() && self.v.pre.is_empty() {
            return false;
        }
        let lo = self.v.lower();
        let below = |end: Option<(u64, u64, u64)>| end.is_none_or(|e| triple(v) < e);
        match self.op {
            Op::Eq if self.v.dirty() => {
                precedence(v, &lo) != Ordering::Less && below(self.v.wildcard_end())
            }
            Op::Eq => precedence(v, &lo) == Ordering::Equal,
            Op::Ne => !Term {
                op: Op::Eq,
                v: self.v.clone(),
            }
            .matches_ignoring_pre(v),
            Op::Gt if self.v.dirty() => match self.v.wildcard_end() {
                Some(end) => triple(v) >= end,
                None => false,
            },
            Op::Gt => precedence(v, &lo) == Ordering::Greater,
            Op::Ge => precedence(v, &lo) != Ordering::Less,
            Op::Lt => precedence(v, &lo) == Ordering::Less,
            Op::Le if self.v.dirty() => below(self.v.wildcard_end()),
            Op::Le => precedence(v, &lo) != Ordering::Greater,
            Op::Tilde => {
                let end = match (self.v.major, self.v.minor) {
                    (None, _) => None,
                    (Some(m), None) => Some((m + 1, 0, 0)),
                    (Some(m), Some(n)) => Some((m, n + 1, 0)),
                };
                precedence(v, &lo) != Ordering::Less && below(end)
            }
            Op::Caret => {
                let end = match (self.v.major, self.v.minor, self.v.patch) {
                    (None, _, _) => None,
                    (Some(m), _, _) if m > 0 => Some((m + 1, 0, 0)),
                    (Some(_), None, _) => Some((1, 0, 0)),
                    (Some(_), Some(n), _) if n > 0 => Some((0, n + 1, 0)),
                    (Some(_), Some(_), None) => Some((0, 1, 0)),
                    (Some(_), Some(_), Some(p)) => Some((0, 0, p + 1)),
                };
                precedence(v, &lo) != Ordering::Less && below(end)
            }
        }
    }

    fn matches_ignoring_pre(&self, v: &Version) -> bool {
        let lo = self.v.lower();
        if self.v.dirty() {
            precedence(v, &lo) != Ordering::Less
                && self.v.wildcard_end().is_none_or(|e| triple(v) < e)
        } else {
            precedence(v, &lo) == Ordering::Equal
        }
    }
}
