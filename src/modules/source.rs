//! What a module's configuration is read from, besides self-describing metadata: a pickled
//! `nn.Module` (class, attributes, children, tensor shapes) or a plain state_dict's shapes plus
//! the assumptions a user states for what weights cannot tell.

use std::collections::BTreeMap;

use torch_pickle::walk::Module as PickledModule;
use torch_pickle::{Node, Pickle, TensorRef, Value};

use crate::error::{Error, Result};
use crate::nn::Act;

/// One line per default taken or assumption made while reading a configuration.
pub type Notes = Vec<String>;

/// The shape of every tensor of a state_dict, by key (relative to one module).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shapes(pub BTreeMap<String, Vec<i64>>);

impl Shapes {
    /// From `(key, shape)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, Vec<i64>)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// Whether the state_dict has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The shape of `key`.
    pub fn get(&self, key: &str) -> Option<&[i64]> {
        self.0.get(key).map(Vec::as_slice)
    }

    /// Size `axis` of `key`, or an error naming the tensor that is missing.
    pub fn dim(&self, key: &str, axis: usize) -> Result<i64> {
        self.get(key)
            .and_then(|s| s.get(axis).copied())
            .ok_or_else(|| {
                Error::Config(format!(
                    "no `{key}` tensor (of rank > {axis}) to size the module from"
                ))
            })
    }

    /// The shapes under `prefix.`, keys made relative.
    pub fn under(&self, prefix: &str) -> Shapes {
        let p = format!("{prefix}.");
        Shapes(
            self.0
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&p)?.to_string(), v.clone())))
                .collect(),
        )
    }
}

/// What a plain state_dict cannot say, stated by the user (or upstream's defaults, noted).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Assume {
    /// BatchNorm eps of every Conv [default 1e-5; ultralytics DetectionModels use 1e-3].
    pub bn_eps: Option<f64>,
    /// Activation of every Conv [default: SiLU; SPPF's cv1: Identity, as the current class].
    pub act: Option<Act>,
}

/// Reads the values of a tensor a pickle refers to (its storage), as f64.
pub type TensorReader<'p> = &'p dyn Fn(&TensorRef) -> Option<Vec<f64>>;

/// A pickled module seen through its class, attributes, children and tensor shapes.
#[derive(Clone)]
pub struct Pickled<'p> {
    module: PickledModule<'p>,
    pickle: &'p Pickle,
    shapes: Shapes,
    reader: Option<TensorReader<'p>>,
}

impl std::fmt::Debug for Pickled<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pickled({})", self.qualified())
    }
}

impl<'p> Pickled<'p> {
    /// A view of `module` whose state_dict has `shapes` (keys relative to it).
    pub fn new(pickle: &'p Pickle, module: PickledModule<'p>, shapes: Shapes) -> Self {
        Self {
            module,
            pickle,
            shapes,
            reader: None,
        }
    }

    /// The same view, able to read tensor attributes' values through `reader`.
    pub fn with_reader(mut self, reader: TensorReader<'p>) -> Self {
        self.reader = Some(reader);
        self
    }

    /// The values of a tensor attribute (such as a model's `stride`), when a reader was given.
    pub fn tensor_values(&self, name: &str) -> Option<Vec<f64>> {
        let t = self.pickle.tensor(self.attr(name)?)?;
        (self.reader?)(t)
    }

    /// How many items a dict, list or tuple attribute holds (checked before reading them).
    pub fn count(&self, name: &str) -> Option<usize> {
        let v = self.attr(name)?;
        if let Some(d) = self.pickle.dict(v) {
            return Some(d.len());
        }
        match self.pickle.node_of(v)? {
            Node::List(items) | Node::Tuple(items) => Some(items.len()),
            _ => None,
        }
    }

