//! YAML as Helm reads and writes it.
//!
//! Helm reads values and `Chart.yaml` through `sigs.k8s.io/yaml`: go-yaml v2 decodes the text with
//! YAML 1.1 scalar rules (`yes`/`on`/`y` are booleans, `010` is octal, timestamps stay strings), the
//! result goes through JSON, and JSON hands every number back as a float64. Its `toYaml` runs the
//! other way: JSON encoding, go-yaml decoding of that JSON (which brings integers back), then
//! go-yaml v2's emitter with its key order, quoting rules and 80-column folding.
//!
//! The parser here takes events from `saphyr-parser` and applies go-yaml v2's resolution; the
//! emitter is written here to reproduce go-yaml v2's output byte for byte.

use crate::error::{Error, Result};
use crate::value::{Map, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::borrow::Cow;
use std::collections::HashMap;

mod emit;
mod keys;
mod number;
mod reader;

pub use number::{format_float_g, format_float_g32, json_float};

/// A node as go-yaml v2 decodes it into `interface{}`, before the JSON round trip.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `~`, `null`, an empty plain scalar.
    Null,
    /// YAML 1.1 booleans.
    Bool(bool),
    /// Integers that fit an int64.
    Int(i64),
    /// Integers above int64's range that fit a uint64.
    Uint(u64),
    /// Floats.
    Float(f64),
    /// Strings (quoted, block, or plain scalars that resolve to no other type).
    Str(String),
    /// Sequences.
    Seq(Vec<Node>),
    /// Mappings with keys already turned into strings, in document order, later keys winning.
    Map(Vec<(String, Node)>),
}

/// Parses the first YAML document of `s` the way `sigs.k8s.io/yaml.Unmarshal` does into an
/// `interface{}`: maps, lists, strings, booleans, nil and float64 numbers. An empty document is
/// `Value::Nil`.
pub fn from_yaml(s: &str) -> Result<Value, Error> {
    let docs = parse_nodes(s, Some(1))?;
    match docs.into_iter().next() {
        Some(node) => node_to_value(node),
        None => Ok(Value::Nil),
    }
}

/// go-yaml v2's reader over raw bytes: UTF-16 text (after its byte-order mark) decoded, and
/// the first encoding error or control character refused with libyaml's wording, as
/// `sigs.k8s.io/yaml` reports it. The text to parse when the bytes pass.
///
/// A problem past the first 512-byte chunk is met only if the scanner gets that far: the
/// text handed back then still holds it (raw bytes as in [`go_string`]), and the parsers here
/// decide which error comes first.
pub fn decode_yaml_bytes(data: &[u8]) -> Result<Cow<'_, str>, Error> {
    if let Ok(s) = std::str::from_utf8(data) {
        if s.chars().any(|c| raw_byte(c).is_some()) {
            // Already a Go string of raw bytes: the parser reads them.
            return Ok(Cow::Borrowed(s));
        }
    }
    match reader::decode(data) {
        Ok(text) => Ok(text),
        Err(p) if p.before.is_empty() => Err(reader_error(p.problem)),
        Err(_) => Ok(Cow::Owned(go_string(data))),
    }
}

fn reader_error(problem: &str) -> Error {
    Error::Yaml(format!("error converting YAML to JSON: yaml: {problem}"))
}

/// Where the characters that stand for raw bytes in a [`go_string`] start: byte `b` (never
/// below 0x80, as ASCII is valid UTF-8) is `RAW_BYTE_BASE + b`, U+10FC80..=U+10FCFF in the
/// last private-use plane, clear of its end (U+10FFFF is a favourite of tests).
const RAW_BYTE_BASE: u32 = 0x10_FC00;

/// A Go `string(bytes)` as our `String`: Go strings hold any bytes, ours only UTF-8, so each
/// byte that is not part of valid UTF-8 becomes one private-use character (see `RAW_BYTE_BASE`). The YAML
/// readers here ([`from_yaml`], manifest parsing) turn those back into the bytes and decode
/// them as go-yaml does, so `.Files.Get` of a UTF-16 or broken file reads (or fails) as in
/// Helm. Valid UTF-8 comes through unchanged.
pub fn go_string(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(raw_byte_char(b));
        }
    }
    out
}

fn raw_byte_char(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The byte a raw-byte character of [`go_string`] stands for, if `c` is one.
pub(crate) fn raw_byte(c: char) -> Option<u8> {
    u32::from(c)
        .checked_sub(RAW_BYTE_BASE)
        .and_then(|b| u8::try_from(b).ok())
        .filter(|&b| b >= 0x80)
}

/// The bytes a [`go_string`] stands for: its UTF-8 with every raw-byte character put back.
pub fn go_bytes(s: &str) -> Cow<'_, [u8]> {
    if !crate::value::has_raw_bytes(s) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match raw_byte(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    Cow::Owned(out)
}

/// Parses the first YAML document of raw bytes as `sigs.k8s.io/yaml.Unmarshal` does, go-yaml's
/// reader included (see [`decode_yaml_bytes`]).
pub fn from_yaml_bytes(data: &[u8]) -> Result<Value, Error> {
    from_yaml(&decode_yaml_bytes(data)?)
}

/// Parses every document of a multi-document YAML stream (as `fromYamlArray`-style callers and
/// `helm template`'s manifest checks need), each through the same rules as [`from_yaml`].
pub fn from_yaml_documents(s: &str) -> Result<Vec<Value>, Error> {
    parse_nodes(s, None)?
        .into_iter()
        .map(node_to_value)
        .collect()
}

/// Renders a value exactly as Helm's `toYaml` does: `sigs.k8s.io/yaml.Marshal` (JSON, then go-yaml
/// v2) with the final newline trimmed. `toYaml` itself prints nothing on error; callers choose.
pub fn to_yaml(v: &Value) -> Result<String, Error> {
    let mut out = marshal(v)?;
    if out.ends_with('\n') {
        out.pop();
    }
    Ok(out)
}

/// Renders a value as Helm's `toYamlPretty` does: go-yaml v3's encoder with an indent of two,
/// straight from the Go values (no JSON leg, so floats keep Go's `%g` form such as `1e+06`),
/// sequences indented under their keys, long strings never folded; final newline trimmed.
pub fn to_yaml_pretty(v: &Value) -> String {
    let node = value_to_node_v3(v);
    let mut out = emit::emit_document_v3(&node);
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

fn value_to_node_v3(v: &Value) -> Node {
    match v {
        // go-yaml v3 writes a `time.Duration` as its text, other integer kinds as numbers.
        Value::Object(o) if o.type_name() == "time.Duration" => Node::Str(o.format()),
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(*i),
        Value::Float(f) => Node::Float(*f),
        Value::String(s) => Node::Str(s.clone()),
        Value::List(items) => Node::Seq(items.iter().map(value_to_node_v3).collect()),
        Value::Map(m) => Node::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), value_to_node_v3(v)))
                .collect(),
        ),
        Value::Object(o) => {
            go_int_node(o.as_ref()).unwrap_or_else(|| Node::Str(object_text(o.as_ref())))
        }
    }
}

/// A named integer (`time.Month`, a semver's `uint64` fields, `time.Duration`) as the
/// number both YAML encoders write for it; `None` for other objects.
fn go_int_node(o: &dyn crate::value::Object) -> Option<Node> {
    let n = o.go_int()?;
    Some(match i64::try_from(n) {
        Ok(i) => Node::Int(i),
        Err(_) => Node::Uint(u64::try_from(n).ok()?),
    })
}

/// `sigs.k8s.io/yaml.Marshal` of a value: like [`to_yaml`] but keeping the trailing newline.
pub fn marshal(v: &Value) -> Result<String, Error> {
    let node = value_to_node(v)?;
    Ok(emit::emit_document(&node))
}

/// Parses YAML into go-yaml's raw typed nodes (integers still integers), for callers that need the
/// type before the JSON round trip, such as `Chart.yaml` string fields.
#[allow(dead_code)]
pub(crate) fn parse_first_node(s: &str) -> Result<Option<Node>> {
    Ok(parse_nodes(s, Some(1))?.into_iter().next())
}

