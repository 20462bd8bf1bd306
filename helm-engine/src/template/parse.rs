//! The template parser: builds the trees Go's `text/template/parse` builds, with the same
//! `define`/`block` handling, variable scoping and error messages.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use super::format::go_quote;
use super::lex::{Tok, Token, lex};

/// A parsed template: its name, the file it came from (for error locations) and its body.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    /// The name of the top-level template being parsed (the file), used in error locations.
    pub parse_name: Arc<str>,
    /// The whole source text the tree was parsed from, to turn offsets into line:column.
    pub text: Arc<str>,
    pub root: List,
}

impl Tree {
    /// Go's `ErrorContext`: `file:line:col` of a byte offset (column counted from 0 on later
    /// lines, as Go does).
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let col = match memchr::memrchr(b'\n', before) {
            Some(nl) => pos - (nl + 1),
            None => pos,
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// A sequence of nodes.
#[derive(Debug, Default)]
pub(crate) struct List {
    pub nodes: Vec<Node>,
}

/// A statement-level node.
#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Control),
    Range(Control),
    With(Control),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug)]
pub(crate) struct Control {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// One command of a pipeline: a function, field or operand with arguments.
#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A parsed number constant, with the interpretations Go's parser records.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// Whether the value is a uint only (too large for int64).
    pub is_uint: bool,
    pub is_char: bool,
    /// A complex constant (`1i`, `1+2i`): its real and imaginary parts. Go evaluates it as a
    /// `complex128` even when `int`/`float` are set too (an imaginary part of zero).
    pub complex: Option<(f64, f64)>,
}

/// An operand.
#[derive(Debug)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Number,
    },
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

// ---- Go's String() forms, used as the `<context>` of execution errors ----

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(_) = **node {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number { num, .. } => f.write_str(&num.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if let Arg::Pipe(p) = a {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let control = |f: &mut fmt::Formatter<'_>, kw: &str, c: &Control| {
            write!(f, "{{{{{kw} {}}}}}{}", c.pipe, c.list)?;
            if let Some(e) = &c.else_list {
                write!(f, "{{{{else}}}}{e}")?;
            }
            f.write_str("{{end}}")
        };
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(c) => control(f, "if", c),
            Node::Range(c) => control(f, "range", c),
            Node::With(c) => control(f, "with", c),
            Node::Template { name, pipe, .. } => match pipe {
                Some(p) => write!(f, "{{{{template {} {p}}}}}", go_quote(name)),
                None => write!(f, "{{{{template {}}}}}", go_quote(name)),
            },
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
        }
    }
}

// ---- Parser ----

/// A parse failure, already formatted as Go formats it (`template: NAME:LINE: MSG`).
#[derive(Debug)]
pub(crate) struct ParseError(pub String);

type PResult<T> = Result<T, ParseError>;

/// Parses `text` as template `name`. Returns the trees it defines: the top-level one under
/// `name` and one per `define`/`block`.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let text: Arc<str> = Arc::from(text);
    let parse_name: Arc<str> = Arc::from(name);
    let tokens = lex(&text);
    let mut p = Parser {
        tokens,
        idx: 0,
        max_seen: 0,
        vars: vec!["$".to_string()],
        has_func,
        parse_name: parse_name.clone(),
        text: text.clone(),
        trees: Vec::new(),
        range_depth: 0,
        depth: 0,
        action_line: 0,
    };
    let root = p.parse_top()?;
    let top = Tree {
        name: name.to_string(),
        parse_name,
        text,
        root,
    };
    p.add(top)?;
    Ok(p.trees)
}

struct Parser<'f> {
    tokens: Vec<Token>,
    idx: usize,
    /// The furthest token read: Go reports parse errors at the line of the last lexed item.
    max_seen: usize,
    vars: Vec<String>,
    has_func: &'f dyn Fn(&str) -> bool,
    parse_name: Arc<str>,
    text: Arc<str>,
    trees: Vec<Tree>,
    range_depth: usize,
    /// Current nesting of item lists and parentheses.
    depth: usize,
    /// The line of the `{{` of the action being parsed (0 when none): a lexical error on
    /// another line names it. Go clears it when any action ends, even inside an outer one.
    action_line: usize,
}

