//! timm's `SelectAdaptivePool2d` (`timm/layers/adaptive_avgmax_pool.py`, timm 1.0.31): the
//! global pool most image backbones end with; the maths is `ops::global_pool`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled, MAX_SMALL};
use crate::nn::Scope;
use crate::ops::global_pool::{select_adaptive_pool2d, PoolType};
use crate::ops::pool2d::Pair;

fn one() -> Pair {
    [1, 1]
}

fn fast() -> String {
    "fast".into()
}

fn nchw() -> String {
    "NCHW".into()
}

/// `SelectAdaptivePool2d(output_size=1, pool_type='fast', flatten=False, input_fmt='NCHW')`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectAdaptivePool2dConfig {
    /// Output size of the adaptive pool types (1 for the fast ones).
    #[serde(default = "one")]
    pub output_size: Pair,
    /// timm's pool type string.
    #[serde(default = "fast")]
    pub pool_type: String,
    /// Flatten to `[N, C']`.
    #[serde(default)]
    pub flatten: bool,
    /// `NCHW` or `NHWC` (fast pools only).
    #[serde(default = "nchw")]
    pub input_fmt: String,
}

/// `timm.layers.SelectAdaptivePool2d`.
#[derive(Debug)]
pub struct SelectAdaptivePool2d {
    /// Its configuration.
    pub config: SelectAdaptivePool2dConfig,
    pool: PoolType,
}

impl Module for SelectAdaptivePool2d {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C', oh, ow]`, or `[N, C'·oh·ow]` flattened (`C' = 2C` for
    /// catavgmax).
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let c = &self.config;
        select_adaptive_pool2d(x, self.pool, c.output_size, c.flatten, c.input_fmt == "NHWC")
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for SelectAdaptivePool2d {
    type Config = SelectAdaptivePool2dConfig;
    const NAME: &'static str = "select_adaptive_pool2d";
    const CLASSES: &'static [&'static str] =
        &["timm.layers.adaptive_avgmax_pool.SelectAdaptivePool2d"];
    const PARTS: &'static [&'static str] = &[
        "timm.layers.adaptive_avgmax_pool.FastAdaptiveAvgPool",
        "timm.layers.adaptive_avgmax_pool.FastAdaptiveMaxPool",
        "timm.layers.adaptive_avgmax_pool.FastAdaptiveAvgMaxPool",
        "timm.layers.adaptive_avgmax_pool.FastAdaptiveCatAvgMaxPool",
        "timm.layers.adaptive_avgmax_pool.AdaptiveAvgMaxPool2d",
        "timm.layers.adaptive_avgmax_pool.AdaptiveCatAvgMaxPool2d",
    ];

    fn new(_s: &Scope, c: &SelectAdaptivePool2dConfig) -> Result<Self> {
        let pool: PoolType = c.pool_type.parse()?;
        for v in c.output_size {
            within("SelectAdaptivePool2d", "output_size", v, 1, MAX_SMALL)?;
        }
        if !(c.input_fmt == "NCHW" || c.input_fmt == "NHWC") {
            return Err(Error::Config(format!(
                "SelectAdaptivePool2d input_fmt must be NCHW or NHWC, got {}",
                c.input_fmt
            )));
        }
        if (pool.fast || c.input_fmt == "NHWC") && c.output_size != [1, 1] {
            return Err(Error::Config(
                "SelectAdaptivePool2d: fast pools and NHWC need output_size 1 (as timm asserts)"
                    .into(),
            ));
        }
        Ok(Self {
            config: c.clone(),
            pool,
        })
    }

    /// timm stores `pool_type`; the flattening lives in its children (an `nn.Flatten`, or the
    /// fast pool's own `flatten` flag), the NHWC format in a fast pool's `dim` (1, 2), the
    /// output size in an adaptive pool's `output_size`.
    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<SelectAdaptivePool2dConfig> {
        let pool_type = m.str("pool_type").unwrap_or("fast").to_string();
        let pool = m.try_child("pool");
        let flatten = m.try_child("flatten").is_some_and(|f| f.class() == "Flatten")
            || pool.as_ref().and_then(|p| p.bool("flatten")).unwrap_or(false);
        let nhwc = pool
            .as_ref()
            .and_then(|p| p.ints("dim").or_else(|| p.ints("dim_reduce")))
            .is_some_and(|d| d == [1, 2]);
        let output_size = pool
            .as_ref()
            .and_then(|p| p.pair("output_size"))
            .unwrap_or([1, 1]);
        Ok(SelectAdaptivePool2dConfig {
            output_size,
            pool_type,
            flatten,
            input_fmt: if nhwc { "NHWC" } else { "NCHW" }.into(),
        })
    }
}
