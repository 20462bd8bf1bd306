//! Helm's `fromToml` reads TOML with BurntSushi/toml v1.4 into a `map[string]interface{}`.
//! Charts see that decoder's error text (`toml: line N (last key "k"): ...`), so this module
//! follows its behaviour step by step: a lexer that runs only until the parser has an item
//! to read (the line and the last key in a message depend on how far each side got), and a
//! parser that builds Go's maps, slices and tables with the same duplicate and implicit-table
//! rules. Date-times are read as Go's `time.Parse` reads BurntSushi's four layouts.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use crate::funcs::dates::{TomlZone, days_from_civil, toml_time};
use crate::template::format::go_quote;
use crate::value::{Map, TypedList, Value};

/// Decodes `text` (a Go string: raw bytes as [`crate::value::go_string`] carries them) as
/// `toml.Unmarshal` into `map[string]interface{}` does, or gives its error text.
pub(crate) fn decode(text: &str) -> Result<Map, String> {
    let bytes = crate::value::go_bytes(text);
    let mut data: &[u8] = &bytes;
    if data.starts_with(b"\xff\xfe") || data.starts_with(b"\xfe\xff") {
        data = &data[2..];
    } else if data.starts_with(b"\xef\xbb\xbf") {
        data = &data[3..];
    }
    if data[..data.len().min(6)].contains(&0) {
        return Err(
            "toml: line 1: files cannot contain NULL bytes; probably using UTF-16; TOML files must be UTF-8"
                .into(),
        );
    }
    let mut p = Parser::new(data);
    loop {
        let it = p.next()?;
        if it.typ == Item::Eof {
            break;
        }
        p.top_level(it)?;
    }
    Ok(table_to_map(&p.mapping.borrow()))
}

// ---------------------------------------------------------------------------------------
// Values as the decoder holds them (Go's dynamic types).

/// A Go map, shared as Go's map references are.
type TableRef = Rc<RefCell<Table>>;
type Table = BTreeMap<String, Node>;

#[derive(Clone)]
enum Node {
    /// `map[string]interface{}`.
    Table(TableRef),
    /// `[]map[string]interface{}` (from `[[...]]` headers).
    Tables(Vec<TableRef>),
    /// `[]interface{}`.
    Array(Vec<Node>),
    Leaf(Value),
}

fn new_table() -> TableRef {
    Rc::new(RefCell::new(Table::new()))
}

fn table_to_map(t: &Table) -> Map {
    t.iter().map(|(k, v)| (k.clone(), node_value(v))).collect()
}

