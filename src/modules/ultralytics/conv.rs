//! ultralytics `Conv` (`ultralytics/nn/modules/conv.py`, 8.4.190): Conv2d(bias=False, autopad)
//! → BatchNorm2d → activation, and its fused layout (conv with bias, no BatchNorm) that
//! `model.fuse()` leaves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{
    within, Args, Assume, Block, Fuse, Module, Notes, Pickled, Shapes, MAX_SMALL, MAX_WIDTH,
};
use crate::nn::{Act, BatchNorm2d, Conv2d, Conv2dConfig, Scope};

pub use super::conv_opts::{autopad, note_assumptions, ConvConfig, ConvOpts};

/// ultralytics `Conv`. Keys: `conv.weight`, and `bn.{weight,bias,running_mean,running_var,
/// num_batches_tracked}`, or `conv.bias` instead of `bn.*` when fused.
#[derive(Debug)]
pub struct Conv {
    /// The convolution (with a bias only when fused).
    pub conv: Conv2d,
    /// BatchNorm; `None` in the fused layout.
    pub bn: Option<BatchNorm2d>,
    /// The activation.
    pub act: Act,
    /// Input channels.
    pub c1: i64,
}

impl Conv {
    /// A randomly initialised `Conv(c1, c2, …)` in `s`.
    pub fn build(s: &Scope, c1: i64, c2: i64, cfg: &ConvConfig) -> Result<Self> {
        for (name, v, hi) in [
            ("c1", c1, MAX_WIDTH),
            ("c2", c2, MAX_WIDTH),
            ("g", cfg.g, MAX_WIDTH),
            ("k", cfg.k, MAX_SMALL),
            ("s", cfg.s, MAX_SMALL),
            ("d", cfg.d, MAX_SMALL),
        ] {
            within("Conv", name, v, 1, hi)?;
        }
        if let Some(p) = cfg.p {
            within("Conv", "p", p, 0, MAX_SMALL)?;
        }
        if c1 % cfg.g != 0 || c2 % cfg.g != 0 {
            return Err(Error::Config(format!(
                "Conv channels {c1}→{c2} are not divisible by groups {}",
                cfg.g
            )));
        }
        if let Act::LeakyReLU(slope) = cfg.opts.act {
            if !slope.is_finite() {
                return Err(Error::Config(format!("LeakyReLU slope {slope} is not finite")));
            }
        }
        let padding = autopad(cfg.k, cfg.p, cfg.d);
        let (eps, momentum) = (cfg.opts.bn_eps, cfg.opts.bn_momentum);
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::Config(format!(
                "Conv BatchNorm eps must be finite and above 0, got {eps}"
            )));
        }
        if !(momentum.is_finite() && (0.0..=1.0).contains(&momentum)) {
            return Err(Error::Config(format!(
                "Conv BatchNorm momentum must be in 0..=1, got {momentum}"
            )));
        }
        let conv_cfg = Conv2dConfig {
            stride: cfg.s,
            padding,
            dilation: cfg.d,
            groups: cfg.g,
            bias: cfg.opts.fused,
        };
        let conv = Conv2d::new(&s.sub("conv"), c1, c2, cfg.k, conv_cfg)?;
        let bn = match cfg.opts.fused {
            false => Some(BatchNorm2d::new(
                &s.sub("bn"),
                c2,
                cfg.opts.bn_eps,
                cfg.opts.bn_momentum,
            )?),
            true => None,
        };
        Ok(Self {
            conv,
            bn,
            act: cfg.opts.act,
            c1,
        })
    }


    /// BatchNorm folded into the convolution, with the arithmetic of ultralytics'
    /// `fuse_conv_and_bn` (torch's `fuse_conv_bn_weights`), op for op:
    /// `w·(γ·rsqrt(var+eps))` and `(b − mean)·rsqrt(var+eps)·γ + β`.
    /// Returns `None` when already fused.
    ///
    /// # Shapes
    /// → (`[c2, c1/g, k, k]`, `[c2]`).
    pub fn fused_weights(&self) -> Result<Option<(Tensor, Tensor)>> {
        let Some(bn) = &self.bn else { return Ok(None) };
        tch::no_grad(|| {
            let rsqrt = bn.running_var.f_add_scalar(bn.eps)?.f_rsqrt()?;
            let scale = bn.weight.f_mul(&rsqrt)?.f_reshape([-1, 1, 1, 1])?;
            let weight = self.conv.weight.f_mul(&scale)?;
            let bias = match &self.conv.bias {
                Some(b) => b.shallow_clone(),
                None => bn.running_mean.f_zeros_like()?,
            };
            let bias = bias
                .f_sub(&bn.running_mean)?
                .f_mul(&rsqrt)?
                .f_mul(&bn.weight)?
                .f_add(&bn.bias)?;
            Ok(Some((weight, bias)))
        })
    }
}

impl Module for Conv {
    /// `act(bn(conv(x)))`, or `act(conv(x))` when fused.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H', W']`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.conv.forward(x)?;
        let y = match &self.bn {
            Some(bn) => bn.forward_t(&y, train)?,
            None => y,
        };
        self.act.forward(&y)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.c1)
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        vec![(String::new(), self as &dyn Fuse)]
    }
}

