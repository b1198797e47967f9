//! A restricted unpickler that **never executes anything**.
//!
//! It understands the opcodes of pickle protocols 0–5 that carry data. Globals are never
//! imported or called: a handful that `torch.save` uses are *interpreted* (`OrderedDict`,
//! `_rebuild_tensor_v2`, `_rebuild_parameter`, `torch.Size`, `_codecs.encode`, `set`, …), and
//! every other one becomes an inert named [`Node::Object`] whose REDUCE / NEWOBJ / BUILD /
//! SETITEMS / APPENDS are recorded as data. `os.system` is just a name here.
//!
//! Objects live in an arena ([`Pickle::nodes`]) and are referred to by index, so memo
//! references share instead of copying (no exponential blow-up), and the parser is iterative
//! (no recursion on nesting). Every length read from the stream is checked against the bytes
//! that remain, so nothing is allocated beyond the input's size.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::tensor::{DType, StorageRef, TensorRef};

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

/// A parsed pickle: the arena, the root value, and every global it named.
#[derive(Debug, Default)]
pub struct Pickle {
    /// All objects.
    pub nodes: Vec<Node>,
    /// The value STOP returned.
    pub root: Option<Value>,
    /// Every global referenced, in order of appearance (for reports: nothing was called).
    pub globals: Vec<(String, String)>,
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    out: Pickle,
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
    };
    p.run()?;
    Ok(p.out)
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(Error::Pickle(msg.into(), self.pos))
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
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn len32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.le()?) as usize)
    }

    fn len64(&mut self) -> Result<usize> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).or_else(|_| self.err("length does not fit in memory"))
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
        if self.stack.len() <= floor {
            return self.err("stack underflow");
        }
        Ok(self.stack.pop().expect("checked"))
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
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::Str(s.into())),
            Err(_) => self.err("string is not UTF-8"),
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Value {
        self.out
            .globals
            .push((module.to_string(), name.to_string()));
        self.node(Node::Global(module.to_string(), name.to_string()))
    }

    fn add_items(&mut self, id: NodeId, items: Vec<Value>) -> Result<()> {
        match &mut self.out.nodes[id] {
            Node::List(v) | Node::Set(v) => v.extend(items),
            Node::Object { items: v, .. } => v.extend(items),
            _ => return self.err("APPEND/ADDITEMS to a non-list"),
        }
        Ok(())
    }

    fn set_items(&mut self, id: NodeId, items: Vec<Value>) -> Result<()> {
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

    fn run(&mut self) -> Result<()> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return self.err(format!("unsupported pickle protocol {proto}"));
                    }
                }
                0x95 => {
                    self.len64()?; // FRAME: a length hint only
                }
                b'.' => {
                    let root = self.pop()?;
                    self.out.root = Some(root);
                    return Ok(());
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let Some(v) = self.stack.last().cloned() else {
                        return self.err("DUP on an empty stack");
                    };
                    self.push(v);
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'I' => {
                    let l = self.line()?;
                    let v = match l {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        _ => Value::Int(l.parse().or_else(|_| self.err(format!("bad INT `{l}`")))?),
                    };
                    self.push(v);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.push(Value::Int(v.into()));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.push(Value::Int(v.into()));
                }
                b'L' => {
                    let v = self.int_line()?;
                    self.push(Value::Int(v));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    let v = self.long(b);
                    self.push(v);
                }
                0x8b => {
                    let n = self.len32()?;
                    let b = self.take(n)?;
                    let v = self.long(b);
                    self.push(v);
                }
                b'F' => {
                    let l = self.line()?;
                    let v = l
                        .parse()
                        .or_else(|_| self.err(format!("bad FLOAT `{l}`")))?;
                    self.push(Value::Float(v));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.le()?);
                    self.push(Value::Float(v));
                }
                b'S' => {
                    let l = self.line()?;
                    let s = l.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
                    self.push(Value::Str(s.into()));
                }
                b'V' => {
                    let l = self.line()?;
                    self.push(Value::Str(l.into()));
                }
                b'T' | b'U' | b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'U' | b'C' => self.u8()? as usize,
                        b'T' | b'B' => self.len32()?,
                        _ => self.len64()?,
                    };
                    let b = self.take(n)?;
                    // Python 2 `str` (T, U) read as bytes, as Python 3 does with encoding='bytes'.
                    self.push(Value::Bytes(b.into()));
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        0x8c => self.u8()? as usize,
                        b'X' => self.len32()?,
                        _ => self.len64()?,
                    };
                    let b = self.take(n)?;
                    let v = self.string(b)?;
                    self.push(v);
                }
                b')' => {
                    let v = self.node(Node::Tuple(vec![]));
                    self.push(v);
                }
                b't' => {
                    let items = self.pop_mark()?;
                    let v = self.node(Node::Tuple(items));
                    self.push(v);
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let v = self.node(Node::Tuple(items));
                    self.push(v);
                }
                b']' => {
                    let v = self.node(Node::List(vec![]));
                    self.push(v);
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let v = self.node(Node::List(items));
                    self.push(v);
                }
                b'}' => {
                    let v = self.node(Node::Dict(vec![]));
                    self.push(v);
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let v = self.node(Node::Dict(vec![]));
                    let Value::Node(id) = v else { unreachable!() };
                    self.set_items(id, items)?;
                    self.push(v);
                }
                0x8f => {
                    let v = self.node(Node::Set(vec![]));
                    self.push(v);
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    let v = self.node(Node::Set(items));
                    self.push(v);
                }
                b'a' => {
                    let v = self.pop()?;
                    let id = self.top_id()?;
                    self.add_items(id, vec![v])?;
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    let id = self.top_id()?;
                    self.add_items(id, items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let id = self.top_id()?;
                    self.set_items(id, vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let id = self.top_id()?;
                    self.set_items(id, items)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let v = self.global(module, name);
                    self.push(v);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(m), Value::Str(n)) = (module, name) else {
                        return self.err("STACK_GLOBAL needs two strings");
                    };
                    let v = self.global(&m, &n);
                    self.push(v);
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = self.reduce(func, args)?;
                    self.push(v);
                }
                0x81 | 0x92 => {
                    if op == 0x92 {
                        self.pop()?; // kwargs
                    }
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = self.object(&cls, self.tuple_items(&args));
                    self.push(v);
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return self.err("OBJ without a class");
                    }
                    let cls = items.remove(0);
                    let v = self.object(&cls, items);
                    self.push(v);
                }
                b'i' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    let args = self.pop_mark()?;
                    let cls = self.global(&module, &name);
                    let v = self.object(&cls, args);
                    self.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    let id = self.top_id()?;
                    self.build(id, state)?;
                }
                b'p' => {
                    let key = self.int_line()?;
                    self.memo_put(key as u64)?;
                }
                b'q' => {
                    let key = self.u8()?;
                    self.memo_put(key.into())?;
                }
                b'r' => {
                    let key = u32::from_le_bytes(self.le()?);
                    self.memo_put(key.into())?;
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.memo_put(key)?;
                }
                b'g' => {
                    let key = self.int_line()?;
                    self.memo_get(key as u64)?;
                }
                b'h' => {
                    let key = self.u8()?;
                    self.memo_get(key.into())?;
                }
                b'j' => {
                    let key = u32::from_le_bytes(self.le()?);
                    self.memo_get(key.into())?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent(pid)?;
                    self.push(v);
                }
                b'P' => {
                    let l = self.line()?.to_string();
                    let v = self.node(Node::Object {
                        class: ("persistent_id".into(), l),
                        args: vec![],
                        state: None,
                        items: vec![],
                        dict_items: vec![],
                    });
                    self.push(v);
                }
                0x82..=0x84 => {
                    return self.err("extension-registry opcodes (EXT1/2/4) are refused")
                }
                0x97 | 0x98 => return self.err("out-of-band buffers (protocol 5) are refused"),
                other => return self.err(format!("unknown opcode 0x{other:02x}")),
            }
        }
    }

    fn tuple_items(&self, v: &Value) -> Vec<Value> {
        match v {
            Value::Node(id) => match &self.out.nodes[*id] {
                Node::Tuple(items) | Node::List(items) => items.clone(),
                _ => vec![v.clone()],
            },
            Value::None => vec![],
            other => vec![other.clone()],
        }
    }

    fn global_name(&self, v: &Value) -> Option<(String, String)> {
        match v {
            Value::Node(id) => match &self.out.nodes[*id] {
                Node::Global(m, n) => Some((m.clone(), n.clone())),
                _ => None,
            },
            _ => None,
        }
    }

    /// An inert instance of `cls` (whatever it is) with constructor `args`.
    fn object(&mut self, cls: &Value, args: Vec<Value>) -> Value {
        let class = self
            .global_name(cls)
            .unwrap_or_else(|| ("?".into(), "?".into()));
        self.node(Node::Object {
            class,
            args,
            state: None,
            items: vec![],
            dict_items: vec![],
        })
    }

    /// REDUCE: interpret the few globals torch.save relies on; record everything else.
    fn reduce(&mut self, func: Value, args: Value) -> Result<Value> {
        let items = self.tuple_items(&args);
        let Some((module, name)) = self.global_name(&func) else {
            return Ok(self.object(&func, items));
        };
        Ok(match (module.as_str(), name.as_str()) {
            ("collections", "OrderedDict") | ("builtins", "dict") | ("__builtin__", "dict") => {
                let v = self.node(Node::Dict(vec![]));
                if let (Some(Value::Node(src)), Value::Node(id)) = (items.first(), &v) {
                    let pairs: Vec<Value> = match &self.out.nodes[*src] {
                        Node::List(l) => l.iter().flat_map(|p| self.tuple_items(p)).collect(),
                        _ => vec![],
                    };
                    self.set_items(*id, pairs)?;
                }
                v
            }
            ("torch._utils", "_rebuild_tensor_v2") | ("torch._utils", "_rebuild_tensor") => {
                self.tensor(&items)?
            }
            ("torch._utils", "_rebuild_parameter")
            | ("torch._utils", "_rebuild_parameter_with_state") => {
                items.first().cloned().unwrap_or(Value::None)
            }
            ("torch._tensor", "_rebuild_from_type_v2") if items.len() >= 3 => {
                let (f, a) = (items[0].clone(), items[2].clone());
                self.reduce(f, a)?
            }
            ("torch", "Size") | ("builtins", "tuple") | ("__builtin__", "tuple") => {
                let inner = items
                    .first()
                    .map(|v| self.tuple_items(v))
                    .unwrap_or_default();
                self.node(Node::Tuple(inner))
            }
            ("builtins" | "__builtin__", "set" | "frozenset") => {
                let inner = items
                    .first()
                    .map(|v| self.tuple_items(v))
                    .unwrap_or_default();
                self.node(Node::Set(inner))
            }
            ("_codecs", "encode") => match items.first() {
                // bytes pickled at protocol 2 by Python 3: latin-1 code points are the bytes.
                Some(Value::Str(s)) => Value::Bytes(
                    s.chars()
                        .map(|c| c as u32 as u8)
                        .collect::<Vec<u8>>()
                        .into(),
                ),
                _ => self.object(&func, items),
            },
            ("copyreg", "_reconstructor") | ("copy_reg", "_reconstructor") => {
                let cls = items.first().cloned().unwrap_or(Value::None);
                self.object(&cls, vec![])
            }
            _ => self.object(&func, items),
        })
    }

    fn int_list(&self, v: &Value, what: &str) -> Result<Vec<u64>> {
        self.tuple_items(v)
            .iter()
            .map(|x| match x {
                Value::Int(i) if *i >= 0 => Ok(*i as u64),
                _ => self.err(format!(
                    "tensor {what} is not a list of non-negative integers"
                )),
            })
            .collect()
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks, …)`.
    fn tensor(&mut self, items: &[Value]) -> Result<Value> {
        if items.len() < 4 {
            return self.err("_rebuild_tensor needs storage, offset, size, stride");
        }
        let storage = match &items[0] {
            Value::Node(id) => match &self.out.nodes[*id] {
                Node::Storage(s) => s.clone(),
                _ => return self.err("tensor storage is not a persistent storage"),
            },
            _ => return self.err("tensor storage is not a persistent storage"),
        };
        let Value::Int(offset) = items[1] else {
            return self.err("tensor offset is not an integer");
        };
        let offset = u64::try_from(offset).or_else(|_| self.err("negative tensor offset"))?;
        let shape = self.int_list(&items[2], "size")?;
        let stride = self.int_list(&items[3], "stride")?;
        if shape.len() != stride.len() {
            return self.err("tensor size and stride differ in length");
        }
        let requires_grad = matches!(items.get(4), Some(Value::Bool(true)));
        Ok(self.node(Node::Tensor(TensorRef {
            storage,
            offset,
            shape,
            stride,
            requires_grad,
        })))
    }

    /// `('storage', storage_type, key, location, numel)`.
    fn persistent(&mut self, pid: Value) -> Result<Value> {
        let items = self.tuple_items(&pid);
        match items.as_slice() {
            [Value::Str(tag), ty, Value::Str(key), _location, Value::Int(numel)] if &**tag == "storage" => {
                let ty = self.global_name(ty).map(|(_, n)| n).unwrap_or_default();
                let numel = u64::try_from(*numel).or_else(|_| self.err("negative storage size"))?;
                Ok(self.node(Node::Storage(StorageRef { key: key.to_string(), dtype: DType::from_storage(&ty), numel })))
            }
            _ => self.err("unsupported persistent id (expected torch.save's ('storage', type, key, location, numel))"),
        }
    }

    /// BUILD: set an object's state (its `__dict__`). On dicts it would set instance
    /// attributes, not items (a state_dict's `_metadata`), and on tensors a subclass's state:
    /// nothing this reader needs, so it is dropped there.
    fn build(&mut self, id: NodeId, state: Value) -> Result<()> {
        if let Node::Object { state: slot, .. } = &mut self.out.nodes[id] {
            *slot = Some(state);
        }
        Ok(())
    }
}