/// Converts a raw node through the JSON round trip: numbers become floats.
pub(crate) fn node_to_value(node: Node) -> Result<Value> {
    Ok(match node {
        Node::Null => Value::Nil,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::Float(i as f64),
        Node::Uint(u) => Value::Float(u as f64),
        Node::Float(f) => {
            if !f.is_finite() {
                return Err(Error::Yaml(format!(
                    "error converting YAML to JSON: json: unsupported value: {}",
                    number::format_float_g(f)
                )));
            }
            Value::Float(f)
        }
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::List(
            items
                .into_iter()
                .map(node_to_value)
                .collect::<Result<Vec<_>>>()?,
        ),
        Node::Map(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                m.insert(k, node_to_value(v)?);
            }
            Value::Map(m)
        }
    })
}

/// The JSON leg of `sigs.k8s.io/yaml.Marshal`: encode as JSON, then read back with go-yaml's
/// scalar rules (so integral floats below 1e21 become integers again).
fn value_to_node(v: &Value) -> Result<Node> {
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(*i),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(Error::Encode(format!(
                    "json: unsupported value: {}",
                    number::format_float_g(*f)
                )));
            }
            resolve_plain(&json_float(*f))
        }
        Value::String(s) => Node::Str(json_leg_string(&json_valid_utf8(s))),
        Value::List(items) => Node::Seq(items.iter().map(value_to_node).collect::<Result<_>>()?),
        Value::Map(m) => {
            // JSON writes the keys in Go's byte order; keys that differ only in bytes JSON
            // turns into U+FFFD then repeat, and go-yaml keeps the last of them.
            let mut keys: Vec<(&String, Cow<'_, [u8]>)> =
                m.keys().map(|k| (k, go_bytes(k))).collect();
            keys.sort_by(|a, b| a.1.cmp(&b.1));
            let mut pairs: Vec<(String, Node)> = Vec::with_capacity(keys.len());
            for (k, _) in keys {
                // A NEL in a key breaks the line inside go-yaml's simple key: an error,
                // which `toYaml` prints as nothing.
                if k.contains('\u{85}') {
                    return Err(Error::Encode(
                        "yaml: could not find expected ':' (a NEL in a map key)".into(),
                    ));
                }
                insert_pair(
                    &mut pairs,
                    json_valid_utf8(k).into_owned(),
                    value_to_node(&m[k])?,
                );
            }
            Node::Map(pairs)
        }
        Value::Object(o) => {
            go_int_node(o.as_ref()).unwrap_or_else(|| Node::Str(object_text(o.as_ref())))
        }
    })
}

/// A Go string as `json.Marshal` writes it, read back: each byte that is not part of valid
/// UTF-8 (a raw-byte character of [`go_string`]) becomes U+FFFD.
fn json_valid_utf8(s: &str) -> Cow<'_, str> {
    if !crate::value::has_raw_bytes(s) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match raw_byte(c) {
                Some(_) => '\u{fffd}',
                None => c,
            })
            .collect(),
    )
}

/// A string after the JSON leg of `sigs.k8s.io/yaml.Marshal`: JSON leaves NEL (U+0085) bare,
/// and go-yaml's reader takes it for a line break inside the double-quoted scalar, folding
/// it as libyaml folds breaks (one break is a space, more are newlines, blanks around them
/// dropped). No other character changes.
fn json_leg_string(s: &str) -> String {
    if !s.contains('\u{85}') {
        return s.to_string();
    }
    let parts: Vec<&str> = s.split('\u{85}').collect();
    let mut out = parts[0].trim_end_matches(' ').to_string();
    let mut breaks = 0;
    for (i, part) in parts.iter().enumerate().skip(1) {
        breaks += 1;
        let last = i == parts.len() - 1;
        let mut content = part.trim_start_matches(' ');
        if !last {
            content = content.trim_end_matches(' ');
            if content.is_empty() {
                continue;
            }
        }
        if breaks == 1 {
            out.push(' ');
        } else {
            out.push_str(&"\n".repeat(breaks - 1));
        }
        breaks = 0;
        out.push_str(content);
    }
    out
}

/// go-yaml's wording, wrapped as `sigs.k8s.io/yaml` wraps it; go-yaml leaves out the line when
/// the problem is on the first one.
/// The line of a parser error as go-yaml shows it, ready to precede the message: its
/// zero-based line `line0`, and none on the first.
fn parser_line(line0: usize) -> String {
    if line0 == 0 {
        String::new()
    } else {
        format!("line {line0}: ")
    }
}

fn yaml_error_at(line: usize, info: &str) -> Error {
    if line <= 1 {
        Error::Yaml(format!("error converting YAML to JSON: yaml: {info}"))
    } else {
        Error::Yaml(format!(
            "error converting YAML to JSON: yaml: line {line}: {info}"
        ))
    }
}

fn yaml_error(span: &Span, info: &str) -> Error {
    yaml_error_at(span.start.line(), info)
}

/// Which half of libyaml reports a problem: go-yaml v2 numbers scanner errors' lines from one
/// and parser errors' lines from zero (its `parser.fail` adds one only for scanner errors).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Scanner,
    Parser,
}

/// libyaml's problem text for a saphyr-parser message (libyaml drops the "while parsing …"
/// context that saphyr prefixes), and which stage reports it.
fn libyaml_problem(info: &str) -> (&str, Stage) {
    use Stage::{Parser, Scanner};
    const PARSER: [(&str, &str); 6] = [
        (
            "while parsing a block mapping, ",
            "did not find expected key",
        ),
        (
            "while parsing a block collection, ",
            "did not find expected '-' indicator",
        ),
        (
            "while parsing a flow mapping, ",
            "did not find expected ',' or '}'",
        ),
        (
            "while parsing a flow sequence, ",
            "did not find expected ',' or ']'",
        ),
        (
            "while parsing a node, ",
            "did not find expected node content",
        ),
        ("", "did not find expected <document start>"),
    ];
    if let Some((_, problem)) = PARSER.iter().find(|(ctx, p)| {
        info.strip_prefix(ctx)
            .is_some_and(|rest| rest == *p || rest == p.replace("did not find ", ""))
    }) {
        return (problem, Parser);
    }
    if info == "duplicate version directive" {
        return ("found duplicate %YAML directive", Parser);
    }
    if info == "did not find expected <document-start>" {
        return ("did not find expected <document start>", Parser);
    }
    if info.starts_with("unexpected character: ")
        || info.starts_with("tab")
        || info == "tabs disallowed in this context"
    {
        return ("found character that cannot start any token", Scanner);
    }
    // saphyr rejects `"a" "b"` while scanning, and a `]` or `}` outside a flow collection;
    // libyaml's parser then finds no key.
    if info == "invalid trailing content after double-quoted scalar" || info == "misplaced bracket"
    {
        return ("did not find expected key", Parser);
    }
    if info == "simple key expect ':'" || info == "simple key expected" {
        return ("could not find expected ':'", Scanner);
    }
    // "while scanning a quoted scalar, found unexpected end of stream" and the like.
    for ctx in [
        "while scanning ",
        "while parsing a quoted scalar, ",
        "while parsing a tag, ",
    ] {
        if let Some(rest) = info.strip_prefix(ctx) {
            if ctx == "while scanning " {
                if let Some((_, problem)) = rest.split_once(", ") {
                    return (problem, Scanner);
                }
            } else {
                return (rest, Scanner);
            }
        }
    }
    (info, Scanner)
}

/// The marked error of an alias inside its own anchor's value (go-yaml: "anchor 'x' value
/// contains itself").
const ANCHOR_IN_ITSELF: &str = "alias inside its own anchor";

/// Marks a saphyr error until [`parse_nodes`], which has the source text, words it as go-yaml.
const SCAN_ERROR: char = '\u{0}';

fn scan_error(e: saphyr_parser::ScanError) -> Error {
    let m = e.marker();
    Error::Yaml(format!(
        "{SCAN_ERROR}{}:{}:{}",
        m.index(),
        m.line(),
        e.info()
    ))
}

