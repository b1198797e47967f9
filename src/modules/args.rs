//! Upstream's constructor arguments, for building a class the way a model yaml does
//! (`[-1, 1, Conv, [64, 3, 2]]` → `Conv(c1, 64, 3, 2)`): positional and keyword values bound as
//! Python binds them, plus the model-wide settings the build applies ([`Init`]).
//!
//! Each class's [`crate::modules::Block::from_args`] mirrors its `__init__` with these, and
//! builds its children through [`Init::child`] as upstream's constructor calls theirs.

use serde_json::{Map, Value};

use super::{Block, Child, Spec};
use crate::error::{Error, Result};
use crate::nn::Act;

/// What a model build sets for every module: `Conv.default_act` (a yaml's `activation:`) and
/// the BatchNorm eps and momentum that ultralytics' `initialize_weights` gives every
/// `BatchNorm2d` of a `DetectionModel`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Init {
    /// `Conv.default_act`: what `act=True` means.
    pub act: Act,
    /// BatchNorm eps.
    pub bn_eps: f64,
    /// BatchNorm momentum.
    pub bn_momentum: f64,
}

impl Init {
    /// A `DetectionModel`'s: SiLU, eps 1e-3, momentum 0.03.
    pub fn detection_model() -> Self {
        Init {
            act: Act::SiLU,
            bn_eps: 1e-3,
            bn_momentum: 0.03,
        }
    }

