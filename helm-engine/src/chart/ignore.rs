//! `.helmignore` rules, as Helm's `pkg/ignore` applies them while loading a chart directory.

use super::glob::{is_bad_pattern, path_match};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Leading `/`: matched against the whole path from the chart root.
    Rooted,
    /// Contains `/`: matched against the whole path.
    Structural,
    /// No `/`: matched against the base name only.
    Base,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// Parses the file's lines; `**` is refused as Helm refuses it.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut rules = Rules::default();
        // Helm drops a UTF-8 byte-order mark from the first line.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            rules.add(line)?;
        }
        Ok(rules)
    }

    /// Adds Helm's default rule: hidden files under `templates/` are ignored.
    pub(crate) fn with_defaults(mut self) -> Self {
        // The default rule never fails to parse.
        let _ = self.add("templates/.?*");
        self
    }

    fn add(&mut self, line: &str) -> Result<()> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(Error::Chart(
                "double-star (**) syntax is not supported".into(),
            ));
        }
        // Helm tries each rule (still with its `!` and `/`) against a name to reject malformed
        // ones.
        if is_bad_pattern(rule) {
            return Err(Error::Chart("syntax error in pattern".into()));
        }
        let mut negate = false;
        if let Some(r) = rule.strip_prefix('!') {
            negate = true;
            rule = r;
        }
        let mut must_dir = false;
        if let Some(r) = rule.strip_suffix('/') {
            must_dir = true;
            rule = r;
        }
        let kind = if let Some(r) = rule.strip_prefix('/') {
            rule = r;
            Kind::Rooted
        } else if rule.contains('/') {
            Kind::Structural
        } else {
            Kind::Base
        };
        self.patterns.push(Pattern {
            rule: rule.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether the chart-relative path `n` is ignored.
    pub(crate) fn ignore(&self, n: &str, is_dir: bool) -> bool {
        if n.is_empty() || n == "." || n == "./" {
            return false;
        }
        for p in &self.patterns {
            let matched = match p.kind {
                Kind::Rooted | Kind::Structural => path_match(&p.rule, n),
                Kind::Base => path_match(&p.rule, n.rsplit('/').next().unwrap_or(n)),
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}
