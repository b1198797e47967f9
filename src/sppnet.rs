//! `SPP_NET` from yueruchen/sppnet-pytorch, with the fixes listed in NOTES §3.
//!
//! Field names and weight paths are upstream's (`conv1.weight`, `BN1.running_mean`, …), so an
//! upstream state_dict loads strictly and a reader can hold `cnn_with_spp.py` beside this file.

use tch::nn;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::layers::{check_input, leaky_relu, BatchNorm2d, Conv2d, Conv2dConfig, Linear};
use crate::pyramid::{self, Rule};

/// Configuration of [`SppNet`]. `Default` matches upstream (`ndf=64`, levels `[4,2,1]`,
/// `Linear(10752, 4096)`, `Linear(4096, 1000)`), with `input_nc = 3` (RGB; upstream has no
/// default).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SppNetConfig {
    /// Input channels.
    pub input_nc: i64,
    /// Width of the first convolution; conv4 has `8 · ndf` channels.
    pub ndf: i64,
    /// Pyramid levels, pooled and concatenated in this order.
    pub levels: Vec<i64>,
    /// fc1 output features.
    pub hidden: i64,
    /// fc2 output features (classes).
    pub classes: i64,
    /// The bin rule of the pyramid.
    pub rule: Rule,
}

impl Default for SppNetConfig {
    fn default() -> Self {
        Self {
            input_nc: 3,
            ndf: 64,
            levels: vec![4, 2, 1],
            hidden: 4096,
            classes: 1000,
            rule: Rule::Yueruchen,
        }
    }
}

impl SppNetConfig {
    /// fc1's input features: `Σ n² · 8 · ndf` (10752 for the defaults).
    pub fn fc1_in(&self) -> i64 {
        pyramid::output_len(&self.levels, 8 * self.ndf)
    }

    /// Check that every size is positive and every level is at least 1.
    pub fn validate(&self) -> Result<()> {
        let sizes = [
            ("input_nc", self.input_nc),
            ("ndf", self.ndf),
            ("hidden", self.hidden),
            ("classes", self.classes),
        ];
        if let Some((name, v)) = sizes.iter().find(|(_, v)| *v < 1) {
            return Err(Error::Config(format!("SppNet {name} must be ≥ 1, got {v}")));
        }
        if self.levels.is_empty() || self.levels.iter().any(|&n| n < 1) {
            return Err(Error::Config(format!(
                "SppNet levels must be non-empty and ≥ 1, got {:?}",
                self.levels
            )));
        }
        Ok(())
    }

    /// The side of the feature map the pyramid sees for an input side `s`: `floor(s/2) − 3`.
    pub fn feature_side(s: i64) -> i64 {
        s / 2 - 3
    }
}

/// Upstream `SPP_NET`: four convolutions, a spatial pyramid, two linear layers, a sigmoid.
///
/// Fixes over upstream (NOTES §3): `LReLU1` is `LeakyReLU(0.2)` (upstream never defines it);
/// batches give one row per sample; the levels and rule are configurable. Kept as upstream:
/// `F.leaky_relu` (slope 0.01) after BN1 and BN2, no BN or activation after conv4, no activation
/// between fc1 and fc2, and the unused `conv5` and `BN3` (so upstream state_dicts load strictly).
#[allow(non_snake_case)]
#[derive(Debug)]
pub struct SppNet {
    /// `Conv2d(input_nc, ndf, 4, 2, 1, bias=False)`.
    pub conv1: Conv2d,
    /// `Conv2d(ndf, 2ndf, 4, 1, 1, bias=False)`.
    pub conv2: Conv2d,
    /// `BatchNorm2d(2ndf)`.
    pub BN1: BatchNorm2d,
    /// `Conv2d(2ndf, 4ndf, 4, 1, 1, bias=False)`.
    pub conv3: Conv2d,
    /// `BatchNorm2d(4ndf)`.
    pub BN2: BatchNorm2d,
    /// `Conv2d(4ndf, 8ndf, 4, 1, 1, bias=False)`.
    pub conv4: Conv2d,
    /// `BatchNorm2d(8ndf)`, unused by forward (as upstream).
    pub BN3: BatchNorm2d,
    /// `Conv2d(8ndf, 64, 4, 1, 0, bias=False)`, unused by forward (as upstream).
    pub conv5: Conv2d,
    /// `Linear(Σn²·8ndf, hidden)`.
    pub fc1: Linear,
    /// `Linear(hidden, classes)`.
    pub fc2: Linear,
    /// The configuration it was built with.
    pub config: SppNetConfig,
}

