//! `torch.nn.AvgPool2d` as a module of its own: upstream's arguments and defaults, PyTorch's
//! refusals, libtorch's op (`ops::pool2d`).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::ops::pool2d::{avg_pool2d, check_window, AvgPoolOptions, Pair};

fn zeros() -> Pair {
    [0, 0]
}

/// `nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
/// divisor_override=None)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvgPool2dBlockConfig {
    /// Window size.
    pub kernel_size: Pair,
    /// Step between windows (`None`: the kernel).
    #[serde(default)]
    pub stride: Option<Pair>,
    /// Zero padding.
    #[serde(default = "zeros")]
    pub padding: Pair,
    /// Round output sizes up.
    #[serde(default)]
    pub ceil_mode: bool,
    /// Count the padding in the divisor.
    #[serde(default = "yes")]
    pub count_include_pad: bool,
    /// Divide by this instead.
    #[serde(default)]
    pub divisor_override: Option<i64>,
}

fn yes() -> bool {
    true
}

/// `torch.nn.AvgPool2d`.
#[derive(Debug)]
pub struct AvgPool2dBlock {
    /// The window.
    pub options: AvgPoolOptions,
}

impl Module for AvgPool2dBlock {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, Ho, Wo]` (PyTorch's sizes).
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        avg_pool2d(x, &self.options)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for AvgPool2dBlock {
    type Config = AvgPool2dBlockConfig;
    const NAME: &'static str = "avg_pool2d";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.pooling.AvgPool2d"];

    fn new(_s: &Scope, c: &AvgPool2dBlockConfig) -> Result<Self> {
        let stride = c.stride.unwrap_or(c.kernel_size);
        check_window("AvgPool2d", [c.kernel_size, stride, c.padding, [1, 1]])?;
        if let Some(d) = c.divisor_override {
            within("AvgPool2d", "divisor_override", d, 1, i64::from(i32::MAX))?;
        }
        Ok(Self {
            options: AvgPoolOptions {
                kernel: c.kernel_size,
                stride,
                padding: c.padding,
                ceil_mode: c.ceil_mode,
                count_include_pad: c.count_include_pad,
                divisor_override: c.divisor_override,
            },
        })
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<AvgPool2dBlockConfig> {
        let kernel_size = m.pair("kernel_size")
            .ok_or_else(|| Error::Config("AvgPool2d without a kernel_size".into()))?;
        Ok(AvgPool2dBlockConfig {
            kernel_size,
            stride: m.pair("stride"),
            padding: m.pair("padding").unwrap_or([0, 0]),
            ceil_mode: m.bool("ceil_mode").unwrap_or(false),
            count_include_pad: m.bool("count_include_pad").unwrap_or(true),
            divisor_override: m.int("divisor_override"),
        })
    }
}
