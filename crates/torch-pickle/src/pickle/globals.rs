//! What REDUCE, NEWOBJ, BUILD and persistent ids mean here: a few globals interpreted, every
//! other one recorded as an inert object. Nothing is ever called.

use super::{Node, NodeId, Parser, Value};
use crate::error::Result;
use crate::tensor::{DType, StorageRef, TensorRef};

impl Parser<'_> {
    pub(super) fn tuple_items(&self, v: &Value) -> Vec<Value> {
        match v {
            Value::Node(id) => match &self.out.nodes[*id] {
                Node::Tuple(items) | Node::List(items) => items.clone(),
                _ => vec![v.clone()],
            },
            Value::None => vec![],
            other => vec![other.clone()],
        }
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
    pub(super) fn reduce(&mut self, func: Value, args: Value) -> Result<Value> {
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

    pub(super) fn int_list(&self, v: &Value, what: &str) -> Result<Vec<u64>> {
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
    pub(super) fn build(&mut self, id: NodeId, state: Value) -> Result<()> {
        if let Node::Object { state: slot, .. } = &mut self.out.nodes[id] {
            *slot = Some(state);
        }
        Ok(())
    }
}
