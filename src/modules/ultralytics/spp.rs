//! ultralytics `SPP` (`ultralytics/nn/modules/block.py`, 8.4.190): `cv1` halves the channels,
//! parallel stride-1 max pools of each kernel, concat, `cv2`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::conv_opts::{check_channels, conv1x1, note_assumptions};
use crate::error::{Error, Result};
use super::conv_opts::ConvOpts;
use crate::modules::{within, Assume, Block, Conv, Fuse, Module, Notes, Pickled, Shapes};
use crate::nn::{Act, Scope};
use crate::ops::maxpool::{cascade_steps, pyramid, MaxPool2d};
use crate::modules::Args;

fn default_spp_k() -> Vec<i64> {
    vec![5, 9, 13]
}

/// `SPP(c1, c2, k=(5, 9, 13))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Pool kernels (odd).
    #[serde(default = "default_spp_k")]
    pub k: Vec<i64>,
    /// `cv1` settings (upstream: SiLU).
    #[serde(default)]
    pub cv1: ConvOpts,
    /// `cv2` settings (upstream: SiLU).
    #[serde(default)]
    pub cv2: ConvOpts,
}

impl SppConfig {
    /// Upstream defaults for `SPP(c1, c2)`.
    pub fn new(c1: i64, c2: i64) -> Self {
        Self {
            c1,
            c2,
            k: default_spp_k(),
            cv1: ConvOpts::default(),
            cv2: ConvOpts::default(),
        }
    }
}

/// ultralytics `SPP`.
///
/// The pools run as a cascade ([`cascade_steps`]) whenever the kernels increase, which is
/// bitwise identical to the parallel form on inputs without −0 or NaN; on those the parallel
/// form runs (see [`crate::ops::maxpool::cascade_is_bit_exact`]).
#[derive(Debug)]
pub struct Spp {
    /// `Conv(c1, c1 // 2, 1, 1)`.
    pub cv1: Conv,
    /// `Conv(c1 // 2 · (len(k) + 1), c2, 1, 1)`.
    pub cv2: Conv,
    /// `MaxPool2d(k, 1, k // 2)` for each kernel.
    pub m: Vec<MaxPool2d>,
    /// The cascade's step pools, when the kernels allow one.
    pub cascade: Option<Vec<MaxPool2d>>,
}

impl Spp {
    /// Forward with the cascade (when possible) or strictly the parallel pools.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    pub fn forward_with(&self, x: &Tensor, train: bool, allow_cascade: bool) -> Result<Tensor> {
        let x = self.cv1.forward_t(x, train)?;
        let steps = self.cascade.as_deref().filter(|_| allow_cascade);
        let mut parts = vec![x.shallow_clone()];
        parts.extend(pyramid(&x, &self.m, steps)?);
        self.cv2.forward_t(&Tensor::f_cat(&parts, 1)?, train)
    }
}

impl Module for Spp {
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_with(x, train, true)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.cv1.c1)
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        vec![
            ("cv1.".into(), &self.cv1 as &dyn Fuse),
            ("cv2.".into(), &self.cv2),
        ]
    }
}

impl Block for Spp {
    type Config = SppConfig;
    const NAME: &'static str = "spp";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.SPP"];

    fn new(s: &Scope, c: &SppConfig) -> Result<Self> {
        let c_ = c.c1 / 2;
        check_channels("SPP", c.c1, c.c2, c_)?;
        within("SPP", "kernel count", c.k.len() as i64, 1, 64)?;
        let m = c
            .k
            .iter()
            .map(|&k| MaxPool2d::new(k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            cv1: conv1x1(&s.sub("cv1"), c.c1, c_, c.cv1)?,
            cv2: conv1x1(&s.sub("cv2"), c_ * (c.k.len() as i64 + 1), c.c2, c.cv2)?,
            cascade: cascade_steps(&c.k),
            m,
        })
    }

    /// `SPP(c1, c2, k=(5, 9, 13))`.
    fn from_args(a: &Args) -> Result<Option<SppConfig>> {
        a.at_most(&["c1", "c2", "k"])?;
        let opts = ConvOpts::built(&a.init, a.init.act);
        Ok(Some(SppConfig {
            c1: a.int(0, "c1")?,
            c2: a.int(1, "c2")?,
            k: a.ints_or(2, "k", &[5, 9, 13])?,
            cv1: opts,
            cv2: opts,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<SppConfig> {
        let k = m
            .child("m")?
            .children()
            .iter()
            .map(|(_, pool)| pool_kernel(pool))
            .collect::<Result<Vec<_>>>()?;
        Ok(SppConfig {
            c1: m.shapes().dim("cv1.conv.weight", 1)?,
            c2: m.shapes().dim("cv2.conv.weight", 0)?,
            k,
            cv1: ConvOpts::from_pickle(&m.child("cv1")?)?,
            cv2: ConvOpts::from_pickle(&m.child("cv2")?)?,
        })
    }

    fn from_shapes(
        sd: &Shapes,
        assume: Option<&Assume>,
        notes: &mut Notes,
    ) -> Result<Option<SppConfig>> {
        let Some(assume) = assume else {
            return Ok(None);
        };
        if !(sd.has("cv1.conv.weight") && sd.has("cv2.conv.weight")) {
            return Ok(None);
        }
        let c_ = sd.dim("cv1.conv.weight", 0)?;
        let pools = sd.dim("cv2.conv.weight", 1)? / c_.max(1) - 1;
        let k: Vec<i64> = (0..pools.clamp(0, 64)).map(|i| 5 + 4 * i).collect();
        note_assumptions(assume, notes, "SiLU");
        notes.push(format!(
            "SPP kernels {k:?} assumed (5, 9, 13, … for {pools} pools)"
        ));
        Ok(Some(SppConfig {
            c1: sd.dim("cv1.conv.weight", 1)?,
            c2: sd.dim("cv2.conv.weight", 0)?,
            k,
            cv1: ConvOpts::from_shapes(sd, "cv1.", assume, Act::SiLU),
            cv2: ConvOpts::from_shapes(sd, "cv2.", assume, Act::SiLU),
        }))
    }

    fn fused(c: &SppConfig) -> Result<SppConfig> {
        Ok(SppConfig {
            cv1: c.cv1.fused(),
            cv2: c.cv2.fused(),
            ..c.clone()
        })
    }
}

/// The kernel of a pickled `nn.MaxPool2d`.
pub fn pool_kernel(pool: &Pickled<'_>) -> Result<i64> {
    pool.int("kernel_size")
        .ok_or_else(|| Error::Config(format!("pool `{}` has no kernel_size", pool.class())))
}