impl Fuse for Conv {
    /// `{prefix}bn.*` removed, `{prefix}conv.weight` and `{prefix}conv.bias` replaced by
    /// [`Conv::fused_weights`]; already-fused convs are left as they are.
    fn fold(&self, prefix: &str, sd: &mut BTreeMap<String, Tensor>) -> Result<()> {
        if let Some((weight, bias)) = self.fused_weights()? {
            let bn = format!("{prefix}bn.");
            sd.retain(|k, _| !k.starts_with(&bn));
            sd.insert(format!("{prefix}conv.weight"), weight);
            sd.insert(format!("{prefix}conv.bias"), bias);
        }
        Ok(())
    }
}

/// A standalone `Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True)`'s config: the channels and
/// [`ConvConfig`], one flat JSON object (unknown fields refused).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FlatConvConfig")]
pub struct ConvBlockConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Everything else.
    #[serde(flatten)]
    pub conv: ConvConfig,
}

/// The flat form of [`ConvBlockConfig`], which serde can check for unknown fields (a
/// `#[serde(flatten)]` struct cannot).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatConvConfig {
    c1: i64,
    c2: i64,
    #[serde(default = "one")]
    k: i64,
    #[serde(default = "one")]
    s: i64,
    #[serde(default)]
    p: Option<i64>,
    #[serde(default = "one")]
    g: i64,
    #[serde(default = "one")]
    d: i64,
    #[serde(default)]
    act: Act,
    #[serde(default = "default_eps")]
    bn_eps: f64,
    #[serde(default = "default_momentum")]
    bn_momentum: f64,
    #[serde(default)]
    fused: bool,
}

fn one() -> i64 {
    1
}
fn default_eps() -> f64 {
    ConvOpts::default().bn_eps
}
fn default_momentum() -> f64 {
    ConvOpts::default().bn_momentum
}

impl TryFrom<FlatConvConfig> for ConvBlockConfig {
    type Error = String;
    fn try_from(f: FlatConvConfig) -> std::result::Result<Self, String> {
        Ok(ConvBlockConfig {
            c1: f.c1,
            c2: f.c2,
            conv: ConvConfig {
                k: f.k,
                s: f.s,
                p: f.p,
                g: f.g,
                d: f.d,
                opts: ConvOpts {
                    act: f.act,
                    bn_eps: f.bn_eps,
                    bn_momentum: f.bn_momentum,
                    fused: f.fused,
                },
            },
        })
    }
}

impl Block for Conv {
    type Config = ConvBlockConfig;
    const NAME: &'static str = "conv";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.conv.Conv"];

    fn new(s: &Scope, c: &ConvBlockConfig) -> Result<Self> {
        Conv::build(s, c.c1, c.c2, &c.conv)
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<ConvBlockConfig> {
        let conv = m.child("conv")?;
        let g = conv.int("groups").unwrap_or(1);
        let sd = m.shapes();
        Ok(ConvBlockConfig {
            c1: sd.dim("conv.weight", 1)? * g,
            c2: sd.dim("conv.weight", 0)?,
            conv: ConvConfig {
                k: conv
                    .int("kernel_size")
                    .map_or_else(|| sd.dim("conv.weight", 2), Ok)?,
                s: conv.int("stride").unwrap_or(1),
                p: conv.int("padding"),
                g,
                d: conv.int("dilation").unwrap_or(1),
                opts: ConvOpts::from_pickle(m)?,
            },
        })
    }

    fn from_shapes(
        sd: &Shapes,
        assume: Option<&Assume>,
        notes: &mut Notes,
    ) -> Result<Option<ConvBlockConfig>> {
        let Some(assume) = assume else {
            return Ok(None);
        };
        if !sd.has("conv.weight") {
            return Ok(None);
        }
        note_assumptions(assume, notes, "SiLU");
        notes.push("Conv stride 1, groups 1, dilation 1, autopad assumed".into());
        Ok(Some(ConvBlockConfig {
            c1: sd.dim("conv.weight", 1)?,
            c2: sd.dim("conv.weight", 0)?,
            conv: ConvConfig {
                k: sd.dim("conv.weight", 2)?,
                opts: ConvOpts::from_shapes(sd, "", assume, Act::SiLU),
                ..ConvConfig::default()
            },
        }))
    }

    /// `Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True)`; the padding is stored resolved
    /// (`autopad`), as a pickle holds it.
    fn from_args(a: &Args) -> Result<Option<ConvBlockConfig>> {
        a.at_most(&["c1", "c2", "k", "s", "p", "g", "d", "act"])?;
        let (k, d) = (a.square(2, "k", 1)?, a.int_or(6, "d", 1)?);
        Ok(Some(ConvBlockConfig {
            c1: a.int(0, "c1")?,
            c2: a.int(1, "c2")?,
            conv: ConvConfig {
                k,
                s: a.int_or(3, "s", 1)?,
                p: Some(autopad(k, a.opt_int(4, "p")?, d)),
                g: a.int_or(5, "g", 1)?,
                d,
                opts: ConvOpts::built(&a.init, a.act(7, "act")?),
            },
        }))
    }

    fn fused(c: &ConvBlockConfig) -> Result<ConvBlockConfig> {
        let mut f = *c;
        f.conv.opts = c.conv.opts.fused();
        Ok(f)
    }
}