/// go-yaml v2's message for a saphyr error marked by [`scan_error`]: libyaml's problem text
/// and line numbering, and the decoder's "unknown anchor 'NAME' referenced".
fn word_scan_error(e: Error, src: &str) -> Error {
    let Error::Yaml(msg) = &e else { return e };
    let Some(marked) = msg.strip_prefix(SCAN_ERROR) else {
        return e;
    };
    let mut parts = marked.splitn(3, ':');
    let index: usize = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let line: usize = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let info = parts.next().unwrap_or("");
    let head = "error converting YAML to JSON: yaml: ";
    if info == "while parsing node, found unknown anchor" || info == ANCHOR_IN_ITSELF {
        let name: String = src
            .chars()
            .skip(index)
            .skip_while(|&c| c == '*')
            // libyaml's anchor names: ASCII letters, digits, `_` and `-`.
            .take_while(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            .collect();
        return Error::Yaml(if info == ANCHOR_IN_ITSELF {
            format!("{head}anchor '{name}' value contains itself")
        } else {
            format!("{head}unknown anchor '{name}' referenced")
        });
    }
    let chars: Vec<char> = src.chars().collect();
    // A tab that starts a line where libyaml looks for a token fails there; saphyr skips it.
    if let Some(tab0) = keys::tab_at_line_start(&chars) {
        // saphyr's own "comment intercepting" stands on the line before the tab.
        let reach = if info.contains("comment intercepting") {
            line + 1
        } else {
            line
        };
        if tab0 < reach {
            return yaml_error_at(tab0 + 1, "found character that cannot start any token");
        }
    }
    if info == "invalid indentation in flow construct" {
        if let Some(line0) = keys::flow_key_error(&chars, index) {
            return Error::Yaml(format!(
                "{head}line {}: could not find expected ':'",
                line0 + 1
            ));
        }
    }
    // saphyr refuses a `:` after a flow sequence entry that spans lines; libyaml's key went
    // stale, and its parser wants the collection's `,` there.
    if info == "illegal placement of ':' indicator" {
        if let Some(close) = keys::innermost_flow_close(&chars, index) {
            let line0 = line.saturating_sub(1);
            let at = parser_line(line0);
            return Error::Yaml(format!("{head}{at}did not find expected ',' or '{close}'"));
        }
    }
    // A plain scalar cannot go on after a comment: libyaml ends it there, and its parser
    // meets the next line's token where it wants a key (or a `-` in a sequence), on that
    // token's zero-based line, which is saphyr's one-based line of the comment.
    if info == "comment intercepting the multiline text" {
        let text: String = src.lines().nth(line.saturating_sub(1)).unwrap_or("").into();
        let t = text.trim_start_matches(' ');
        let problem = if (t.starts_with("- ") || t == "-") && !t.contains(": ") {
            "did not find expected '-' indicator"
        } else {
            "did not find expected key"
        };
        return Error::Yaml(format!("{head}line {line}: {problem}"));
    }
    // A `,` opening a line of a block collection is a token to libyaml: where a node should
    // follow an indicator the parser finds no node content, else no key (saphyr first
    // objects to the comment glued to it).
    if info == COMMENT_UNSPACED && index > 0 && chars.get(index - 1) == Some(&',') {
        let comma = index - 1;
        let line_start = keys::lf_line_start(&chars, comma);
        if chars[line_start..comma].iter().all(|&c| c == ' ') {
            let line0 = chars[..comma].iter().filter(|&&c| c == '\n').count();
            let problem = if keys::after_node_indicator(&chars, comma) {
                "did not find expected node content"
            } else if keys::in_block_sequence(&chars, comma) {
                "did not find expected '-' indicator"
            } else {
                "did not find expected key"
            };
            let at = parser_line(line0);
            return Error::Yaml(format!("{head}{at}{problem}"));
        }
    }
    // An alias opening a line with a `:` right after its name is a key to libyaml (saphyr
    // reads the `:` into the name and fails later); go-yaml refuses an unknown one at once.
    if let Some((name, _, false)) = keys::alias_key(&chars, index) {
        return Error::Yaml(format!("{head}unknown anchor '{name}' referenced"));
    }
    // A tag opening a line ends, for libyaml, at a character that is no URI character,
    // which must be a blank; saphyr reads on and fails later.
    if let Some(line0) = keys::bad_tag_line(&chars, index) {
        return yaml_error_at(line0 + 1, "did not find expected whitespace or line break");
    }
    // A `]` or `}` outside a flow collection is a token to libyaml; where a node should
    // follow an indicator, the parser finds no node content.
    if info == "misplaced bracket" && keys::after_node_indicator(&chars, index) {
        let line0 = line.saturating_sub(1);
        let at = parser_line(line0);
        return Error::Yaml(format!("{head}{at}did not find expected node content"));
    }
    // A quote right after a double-quoted scalar starts another scalar, which libyaml scans
    // to its end before its parser objects: unclosed, it runs to the end of the stream.
    if info == "invalid trailing content after double-quoted scalar"
        && keys::unclosed_quote_at(&chars, index)
    {
        let line0 = src.matches('\n').count();
        return yaml_error_at(line0 + 1, "found unexpected end of stream");
    }
    // An alias or anchor right after a quoted scalar is a token libyaml scans before its
    // parser objects: with no name, the scan fails.
    if info.starts_with("invalid trailing content after") {
        if let Some(at) = keys::nameless_anchor_at(&chars, index) {
            let line0 = chars[..at].iter().filter(|&&c| c == '\n').count();
            return yaml_error_at(
                line0 + 1,
                "did not find expected alphabetic or numeric character",
            );
        }
    }
    if let Some((problem, line0)) = keys::multiline_key_error(&chars, index, info) {
        // go-yaml adds one to a scanner error's zero-based line, and leaves out the first.
        return Error::Yaml(if line0 == 0 {
            format!("{head}{problem}")
        } else {
            format!("{head}line {}: {problem}", line0 + 1)
        });
    }
    let (problem, stage, mut line0) = match libyaml_problem(info) {
        // saphyr stops at the scalar; libyaml at the tab on a later line.
        _ if info == "while scanning a plain scalar, found a tab" => {
            let before_tab = src.chars().skip(index).take_while(|&c| c != '\t');
            let lines = before_tab.filter(|&c| c == '\n').count();
            (
                "found a tab character that violates indentation",
                Stage::Scanner,
                line.saturating_sub(1) + lines,
            )
        }
        // libyaml does not check the indentation of quoted scalars: an unclosed quote runs to
        // the end of the stream, where libyaml reports it.
        _ if info == "invalid indentation in quoted scalar"
            || info.ends_with("found unexpected end of stream") =>
        {
            ("found unexpected end of stream", Stage::Scanner, usize::MAX)
        }
        (p, st) => (p, st, line.saturating_sub(1)),
    };
    if line0 == usize::MAX {
        line0 = src.matches('\n').count();
    }
    // go-yaml adds one to scanner errors' zero-based line, and leaves the line out on the
    // first one.
    let shown = match stage {
        Stage::Scanner => line0 + 1,
        Stage::Parser => line0,
    };
    Error::Yaml(if line0 == 0 {
        format!("{head}{problem}")
    } else {
        format!("{head}line {shown}: {problem}")
    })
}

/// Builds documents from the event stream, resolving anchors, aliases and merge keys.
///
/// The text goes through go-yaml's reader first (raw bytes of a [`go_string`] put back): a
/// problem in its first 512-byte chunk fails at once; one further on only if the scanner asks
/// for a character of that chunk. Which it does is told by parsing the text before that chunk
/// with different endings: when they all read the same, the scanner stopped short of it.
fn parse_nodes(s: &str, limit: Option<usize>) -> Result<Vec<Node>> {
    let bytes = go_bytes(s);
    let problem = match reader::decode(&bytes) {
        Ok(text) => return parse_text(&text, limit),
        Err(p) => p,
    };
    if problem.before.is_empty() {
        return Err(reader_error(problem.problem));
    }
    // Each token starts with a look at four characters (for `---` and `...`): a token that
    // starts in the last three before the chunk reaches into it, so they are cut too.
    let before = &problem.before;
    let cut = before.char_indices().rev().nth(2).map_or(0, |(i, _)| i);
    const ENDINGS: [&str; 4] = ["", "\n]\n'", " \"\n[\n- ? :", ": 1\n"];
    let outcome = |text: &str| match parse_text(text, limit) {
        Ok(nodes) => Ok(format!("{nodes:?}")),
        Err(e) => Err(e.to_string()),
    };
    let first = Some(outcome(before));
    let same = ENDINGS
        .iter()
        .all(|end| Some(outcome(&format!("{}{end}", &before[..cut]))) == first);
    match first {
        Some(Err(e)) if same => Err(Error::Yaml(e)),
        // The parse stopped at a later document before the problem's chunk.
        Some(Ok(_)) if same && limit.is_some() => parse_text(&problem.before, limit),
        _ => Err(reader_error(problem.problem)),
    }
}

/// [`parse_nodes`] over text go-yaml's reader passed.
fn parse_text(s: &str, limit: Option<usize>) -> Result<Vec<Node>> {
    let (nodes, lines_read) = parse_events(s, limit)?;
    // saphyr skips a tab that starts a line where libyaml looks for a token (and fails).
    let prepared = reader::prepare(s);
    let chars: Vec<char> = prepared.text.chars().collect();
    if let Some(line0) = keys::tab_at_line_start(&chars) {
        let read = match limit {
            Some(1) => first_document_lines(&prepared.text).min(lines_read),
            _ => usize::MAX,
        };
        if line0 < read {
            return Err(yaml_error_at(
                line0 + 1,
                "found character that cannot start any token",
            ));
        }
    }
    Ok(nodes)
}

/// How many lines the first document spans before a later `---` or `...` line.
fn first_document_lines(s: &str) -> usize {
    let mut content = false;
    for (i, line) in s.split('\n').enumerate() {
        let marker = ["---", "..."].iter().any(|m| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
        });
        if marker && (content || line.starts_with("...")) {
            return i;
        }
        let t = line.trim_start_matches([' ', '\t']);
        if !marker && !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
            content = true;
        }
    }
    usize::MAX
}

