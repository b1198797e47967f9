//! Walking a parsed pickle: dicts, pickled `nn.Module` trees, and state_dicts.
//!
//! Recursion is bounded ([`MAX_DEPTH`]), which also stops cycles a crafted memo can build, and
//! so is the total work of a walk ([`MAX_VISITS`]): a tree whose modules share children (a DAG
//! 30 levels deep has 2³⁰ paths) is refused instead of walked exponentially.

use crate::error::{Error, Result};
use crate::pickle::{Node, NodeId, Pickle, Value};
use crate::tensor::TensorRef;

/// Deepest module nesting (or container nesting while summarising) followed.
pub const MAX_DEPTH: usize = 64;

/// Most module visits one walk makes (ultralytics' largest detectors have ~1 000 modules).
pub const MAX_VISITS: usize = 50_000;

/// Count one visit against [`MAX_VISITS`].
pub fn visit(visits: &mut usize) -> Result<()> {
    *visits += 1;
    if *visits > MAX_VISITS {
        return Err(Error::Limit(format!(
            "the module tree has more than {MAX_VISITS} module paths (modules shared between parents?)"
        )));
    }
    Ok(())
}

impl Pickle {
    /// The node a value refers to.
    pub fn node_of(&self, v: &Value) -> Option<&Node> {
        match v {
            Value::Node(id) => self.nodes.get(*id),
            _ => None,
        }
    }

    /// Entries of a dict value (`None` if not a dict).
    pub fn dict(&self, v: &Value) -> Option<&[(Value, Value)]> {
        match self.node_of(v)? {
            Node::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// `d[key]` for a dict value with string keys (the last binding wins, as in Python).
    pub fn get<'p>(&'p self, d: &Value, key: &str) -> Option<&'p Value> {
        self.dict(d)?
            .iter()
            .rev()
            .find(|(k, _)| matches!(k, Value::Str(s) if &**s == key))
            .map(|(_, v)| v)
    }

    /// The tensor a value refers to.
    pub fn tensor(&self, v: &Value) -> Option<&TensorRef> {
        match self.node_of(v)? {
            Node::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// A module view of `v`: an object whose state holds `_modules`.
    pub fn module(&self, v: &Value) -> Option<Module<'_>> {
        match self.node_of(v)? {
            Node::Object {
                class,
                state: Some(state),
                ..
            } if self.get(state, "_modules").is_some() => {
                let Value::Node(id) = v else { return None };
                Some(Module {
                    pickle: self,
                    id: *id,
                    class: (class.0.as_str(), class.1.as_str()),
                    state,
                })
            }
            _ => None,
        }
    }

    /// A dict of string → tensor (a state_dict), in order; `None` if `v` is anything else.
    pub fn state_dict(&self, v: &Value) -> Option<Vec<(String, TensorRef)>> {
        let d = self.dict(v)?;
        let mut out = Vec::with_capacity(d.len());
        for (k, val) in d {
            let (Value::Str(k), Some(t)) = (k, self.tensor(val)) else {
                return None;
            };
            out.push((k.to_string(), t.clone()));
        }
        (!out.is_empty()).then_some(out)
    }

    /// A short description of a value, for messages and `inspect`.
    pub fn describe(&self, v: &Value) -> String {
        match v {
            Value::None => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(_) => "<big int>".into(),
            Value::Float(f) => format!("{f:?}"),
            Value::Str(s) if s.chars().count() > 200 => {
                let head: String = s.chars().take(200).collect();
                format!("{head:?}… ({} characters)", s.chars().count())
            }
            Value::Str(s) => format!("{s:?}"),
            Value::Bytes(b) => format!("<{} bytes>", b.len()),
            Value::Node(id) => match &self.nodes[*id] {
                Node::Tuple(items) | Node::List(items)
                    if items.len() <= 8 && items.iter().all(|i| !matches!(i, Value::Node(_))) =>
                {
                    let inner: Vec<String> = items.iter().map(|i| self.describe(i)).collect();
                    format!("({})", inner.join(", "))
                }
                Node::Tuple(i) => format!("<tuple of {}>", i.len()),
                Node::List(i) => format!("<list of {}>", i.len()),
                Node::Dict(d) => format!("<dict of {}>", d.len()),
                Node::Set(s) => format!("<set of {}>", s.len()),
                Node::Global(m, n) => format!("{m}.{n}"),
                Node::Object { class, .. } => format!("<{}.{} object>", class.0, class.1),
                Node::Storage(s) => format!("<storage {} {}>", s.key, s.dtype.name()),
                Node::Tensor(t) => format!("<tensor {} {:?}>", t.storage.dtype.name(), t.shape),
            },
        }
    }
}

/// A pickled `nn.Module`: its class and its `__dict__` (`_parameters`, `_buffers`, `_modules`,
/// plain attributes).
#[derive(Debug, Clone, Copy)]
pub struct Module<'p> {
    pickle: &'p Pickle,
    /// The object's node.
    pub id: NodeId,
    /// `(module, name)` of its class, e.g. `("ultralytics.nn.modules.block", "SPPF")`.
    pub class: (&'p str, &'p str),
    state: &'p Value,
}

