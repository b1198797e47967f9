//! A restricted unpickler that **never executes anything**.
//!
//! It understands the opcodes of pickle protocols 0–5 that carry data. Globals are never
//! imported or called: a handful that `torch.save` uses are *interpreted* (`OrderedDict`,
//! `_rebuild_tensor_v2`, `_rebuild_parameter`, `torch.Size`, `_codecs.encode`, `set`, …), and
//! every other one becomes an inert named [`Node::Object`] whose REDUCE / NEWOBJ / BUILD /
//! SETITEMS / APPENDS are recorded as data. `os.system` is just a name here.
//!
//! Objects live in an arena ([`Pickle::nodes`]) and are referred to by index, so memo
//! references share instead of copying, and the parser is iterative (no recursion on nesting).
//! Every length read from the stream is checked against the bytes that remain, and the work of
//! copying values (a memoised tuple handed to a million REDUCEs, a "billion laughs") is counted
//! against a budget proportional to the input ([`work_limit`]), so memory stays bounded too.

mod globals;
mod ops;
mod text;

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::tensor::{StorageRef, TensorRef};

/// Index of a [`Node`] in [`Pickle::nodes`].
pub type NodeId = usize;

/// A value on the pickle stack: a scalar, or a reference to an arena node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer that does not (its little-endian two's-complement bytes).
    BigInt(Rc<[u8]>),
    /// A float.
    Float(f64),
    /// A `str`.
    Str(Rc<str>),
    /// `bytes` / `bytearray`.
    Bytes(Rc<[u8]>),
    /// Anything with identity: containers, globals, objects, tensors.
    Node(NodeId),
}

/// An object with identity.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `tuple` (also `torch.Size`).
    Tuple(Vec<Value>),
    /// `list`.
    List(Vec<Value>),
    /// `dict` or `collections.OrderedDict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// `set` / `frozenset`.
    Set(Vec<Value>),
    /// A global reference (`module.name`), never imported.
    Global(String, String),
    /// An instance of a class this reader does not interpret, recorded as data.
    Object {
        /// `(module, name)` of its class.
        class: (String, String),
        /// Constructor arguments (REDUCE / NEWOBJ).
        args: Vec<Value>,
        /// BUILD state (usually the `__dict__`).
        state: Option<Value>,
        /// Items APPENDed to it.
        items: Vec<Value>,
        /// Items SETITEM'd on it.
        dict_items: Vec<(Value, Value)>,
    },
    /// A storage named by a persistent id.
    Storage(StorageRef),
    /// A tensor (or parameter) view of a storage.
    Tensor(TensorRef),
}

/// How a pickle uses a global (what `torch.load(weights_only=False)` would do with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Use {
    /// Named (GLOBAL / STACK_GLOBAL): Python imports its module.
    Named,
    /// Called with arguments (REDUCE, OBJ, INST): Python runs it.
    Called,
    /// Instantiated without `__init__` (NEWOBJ, `copyreg._reconstructor`), as whole pickled
    /// `nn.Module`s are.
    Instantiated,
}

/// A parsed pickle: the arena, the root value, and every global it named.
#[derive(Debug, Default)]
pub struct Pickle {
    /// All objects.
    pub nodes: Vec<Node>,
    /// The value STOP returned.
    pub root: Option<Value>,
    /// Every global referenced, in order of appearance (for reports: nothing was called).
    /// Module names are normalised as Python 3 reads protocol-2 pickles (`__builtin__` →
    /// `builtins`, `copy_reg` → `copyreg`).
    pub globals: Vec<(String, String)>,
    /// Every use of a global beyond naming it: `(module, name, use)`.
    pub uses: Vec<(String, String, Use)>,
}

/// The most value copies a pickle of `len` bytes may cause: 8 per input byte, plus 1 Mi.
pub fn work_limit(len: usize) -> u64 {
    (len as u64).saturating_mul(8).saturating_add(1 << 20)
}

/// Python 3's names for the modules of protocol-2 pickles (a subset of `_compat_pickle`).
fn python3_module(module: &str) -> &str {
    match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "commands" => "subprocess",
        other => other,
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    out: Pickle,
    work: u64,
    limit: u64,
}

