//! The template lexer: splits a template source into the tokens Go's `text/template/parse`
//! lexer produces, with the same trimming (`{{- ` / ` -}}`), comment and error rules.
//!
//! The whole source is tokenised up front; a lexical error becomes a final `Error` token, so the
//! parser reports it only once it reaches that point, as Go's lazily driven lexer does.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A lexical error; the token text is the message.
    Error,
    Bool,
    /// A single printable ASCII character inside an action (for example `,`).
    Char,
    CharConstant,
    Complex,
    /// `=`
    Assign,
    /// `:=`
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

/// One token: its kind, byte offset, text and the line it starts on.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub typ: Tok,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl std::fmt::Display for Token {
    /// Go's `item.String()`, used in "unexpected X in Y" parse errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            Tok::Eof => f.write_str("EOF"),
            Tok::Error => f.write_str(&self.val),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ => {
                let quoted = crate::template::format::go_quote(&self.val);
                if self.val.chars().count() > 10 {
                    // Go's %.10q quotes the first ten runes.
                    let short: String = self.val.chars().take(10).collect();
                    write!(f, "{}...", crate::template::format::go_quote(&short))
                } else {
                    f.write_str(&quoted)
                }
            }
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
}

struct Lexer<'s> {
    input: &'s str,
    pos: usize,
    start: usize,
    paren_depth: i32,
    tokens: Vec<Token>,
    /// The last (offset, line) computed, to count newlines incrementally.
    line_mark: (usize, usize),
    /// Newlines inside comments so far: Go's lexer skips comments without counting their
    /// lines, so every later token's line (and parse error) is that many lines early.
    comment_lines: usize,
}

/// Tokenises `input`; the result always ends with an `Eof` or `Error` token.
pub(crate) fn lex(input: &str) -> Vec<Token> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        paren_depth: 0,
        tokens: Vec::new(),
        line_mark: (0, 1),
        comment_lines: 0,
    };
    l.run();
    l.tokens
}

impl<'s> Lexer<'s> {
    /// The line of byte offset `pos`, counted incrementally from the previous token (tokens
    /// come in order, so lexing stays linear in the input size).
    fn line_at(&mut self, pos: usize) -> usize {
        let (from, line) = if pos >= self.line_mark.0 {
            self.line_mark
        } else {
            (0, 1)
        };
        let line = line + memchr::memchr_iter(b'\n', &self.input.as_bytes()[from..pos]).count();
        self.line_mark = (pos, line);
        line
    }

    fn emit(&mut self, typ: Tok) {
        let val = self.input[self.start..self.pos].to_string();
        self.emit_val(typ, self.start, val);
        self.start = self.pos;
    }

    fn emit_val(&mut self, typ: Tok, pos: usize, val: String) {
        let line = self.line_at(pos) - self.comment_lines;
        self.tokens.push(Token {
            typ,
            pos,
            val,
            line,
        });
    }

    fn error(&mut self, msg: String) -> bool {
        let start = self.start;
        self.emit_val(Tok::Error, start, msg);
        false
    }

    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn rest(&self) -> &'s str {
        &self.input[self.pos..]
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn run(&mut self) {
        // Each step returns false once an Error or EOF token ends the stream.
        loop {
            if !self.lex_text() {
                return;
            }
            if !self.lex_left_delim() {
                return;
            }
        }
    }

