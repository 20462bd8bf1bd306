//! The template executor: walks parsed trees over a [`Value`], following Go's `text/template`
//! evaluation rules (truth, nil handling, missing keys, argument typing) and error messages.
//!
//! Data is borrowed, not cloned: a field chain such as `.Values.a.b` yields a reference into
//! the caller's value; only values that functions build are owned.

use std::collections::HashMap;
use std::sync::Arc;

use super::format::{self, type_name};
use super::parse::{Arg, Command, Control, List, Node, Number, Pipe, Tree, TreeMap};
use super::{Error, MissingKey, TemplateSet};
use crate::funcs::{self, FuncDef, Imp, P};
use crate::value::{SharedMap, Value, has_shared, materialize, share};

/// Go `nil` stored in an `interface{}` slot, referenced when a missing key yields a zero value.
pub(crate) static NIL: Value = Value::Nil;

/// A value flowing through execution: borrowed from the data or owned, and whether it sits in
/// an `interface{}` slot (a map or list element), which changes how Go treats nil and names
/// its type in errors.
#[derive(Clone, Debug)]
pub struct V<'a> {
    val: Val<'a>,
    /// True for a map/list element before a pipeline unwraps it (Go's `reflect.Interface` kind).
    iface: bool,
}

#[derive(Clone, Debug)]
enum Val<'a> {
    Ref(&'a Value),
    /// An owned value shared by reference count, and the path to the part this names: taking
    /// a field of an owned map is then as cheap as of a borrowed one.
    Own(Arc<Value>, Vec<Step>),
}

/// One step into an owned value.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The part of `root` at `path` (which was checked when it was built).
fn resolve<'v>(root: &'v Value, path: &[Step]) -> &'v Value {
    let mut cur = root;
    for s in path {
        cur = match (cur, s) {
            (Value::Map(m), Step::Key(k)) => m.get(k).unwrap_or(&NIL),
            (Value::List(l), Step::Index(i)) => l.get(*i).unwrap_or(&NIL),
            _ => &NIL,
        };
    }
    cur
}

impl<'a> V<'a> {
    /// An owned, concrete value (a function result or a literal). Its maps become
    /// [`SharedMap`]s: Go maps are references.
    pub fn own(v: Value) -> Self {
        V {
            val: Val::Own(Arc::new(share(v)), Vec::new()),
            iface: false,
        }
    }
    /// A borrowed element of a map or list.
    pub fn elem(v: &'a Value) -> Self {
        V {
            val: Val::Ref(v),
            iface: true,
        }
    }
    fn invalid() -> Self {
        V::own(Value::Nil)
    }
    /// The value.
    pub fn get(&self) -> &Value {
        match &self.val {
            Val::Ref(r) => r,
            Val::Own(root, path) => resolve(root, path),
        }
    }
    /// The value, owned (cloning a borrowed or shared one).
    pub fn into_value(self) -> Value {
        match self.val {
            Val::Ref(r) => r.clone(),
            Val::Own(root, path) if path.is_empty() => {
                Arc::try_unwrap(root).unwrap_or_else(|shared| (*shared).clone())
            }
            Val::Own(root, path) => resolve(&root, &path).clone(),
        }
    }
    /// Go's unwrapping of an `interface{}` result at the end of a pipeline stage.
    fn unwrap_iface(self) -> Self {
        V {
            val: self.val,
            iface: false,
        }
    }
    /// Whether this is Go's invalid (untyped nil) value rather than nil in an interface slot.
    pub(crate) fn is_untyped_nil(&self) -> bool {
        !self.iface && matches!(self.get(), Value::Nil)
    }
    /// The Go type as `reflect.Value.Type()` names it.
    fn go_type(&self) -> String {
        if self.iface {
            "interface {}".to_string()
        } else {
            type_name(self.get())
        }
    }
    /// A child of this value (an element of its map or list) without copying it.
    fn child(&self, step: Step) -> V<'a> {
        if let (Some(sm), Step::Key(k)) = (self.get().as_shared_map(), &step) {
            return own_elem(sm.get(k).unwrap_or(Value::Nil));
        }
        match &self.val {
            Val::Ref(r) => {
                let r: &'a Value = r;
                V::elem(resolve(r, std::slice::from_ref(&step)))
            }
            Val::Own(root, path) => {
                let mut p = path.clone();
                p.push(step);
                V {
                    val: Val::Own(root.clone(), p),
                    iface: true,
                }
            }
        }
    }
    /// Element `i` of a list (the caller checked the bounds), borrowing when the list is borrowed.
    pub fn list_elem(self, i: usize) -> V<'a> {
        match self.get() {
            Value::List(l) if i < l.len() => self.child(Step::Index(i)),
            _ => V::invalid(),
        }
    }
    /// The value of key `k` of a map, or nil when absent, borrowing when the map is borrowed.
    pub fn map_elem(self, k: &str) -> V<'a> {
        self.map_get(k)
            .map(|v| v.unwrap_iface())
            .unwrap_or_else(V::invalid)
    }
    /// Looks up a map key, borrowing when the map is borrowed.
    fn map_get(self, key: &str) -> Option<V<'a>> {
        if let Some(sm) = self.get().as_shared_map() {
            return sm.get(key).map(own_elem);
        }
        match self.get() {
            Value::Map(m) if m.contains_key(key) => Some(self.child(Step::Key(key.to_string()))),
            _ => None,
        }
    }
}

