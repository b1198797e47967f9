//! The seed note's pooling table as one typed description: [`PoolOp`] names a row and its
//! settings; [`PoolOp::apply`] runs it. The CLI's `sppnet pool --op` and the parity suites
//! (where the same JSON goes to the Python reference) both speak it.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::global_pool::{select_adaptive_pool2d, PoolType};
use super::pool2d::{avg_pool2d, max_pool2d, AvgPoolOptions, MaxPoolOptions};
use super::pyramid::{spatial_pyramid_pool, Rule};
use super::roi_spp::{spp_rois, RoiMapping};
use super::stochastic::stochastic_pool2d;
use crate::error::{Error, Result};

/// One row of the pooling table with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PoolOp {
    /// Spatial pyramid pooling (`spatial_pyramid_pool`).
    Spp {
        /// Levels, in output order.
        levels: Vec<i64>,
        /// Bin rule.
        rule: Rule,
    },
    /// Max pooling with all of `nn.MaxPool2d`'s options (strided pooling included).
    Max(MaxPoolOptions),
    /// Average pooling with all of `nn.AvgPool2d`'s options.
    Avg(AvgPoolOptions),
    /// timm's `SelectAdaptivePool2d` (global average / max / avgmax / catavgmax).
    Global {
        /// timm's `pool_type` string.
        pool_type: String,
        /// Flatten to `[N, C']`.
        flatten: bool,
        /// Output size (1×1 for a global pool).
        output_size: [i64; 2],
    },
    /// SPP-net over windows: each roi of a second input pooled into a pyramid.
    RoiSpp {
        /// Levels, in output order.
        levels: Vec<i64>,
        /// Feature-map pixels per image pixel (1/16 for a stride-16 network).
        spatial_scale: f64,
        /// How windows map onto the map.
        #[serde(default)]
        mapping: RoiMapping,
    },
    /// Stochastic pooling; `seed` selects the training rule.
    Stochastic {
        /// Window side.
        kernel: i64,
        /// Step between windows.
        stride: i64,
        /// Seed of the training rule's draw; `None`: the test-time rule.
        #[serde(default)]
        seed: Option<i64>,
    },
}

impl PoolOp {
    /// The op's name in the table (`spp`, `max`, `avg`, `global`, `roi_spp`, `stochastic`).
    pub fn name(&self) -> &'static str {
        match self {
            PoolOp::Spp { .. } => "spp",
            PoolOp::Max(_) => "max",
            PoolOp::Avg(_) => "avg",
            PoolOp::Global { .. } => "global",
            PoolOp::RoiSpp { .. } => "roi_spp",
            PoolOp::Stochastic { .. } => "stochastic",
        }
    }

    /// Run it on `x`; `rois` (`[K, 5]`) is the second input of [`PoolOp::RoiSpp`], and only
    /// of it.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → what the row gives (see each function).
    pub fn apply(&self, x: &Tensor, rois: Option<&Tensor>) -> Result<Tensor> {
        match (self, rois) {
            (
                PoolOp::RoiSpp {
                    levels,
                    spatial_scale,
                    mapping,
                },
                Some(rois),
            ) => return spp_rois(x, rois, levels, *spatial_scale, *mapping),
            (PoolOp::RoiSpp { .. }, None) => {
                return Err(Error::Config("roi SPP needs the rois to pool".into()))
            }
            (_, Some(_)) => {
                return Err(Error::Config(format!(
                    "rois are pooled by roi SPP only, not by {} pooling",
                    self.name()
                )))
            }
            (_, None) => {}
        }
        match self {
            PoolOp::Spp { levels, rule } => spatial_pyramid_pool(x, levels, *rule),
            PoolOp::Max(o) => max_pool2d(x, o),
            PoolOp::Avg(o) => avg_pool2d(x, o),
            PoolOp::Global {
                pool_type,
                flatten,
                output_size,
            } => {
                let pool: PoolType = pool_type.parse()?;
                select_adaptive_pool2d(x, pool, *output_size, *flatten, false)
            }
            PoolOp::Stochastic {
                kernel,
                stride,
                seed,
            } => stochastic_pool2d(x, *kernel, *stride, *seed),
            PoolOp::RoiSpp { .. } => Err(Error::Config("roi SPP needs the rois to pool".into())),
        }
    }
}
