//! Stochastic pooling as a module (`ops::stochastic`): no package carries one, so the class is
//! our reference's `sppnet_ref.pooling.StochasticPool2d`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled, MAX_SMALL};
use crate::nn::Scope;
use crate::ops::stochastic::stochastic_pool2d;

/// `StochasticPool2d(kernel_size, stride=None, seed=None)`: `seed` selects the training rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StochasticPool2dConfig {
    /// Window side.
    pub kernel_size: i64,
    /// Step (`None`: the kernel).
    #[serde(default)]
    pub stride: Option<i64>,
    /// Seed of the training rule's draw; `None`: the test-time rule.
    #[serde(default)]
    pub seed: Option<i64>,
}

/// `sppnet_ref.pooling.StochasticPool2d`.
#[derive(Debug)]
pub struct StochasticPool2d {
    /// Its configuration.
    pub config: StochasticPool2dConfig,
}

impl Module for StochasticPool2d {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, (H − k) / s + 1, (W − k) / s + 1]`.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let c = &self.config;
        stochastic_pool2d(x, c.kernel_size, c.stride.unwrap_or(c.kernel_size), c.seed)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for StochasticPool2d {
    type Config = StochasticPool2dConfig;
    const NAME: &'static str = "stochastic_pool2d";
    const CLASSES: &'static [&'static str] = &["sppnet_ref.pooling.StochasticPool2d"];

    fn new(_s: &Scope, c: &StochasticPool2dConfig) -> Result<Self> {
        within("StochasticPool2d", "kernel_size", c.kernel_size, 1, MAX_SMALL)?;
        within("StochasticPool2d", "stride", c.stride.unwrap_or(1), 1, MAX_SMALL)?;
        Ok(Self { config: c.clone() })
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<StochasticPool2dConfig> {
        Ok(StochasticPool2dConfig {
            kernel_size: m
                .int("kernel_size")
                .ok_or_else(|| Error::Config("StochasticPool2d without a kernel_size".into()))?,
            stride: m.int("stride"),
            seed: m.int("seed"),
        })
    }
}