/// Go's truth: false for nil, false, zero numbers and empty strings, lists and maps.
pub(crate) fn is_true(v: &Value) -> bool {
    match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Int(i) | Value::Int64(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::Object(o) => match o.as_shared_map() {
            Some(sm) => !sm.is_empty(),
            None => o
                .truth()
                .unwrap_or_else(|| o.entries().is_none_or(|e| !e.is_empty())),
        },
    }
}

/// Execution state shared by a template and everything it includes.
pub(crate) struct Shared<'s> {
    pub set: &'s TemplateSet,
    /// Templates defined by `tpl` strings being executed, innermost last.
    pub overlays: Vec<Arc<TreeMap>>,
    /// Nesting count per included template name (Helm's recursion guard).
    pub include_counts: HashMap<String, usize>,
    /// Nesting depth of template invocations.
    pub depth: usize,
}

/// Helm's limit on nested `include`s of one name.
const MAX_INCLUDE: usize = 1000;
/// Go's limit on nested template invocations.
const MAX_EXEC_DEPTH: usize = 100_000;
/// How many nested invocations run on one thread stack before continuing on a fresh thread.
const DEPTH_PER_STACK: usize = 64;
const STACK_SIZE: usize = 64 << 20;

impl<'s> Shared<'s> {
    pub fn new(set: &'s TemplateSet) -> Self {
        Shared {
            set,
            overlays: Vec::new(),
            include_counts: HashMap::new(),
            depth: 0,
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Arc<Tree>> {
        for o in self.overlays.iter().rev() {
            if let Some(t) = o.get(name) {
                return Some(t.clone());
            }
        }
        self.set.trees.get(name).cloned()
    }

    /// Executes `tree` with `dot`, appending to `out`.
    pub fn run<'a>(&mut self, tree: &Tree, dot: V<'a>, out: &mut String) -> Result<(), Error> {
        if self.depth > 0 && self.depth % DEPTH_PER_STACK == 0 {
            // Deep include chains would overflow the stack; continue on a thread with a large one.
            return std::thread::scope(|sc| {
                let handle = std::thread::Builder::new()
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(sc, || self.run_here(tree, dot, out));
                match handle {
                    Ok(h) => h.join().unwrap_or_else(|_| {
                        Err(Error::Internal("template thread panicked".into()))
                    }),
                    Err(e) => Err(Error::Internal(format!(
                        "cannot start template thread: {e}"
                    ))),
                }
            });
        }
        self.run_here(tree, dot, out)
    }

    fn run_here<'a>(&mut self, tree: &Tree, dot: V<'a>, out: &mut String) -> Result<(), Error> {
        self.depth += 1;
        let mut st = State {
            tree,
            node: Ctx::None,
            vars: vec![("$", dot.clone())],
            sh: self,
        };
        let r = st.walk_list(&dot, &tree.root, out).map(|_| ());
        self.depth -= 1;
        r
    }