/// How deeply actions and parentheses may nest (Go has no limit; real templates stay far
/// below this, and it keeps recursion within a thread's stack).
const MAX_NESTING: usize = 100;

/// Whether a tree holds nothing but whitespace text (Go's `IsEmptyTree`).
pub(crate) fn is_empty_list(l: &List) -> bool {
    l.nodes
        .iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim_matches([' ', '\t', '\r', '\n']).is_empty()))
}

/// The end of an item list: `{{end}}` or `{{else}}` (with the position of what follows).
enum Stop {
    End,
    /// `{{else}}`, or `{{else if`/`{{else with` with the keyword still to read.
    Else(Option<Tok>),
}

impl Parser<'_> {
    fn errorf(&self, msg: impl fmt::Display) -> ParseError {
        let line = self.tokens.get(self.max_seen).map(|t| t.line).unwrap_or(1);
        ParseError(format!("template: {}:{}: {}", self.parse_name, line, msg))
    }

    fn next(&mut self) -> Token {
        let i = self.idx.min(self.tokens.len() - 1);
        self.idx += 1;
        self.max_seen = self.max_seen.max(i);
        self.tokens[i].clone()
    }

    fn peek(&mut self) -> &Token {
        let i = self.idx.min(self.tokens.len() - 1);
        self.max_seen = self.max_seen.max(i);
        &self.tokens[i]
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.typ != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, typ: Tok, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&self, t: &Token, context: &str) -> ParseError {
        if t.typ == Tok::Error {
            return self.lex_error(t);
        }
        self.errorf(format_args!("unexpected {t} in {context}"))
    }

    /// A lexical error, naming where the action began when that was on another line.
    fn lex_error(&self, t: &Token) -> ParseError {
        if self.action_line != 0 && self.action_line != t.line {
            let mut extra = format!(
                " in action started at {}:{}",
                self.parse_name, self.action_line
            );
            if t.val.ends_with(" action") {
                extra = extra[" in action".len()..].to_string();
            }
            return self.errorf(format_args!("{}{extra}", t.val));
        }
        self.errorf(&t.val)
    }

    fn add(&mut self, tree: Tree) -> PResult<()> {
        if let Some(i) = self.trees.iter().position(|t| t.name == tree.name) {
            if is_empty_list(&self.trees[i].root) {
                self.trees[i] = tree;
            } else if !is_empty_list(&tree.root) {
                return Err(self.errorf(format_args!(
                    "template: multiple definition of template {}",
                    go_quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.trees.push(tree);
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<List> {
        let mut root = List::default();
        loop {
            let t = self.peek().clone();
            if t.typ == Tok::Eof {
                break;
            }
            if t.typ == Tok::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.nodes.push(n),
                Item::End => return Err(self.errorf("unexpected {{end}}")),
                Item::Else(_) => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.typ != Tok::String && t.typ != Tok::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(&t.val).map_err(|e| self.errorf(e))?;
        self.expect(Tok::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, stop) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if !matches!(stop, Stop::End) {
            return Err(self.errorf(format_args!("unexpected {} in {context}", "{{else}}")));
        }
        let tree = Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root: list,
        };
        self.add(tree)
    }

    /// Bounds the parser's recursion so that a hostile template cannot overflow the stack.
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.errorf(format_args!(
                "template nested more than {MAX_NESTING} levels deep"
            )));
        }
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(List, Stop)> {
        self.enter()?;
        let r = self.item_list_inner();
        self.depth -= 1;
        r
    }

    fn item_list_inner(&mut self) -> PResult<(List, Stop)> {
        let mut list = List::default();
        loop {
            if self.peek_non_space().typ == Tok::Eof {
                return Err(self.errorf("unexpected EOF"));
            }
            match self.text_or_action()? {
                Item::Node(n) => list.nodes.push(n),
                Item::End => return Ok((list, Stop::End)),
                Item::Else(s) => return Ok((list, s)),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.typ {
            Tok::Text => Ok(Item::Node(Node::Text(t.val))),
            Tok::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.typ {
            Tok::Block => return self.block_control().map(Item::Node),
            Tok::Else => return self.else_control(),
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Tok::If => return self.if_control().map(Item::Node),
            Tok::Range => return self.range_control().map(Item::Node),
            Tok::Template => return self.template_control().map(Item::Node),
            Tok::With => return self.with_control().map(Item::Node),
            Tok::Break => return self.break_control(t.pos, "break").map(Item::Node),
            Tok::Continue => return self.break_control(t.pos, "continue").map(Item::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command")?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn break_control(&mut self, pos: usize, kw: &str) -> PResult<Node> {
        let t = self.next_non_space();
        if t.typ != Tok::RightDelim {
            return Err(self.unexpected(&t, &format!("{{{{{kw}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format_args!("{{{{{kw}}}}} outside {{{{range}}}}")));
        }
        Ok(if kw == "break" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        })
    }

    fn pipeline(&mut self, context: &str) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, or in range `$i, $v :=`.
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != Tok::Variable {
                break;
            }
            let save = self.idx;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.typ {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.typ == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    break 'decls;
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space();
                        match p.typ {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue 'decls,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format_args!("too many declarations in {context}")));
                }
                _ => {
                    self.idx = save;
                    break 'decls;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            match t.typ {
                Tok::RightDelim | Tok::RightParen => {
                    self.check_pipeline(&pipe, context)?;
                    if t.typ == Tok::RightParen {
                        self.backup();
                    }
                    return Ok(pipe);
                }
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format_args!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number { .. }
                    | Arg::String { .. }
            ) {
                return Err(self.errorf(format_args!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn parse_control(&mut self, allow_else_if: bool, context: &str) -> PResult<Control> {
        let nvars = self.vars.len();
        let pipe = self.pipeline(context)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let res = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, stop) = res?;
        let mut else_list = None;
        if let Stop::Else(kw) = stop {
            let chained = match kw {
                Some(Tok::If) => allow_else_if && context == "if",
                Some(Tok::With) => allow_else_if && context == "with",
                _ => false,
            };
            if chained {
                // `{{else if x}}` (or `{{else with x}}`) is `{{else}}{{if x}}...{{end}}{{end}}` with
                // the inner `{{end}}` shared.
                self.next_non_space();
                let inner = if context == "if" {
                    self.if_control()?
                } else {
                    self.with_control()?
                };
                else_list = Some(List { nodes: vec![inner] });
            } else {
                let (l, stop2) = self.item_list()?;
                if !matches!(stop2, Stop::End) {
                    return Err(self.errorf("expected end; found {{else}}"));
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(nvars);
        Ok(Control {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn if_control(&mut self) -> PResult<Node> {
        Ok(Node::If(self.parse_control(true, "if")?))
    }

    fn range_control(&mut self) -> PResult<Node> {
        Ok(Node::Range(self.parse_control(false, "range")?))
    }

    fn with_control(&mut self) -> PResult<Node> {
        Ok(Node::With(self.parse_control(true, "with")?))
    }

    fn else_control(&mut self) -> PResult<Item> {
        let peek = self.peek_non_space();
        if peek.typ == Tok::If || peek.typ == Tok::With {
            return Ok(Item::Else(Stop::Else(Some(peek.typ))));
        }
        self.expect(Tok::RightDelim, "else")?;
        Ok(Item::Else(Stop::Else(None)))
    }

    fn parse_template_name(&mut self, t: &Token, context: &str) -> PResult<String> {
        match t.typ {
            Tok::String | Tok::RawString => unquote(&t.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.parse_template_name(&t, context)?;
        let pipe = self.pipeline(context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let res = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let (list, stop) = res?;
        if !matches!(stop, Stop::End) {
            return Err(self.errorf(format_args!("unexpected {} in {context}", "{{else}}")));
        }
        let tree = Tree {
            name: name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root: list,
        };
        self.add(tree)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.parse_template_name(&t, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn command(&mut self) -> PResult<Command> {
        let start = self.peek_non_space();
        let mut cmd = Command {
            pos: start.pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.typ {
                Tok::Space => continue,
                Tok::Error => return Err(self.lex_error(&t)),
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.errorf(format_args!("unexpected {t} in operand"))),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == Tok::Field {
            let chain_pos = self.peek().pos;
            let mut fields = Vec::new();
            while self.peek().typ == Tok::Field {
                let t = self.next();
                fields.push(t.val[1..].to_string());
            }
            return Ok(Some(match node {
                Arg::Field { pos: _, mut idents } => {
                    idents.extend(fields);
                    Arg::Field {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Variable { pos: _, mut idents } => {
                    idents.extend(fields);
                    Arg::Variable {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return Err(self.errorf(format_args!(
                        "unexpected . after term {}",
                        go_quote(&node.to_string())
                    )));
                }
                other => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.typ {
            Tok::Error => return Err(self.lex_error(&t)),
            Tok::Identifier => {
                if !(self.has_func)(&t.val) {
                    return Err(
                        self.errorf(format_args!("function {} not defined", go_quote(&t.val)))
                    );
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: t.val,
                }
            }
            Tok::Dot => Arg::Dot { pos: t.pos },
            Tok::Nil => Arg::Nil { pos: t.pos },
            Tok::Variable => {
                let idents: Vec<String> = split_var(&t.val);
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return Err(
                        self.errorf(format_args!("undefined variable {}", go_quote(&idents[0])))
                    );
                }
                Arg::Variable { pos: t.pos, idents }
            }
            Tok::Field => Arg::Field {
                pos: t.pos,
                idents: t.val[1..].split('.').map(str::to_string).collect(),
            },
            Tok::Bool => Arg::Bool {
                pos: t.pos,
                val: t.val == "true",
            },
            Tok::CharConstant | Tok::Complex | Tok::Number => {
                let num = parse_number(&t.val, t.typ).map_err(|e| self.errorf(e))?;
                Arg::Number { pos: t.pos, num }
            }
            Tok::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline");
                self.depth -= 1;
                let pipe = pipe?;
                let close = self.next();
                if close.typ != Tok::RightParen {
                    return Err(
                        self.errorf(format_args!("unclosed right paren: unexpected {close}"))
                    );
                }
                Arg::Pipe(Box::new(pipe))
            }
            Tok::String | Tok::RawString => {
                let text = unquote(&t.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos: t.pos,
                    quoted: t.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Item {
    Node(Node),
    End,
    Else(Stop),
}

fn split_var(s: &str) -> Vec<String> {
    s.split('.').map(str::to_string).collect()
}

/// Go's `strconv.Unquote` for the string forms the lexer produces.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return Ok(inner.replace('\r', ""));
    }
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| "invalid syntax".to_string())?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        if c != '\\' {
            // Go's Unquote decodes the literal's bytes as runes: an invalid byte is U+FFFD.
            let c = crate::value::runes_lossy(c.encode_utf8(&mut buf))
                .chars()
                .next()
                .unwrap_or(c);
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let (ch, _) = unescape(&mut chars, '"')?;
        match ch {
            Esc::Char(c) => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            // `\xff` and `\377` are raw bytes, which may or may not form UTF-8 with others.
            Esc::Byte(b) => out.push(b),
        }
    }
    Ok(crate::value::go_string(&out))
}

enum Esc {
    Char(char),
    Byte(u8),
}

fn unescape(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    quote: char,
) -> Result<(Esc, ()), String> {
    let bad = || "invalid syntax".to_string();
    let c = chars.next().ok_or_else(bad)?;
    let hex =
        |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = chars.next().and_then(|c| c.to_digit(16)).ok_or_else(bad)?;
                v = v * 16 + d;
            }
            Ok(v)
        };
    let e = match c {
        'a' => Esc::Char('\x07'),
        'b' => Esc::Char('\x08'),
        'f' => Esc::Char('\x0c'),
        'n' => Esc::Char('\n'),
        'r' => Esc::Char('\r'),
        't' => Esc::Char('\t'),
        'v' => Esc::Char('\x0b'),
        '\\' => Esc::Char('\\'),
        'x' => {
            let v = hex(chars, 2)?;
            if v < 0x80 {
                Esc::Char(char::from(v as u8))
            } else {
                Esc::Byte(v as u8)
            }
        }
        'u' => Esc::Char(char::from_u32(hex(chars, 4)?).ok_or_else(bad)?),
        'U' => Esc::Char(char::from_u32(hex(chars, 8)?).ok_or_else(bad)?),
        '0'..='7' => {
            let mut v = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                v = v * 8 + d;
            }
            if v > 255 {
                return Err(bad());
            }
            if v < 0x80 {
                Esc::Char(char::from(v as u8))
            } else {
                Esc::Byte(v as u8)
            }
        }
        c if c == quote => Esc::Char(c),
        _ => return Err(bad()),
    };
    Ok((e, ()))
}

/// Parses a number token the way Go's `parse.newNumber` does.
fn parse_number(text: &str, typ: Tok) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        float: None,
        is_uint: false,
        is_char: false,
        complex: None,
    };
    if typ == Tok::CharConstant {
        let inner = &text[1..];
        let mut chars = inner.chars().peekable();
        let c = chars.next().ok_or("invalid syntax")?;
        let v = if c == '\\' {
            match unescape(&mut chars, '\'')
                .map_err(|_| "invalid syntax".to_string())?
                .0
            {
                Esc::Char(c) => c as u32,
                Esc::Byte(b) => u32::from(b),
            }
        } else {
            c as u32
        };
        let tail: String = chars.collect();
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        n.int = Some(i64::from(v));
        n.float = Some(f64::from(v));
        n.is_char = true;
        return Ok(n);
    }
    if typ == Tok::Complex {
        let parts =
            split_complex(text).ok_or_else(|| format!("expected complex number: {text}"))?;
        return Ok(simplify_complex(n, parts));
    }
    if let Some(im) = text.strip_suffix('i').and_then(parse_go_float) {
        return Ok(simplify_complex(n, (0.0, im)));
    }
    let uint = parse_go_uint(text);
    let int = parse_go_int(text);
    if let Some(i) = int {
        n.int = Some(i);
        n.float = Some(i as f64);
    } else if let Some(u) = uint {
        n.is_uint = true;
        n.float = Some(u as f64);
    } else {
        let f = parse_go_float(text);
        if let Some(f) = f {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", go_quote(text)));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
        }
    }
    if n.int.is_none() && n.float.is_none() && !n.is_uint {
        return Err(format!("illegal number syntax: {}", go_quote(text)));
    }
    Ok(n)
}

/// The real and imaginary parts of a complex constant such as `1+2i` or `-1.5e3-2i`.
fn split_complex(text: &str) -> Option<(f64, f64)> {
    let body = text.strip_suffix('i')?;
    let b = body.as_bytes();
    let k = (1..b.len())
        .rev()
        .find(|&i| matches!(b[i], b'+' | b'-') && !matches!(b[i - 1], b'e' | b'E' | b'p' | b'P'))?;
    Some((parse_go_float(&body[..k])?, parse_go_float(&body[k..])?))
}

/// Go's `simplifyComplex`: a complex constant with no imaginary part is also a float, and an
/// int when integral.
fn simplify_complex(mut n: Number, (re, im): (f64, f64)) -> Number {
    n.complex = Some((re, im));
    if im == 0.0 {
        n.float = Some(re);
        if re.fract() == 0.0 && re.abs() < 9.2e18 {
            n.int = Some(re as i64);
        }
    }
    n
}

/// Go's `strconv.ParseUint(s, 0, 64)`: base prefixes, legacy octal and underscores.
fn parse_go_uint(s: &str) -> Option<u64> {
    let (radix, digits, prefixed) =
        if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            (16, r, true)
        } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
            (8, r, true)
        } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
            (2, r, true)
        } else if s.len() > 1 && s.starts_with('0') {
            (8, &s[1..], true)
        } else {
            (10, s, false)
        };
    if digits.is_empty() {
        return None;
    }
    if digits.contains('_') && !underscore_ok(s, prefixed) {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    u64::from_str_radix(&clean, radix).ok()
}

/// Go's underscore rule: only between digits, or after a base prefix.
fn underscore_ok(s: &str, prefixed: bool) -> bool {
    let b = s.as_bytes();
    let mut prev = if prefixed { b'0' } else { b'!' };
    let start = if prefixed && b.len() > 1 && b[1].is_ascii_alphabetic() {
        2
    } else {
        0
    };
    if start == 2 {
        prev = b'_';
        prev = if prev == b'_' { b'0' } else { prev };
    }
    for &c in &b[start..] {
        if c == b'_' {
            if !(prev.is_ascii_hexdigit()) {
                return false;
            }
        } else if prev == b'_' && !c.is_ascii_hexdigit() {
            return false;
        }
        prev = c;
    }
    prev != b'_'
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if u <= i64::MAX as u64 {
        Some(u as i64)
    } else {
        None
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(h)?
    } else {
        if body.is_empty()
            || !body
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_float(h: &str) -> Option<f64> {
    let (mant, exp) = match h.find(['p', 'P']) {
        Some(i) => (&h[..i], h[i + 1..].parse::<i32>().ok()?),
        None => (h, 0),
    };
    let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    for c in ip.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in fp.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Keeps the parsed trees of a set by name.
pub(crate) type TreeMap = HashMap<String, Arc<Tree>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<Tree>, String> {
        parse("t", s, &|n| n == "printf" || n == "include").map_err(|e| e.0)
    }

    #[test]
    fn round_trips_actions() {
        let t = p(
            "a{{if .x}}b{{else if .y}}c{{else}}d{{end}}{{ $v := printf \"%d\" 3 | printf \"%s\" }}",
        )
        .unwrap();
        assert_eq!(
            t[0].root.to_string(),
            "a{{if .x}}b{{else}}{{if .y}}c{{else}}d{{end}}{{end}}{{$v := printf \"%d\" 3 | printf \"%s\"}}"
        );
    }

    #[test]
    fn defines_are_separate_trees() {
        let t = p("{{define \"a\"}}A{{end}}x{{block \"b\" .}}B{{end}}").unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b", "t"]);
    }

    #[test]
    fn errors_match_go() {
        assert_eq!(
            p("\n{{ foo }}").unwrap_err(),
            "template: t:2: function \"foo\" not defined"
        );
        assert_eq!(
            p("{{ $x }}").unwrap_err(),
            "template: t:1: undefined variable \"$x\""
        );
        assert_eq!(
            p("{{ if .x }}").unwrap_err(),
            "template: t:1: unexpected EOF"
        );
        assert_eq!(
            p("{{ end }}").unwrap_err(),
            "template: t:1: unexpected {{end}}"
        );
        assert_eq!(
            p("{{ break }}").unwrap_err(),
            "template: t:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            p("{{ . | 3 }}").unwrap_err(),
            "template: t:1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            p("{{ 'ab' }}").unwrap_err(),
            "template: t:1: malformed character constant: 'ab'"
        );
        assert_eq!(
            p("{{ 99999999999999999999 }}").unwrap_err(),
            "template: t:1: integer overflow: \"99999999999999999999\""
        );
    }

    #[test]
    fn numbers() {
        let n = parse_number("0x1F", Tok::Number).unwrap();
        assert_eq!(n.int, Some(31));
        let n = parse_number("1_000", Tok::Number).unwrap();
        assert_eq!(n.int, Some(1000));
        let n = parse_number("0o17", Tok::Number).unwrap();
        assert_eq!(n.int, Some(15));
        let n = parse_number("017", Tok::Number).unwrap();
        assert_eq!(n.int, Some(15));
        let n = parse_number("1e3", Tok::Number).unwrap();
        assert_eq!(n.float, Some(1000.0));
        let n = parse_number("'a'", Tok::CharConstant).unwrap();
        assert_eq!(n.int, Some(97));
        let n = parse_number("'\\n'", Tok::CharConstant).unwrap();
        assert_eq!(n.int, Some(10));
    }
}
