//! libyaml's verdict on a quoted scalar that spans lines where a simple key may start, for the
//! errors saphyr-parser words and places otherwise. libyaml saves a possible simple key at
//! the opening quote and drops it as soon as the scanner stands on a later line (it checks
//! right after each token): a key it must have (a block mapping's key column) is then "could
//! not find expected ':'" at the closing quote's line, and a `:` after one it may drop is
//! "mapping values are not allowed in this context".

/// Where quoted scalars stand in `chars`, found by a light reading of the text (comments,
/// block scalars and plain scalars skipped): each as `(opening quote, one past the closing
/// quote, inside a flow collection)`.
fn quoted_scalars(chars: &[char]) -> Vec<(usize, usize, bool)> {
    lex(chars).0
}

/// The spaces that open the line of the outermost flow collection holding `index`.
pub(crate) fn flow_open_indent(chars: &[char], index: usize) -> Option<usize> {
    let open = lex(chars).2.into_iter().rev().find(|&o| o < index)?;
    Some(line_indent(chars, open))
}

/// libyaml's error for saphyr's "invalid indentation in flow construct" (a rule libyaml does
/// not have) when the flow collection holding `index` stands where a block mapping requires
/// a key: the key goes stale at the first token on a later line. The zero-based line.
pub(crate) fn flow_key_error(chars: &[char], index: usize) -> Option<usize> {
    let open = lex(chars).2.into_iter().rev().find(|&o| o < index)?;
    if !at_block_indent(chars, open) {
        return None;
    }
    let line = line_of(chars, open);
    let next_line = open + chars[open..].iter().position(|&c| c == '\n' || c == '\r')?;
    let mut k = next_line;
    let mut comment = false;
    while k < chars.len() {
        match chars[k] {
            '\n' | '\r' => comment = false,
            '#' if !comment => comment = true,
            ' ' | '\t' => {}
            _ if comment => {}
            _ => break,
        }
        k += 1;
    }
    (k <= index)
        .then(|| line_of(chars, k))
        .filter(|&l| l > line)
}

/// The zero-based line of the first line in block context that starts (after spaces) with a
/// tab where libyaml looks for a token: at a line start it skips spaces only, as a simple
/// key may start there, and a tab cannot start any token. (After a plain scalar the scalar's
/// own scan takes the next line's blanks, with its own rule.)
pub(crate) fn tab_at_line_start(chars: &[char]) -> Option<usize> {
    lex(chars).1.map(|at| line_of(chars, at))
}

/// What [`lex`] finds: the quoted scalars, where the first tab [`tab_at_line_start`] looks for
/// stands, and where each outermost flow collection opens.
type Lexed = (Vec<(usize, usize, bool)>, Option<usize>, Vec<usize>);

