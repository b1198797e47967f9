//! timm's `NonLocalAttn` (`timm/layers/non_local_attn.py`, timm 1.0.31): the spatial non-local
//! block — every position attends to every other (a softmax over `θ(x)ᵀ φ(x)`, scaled), the
//! attended `g(x)` projected back by `z`, normalised, added to the input. The seed note's
//! "non-local pooling" row, as the package most backbones take it from.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled, MAX_WIDTH};
use crate::nn::{BatchNorm2d, Conv2d, Conv2dConfig, Scope};
use crate::tensor::check_nchw;

/// `NonLocalAttn(in_channels, use_scale=True, rd_ratio=1/8, rd_channels=None, rd_divisor=8)`,
/// with the reduced width resolved (`rd_channels`) and the scale as a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonLocalAttnConfig {
    /// Channels in and out.
    pub in_channels: i64,
    /// Channels of θ, φ and g.
    pub rd_channels: i64,
    /// The attention logits' factor: `in_channels ** -0.5` with `use_scale`, else 1.
    pub scale: f64,
    /// BatchNorm eps of `norm`.
    #[serde(default = "eps")]
    pub bn_eps: f64,
}

fn eps() -> f64 {
    1e-5
}

/// `timm.layers.NonLocalAttn`: children `t` (θ), `p` (φ), `g`, `z` (1×1 convolutions with bias)
/// and `norm`.
#[derive(Debug)]
pub struct NonLocalAttn {
    /// θ.
    pub t: Conv2d,
    /// φ.
    pub p: Conv2d,
    /// g.
    pub g: Conv2d,
    /// The projection back.
    pub z: Conv2d,
    /// BatchNorm after `z`.
    pub norm: BatchNorm2d,
    /// Its configuration.
    pub config: NonLocalAttnConfig,
}

impl Module for NonLocalAttn {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        check_nchw(x, "the NonLocalAttn input")?;
        let t = self.t.forward(x)?;
        let p = self.p.forward(x)?;
        let g = self.g.forward(x)?;
        let [b, c, h, w] = t.size()[..] else {
            return Err(Error::InvalidInput("NonLocalAttn: θ is not 4-D".into()));
        };
        let t = t.f_view([b, c, -1])?.f_permute([0, 2, 1])?;
        let p = p.f_view([b, c, -1])?;
        let g = g.f_view([b, c, -1])?.f_permute([0, 2, 1])?;
        let att = t.f_bmm(&p)?.f_mul_scalar(self.config.scale)?;
        let att = att.f_softmax(2, None::<Kind>)?;
        let y = att.f_bmm(&g)?.f_permute([0, 2, 1])?.f_reshape([b, c, h, w])?;
        let y = self.z.forward(&y)?;
        Ok(self.norm.forward_t(&y, train)?.f_add(x)?)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.config.in_channels)
    }
}

impl Block for NonLocalAttn {
    type Config = NonLocalAttnConfig;
    const NAME: &'static str = "non_local_attn";
    const CLASSES: &'static [&'static str] = &["timm.layers.non_local_attn.NonLocalAttn"];

    fn new(s: &Scope, c: &NonLocalAttnConfig) -> Result<Self> {
        within("NonLocalAttn", "in_channels", c.in_channels, 1, MAX_WIDTH)?;
        within("NonLocalAttn", "rd_channels", c.rd_channels, 1, MAX_WIDTH)?;
        if !(c.scale.is_finite() && c.bn_eps.is_finite() && c.bn_eps > 0.0) {
            return Err(Error::Config(format!(
                "NonLocalAttn scale {} and bn_eps {} must be finite (eps > 0)",
                c.scale, c.bn_eps
            )));
        }
        let conv = |name: &str, i, o| Conv2d::new(&s.sub(name), i, o, 1, Conv2dConfig::default());
        Ok(Self {
            t: conv("t", c.in_channels, c.rd_channels)?,
            p: conv("p", c.in_channels, c.rd_channels)?,
            g: conv("g", c.in_channels, c.rd_channels)?,
            z: conv("z", c.rd_channels, c.in_channels)?,
            norm: BatchNorm2d::new(&s.sub("norm"), c.in_channels, c.bn_eps, 0.1)?,
            config: c.clone(),
        })
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<NonLocalAttnConfig> {
        let sd = m.shapes();
        let scale = m
            .float("scale")
            .ok_or_else(|| Error::Config("NonLocalAttn without its `scale`".into()))?;
        Ok(NonLocalAttnConfig {
            in_channels: sd.dim("t.weight", 1)?,
            rd_channels: sd.dim("t.weight", 0)?,
            scale,
            bn_eps: m.child("norm")?.float("eps").unwrap_or(1e-5),
        })
    }
}
