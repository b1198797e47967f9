//! What REDUCE, NEWOBJ, BUILD and persistent ids mean here: a few globals interpreted, every
//! other one recorded as an inert object. Nothing is ever called.

use super::{Node, NodeId, Parser, Use, Value};
use crate::error::Result;
use crate::tensor::{DType, StorageRef, TensorRef};

impl Parser<'_> {
    /// The items of a tuple or list value (copied, and counted against the work budget).
    pub(super) fn tuple_items(&mut self, v: &Value) -> Result<Vec<Value>> {
        let items = match v {
            Value::Node(id) => match &self.out.nodes[*id] {
                Node::Tuple(items) | Node::List(items) => items.clone(),
                _ => vec![v.clone()],
            },
            Value::None => vec![],
            other => vec![other.clone()],
        };
        self.charge(items.len())?;
        Ok(items)
    }

    pub(super) fn global_name(&self, v: &Value) -> Option<(String, String)> {
        match v {
            Value::Node(id) => match &self.out.nodes[*id] {
                Node::Global(m, n) => Some((m.clone(), n.clone())),
                _ => None,
            },
            _ => None,
        }
    }

    /// An inert instance of `cls` (whatever it is) with constructor `args`.
    pub(super) fn object(&mut self, cls: &Value, args: Vec<Value>) -> Value {
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
    /// `_rebuild_from_type_v2(func, type, args, state)` is unwrapped in a loop, however deeply
    /// it nests.
    pub(super) fn reduce(&mut self, mut func: Value, args: Value) -> Result<Value> {
        let mut items = self.tuple_items(&args)?;
        while self
            .global_name(&func)
            .as_ref()
            .map(|(m, n)| (m.as_str(), n.as_str()))
            == Some(("torch._tensor", "_rebuild_from_type_v2"))
            && items.len() >= 3
        {
            self.record_use(&func, Use::Called);
            let inner_args = items[2].clone();
            func = items[0].clone();
            items = self.tuple_items(&inner_args)?;
        }
        self.record_use(&func, Use::Called);
        let Some((module, name)) = self.global_name(&func) else {
            return Ok(self.object(&func, items));
        };
        Ok(match (module.as_str(), name.as_str()) {
            ("collections", "OrderedDict") | ("builtins", "dict") => {
                let v = self.node(Node::Dict(vec![]));
                if let (Some(Value::Node(src)), Value::Node(id)) = (items.first(), &v) {
                    let listed = match &self.out.nodes[*src] {
                        Node::List(l) => l.clone(),
                        _ => vec![],
                    };
                    self.charge(listed.len())?;
                    let mut pairs = Vec::new();
                    for p in &listed {
                        pairs.extend(self.tuple_items(p)?);
                    }
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
            ("torch", "Size") | ("builtins", "tuple") => {
                let inner = match items.first() {
                    Some(v) => self.tuple_items(v)?,
                    None => vec![],
                };
                self.node(Node::Tuple(inner))
            }
            ("builtins", "set" | "frozenset") => {
                let inner = match items.first() {
                    Some(v) => self.tuple_items(v)?,
                    None => vec![],
                };
                self.node(Node::Set(inner))
            }
            ("_codecs", "encode") => match items.first() {
                // bytes pickled at protocol 2 by Python 3: latin-1 code points are the bytes.
                Some(Value::Str(s)) => {
                    let s = s.clone();
                    self.charge(s.len() / 16)?;
                    Value::Bytes(
                        s.chars()
                            .map(|c| c as u32 as u8)
                            .collect::<Vec<u8>>()
                            .into(),
                    )
                }
                _ => self.object(&func, items),
            },
            ("copyreg", "_reconstructor") => {
                let cls = items.first().cloned().unwrap_or(Value::None);
                self.record_use(&cls, Use::Instantiated);
                self.object(&cls, vec![])
            }
            _ => self.object(&func, items),
        })
    }

    pub(super) fn int_list(&mut self, v: &Value, what: &str) -> Result<Vec<u64>> {
        self.tuple_items(v)?
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
    pub(super) fn tensor(&mut self, items: &[Value]) -> Result<Value> {
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
    pub(super) fn persistent(&mut self, pid: Value) -> Result<Value> {
        let items = self.tuple_items(&pid)?;
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
    pub(super) fn build(&mut self, id: NodeId, state: Value) -> Result<()> {
        if let Node::Object { state: slot, .. } = &mut self.out.nodes[id] {
            *slot = Some(state);
        }
        Ok(())
    }
}
