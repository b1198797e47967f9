//! `torch.nn.Conv2d` as a module of its own (the last layer of each Detect branch, `CBLinear`'s
//! and `DFL`'s convolutions, and what `fuse` leaves of `RepConv` and `RepVGGDW`).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled, MAX_SMALL, MAX_WIDTH};
use crate::nn::{self, Conv2dConfig, Scope};
use crate::modules::Args;

/// `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
/// groups=1, bias=True)` with square kernels, strides, paddings and dilations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dBlockConfig {
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Kernel size.
    pub kernel_size: i64,
    /// Stride.
    #[serde(default = "one")]
    pub stride: i64,
    /// Zero padding.
    #[serde(default)]
    pub padding: i64,
    /// Dilation.
    #[serde(default = "one")]
    pub dilation: i64,
    /// Groups.
    #[serde(default = "one")]
    pub groups: i64,
    /// Whether it has a bias.
    #[serde(default = "yes")]
    pub bias: bool,
}

fn one() -> i64 {
    1
}
fn yes() -> bool {
    true
}

/// `nn.Conv2d`: keys `weight`, `bias`.
#[derive(Debug)]
pub struct Conv2dBlock {
    /// The convolution.
    pub conv: nn::Conv2d,
    /// Input channels.
    pub in_channels: i64,
}

impl Module for Conv2dBlock {
    /// # Shapes
    /// `[N, in_channels, H, W]` → `[N, out_channels, H', W']`.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.conv.forward(x)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.in_channels)
    }
}

/// A square setting of a pickled `nn.Conv2d` (`(k, k)`), refusing rectangular ones.
pub fn square(m: &Pickled<'_>, name: &str, default: i64) -> Result<i64> {
    match m.ints(name) {
        Some(v) if v.windows(2).any(|w| w[0] != w[1]) => Err(Error::Config(format!(
            "{} {name} {v:?} is not square (only square convolutions are supported)",
            m.class()
        ))),
        Some(v) => Ok(v.first().copied().unwrap_or(default)),
        None => Ok(m.int(name).unwrap_or(default)),
    }
}

impl Block for Conv2dBlock {
    type Config = Conv2dBlockConfig;
    const NAME: &'static str = "conv2d";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.conv.Conv2d"];

    fn new(s: &Scope, c: &Conv2dBlockConfig) -> Result<Self> {
        within("Conv2d", "in_channels", c.in_channels, 1, MAX_WIDTH)?;
        within("Conv2d", "out_channels", c.out_channels, 1, MAX_WIDTH)?;
        within("Conv2d", "groups", c.groups, 1, MAX_WIDTH)?;
        within("Conv2d", "kernel_size", c.kernel_size, 1, MAX_SMALL)?;
        within("Conv2d", "stride", c.stride, 1, MAX_SMALL)?;
        within("Conv2d", "padding", c.padding, 0, MAX_SMALL)?;
        within("Conv2d", "dilation", c.dilation, 1, MAX_SMALL)?;
        if c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0 {
            return Err(Error::Config(format!(
                "Conv2d channels {}→{} are not divisible by groups {}",
                c.in_channels, c.out_channels, c.groups
            )));
        }
        let config = Conv2dConfig {
            stride: c.stride,
            padding: c.padding,
            dilation: c.dilation,
            groups: c.groups,
            bias: c.bias,
        };
        Ok(Self {
            conv: nn::Conv2d::new(s, c.in_channels, c.out_channels, c.kernel_size, config)?,
            in_channels: c.in_channels,
        })
    }

    /// `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    /// groups=1, bias=True)`.
    fn from_args(a: &Args) -> Result<Option<Conv2dBlockConfig>> {
        a.at_most(&["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"])?;
        if a.get(4, "padding").is_some_and(|v| v.is_string()) {
            return Err(Error::Config("Conv2d with a string padding (`same`/`valid`) is not supported".into()));
        }
        Ok(Some(Conv2dBlockConfig {
            in_channels: a.int(0, "in_channels")?,
            out_channels: a.int(1, "out_channels")?,
            kernel_size: a.square(2, "kernel_size", 0)?,
            stride: a.square(3, "stride", 1)?,
            padding: a.square(4, "padding", 0)?,
            dilation: a.square(5, "dilation", 1)?,
            groups: a.int_or(6, "groups", 1)?,
            bias: a.bool_or(7, "bias", true)?,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<Conv2dBlockConfig> {
        let sd = m.shapes();
        let groups = m.int("groups").unwrap_or(1);
        if m.str("padding_mode").is_some_and(|p| p != "zeros") {
            return Err(Error::Config(format!(
                "Conv2d padding_mode `{}` is not supported (only zeros)",
                m.str("padding_mode").unwrap_or_default()
            )));
        }
        if m.str("padding").is_some() {
            return Err(Error::Config(
                "Conv2d with a string padding (`same`/`valid`) is not supported".into(),
            ));
        }
        Ok(Conv2dBlockConfig {
            in_channels: sd.dim("weight", 1)?.saturating_mul(groups),
            out_channels: sd.dim("weight", 0)?,
            kernel_size: square(m, "kernel_size", sd.dim("weight", 2)?)?,
            stride: square(m, "stride", 1)?,
            padding: square(m, "padding", 0)?,
            dilation: square(m, "dilation", 1)?,
            groups,
            bias: sd.has("bias"),
        })
    }
}
