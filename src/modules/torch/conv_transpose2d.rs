//! `torch.nn.ConvTranspose2d` (YOLOv6's upsampling layers: kernel 2, stride 2, with a bias, no
//! BatchNorm).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::modules::conv2d::square;
use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled, MAX_SMALL, MAX_WIDTH};
use crate::nn::{torch_default_init, Scope};
use crate::modules::Args;

/// `nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
/// output_padding=0, groups=1, bias=True, dilation=1)`, square.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvTranspose2dConfig {
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Kernel size.
    pub kernel_size: i64,
    /// Stride.
    #[serde(default = "one")]
    pub stride: i64,
    /// Padding.
    #[serde(default)]
    pub padding: i64,
    /// Output padding.
    #[serde(default)]
    pub output_padding: i64,
    /// Groups.
    #[serde(default = "one")]
    pub groups: i64,
    /// Whether it has a bias.
    #[serde(default = "yes")]
    pub bias: bool,
    /// Dilation.
    #[serde(default = "one")]
    pub dilation: i64,
}

fn one() -> i64 {
    1
}
fn yes() -> bool {
    true
}

/// `nn.ConvTranspose2d`: keys `weight` `[in, out / groups, k, k]`, `bias`.
#[derive(Debug)]
pub struct ConvTranspose2d {
    /// Weight.
    pub weight: Tensor,
    /// Bias.
    pub bias: Option<Tensor>,
    /// Settings.
    pub config: ConvTranspose2dConfig,
}

impl Module for ConvTranspose2d {
    /// # Shapes
    /// `[N, in, H, W]` → `[N, out, (H − 1)·s − 2p + d·(k − 1) + op + 1, …]`.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let c = &self.config;
        Ok(x.f_conv_transpose2d(
            &self.weight,
            self.bias.as_ref(),
            [c.stride, c.stride],
            [c.padding, c.padding],
            [c.output_padding, c.output_padding],
            c.groups,
            [c.dilation, c.dilation],
        )?)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.config.in_channels)
    }
}

impl Block for ConvTranspose2d {
    type Config = ConvTranspose2dConfig;
    const NAME: &'static str = "conv_transpose2d";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.conv.ConvTranspose2d"];

    fn new(s: &Scope, c: &ConvTranspose2dConfig) -> Result<Self> {
        let name = "ConvTranspose2d";
        within(name, "in_channels", c.in_channels, 1, MAX_WIDTH)?;
        within(name, "out_channels", c.out_channels, 1, MAX_WIDTH)?;
        within(name, "groups", c.groups, 1, MAX_WIDTH)?;
        within(name, "kernel_size", c.kernel_size, 1, MAX_SMALL)?;
        within(name, "stride", c.stride, 1, MAX_SMALL)?;
        within(name, "padding", c.padding, 0, MAX_SMALL)?;
        within(name, "output_padding", c.output_padding, 0, MAX_SMALL)?;
        within(name, "dilation", c.dilation, 1, MAX_SMALL)?;
        if c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0 {
            return Err(Error::Config(format!(
                "ConvTranspose2d channels {}→{} are not divisible by groups {}",
                c.in_channels, c.out_channels, c.groups
            )));
        }
        let fan_in = (c.out_channels / c.groups).saturating_mul(c.kernel_size.saturating_mul(c.kernel_size));
        let dims = [c.in_channels, c.out_channels / c.groups, c.kernel_size, c.kernel_size];
        Ok(Self {
            weight: s.var("weight", &dims, torch_default_init(fan_in))?,
            bias: match c.bias {
                true => Some(s.var("bias", &[c.out_channels], torch_default_init(fan_in))?),
                false => None,
            },
            config: *c,
        })
    }

    /// `nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    /// output_padding=0, groups=1, bias=True, dilation=1)`.
    fn from_args(a: &Args) -> Result<Option<ConvTranspose2dConfig>> {
        a.at_most(&[
            "in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation",
        ])?;
        Ok(Some(ConvTranspose2dConfig {
            in_channels: a.int(0, "in_channels")?,
            out_channels: a.int(1, "out_channels")?,
            kernel_size: a.square(2, "kernel_size", 0)?,
            stride: a.square(3, "stride", 1)?,
            padding: a.square(4, "padding", 0)?,
            output_padding: a.square(5, "output_padding", 0)?,
            groups: a.int_or(6, "groups", 1)?,
            bias: a.bool_or(7, "bias", true)?,
            dilation: a.square(8, "dilation", 1)?,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<ConvTranspose2dConfig> {
        let sd = m.shapes();
        let groups = m.int("groups").unwrap_or(1);
        Ok(ConvTranspose2dConfig {
            in_channels: sd.dim("weight", 0)?,
            out_channels: sd.dim("weight", 1)?.saturating_mul(groups),
            kernel_size: square(m, "kernel_size", sd.dim("weight", 2)?)?,
            stride: square(m, "stride", 1)?,
            padding: square(m, "padding", 0)?,
            output_padding: square(m, "output_padding", 0)?,
            groups,
            bias: sd.has("bias"),
            dilation: square(m, "dilation", 1)?,
        })
    }
}