/// [`parse_text`] up to the events' reading.
fn parse_events(s: &str, limit: Option<usize>) -> Result<Parsed> {
    if let Some(line0) = incompatible_version_directive(s, limit == Some(1)) {
        // A parser error: go-yaml shows its zero-based line, none on the first.
        let at = parser_line(line0);
        return Err(Error::Yaml(format!(
            "error converting YAML to JSON: yaml: {at}found incompatible YAML document"
        )));
    }
    // libyaml skips a tab as whitespace only where a simple key may not start, which excludes
    // the start of the stream; saphyr lets it pass there. (Its errors on later lines agree.)
    if s.trim_start_matches(' ').starts_with('\t') {
        return Err(Error::Yaml(
            "error converting YAML to JSON: yaml: found character that cannot start any token"
                .into(),
        ));
    }
    if let Some(line0) = leading_document_end(s) {
        let at = parser_line(line0);
        return Err(Error::Yaml(format!(
            "error converting YAML to JSON: yaml: {at}did not find expected node content"
        )));
    }
    // go-yaml's reader: NEL, LS and PS are line breaks, a byte-order mark is content.
    let prepared = reader::prepare(s);
    let s: &str = &prepared.text;
    // Where libyaml reads text saphyr's scanner refuses, the text is repaired to read the
    // same to both (see [`repair_scan`]) and parsed again; any other outcome is final.
    let mut text = std::borrow::Cow::Borrowed(s);
    for _ in 0..1000 {
        let parsed = parse_node_stream(&text, limit, &prepared);
        let repaired = match &parsed {
            Err(Error::Yaml(m)) if m.starts_with(SCAN_ERROR) => repair_scan(&text, m),
            _ => None,
        };
        match repaired {
            Some(t) => text = std::borrow::Cow::Owned(t),
            None => return parsed.map_err(|e| word_scan_error(e, s)),
        }
    }
    parse_node_stream(&text, limit, &prepared).map_err(|e| word_scan_error(e, s))
}

/// `text` repaired where saphyr's scanner stopped with `message` on text libyaml reads, so
/// that both read it alike; `None` when it is not such a place.
fn repair_scan(text: &str, message: &str) -> Option<String> {
    let index = scan_error_index(message);
    // go-yaml takes a tab after a mapping's `:` as the separating whitespace; saphyr refuses
    // it. The tab separates, it is no content, so a space in its place reads the same.
    if message.ends_with(TAB_AFTER_COLON) {
        let blanks = tab_after_colon(text, index)?;
        let mut t = text.to_owned();
        let spaces = " ".repeat(blanks.len());
        t.replace_range(blanks, &spaces);
        return Some(t);
    }
    let chars: Vec<char> = text.chars().collect();
    // An alias with a `:` right after its name is a key to libyaml; saphyr reads the `:` into
    // the name. A blank between reads the same to libyaml.
    if let Some((_, colon, true)) = keys::alias_key(&chars, index) {
        return with_space_at(text, colon);
    }
    // libyaml lets a comment follow a block scalar's header with no blank between; saphyr
    // refuses it. A blank there reads the same.
    if message.ends_with(COMMENT_UNSPACED) {
        return keys::block_header_before(&chars, index)
            .then(|| with_space_at(text, index))
            .flatten();
    }
    // libyaml skips the leading blanks of a quoted scalar's continuation lines, tabs or too
    // few spaces alike; saphyr holds them to the block's indentation. They are no content, so
    // spaces enough in their place read the same.
    if message.ends_with(TAB_IN_QUOTED) {
        return untab_line_start(text, index);
    }
    if message.ends_with(QUOTED_INDENT) {
        return reindent_quoted(text, index);
    }
    // saphyr wants a flow collection's lines indented past the block around it; libyaml does
    // not (unless the collection is a key that goes stale), and blanks there are no content.
    if message.ends_with(FLOW_INDENT) {
        let indent = keys::flow_key_error(&chars, index)
            .is_none()
            .then(|| keys::flow_open_indent(&chars, index))
            .flatten()?;
        let at = byte_at(text, index)?;
        let start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let mut t = text.to_owned();
        t.insert_str(start, &" ".repeat(indent + 1));
        return Some(t);
    }
    None
}

/// `text` with a space before the character at `char_index`.
fn with_space_at(text: &str, char_index: usize) -> Option<String> {
    let at = byte_at(text, char_index)?;
    let mut t = text.to_owned();
    t.insert(at, ' ');
    Some(t)
}

/// libyaml's reader error for a character outside [`is_yaml_char`].
pub(crate) const CONTROL_CHARACTERS: &str = "control characters are not allowed";

/// The characters libyaml's reader lets through: tab, line breaks, printable ASCII, NEL and
/// the rest of Unicode but the C1 controls, surrogates, U+FFFE and U+FFFF.
pub(crate) fn is_yaml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}'
    ) || c >= '\u{10000}'
}

const TAB_AFTER_COLON: &str = "':' must be followed by a valid YAML whitespace";
const TAB_IN_QUOTED: &str = "tab cannot be used as indentation";
const QUOTED_INDENT: &str = "invalid indentation in quoted scalar";
const FLOW_INDENT: &str = "invalid indentation in flow construct";
const COMMENT_UNSPACED: &str = "comments must be separated from other tokens by whitespace";

/// The zero-based line of a `%YAML` directive for another version than 1.1, which go-yaml
/// v2 (libyaml 0.1) refuses; saphyr takes any 1.x. Directives stand before a document's
/// `---`, at the start of the stream or after a `...`; with `first_only`, only the first
/// document's count (go-yaml reads no further for one document).
fn incompatible_version_directive(s: &str, first_only: bool) -> Option<usize> {
    let mut directives = true;
    for (i, line) in s.lines().enumerate() {
        if first_only && !directives && line.starts_with("...") {
            return None;
        }
        if line.starts_with("...") {
            directives = true;
        } else if let Some(rest) = line.strip_prefix("%YAML") {
            let version = rest.split_whitespace().next().unwrap_or("");
            if directives && rest.starts_with([' ', '\t']) && version != "1.1" {
                return Some(i);
            }
        } else if line.starts_with("---") {
            if first_only && !directives {
                return None;
            }
            directives = false;
        } else if !(line.trim().is_empty() || line.starts_with('#') || line.starts_with('%')) {
            directives = false;
        }
    }
    None
}

/// The zero-based line of a `...` that comes before any document: libyaml opens the implicit
/// first document there and finds no node (saphyr reads an empty stream). A parser error, so
/// go-yaml shows the zero-based line.
fn leading_document_end(s: &str) -> Option<usize> {
    for (i, line) in s.lines().enumerate() {
        let t = line.trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let marker = line
            .strip_prefix("...")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        return marker.then_some(i);
    }
    None
}

/// The char index a [`scan_error`] message carries.
fn scan_error_index(m: &str) -> usize {
    m[SCAN_ERROR.len_utf8()..]
        .split(':')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(usize::MAX)
}

fn byte_at(text: &str, char_index: usize) -> Option<usize> {
    text.char_indices().nth(char_index).map(|(i, _)| i)
}