/// Parse a pickle stream.
pub fn parse(data: &[u8]) -> Result<Pickle> {
    let mut p = Parser {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        out: Pickle::default(),
        work: 0,
        limit: work_limit(data.len()),
    };
    p.run()?;
    Ok(p.out)
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(Error::Pickle(msg.into(), self.pos))
    }

    /// Count `n` units of work (values copied or moved); refuse past the budget.
    fn charge(&mut self, n: usize) -> Result<()> {
        self.work = self.work.saturating_add(n as u64);
        if self.work > self.limit {
            return Err(Error::Limit(format!(
                "pickle: more than {} value copies for a {}-byte stream (a \"billion laughs\" expansion?)",
                self.limit,
                self.data.len()
            )));
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.pos.checked_add(n).filter(|&e| e <= self.data.len()) {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => self.err(format!(
                "truncated: {n} more bytes announced, {} left",
                self.data.len() - self.pos
            )),
        }
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn len32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.le()?) as usize)
    }

    fn len64(&mut self) -> Result<usize> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).or_else(|_| self.err("length does not fit in memory"))
    }

    fn line_bytes(&mut self) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("unterminated text line");
        };
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("unterminated text line");
        };
        let line =
            std::str::from_utf8(&rest[..n]).or_else(|_| self.err("text line is not UTF-8"))?;
        self.pos += n + 1;
        Ok(line)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn node(&mut self, n: Node) -> Value {
        self.out.nodes.push(n);
        Value::Node(self.out.nodes.len() - 1)
    }

    fn pop(&mut self) -> Result<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        match self.stack.pop() {
            Some(v) if self.stack.len() >= floor => Ok(v),
            Some(v) => {
                self.stack.push(v);
                self.err("stack underflow")
            }
            None => self.err("stack underflow"),
        }
    }

    fn top_id(&self) -> Result<NodeId> {
        match self.stack.last() {
            Some(Value::Node(id)) => Ok(*id),
            _ => self.err("expected an object on the stack"),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let Some(m) = self.marks.pop() else {
            return self.err("no MARK on the stack");
        };
        self.charge(self.stack.len().saturating_sub(m))?;
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&mut self, key: u64) -> Result<()> {
        match self.memo.get(&key) {
            Some(v) => {
                let v = v.clone();
                self.push(v);
                Ok(())
            }
            None => self.err(format!("memo reference {key} out of range")),
        }
    }

    fn memo_put(&mut self, key: u64) -> Result<()> {
        let Some(v) = self.stack.last().cloned() else {
            return self.err("PUT on an empty stack");
        };
        self.memo.insert(key, v);
        Ok(())
    }

    fn int_line(&mut self) -> Result<i64> {
        let l = self.line()?;
        l.trim_end_matches('L')
            .parse()
            .or_else(|_| self.err(format!("bad integer `{l}`")))
    }

    fn long(&mut self, bytes: &[u8]) -> Value {
        if bytes.len() <= 8 {
            let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut buf = [fill; 8];
            buf[..bytes.len()].copy_from_slice(bytes);
            Value::Int(i64::from_le_bytes(buf))
        } else {
            Value::BigInt(bytes.into())
        }
    }

    fn string(&mut self, bytes: &[u8]) -> Result<Value> {
        self.charge(bytes.len() / 16)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::Str(s.into())),
            Err(_) => self.err("string is not UTF-8"),
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Result<Value> {
        self.charge((module.len() + name.len()) / 16)?;
        let module = python3_module(module).to_string();
        self.out.globals.push((module.clone(), name.to_string()));
        Ok(self.node(Node::Global(module, name.to_string())))
    }

    /// Record how a global value is used (nothing for values that are not globals).
    fn record_use(&mut self, v: &Value, how: Use) {
        if let Some((module, name)) = self.global_name(v) {
            self.out.uses.push((module, name, how));
        }
    }

    fn add_items(&mut self, id: NodeId, items: Vec<Value>) -> Result<()> {
        self.charge(items.len())?;
        match &mut self.out.nodes[id] {
            Node::List(v) | Node::Set(v) => v.extend(items),
            Node::Object { items: v, .. } => v.extend(items),
            _ => return self.err("APPEND/ADDITEMS to a non-list"),
        }
        Ok(())
    }

    fn set_items(&mut self, id: NodeId, items: Vec<Value>) -> Result<()> {
        self.charge(items.len())?;
        if items.len() % 2 != 0 {
            return self.err("odd number of items for SETITEMS");
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        match &mut self.out.nodes[id] {
            // Repeated keys are kept; lookups search from the back, so the last wins as in Python.
            Node::Dict(d) => d.extend(pairs),
            Node::Object { dict_items, .. } => dict_items.extend(pairs),
            _ => return self.err("SETITEM on a non-dict"),
        }
        Ok(())
    }
}
