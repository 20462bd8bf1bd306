//! Helm's `strvals` parser for `--set`, `--set-string`, `--set-file`, `--set-json` and
//! `--set-literal`: `a.b=c,d[0]=e,f={x,y}` with `\` escapes, list indexes and type inference.

use crate::value::{Map, Value};

/// How values on the right of `=` are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--set`: `true`/`false`/`null`, int64 integers (no leading zero), else strings.
    Typed,
    /// `--set-string`: always strings.
    String,
    /// `--set-file`: the value is a path whose contents become the string value.
    File,
    /// `--set-json`: each value is one JSON document (numbers become float64, as Go decodes
    /// them); an empty value is null.
    Json,
    /// `--set-literal`: no escapes and no list syntax; everything after the first `=` is the
    /// string value, commas included.
    Literal,
}

/// Helm's `MaxNestedNameLevel`.
const MAX_NESTED_NAME_LEVEL: usize = 30;

enum Stop {
    Eof,
    Char(char),
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode,
    _lt: std::marker::PhantomData<&'a ()>,
}

type R<T> = Result<T, ParseErr>;

enum ParseErr {
    Eof,
    NotList,
    Msg(String),
}

fn msg(s: impl Into<String>) -> ParseErr {
    ParseErr::Msg(s.into())
}

/// Parses one expression and merges it into `dest`.
pub fn parse_into(s: &str, dest: &mut Map, mode: Mode) -> Result<(), String> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        mode,
        _lt: std::marker::PhantomData,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(ParseErr::Eof) => return Ok(()),
            Err(ParseErr::NotList) => return Err("not a list".into()),
            Err(ParseErr::Msg(m)) => return Err(m),
        }
    }
}

impl Parser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    fn runes_until(&mut self, stop: &[char]) -> (String, Stop) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, Stop::Eof),
                Some(c) if stop.contains(&c) => return (v, Stop::Char(c)),
                Some('\\') if self.mode != Mode::Literal => match self.read() {
                    None => return (v, Stop::Eof),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn reader(&self, rs: &str) -> R<Value> {
        match self.mode {
            Mode::String => Ok(Value::String(rs.to_string())),
            Mode::Typed => Ok(typed_val(rs)),
            // Not reached: JSON and literal values are read whole by `special_value`.
            Mode::Json | Mode::Literal => Ok(Value::String(rs.to_string())),
            Mode::File => super::read_value_source(rs)
                .map(|b| Value::String(String::from_utf8_lossy(&b).into_owned()))
                .map_err(msg),
        }
    }

    /// For `--set-json` and `--set-literal`, reads the value after `=`; `None` for the other
    /// modes. A literal value is the rest of the input; a JSON value is one document, then
    /// blanks and a comma are skipped.
    fn special_value(&mut self) -> Option<R<Value>> {
        match self.mode {
            Mode::Literal => {
                let rest: String = self.chars[self.pos..].iter().collect();
                self.pos = self.chars.len();
                Some(Ok(Value::String(rest)))
            }
            Mode::Json => Some(self.json_value()),
            _ => None,
        }
    }

    /// Go's `emptyVal`: skips blanks; true at the end or after a comma (which it consumes).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    fn json_value(&mut self) -> R<Value> {
        if self.empty_val() {
            return Ok(Value::Nil);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        let v = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(msg(e.to_string())),
            None => return Err(msg("unexpected end of JSON input")),
        };
        let used = rest[..stream.byte_offset()].chars().count();
        self.pos += used;
        self.empty_val();
        Ok(crate::funcs::json_to_value(v))
    }

    fn key(&mut self, data: &mut Map, mut level: usize) -> R<()> {
        let stops: &[char] = if self.mode == Mode::Literal {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.runes_until(stops);
        match last {
            Stop::Eof => {
                if k.is_empty() {
                    Err(ParseErr::Eof)
                } else {
                    Err(msg(format!("key {k:?} has no value")))
                }
            }
            Stop::Char('[') => {
                let i = self
                    .key_index()
                    .map_err(|e| wrap("error parsing index", e))?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.clone(),
                    Some(other) => {
                        return Err(msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        )));
                    }
                };
                let (list, res) = self.list_item(list, i, level);
                set(data, &k, Value::List(list));
                res
            }
            Stop::Char('=') if self.mode == Mode::Json || self.mode == Mode::Literal => {
                let v = self.special_value().unwrap_or(Ok(Value::Nil))?;
                set(data, &k, v);
                Ok(())
            }
            Stop::Char('=') => match self.val_list() {
                Ok(vl) => {
                    set(data, &k, Value::List(vl));
                    Ok(())
                }
                Err(ParseErr::Eof) => {
                    set(data, &k, Value::String(String::new()));
                    Err(ParseErr::Eof)
                }
                // Helm returns the reader's error here, never the end of input: the next key
                // finds that. (Returning it would make an enclosing `a[0].b=1` drop the item.)
                Err(ParseErr::NotList) => {
                    let (rs, _) = self.runes_until(&[',']);
                    let v = self.reader(&rs)?;
                    set(data, &k, v);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Stop::Char(',') => {
                set(data, &k, Value::String(String::new()));
                Err(msg(format!("key {k:?} has no value (cannot end with ,)")))
            }
            Stop::Char(_) => {
                // '.'
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Map(m)) => m.clone(),
                    Some(other) => {
                        return Err(msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        )));
                    }
                };
                let e = self.key(&mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return Err(msg(format!("key map {k:?} has no value")));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Map(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> R<i64> {
        let (v, last) = self.runes_until(&[']']);
        if matches!(last, Stop::Eof) {
            return Err(ParseErr::Eof);
        }
        v.parse::<i64>().map_err(|_| {
            let digits = v.strip_prefix(['+', '-']).unwrap_or(&v);
            let why = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            msg(format!(
                "strconv.Atoi: parsing {}: {why}",
                crate::template::format::go_quote(&v)
            ))
        })
    }

    fn list_item(&mut self, list: Vec<Value>, i: i64, level: usize) -> (Vec<Value>, R<()>) {
        if i < 0 {
            return (list, Err(msg(format!("negative {i} index not allowed"))));
        }
        let i = i as usize;
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Err(msg(format!(
                    "unexpected data at end of array index: {}",
                    go_quote_runes(&k)
                ))),
            );
        }
        match last {
            Stop::Eof => (list, Err(ParseErr::Eof)),
            Stop::Char('=') if self.mode == Mode::Json || self.mode == Mode::Literal => {
                match self.special_value().unwrap_or(Ok(Value::Nil)) {
                    Ok(v) => set_index(list, i, v),
                    Err(e) => (list, Err(e)),
                }
            }
            // Unlike a key's, an item's empty value at the end of input is no error.
            Stop::Char('=') => match self.val_list() {
                Ok(vl) => set_index(list, i, Value::List(vl)),
                Err(ParseErr::Eof) => set_index(list, i, Value::String(String::new())),
                Err(ParseErr::NotList) => {
                    let (rs, _) = self.runes_until(&[',']);
                    match self.reader(&rs) {
                        Ok(v) => set_index(list, i, v),
                        Err(e) => (list, Err(e)),
                    }
                }
                Err(e) => (list, Err(e)),
            },
            Stop::Char('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(wrap("error parsing index", e))),
                };
                let crt = match list.get(i) {
                    Some(Value::List(l)) => l.clone(),
                    None | Some(Value::Nil) => Vec::new(),
                    Some(other) => {
                        let e = msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        ));
                        return (list, Err(e));
                    }
                };
                let (l2, res) = self.list_item(crt, next, level);
                if let Err(e) = res {
                    // Go changed the item's backing array in place: what was set inside its
                    // length stays, even though the error drops the rest.
                    let mut list = list;
                    if let Some(item @ Value::List(_)) = list.get_mut(i) {
                        *item = Value::List(l2);
                    }
                    return (list, Err(e));
                }
                set_index(list, i, Value::List(l2))
            }
            Stop::Char(_) => {
                let mut inner = match list.get(i) {
                    Some(Value::Map(m)) => m.clone(),
                    _ => Map::new(),
                };
                let res = self.key(&mut inner, level);
                if let Err(e) = res {
                    // Go put the map into the existing item before recursing (replacing a
                    // non-map), and filled it in place: that stays despite the error (the end
                    // of input after `x=` is one).
                    let mut list = list;
                    if let Some(item) = list.get_mut(i) {
                        *item = Value::Map(inner);
                    }
                    return (list, Err(e));
                }
                set_index(list, i, Value::Map(inner))
            }
        }
    }

    fn val_list(&mut self) -> R<Vec<Value>> {
        match self.read() {
            None => return Err(ParseErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(ParseErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                Stop::Eof => return Err(msg("list must terminate with '}'")),
                Stop::Char('}') => {
                    match self.read() {
                        Some(',') | None => {}
                        Some(_) => self.unread(),
                    }
                    list.push(self.reader(&rs)?);
                    return Ok(list);
                }
                Stop::Char(_) => list.push(self.reader(&rs)?),
            }
        }
    }
}