impl<'p> Module<'p> {
    /// An attribute of the module's `__dict__`.
    pub fn attr(&self, name: &str) -> Option<&'p Value> {
        self.pickle.get(self.state, name)
    }

    /// Every plain attribute (not `_parameters`, `_buffers`, `_modules`, hooks).
    pub fn attrs(&self) -> Vec<(&'p str, &'p Value)> {
        self.pickle
            .dict(self.state)
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, v)| match k {
                Value::Str(k) if !k.starts_with('_') && k.as_ref() != "training" => {
                    Some((k.as_ref(), v))
                }
                _ => None,
            })
            .collect()
    }

    fn named(&self, field: &str) -> Vec<(&'p str, &'p Value)> {
        let Some(d) = self.attr(field).and_then(|v| self.pickle.dict(v)) else {
            return vec![];
        };
        d.iter()
            .filter_map(|(k, v)| match k {
                Value::Str(k) => Some((k.as_ref(), v)),
                _ => None,
            })
            .collect()
    }

    /// Child modules, in order (`None` entries skipped).
    pub fn children(&self) -> Vec<(&'p str, Module<'p>)> {
        self.named("_modules")
            .into_iter()
            .filter_map(|(k, v)| Some((k, self.pickle.module(v)?)))
            .collect()
    }

    /// The child at a dotted path (`model.9`), or an error naming the missing segment.
    pub fn descend(&self, path: &str) -> Result<Module<'p>> {
        let mut m = *self;
        for seg in path.split('.').filter(|s| !s.is_empty()) {
            let children = m.children();
            m = children
                .iter()
                .find(|(k, _)| *k == seg)
                .map(|(_, c)| *c)
                .ok_or_else(|| {
                    let names: Vec<&str> = children.iter().map(|(k, _)| *k).collect();
                    Error::Structure(format!(
                        "module `{}` has no child `{seg}` (children: {names:?})",
                        m.class.1
                    ))
                })?;
        }
        Ok(m)
    }

    /// Paths (relative to this module) of every descendant whose class is in `classes`,
    /// depth first, with the class name (at most [`MAX_VISITS`] modules are looked at).
    pub fn find(&self, classes: &[&str]) -> Vec<(String, &'p str)> {
        let mut out = Vec::new();
        let _complete = self.find_into("", classes, 0, &mut 0, &mut out);
        out
    }

    fn find_into(
        &self,
        prefix: &str,
        classes: &[&str],
        depth: usize,
        visits: &mut usize,
        out: &mut Vec<(String, &'p str)>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        for (name, child) in self.children() {
            visit(visits)?;
            let path = format!("{prefix}{name}");
            if classes.contains(&child.class.1) {
                out.push((path.clone(), child.class.1));
            }
            child.find_into(&format!("{path}."), classes, depth + 1, visits, out)?;
        }
        Ok(())
    }

    /// The state_dict, as `nn.Module.state_dict()` orders it: own parameters, own persistent
    /// buffers, then each child's, depth first.
    pub fn state_dict(&self) -> Result<Vec<(String, TensorRef)>> {
        let mut out = Vec::new();
        self.collect("", 0, &mut 0, &mut out)?;
        Ok(out)
    }

    fn collect(
        &self,
        prefix: &str,
        depth: usize,
        visits: &mut usize,
        out: &mut Vec<(String, TensorRef)>,
    ) -> Result<()> {
        visit(visits)?;
        if depth > MAX_DEPTH {
            return Err(Error::Structure(format!(
                "module nesting deeper than {MAX_DEPTH} (or a cycle)"
            )));
        }
        let non_persistent: Vec<&str> = match self
            .attr("_non_persistent_buffers_set")
            .and_then(|v| self.pickle.node_of(v))
        {
            Some(Node::Set(s)) => s
                .iter()
                .filter_map(|v| {
                    if let Value::Str(s) = v {
                        Some(s.as_ref())
                    } else {
                        None
                    }
                })
                .collect(),
            _ => vec![],
        };
        for field in ["_parameters", "_buffers"] {
            for (name, v) in self.named(field) {
                if field == "_buffers" && non_persistent.contains(&name) {
                    continue;
                }
                if let Some(t) = self.pickle.tensor(v) {
                    out.push((format!("{prefix}{name}"), t.clone()));
                }
            }
        }
        for (name, child) in self.children() {
            child.collect(&format!("{prefix}{name}."), depth + 1, visits, out)?;
        }
        Ok(())
    }
}

