//! ultralytics `Concat` (`conv.py`, 8.4.190): `torch.cat(xs, d)` of the layers it reads.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::composite::attr_or;
use crate::modules::{Block, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::modules::Args;

/// `Concat(dimension=1)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcatConfig {
    /// The dimension (upstream's attribute `d`).
    #[serde(default = "one")]
    pub d: i64,
}

fn one() -> i64 {
    1
}

/// `Concat`.
#[derive(Debug)]
pub struct Concat {
    /// The dimension.
    pub d: i64,
}

impl Module for Concat {
    /// One input: itself.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(x.shallow_clone())
    }

    /// # Shapes
    /// `[N, Cᵢ, H, W]`… → `[N, ΣCᵢ, H, W]` (for `d = 1`).
    fn forward_many(&self, xs: &[&Tensor], _train: bool) -> Result<Tensor> {
        Ok(Tensor::f_cat(xs, self.d)?)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for Concat {
    type Config = ConcatConfig;
    const NAME: &'static str = "concat";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.conv.Concat"];

    fn new(_s: &Scope, c: &ConcatConfig) -> Result<Self> {
        if !(-8..8).contains(&c.d) {
            return Err(Error::Config(format!("Concat dimension {} is out of range", c.d)));
        }
        Ok(Self { d: c.d })
    }

    /// `Concat(dimension=1)`.
    fn from_args(a: &Args) -> Result<Option<ConcatConfig>> {
        a.at_most(&["dimension"])?;
        Ok(Some(ConcatConfig { d: a.int_or(0, "dimension", 1)? }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<ConcatConfig> {
        Ok(ConcatConfig {
            d: attr_or(m, "d", 1, notes),
        })
    }
}