/// The text with the tabs among the blanks that start the line holding the tab at
/// `char_index` (inside a quoted scalar) turned into spaces, one for one.
fn untab_line_start(text: &str, char_index: usize) -> Option<String> {
    let at = byte_at(text, char_index)?;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let blanks = text[start..]
        .find(|c| c != ' ' && c != '\t')
        .map_or(text.len(), |i| start + i);
    if !text[start..blanks].contains('\t') {
        return None;
    }
    let mut out = text.to_string();
    out.replace_range(start..blanks, &" ".repeat(blanks - start));
    Some(out)
}

/// The text with every continuation line of the quoted scalar opening at `char_index` led
/// by as many spaces as the quote's column (blank lines emptied), so that saphyr finds them
/// indented; `None` when the scalar is not closed or nothing changes.
fn reindent_quoted(text: &str, char_index: usize) -> Option<String> {
    let q = byte_at(text, char_index)?;
    let quote = text[q..].chars().next()?;
    let mut end = None;
    let mut chars = text[q + 1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            (_, c) if c == quote => {
                end = Some(q + 1 + i);
                break;
            }
            _ => {}
        }
    }
    let end = end?;
    let line_start = text[..q].rfind('\n').map_or(0, |i| i + 1);
    let indent = " ".repeat(text[line_start..q].chars().count());
    let body = &text[q..end];
    let mut lines = body.split('\n');
    let mut fixed = lines.next().unwrap_or("").to_string();
    for line in lines {
        fixed.push('\n');
        let content = line.trim_start_matches([' ', '\t']);
        if !content.is_empty() && !content.starts_with('\r') {
            fixed.push_str(&indent);
        }
        fixed.push_str(content);
    }
    if fixed == body {
        return None;
    }
    let mut out = String::with_capacity(text.len() + fixed.len());
    out.push_str(&text[..q]);
    out.push_str(&fixed);
    out.push_str(&text[end..]);
    Some(out)
}

/// The blanks (holding a tab) between the `:` and the token saphyr stopped at (`index`
/// counts chars), as a byte range.
fn tab_after_colon(text: &str, index: usize) -> Option<std::ops::Range<usize>> {
    let at = text
        .char_indices()
        .nth(index)
        .map_or(text.len(), |(i, _)| i);
    let b = text.as_bytes();
    let mut start = at;
    while start > 0 && matches!(b[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    (start > 0 && b[start - 1] == b':' && b[start..at].contains(&b'\t')).then_some(start..at)
}

/// The zero-based line of the first `\/` escape in a double-quoted scalar: YAML 1.2 added it,
/// go-yaml v2 (libyaml 0.1) calls it an unknown escape character; saphyr reads it.
fn slash_escape_line(s: &str) -> Option<usize> {
    let chars: Vec<char> = s.chars().collect();
    let mut parser = Parser::new_from_str(s);
    while let Some(Ok((ev, span))) = parser.next_event() {
        if !matches!(ev, Event::Scalar(_, ScalarStyle::DoubleQuoted, _, _)) {
            continue;
        }
        let (start, end) = (span.start.index(), span.end.index().min(chars.len()));
        let mut i = start + 1;
        while i < end {
            if chars[i] == '\\' {
                if chars.get(i + 1) == Some(&'/') {
                    return Some(chars[..i].iter().filter(|c| **c == '\n').count());
                }
                i += 1;
            }
            i += 1;
        }
    }
    None
}

fn parse_node_stream(
    s: &str,
    limit: Option<usize>,
    prepared: &reader::Prepared<'_>,
) -> Result<Parsed> {
    let ctx = &ReadCtx {
        original: prepared.with_breaks(s),
        chars: s.chars().collect(),
        prepared,
        deferred: std::cell::RefCell::new(None),
        collections: std::cell::RefCell::new(Vec::new()),
    };
    if s.contains("\\/") {
        if let Some(line0) = slash_escape_line(s) {
            return Err(yaml_error_at(line0 + 1, "found unknown escape character"));
        }
    }
    let mut parser = Parser::new_from_str(s);
    let mut docs = Vec::new();
    let mut anchors: Anchors = HashMap::new();
    let mut lines_read = usize::MAX;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(scan_error)?;
        match ev {
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                anchors.clear();
                let node = build_node(&mut parser, &mut anchors, None, ctx)?;
                docs.push(node.map_or(Node::Null, |b| b.node));
                if limit.is_some_and(|l| docs.len() >= l) {
                    // go-yaml expects the document's end, so what follows its node is read
                    // up to that event, and an error there is reported.
                    if let Some(Err(e)) = parser.next_event() {
                        // A token that starts no document is the next document's problem,
                        // which go-yaml never parses; the implicit end stands.
                        if !e.info().contains("expected <document start>")
                            && !e.info().contains("expected <document-start>")
                        {
                            return Err(scan_error(e));
                        }
                        // libyaml's scanner stops in that token's line.
                        lines_read = e.marker().line();
                    }
                    ctx.take_deferred()?;
                    break;
                }
                ctx.take_deferred()?;
            }
            Event::DocumentEnd | Event::StreamStart | Event::Nothing => {}
            _ => return Err(yaml_error(&span, "unexpected event")),
        }
    }
    Ok((docs, lines_read))
}

/// Documents read, and how many lines libyaml's scanner read for them (`usize::MAX` for
/// all): the first document of a one-document read ends where the next token starts no
/// document, and the scanner stops in that token's line.
type Parsed = (Vec<Node>, usize);

type Anchors = HashMap<usize, Built>;

/// A node as [`build_node`] reads it, with Go's `%#v` of what go-yaml decoded when that is
/// not what [`go_syntax_key`] shows of the node: a map inside held keys other than strings,
/// which go-yaml keeps typed (`1`, `true`, `<nil>`) until the JSON conversion names them.
#[derive(Clone)]
struct Built {
    node: Node,
    go: Option<String>,
}

impl Built {
    fn plain(node: Node) -> Built {
        Built { node, go: None }
    }

    /// Go's `%#v` of the decoded value.
    fn go_syntax(&self) -> String {
        match &self.go {
            Some(text) => text.clone(),
            None => go_syntax_key(&self.node),
        }
    }
}

/// Where Go's `fmt` puts a map key of this dynamic type among keys of others: nil first,
/// then by type (an order fixed by the helm binary's type descriptors, observed from helm
/// 3.17.3: string, uint64, int, float64, bool), then by value.
fn go_key_rank(n: &Node) -> u8 {
    match n {
        Node::Null => 0,
        Node::Str(_) => 1,
        Node::Uint(_) => 2,
        Node::Int(_) => 3,
        Node::Float(_) => 4,
        Node::Bool(_) => 5,
        Node::Seq(_) | Node::Map(_) => 6,
    }
}

/// Go's `fmt` order of two map keys of `interface{}` type (NaN before every other float).
fn go_key_order(a: &Node, b: &Node) -> std::cmp::Ordering {
    use std::cmp::Ordering::Equal;
    match (a, b) {
        (Node::Str(x), Node::Str(y)) => go_bytes(x).cmp(&go_bytes(y)),
        (Node::Uint(x), Node::Uint(y)) => x.cmp(y),
        (Node::Int(x), Node::Int(y)) => x.cmp(y),
        (Node::Float(x), Node::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => x.partial_cmp(y).unwrap_or(Equal),
        },
        (Node::Bool(x), Node::Bool(y)) => x.cmp(y),
        _ => go_key_rank(a).cmp(&go_key_rank(b)),
    }
}

/// Whether two decoded keys are one key of a Go map (NaN is no key's equal, not even its own).
fn go_key_eq(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Float(x), Node::Float(y)) => x == y,
        _ => go_key_rank(a) == go_key_rank(b) && a == b,
    }
}

/// Go's `%#v` of a `map[interface{}]interface{}` go-yaml decoded: entries by typed key (a
/// later duplicate replaces the value), printed in `fmt`'s sorted order.
fn go_syntax_typed_map(entries: &[(Node, Built)]) -> String {
    let mut kept: Vec<(&Node, &Built)> = Vec::new();
    for (k, v) in entries {
        // Go's map assignment stores the new key too (0 replaces -0).
        match kept.iter_mut().find(|(kk, _)| go_key_eq(kk, k)) {
            Some(slot) => *slot = (k, v),
            None => kept.push((k, v)),
        }
    }
    kept.sort_by(|a, b| go_key_order(a.0, b.0));
    let parts: Vec<String> = kept
        .iter()
        .map(|(k, v)| format!("{}:{}", go_syntax_key(k), v.go_syntax()))
        .collect();
    format!("map[interface {{}}]interface {{}}{{{}}}", parts.join(", "))
}

