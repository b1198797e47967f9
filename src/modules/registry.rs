//! The registry's currency: an [`Entry`] per upstream class (made from its [`Block`] impl by
//! [`Entry::of`]) and a [`Spec`] — an entry plus a validated configuration — from which a module
//! is built. Configurations travel as JSON here so that one list can hold every class; each
//! entry parses them into its own typed, `deny_unknown_fields` config.

use std::fmt;

use serde_json::Value;

use super::source::{Assume, Notes, Pickled, Shapes};
use super::Args;
use super::{Block, Module, REGISTRY};
use crate::error::{Error, Result};
use crate::nn::Scope;

type Build = fn(&Scope, &Value) -> Result<Box<dyn Module>>;
type FromPickle = fn(&Pickled<'_>, &mut Notes) -> Result<Value>;
type FromShapes = fn(&Shapes, Option<&Assume>, &mut Notes) -> Result<Option<Value>>;
type Map = fn(&Value) -> Result<Value>;
type FromArgs = fn(&Args) -> Result<Option<Value>>;

/// One upstream class: its names and, type-erased, what its [`Block`] impl provides.
pub struct Entry {
    /// sppnet's name for it (metadata `sppnet.arch`, `--arch`).
    pub name: &'static str,
    /// Upstream's qualified class names; the first is the canonical one.
    pub classes: &'static [&'static str],
    /// Helper classes upstream instantiates inside it ([`Block::PARTS`]).
    pub parts: &'static [&'static str],
    build: Build,
    canonical: Map,
    from_pickle: FromPickle,
    from_shapes: FromShapes,
    from_args: FromArgs,
    fused: Map,
}

fn parse<T: Block>(config: &Value) -> Result<T::Config> {
    <T::Config as serde::Deserialize>::deserialize(config)
        .map_err(|e| Error::Config(format!("bad config for `{}`: {e}", T::NAME)))
}

fn to_json<C: serde::Serialize>(config: &C) -> Result<Value> {
    serde_json::to_value(config).map_err(|e| Error::Config(format!("config to JSON: {e}")))
}

fn build<T: Block>(s: &Scope, c: &Value) -> Result<Box<dyn Module>> {
    Ok(Box::new(T::new(s, &parse::<T>(c)?)?))
}
fn canonical<T: Block>(c: &Value) -> Result<Value> {
    to_json(&parse::<T>(c)?)
}
fn from_pickle<T: Block>(m: &Pickled<'_>, notes: &mut Notes) -> Result<Value> {
    to_json(&T::from_pickle(m, notes)?)
}
fn from_shapes<T: Block>(
    sd: &Shapes,
    a: Option<&Assume>,
    notes: &mut Notes,
) -> Result<Option<Value>> {
    T::from_shapes(sd, a, notes)?
        .as_ref()
        .map(to_json)
        .transpose()
}
fn from_args<T: Block>(a: &Args) -> Result<Option<Value>> {
    T::from_args(a)?.as_ref().map(to_json).transpose()
}
fn fused<T: Block>(c: &Value) -> Result<Value> {
    to_json(&T::fused(&parse::<T>(c)?)?)
}

impl Entry {
    /// The entry of class `T`.
    pub const fn of<T: Block>() -> Entry {
        Entry {
            name: T::NAME,
            classes: T::CLASSES,
            parts: T::PARTS,
            build: build::<T>,
            canonical: canonical::<T>,
            from_pickle: from_pickle::<T>,
            from_shapes: from_shapes::<T>,
            from_args: from_args::<T>,
            fused: fused::<T>,
        }
    }

    /// The upstream class name without its module (`SPPF`).
    pub fn class(&self) -> &'static str {
        let q = self.classes[0];
        q.rsplit('.').next().unwrap_or(q)
    }

    /// The configuration of a pickled module of this class.
    pub fn from_pickle(&'static self, m: &Pickled<'_>, notes: &mut Notes) -> Result<Spec> {
        Ok(Spec {
            entry: self,
            config: (self.from_pickle)(m, notes)?,
        })
    }

    /// The configuration a plain state_dict's shapes give, when this class can be sized from
    /// them; `assume` is `None` where nothing may be assumed (then only classes whose weights
    /// determine them answer).
    pub fn from_shapes(
        &'static self,
        sd: &Shapes,
        assume: Option<&Assume>,
        notes: &mut Notes,
    ) -> Result<Option<Spec>> {
        Ok((self.from_shapes)(sd, assume, notes)?.map(|config| Spec {
            entry: self,
            config,
        }))
    }

    /// The configuration upstream's constructor arguments give, for the classes a model yaml
    /// builds; `None` for the others.
    pub fn from_args(&'static self, args: &Args) -> Result<Option<Spec>> {
        Ok((self.from_args)(args)?.map(|config| Spec {
            entry: self,
            config,
        }))
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Entry({})", self.name)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Every registered name, for messages.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.name).collect()
}