    /// A `ClassificationModel`'s: SiLU, and PyTorch's BatchNorm defaults (eps 1e-5, momentum
    /// 0.1): unlike `DetectionModel`, its `__init__` does not call `initialize_weights`.
    pub fn classification_model() -> Self {
        Init {
            act: Act::SiLU,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    /// Class `T` built from positional `pos` and keyword `kw` arguments (JSON array and
    /// object), as upstream's constructors build their children.
    pub fn child<T: Block>(&self, pos: Value, kw: Value) -> Result<Child> {
        Ok(Child::from(&Spec::of::<T>(&self.config::<T>(pos, kw)?)?))
    }

    /// The config of class `T` built from `pos` and `kw`.
    pub fn config<T: Block>(&self, pos: Value, kw: Value) -> Result<T::Config> {
        let (Value::Array(pos), Value::Object(kw)) = (pos, kw) else {
            return Err(Error::Config(format!(
                "{}: arguments must be a list and a dict",
                T::NAME
            )));
        };
        let args = Args::new(T::CLASSES[0], pos, kw, *self);
        T::from_args(&args)?.ok_or_else(|| {
            Error::Config(format!(
                "{} cannot be built from constructor arguments",
                T::CLASSES[0]
            ))
        })
    }
}

/// One call's arguments: positional values, keyword values and the build's [`Init`].
#[derive(Debug, Clone)]
pub struct Args {
    class: String,
    pos: Vec<Value>,
    kw: Map<String, Value>,
    /// The build's settings.
    pub init: Init,
}

impl Args {
    /// Arguments of a call to `class` (its qualified name, for messages).
    pub fn new(class: &str, pos: Vec<Value>, kw: Map<String, Value>, init: Init) -> Self {
        let class = class.rsplit('.').next().unwrap_or(class).to_string();
        Args {
            class,
            pos,
            kw,
            init,
        }
    }

    /// The class called, for messages.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// Refuse more than `n` positional arguments, or keywords not in `names`, as Python does.
    pub fn at_most(&self, names: &[&str]) -> Result<()> {
        if self.pos.len() > names.len() {
            return Err(self.bad(format!(
                "takes at most {} arguments ({}), got {}",
                names.len(),
                names.join(", "),
                self.pos.len()
            )));
        }
        match self.kw.keys().find(|k| !names.contains(&k.as_str())) {
            Some(k) => Err(self.bad(format!("got an unexpected keyword argument `{k}`"))),
            None => Ok(()),
        }
    }

    fn bad(&self, what: String) -> Error {
        Error::Config(format!("{}: {what}", self.class))
    }

    /// Argument `i` (or keyword `name`), `None` when absent or Python's `None`.
    pub fn get(&self, i: usize, name: &str) -> Option<&Value> {
        self.pos
            .get(i)
            .or_else(|| self.kw.get(name))
            .filter(|v| !v.is_null())
    }

    /// A required integer.
    pub fn int(&self, i: usize, name: &str) -> Result<i64> {
        self.opt_int(i, name)?
            .ok_or_else(|| self.bad(format!("missing argument `{name}`")))
    }

    /// An integer, `default` when absent.
    pub fn int_or(&self, i: usize, name: &str, default: i64) -> Result<i64> {
        Ok(self.opt_int(i, name)?.unwrap_or(default))
    }

    /// An integer or `None`.
    pub fn opt_int(&self, i: usize, name: &str) -> Result<Option<i64>> {
        match self.get(i, name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.bad(format!("`{name}` must be an integer, got {v}"))),
        }
    }

    /// A square kernel size: an integer or a pair of equal integers, `default` when absent.
    pub fn square(&self, i: usize, name: &str, default: i64) -> Result<i64> {
        match self.get(i, name) {
            None => Ok(default),
            Some(v) => self.square_of(name, v),
        }
    }

    fn square_of(&self, name: &str, v: &Value) -> Result<i64> {
        let side = |v: &Value| v.as_i64();
        match v {
            Value::Array(p)
                if p.len() == 2 && side(&p[0]).is_some() && side(&p[0]) == side(&p[1]) =>
            {
                Ok(side(&p[0]).unwrap_or_default())
            }
            Value::Array(_) => Err(self.bad(format!("`{name}` must be a square kernel, got {v}"))),
            v => side(v).ok_or_else(|| self.bad(format!("`{name}` must be an integer, got {v}"))),
        }
    }

    /// Two square kernel sizes (`k=((3, 3), (3, 3))` or `k=(3, 3)`), `default` when absent.
    pub fn square_pair(&self, i: usize, name: &str, default: [i64; 2]) -> Result<[i64; 2]> {
        match self.get(i, name) {
            None => Ok(default),
            Some(Value::Array(p)) if p.len() == 2 => {
                Ok([self.square_of(name, &p[0])?, self.square_of(name, &p[1])?])
            }
            Some(v) => Err(self.bad(format!("`{name}` must be a pair of kernel sizes, got {v}"))),
        }
    }

    /// The raw value of argument `i` (or `name`), `default` when absent (passed on unread).
    pub fn raw(&self, i: usize, name: &str, default: Value) -> Value {
        self.pos
            .get(i)
            .or_else(|| self.kw.get(name))
            .cloned()
            .unwrap_or(default)
    }

    /// A number, `default` when absent.
    pub fn float_or(&self, i: usize, name: &str, default: f64) -> Result<f64> {
        match self.get(i, name) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.bad(format!("`{name}` must be a finite number, got {v}"))),
        }
    }

    /// A flag (Python truthiness of a bool or a number), `default` when absent.
    pub fn bool_or(&self, i: usize, name: &str, default: bool) -> Result<bool> {
        match self.get(i, name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => v
                .as_f64()
                .map(|x| x != 0.0)
                .ok_or_else(|| self.bad(format!("`{name}` must be a bool, got {v}"))),
        }
    }

    /// A list of integers (or one integer, as a list of one), `default` when absent.
    pub fn ints_or(&self, i: usize, name: &str, default: &[i64]) -> Result<Vec<i64>> {
        match self.get(i, name) {
            None => Ok(default.to_vec()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| self.bad(format!("`{name}` must hold integers, got {v}")))
                })
                .collect(),
            Some(v) => v
                .as_i64()
                .map(|x| vec![x])
                .ok_or_else(|| self.bad(format!("`{name}` must be a list of integers, got {v}"))),
        }
    }

    /// A string, `None` when absent.
    pub fn str(&self, i: usize, name: &str) -> Result<Option<&str>> {
        match self.get(i, name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.bad(format!("`{name}` must be a string, got {v}"))),
        }
    }

    /// `act` as ultralytics' `Conv` reads it: `True` (the default) is [`Init::act`], a module
    /// (written `nn.ReLU()`) is itself, anything else is `nn.Identity`.
    pub fn act(&self, i: usize, name: &str) -> Result<Act> {
        self.act_with(i, name, self.init.act)
    }

    /// `act` of a class whose `default_act` is its own (`RepConv`): `True` is `default`.
    pub fn act_with(&self, i: usize, name: &str, default: Act) -> Result<Act> {
        match self.pos.get(i).or_else(|| self.kw.get(name)) {
            None | Some(Value::Bool(true)) => Ok(default),
            Some(Value::String(s)) => s.parse(),
            Some(_) => Ok(Act::Identity),
        }
    }
}

/// `int(c * e)`: Python's truncation of a product of an integer and a float.
pub fn scaled(c: i64, e: f64) -> i64 {
    (c as f64 * e).trunc() as i64
}

/// `n` children made by `make` (a block's `for _ in range(n)`), `n` in 0..=1024.
pub fn repeat<T>(n: i64, mut make: impl FnMut() -> Result<T>) -> Result<Vec<T>> {
    if !(0..=super::MAX_SMALL).contains(&n) {
        return Err(Error::Config(format!(
            "repeat count {n} is out of range 0..=1024"
        )));
    }
    (0..n).map(|_| make()).collect()
}

/// A JSON list of arguments (`args![c1, c2, 3]`).
macro_rules! args {
    ($($v:expr),* $(,)?) => { serde_json::json!([$($v),*]) };
}
pub(crate) use args;

/// No keyword arguments.
pub fn no_kw() -> Value {
    Value::Object(Map::new())
}
