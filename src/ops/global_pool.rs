//! Global pooling as timm's `SelectAdaptivePool2d` (`timm/layers/adaptive_avgmax_pool.py`,
//! timm 1.0.31), the pool most image backbones end with: `avg`, `max`, `avgmax` (half the sum
//! of both) and `catavgmax` (both, concatenated along the channels), each as timm's "fast"
//! reductions (`mean` / `amax` over H and W) or as adaptive pools to any output size; plus
//! `flatten`. Every branch is the same libtorch ops timm calls, in the same order, so forward
//! and backward have timm's bits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};

/// What the pool computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduce {
    /// No pooling (timm's empty `pool_type`): the input, flattened if asked.
    Identity,
    /// The mean.
    Avg,
    /// The maximum.
    Max,
    /// Half the mean plus half the maximum.
    AvgMax,
    /// The mean and the maximum, concatenated along the channels (twice the channels).
    CatAvgMax,
}

/// timm's `pool_type` as it builds it: what is computed, and whether by the fast reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolType {
    /// What the pool computes.
    pub reduce: Reduce,
    /// `mean` / `amax` over the spatial axes (`fast…` types), instead of adaptive pools.
    pub fast: bool,
}

impl FromStr for PoolType {
    type Err = Error;

    /// timm 1.0.31's reading, case-insensitive: `""` (none); `avg`, `max`, `avgmax`,
    /// `catavgmax` (adaptive pools); any string starting with `fast` is a fast pool chosen by
    /// its ending (`catavgmax`, then `avgmax`, then `max`, then `fast` itself or `avg`). What
    /// timm asserts against is refused.
    fn from_str(s: &str) -> Result<Self> {
        use Reduce::*;
        let t = s.to_ascii_lowercase();
        let (reduce, fast) = if t.is_empty() {
            (Identity, false)
        } else if t.starts_with("fast") {
            let reduce = if t.ends_with("catavgmax") {
                CatAvgMax
            } else if t.ends_with("avgmax") {
                AvgMax
            } else if t.ends_with("max") {
                Max
            } else if t == "fast" || t.ends_with("avg") {
                Avg
            } else {
                return Err(unknown(s));
            };
            (reduce, true)
        } else {
            let reduce = match t.as_str() {
                "avg" => Avg,
                "max" => Max,
                "avgmax" => AvgMax,
                "catavgmax" => CatAvgMax,
                _ => return Err(unknown(s)),
            };
            (reduce, false)
        };
        Ok(PoolType { reduce, fast })
    }
}

fn unknown(s: &str) -> Error {
    Error::Config(format!(
        "unknown pool type `{s}` (timm's: avg, max, avgmax, catavgmax, fast, fastavg, fastmax, \
         fastavgmax, fastcatavgmax, or empty for none)"
    ))
}

impl fmt::Display for PoolType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.reduce {
            Reduce::Identity => "",
            Reduce::Avg => "avg",
            Reduce::Max => "max",
            Reduce::AvgMax => "avgmax",
            Reduce::CatAvgMax => "catavgmax",
        };
        if self.fast {
            write!(f, "fast{name}")
        } else {
            f.write_str(name)
        }
    }
}

/// `SelectAdaptivePool2d(output_size, pool_type, flatten, input_fmt)` applied to `x`.
///
/// `channels_last` is timm's `input_fmt='NHWC'` (the input is `[N, H, W, C]`; fast pools
/// only). The fast pools need `output_size` `[1, 1]`, as timm asserts.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C', oh, ow]`, or `[N, C'·oh·ow]` with `flatten`; `C'` is `2C` for
/// `catavgmax`. Fast pools give `[N, C', 1, 1]` / `[N, C']`.
pub fn select_adaptive_pool2d(
    x: &Tensor,
    pool: PoolType,
    output_size: [i64; 2],
    flatten: bool,
    channels_last: bool,
) -> Result<Tensor> {
    let size = x.size();
    if size.len() != 4 || size.iter().any(|&s| s < 1) {
        return Err(Error::InvalidInput(format!(
            "global pooling needs a non-empty 4-D input, got shape {size:?}"
        )));
    }
    if pool.reduce == Reduce::Identity {
        return Ok(if flatten {
            x.f_flatten(1, -1)?
        } else {
            x.shallow_clone()
        });
    }
    if pool.fast || channels_last {
        if output_size != [1, 1] {
            return Err(Error::Config(format!(
                "fast and channels-last global pools give one value per channel; output size \
                 {output_size:?} needs the adaptive ({}) pool type",
                pool.reduce_name()
            )));
        }
        let (dims, channel): (&[i64], i64) = if channels_last {
            (&[1, 2], 3)
        } else {
            (&[2, 3], 1)
        };
        let keep = !flatten;
        let avg = || x.f_mean_dim(Some(dims), keep, None);
        let max = || x.f_amax(dims, keep);
        return Ok(match pool.reduce {
            Reduce::Avg => avg()?,
            Reduce::Max => max()?,
            Reduce::AvgMax => avg()?
                .f_mul_scalar(0.5)?
                .f_add(&max()?.f_mul_scalar(0.5)?)?,
            _ => Tensor::f_cat(&[avg()?, max()?], if flatten { 1 } else { channel })?,
        });
    }
    if output_size.iter().any(|&s| s < 1) {
        return Err(Error::Config(format!(
            "global pooling output size must be positive, got {output_size:?}"
        )));
    }
    let avg = || x.f_adaptive_avg_pool2d(output_size);
    let max = || x.f_adaptive_max_pool2d(output_size).map(|(m, _)| m);
    let y = match pool.reduce {
        Reduce::Avg => avg()?,
        Reduce::Max => max()?,
        Reduce::AvgMax => avg()?.f_add(&max()?)?.f_mul_scalar(0.5)?,
        _ => Tensor::f_cat(&[avg()?, max()?], 1)?,
    };
    Ok(if flatten { y.f_flatten(1, -1)? } else { y })
}

impl PoolType {
    /// The adaptive pool type of the same reduction (`avg` for `fastavg`).
    fn reduce_name(&self) -> String {
        PoolType {
            fast: false,
            ..*self
        }
        .to_string()
    }
}