/// [`quoted_scalars`], the first tab [`tab_at_line_start`] looks for, and the flow collections.
fn lex(chars: &[char]) -> Lexed {
    let n = chars.len();
    let mut tab = None;
    let mut flows = Vec::new();
    let mut note_tab = |line_begin: usize, flow: usize, plain: bool| {
        let k = line_begin
            + chars[line_begin.min(n)..]
                .iter()
                .take_while(|&&c| c == ' ')
                .count();
        if tab.is_none() && flow == 0 && !plain && chars.get(k) == Some(&'\t') {
            tab = Some(k);
        }
    };
    let is_break = |c: char| c == '\n' || c == '\r';
    let blank_or_end = |i: usize| i >= n || matches!(chars[i], ' ' | '\t' | '\n' | '\r');
    let mut out = Vec::new();
    let mut flow = 0usize;
    let mut plain = false;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if is_break(c) {
            i += 1;
            if c == '\r' && chars.get(i) == Some(&'\n') {
                i += 1;
            }
            note_tab(i, flow, plain);
            if flow == 0 {
                plain = false;
            }
            continue;
        }
        if c == ' ' || c == '\t' {
            i += 1;
            continue;
        }
        let after_blank = i == 0 || matches!(chars[i - 1], ' ' | '\t' | '\n' | '\r');
        if c == '#' && after_blank {
            plain = false;
            while i < n && !is_break(chars[i]) {
                i += 1;
            }
            continue;
        }
        if plain {
            if c == ':' && (blank_or_end(i + 1) || (flow > 0 && ",[]{}".contains(chars[i + 1]))) {
                plain = false;
                i += 1;
                continue;
            }
            if !(flow > 0 && ",[]{}".contains(c)) {
                i += 1;
                continue;
            }
            plain = false;
        }
        match c {
            '"' | '\'' => {
                let mut j = i + 1;
                while j < n {
                    match chars[j] {
                        '\\' if c == '"' => j += 2,
                        '\'' if c == '\'' && chars.get(j + 1) == Some(&'\'') => j += 2,
                        q if q == c => break,
                        _ => j += 1,
                    }
                }
                if j >= n {
                    return (out, tab, flows);
                }
                out.push((i, j + 1, flow > 0));
                i = j + 1;
            }
            '[' | '{' => {
                if flow == 0 {
                    flows.push(i);
                }
                flow += 1;
                i += 1;
            }
            ']' | '}' => {
                flow = flow.saturating_sub(1);
                i += 1;
            }
            ',' if flow > 0 => i += 1,
            '-' | '?' if blank_or_end(i + 1) => {
                // After a block entry or a complex key libyaml allows a simple key, so it
                // skips spaces only: a tab then starts no token.
                note_tab(i + 1, flow, false);
                i += 1;
            }
            ':' if blank_or_end(i + 1) => i += 1,
            '&' | '*' | '!' => {
                while !blank_or_end(i) {
                    i += 1;
                }
            }
            '|' | '>' if flow == 0 => {
                // A block scalar: its lines are the more indented ones after the header's.
                let indent = line_indent(chars, i);
                while i < n && !is_break(chars[i]) {
                    i += 1;
                }
                loop {
                    let start = i + 1;
                    if start >= n {
                        i = n;
                        break;
                    }
                    let mut k = start;
                    while k < n && chars[k] == ' ' {
                        k += 1;
                    }
                    if k < n && !is_break(chars[k]) && k - start <= indent {
                        note_tab(start, flow, false);
                        i = start;
                        break;
                    }
                    i = k;
                    while i < n && !is_break(chars[i]) {
                        i += 1;
                    }
                }
            }
            '%' if i == 0 || is_break(chars[i - 1]) => {
                while i < n && !is_break(chars[i]) {
                    i += 1;
                }
            }
            _ => {
                plain = true;
                i += 1;
            }
        }
    }
    (out, tab, flows)
}

/// Where the line holding `chars[i]` starts, a line ending at `\n` only (a lone `\r` does
/// not break it, unlike [`line_start`]).
pub(super) fn lf_line_start(chars: &[char], i: usize) -> usize {
    chars[..i]
        .iter()
        .rposition(|&c| c == '\n')
        .map_or(0, |p| p + 1)
}

fn line_start(chars: &[char], i: usize) -> usize {
    chars[..i]
        .iter()
        .rposition(|&c| c == '\n' || c == '\r')
        .map_or(0, |p| p + 1)
}

/// The spaces that open the line holding `chars[i]`.
fn line_indent(chars: &[char], i: usize) -> usize {
    let s = line_start(chars, i);
    chars[s..].iter().take_while(|&&c| c == ' ').count()
}

fn line_of(chars: &[char], i: usize) -> usize {
    let mut line = 0;
    let mut k = 0;
    while k < i.min(chars.len()) {
        match chars[k] {
            '\r' if chars.get(k + 1) == Some(&'\n') => {
                line += 1;
                k += 2;
                continue;
            }
            '\n' | '\r' => line += 1,
            _ => {}
        }
        k += 1;
    }
    line
}

/// Whether a key at `chars[at]` stands at the column of the block collection around it
/// (libyaml then requires the key): the first thing on its line, and an earlier line at
/// that indentation, or less indented with a node after its `- ` entries at that column.
fn at_block_indent(chars: &[char], at: usize) -> bool {
    let start = line_start(chars, at);
    if chars[start..at].iter().any(|&c| c != ' ') {
        return false;
    }
    let col = at - start;
    let mut end = start;
    while end > 0 {
        let prev = line_start(chars, end - 1);
        let line = &chars[prev..end - 1];
        end = prev;
        let spaces = line.iter().take_while(|&&c| c == ' ').count();
        if spaces == line.len() || line[spaces] == '#' {
            continue;
        }
        if spaces == col {
            return true;
        }
        if spaces < col {
            let mut k = spaces;
            while line.get(k) == Some(&'-') && matches!(line.get(k + 1), Some(' ')) {
                k += 1;
                while line.get(k) == Some(&' ') {
                    k += 1;
                }
                if k == col {
                    return true;
                }
            }
            return false;
        }
    }
    false
}

