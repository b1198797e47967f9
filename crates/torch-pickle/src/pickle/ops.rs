//! The opcode loop: one arm per pickle opcode (protocols 0–5).

use super::{Node, Parser, Use, Value};
use crate::error::Result;

impl Parser<'_> {
    pub(super) fn run(&mut self) -> Result<()> {
        loop {
            self.charge(1)?;
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
                    // Python: a quoted repr, `codecs.escape_decode`d, then decoded (torch.load
                    // passes encoding='utf-8').
                    let l = self.line_bytes()?;
                    let v = super::text::quoted_string(l).or_else(|e| self.err(e))?;
                    let v = self.string(&v)?;
                    self.push(v);
                }
                b'V' => {
                    // Python: raw-unicode-escape (`\uXXXX`, `\UXXXXXXXX`; other bytes latin-1).
                    let l = self.line_bytes()?;
                    let v = super::text::raw_unicode_escape(l).or_else(|e| self.err(e))?;
                    self.charge(v.len() / 16)?;
                    self.push(Value::Str(v.into()));
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
                    self.set_items(self.out.nodes.len() - 1, items)?;
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
                    let v = self.global(module, name)?;
                    self.push(v);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(m), Value::Str(n)) = (module, name) else {
                        return self.err("STACK_GLOBAL needs two strings");
                    };
                    let v = self.global(&m, &n)?;
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
                    self.record_use(&cls, Use::Instantiated);
                    let args = self.tuple_items(&args)?;
                    let v = self.object(&cls, args);
                    self.push(v);
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return self.err("OBJ without a class");
                    }
                    let cls = items.remove(0);
                    self.record_use(&cls, Use::Called);
                    let v = self.object(&cls, items);
                    self.push(v);
                }
                b'i' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    let args = self.pop_mark()?;
                    let cls = self.global(&module, &name)?;
                    self.record_use(&cls, Use::Called);
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
}