    /// Helm's `include`: executes the named template and returns its output.
    pub fn include<'a>(&mut self, name: &str, dot: V<'a>) -> Result<String, String> {
        let count = self.include_counts.entry(name.to_string()).or_insert(0);
        if *count > MAX_INCLUDE {
            return Err(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            ));
        }
        *count += 1;
        let r = match self.lookup(name) {
            None => Err(format!(
                "template: no template {} associated with template {}",
                format::go_quote(name),
                format::go_quote(&self.set.root_name)
            )),
            Some(tree) => {
                let mut out = String::new();
                self.run(&tree, dot, &mut out)
                    .map(|_| crate::value::regroup(out))
                    .map_err(|e| e.to_string())
            }
        };
        if let Some(c) = self.include_counts.get_mut(name) {
            *c -= 1;
        }
        r
    }

    /// Helm's `tpl`: parses `text` as a template in the context of the set and executes it.
    pub fn tpl<'a>(&mut self, text: &str, dot: V<'a>) -> Result<String, String> {
        let root = self.set.root_name.clone();
        let trees = super::parse::parse(&root, text, &|n| funcs::lookup(n).is_some())
            .map_err(|e| format!("cannot parse template {}: {}", format::go_quote(text), e.0))?;
        let mut map = TreeMap::new();
        for t in trees {
            map.insert(t.name.clone(), Arc::new(t));
        }
        let Some(top) = map.get(&root).cloned() else {
            return Ok(String::new());
        };
        self.overlays.push(Arc::new(map));
        let mut out = String::new();
        let r = self.run(&top, dot, &mut out);
        self.overlays.pop();
        r.map_err(|e| match e {
            // A panic skips tpl's own wrapping: only the function call around it recovers.
            Error::Panic(text) => text,
            e => format!(
                "error during tpl function execution for {}: {e}",
                format::go_quote(text)
            ),
        })?;
        Ok(out.replace("<no value>", ""))
    }
}

