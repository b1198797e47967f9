//! ultralytics `CBFuse` (`block.py`, 8.4.190; YOLOv9-E): picks group `idx[i]` of each earlier
//! `CBLinear`'s tuple, resizes it (nearest) to the last input's size, and sums them all with it
//! (`torch.sum(torch.stack(…), 0)`, kept as such: pairwise adds could round differently).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{Block, Flow, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::modules::Args;

/// `CBFuse(idx)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CbFuseConfig {
    /// Which group of each CBLinear tuple.
    pub idx: Vec<i64>,
}

/// `CBFuse`.
#[derive(Debug)]
pub struct CbFuse {
    /// Which group of each CBLinear tuple.
    pub idx: Vec<i64>,
}

impl Module for CbFuse {
    fn forward_t(&self, _x: &Tensor, _train: bool) -> Result<Tensor> {
        Err(Error::InvalidInput(
            "CBFuse takes the outputs of earlier layers, not one tensor".into(),
        ))
    }

    /// # Shapes
    /// (tuples of `[N, Cⱼ, hⱼ, wⱼ]`…, `[N, C, H, W]`) → `[N, C, H, W]`.
    fn forward_flow(&self, input: &Flow, _train: bool) -> Result<Flow> {
        let Flow::List(xs) = input else {
            return Err(Error::InvalidInput("CBFuse takes a list of inputs".into()));
        };
        let Some((last, earlier)) = xs.split_last() else {
            return Err(Error::InvalidInput("CBFuse got no input".into()));
        };
        if earlier.len() != self.idx.len() {
            return Err(Error::InvalidInput(format!(
                "CBFuse has {} indices for {} inputs",
                self.idx.len(),
                earlier.len()
            )));
        }
        let last = last.one()?;
        let size = last.size();
        let target = size.get(2..4).ok_or_else(|| {
            Error::InvalidInput(format!("CBFuse input must be NCHW, got {size:?}"))
        })?;
        let mut parts = Vec::with_capacity(xs.len());
        for (x, &i) in earlier.iter().zip(&self.idx) {
            let Flow::Tuple(groups) = x else {
                return Err(Error::InvalidInput("CBFuse expects CBLinear outputs".into()));
            };
            let g = usize::try_from(i).ok().and_then(|i| groups.get(i)).ok_or_else(|| {
                Error::InvalidInput(format!("CBFuse index {i} is outside a tuple of {}", groups.len()))
            })?;
            parts.push(g.f_upsample_nearest2d(target, None, None)?);
        }
        parts.push(last.shallow_clone());
        Ok(Flow::One(Tensor::f_stack(&parts, 0)?.f_sum_dim_intlist(
            0,
            false,
            None::<tch::Kind>,
        )?))
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for CbFuse {
    type Config = CbFuseConfig;
    const NAME: &'static str = "cb_fuse";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.CBFuse"];

    fn new(_s: &Scope, c: &CbFuseConfig) -> Result<Self> {
        if c.idx.len() > 64 || c.idx.iter().any(|&i| !(0..64).contains(&i)) {
            return Err(Error::Config(format!("CBFuse idx {:?} is out of range", c.idx)));
        }
        Ok(Self { idx: c.idx.clone() })
    }

    /// `CBFuse(idx)`.
    fn from_args(a: &Args) -> Result<Option<CbFuseConfig>> {
        a.at_most(&["idx"])?;
        Ok(Some(CbFuseConfig { idx: a.ints_or(0, "idx", &[])? }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<CbFuseConfig> {
        Ok(CbFuseConfig {
            idx: m
                .ints("idx")
                .ok_or_else(|| Error::Config("CBFuse has no `idx` list".into()))?,
        })
    }
}
