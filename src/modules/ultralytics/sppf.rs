//! ultralytics `SPPF` (`ultralytics/nn/modules/block.py`, 8.4.190): `cv1`, `n` stride-1 max
//! pools of kernel `k` in sequence, concat, `cv2`, optional residual.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::conv_opts::{check_channels, conv1x1, note_assumptions};
use super::spp::pool_kernel;
use crate::error::Result;
use super::conv_opts::ConvOpts;
use crate::modules::{within, Assume, Block, Conv, Fuse, Module, Notes, Pickled, Shapes, MAX_SMALL};
use crate::nn::{Act, Scope};
use crate::ops::MaxPool2d;
use crate::modules::Args;

/// `SPPF(c1, c2, k=5, n=3, shortcut=False)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppfConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Pool kernel (odd).
    #[serde(default = "default_k")]
    pub k: i64,
    /// Pools in sequence (old pickles lack it; upstream then uses 3).
    #[serde(default = "default_n")]
    pub n: i64,
    /// Residual `y + x`; takes effect only when `c1 == c2` (upstream's `add`).
    #[serde(default)]
    pub shortcut: bool,
    /// `cv1` settings: the current class builds it with `act=False` (Identity, as YOLO26);
    /// models built from yolov8/yolo11/yolov5u yamls have SiLU there (docs/FACTS.md §5).
    #[serde(default = "identity_opts")]
    pub cv1: ConvOpts,
    /// `cv2` settings (SiLU).
    #[serde(default)]
    pub cv2: ConvOpts,
}

fn default_k() -> i64 {
    5
}
fn default_n() -> i64 {
    3
}
fn identity_opts() -> ConvOpts {
    ConvOpts::with_act(Act::Identity)
}

impl SppfConfig {
    /// Upstream defaults for `SPPF(c1, c2)`.
    pub fn new(c1: i64, c2: i64) -> Self {
        Self {
            c1,
            c2,
            k: 5,
            n: 3,
            shortcut: false,
            cv1: identity_opts(),
            cv2: ConvOpts::default(),
        }
    }
}

/// ultralytics `SPPF`.
#[derive(Debug)]
pub struct Sppf {
    /// `Conv(c1, c1 // 2, 1, 1)`.
    pub cv1: Conv,
    /// `Conv(c1 // 2 · (n + 1), c2, 1, 1)`.
    pub cv2: Conv,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub m: MaxPool2d,
    /// Pools in sequence.
    pub n: i64,
    /// Residual connection (`shortcut and c1 == c2`).
    pub add: bool,
}

impl Module for Sppf {
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = vec![self.cv1.forward_t(x, train)?];
        for _ in 0..self.n {
            let next = self.m.forward(&y[y.len() - 1])?;
            y.push(next);
        }
        let out = self.cv2.forward_t(&Tensor::f_cat(&y, 1)?, train)?;
        if self.add {
            Ok(out.f_add(x)?)
        } else {
            Ok(out)
        }
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

impl Block for Sppf {
    type Config = SppfConfig;
    const NAME: &'static str = "sppf";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.SPPF"];

    fn new(s: &Scope, c: &SppfConfig) -> Result<Self> {
        let c_ = c.c1 / 2;
        check_channels("SPPF", c.c1, c.c2, c_)?;
        within("SPPF", "n", c.n, 0, MAX_SMALL)?;
        Ok(Self {
            cv1: conv1x1(&s.sub("cv1"), c.c1, c_, c.cv1)?,
            cv2: conv1x1(&s.sub("cv2"), c_.saturating_mul(c.n.saturating_add(1)), c.c2, c.cv2)?,
            m: MaxPool2d::new(c.k)?,
            n: c.n,
            add: c.shortcut && c.c1 == c.c2,
        })
    }

    /// `SPPF(c1, c2, k=5, n=3, shortcut=False)`: `cv1` unactivated (model yamls with at most
    /// three arguments activate it; see `parse_model`).
    fn from_args(a: &Args) -> Result<Option<SppfConfig>> {
        a.at_most(&["c1", "c2", "k", "n", "shortcut"])?;
        let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
        Ok(Some(SppfConfig {
            c1,
            c2,
            k: a.int_or(2, "k", 5)?,
            n: a.int_or(3, "n", 3)?,
            shortcut: a.bool_or(4, "shortcut", false)? && c1 == c2,
            cv1: ConvOpts::built(&a.init, Act::Identity),
            cv2: ConvOpts::built(&a.init, a.init.act),
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<SppfConfig> {
        let n = m.int("n").unwrap_or_else(|| {
            notes.push("SPPF has no `n` (an old pickle): 3, as upstream's forward assumes".into());
            3
        });
        Ok(SppfConfig {
            c1: m.shapes().dim("cv1.conv.weight", 1)?,
            c2: m.shapes().dim("cv2.conv.weight", 0)?,
            k: pool_kernel(&m.child("m")?)?,
            n,
            shortcut: m.bool("add").unwrap_or(false),
            cv1: ConvOpts::from_pickle(&m.child("cv1")?)?,
            cv2: ConvOpts::from_pickle(&m.child("cv2")?)?,
        })
    }

    fn from_shapes(
        sd: &Shapes,
        assume: Option<&Assume>,
        notes: &mut Notes,
    ) -> Result<Option<SppfConfig>> {
        let Some(assume) = assume else {
            return Ok(None);
        };
        if !(sd.has("cv1.conv.weight") && sd.has("cv2.conv.weight")) {
            return Ok(None);
        }
        let c_ = sd.dim("cv1.conv.weight", 0)?;
        note_assumptions(
            assume,
            notes,
            "SiLU (SPPF cv1: Identity, as the current class; pre-YOLO26 models have SiLU there)",
        );
        notes.push("SPPF k 5 and shortcut off assumed".into());
        Ok(Some(SppfConfig {
            c1: sd.dim("cv1.conv.weight", 1)?,
            c2: sd.dim("cv2.conv.weight", 0)?,
            k: 5,
            n: sd.dim("cv2.conv.weight", 1)? / c_.max(1) - 1,
            shortcut: false,
            cv1: ConvOpts::from_shapes(sd, "cv1.", assume, Act::Identity),
            cv2: ConvOpts::from_shapes(sd, "cv2.", assume, Act::SiLU),
        }))
    }

    fn fused(c: &SppfConfig) -> Result<SppfConfig> {
        Ok(SppfConfig {
            cv1: c.cv1.fused(),
            cv2: c.cv2.fused(),
            ..c.clone()
        })
    }
}
