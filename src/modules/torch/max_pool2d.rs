//! `torch.nn.MaxPool2d` as a module of its own: upstream's arguments and defaults, PyTorch's
//! refusals, libtorch's op (`ops::pool2d`).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{Block, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::ops::pool2d::{check_window, max_pool2d, MaxPoolOptions, Pair};

fn zeros() -> Pair {
    [0, 0]
}

fn ones() -> Pair {
    [1, 1]
}

/// `nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPool2dBlockConfig {
    /// Window size.
    pub kernel_size: Pair,
    /// Step between windows (`None`: the kernel).
    #[serde(default)]
    pub stride: Option<Pair>,
    /// −inf padding.
    #[serde(default = "zeros")]
    pub padding: Pair,
    /// Dilation.
    #[serde(default = "ones")]
    pub dilation: Pair,
    /// Round output sizes up.
    #[serde(default)]
    pub ceil_mode: bool,
}

/// `torch.nn.MaxPool2d`.
#[derive(Debug)]
pub struct MaxPool2dBlock {
    /// The window.
    pub options: MaxPoolOptions,
}

impl Module for MaxPool2dBlock {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, Ho, Wo]` (PyTorch's sizes).
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        max_pool2d(x, &self.options)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for MaxPool2dBlock {
    type Config = MaxPool2dBlockConfig;
    const NAME: &'static str = "max_pool2d";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.pooling.MaxPool2d"];

    fn new(_s: &Scope, c: &MaxPool2dBlockConfig) -> Result<Self> {
        let stride = c.stride.unwrap_or(c.kernel_size);
        check_window("MaxPool2d", [c.kernel_size, stride, c.padding, c.dilation])?;
        Ok(Self {
            options: MaxPoolOptions {
                kernel: c.kernel_size,
                stride,
                padding: c.padding,
                dilation: c.dilation,
                ceil_mode: c.ceil_mode,
            },
        })
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<MaxPool2dBlockConfig> {
        if m.bool("return_indices") == Some(true) {
            return Err(Error::Config("MaxPool2d with return_indices=True is not supported".into()));
        }
        let kernel_size = m.pair("kernel_size")
            .ok_or_else(|| Error::Config("MaxPool2d without a kernel_size".into()))?;
        Ok(MaxPool2dBlockConfig {
            kernel_size,
            stride: m.pair("stride"),
            padding: m.pair("padding").unwrap_or([0, 0]),
            dilation: m.pair("dilation").unwrap_or([1, 1]),
            ceil_mode: m.bool("ceil_mode").unwrap_or(false),
        })
    }
}