impl SppNet {
    /// A randomly initialised network under `p` (PyTorch's default init; BN γ=1, β=0).
    pub fn new(p: &nn::Path, config: SppNetConfig) -> Result<Self> {
        config.validate()?;
        let (nc, ndf) = (config.input_nc, config.ndf);
        let conv = |name: &str, c_in, c_out, stride, padding| {
            Conv2d::new(
                p / name,
                c_in,
                c_out,
                4,
                Conv2dConfig {
                    stride,
                    padding,
                    bias: false,
                    ..Default::default()
                },
            )
        };
        let bn = |name: &str, c| BatchNorm2d::new(p / name, c, 1e-5, 0.1);
        Ok(Self {
            conv1: conv("conv1", nc, ndf, 2, 1),
            conv2: conv("conv2", ndf, ndf * 2, 1, 1),
            BN1: bn("BN1", ndf * 2),
            conv3: conv("conv3", ndf * 2, ndf * 4, 1, 1),
            BN2: bn("BN2", ndf * 4),
            conv4: conv("conv4", ndf * 4, ndf * 8, 1, 1),
            BN3: bn("BN3", ndf * 8),
            conv5: conv("conv5", ndf * 8, 64, 1, 0),
            fc1: Linear::new(p / "fc1", config.fc1_in(), config.hidden),
            fc2: Linear::new(p / "fc2", config.hidden, config.classes),
            config,
        })
    }

    /// Check an input before running it, so that errors name the input rather than a layer.
    fn check_input(&self, x: &Tensor) -> Result<()> {
        check_input(
            x,
            "the SppNet input",
            self.config.input_nc,
            &self.conv1.weight,
        )?;
        let (h, w) = (x.size()[2], x.size()[3]);
        let (mh, mw) = (SppNetConfig::feature_side(h), SppNetConfig::feature_side(w));
        if mh < 1 || mw < 1 {
            return Err(Error::InvalidInput(format!(
                "a {h}×{w} input is too small for SppNet: the convolutions leave floor(side/2) − 3 \
                 per side, so each side must be at least 8"
            )));
        }
        pyramid::plan_levels(self.config.rule, &self.config.levels, mh, mw)
            .map(|_| ())
            .map_err(|e| match e {
                Error::LevelDoesNotFit(msg) => {
                    Error::LevelDoesNotFit(format!("{h}×{w} input → {msg}"))
                }
                e => e,
            })
    }

    /// Run the network: BatchNorm uses running statistics (`train = false`, PyTorch's eval
    /// mode) or batch statistics, updating the running ones (`train = true`).
    ///
    /// # Shapes
    /// `[N, input_nc, H, W]` (H, W ≥ 8) → `[N, classes]`, values in (0, 1).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let spp = self.features_t(x, train)?;
        self.fc2
            .forward(&self.fc1.forward(&spp)?)?
            .f_sigmoid()
            .map_err(Error::from)
    }

    /// Eval-mode [`SppNet::forward_t`].
    ///
    /// # Shapes
    /// `[N, input_nc, H, W]` → `[N, classes]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_t(x, false)
    }

    /// The pooled pyramid vector fed to fc1: fixed length whatever the input size.
    ///
    /// # Shapes
    /// `[N, input_nc, H, W]` → `[N, Σn² · 8ndf]`.
    pub fn features_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let x = leaky_relu(&self.conv1.forward(x)?, 0.2)?;
        let x = leaky_relu(&self.BN1.forward_t(&self.conv2.forward(&x)?, train)?, 0.01)?;
        let x = leaky_relu(&self.BN2.forward_t(&self.conv3.forward(&x)?, train)?, 0.01)?;
        let x = self.conv4.forward(&x)?;
        pyramid::spatial_pyramid_pool(&x, &self.config.levels, self.config.rule)
    }
}