/// The node execution is at, for error context.
#[derive(Clone, Copy)]
enum Ctx<'t> {
    None,
    Arg(&'t Arg),
    Cmd(&'t Command),
    Pipe(&'t Pipe),
    Node(&'t Node),
}

impl Ctx<'_> {
    fn pos(&self) -> usize {
        match self {
            Ctx::None => 0,
            Ctx::Arg(a) => a.pos(),
            Ctx::Cmd(c) => c.pos,
            Ctx::Pipe(p) => p.pos,
            Ctx::Node(n) => match n {
                Node::If(c) | Node::Range(c) | Node::With(c) => c.pos,
                Node::Action(p) => p.pos,
                Node::Template { pos, .. } | Node::Break { pos } | Node::Continue { pos } => *pos,
                Node::Text(_) => 0,
            },
        }
    }
    fn text(&self) -> String {
        match self {
            Ctx::None => String::new(),
            Ctx::Arg(a) => a.to_string(),
            Ctx::Cmd(c) => c.to_string(),
            Ctx::Pipe(p) => p.to_string(),
            Ctx::Node(n) => n.to_string(),
        }
    }
}

/// How a walk ended: normally, or by `{{break}}`/`{{continue}}`.
#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

struct State<'t, 'a, 'x, 's> {
    tree: &'t Tree,
    node: Ctx<'t>,
    vars: Vec<(&'t str, V<'a>)>,
    sh: &'x mut Shared<'s>,
}

type R<T> = Result<T, Error>;

impl<'t, 'a> State<'t, 'a, '_, '_> {
    fn at(&mut self, c: Ctx<'t>) {
        self.node = c;
    }

    fn errorf(&self, msg: impl Into<String>) -> Error {
        let msg = msg.into();
        let name = self.tree.name.clone();
        if let Ctx::None = self.node {
            return Error::Exec {
                template: name.clone(),
                message: format!("template: {name}: {msg}"),
            };
        }
        let location = self.tree.location(self.node.pos());
        let context = self.node.text();
        Error::Exec {
            template: name.clone(),
            message: format!(
                "template: {location}: executing {} at <{context}>: {msg}",
                format::go_quote(&name)
            ),
        }
    }

    fn var_value(&self, name: &str) -> R<V<'a>> {
        for (n, v) in self.vars.iter().rev() {
            if *n == name {
                return Ok(v.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_var(&mut self, name: &str, v: V<'a>) -> R<()> {
        for (n, slot) in self.vars.iter_mut().rev() {
            if *n == name {
                *slot = v;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn walk_list(&mut self, dot: &V<'a>, list: &'t List, out: &mut String) -> R<Flow> {
        for n in &list.nodes {
            let f = self.walk(dot, n, out)?;
            if f != Flow::Normal {
                return Ok(f);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &V<'a>, node: &'t Node, out: &mut String) -> R<Flow> {
        self.at(Ctx::Node(node));
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe, pipe.decl.is_empty())?;
                if pipe.decl.is_empty() {
                    self.at(Ctx::Node(node));
                    print_value(out, v.get()).map_err(|e| self.errorf(e))?;
                }
            }
            Node::If(c) => return self.walk_if_with(false, dot, c, out),
            Node::With(c) => return self.walk_if_with(true, dot, c, out),
            Node::Range(c) => return self.walk_range(dot, c, node, out),
            Node::Template { name, pipe, .. } => {
                let Some(tree) = self.sh.lookup(name) else {
                    return Err(
                        self.errorf(format!("template {} not defined", format::go_quote(name)))
                    );
                };
                if self.sh.depth >= MAX_EXEC_DEPTH {
                    return Err(self.errorf(format!(
                        "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p, true)?,
                    None => V::invalid(),
                };
                self.sh.run(&tree, new_dot, out)?;
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(
        &mut self,
        with: bool,
        dot: &V<'a>,
        c: &'t Control,
        out: &mut String,
    ) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &c.pipe, true)?;
        let truth = is_true(val.get());
        let r = if truth {
            if with {
                self.walk_list(&val, &c.list, out)
            } else {
                self.walk_list(dot, &c.list, out)
            }
        } else if let Some(e) = &c.else_list {
            self.walk_list(dot, e, out)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(
        &mut self,
        dot: &V<'a>,
        c: &'t Control,
        node: &'t Node,
        out: &mut String,
    ) -> R<Flow> {
        self.at(Ctx::Node(node));
        let outer = self.vars.len();
        let val = self.eval_pipeline(dot, &c.pipe, true)?;
        let mark = self.vars.len();
        let ndecl = c.pipe.decl.len();
        let mut ran = false;
        let mut res = Ok(());
        // One iteration: set the loop variables, walk the body, drop its variables.
        macro_rules! iteration {
            ($idx:expr, $elem:expr) => {{
                ran = true;
                let elem: V<'a> = $elem;
                if ndecl > 0 {
                    self.vars[mark - 1].1 = elem.clone();
                }
                if ndecl > 1 {
                    self.vars[mark - 2].1 = $idx;
                }
                let f = self.walk_list(&elem, &c.list, out);
                self.vars.truncate(mark);
                match f {
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                    Ok(Flow::Break) => break,
                    Ok(_) => {}
                }
            }};
        }
        let object_entries = match val.get() {
            Value::Object(o) if o.as_shared_map().is_none() => o.entries(),
            _ => None,
        };
        // Elements of a slice or map with a concrete element type (`[]string`, `[]int`,
        // `map[string]string`, `chartutil.VersionSet`, `[]byte`) are of that type, not
        // `interface {}`, as Go's errors name them.
        let concrete = match val.get() {
            Value::Object(o) => match (o.as_shared_map(), o.typed_list()) {
                (Some(sm), _) => sm.is_string_map(),
                (None, Some(t)) => t.type_name != "[]interface {}",
                (None, None) => true,
            },
            _ => false,
        };
        let elem_of = |x: Value| if concrete { V::own(x) } else { own_elem(x) };
        if let Some(sm) = val.get().as_shared_map() {
            // Go sorts the keys first and reads each value when its turn comes.
            for k in sm.keys() {
                let elem = sm.get(&k).unwrap_or(Value::Nil);
                iteration!(V::own(Value::String(k)), elem_of(elem));
            }
        } else if let Some(entries) = object_entries {
            for (k, x) in entries {
                iteration!(V::own(k), elem_of(x));
            }
        } else {
            match val.get() {
                Value::List(l) => {
                    for i in 0..l.len() {
                        iteration!(V::own(Value::Int(i as i64)), val.child(Step::Index(i)));
                    }
                }
                Value::Map(m) => {
                    for k in m.keys() {
                        iteration!(
                            V::own(Value::String(k.clone())),
                            val.child(Step::Key(k.clone()))
                        );
                    }
                }
                Value::Nil => {}
                other => {
                    let shown = format::sprint_value(other);
                    self.vars.truncate(outer);
                    return Err(self.errorf(format!("range can't iterate over {shown}")));
                }
            }
        }
        if let Err(e) = res {
            self.vars.truncate(outer);
            return Err(e);
        }
        let r = if !ran {
            match &c.else_list {
                Some(e) => self.walk_list(dot, e, out).map(|f| {
                    if f == Flow::Continue || f == Flow::Break {
                        f
                    } else {
                        Flow::Normal
                    }
                }),
                None => Ok(Flow::Normal),
            }
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(outer);
        r
    }

    /// Evaluates a pipeline; declared variables are pushed (or assigned). `need` says whether
    /// the caller uses the value when variables are declared (to avoid a clone otherwise).
    fn eval_pipeline(&mut self, dot: &V<'a>, pipe: &'t Pipe, need: bool) -> R<V<'a>> {
        self.at(Ctx::Pipe(pipe));
        let mut value: Option<V<'a>> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.unwrap_iface());
        }
        let value = value.unwrap_or_else(V::invalid);
        if pipe.decl.is_empty() {
            return Ok(value);
        }
        let ret = if need { value.clone() } else { V::invalid() };
        for name in &pipe.decl {
            let v = value.clone();
            if pipe.is_assign {
                self.set_var(name, v)?;
            } else {
                self.vars.push((name.as_str(), v));
            }
        }
        Ok(ret)
    }

    fn not_a_function(&self, args: &'t [Arg], final_: &Option<V<'a>>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V<'a>, cmd: &'t Command, final_: Option<V<'a>>) -> R<V<'a>> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at(Ctx::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, final_);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, final_),
            Arg::Identifier { name, .. } => {
                self.at(Ctx::Arg(first));
                return self.eval_function(dot, name, Ctx::Cmd(cmd), &cmd.args[1..], final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, p, true);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, final_),
            _ => {}
        }
        self.at(Ctx::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(V::own(Value::Bool(*val))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number { num, .. } => self.ideal_constant(num),
            Arg::String { text, .. } => Ok(V::own(Value::String(text.clone()))),
            other => Err(self.errorf(format!(
                "can't evaluate command {}",
                format::go_quote(&other.to_string())
            ))),
        }
    }

    fn ideal_constant(&self, num: &Number) -> R<V<'a>> {
        if let Some((re, im)) = num.complex {
            return Ok(V::own(crate::value::GoComplex::value(re, im)));
        }
        let is_hex_int = num.text.len() > 2
            && num.text.starts_with('0')
            && matches!(num.text.as_bytes()[1], b'x' | b'X')
            && !num.text.contains(['p', 'P']);
        if num.float.is_some()
            && !is_hex_int
            && !num.is_char
            && num.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(V::own(Value::Float(num.float.unwrap_or(0.0))));
        }
        if let Some(i) = num.int {
            return Ok(V::own(Value::Int(i)));
        }
        if num.is_uint {
            return Err(self.errorf(format!("{} overflows int", num.text)));
        }
        Ok(V::invalid())
    }

    fn eval_variable(
        &mut self,
        dot: &V<'a>,
        arg: &'t Arg,
        args: &'t [Arg],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        self.at(Ctx::Arg(arg));
        let Arg::Variable { idents, .. } = arg else {
            return Ok(V::invalid());
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            if !args.is_empty() {
                self.not_a_function(args, &final_)?;
            } else if final_.is_some() {
                return Err(self.errorf(format!("can't give argument to non-function {arg}")));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, arg, &idents[1..], args, final_)
    }

    fn eval_chain(
        &mut self,
        dot: &V<'a>,
        arg: &'t Arg,
        args: &'t [Arg],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        self.at(Ctx::Arg(arg));
        let Arg::Chain { node, fields, .. } = arg else {
            return Ok(V::invalid());
        };
        if let Arg::Nil { .. } = **node {
            return Err(self.errorf(format!("indirection through explicit nil in {arg}")));
        }
        let recv = self.eval_arg(dot, P::Any, node)?;
        self.eval_field_chain(dot, recv, arg, fields, args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V<'a>,
        mut recv: V<'a>,
        node: &'t Arg,
        idents: &'t [String],
        args: &'t [Arg],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        let n = idents.len();
        for id in &idents[..n - 1] {
            recv = self.eval_field(dot, id, node, &[], None, recv)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, final_, recv)
    }

    /// `args` includes the field itself as its first element when called from a command.
    fn eval_field(
        &mut self,
        dot: &V<'a>,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        final_: Option<V<'a>>,
        recv: V<'a>,
    ) -> R<V<'a>> {
        let has_args = args.len() > 1 || final_.is_some();
        if matches!(recv.get(), Value::Nil) {
            if recv.iface {
                return Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}")));
            }
            if self.sh.set.missing_key == MissingKey::Error {
                return Err(self.errorf(format!(
                    "nil data; no entry for key {}",
                    format::go_quote(name)
                )));
            }
            return Ok(V::invalid());
        }
        if let Value::Object(o) = recv.get() {
            if let Some(sig) = o.method_sig(name) {
                // Go looks methods up before fields and map keys.
                let o = o.clone();
                return self.eval_method(dot, o, name, sig, node, args, final_);
            }
        }
        match recv.get() {
            v if v.is_map() => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                match recv.map_get(name) {
                    Some(v) => Ok(v),
                    None => match self.sh.set.missing_key {
                        MissingKey::Invalid => Ok(V::invalid()),
                        MissingKey::Zero => Ok(V::elem(&NIL)),
                        MissingKey::Error => Err(self.errorf(format!(
                            "map has no entry for key {}",
                            format::go_quote(name)
                        ))),
                    },
                }
            }
            Value::Object(o) => {
                let o = o.clone();
                if let Some(e) = o.member_error(name) {
                    return Err(self.errorf(e));
                }
                if let Some(v) = o.field(name) {
                    if !has_args {
                        return Ok(V::own(v));
                    }
                    return Err(self.errorf(format!(
                        "{name} has arguments but cannot be invoked as function"
                    )));
                }
                let mut vals = Vec::new();
                for a in args.iter().skip(1) {
                    vals.push(self.eval_arg(dot, P::Any, a)?.into_value());
                }
                if let Some(f) = final_ {
                    vals.push(f.into_value());
                }
                match o.call(name, &vals) {
                    Some(Ok(v)) => Ok(V::own(v)),
                    Some(Err(e)) => {
                        self.at(Ctx::Arg(node));
                        Err(self.errorf(format!("error calling {name}: {e}")))
                    }
                    None => {
                        if has_args && o.field(name).is_some() {
                            return Err(self.errorf(format!(
                                "{name} has arguments but cannot be invoked as function"
                            )));
                        }
                        Err(self.errorf(format!(
                            "can't evaluate field {name} in type {}",
                            recv.go_type()
                        )))
                    }
                }
            }
            _ => Err(self.errorf(format!(
                "can't evaluate field {name} in type {}",
                recv.go_type()
            ))),
        }
    }

    /// Go's `evalCall` for a method of a host object: arity and argument types are checked as
    /// for a function, then the method runs.
    #[allow(clippy::too_many_arguments)]
    fn eval_method(
        &mut self,
        dot: &V<'a>,
        o: Arc<dyn crate::value::Object>,
        name: &str,
        sig: &str,
        node: &'t Arg,
        args: &'t [Arg],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        let params: Vec<P> = sig.chars().map(P::from_sig).collect();
        let given = args.len().saturating_sub(1) + usize::from(final_.is_some());
        if given != params.len() {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {} got {given}",
                params.len()
            )));
        }
        if let Some(e) = o.member_error(name) {
            return Err(self.errorf(e));
        }
        let special = o.method_arg_type(name);
        let mut vals = Vec::with_capacity(given);
        for (i, a) in args.iter().skip(1).enumerate() {
            let v = match special {
                Some(t) if params[i] == P::Any => self.eval_special_arg(dot, a, t)?,
                _ => self.eval_arg(dot, params[i], a)?,
            };
            vals.push(v.into_value());
        }
        if let Some(f) = final_ {
            let p = params[given - 1];
            let v = match special {
                Some(t) if p == P::Any && !matches!(f.get(), Value::Nil) => {
                    return Err(self.errorf(format!(
                        "wrong type for value; expected {t}; got {}",
                        type_name(f.get())
                    )));
                }
                _ => self.validate(f, p)?,
            };
            vals.push(v.into_value());
        }
        match o.call(name, &vals) {
            Some(Ok(v)) => Ok(V::own(v)),
            Some(Err(e)) => {
                self.at(Ctx::Arg(node));
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
            None => Err(self.errorf(format!(
                "can't evaluate field {name} in type {}",
                o.type_name()
            ))),
        }
    }

    /// An argument for a parameter of an interface type with methods (such as `io.Writer`),
    /// which no template value implements: only nil passes.
    fn eval_special_arg(&mut self, dot: &V<'a>, a: &'t Arg, t: &str) -> R<V<'a>> {
        self.at(Ctx::Arg(a));
        match a {
            Arg::Nil { .. } => Ok(V::invalid()),
            Arg::Bool { .. } | Arg::Number { .. } | Arg::String { .. } => {
                Err(self.errorf(format!("can't handle {a} for arg of type {t}")))
            }
            _ => {
                let v = self.eval_arg(dot, P::Any, a)?;
                if matches!(v.get(), Value::Nil) {
                    return Ok(v);
                }
                Err(self.errorf(format!(
                    "wrong type for value; expected {t}; got {}",
                    type_name(v.get())
                )))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &V<'a>,
        name: &str,
        node: Ctx<'t>,
        args: &'t [Arg],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        let Some(def) = funcs::lookup(name) else {
            return Err(self.errorf(format!(
                "{} is not a defined function",
                format::go_quote(name)
            )));
        };
        self.eval_call(dot, def, node, name, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &V<'a>,
        def: &FuncDef,
        node: Ctx<'t>,
        name: &str,
        args: &'t [Arg],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = def.params.len();
        if def.variadic.is_some() {
            if num_in < fixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != fixed {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
        }
        let param = |i: usize| -> P {
            if i < fixed {
                def.params[i]
            } else {
                def.variadic.unwrap_or(P::Any)
            }
        };
        // `and` and `or` evaluate their arguments lazily and return one of them.
        if matches!(def.imp, Imp::And | Imp::Or) {
            let want = matches!(def.imp, Imp::Or);
            let mut v = V::invalid();
            for a in args {
                v = self.eval_arg(dot, P::Any, a)?.unwrap_iface();
                if is_true(v.get()) == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut argv: Vec<V<'a>> = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param(i), a)?);
        }
        if let Some(f) = final_ {
            let v = self.validate(f, param(num_in - 1))?;
            argv.push(v);
        }
        if matches!(def.imp, Imp::Call) {
            return Err(self.call_error(node, args, &argv));
        }
        // An index into a map keeps its type: Go checks it against the key type.
        let keyed = argv.first().is_some_and(|c| c.get().is_map());
        if let Some(from) = def.by_kind.filter(|f| *f == 0 || !keyed) {
            for v in argv.iter_mut().skip(from) {
                if let Some(n) = v.get().as_go_int() {
                    *v = V::own(n);
                }
            }
        }
        let result = match def.imp {
            Imp::Plain(f) if !def.shared && argv.iter().any(|v| has_shared(v.get())) => {
                // Functions that do not keep Go's map references get plain copies.
                let plain: Vec<Value> = argv
                    .iter()
                    .map(|v| materialize(v.get()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| {
                        self.at(node);
                        self.errorf(format!("error calling {name}: {e}"))
                    })?;
                let refs: Vec<&Value> = plain.iter().collect();
                f(&refs).map(V::own)
            }
            Imp::Plain(f) => {
                let refs: Vec<&Value> = argv.iter().map(V::get).collect();
                f(&refs).map(V::own)
            }
            Imp::Ctx(f) => f(&mut *self.sh, argv),
            Imp::And | Imp::Or | Imp::Call => Ok(V::invalid()),
        };
        match result {
            Ok(v) => {
                if let Value::String(s) = v.get() {
                    if crate::value::has_raw_bytes(s) {
                        // Raw bytes that now form UTF-8 (pieces of a character joined) are
                        // that character, as in Go's byte strings.
                        return Ok(V::own(Value::String(crate::value::regroup(s.clone()))));
                    }
                }
                if matches!(v.get(), Value::Nil) {
                    // A nil result is an interface{} holding nil until a pipeline unwraps it.
                    return Ok(V::elem(&NIL));
                }
                Ok(v.unwrap_iface())
            }
            Err(e) => {
                self.at(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    /// What the builtin `call` does with its evaluated arguments here, where no value is a
    /// function: Go names the callee by its first argument's source text (`non-function
    /// .Values.a of type float64`), and indexes that argument even when `call` is piped with
    /// none, a runtime panic Helm reports as a failed render.
    fn call_error(&mut self, node: Ctx<'t>, args: &'t [Arg], argv: &[V<'a>]) -> Error {
        let Some(callee) = args.first() else {
            return Error::Panic("runtime error: index out of range [0] with length 0".into());
        };
        let text = match argv.first().map(V::get) {
            None | Some(Value::Nil) => "call of nil".to_string(),
            Some(v) => format!("non-function {callee} of type {}", type_name(v)),
        };
        self.at(node);
        self.errorf(format!("error calling call: {text}"))
    }

    /// Go's `validateType`: checks a computed value against a parameter type.
    fn validate(&self, v: V<'a>, p: P) -> R<V<'a>> {
        if p == P::Any {
            return Ok(v);
        }
        let ok = matches!(
            (p, v.get()),
            (P::Str, Value::String(_))
                | (P::Int, Value::Int(_))
                | (P::Float, Value::Float(_))
                | (P::Bool, Value::Bool(_))
                | (P::Map, Value::Map(_))
                | (P::List, Value::List(_))
        ) || (p == P::Map && v.get().as_shared_map().is_some_and(|m| !m.is_string_map()))
            || go_type_param(p)
                .is_some_and(|t| matches!(v.get(), Value::Object(o) if o.type_name() == t));
        if ok {
            if p == P::Map {
                if let Value::Object(o) = v.get() {
                    if o.named_map().is_some() {
                        // Go converts a named map type to the parameter's unnamed one.
                        return Ok(V::own(v.get().unnamed()));
                    }
                }
            }
            return Ok(v.unwrap_iface());
        }
        if matches!(v.get(), Value::Nil) {
            if v.iface {
                if matches!(p, P::Map | P::List) {
                    return Err(self.errorf(format!(
                        "wrong type for value; expected {}; got interface {{}}",
                        p.go_name()
                    )));
                }
            } else if p == P::Location {
                // A nil pointer.
                return Ok(V::invalid());
            } else if matches!(p, P::Map | P::List) {
                // An untyped nil becomes the zero value of a nillable type.
                return Ok(V::own(if p == P::Map {
                    Value::Object(SharedMap::nil_map())
                } else {
                    Value::List(vec![])
                }));
            } else {
                return Err(self.errorf(format!("invalid value; expected {}", p.go_name())));
            }
        }
        Err(self.errorf(format!(
            "wrong type for value; expected {}; got {}",
            p.go_name(),
            if matches!(v.get(), Value::Nil) {
                "interface {}".to_string()
            } else {
                type_name(v.get())
            }
        )))
    }

    fn eval_arg(&mut self, dot: &V<'a>, p: P, n: &'t Arg) -> R<V<'a>> {
        self.at(Ctx::Arg(n));
        match n {
            Arg::Dot { .. } => return self.validate(dot.clone(), p),
            Arg::Nil { .. } => {
                if p == P::Map {
                    return Ok(V::own(Value::Object(SharedMap::nil_map())));
                }
                if matches!(p, P::Any | P::List | P::Location) {
                    return Ok(V::invalid());
                }
                return Err(self.errorf(format!("cannot assign nil to {}", p.go_name())));
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    idents,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(v, p);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, n, &[], None)?;
                return self.validate(v, p);
            }
            Arg::Pipe(pipe) => {
                let v = self.eval_pipeline(dot, pipe, true)?;
                return self.validate(v, p);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, name, Ctx::Arg(n), &[], None)?;
                return self.validate(v, p);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, &[], None)?;
                return self.validate(v, p);
            }
            _ => {}
        }
        match (p, n) {
            (P::Bool, Arg::Bool { val, .. }) => Ok(V::own(Value::Bool(*val))),
            (P::Bool, _) => Err(self.errorf(format!("expected bool; found {n}"))),
            (P::Float, Arg::Number { num, .. }) if num.float.is_some() => {
                Ok(V::own(Value::Float(num.float.unwrap_or(0.0))))
            }
            (P::Float, _) => Err(self.errorf(format!("expected float; found {n}"))),
            (P::Int | P::Duration, Arg::Number { num, .. }) if num.int.is_some() => {
                Ok(V::own(Value::Int(num.int.unwrap_or(0))))
            }
            (P::Int | P::Duration, _) => Err(self.errorf(format!("expected integer; found {n}"))),
            // Go's SetUint keeps the low bits of a constant too big for the type.
            (P::Uint32, Arg::Number { num, .. }) if num.int.is_some_and(|i| i >= 0) => {
                Ok(V::own(Value::Int(i64::from(num.int.unwrap_or(0) as u32))))
            }
            (P::Uint32, Arg::Number { num, .. }) if num.is_uint => Ok(V::own(Value::Int(
                i64::from(num.float.unwrap_or(0.0) as u64 as u32),
            ))),
            (P::Uint32, _) => Err(self.errorf(format!("expected unsigned integer; found {n}"))),
            (P::Str, Arg::String { text, .. }) => Ok(V::own(Value::String(text.clone()))),
            (P::Str, _) => Err(self.errorf(format!("expected string; found {n}"))),
            (P::Any, Arg::Bool { val, .. }) => Ok(V::own(Value::Bool(*val))),
            (P::Any, Arg::Number { num, .. }) => self.ideal_constant(num),
            (P::Any, Arg::String { text, .. }) => Ok(V::own(Value::String(text.clone()))),
            _ => Err(self.errorf(format!("can't handle {n} for arg of type {}", p.go_name()))),
        }
    }
}

/// The Go type a parameter of a host type (`time.Time`, `time.Duration`, `*time.Location`)
/// accepts: only objects of that type name pass `validate`.
fn go_type_param(p: P) -> Option<&'static str> {
    matches!(p, P::Time | P::Duration | P::Location).then(|| p.go_name())
}

fn own_elem<'a>(v: Value) -> V<'a> {
    V {
        val: Val::Own(Arc::new(share(v)), Vec::new()),
        iface: true,
    }
}

/// Go's printing of an action's value: `<no value>` for nil, `%v` otherwise.
fn print_value(out: &mut String, v: &Value) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::String(s) => out.push_str(s),
        Value::Object(o) if o.as_shared_map().is_none() && o.typed_list().is_none() => {
            out.push_str(&o.print())
        }
        other if has_shared(other) => format::write_v(out, &materialize(other)?),
        other => format::write_v(out, other),
    }
    Ok(())
}