/// libyaml's error for saphyr's `info` at `index` (a char index into `chars`, the text as
/// saphyr read it), when it comes of a quoted scalar spanning lines where a simple key may
/// start: the problem and its zero-based line (both are scanner errors).
pub(crate) fn multiline_key_error(
    chars: &[char],
    index: usize,
    info: &str,
) -> Option<(&'static str, usize)> {
    let scalars = quoted_scalars(chars);
    if !matches!(
        info,
        "invalid trailing content after double-quoted scalar" | "simple key expect ':'"
    ) {
        return None;
    }
    // The scalar saphyr stopped after: nothing but blanks and comments between.
    let (open, close, in_flow) = scalars
        .into_iter()
        .rev()
        .find(|&(_, e, _)| e <= index && only_blanks(&chars[e..index.min(chars.len())]))?;
    let end_line = line_of(chars, close - 1);
    if in_flow || line_of(chars, open) == end_line {
        return None;
    }
    if at_block_indent(chars, open) {
        return Some(("could not find expected ':'", end_line));
    }
    let mut k = close;
    while matches!(chars.get(k), Some(' ' | '\t')) {
        k += 1;
    }
    let colon = chars.get(k) == Some(&':')
        && chars
            .get(k + 1)
            .is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    colon.then_some(("mapping values are not allowed in this context", end_line))
}

/// Whether `chars` holds only blanks, line breaks and comments.
fn only_blanks(chars: &[char]) -> bool {
    let mut comment = false;
    for &c in chars {
        match c {
            '\n' | '\r' => comment = false,
            '#' => comment = true,
            _ if comment || c == ' ' || c == '\t' => {}
            _ => return false,
        }
    }
    true
}

