//! What modules that contain modules are made of: a [`Child`] (a registered class and its
//! config, built through the registry), and the values that flow between the layers of a model
//! graph ([`Flow`]: one tensor, a tuple of tensors, or a list of inputs).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use super::{by_class, Block, Module, Notes, Pickled, Spec, REGISTRY};
use crate::error::{Error, Result};
use crate::nn::Scope;

/// A sub-module: a registered class (by its registry name) and its config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    /// Registry name (`conv`, `bottleneck`, …).
    pub class: String,
    /// The class's config.
    #[serde(default)]
    pub config: Value,
}

impl Child {
    /// Class `T` with a typed config.
    pub fn of<T: Block>(config: &T::Config) -> Result<Child> {
        Ok(Child::from(&Spec::of::<T>(config)?))
    }

    /// The child a pickled module is: its class looked up in the registry (by qualified name,
    /// else by bare name, noted), its config read from its attributes.
    pub fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<Child> {
        let (module, class) = m.module().class;
        let Some((entry, _)) = by_class(module, class) else {
            let known: Vec<&str> = REGISTRY.iter().map(|e| e.class()).collect();
            return Err(Error::NoPort {
                class: format!("{module}.{class}"),
                known: crate::modules::registry::known_text(&known),
                holds: vec![],
            });
        };
        Ok(Child::from(&entry.from_pickle(m, notes)?))
    }

    /// The children of a pickled container (`ModuleList`, `Sequential`), in order.
    pub fn list_from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<Vec<Child>> {
        m.children()
            .iter()
            .map(|(_, c)| Child::from_pickle(c, notes))
            .collect()
    }

    /// The spec, validated.
    pub fn spec(&self) -> Result<Spec> {
        Spec::new(&self.class, &self.config)
    }

    /// Build it in `s`.
    pub fn build(&self, s: &Scope) -> Result<Box<dyn Module>> {
        self.spec()?.build(s)
    }

    /// Its config as class `T`'s, when it is of class `T`.
    pub fn config_as<T: Block>(&self) -> Option<T::Config> {
        (self.class == T::NAME)
            .then(|| serde_json::from_value(self.config.clone()).ok())
            .flatten()
    }

    /// The child after BatchNorm folding.
    pub fn fused(&self) -> Result<Child> {
        Ok(Child::from(&self.spec()?.fused()?))
    }
}

impl From<&Spec> for Child {
    fn from(spec: &Spec) -> Child {
        Child {
            class: spec.name().to_string(),
            config: spec.config().clone(),
        }
    }
}

/// Build `children` in `s` under their indices (`0`, `1`, …): a `ModuleList` or the layers of
/// a `Sequential`.
pub fn build_list(s: &Scope, children: &[Child]) -> Result<Vec<Box<dyn Module>>> {
    children
        .iter()
        .enumerate()
        .map(|(i, c)| c.build(&s.sub(&i.to_string())))
        .collect()
}

/// `children` after BatchNorm folding.
pub fn fused_list(children: &[Child]) -> Result<Vec<Child>> {
    children.iter().map(Child::fused).collect()
}

/// The fusable units of a list of modules, prefixed with `prefix` and their index.
pub fn list_fusable<'a>(
    prefix: &str,
    modules: &'a [Box<dyn Module>],
) -> Vec<(String, &'a dyn super::Fuse)> {
    modules
        .iter()
        .enumerate()
        .flat_map(|(i, m)| {
            m.fusable()
                .into_iter()
                .map(move |(p, f)| (format!("{prefix}{i}.{p}"), f))
        })
        .collect()
}

/// What passes between the layers of a model graph.
#[derive(Debug)]
pub enum Flow {
    /// One tensor (almost every layer).
    One(Tensor),
    /// A tuple of tensors (`CBLinear`'s split output).
    Tuple(Vec<Tensor>),
    /// The inputs of a layer that reads several earlier layers (`Concat`, `Detect`, `CBFuse`).
    List(Vec<Flow>),
}

impl Flow {
    /// The one tensor this is, or an error naming what it is instead.
    pub fn one(&self) -> Result<&Tensor> {
        match self {
            Flow::One(t) => Ok(t),
            Flow::Tuple(t) => Err(Error::InvalidInput(format!(
                "a tuple of {} tensors where one tensor was expected",
                t.len()
            ))),
            Flow::List(l) => Err(Error::InvalidInput(format!(
                "a list of {} inputs where one tensor was expected",
                l.len()
            ))),
        }
    }

    /// A shallow copy (tensors share their storage).
    pub fn share(&self) -> Flow {
        match self {
            Flow::One(t) => Flow::One(t.shallow_clone()),
            Flow::Tuple(ts) => Flow::Tuple(ts.iter().map(Tensor::shallow_clone).collect()),
            Flow::List(l) => Flow::List(l.iter().map(Flow::share).collect()),
        }
    }

    /// The tensors of a list of single tensors (what `Concat` and `Detect` take).
    pub fn tensors(&self) -> Result<Vec<&Tensor>> {
        match self {
            Flow::List(l) => l.iter().map(Flow::one).collect(),
            other => Ok(vec![other.one()?]),
        }
    }
}