/// What the reader changed in the text saphyr parses, to read scalars as go-yaml does.
struct ReadCtx<'a> {
    /// The parsed text's chars with LS and PS back in place of their `\n`, when there was
    /// one (else empty).
    original: Vec<char>,
    /// The parsed text's chars.
    chars: Vec<char>,
    prepared: &'a reader::Prepared<'a>,
    /// The first error of decoding (go-yaml's decoder, then sigs.k8s.io/yaml's JSON
    /// conversion): go-yaml parses the whole document before either runs, so a syntax error
    /// anywhere in it comes first. Ranked by stage, then document order.
    deferred: std::cell::RefCell<Option<(DecodeStage, Error)>>,
    /// The collections being read, innermost last: the column of a block one, `None` for a
    /// flow one (libyaml's indentation is the innermost block collection's).
    collections: std::cell::RefCell<Vec<Option<usize>>>,
}

/// When a decoding error happens after the parse.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DecodeStage {
    /// go-yaml's decoder: tags, merge keys, collection keys.
    Decoder,
    /// sigs.k8s.io/yaml's conversion to JSON: keys of types JSON cannot name.
    Json,
}

impl ReadCtx<'_> {
    /// Enters a collection starting at `span` (`open` is `[` or `{` for flow style).
    fn enter(&self, span: &Span, open: char) {
        let mut stack = self.collections.borrow_mut();
        let flow = stack.contains(&None) || self.chars.get(span.start.index()) == Some(&open);
        stack.push((!flow).then(|| span.start.col()));
    }

    /// Whether the innermost collection being read is in flow style.
    fn in_flow(&self) -> bool {
        self.collections
            .borrow()
            .last()
            .is_some_and(Option::is_none)
    }

    fn leave(&self) {
        self.collections.borrow_mut().pop();
    }

    /// libyaml's error for a flow mapping's key scalar at `key` whose `:` stands on a later
    /// line than the key's start: the possible simple key went stale, so the scalar is a key
    /// with no value and the `:` is where the parser wanted a `,` (a parser error, on the
    /// `:`'s zero-based line). Keys after `?` are explicit and never go stale.
    fn stale_flow_key(&self, key: &Span) -> Option<Error> {
        let chars = &self.chars;
        let (start, end) = (key.start.index(), key.end.index());
        let before = chars[..start.min(chars.len())]
            .iter()
            .rev()
            .find(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'));
        if before == Some(&'?') {
            return None;
        }
        let mut i = end;
        while let Some(&c) = chars.get(i) {
            match c {
                ' ' | '\t' | '\n' | '\r' => i += 1,
                '#' => {
                    while chars.get(i).is_some_and(|&c| c != '\n') {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        if chars.get(i) != Some(&':') {
            return None;
        }
        let line_of = |at: usize| chars[..at].iter().filter(|&&c| c == '\n').count();
        let colon_line0 = line_of(i);
        if colon_line0 == line_of(start.min(chars.len())) {
            return None;
        }
        let at = if colon_line0 == 0 {
            String::new()
        } else {
            format!("line {colon_line0}: ")
        };
        Some(Error::Yaml(format!(
            "error converting YAML to JSON: yaml: {at}did not find expected ',' or '}}'"
        )))
    }

    /// The one-based line where libyaml, reading the blanks and breaks after a plain scalar
    /// (ending at char `end`), meets a tab on a later line left of the block indentation plus
    /// one: "found a tab character that violates indentation", whatever follows it. saphyr
    /// lets a tab there pass when no content follows it on its line.
    fn tab_after_plain(&self, end: usize) -> Option<usize> {
        let indent = self.collections.borrow().iter().rev().find_map(|c| *c);
        let limit = indent.map_or(0, |i| i + 1);
        let chars = &self.chars;
        let mut i = end;
        let mut col: Option<usize> = None;
        while let Some(&c) = chars.get(i) {
            match c {
                '\n' | '\r' => col = Some(0),
                ' ' => col = col.map(|n| n + 1),
                '\t' => {
                    if col.is_some_and(|n| n < limit) {
                        return Some(chars[..i].iter().filter(|&&c| c == '\n').count() + 1);
                    }
                    col = col.map(|n| n + 1);
                }
                _ => return None,
            }
            i += 1;
        }
        None
    }

    /// Keeps `e` for after the document's parse (unless an earlier-stage one is kept).
    fn defer(&self, stage: DecodeStage, e: Error) {
        let mut slot = self.deferred.borrow_mut();
        if slot.as_ref().is_none_or(|(s, _)| stage < *s) {
            *slot = Some((stage, e));
        }
    }

    /// The kept decoding error, once the document is parsed.
    fn take_deferred(&self) -> Result<()> {
        match self.deferred.borrow_mut().take() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// libyaml's limit on simple keys: a block mapping key whose `:` lies more than 1024
    /// characters after its start is no simple key. The first key of a mapping then meets a
    /// `:` where none may stand; a later one (a key libyaml requires) goes stale first, at the
    /// end of the key or at the `:`, whichever passes the limit. saphyr has no such limit.
    fn long_simple_key(&self, key: &Span, first: bool) -> Option<Error> {
        const LIMIT: usize = 1024;
        let chars = &self.chars;
        let (start, end) = (key.start.index(), key.end.index().min(chars.len()));
        let mut colon = end;
        while colon < chars.len() && matches!(chars[colon], ' ' | '\t') {
            colon += 1;
        }
        if chars.get(colon) != Some(&':') || colon <= start + LIMIT {
            return None;
        }
        let line_at = |i: usize| chars[..i].iter().filter(|&&c| c == '\n').count() + 1;
        Some(if first {
            yaml_error_at(
                line_at(colon),
                "mapping values are not allowed in this context",
            )
        } else {
            let at = if end > start + LIMIT { end } else { colon };
            yaml_error_at(line_at(at), "could not find expected ':'")
        })
    }

    /// The one-based line where libyaml refuses a tab in a block scalar's indentation: while
    /// it detects the indentation (the lines up to the first with content) and on lines less
    /// indented than that, a tab after the leading spaces is "found a tab character where an
    /// indentation space is expected"; saphyr takes it as content or ends the block. Blocks
    /// with an explicit indentation are not checked.
    fn block_scalar_tab_line(&self, span: &Span) -> Option<usize> {
        let chars = &self.chars;
        let start = span.start.index().min(chars.len());
        // Back to the start of the content's line, then up to the header line.
        let mut line_start = start;
        while line_start > 0 && chars[line_start - 1] != '\n' {
            line_start -= 1;
        }
        let mut header_end = line_start;
        loop {
            if header_end == 0 {
                return None;
            }
            let end = header_end - 1;
            let mut begin = end;
            while begin > 0 && chars[begin - 1] != '\n' {
                begin -= 1;
            }
            if chars[begin..end]
                .iter()
                .any(|c| !matches!(c, ' ' | '\t' | '\r'))
            {
                let header: String = chars[begin..end].iter().collect();
                let header = match header.find(" #") {
                    Some(i) => &header[..i],
                    None => &header,
                };
                let indicators = header.trim_end().rsplit(['|', '>']).next().unwrap_or("");
                if indicators.chars().any(|c| c.is_ascii_digit()) {
                    return None;
                }
                break;
            }
            header_end = begin;
        }
        // Lines from the header's next one through the first with content, then the lines
        // less indented than that one until the block ends: a tab after their spaces is
        // refused too.
        let mut indent: Option<usize> = None;
        let mut i = header_end;
        while i < chars.len() {
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let spaces = j - i;
            let short = indent.is_none_or(|n| spaces < n);
            if short && chars.get(j) == Some(&'\t') {
                return Some(chars[..j].iter().filter(|&&c| c == '\n').count() + 1);
            }
            if j < chars.len() && !matches!(chars[j], '\n' | '\r') {
                match indent {
                    None => indent = Some(spaces),
                    Some(n) if spaces < n => return None,
                    Some(_) => {}
                }
            }
            while j < chars.len() && chars[j] != '\n' {
                j += 1;
            }
            i = j + 1;
        }
        None
    }

    /// A scalar's content as go-yaml reads it: byte-order marks put back, and LS or PS kept
    /// where saphyr saw a `\n`.
    fn scalar_text(&self, text: String, style: ScalarStyle, span: &Span) -> String {
        let text = self.prepared.restore(text);
        let (mut start, end) = (span.start.index(), span.end.index());
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            // The span starts at the content; the lines before it count too.
            start = reader::block_header(&self.original, start).unwrap_or(start);
        }
        if self.original.is_empty()
            || !self
                .original
                .get(start..end.min(self.original.len()))
                .is_some_and(|s| s.iter().any(|c| matches!(c, '\u{2028}' | '\u{2029}')))
        {
            return text;
        }
        let flow = match style {
            ScalarStyle::Plain => reader::Flow::Plain,
            ScalarStyle::SingleQuoted => reader::Flow::Single,
            ScalarStyle::DoubleQuoted => reader::Flow::Double,
            ScalarStyle::Literal => {
                return reader::relink_literal(&self.original, start, end, &text);
            }
            ScalarStyle::Folded => {
                return match reader::refold_block(&self.original, start) {
                    Some(t) => self.prepared.restore(t),
                    None => text,
                };
            }
        };
        match reader::refold_flow(&self.original, start, end, flow) {
            Some(t) => self.prepared.restore(t),
            None => text,
        }
    }
}

/// Reads one node (or `None` at the end of the enclosing collection/document).
fn build_node(
    parser: &mut Parser<'_, saphyr_parser::StrInput<'_>>,
    anchors: &mut Anchors,
    first: Option<(Event<'_>, Span)>,
    ctx: &ReadCtx<'_>,
) -> Result<Option<Built>> {
    let (ev, span) = match first {
        Some(x) => x,
        None => match parser.next_event() {
            Some(r) => r.map_err(scan_error)?,
            None => return Ok(None),
        },
    };
    let ev = own_event(ev);
    match ev {
        Event::DocumentEnd | Event::SequenceEnd | Event::MappingEnd | Event::StreamEnd => Ok(None),
        // saphyr refuses unknown anchors itself: one it knows but this map lacks is still
        // being built, an alias inside its own anchor's value.
        Event::Alias(id) => match anchors.get(&id) {
            Some(b) => Ok(Some(b.clone())),
            None => Err(Error::Yaml(format!(
                "{SCAN_ERROR}{}:{}:{ANCHOR_IN_ITSELF}",
                span.start.index(),
                span.start.line()
            ))),
        },
        Event::Scalar(_, _, _, Some(ref tag))
        | Event::SequenceStart(_, Some(ref tag))
        | Event::MappingStart(_, Some(ref tag))
            if !keys::is_tag_uri(&tag.suffix) =>
        {
            // libyaml's tag ends at the first character that is no URI character, which
            // must be a blank: saphyr reads more into the tag.
            let start = span.start.index().min(ctx.chars.len());
            let bang = ctx.chars[..=start.min(ctx.chars.len().saturating_sub(1))]
                .iter()
                .rposition(|&c| c == '!')
                .unwrap_or(start);
            let line = ctx.chars[..bang].iter().filter(|&&c| c == '\n').count() + 1;
            Err(yaml_error_at(
                line,
                "did not find expected whitespace or line break",
            ))
        }
        Event::Scalar(text, style, anchor, tag) => {
            if style == ScalarStyle::Plain && !text.is_empty() {
                if let Some(line) = ctx.tab_after_plain(span.end.index()) {
                    return Err(yaml_error_at(
                        line,
                        "found a tab character that violates indentation",
                    ));
                }
            }
            if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                if let Some(line) = ctx.block_scalar_tab_line(&span) {
                    return Err(yaml_error_at(
                        line,
                        "found a tab character where an indentation space is expected",
                    ));
                }
            }
            // saphyr reads a line whose key passes libyaml's simple key limit as one plain
            // scalar; libyaml meets its `:` where no value may start.
            if style == ScalarStyle::Plain && text.chars().count() > 1024 {
                if let Some(at) = text.find(": ") {
                    let colon = span.start.index() + text[..at].chars().count();
                    let line = ctx.chars[..colon.min(ctx.chars.len())]
                        .iter()
                        .filter(|&&c| c == '\n')
                        .count()
                        + 1;
                    return Err(yaml_error_at(
                        line,
                        "mapping values are not allowed in this context",
                    ));
                }
            }
            let text = ctx.scalar_text(text.into_owned(), style, &span);
            let node = resolve_scalar(&text, style, tag.as_deref()).unwrap_or_else(|e| {
                ctx.defer(DecodeStage::Decoder, e);
                Node::Null
            });
            let built = Built::plain(node);
            if anchor > 0 {
                anchors.insert(anchor, built.clone());
            }
            Ok(Some(built))
        }
        Event::SequenceStart(anchor, _) => {
            let mut items = Vec::new();
            let mut typed = false;
            ctx.enter(&span, '[');
            while let Some(b) = build_node(parser, anchors, None, ctx)? {
                typed |= b.go.is_some();
                items.push(b);
            }
            ctx.leave();
            let go = typed.then(|| {
                let parts: Vec<String> = items.iter().map(Built::go_syntax).collect();
                format!("[]interface {{}}{{{}}}", parts.join(", "))
            });
            let built = Built {
                node: Node::Seq(items.into_iter().map(|b| b.node).collect()),
                go,
            };
            if anchor > 0 {
                anchors.insert(anchor, built.clone());
            }
            Ok(Some(built))
        }
        Event::MappingStart(anchor, _) => {
            let block = ctx.chars.get(span.start.index()) != Some(&'{');
            ctx.enter(&span, '{');
            // Every entry as go-yaml decoded it (key still typed), and the key's JSON name
            // when it has one.
            let mut entries: Vec<(Node, Built, Option<String>)> = Vec::new();
            let mut first = true;
            while let Some(next) = parser.next_event() {
                let next = next.map_err(scan_error)?;
                if matches!(next.0, Event::MappingEnd) {
                    break;
                }
                let key_span = next.1;
                // saphyr reads a `:` with no key before it as an empty key; libyaml's scanner
                // gives no KEY token there, and its parser finds no key in a block mapping,
                // or no node in a flow collection, where it reads an entry from the `:` (a
                // parser error, on the zero-based line).
                if matches!(&next.0, Event::Scalar(t, ScalarStyle::Plain, 0, None) if t.is_empty())
                    && ctx.chars.get(key_span.start.index()) == Some(&':')
                    && !keys::after_explicit_key(&ctx.chars, key_span.start.index())
                {
                    let line0 = key_span.start.line().saturating_sub(1);
                    let at = parser_line(line0);
                    let problem = if ctx.in_flow() {
                        "did not find expected node content"
                    } else {
                        "did not find expected key"
                    };
                    return Err(Error::Yaml(format!(
                        "error converting YAML to JSON: yaml: {at}{problem}"
                    )));
                }
                if !block && matches!(next.0, Event::Scalar(..)) {
                    if let Some(e) = ctx.stale_flow_key(&key_span) {
                        return Err(e);
                    }
                }
                if block && matches!(next.0, Event::Scalar(..)) {
                    if let Some(e) = ctx.long_simple_key(&key_span, first) {
                        return Err(e);
                    }
                }
                first = false;
                // go-yaml v2: a `<<` that is plain and untagged, or tagged `!!merge`.
                let is_merge = matches!(&next.0, Event::Scalar(t, style, _, tag) if t == "<<"
                && match tag {
                    None => *style == ScalarStyle::Plain,
                    Some(tag) => tag.is_yaml_core_schema() && tag.suffix == "merge",
                });
                let Some(key) = build_node(parser, anchors, Some(next), ctx)? else {
                    break;
                };
                let Some(value) = build_node(parser, anchors, None, ctx)? else {
                    return Err(yaml_error(&key_span, "mapping key without value"));
                };
                if is_merge {
                    let mut merged = Vec::new();
                    match merge_into(&mut merged, value.node) {
                        Ok(()) => entries.extend(
                            merged
                                .into_iter()
                                .map(|(k, v)| (Node::Str(k.clone()), Built::plain(v), Some(k))),
                        ),
                        Err(e) => ctx.defer(DecodeStage::Decoder, e),
                    }
                    continue;
                }
                let stage = match key.node {
                    Node::Seq(_) | Node::Map(_) => DecodeStage::Decoder,
                    _ => DecodeStage::Json,
                };
                let name = match key_string(&key, &value) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        ctx.defer(stage, e);
                        None
                    }
                };
                entries.push((key.node, value, name));
            }
            ctx.leave();
            let typed = entries
                .iter()
                .any(|(k, v, _)| !matches!(k, Node::Str(_)) || v.go.is_some());
            let go = typed.then(|| {
                let typed: Vec<(Node, Built)> = entries
                    .iter()
                    .map(|(k, v, _)| (k.clone(), v.clone()))
                    .collect();
                go_syntax_typed_map(&typed)
            });
            let mut pairs: Vec<(String, Node)> = Vec::with_capacity(entries.len());
            for (_, value, name) in entries {
                if let Some(name) = name {
                    insert_pair(&mut pairs, name, value.node);
                }
            }
            let built = Built {
                node: Node::Map(pairs),
                go,
            };
            if anchor > 0 {
                anchors.insert(anchor, built.clone());
            }
            Ok(Some(built))
        }
        _ => Err(yaml_error(&span, "unexpected event")),
    }
}

fn own_event(ev: Event<'_>) -> Event<'_> {
    ev
}

fn insert_pair(pairs: &mut Vec<(String, Node)>, key: String, value: Node) {
    if let Some(slot) = pairs.iter_mut().find(|(k, _)| *k == key) {
        slot.1 = value;
    } else {
        pairs.push((key, value));
    }
}

/// go-yaml v2's `<<`: a map, or a list of maps where earlier ones take precedence.
fn merge_into(pairs: &mut Vec<(String, Node)>, value: Node) -> Result<()> {
    // go-yaml's decoder fails here without a line.
    let want_map = || {
        Error::Yaml(
            "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
                .into(),
        )
    };
    match value {
        Node::Map(m) => {
            for (k, v) in m {
                insert_pair(pairs, k, v);
            }
        }
        Node::Seq(items) => {
            for item in items.into_iter().rev() {
                let Node::Map(m) = item else {
                    return Err(want_map());
                };
                for (k, v) in m {
                    insert_pair(pairs, k, v);
                }
            }
        }
        _ => return Err(want_map()),
    }
    Ok(())
}

/// `sigs.k8s.io/yaml` turns non-string keys into strings on the way to JSON.
fn key_string(key: &Built, value: &Built) -> Result<String> {
    Ok(match &key.node {
        Node::Str(s) => s.clone(),
        Node::Int(i) => i.to_string(),
        Node::Uint(u) => {
            // sigs.k8s.io/yaml stringifies int64, float64 and bool keys, not uint64 ones.
            return Err(Error::Yaml(format!(
                "error converting YAML to JSON: unsupported map key of type: uint64, key: 0x{u:x}, value: {}",
                go_syntax_value(value)
            )));
        }
        Node::Float(f) => match format_float_g32(*f).as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            s => s.to_string(),
        },
        Node::Bool(b) => b.to_string(),
        Node::Null => {
            // sigs.k8s.io/yaml's JSON conversion refuses it, with `%+#v` of key and value.
            return Err(Error::Yaml(format!(
                "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                go_syntax_value(value)
            )));
        }
        Node::Seq(_) | Node::Map(_) => {
            // go-yaml v2 decodes the key, then refuses it with Go's `%#v` of it (no line).
            return Err(Error::Yaml(format!(
                "error converting YAML to JSON: yaml: invalid map key: {}",
                key.go_syntax()
            )));
        }
    })
}

/// Go's `%+#v` of a map value handed over as `interface{}`: a nil one is `<nil>`.
fn go_syntax_value(v: &Built) -> String {
    match v.node {
        Node::Null => "<nil>".to_string(),
        _ => v.go_syntax(),
    }
}

/// Go's `%#v` of a value go-yaml v2 decoded into `interface{}`.
fn go_syntax_key(n: &Node) -> String {
    match n {
        Node::Null => "interface {}(nil)".into(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Uint(u) => format!("0x{u:x}"),
        Node::Float(f) => crate::template::format::format_float(*f, 'g', None),
        Node::Str(s) => crate::template::format::go_quote(s),
        Node::Seq(items) => format!(
            "[]interface {{}}{{{}}}",
            items
                .iter()
                .map(go_syntax_key)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Node::Map(pairs) => {
            let mut parts: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (crate::template::format::go_quote(k), go_syntax_key(v)))
                .collect();
            parts.sort();
            format!(
                "map[interface {{}}]interface {{}}{{{}}}",
                parts
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
) -> Result<Node> {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() {
            return match tag.suffix.as_str() {
                "str" => Ok(Node::Str(text.to_string())),
                "null" => Ok(Node::Null),
                "bool" | "int" | "float" => {
                    let n = resolve_plain(text);
                    let ok = matches!(
                        (tag.suffix.as_str(), &n),
                        ("bool", Node::Bool(_))
                            | ("int", Node::Int(_) | Node::Uint(_))
                            | ("float", Node::Float(_) | Node::Int(_) | Node::Uint(_))
                    );
                    if ok {
                        Ok(match (tag.suffix.as_str(), n) {
                            ("float", Node::Int(i)) => Node::Float(i as f64),
                            ("float", Node::Uint(u)) => Node::Float(u as f64),
                            (_, n) => n,
                        })
                    } else {
                        // go-yaml's decoder says it without a line.
                        Err(yaml_error_at(
                            0,
                            &format!("cannot decode !!str `{text}` as a !!{}", tag.suffix),
                        ))
                    }
                }
                "binary" => {
                    use base64::Engine;
                    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(cleaned.as_bytes())
                        .map_err(|_| {
                            // go-yaml's decoder names neither the line nor the base64 problem.
                            Error::Yaml(
                                "error converting YAML to JSON: yaml: !!binary value contains invalid base64 data"
                                    .into(),
                            )
                        })?;
                    Ok(Node::Str(String::from_utf8_lossy(&bytes).into_owned()))
                }
                _ => Ok(Node::Str(text.to_string())),
            };
        }
        // Any other tag (`!foo`, `!<verbatim>`, a `%TAG` handle) is not one go-yaml v2
        // resolves: the text stays a string.
        return Ok(Node::Str(text.to_string()));
    }
    if style == ScalarStyle::Plain {
        Ok(resolve_plain(text))
    } else {
        Ok(Node::Str(text.to_string()))
    }
}

/// go-yaml v2's `resolve("", s)` for a plain scalar.
pub(crate) fn resolve_plain(s: &str) -> Node {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Node::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Node::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Node::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = number::parse_go_float(s) {
                return Node::Float(f);
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if number::is_timestamp(s) {
                return Node::Str(s.to_string());
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = number::parse_go_int(&plain) {
                return Node::Int(i);
            }
            if let Some(u) = number::parse_go_uint(&plain) {
                return Node::Uint(u);
            }
            if number::is_yaml_float(&plain) {
                if let Some(f) = number::parse_go_float(&plain) {
                    return Node::Float(f);
                }
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(rest, 2) {
                    return Node::Int(i);
                }
            } else if let Some(rest) = plain.strip_prefix("-0b") {
                if let Ok(i) = i64::from_str_radix(&format!("-{rest}"), 2) {
                    return Node::Int(i);
                }
            }
        }
        _ => {}
    }
    Node::Str(s.to_string())
}

/// Whether go-yaml v2 would quote a string when emitting it: it resolves to something other
/// than a string when read back plain (bools, numbers, null, timestamps, base-60 floats).
pub(crate) fn needs_quotes(s: &str) -> bool {
    if number::is_timestamp(s) {
        return true;
    }
    !matches!(resolve_plain(s), Node::Str(_)) || number::is_base60_float(s)
}

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;

/// How an object serialises (Helm's YAML goes through JSON): a `[]byte` as base64, a
/// `time.Time` in RFC 3339 with nanoseconds, anything else as its `%v` text.
pub(crate) fn object_text(o: &dyn crate::value::Object) -> String {
    use base64::Engine as _;
    if let Some(b) = o.bytes() {
        return base64::engine::general_purpose::STANDARD.encode(b);
    }
    let layout = Value::String("2006-01-02T15:04:05.999999999Z07:00".into());
    match o.call("Format", std::slice::from_ref(&layout)) {
        Some(Ok(Value::String(t))) if o.type_name() == "time.Time" => t,
        _ => o.format(),
    }
}