/// Registered class names for a message: all of them when few, else the first ones and a count.
pub fn known_text(classes: &[&str]) -> String {
    const SHOWN: usize = 8;
    match classes.len() {
        n if n <= SHOWN => format!("sppnet implements {}", classes.join(", ")),
        n => format!(
            "sppnet implements {n} classes: {}, …",
            classes[..SHOWN].join(", ")
        ),
    }
}

/// The entry called `name` (case-insensitive).
pub fn by_name(name: &str) -> Result<&'static Entry> {
    REGISTRY
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            Error::Config(format!(
                "unknown architecture `{name}` ({})",
                names().join(", ")
            ))
        })
}

/// How a pickled class was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassMatch {
    /// The qualified name is one the entry lists.
    Exact,
    /// Only the bare class name matches (another version's module path, or a fork).
    ByName,
}

/// The entry for a pickled class `(module, name)`: by qualified name, else by bare name.
pub fn by_class(module: &str, name: &str) -> Option<(&'static Entry, ClassMatch)> {
    let qualified = format!("{module}.{name}");
    REGISTRY
        .iter()
        .find(|e| e.classes.contains(&qualified.as_str()))
        .map(|e| (e, ClassMatch::Exact))
        .or_else(|| {
            REGISTRY
                .iter()
                .find(|e| e.class() == name)
                .map(|e| (e, ClassMatch::ByName))
        })
}

/// A registered class with a validated configuration: what a module is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    entry: &'static Entry,
    config: Value,
}

impl Spec {
    /// Class `name` (see [`by_name`]) with `config` (JSON; missing fields take upstream's
    /// defaults, unknown fields are refused).
    pub fn new(name: &str, config: &Value) -> Result<Spec> {
        let entry = by_name(name)?;
        Ok(Spec {
            entry,
            config: (entry.canonical)(config)?,
        })
    }

    /// Class `T` with a typed config.
    pub fn of<T: Block>(config: &T::Config) -> Result<Spec> {
        let entry = by_name(T::NAME)?;
        Ok(Spec {
            entry,
            config: to_json(config)?,
        })
    }

    /// The registry entry.
    pub fn entry(&self) -> &'static Entry {
        self.entry
    }

    /// sppnet's name of the class (`sppf`).
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// The upstream class without its module (`SPPF`).
    pub fn class(&self) -> &'static str {
        self.entry.class()
    }

    /// The configuration, with every field present.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The configuration as `T`'s typed config, when this is class `T`.
    pub fn config_as<T: Block>(&self) -> Option<T::Config> {
        (self.entry.name == T::NAME)
            .then(|| parse::<T>(&self.config).ok())
            .flatten()
    }

    /// The same class with one setting replaced (`levels`, `rule`, …), validated again.
    pub fn with(&self, field: &str, value: Value) -> Result<Spec> {
        let mut config = self.config.clone();
        match config.as_object_mut() {
            Some(map) if map.contains_key(field) => {
                map.insert(field.to_string(), value);
            }
            _ => {
                return Err(Error::NoSuchSetting {
                    class: self.class().to_string(),
                    field: field.to_string(),
                })
            }
        }
        Ok(Spec {
            entry: self.entry,
            config: (self.entry.canonical)(&config)?,
        })
    }

    /// The configuration after BatchNorm is folded into the convolutions.
    pub fn fused(&self) -> Result<Spec> {
        Ok(Spec {
            entry: self.entry,
            config: (self.entry.fused)(&self.config)?,
        })
    }

    /// Build the module in `s`.
    pub fn build(&self, s: &Scope) -> Result<Box<dyn Module>> {
        (self.entry.build)(s, &self.config)
    }
}

/// Configs longer than this are summarised by [`Spec`]'s `Display`.
const SHOWN: usize = 300;

impl fmt::Display for Spec {
    /// The class and its config, or, for a long config (a whole model), the class and the
    /// sub-modules it holds, counted by class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.config.to_string();
        if text.len() <= SHOWN {
            return write!(f, "{} {text}", self.class());
        }
        let mut counts: Vec<(String, usize)> = Vec::new();
        count_children(&self.config, &mut counts);
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let listed: Vec<String> = counts.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        write!(
            f,
            "{} of {total} modules ({})",
            self.class(),
            listed.join(", ")
        )
    }
}

/// Count the `{"class": …, "config": …}` children in a config, by upstream class name.
fn count_children(v: &Value, counts: &mut Vec<(String, usize)>) {
    match v {
        Value::Object(map) => {
            if let (Some(Value::String(name)), Some(_)) = (map.get("class"), map.get("config")) {
                let class = by_name(name)
                    .map_or(name.as_str(), |e| e.class())
                    .to_string();
                match counts.iter_mut().find(|(c, _)| *c == class) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((class, 1)),
                }
            }
            map.values().for_each(|v| count_children(v, counts));
        }
        Value::Array(items) => items.iter().for_each(|v| count_children(v, counts)),
        _ => {}
    }
}
