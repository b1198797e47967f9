//! ultralytics `SPPELAN` (`ultralytics/nn/modules/block.py`, 8.4.190): `cv1`, three stride-1
//! max pools in sequence (`cv2`, `cv3`, `cv4`), concat, `cv5`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::conv_opts::{check_channels, conv1x1, note_assumptions};
use super::spp::pool_kernel;
use crate::error::Result;
use super::conv_opts::ConvOpts;
use crate::modules::{Assume, Block, Conv, Fuse, Module, Notes, Pickled, Shapes};
use crate::nn::{Act, Scope};
use crate::ops::MaxPool2d;
use crate::modules::Args;

fn default_k() -> i64 {
    5
}

/// `SPPELAN(c1, c2, c3, k=5)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppElanConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Intermediate channels.
    pub c3: i64,
    /// Pool kernel (odd).
    #[serde(default = "default_k")]
    pub k: i64,
    /// `cv1` settings (SiLU).
    #[serde(default)]
    pub cv1: ConvOpts,
    /// `cv5` settings (SiLU).
    #[serde(default)]
    pub cv5: ConvOpts,
}

impl SppElanConfig {
    /// Upstream defaults for `SPPELAN(c1, c2, c3)`.
    pub fn new(c1: i64, c2: i64, c3: i64) -> Self {
        Self {
            c1,
            c2,
            c3,
            k: 5,
            cv1: ConvOpts::default(),
            cv5: ConvOpts::default(),
        }
    }
}

/// ultralytics `SPPELAN`.
#[derive(Debug)]
pub struct SppElan {
    /// `Conv(c1, c3, 1, 1)`.
    pub cv1: Conv,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub cv2: MaxPool2d,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub cv3: MaxPool2d,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub cv4: MaxPool2d,
    /// `Conv(4 · c3, c2, 1, 1)`.
    pub cv5: Conv,
}

impl Module for SppElan {
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = vec![self.cv1.forward_t(x, train)?];
        for m in [&self.cv2, &self.cv3, &self.cv4] {
            let next = m.forward(&y[y.len() - 1])?;
            y.push(next);
        }
        self.cv5.forward_t(&Tensor::f_cat(&y, 1)?, train)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.cv1.c1)
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        vec![
            ("cv1.".into(), &self.cv1 as &dyn Fuse),
            ("cv5.".into(), &self.cv5),
        ]
    }
}

impl Block for SppElan {
    type Config = SppElanConfig;
    const NAME: &'static str = "sppelan";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.SPPELAN"];

    fn new(s: &Scope, c: &SppElanConfig) -> Result<Self> {
        check_channels("SPPELAN", c.c1, c.c2, c.c3)?;
        let pool = MaxPool2d::new(c.k)?;
        Ok(Self {
            cv1: conv1x1(&s.sub("cv1"), c.c1, c.c3, c.cv1)?,
            cv2: pool,
            cv3: pool,
            cv4: pool,
            cv5: conv1x1(&s.sub("cv5"), c.c3.saturating_mul(4), c.c2, c.cv5)?,
        })
    }

    /// `SPPELAN(c1, c2, c3, k=5)`.
    fn from_args(a: &Args) -> Result<Option<SppElanConfig>> {
        a.at_most(&["c1", "c2", "c3", "k"])?;
        let opts = ConvOpts::built(&a.init, a.init.act);
        Ok(Some(SppElanConfig {
            c1: a.int(0, "c1")?,
            c2: a.int(1, "c2")?,
            c3: a.int(2, "c3")?,
            k: a.int_or(3, "k", 5)?,
            cv1: opts,
            cv5: opts,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<SppElanConfig> {
        let sd = m.shapes();
        Ok(SppElanConfig {
            c1: sd.dim("cv1.conv.weight", 1)?,
            c2: sd.dim("cv5.conv.weight", 0)?,
            c3: m
                .int("c")
                .map_or_else(|| sd.dim("cv1.conv.weight", 0), Ok)?,
            k: pool_kernel(&m.child("cv2")?)?,
            cv1: ConvOpts::from_pickle(&m.child("cv1")?)?,
            cv5: ConvOpts::from_pickle(&m.child("cv5")?)?,
        })
    }

    fn from_shapes(
        sd: &Shapes,
        assume: Option<&Assume>,
        notes: &mut Notes,
    ) -> Result<Option<SppElanConfig>> {
        let Some(assume) = assume else {
            return Ok(None);
        };
        if !(sd.has("cv1.conv.weight") && sd.has("cv5.conv.weight")) {
            return Ok(None);
        }
        note_assumptions(assume, notes, "SiLU");
        notes.push("SPPELAN k 5 assumed".into());
        Ok(Some(SppElanConfig {
            c1: sd.dim("cv1.conv.weight", 1)?,
            c2: sd.dim("cv5.conv.weight", 0)?,
            c3: sd.dim("cv1.conv.weight", 0)?,
            k: 5,
            cv1: ConvOpts::from_shapes(sd, "cv1.", assume, Act::SiLU),
            cv5: ConvOpts::from_shapes(sd, "cv5.", assume, Act::SiLU),
        }))
    }

    fn fused(c: &SppElanConfig) -> Result<SppElanConfig> {
        Ok(SppElanConfig {
            cv1: c.cv1.fused(),
            cv5: c.cv5.fused(),
            ..c.clone()
        })
    }
}