/// The closing bracket of the innermost flow collection still open at char `index`, reading
/// past quoted scalars and comments.
pub(super) fn innermost_flow_close(chars: &[char], index: usize) -> Option<char> {
    let mut open: Vec<char> = Vec::new();
    let mut i = 0;
    let end = index.min(chars.len());
    while i < end {
        match chars[i] {
            '[' => open.push(']'),
            '{' => open.push('}'),
            ']' | '}' => {
                open.pop();
            }
            '#' if i == 0 || matches!(chars[i - 1], ' ' | '\t' | '\n' | '\r') => {
                while i < end && chars[i] != '\n' {
                    i += 1;
                }
            }
            q @ ('"' | '\'') if !open.is_empty() => {
                i += 1;
                while i < end && chars[i] != q {
                    let escaped = (q == '"' && chars[i] == '\\')
                        || (q == '\'' && chars[i] == '\'' && chars.get(i + 1) == Some(&'\''));
                    if escaped {
                        i += 1;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    open.pop()
}

/// Whether the last token before char `index` (past blanks, breaks and comments) is an
/// indicator after which a node comes: a mapping value's `:`, a block entry's `-` or an
/// explicit key's `?`, each followed by a blank.
pub(super) fn after_node_indicator(chars: &[char], index: usize) -> bool {
    let mut i = index.min(chars.len());
    loop {
        while i > 0 && matches!(chars[i - 1], ' ' | '\t' | '\n' | '\r') {
            i -= 1;
        }
        // A comment runs from a `#` after a blank to the end of its line.
        let line_start = lf_line_start(chars, i);
        let comment = (line_start..i)
            .find(|&j| chars[j] == '#' && (j == line_start || matches!(chars[j - 1], ' ' | '\t')));
        match comment {
            Some(j) if !chars[line_start..j].iter().any(|&c| c == '"' || c == '\'') => i = j,
            _ => break,
        }
    }
    i > 0
        && matches!(chars[i - 1], ':' | '-' | '?')
        && (i == 1 || matches!(chars[i - 2], ' ' | '\t' | '\n' | '\r') || chars[i - 1] == ':')
}

/// Whether a quote stands at char `index` (after blanks) whose scalar never closes.
pub(super) fn unclosed_quote_at(chars: &[char], index: usize) -> bool {
    let mut i = index.min(chars.len());
    while i < chars.len() && matches!(chars[i], ' ' | '\t') {
        i += 1;
    }
    let Some(&q) = chars.get(i) else {
        return false;
    };
    if q != '"' && q != '\'' {
        return false;
    }
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' if q == '"' => j += 2,
            '\'' if q == '\'' && chars.get(j + 1) == Some(&'\'') => j += 2,
            c if c == q => return false,
            _ => j += 1,
        }
    }
    true
}

/// Whether the `#` at char `index` directly follows a block scalar's header (`|` or `>` and
/// its indicators, after a blank or at a line's start).
pub(super) fn block_header_before(chars: &[char], index: usize) -> bool {
    if chars.get(index) != Some(&'#') {
        return false;
    }
    let mut i = index;
    while i > 0 && matches!(chars[i - 1], '0'..='9' | '+' | '-') {
        i -= 1;
    }
    i > 0
        && matches!(chars[i - 1], '|' | '>')
        && (i == 1 || matches!(chars[i - 2], ' ' | '\t' | '\n' | '\r'))
}

/// The char index of a `*` or `&` at char `index` (after blanks) that no libyaml anchor
/// name follows (a letter, digit, `_` or `-`).
pub(super) fn nameless_anchor_at(chars: &[char], index: usize) -> Option<usize> {
    let mut i = index.min(chars.len());
    while i < chars.len() && matches!(chars[i], ' ' | '\t') {
        i += 1;
    }
    let named = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    (matches!(chars.get(i), Some('*' | '&')) && !chars.get(i + 1).is_some_and(named)).then_some(i)
}

/// Whether the last token before char `index` (past blanks and breaks) is an explicit key's
/// `?`.
pub(super) fn after_explicit_key(chars: &[char], index: usize) -> bool {
    chars[..index.min(chars.len())]
        .iter()
        .rev()
        .find(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        == Some(&'?')
}

/// Whether every character of a tag's suffix is one libyaml reads into a tag: ASCII letters,
/// digits and the URI characters `-_;/?:@&=+$,.!~*'()[]%`.
pub(super) fn is_tag_uri(suffix: &str) -> bool {
    suffix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_;/?:@&=+$,.!~*'()[]%".contains(c))
}

/// The zero-based line of the last tag before char `index` that opens its line (or the one
/// before `index`'s) and holds a character that is no URI character before its blank.
pub(super) fn bad_tag_line(chars: &[char], index: usize) -> Option<usize> {
    let end = index.min(chars.len());
    let line_of = |i: usize| chars[..i].iter().filter(|&&c| c == '\n').count();
    let here = line_of(end);
    let mut start = lf_line_start(chars, end);
    for _ in 0..2 {
        let mut i = start;
        while i < chars.len() && matches!(chars[i], ' ' | '\t') {
            i += 1;
        }
        if chars.get(i) == Some(&'!') {
            let mut j = i + 1;
            if chars.get(j) == Some(&'!') {
                j += 1;
            }
            let tag: String = chars[j..]
                .iter()
                .take_while(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
                .collect();
            let uri = match tag.strip_prefix('<') {
                Some(verbatim) => verbatim.strip_suffix('>').unwrap_or(verbatim),
                None => &tag,
            };
            if !is_tag_uri(uri) {
                return Some(line_of(i).min(here));
            }
        }
        if start == 0 {
            break;
        }
        start = lf_line_start(chars, start - 1);
    }
    None
}

/// An alias or anchor that opens the line of char `index` (or the line before) with a `:`
/// right after its name: the name, the char index of that `:`, and whether an `&name`
/// anchor stands before it (always, for an anchor: libyaml reads it on an empty key).
pub(super) fn alias_key(chars: &[char], index: usize) -> Option<(String, usize, bool)> {
    let end = index.min(chars.len());
    let named = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    let mut start = lf_line_start(chars, end);
    for _ in 0..2 {
        let mut i = start;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        if chars.get(i) == Some(&'-') && chars.get(i + 1) == Some(&' ') {
            i += 2;
        }
        if let Some(&sigil @ ('*' | '&')) = chars.get(i) {
            let name: String = chars[i + 1..].iter().take_while(|c| named(c)).collect();
            let after = i + 1 + name.chars().count();
            if !name.is_empty() && chars.get(after) == Some(&':') {
                let anchor: Vec<char> = format!("&{name}").chars().collect();
                let defined = chars[..i].windows(anchor.len()).enumerate().any(|(j, w)| {
                    w == anchor.as_slice() && !chars.get(j + anchor.len()).is_some_and(named)
                });
                return Some((name, after, defined || sigil == '&'));
            }
        }
        if start == 0 {
            break;
        }
        start = lf_line_start(chars, start - 1);
    }
    None
}

/// Whether the last content line before char `at` is a block sequence's entry (`- x`, not
/// `- k: v`).
pub(super) fn in_block_sequence(chars: &[char], at: usize) -> bool {
    let text: String = chars[..at.min(chars.len())].iter().collect();
    text.lines()
        .rev()
        .map(|l| l.trim_start_matches(' '))
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| (l.starts_with("- ") || l == "-") && !l.contains(": "))
}
