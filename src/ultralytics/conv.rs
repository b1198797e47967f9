//! ultralytics `Conv`: Conv2d(bias=False, autopad) → BatchNorm2d → activation, and its fused
//! layout (conv with bias, no BatchNorm) that `model.fuse()` leaves.

use tch::nn;
use tch::Tensor;

use super::Act;
use crate::error::{Error, Result};
use crate::layers::{check_input, BatchNorm2d, Conv2d, Conv2dConfig};

/// Per-`Conv` settings that a checkpoint must record because the state_dict cannot: the
/// activation, BatchNorm eps and momentum, and whether BatchNorm has been folded in.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvOpts {
    /// The activation (`act=True` → SiLU, `act=False` → Identity).
    pub act: Act,
    /// BatchNorm eps: 1e-5 for bare modules, 1e-3 inside a `DetectionModel` (NOTES §5).
    pub bn_eps: f64,
    /// BatchNorm momentum: 0.1 bare, 0.03 inside a `DetectionModel`.
    pub bn_momentum: f64,
    /// Fused layout: `conv.bias` present, no `bn.*` keys.
    pub fused: bool,
}

impl Default for ConvOpts {
    fn default() -> Self {
        Self {
            act: Act::SiLU,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
            fused: false,
        }
    }
}

impl ConvOpts {
    /// The defaults with another activation.
    pub fn with_act(act: Act) -> Self {
        Self {
            act,
            ..Self::default()
        }
    }
}

/// `Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True)`'s arguments after the channels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)] // unknown keys are refused by the flattened ConvOpts
pub struct ConvConfig {
    /// Kernel size.
    pub k: i64,
    /// Stride.
    pub s: i64,
    /// Padding; `None` = ultralytics' `autopad` ("same" for odd kernels at stride 1).
    pub p: Option<i64>,
    /// Groups.
    pub g: i64,
    /// Dilation.
    pub d: i64,
    /// Activation, BatchNorm settings, fused or not.
    #[serde(flatten)]
    pub opts: ConvOpts,
}

impl Default for ConvConfig {
    fn default() -> Self {
        Self {
            k: 1,
            s: 1,
            p: None,
            g: 1,
            d: 1,
            opts: ConvOpts::default(),
        }
    }
}

/// ultralytics' `autopad(k, p, d)`: `p` when given, else half the effective kernel size.
pub fn autopad(k: i64, p: Option<i64>, d: i64) -> i64 {
    p.unwrap_or_else(|| if d > 1 { d * (k - 1) + 1 } else { k } / 2)
}

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
    /// A randomly initialised `Conv(c1, c2, …)` under `p`.
    pub fn new(p: &nn::Path, c1: i64, c2: i64, cfg: &ConvConfig) -> Result<Self> {
        let fields = [
            ("c1", c1),
            ("c2", c2),
            ("k", cfg.k),
            ("s", cfg.s),
            ("g", cfg.g),
            ("d", cfg.d),
        ];
        if let Some((name, v)) = fields.iter().find(|(_, v)| *v < 1) {
            return Err(Error::Config(format!("Conv {name} must be ≥ 1, got {v}")));
        }
        if c1 % cfg.g != 0 || c2 % cfg.g != 0 {
            return Err(Error::Config(format!(
                "Conv channels {c1}→{c2} are not divisible by groups {}",
                cfg.g
            )));
        }
        let padding = autopad(cfg.k, cfg.p, cfg.d);
        if padding < 0 || cfg.opts.bn_eps.is_nan() || cfg.opts.bn_eps <= 0.0 {
            return Err(Error::Config(format!(
                "Conv padding {padding} / bn eps {} out of range",
                cfg.opts.bn_eps
            )));
        }
        let conv_cfg = Conv2dConfig {
            stride: cfg.s,
            padding,
            dilation: cfg.d,
            groups: cfg.g,
            bias: cfg.opts.fused,
        };
        let conv = Conv2d::new(p / "conv", c1, c2, cfg.k, conv_cfg);
        let bn = (!cfg.opts.fused)
            .then(|| BatchNorm2d::new(p / "bn", c2, cfg.opts.bn_eps, cfg.opts.bn_momentum));
        Ok(Self {
            conv,
            bn,
            act: cfg.opts.act,
            c1,
        })
    }

    /// `act(bn(conv(x)))`, or `act(conv(x))` when fused. BatchNorm in eval mode (`train =
    /// false`) or training mode.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H', W']`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        check_input(x, "the Conv input", self.c1, &self.conv.weight)?;
        let y = self.conv.forward(x)?;
        let y = match &self.bn {
            Some(bn) => bn.forward_t(&y, train)?,
            None => y,
        };
        self.act.forward(&y)
    }

    /// Eval-mode [`Conv::forward_t`].
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H', W']`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_t(x, false)
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