/// Which weights of a training checkpoint to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// `model` (ultralytics' `best.pt` keeps its EMA weights there, in half precision).
    #[default]
    Model,
    /// `ema`.
    Ema,
}

/// What a checkpoint's root holds.
#[derive(Debug)]
pub enum Root<'p> {
    /// A pickled module tree.
    Module(Module<'p>),
    /// A plain state_dict.
    StateDict(Vec<(String, TensorRef)>),
}

/// Keys under which training checkpoints keep their weights, in the order tried.
const WEIGHT_KEYS: [&str; 7] = [
    "state_dict",
    "model_state_dict",
    "model",
    "ema",
    "net",
    "module",
    "network",
];

/// Find the weights in a checkpoint: a module, a state_dict, or a dict holding one of those
/// (`model`, `ema`, `state_dict`, …; `source` picks between `model` and `ema`). Also returns
/// the key it was found under (empty at the root).
pub fn find_root(p: &Pickle, source: Source) -> Result<(Root<'_>, String)> {
    let root = p
        .root
        .as_ref()
        .ok_or_else(|| Error::Structure("empty pickle".into()))?;
    if let Some(m) = p.module(root) {
        return Ok((Root::Module(m), String::new()));
    }
    if let Some(sd) = p.state_dict(root) {
        return Ok((Root::StateDict(sd), String::new()));
    }
    let Some(d) = p.dict(root) else {
        return Err(Error::Structure(format!(
            "the checkpoint holds {}, not a module or a dict of weights",
            p.describe(root)
        )));
    };
    let wanted = "ema";
    let keys: Vec<&str> = if source == Source::Ema {
        vec!["ema"]
    } else {
        WEIGHT_KEYS
            .iter()
            .copied()
            .filter(|k| *k != "ema")
            .chain(["ema"])
            .collect()
    };
    for key in keys {
        let Some(v) = p.get(root, key) else { continue };
        if let Some(m) = p.module(v) {
            return Ok((Root::Module(m), key.into()));
        }
        if let Some(sd) = p.state_dict(v) {
            return Ok((Root::StateDict(sd), key.into()));
        }
        // ultralytics' own loader takes `ema or model`: a trainer's last.pt has `model: None`.
        if key == wanted && source == Source::Ema && matches!(v, Value::None) {
            return Err(Error::Structure(format!(
                "the checkpoint's `{key}` is None (try --source model)"
            )));
        }
    }
    let listed: Vec<String> = d
        .iter()
        .map(|(k, v)| format!("{}: {}", p.describe(k), p.describe(v)))
        .take(12)
        .collect();
    Err(Error::Structure(format!(
        "no module or state_dict found in the checkpoint's dict {{{}}}",
        listed.join(", ")
    )))
}