    /// The items of a list or tuple attribute, as JSON-like values (ints, floats, strings).
    pub fn list(&self, name: &str) -> Option<Vec<&'p Value>> {
        match self.pickle.node_of(self.attr(name)?)? {
            Node::List(items) | Node::Tuple(items) => Some(items.iter().collect()),
            _ => None,
        }
    }

    /// An attribute as JSON (dicts, lists, tuples, strings, numbers, bools, `None`; anything else
    /// described as text), at most `budget` values in all and 32 levels deep.
    pub fn json(&self, name: &str, budget: usize) -> Option<serde_json::Value> {
        let mut left = budget;
        Some(self.to_json(self.attr(name)?, &mut left, 0))
    }

    fn to_json(&self, v: &'p Value, left: &mut usize, depth: usize) -> serde_json::Value {
        use serde_json::Value as J;
        if *left == 0 || depth > 32 {
            return J::Null;
        }
        *left -= 1;
        match v {
            Value::None => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            other => match self.pickle.node_of(other) {
                Some(Node::List(items) | Node::Tuple(items)) => J::Array(
                    items
                        .iter()
                        .map(|i| self.to_json(i, left, depth + 1))
                        .collect(),
                ),
                Some(Node::Dict(pairs)) => J::Object(
                    pairs
                        .iter()
                        .map(|(k, v)| {
                            let key = match k {
                                Value::Str(s) => s.to_string(),
                                Value::Int(i) => i.to_string(),
                                other => self.pickle.describe(other),
                            };
                            (key, self.to_json(v, left, depth + 1))
                        })
                        .collect(),
                ),
                _ => J::String(self.pickle.describe(other)),
            },
        }
    }

    /// The string keys and values of a dict attribute (`names`), values described as text.
    pub fn str_dict(&self, name: &str) -> Option<Vec<(String, String)>> {
        let d = self.pickle.dict(self.attr(name)?)?;
        Some(
            d.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) => s.to_string(),
                        Value::Int(i) => i.to_string(),
                        other => self.pickle.describe(other),
                    };
                    let val = match v {
                        Value::Str(s) => s.to_string(),
                        other => self.pickle.describe(other),
                    };
                    (key, val)
                })
                .collect(),
        )
    }

    /// The class name without its module (`SPPF`).
    pub fn class(&self) -> &'p str {
        self.module.class.1
    }

    /// The qualified class name (`ultralytics.nn.modules.block.SPPF`).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.module.class.0, self.module.class.1)
    }

    /// The shapes of this module's state_dict.
    pub fn shapes(&self) -> &Shapes {
        &self.shapes
    }

    /// The underlying pickled module.
    pub fn module(&self) -> &PickledModule<'p> {
        &self.module
    }

    /// The pickle it lives in.
    pub fn pickle(&self) -> &'p Pickle {
        self.pickle
    }

    fn attr(&self, name: &str) -> Option<&'p Value> {
        self.module.attr(name)
    }

    /// An integer attribute (a bool counts; a tuple or list gives its first element, as
    /// PyTorch's `kernel_size=(5, 5)`).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.attr(name)? {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            v => match self.pickle.node_of(v)? {
                Node::Tuple(items) | Node::List(items) => match items.first()? {
                    Value::Int(i) => Some(*i),
                    _ => None,
                },
                _ => None,
            },
        }
    }

    /// A list or tuple of integers attribute.
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.pickle.node_of(self.attr(name)?)? {
            Node::List(items) | Node::Tuple(items) => items
                .iter()
                .map(|i| match i {
                    Value::Int(n) => Some(*n),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// An int-or-pair attribute (`kernel_size=3` or `(3, 2)`), as a pair.
    pub fn pair(&self, name: &str) -> Option<[i64; 2]> {
        match self.ints(name).as_deref() {
            Some([a, b]) => Some([*a, *b]),
            Some([a]) => Some([*a, *a]),
            Some(_) => None,
            None => self.int(name).map(|v| [v, v]),
        }
    }

    /// A float attribute (an int counts).
    pub fn float(&self, name: &str) -> Option<f64> {
        match self.attr(name)? {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// A bool attribute (an int counts: non-zero is true).
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.int(name).map(|v| v != 0)
    }

    /// A string attribute.
    pub fn str(&self, name: &str) -> Option<&'p str> {
        match self.attr(name)? {
            Value::Str(s) => Some(&**s),
            _ => None,
        }
    }

    /// The child module called `name`, if there is one.
    pub fn try_child(&self, name: &str) -> Option<Pickled<'p>> {
        self.module
            .children()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, m)| self.below(m, name))
    }

    /// The child module called `name`, or an error naming what is there.
    pub fn child(&self, name: &str) -> Result<Pickled<'p>> {
        self.try_child(name).ok_or_else(|| {
            let names: Vec<&str> = self.module.children().iter().map(|(k, _)| *k).collect();
            Error::Config(format!(
                "module `{}` has no child `{name}` (children: {names:?})",
                self.class()
            ))
        })
    }

    /// Every child module, in order.
    pub fn children(&self) -> Vec<(&'p str, Pickled<'p>)> {
        self.module
            .children()
            .into_iter()
            .map(|(k, m)| (k, self.below(m, k)))
            .collect()
    }

    fn below(&self, m: PickledModule<'p>, name: &str) -> Pickled<'p> {
        Pickled {
            module: m,
            pickle: self.pickle,
            shapes: self.shapes.under(name),
            reader: self.reader,
        }
    }
}