    /// Scans text up to the next left delimiter; false at end of input.
    fn lex_text(&mut self) -> bool {
        if let Some(x) = self.rest().find(LEFT) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT.len();
                let mut trim = 0;
                if has_left_trim(&self.input[delim_end..]) {
                    let text = &self.input[self.start..self.pos];
                    trim = text.len() - text.trim_end_matches([' ', '\t', '\r', '\n']).len();
                }
                let end = self.pos - trim;
                if end > self.start {
                    let val = self.input[self.start..end].to_string();
                    self.emit_val(Tok::Text, self.start, val);
                }
                self.start = self.pos;
            }
            true
        } else {
            self.pos = self.input.len();
            if self.pos > self.start {
                self.emit(Tok::Text);
            }
            self.emit_val(Tok::Eof, self.pos, String::new());
            false
        }
    }

    /// At a left delimiter: a comment or the start of an action.
    fn lex_left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with("/*") {
            self.pos += after;
            self.start = self.pos;
            return self.lex_comment();
        }
        let delim_pos = self.start;
        self.emit_val(Tok::LeftDelim, delim_pos, LEFT.to_string());
        self.pos += after;
        self.start = self.pos;
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    /// Whether the input is at a right delimiter, and whether it is trim-marked.
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if has_right_trim(r) && r[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (r.starts_with(RIGHT), false)
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            return self.error("unclosed comment".into());
        };
        let body_lines = memchr::memchr_iter(b'\n', &self.rest().as_bytes()[..x]).count();
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        self.comment_lines += body_lines;
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            self.skip_left_trim();
        }
        self.start = self.pos;
        true
    }

    fn skip_left_trim(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start_matches([' ', '\t', '\r', '\n']).len();
    }

    fn lex_right_delim(&mut self) -> bool {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT.len();
        self.emit(Tok::RightDelim);
        if trim {
            self.skip_left_trim();
            self.start = self.pos;
        }
        true
    }

    /// Lexes the inside of an action up to and including its right delimiter.
    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    return self.lex_right_delim();
                }
                return self.error("unclosed left paren".into());
            }
            let Some(r) = self.next() else {
                return self.error("unclosed action".into());
            };
            let ok = match r {
                c if c.is_ascii() && is_space(c as u8) => {
                    self.pos -= 1;
                    match self.lex_space() {
                        Some(true) => return self.lex_right_delim(),
                        Some(false) => true,
                        None => false,
                    }
                }
                '=' => {
                    self.emit(Tok::Assign);
                    true
                }
                ':' => {
                    if self.next() != Some('=') {
                        return self.error("expected :=".into());
                    }
                    self.emit(Tok::Declare);
                    true
                }
                '|' => {
                    self.emit(Tok::Pipe);
                    true
                }
                '"' => self.lex_quote(),
                '`' => self.lex_raw_quote(),
                '$' => self.lex_variable(),
                '\'' => self.lex_char(),
                '.' if self.peek().is_some_and(|c| !c.is_ascii_digit()) => {
                    self.lex_field_or_variable(Tok::Field)
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.lex_number()
                }
                c if is_alnum(c) => {
                    self.pos -= c.len_utf8();
                    self.lex_identifier()
                }
                '(' => {
                    self.emit(Tok::LeftParen);
                    self.paren_depth += 1;
                    true
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return self.error("unexpected right paren".into());
                    }
                    self.emit(Tok::RightParen);
                    true
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.emit(Tok::Char);
                    true
                }
                c => return self.error(format!("unrecognized character in action: {}", go_u(c))),
            };
            if !ok {
                return false;
            }
        }
    }

    /// Scans a run of spaces. `Some(true)` means the spaces were the one before a trim-marked
    /// right delimiter, which the caller lexes next.
    fn lex_space(&mut self) -> Option<bool> {
        let mut n = 0;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii() && is_space(c as u8))
        {
            self.pos += 1;
            n += 1;
        }
        let before = &self.input[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with(RIGHT) {
            self.pos -= 1;
            if n == 1 {
                return Some(true);
            }
        }
        self.emit(Tok::Space);
        Some(false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.error(format!("bad character {}", go_u(c)));
        }
        let word = &self.input[self.start..self.pos];
        let typ = match word {
            "block" => Tok::Block,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            "true" | "false" => Tok::Bool,
            _ => Tok::Identifier,
        };
        self.emit(typ);
        true
    }

    fn lex_variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Tok::Variable);
            return true;
        }
        self.lex_field_or_variable(Tok::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if typ == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.error(format!("bad character {}", go_u(c)));
        }
        self.emit(typ);
        true
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        return self.error("unterminated character constant".into());
                    }
                }
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Tok::CharConstant);
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        return self.error("unterminated quoted string".into());
                    }
                }
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Tok::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        match self.rest().find('`') {
            Some(x) => {
                self.pos += x + 1;
                self.emit(Tok::RawString);
                true
            }
            None => self.error("unterminated raw quoted string".into()),
        }
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.error(format!(
                "bad number syntax: {}",
                crate::template::format::go_quote(&text)
            ));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.error(format!(
                    "bad number syntax: {}",
                    crate::template::format::go_quote(&text)
                ));
            }
            self.emit(Tok::Complex);
        } else {
            self.emit(Tok::Number);
        }
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }
}

/// Go's `%#U` formatting of a rune, as in `U+0040 '@'`.
pub(crate) fn go_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Tok, String)> {
        lex(s).into_iter().map(|t| (t.typ, t.val)).collect()
    }

    #[test]
    fn trims_and_comments() {
        let t = kinds("a  {{- .x -}}  b{{/* c */}}d {{- /* e */ -}} f");
        assert_eq!(
            t,
            vec![
                (Tok::Text, "a".into()),
                (Tok::LeftDelim, "{{".into()),
                (Tok::Field, ".x".into()),
                (Tok::RightDelim, "}}".into()),
                (Tok::Text, "b".into()),
                (Tok::Text, "d".into()),
                (Tok::Text, "f".into()),
                (Tok::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn numbers_and_errors() {
        let t = kinds("{{ 0x1F 1e3 -2.5 1_000 'a' }}");
        let nums: Vec<_> = t
            .iter()
            .filter(|(k, _)| *k == Tok::Number || *k == Tok::CharConstant)
            .collect();
        assert_eq!(nums.len(), 5);
        let t = kinds("{{ 3k }}");
        assert_eq!(
            t.last().map(|x| x.1.as_str()),
            Some("bad number syntax: \"3k\"")
        );
        let t = kinds("{{ \"abc }}");
        assert_eq!(
            t.last().map(|x| x.1.as_str()),
            Some("unterminated quoted string")
        );
        let t = kinds("{{ .a ");
        assert_eq!(t.last().map(|x| x.1.as_str()), Some("unclosed action"));
    }
}