fn node_value(n: &Node) -> Value {
    match n {
        Node::Table(t) => Value::Map(table_to_map(&t.borrow())),
        Node::Tables(ts) => TypedList::of(
            "[]map[string]interface {}",
            ts.iter()
                .map(|t| Value::Map(table_to_map(&t.borrow())))
                .collect(),
        ),
        Node::Array(a) => Value::List(a.iter().map(node_value).collect()),
        Node::Leaf(v) => v.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// The lexer.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Item {
    Error,
    Eof,
    Text,
    String,
    RawString,
    MultilineString,
    RawMultilineString,
    Bool,
    Integer,
    Float,
    Datetime,
    Array,
    ArrayEnd,
    TableStart,
    TableEnd,
    ArrayTableStart,
    ArrayTableEnd,
    KeyStart,
    KeyEnd,
    CommentStart,
    InlineTableStart,
    InlineTableEnd,
}

struct Token {
    typ: Item,
    /// The item's text (for errors, the message).
    val: String,
    line: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum St {
    Top,
    TopEnd,
    TableStart,
    TableEnd,
    ArrayTableEnd,
    TableNameStart,
    TableNameEnd,
    BareName,
    QuotedName,
    KeyStart,
    KeyNameStart,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    InlineTableValue,
    InlineTableValueEnd,
    InlineTableEnd,
    String,
    MultilineString,
    RawString,
    MultilineRawString,
    MultilineStringEscape,
    StringEscape,
    ShortUnicodeEscape,
    LongUnicodeEscape,
    NumberOrDateStart,
    NumberOrDate,
    Datetime,
    HexInteger,
    OctalInteger,
    BinaryInteger,
    DecimalNumber,
    DecimalNumberStart,
    BaseNumberOrDate,
    Float,
    Bool,
    CommentStart,
    Comment,
}

/// What `next` returns at the end of the input (Go's `eof` rune is 0).
const EOF: u32 = 0;
/// `utf8.RuneError`, returned for bytes that are not UTF-8 and for control characters.
const RUNE_ERROR: u32 = 0xFFFD;

struct Lexer<'d> {
    input: &'d [u8],
    start: usize,
    pos: usize,
    line: i64,
    state: Option<St>,
    items: VecDeque<Token>,
    prev_widths: [usize; 4],
    nprev: usize,
    at_eof: bool,
    stack: Vec<St>,
}

fn is_whitespace(r: u32) -> bool {
    r == u32::from('\t') || r == u32::from(' ')
}
fn is_nl(r: u32) -> bool {
    r == u32::from('\n') || r == u32::from('\r')
}
fn is_control(r: u32) -> bool {
    match r {
        0x09 | 0x0d | 0x0a => false,
        _ => r <= 0x1f || r == 0x7f,
    }
}
fn is_digit(r: u32) -> bool {
    (u32::from('0')..=u32::from('9')).contains(&r)
}
fn is_hex(r: u32) -> bool {
    is_digit(r) || (u32::from('a')..=u32::from('f')).contains(&(r | 0x20))
}
fn is_bare_key_char(r: u32) -> bool {
    char::from_u32(r).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
fn is_letter(r: u32) -> bool {
    char::from_u32(r).is_some_and(char::is_alphabetic)
}

/// Go's `%q` of a rune (`'x'`, `'\x00'`, `'\n'`).
fn quote_rune(r: u32) -> String {
    let c = char::from_u32(r).unwrap_or('\u{FFFD}');
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        _ => {
            let q = go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// The text of a rune as Go's `%c` and `string(r)` write it.
fn rune_text(r: u32) -> String {
    char::from_u32(r).unwrap_or('\u{FFFD}').to_string()
}

fn rune_or_eof(r: u32) -> String {
    if r == EOF {
        "end of file".into()
    } else {
        format!("'{}'", rune_text(r))
    }
}

impl<'d> Lexer<'d> {
    fn new(input: &'d [u8]) -> Self {
        Lexer {
            input,
            start: 0,
            pos: 0,
            line: 1,
            state: Some(St::Top),
            items: VecDeque::new(),
            prev_widths: [0; 4],
            nprev: 0,
            at_eof: false,
            stack: Vec::new(),
        }
    }

    fn next_item(&mut self) -> Token {
        loop {
            if let Some(it) = self.items.pop_front() {
                return it;
            }
            match self.state {
                Some(s) => self.state = self.step(s),
                // Only reached if the parser reads past an error or the end.
                None => {
                    return Token {
                        typ: Item::Eof,
                        val: String::new(),
                        line: self.line,
                    };
                }
            }
        }
    }

    fn push(&mut self, s: St) {
        self.stack.push(s);
    }

    fn pop(&mut self) -> Option<St> {
        match self.stack.pop() {
            Some(s) => Some(s),
            None => self.errorf("BUG in lexer: no states to pop".into()),
        }
    }

    fn current(&self) -> String {
        String::from_utf8_lossy(&self.input[self.start.min(self.pos)..self.pos]).into_owned()
    }

    fn emit(&mut self, typ: Item) {
        if self.start > self.pos {
            let b = self.input.get(self.pos).copied().unwrap_or(0);
            self.error(format!("invalid UTF-8 byte: 0x{b:02x}"));
            return;
        }
        let val = self.current();
        self.items.push_back(Token {
            typ,
            val,
            line: self.line,
        });
        self.start = self.pos;
    }

    fn emit_trim(&mut self, typ: Item) {
        let val = self.current().trim().to_string();
        self.items.push_back(Token {
            typ,
            val,
            line: self.line,
        });
        self.start = self.pos;
    }

    fn next(&mut self) -> u32 {
        if self.at_eof {
            // Go panics here; the parser never gets this far.
            return EOF;
        }
        if self.pos >= self.input.len() {
            self.at_eof = true;
            return EOF;
        }
        if self.input[self.pos] == b'\n' {
            self.line += 1;
        }
        self.prev_widths[3] = self.prev_widths[2];
        self.prev_widths[2] = self.prev_widths[1];
        self.prev_widths[1] = self.prev_widths[0];
        if self.nprev < 4 {
            self.nprev += 1;
        }
        let rest = &self.input[self.pos..];
        let (r, w) = match rest.utf8_chunks().next() {
            Some(chunk) if !chunk.valid().is_empty() => {
                let c = chunk.valid().chars().next().unwrap_or('\u{FFFD}');
                (u32::from(c), c.len_utf8())
            }
            _ => {
                let b = rest[0];
                self.error(format!("invalid UTF-8 byte: 0x{b:02x}"));
                return RUNE_ERROR;
            }
        };
        let lone_cr =
            r == 0x0d && (self.input.len() - 1 == self.pos || self.input[self.pos + 1] != b'\n');
        if is_control(r) || lone_cr {
            self.error_pos(format!(
                "TOML files cannot contain control characters: '0x{r:02x}'"
            ));
            return RUNE_ERROR;
        }
        self.prev_widths[0] = w;
        self.pos += w;
        r
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn backup(&mut self) {
        if self.at_eof {
            self.at_eof = false;
            return;
        }
        if self.nprev < 1 {
            return;
        }
        let w = self.prev_widths[0];
        self.prev_widths[0] = self.prev_widths[1];
        self.prev_widths[1] = self.prev_widths[2];
        self.prev_widths[2] = self.prev_widths[3];
        self.nprev -= 1;
        self.pos -= w;
        if self.pos < self.input.len() && self.input[self.pos] == b'\n' {
            self.line -= 1;
        }
    }

    fn accept(&mut self, valid: char) -> bool {
        if self.next() == u32::from(valid) {
            return true;
        }
        self.backup();
        false
    }

    fn peek(&mut self) -> u32 {
        let r = self.next();
        self.backup();
        r
    }

    /// The start of a table name or a key (BurntSushi's `lexTableNameStart` and
    /// `lexKeyNameStart`): after blanks, a quoted or bare name that `end` follows. `stop` (or
    /// the end of input) there means an empty name, refused with `empty`, and a `.` an empty
    /// part, refused with `separator`.
    fn name_start(&mut self, end: St, stop: char, empty: &str, separator: &str) -> Option<St> {
        self.skip_whitespace();
        let r = self.peek();
        if r == u32::from(stop) || r == EOF {
            self.errorf(empty.into())
        } else if r == u32::from('.') {
            self.errorf(separator.into())
        } else if r == u32::from('"') || r == u32::from('\'') {
            self.ignore();
            self.push(end);
            Some(St::QuotedName)
        } else {
            self.push(end);
            Some(St::BareName)
        }
    }

    fn skip_whitespace(&mut self) {
        loop {
            let r = self.next();
            if is_whitespace(r) {
                continue;
            }
            self.backup();
            self.ignore();
            return;
        }
    }

    fn push_error(&mut self, msg: String, line: i64) {
        self.items.push_back(Token {
            typ: Item::Error,
            val: msg,
            line,
        });
    }

    /// Go's `lx.error`/`lx.errorf`: at the end of the input the error is put on the line
    /// before, so that it does not show on a new blank line.
    fn error(&mut self, msg: String) -> Option<St> {
        if self.at_eof {
            return self.error_prev_line(msg);
        }
        self.push_error(msg, self.line);
        None
    }

    fn errorf(&mut self, msg: String) -> Option<St> {
        self.error(msg)
    }

    fn error_prev_line(&mut self, msg: String) -> Option<St> {
        self.push_error(msg, self.line - 1);
        None
    }

    fn error_pos(&mut self, msg: String) -> Option<St> {
        self.push_error(msg, self.line);
        None
    }

    fn step(&mut self, s: St) -> Option<St> {
        match s {
            St::Top => self.lex_top(),
            St::TopEnd => self.lex_top_end(),
            St::TableStart => {
                if self.peek() == u32::from('[') {
                    self.next();
                    self.emit(Item::ArrayTableStart);
                    self.push(St::ArrayTableEnd);
                } else {
                    self.emit(Item::TableStart);
                    self.push(St::TableEnd);
                }
                Some(St::TableNameStart)
            }
            St::TableEnd => {
                self.emit(Item::TableEnd);
                Some(St::TopEnd)
            }
            St::ArrayTableEnd => {
                let r = self.next();
                if r != u32::from(']') {
                    return self.errorf(format!(
                        "expected end of table array name delimiter ']', but got {} instead",
                        quote_rune(r)
                    ));
                }
                self.emit(Item::ArrayTableEnd);
                Some(St::TopEnd)
            }
            St::TableNameStart => self.name_start(
                St::TableNameEnd,
                ']',
                "unexpected end of table name (table names cannot be empty)",
                "unexpected table separator (table names cannot be empty)",
            ),
            St::TableNameEnd => {
                self.skip_whitespace();
                let r = self.next();
                if is_whitespace(r) {
                    Some(St::TableNameEnd)
                } else if r == u32::from('.') {
                    self.ignore();
                    Some(St::TableNameStart)
                } else if r == u32::from(']') {
                    self.pop()
                } else {
                    self.errorf(format!(
                        "expected '.' or ']' to end table name, but got {} instead",
                        quote_rune(r)
                    ))
                }
            }
            St::BareName => {
                let r = self.next();
                if is_bare_key_char(r) {
                    return Some(St::BareName);
                }
                self.backup();
                self.emit(Item::Text);
                self.pop()
            }
            St::QuotedName => {
                let r = self.next();
                if is_whitespace(r) {
                    self.ignore();
                    Some(St::Value)
                } else if r == u32::from('"') {
                    self.ignore();
                    Some(St::String)
                } else if r == u32::from('\'') {
                    self.ignore();
                    Some(St::RawString)
                } else if r == EOF {
                    self.errorf("unexpected EOF; expected value".into())
                } else {
                    self.errorf(format!(
                        "expected value but found {} instead",
                        quote_rune(r)
                    ))
                }
            }
            St::KeyStart => {
                self.skip_whitespace();
                let r = self.peek();
                if r == u32::from('=') || r == EOF {
                    self.errorf("unexpected '=': key name appears blank".into())
                } else if r == u32::from('.') {
                    self.errorf("unexpected '.': keys cannot start with a '.'".into())
                } else {
                    if r == u32::from('"') || r == u32::from('\'') {
                        self.ignore();
                    }
                    self.emit(Item::KeyStart);
                    Some(St::KeyNameStart)
                }
            }
            St::KeyNameStart => {
                self.name_start(St::KeyEnd, '=', "unexpected '='", "unexpected '.'")
            }
            St::KeyEnd => {
                self.skip_whitespace();
                let r = self.next();
                if is_whitespace(r) {
                    self.ignore();
                    Some(St::KeyEnd)
                } else if r == EOF {
                    self.errorf("unexpected EOF; expected key separator '='".into())
                } else if r == u32::from('.') {
                    self.ignore();
                    Some(St::KeyNameStart)
                } else if r == u32::from('=') {
                    self.emit(Item::KeyEnd);
                    self.ignore();
                    Some(St::Value)
                } else {
                    self.errorf(format!(
                        "expected '.' or '=', but got {} instead",
                        quote_rune(r)
                    ))
                }
            }
            St::Value => self.lex_value(),
            St::ArrayValue => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    Some(St::ArrayValue)
                } else if r == u32::from('#') {
                    self.push(St::ArrayValue);
                    Some(St::CommentStart)
                } else if r == u32::from(',') {
                    self.errorf("unexpected comma".into())
                } else if r == u32::from(']') {
                    Some(St::ArrayEnd)
                } else {
                    self.backup();
                    self.push(St::ArrayValueEnd);
                    Some(St::Value)
                }
            }
            St::ArrayValueEnd => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    Some(St::ArrayValueEnd)
                } else if r == u32::from('#') {
                    self.push(St::ArrayValueEnd);
                    Some(St::CommentStart)
                } else if r == u32::from(',') {
                    self.ignore();
                    Some(St::ArrayValue)
                } else if r == u32::from(']') {
                    Some(St::ArrayEnd)
                } else {
                    self.errorf(format!(
                        "expected a comma (',') or array terminator (']'), but got {}",
                        rune_or_eof(r)
                    ))
                }
            }
            St::ArrayEnd => {
                self.ignore();
                self.emit(Item::ArrayEnd);
                self.pop()
            }
            St::InlineTableValue => {
                let r = self.next();
                if is_whitespace(r) {
                    self.ignore();
                    Some(St::InlineTableValue)
                } else if is_nl(r) {
                    self.error_prev_line("newlines not allowed within inline tables".into())
                } else if r == u32::from('#') {
                    self.push(St::InlineTableValue);
                    Some(St::CommentStart)
                } else if r == u32::from(',') {
                    self.errorf("unexpected comma".into())
                } else if r == u32::from('}') {
                    Some(St::InlineTableEnd)
                } else {
                    self.backup();
                    self.push(St::InlineTableValueEnd);
                    Some(St::KeyStart)
                }
            }
            St::InlineTableValueEnd => {
                let r = self.next();
                if is_whitespace(r) {
                    self.ignore();
                    Some(St::InlineTableValueEnd)
                } else if is_nl(r) {
                    self.error_prev_line("newlines not allowed within inline tables".into())
                } else if r == u32::from('#') {
                    self.push(St::InlineTableValueEnd);
                    Some(St::CommentStart)
                } else if r == u32::from(',') {
                    self.ignore();
                    self.skip_whitespace();
                    if self.peek() == u32::from('}') {
                        return self.errorf("trailing comma not allowed in inline tables".into());
                    }
                    Some(St::InlineTableValue)
                } else if r == u32::from('}') {
                    Some(St::InlineTableEnd)
                } else {
                    self.errorf(format!(
                        "expected a comma or an inline table terminator '}}', but got {} instead",
                        rune_or_eof(r)
                    ))
                }
            }
            St::InlineTableEnd => {
                self.ignore();
                self.emit(Item::InlineTableEnd);
                self.pop()
            }
            St::String => {
                let r = self.next();
                if r == EOF {
                    self.errorf("unexpected EOF; expected '\"'".into())
                } else if is_nl(r) {
                    self.error_prev_line("strings cannot contain newlines".into())
                } else if r == u32::from('\\') {
                    self.push(St::String);
                    Some(St::StringEscape)
                } else if r == u32::from('"') {
                    self.backup();
                    self.emit(Item::String);
                    self.next();
                    self.ignore();
                    self.pop()
                } else {
                    Some(St::String)
                }
            }
            St::MultilineString => self.lex_multiline(b'"'),
            St::RawString => {
                let r = self.next();
                if r == EOF {
                    self.errorf("unexpected EOF; expected \"'\"".into())
                } else if is_nl(r) {
                    self.error_prev_line("strings cannot contain newlines".into())
                } else if r == u32::from('\'') {
                    self.backup();
                    self.emit(Item::RawString);
                    self.next();
                    self.ignore();
                    self.pop()
                } else {
                    Some(St::RawString)
                }
            }
            St::MultilineRawString => self.lex_multiline(b'\''),
            St::MultilineStringEscape => {
                if is_nl(self.next()) {
                    return Some(St::MultilineString);
                }
                self.backup();
                self.push(St::MultilineString);
                self.step(St::StringEscape)
            }
            St::StringEscape => {
                let r = self.next();
                match char::from_u32(r) {
                    Some('b' | 't' | 'n' | 'f' | 'r' | '"' | ' ' | '\t' | '\\') => self.pop(),
                    Some('u') => Some(St::ShortUnicodeEscape),
                    Some('U') => Some(St::LongUnicodeEscape),
                    _ => self.error(format!("invalid escape in string '\\{}'", rune_text(r))),
                }
            }
            St::ShortUnicodeEscape => self.lex_unicode_escape(4, "four", 'u'),
            St::LongUnicodeEscape => self.lex_unicode_escape(8, "eight", 'U'),
            St::NumberOrDateStart => {
                let r = self.next();
                if r == u32::from('0') {
                    return Some(St::BaseNumberOrDate);
                }
                if !is_digit(r) {
                    return self.errorf(format!("expected a digit but got {}", quote_rune(r)));
                }
                Some(St::NumberOrDate)
            }
            St::NumberOrDate => {
                let r = self.next();
                if is_digit(r) {
                    return Some(St::NumberOrDate);
                }
                match char::from_u32(r) {
                    Some('-' | ':') => Some(St::Datetime),
                    Some('_') => Some(St::DecimalNumber),
                    Some('.' | 'e' | 'E') => Some(St::Float),
                    _ => {
                        self.backup();
                        self.emit(Item::Integer);
                        self.pop()
                    }
                }
            }
            St::Datetime => {
                let r = self.next();
                if is_digit(r)
                    || matches!(
                        char::from_u32(r),
                        Some('-' | ':' | 'T' | 't' | ' ' | '.' | 'Z' | 'z' | '+')
                    )
                {
                    return Some(St::Datetime);
                }
                self.backup();
                self.emit_trim(Item::Datetime);
                self.pop()
            }
            St::HexInteger => self.lex_based(is_hex, St::HexInteger),
            St::OctalInteger => self.lex_based(
                |r| (u32::from('0')..=u32::from('7')).contains(&r),
                St::OctalInteger,
            ),
            St::BinaryInteger => self.lex_based(
                |r| r == u32::from('0') || r == u32::from('1'),
                St::BinaryInteger,
            ),
            St::DecimalNumber => {
                let r = self.next();
                if is_digit(r) {
                    return Some(St::DecimalNumber);
                }
                match char::from_u32(r) {
                    Some('.' | 'e' | 'E') => Some(St::Float),
                    Some('_') => Some(St::DecimalNumber),
                    _ => {
                        self.backup();
                        self.emit(Item::Integer);
                        self.pop()
                    }
                }
            }
            St::DecimalNumberStart => self.lex_decimal_number_start(),
            St::BaseNumberOrDate => self.lex_base_number_or_date(),
            St::Float => {
                let r = self.next();
                if is_digit(r)
                    || matches!(char::from_u32(r), Some('_' | '.' | '-' | '+' | 'e' | 'E'))
                {
                    return Some(St::Float);
                }
                self.backup();
                self.emit(Item::Float);
                self.pop()
            }
            St::Bool => {
                let mut word = String::new();
                loop {
                    let r = self.next();
                    if !is_letter(r) {
                        self.backup();
                        break;
                    }
                    word.push_str(&rune_text(r));
                }
                if word == "true" || word == "false" {
                    self.emit(Item::Bool);
                    return self.pop();
                }
                self.errorf(format!(
                    "expected value but found {} instead",
                    go_quote(&word)
                ))
            }
            St::CommentStart => {
                self.ignore();
                self.emit(Item::CommentStart);
                Some(St::Comment)
            }
            St::Comment => {
                let r = self.next();
                if is_nl(r) || r == EOF {
                    self.backup();
                    self.emit(Item::Text);
                    return self.pop();
                }
                Some(St::Comment)
            }
        }
    }

    fn lex_top(&mut self) -> Option<St> {
        let r = self.next();
        if is_whitespace(r) || is_nl(r) {
            self.ignore();
            return Some(St::Top);
        }
        if r == u32::from('#') {
            self.push(St::Top);
            return Some(St::CommentStart);
        }
        if r == u32::from('[') {
            return Some(St::TableStart);
        }
        if r == EOF {
            if self.pos > self.start {
                return self.errorf("unexpected EOF".into());
            }
            self.emit(Item::Eof);
            return None;
        }
        self.backup();
        self.push(St::TopEnd);
        Some(St::KeyStart)
    }

    fn lex_top_end(&mut self) -> Option<St> {
        let r = self.next();
        if r == u32::from('#') {
            self.push(St::Top);
            return Some(St::CommentStart);
        }
        if is_whitespace(r) {
            return Some(St::TopEnd);
        }
        if is_nl(r) {
            self.ignore();
            return Some(St::Top);
        }
        if r == EOF {
            self.emit(Item::Eof);
            return None;
        }
        self.errorf(format!(
            "expected a top-level item to end with a newline, comment, or EOF, but got {} instead",
            quote_rune(r)
        ))
    }

    fn lex_value(&mut self) -> Option<St> {
        let r = self.next();
        if is_whitespace(r) {
            self.ignore();
            return Some(St::Value);
        }
        if is_digit(r) {
            self.backup();
            return Some(St::NumberOrDateStart);
        }
        match char::from_u32(r) {
            Some('[') => {
                self.ignore();
                self.emit(Item::Array);
                return Some(St::ArrayValue);
            }
            Some('{') => {
                self.ignore();
                self.emit(Item::InlineTableStart);
                return Some(St::InlineTableValue);
            }
            Some('"') => {
                if self.accept('"') {
                    if self.accept('"') {
                        self.ignore();
                        return Some(St::MultilineString);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(St::String);
            }
            Some('\'') => {
                if self.accept('\'') {
                    if self.accept('\'') {
                        self.ignore();
                        return Some(St::MultilineRawString);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(St::RawString);
            }
            Some('.') => {
                return self.errorf("floats must start with a digit, not '.'".into());
            }
            // `inf` and `nan`; anything else from `i` or `n` is lexed as a word below.
            Some('i' | 'n')
                if (self.accept('n') && self.accept('f'))
                    || (self.accept('a') && self.accept('n')) =>
            {
                self.emit(Item::Float);
                return self.pop();
            }
            Some('-' | '+') => return Some(St::DecimalNumberStart),
            _ => {}
        }
        if is_letter(r) {
            self.backup();
            return Some(St::Bool);
        }
        if r == EOF {
            return self.errorf("unexpected EOF; expected value".into());
        }
        self.errorf(format!(
            "expected value but found {} instead",
            quote_rune(r)
        ))
    }

    fn lex_multiline(&mut self, q: u8) -> Option<St> {
        let r = self.next();
        let quote = u32::from(q);
        if r == EOF {
            return self.errorf(if q == b'"' {
                "unexpected EOF; expected '\"\"\"'".into()
            } else {
                "unexpected EOF; expected \"'''\"".into()
            });
        }
        if q == b'"' && r == u32::from('\\') {
            return Some(St::MultilineStringEscape);
        }
        let again = if q == b'"' {
            St::MultilineString
        } else {
            St::MultilineRawString
        };
        if r != quote {
            return Some(again);
        }
        let qc = char::from(q);
        if self.accept(qc) {
            if self.accept(qc) {
                if self.peek() == quote {
                    let cur = &self.input[self.start.min(self.pos)..self.pos];
                    let five = [q; 5];
                    let too_many = if q == b'"' {
                        cur.ends_with(&five) && !cur.ends_with(b"\\\"\"\"\"\"")
                    } else {
                        cur.ends_with(&five)
                    };
                    if too_many {
                        return self.errorf(if q == b'"' {
                            "unexpected '\"\"\"\"\"\"'".into()
                        } else {
                            "unexpected \"''''''\"".into()
                        });
                    }
                    self.backup();
                    self.backup();
                    return Some(again);
                }
                self.backup();
                self.backup();
                self.backup();
                self.emit(if q == b'"' {
                    Item::MultilineString
                } else {
                    Item::RawMultilineString
                });
                self.next();
                self.next();
                self.next();
                self.ignore();
                return self.pop();
            }
            self.backup();
        }
        Some(again)
    }

    fn lex_unicode_escape(&mut self, n: usize, word: &str, letter: char) -> Option<St> {
        for _ in 0..n {
            let r = self.next();
            if !is_hex(r) {
                let cur = self.current();
                return self.errorf(format!(
                    "expected {word} hexadecimal digits after '\\{letter}', but got {} instead",
                    go_quote(&cur)
                ));
            }
        }
        self.pop()
    }

    fn lex_based(&mut self, ok: fn(u32) -> bool, again: St) -> Option<St> {
        let r = self.next();
        if ok(r) || r == u32::from('_') {
            return Some(again);
        }
        self.backup();
        self.emit(Item::Integer);
        self.pop()
    }

    fn lex_decimal_number_start(&mut self) -> Option<St> {
        let r = self.next();
        match char::from_u32(r) {
            Some('i') => {
                if !self.accept('n') || !self.accept('f') {
                    let cur = self.current();
                    return self.errorf(format!("invalid float: '{cur}'"));
                }
                self.emit(Item::Float);
                return self.pop();
            }
            Some('n') => {
                if !self.accept('a') || !self.accept('n') {
                    let cur = self.current();
                    return self.errorf(format!("invalid float: '{cur}'"));
                }
                self.emit(Item::Float);
                return self.pop();
            }
            Some('0') => {
                let p = self.peek();
                if matches!(char::from_u32(p), Some('b' | 'o' | 'x')) {
                    let cur = self.current();
                    return self.errorf(format!(
                        "cannot use sign with non-decimal numbers: '{cur}{}'",
                        rune_text(p)
                    ));
                }
            }
            Some('.') => {
                return self.errorf("floats must start with a digit, not '.'".into());
            }
            _ => {}
        }
        if is_digit(r) {
            return Some(St::DecimalNumber);
        }
        self.errorf(format!("expected a digit but got {}", quote_rune(r)))
    }

    fn lex_base_number_or_date(&mut self) -> Option<St> {
        let r = self.next();
        if is_digit(r) {
            return Some(St::NumberOrDate);
        }
        let based = |lx: &mut Self, ok: fn(u32) -> bool, what: &str, next: St| {
            let p = lx.peek();
            if !ok(p) {
                // BurntSushi reports the error and lexes on; the parser stops at it.
                let cur = lx.current();
                lx.errorf(format!("{what}: '{cur}{}'", rune_text(p)));
            }
            Some(next)
        };
        match char::from_u32(r) {
            Some('_') => Some(St::DecimalNumber),
            Some('.' | 'e' | 'E') => Some(St::Float),
            Some('b') => based(
                self,
                |r| r == u32::from('0') || r == u32::from('1'),
                "not a binary number",
                St::BinaryInteger,
            ),
            Some('o') => based(
                self,
                |r| (u32::from('0')..=u32::from('7')).contains(&r),
                "not an octal number",
                St::OctalInteger,
            ),
            Some('x') => based(self, is_hex, "not a hexidecimal number", St::HexInteger),
            _ => {
                self.backup();
                self.emit(Item::Integer);
                self.pop()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The parser.

/// A key path; its text is BurntSushi's `Key.String()`.
type Key = Vec<String>;

fn key_string(k: &[String]) -> String {
    k.iter()
        // Each part as BurntSushi prints a key: bare when it can be, else a basic string.
        .map(|p| super::toml_key(p))
        .collect::<Vec<_>>()
        .join(".")
}

struct Parser<'d> {
    lx: Lexer<'d>,
    context: Key,
    current_key: String,
    /// The line of the last key or table name read (BurntSushi's `p.pos`).
    pos_line: i64,
    /// Keys whose last value was an array (BurntSushi's `keyInfo` types, as far as used).
    arrays: HashMap<String, bool>,
    mapping: TableRef,
    implicits: HashSet<String>,
}

type PResult<T> = Result<T, String>;

impl<'d> Parser<'d> {
    fn new(data: &'d [u8]) -> Self {
        Parser {
            lx: Lexer::new(data),
            context: Vec::new(),
            current_key: String::new(),
            pos_line: 0,
            arrays: HashMap::new(),
            mapping: new_table(),
            implicits: HashSet::new(),
        }
    }

    /// BurntSushi's `p.current()`: the full key name of the current context.
    fn current(&self) -> String {
        if self.current_key.is_empty() {
            return key_string(&self.context);
        }
        if self.context.is_empty() {
            return self.current_key.clone();
        }
        format!("{}.{}", key_string(&self.context), self.current_key)
    }

    fn fail(&self, line: i64, msg: String) -> String {
        let last = self.current();
        if last.is_empty() {
            format!("toml: line {line}: {msg}")
        } else {
            format!("toml: line {line} (last key {}): {msg}", go_quote(&last))
        }
    }

    fn fail_here(&self, msg: String) -> String {
        self.fail(self.pos_line, msg)
    }

    fn next(&mut self) -> PResult<Token> {
        let it = self.lx.next_item();
        if it.typ == Item::Error {
            return Err(self.fail(it.line, it.val));
        }
        Ok(it)
    }

    fn next_pos(&mut self) -> PResult<Token> {
        let it = self.next()?;
        self.pos_line = it.line;
        Ok(it)
    }

    fn bug(msg: String) -> String {
        format!("BUG: {msg}\n\n")
    }

    fn expect(&mut self, typ: Item) -> PResult<Token> {
        let it = self.next()?;
        if it.typ != typ {
            return Err(Self::bug(format!(
                "Expected '{typ:?}' but got '{:?}'.",
                it.typ
            )));
        }
        Ok(it)
    }

    fn top_level(&mut self, item: Token) -> PResult<()> {
        match item.typ {
            Item::CommentStart => {
                self.expect(Item::Text)?;
            }
            Item::TableStart | Item::ArrayTableStart => {
                let array = item.typ == Item::ArrayTableStart;
                let end = if array {
                    Item::ArrayTableEnd
                } else {
                    Item::TableEnd
                };
                let mut name = self.next_pos()?;
                let mut key = Key::new();
                while name.typ != end && name.typ != Item::Eof {
                    key.push(self.key_part(&name)?);
                    name = self.next()?;
                }
                self.add_context(&key, array)?;
                self.set_type("", false);
            }
            Item::KeyStart => {
                let outer = self.context.clone();
                let (_, val, is_array) = self.key_value()?;
                let ck = self.current_key.clone();
                self.set_value(&ck, val)?;
                self.set_type(&ck, is_array);
                self.context = outer;
                self.current_key.clear();
            }
            t => return Err(Self::bug(format!("Unexpected type at top level: {t:?}"))),
        }
        Ok(())
    }

    /// A `key = value` pair, from its key's first part on: the key (never empty) becomes the
    /// current key, its dotted parents implicit tables under the current context, and the
    /// value is read. Storing the value is the caller's.
    fn key_value(&mut self) -> PResult<(Key, Node, bool)> {
        let mut k = self.next_pos()?;
        let mut key = Key::new();
        while k.typ != Item::KeyEnd && k.typ != Item::Eof {
            key.push(self.key_part(&k)?);
            k = self.next()?;
        }
        let Some((last, parents)) = key.split_last() else {
            return Err(Self::bug("empty key".into()));
        };
        self.current_key = last.clone();
        for part in parents {
            let mut c = self.context.clone();
            c.push(part.clone());
            self.add_implicit_context(&c)?;
        }
        let v_item = self.next()?;
        let (val, is_array) = self.value(v_item, false)?;
        Ok((key, val, is_array))
    }

    fn key_part(&mut self, it: &Token) -> PResult<String> {
        match it.typ {
            Item::Text => Ok(it.val.clone()),
            Item::String | Item::MultilineString | Item::RawString | Item::RawMultilineString => {
                let tok = Token {
                    typ: it.typ,
                    val: it.val.clone(),
                    line: it.line,
                };
                match self.value(tok, false)?.0 {
                    Node::Leaf(Value::String(s)) => Ok(s),
                    _ => Err(Self::bug("key is not a string".into())),
                }
            }
            t => Err(Self::bug(format!("Unexpected key type: {t:?}"))),
        }
    }

    /// The value of an item, and whether it is an array (BurntSushi's `tomlArray` type).
    fn value(&mut self, it: Token, parent_is_array: bool) -> PResult<(Node, bool)> {
        let leaf = |v: Value| Ok((Node::Leaf(v), false));
        match it.typ {
            Item::String => leaf(Value::String(self.replace_escapes(&it, &it.val)?)),
            Item::MultilineString => {
                let s = strip_escaped_newlines(strip_first_newline(&it.val));
                leaf(Value::String(self.replace_escapes(&it, &s)?))
            }
            Item::RawString => leaf(Value::String(it.val.clone())),
            Item::RawMultilineString => leaf(Value::String(strip_first_newline(&it.val).into())),
            Item::Integer => leaf(self.value_integer(&it)?),
            Item::Float => leaf(self.value_float(&it)?),
            Item::Bool => match it.val.as_str() {
                "true" => leaf(Value::Bool(true)),
                "false" => leaf(Value::Bool(false)),
                v => Err(Self::bug(format!("Expected boolean value, but got '{v}'."))),
            },
            Item::Datetime => leaf(self.value_datetime(&it)?),
            Item::Array => {
                let ck = self.current_key.clone();
                self.set_type(&ck, true);
                let mut array = Vec::new();
                loop {
                    let it = self.next()?;
                    if it.typ == Item::ArrayEnd {
                        break;
                    }
                    if it.typ == Item::CommentStart {
                        self.expect(Item::Text)?;
                        continue;
                    }
                    array.push(self.value(it, true)?.0);
                }
                Ok((Node::Array(array), true))
            }
            Item::InlineTableStart => self.value_inline_table(parent_is_array),
            t => Err(Self::bug(format!("Unexpected value type: {t:?}"))),
        }
    }

    fn value_integer(&self, it: &Token) -> PResult<Value> {
        let v = &it.val;
        if !num_underscores_ok(v) {
            return Err(self.fail(
                it.line,
                format!(
                    "Invalid integer {}: underscores must be surrounded by digits",
                    go_quote(v)
                ),
            ));
        }
        if num_has_leading_zero(v) {
            return Err(self.fail(
                it.line,
                format!(
                    "Invalid integer {}: cannot have leading zeroes",
                    go_quote(v)
                ),
            ));
        }
        match parse_go_int(v) {
            Some(Ok(n)) => Ok(Value::Int64(n)),
            Some(Err(())) => Err(self.fail(it.line, format!("{v} is out of range for int64"))),
            None => Err(Self::bug(format!("Expected integer value, but got '{v}'."))),
        }
    }

    fn value_float(&self, it: &Token) -> PResult<Value> {
        let v = &it.val;
        let parts: Vec<&str> = v.split(['.', 'e', 'E']).filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| !num_underscores_ok(p)) {
            return Err(self.fail(
                it.line,
                format!(
                    "Invalid float {}: underscores must be surrounded by digits",
                    go_quote(v)
                ),
            ));
        }
        if parts.first().is_some_and(|p| num_has_leading_zero(p)) {
            return Err(self.fail(
                it.line,
                format!("Invalid float {}: cannot have leading zeroes", go_quote(v)),
            ));
        }
        if !num_periods_ok(v) {
            return Err(self.fail(
                it.line,
                format!(
                    "Invalid float {}: '.' must be followed by one or more digits",
                    go_quote(v)
                ),
            ));
        }
        let mut val = v.replace('_', "");
        let mut negative_nan = false;
        if val == "+nan" || val == "-nan" {
            negative_nan = val == "-nan";
            val = "nan".into();
        }
        match parse_go_float(&val) {
            Some(Ok(f)) => Ok(Value::Float(if negative_nan { -f.abs() } else { f })),
            Some(Err(())) => Err(self.fail(it.line, format!("{v} is out of range for float64"))),
            None => Err(self.fail(it.line, format!("Invalid float value: {}", go_quote(v)))),
        }
    }

    fn value_datetime(&self, it: &Token) -> PResult<Value> {
        let v: String = it
            .val
            .chars()
            .map(|c| match c {
                'z' => 'Z',
                't' | ' ' => 'T',
                c => c,
            })
            .collect();
        match parse_toml_datetime(&v) {
            Some((wall, zone)) => Ok(toml_time(wall, zone)),
            None => Err(self.fail(it.line, format!("invalid datetime: {}", go_quote(&v)))),
        }
    }

    fn value_inline_table(&mut self, parent_is_array: bool) -> PResult<(Node, bool)> {
        let top = new_table();
        let outer_context = self.context.clone();
        let outer_key = self.current_key.clone();
        self.context.push(self.current_key.clone());
        let prev_context = self.context.clone();
        self.current_key.clear();
        self.add_implicit(&self.context.clone());
        self.add_context(&self.context.clone(), parent_is_array)?;
        loop {
            let it = self.next()?;
            if it.typ == Item::InlineTableEnd {
                break;
            }
            if it.typ == Item::CommentStart {
                self.expect(Item::Text)?;
                continue;
            }
            let (key, val, is_array) = self.key_value()?;
            let parents = key.split_last().map_or(&[][..], |(_, p)| p);
            let ck = self.current_key.clone();
            self.set_value(&ck, val.clone())?;
            self.set_type(&ck, is_array);
            let mut hash = top.clone();
            for c in parents {
                let existing = hash.borrow().get(c).cloned();
                let h = match existing {
                    Some(h) => h,
                    None => {
                        let t = Node::Table(new_table());
                        hash.borrow_mut().insert(c.clone(), t.clone());
                        t
                    }
                };
                match h {
                    Node::Table(t) => hash = t,
                    _ => {
                        return Err(self.fail_here(format!(
                            "{} is not a table",
                            go_quote(&key_string(&self.context))
                        )));
                    }
                }
            }
            hash.borrow_mut().insert(ck, val);
            self.context = prev_context.clone();
        }
        self.context = outer_context;
        self.current_key = outer_key;
        Ok((Node::Table(top), false))
    }

    fn add_implicit(&mut self, key: &[String]) {
        self.implicits.insert(key_string(key));
    }

    fn add_implicit_context(&mut self, key: &[String]) -> PResult<()> {
        self.add_implicit(key);
        self.add_context(key, false)
    }

    fn set_type(&mut self, key: &str, is_array: bool) {
        let mut k = self.context.clone();
        if !key.is_empty() {
            k.push(key.to_string());
        }
        if k.is_empty() {
            k.push(String::new());
        }
        self.arrays.insert(key_string(&k), is_array);
    }

    /// BurntSushi's `addContext`: makes `key` the current table (or a new table of the array
    /// at `key`), creating implicit tables for its parents.
    fn add_context(&mut self, key: &[String], array: bool) -> PResult<()> {
        let Some((last, parents)) = key.split_last() else {
            return Err(Self::bug("empty table name".into()));
        };
        let mut hash = self.mapping.clone();
        let mut key_context = Key::new();
        for k in parents {
            key_context.push(k.clone());
            let exists = hash.borrow().contains_key(k);
            if !exists {
                self.add_implicit(&key_context);
                hash.borrow_mut()
                    .insert(k.clone(), Node::Table(new_table()));
            }
            let next = match hash.borrow().get(k) {
                Some(Node::Tables(ts)) => ts.last().cloned(),
                Some(Node::Table(t)) => Some(t.clone()),
                _ => None,
            };
            match next {
                Some(t) => hash = t,
                None => {
                    return Err(self.fail_here(format!(
                        "Key '{}' was already created as a hash.",
                        key_string(&key_context)
                    )));
                }
            }
        }
        self.context = key_context;
        if array {
            let mut h = hash.borrow_mut();
            let slot = h
                .entry(last.clone())
                .or_insert_with(|| Node::Tables(Vec::new()));
            match slot {
                Node::Tables(ts) => ts.push(new_table()),
                _ => {
                    drop(h);
                    return Err(self.fail_here(format!(
                        "Key '{}' was already created and cannot be used as an array.",
                        key_string(key)
                    )));
                }
            }
        } else {
            self.set_value(last, Node::Table(new_table()))?;
        }
        self.context.push(last.clone());
        Ok(())
    }

    /// BurntSushi's `setValue`: sets `key` in the current table, refusing to redefine a key
    /// unless it was created implicitly (or holds an array).
    fn set_value(&mut self, key: &str, value: Node) -> PResult<()> {
        let mut hash = self.mapping.clone();
        let mut key_context = Key::new();
        for k in &self.context {
            key_context.push(k.clone());
            let next = match hash.borrow().get(k) {
                None => {
                    return Err(Self::bug(format!(
                        "Context for key '{}' has not been established.",
                        key_string(&key_context)
                    )));
                }
                Some(Node::Tables(ts)) => ts.last().cloned(),
                Some(Node::Table(t)) => Some(t.clone()),
                Some(_) => None,
            };
            match next {
                Some(t) => hash = t,
                None => {
                    return Err(self.fail_here(format!(
                        "Key '{}' has already been defined.",
                        key_string(&key_context)
                    )));
                }
            }
        }
        key_context.push(key.to_string());
        let exists = hash.borrow().contains_key(key);
        if exists {
            let ks = key_string(&key_context);
            if self.arrays.get(&ks).copied().unwrap_or(false) {
                self.implicits.remove(&ks);
                hash.borrow_mut().insert(key.to_string(), value);
                return Ok(());
            }
            if self.implicits.remove(&ks) {
                return Ok(());
            }
            return Err(self.fail_here(format!("Key '{ks}' has already been defined.")));
        }
        hash.borrow_mut().insert(key.to_string(), value);
        Ok(())
    }

    /// BurntSushi's `replaceEscapes` (the lexer has checked the escapes' shapes).
    fn replace_escapes(&self, it: &Token, s: &str) -> PResult<String> {
        if !s.contains('\\') {
            return Ok(s.to_string());
        }
        let mut out = String::with_capacity(s.len());
        let b = s.as_bytes();
        let mut skip = 0;
        for (i, c) in s.char_indices() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(&e) = b.get(i + 1) else {
                return Err(Self::bug("Escape sequence at end of string.".into()));
            };
            match e {
                b' ' | b'\t' => {
                    return Err(
                        self.fail(it.line, format!("invalid escape: '\\{}'", char::from(e)))
                    );
                }
                b'b' => out.push('\u{8}'),
                b't' => out.push('\t'),
                b'n' => out.push('\n'),
                b'f' => out.push('\u{c}'),
                b'r' => out.push('\r'),
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'u' | b'U' => {
                    let n = if e == b'u' { 4 } else { 8 };
                    let hex = s.get(i + 2..i + 2 + n).unwrap_or("");
                    let code = u32::from_str_radix(hex, 16).unwrap_or(u32::MAX);
                    match char::from_u32(code) {
                        Some(c) => out.push(c),
                        None => {
                            return Err(self.fail(
                                it.line,
                                format!("Escaped character '\\u{hex}' is not valid UTF-8."),
                            ));
                        }
                    }
                    skip = n;
                }
                other => {
                    return Err(Self::bug(format!(
                        "Expected valid escape code after \\, but got {}.",
                        quote_rune(u32::from(other))
                    )));
                }
            }
            skip += 1;
        }
        Ok(out)
    }
}

fn strip_first_newline(s: &str) -> &str {
    s.strip_prefix('\n')
        .or_else(|| s.strip_prefix("\r\n"))
        .unwrap_or(s)
}

/// Removes a line-ending backslash and the whitespace after it (newlines included) from a
/// multi-line basic string; a backslash followed by blanks but no newline is left for
/// [`Parser::replace_escapes`] to reject.
fn strip_escaped_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut s = s;
    let mut i = 0;
    loop {
        let Some(ix) = s[i..].find('\\') else {
            out.push_str(s);
            return out;
        };
        i += ix;
        if s.as_bytes().get(i + 1) == Some(&b'\\') {
            i += 2;
            continue;
        }
        let mut j = i + 1;
        while j < s.len() && matches!(s.as_bytes()[j], b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        if j == i + 1 || !s[i..j].contains('\n') {
            i += 1;
            continue;
        }
        out.push_str(&s[..i]);
        s = &s[j..];
        i = 0;
    }
}

/// Whether each underscore in `s` sits between characters that are not underscores (hex
/// digits, as BurntSushi's check reads them), and `s` does not end in one.
fn num_underscores_ok(s: &str) -> bool {
    if matches!(s, "nan" | "+nan" | "-nan" | "inf" | "-inf" | "+inf") {
        return true;
    }
    let mut accept = false;
    for c in s.chars() {
        if c == '_' && !accept {
            return false;
        }
        accept = is_hex(u32::from(c));
    }
    accept
}

fn num_has_leading_zero(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() > 1 && b[0] == b'0' && !matches!(b[1], b'b' | b'o' | b'x') {
        return true;
    }
    b.len() > 2 && matches!(b[0], b'-' | b'+') && b[1] == b'0'
}

fn num_periods_ok(s: &str) -> bool {
    let mut period = false;
    for c in s.chars() {
        if period && !c.is_ascii_digit() {
            return false;
        }
        period = c == '.';
    }
    !period
}

/// Go's `strconv.ParseInt(s, 0, 64)`: `Some(Err)` when out of range, `None` when malformed.
fn parse_go_int(s: &str) -> Option<Result<i64, ()>> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits, prefixed) = if let Some(d) = body.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = body.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = body.strip_prefix("0b") {
        (2, d, true)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..], true)
    } else {
        (10, body, false)
    };
    // Go's underscoreOK: underscores only between digits (or right after a base prefix).
    let mut prev_digit = prefixed;
    let mut clean = String::with_capacity(digits.len());
    for c in digits.chars() {
        if c == '_' {
            if !prev_digit {
                return None;
            }
            prev_digit = false;
            continue;
        }
        if !c.is_digit(radix) {
            return None;
        }
        prev_digit = true;
        clean.push(c);
    }
    if clean.is_empty() || !prev_digit {
        return None;
    }
    let mag = u128::from_str_radix(&clean, radix).unwrap_or(u128::MAX);
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    if mag > limit {
        return Some(Err(()));
    }
    let n = if neg {
        (mag as i128).wrapping_neg() as i64
    } else {
        mag as i64
    };
    Some(Ok(n))
}

/// Go's `strconv.ParseFloat(s, 64)` for the texts BurntSushi's lexer lets through:
/// `Some(Err)` when the value overflows, `None` when malformed.
fn parse_go_float(s: &str) -> Option<Result<f64, ()>> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let special = matches!(
        body.to_ascii_lowercase().as_str(),
        "inf" | "infinity" | "nan"
    );
    if !special {
        // Go's grammar: digits, an optional fraction, an optional exponent with digits.
        let b = body.as_bytes();
        let mut i = 0;
        let mut mantissa_digits = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
                mantissa_digits += 1;
            }
        }
        if mantissa_digits == 0 {
            return None;
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        if i != b.len() {
            return None;
        }
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() && !special {
        return Some(Err(()));
    }
    Some(Ok(f))
}

// ---------------------------------------------------------------------------------------
// Date-times: Go's time.Parse over BurntSushi's layouts.

/// The layouts BurntSushi tries, in order, with the zone each gives.
const LAYOUTS: [(&str, Layout); 4] = [
    ("2006-01-02T15:04:05.999999999Z07:00", Layout::Offset),
    ("2006-01-02T15:04:05.999999999", Layout::LocalDatetime),
    ("2006-01-02", Layout::LocalDate),
    ("15:04:05.999999999", Layout::LocalTime),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Offset,
    LocalDatetime,
    LocalDate,
    LocalTime,
}

/// A TOML date-time (with `t`, `z` and a space already made `T`, `Z`, `T`): its wall clock
/// as nanoseconds from the epoch read as UTC, and its zone; `None` if no layout takes it.
fn parse_toml_datetime(v: &str) -> Option<(i128, TomlZone)> {
    for (layout, kind) in LAYOUTS {
        if let Some(parsed) = go_parse(v, kind) {
            if missing_leading_zero(v, layout) {
                return None;
            }
            return Some(parsed);
        }
    }
    None
}

/// Go's check that fixed separators sit where the layout has them: `time.Parse` takes a
/// one-digit hour, TOML does not.
fn missing_leading_zero(d: &str, layout: &str) -> bool {
    let d = d.as_bytes();
    for (i, &c) in layout.as_bytes().iter().enumerate() {
        if c == b'.' || c == b'Z' {
            return false;
        }
        if !c.is_ascii_digit() && d.get(i) != Some(&c) {
            return true;
        }
    }
    false
}

/// `n` digits exactly (Go's `getnum(s, true)` for two, its `atoi` of four).
fn fixed_num(s: &mut &[u8], n: usize) -> Option<i64> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = s[..n]
        .iter()
        .fold(0i64, |a, &d| a * 10 + i64::from(d - b'0'));
    *s = &s[n..];
    Some(v)
}