fn wrap(prefix: &str, e: ParseErr) -> ParseErr {
    match e {
        ParseErr::Msg(m) => msg(format!("{prefix}: {m}")),
        ParseErr::Eof => msg(format!("{prefix}: EOF")),
        ParseErr::NotList => msg(format!("{prefix}: not a list")),
    }
}

/// Go's `%q` of a `[]rune`: `['a' 'b']`.
fn go_quote_runes(s: &str) -> String {
    let runes: Vec<String> = s
        .chars()
        .map(|c| {
            let q = crate::template::format::go_quote(&c.to_string());
            let inner = &q[1..q.len() - 1];
            match inner {
                "\\\"" => "'\"'".to_string(),
                "'" => "'\\''".to_string(),
                _ => format!("'{inner}'"),
            }
        })
        .collect();
    format!("[{}]", runes.join(" "))
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::Bool(_) => "bool",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        Value::Nil => "nil",
        Value::Object(_) => "object",
    }
}

fn set(data: &mut Map, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

/// Helm's largest list index in `--set` (`MaxIndex`).
const MAX_INDEX: usize = 65536;

/// Helm's `setIndex`: the list grown with nils as needed, or its error past [`MAX_INDEX`].
fn set_index(mut list: Vec<Value>, i: usize, v: Value) -> (Vec<Value>, R<()>) {
    if i > MAX_INDEX {
        return (
            list,
            Err(msg(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            ))),
        );
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
    (list, Ok(()))
}

/// Helm's `typedVal` for `--set`.
pub fn typed_val(s: &str) -> Value {
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if s == "0" {
        return Value::Int64(0);
    }
    if !s.is_empty() && !s.starts_with('0') {
        let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(i) = s.parse::<i64>() {
                return Value::Int64(i);
            }
        }
    }
    Value::String(s.to_string())
}