fn literal(s: &mut &[u8], c: u8) -> Option<()> {
    if s.first() != Some(&c) {
        return None;
    }
    *s = &s[1..];
    Some(())
}

fn go_parse(v: &str, kind: Layout) -> Option<(i128, TomlZone)> {
    let mut s = v.as_bytes();
    let (mut year, mut month, mut day) = (0i64, 1i64, 1i64);
    if kind != Layout::LocalTime {
        year = fixed_num(&mut s, 4)?;
        literal(&mut s, b'-')?;
        month = fixed_num(&mut s, 2)?;
        if !(1..=12).contains(&month) {
            return None;
        }
        literal(&mut s, b'-')?;
        day = fixed_num(&mut s, 2)?;
        if day > 31 {
            return None;
        }
    }
    let (mut hour, mut min, mut sec, mut nano) = (0i64, 0i64, 0i64, 0i64);
    if kind != Layout::LocalDate {
        if kind != Layout::LocalTime {
            literal(&mut s, b'T')?;
        }
        // Go's stdHour takes one or two digits.
        if !s.first()?.is_ascii_digit() {
            return None;
        }
        if s.len() >= 2 && s[1].is_ascii_digit() {
            hour = fixed_num(&mut s, 2)?;
        } else {
            hour = fixed_num(&mut s, 1)?;
        }
        if hour >= 24 {
            return None;
        }
        literal(&mut s, b':')?;
        min = fixed_num(&mut s, 2)?;
        if min >= 60 {
            return None;
        }
        literal(&mut s, b':')?;
        sec = fixed_num(&mut s, 2)?;
        if sec >= 60 {
            return None;
        }
        if s.len() >= 2 && s[0] == b'.' && s[1].is_ascii_digit() {
            let mut n = 1;
            while n < s.len() && s[n].is_ascii_digit() {
                n += 1;
            }
            let digits = &s[1..n.min(10)];
            let mut ns = digits
                .iter()
                .fold(0i64, |a, &d| a * 10 + i64::from(d - b'0'));
            for _ in digits.len()..9 {
                ns *= 10;
            }
            nano = ns;
            s = &s[n..];
        }
    }
    let mut zone = match kind {
        Layout::LocalDatetime => TomlZone::LocalDatetime,
        Layout::LocalDate => TomlZone::LocalDate,
        Layout::LocalTime => TomlZone::LocalTime,
        Layout::Offset => TomlZone::Utc,
    };
    if kind == Layout::Offset {
        if s.first() == Some(&b'Z') {
            s = &s[1..];
        } else {
            if s.len() < 6 || s[3] != b':' {
                return None;
            }
            let sign = s[0];
            let mut hh = &s[1..3];
            let mut mm = &s[4..6];
            let hr = fixed_num(&mut hh, 2)?;
            let mi = fixed_num(&mut mm, 2)?;
            if hr > 24 || mi > 60 {
                return None;
            }
            let off = (hr * 60 + mi) * 60;
            let off = match sign {
                b'+' => off,
                b'-' => -off,
                _ => return None,
            };
            zone = TomlZone::Offset(i32::try_from(off).ok()?);
            s = &s[6..];
        }
    }
    if !s.is_empty() {
        return None;
    }
    if day < 1 || day > days_in(month, year) {
        return None;
    }
    let wall = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    Some((i128::from(wall) * 1_000_000_000 + i128::from(nano), zone))
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
