//! `SPP_NET` from yueruchen/sppnet-pytorch (`cnn_with_spp.py`, `spp_layer.py`), with the
//! fixes listed in docs/FACTS.md §3.
//!
//! Field names and weight paths are upstream's (`conv1.weight`, `BN1.running_mean`, …), so an
//! upstream state_dict loads strictly and a reader can hold `cnn_with_spp.py` beside this file.

use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Assume, Block, Module, Notes, Pickled, Shapes, MAX_SMALL, MAX_WIDTH};
use crate::nn::{leaky_relu, leaky_relu_owned, BatchNorm2d, Conv2d, Conv2dConfig, Linear, Scope};
use crate::ops::pyramid::{self, Rule};

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

    /// Check that every size is within the limits ([`MAX_WIDTH`], [`MAX_SMALL`]): positive
    /// widths, 1–64 levels of 1–1024 bins.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("input_nc", self.input_nc),
            ("ndf", self.ndf),
            ("hidden", self.hidden),
            ("classes", self.classes),
        ] {
            within("SppNet", name, v, 1, MAX_WIDTH)?;
        }
        within("SppNet", "levels count", self.levels.len() as i64, 1, 64)?;
        for &n in &self.levels {
            within("SppNet", "level", n, 1, MAX_SMALL)?;
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
/// Fixes over upstream (docs/FACTS.md §3): `LReLU1` is `LeakyReLU(0.2)` (upstream never defines it);
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
    /// Plan the pyramid for an input, so that errors name the input size rather than a layer.
    fn plan(&self, x: &Tensor) -> Result<Vec<pyramid::LevelPlan>> {
        let size = x.size();
        let &[_, _, h, w] = size.as_slice() else {
            return Err(Error::InvalidInput(format!(
                "the SppNet input must be NCHW, got shape {size:?}"
            )));
        };
        let (mh, mw) = (SppNetConfig::feature_side(h), SppNetConfig::feature_side(w));
        if mh < 1 || mw < 1 {
            return Err(Error::InvalidInput(format!(
                "a {h}×{w} input is too small for SppNet: the convolutions leave floor(side/2) − 3 \
                 per side, so each side must be at least 8"
            )));
        }
        pyramid::plan_levels(self.config.rule, &self.config.levels, mh, mw).map_err(|e| match e {
                Error::LevelDoesNotFit(msg) => {
                    Error::LevelDoesNotFit(format!("{h}×{w} input → {msg}"))
                }
                e => e,
            })
    }

    /// The pooled pyramid vector fed to fc1: fixed length whatever the input size.
    ///
    /// # Shapes
    /// `[N, input_nc, H, W]` → `[N, Σn² · 8ndf]`.
    pub fn pool_features(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let plans = self.plan(x)?;
        // Reassigned, not shadowed: each feature map is freed as soon as the next exists.
        let mut y = leaky_relu(&self.conv1.forward(x)?, 0.2)?;
        y = leaky_relu_owned(self.BN1.forward_t(&self.conv2.forward(&y)?, train)?, 0.01)?;
        y = leaky_relu_owned(self.BN2.forward_t(&self.conv3.forward(&y)?, train)?, 0.01)?;
        y = self.conv4.forward(&y)?;
        pyramid::pool_planned(&y, &self.config.levels, &plans)
    }
}

impl Module for SppNet {
    /// Four convolutions, the pyramid, fc1, fc2, sigmoid.
    ///
    /// # Shapes
    /// `[N, input_nc, H, W]` (H, W ≥ 8) → `[N, classes]`, values in (0, 1).
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let spp = self.pool_features(x, train)?;
        Ok(self
            .fc2
            .forward(&self.fc1.forward(&spp)?)?
            .f_sigmoid()?)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.config.input_nc)
    }

    /// # Shapes
    /// `[N, input_nc, H, W]` → `[N, Σn² · 8ndf]`.
    fn features_t(&self, x: &Tensor, train: bool) -> Result<Option<Tensor>> {
        self.pool_features(x, train).map(Some)
    }
}

impl Block for SppNet {
    type Config = SppNetConfig;
    const NAME: &'static str = "sppnet";
    /// Upstream's module (`cnn_with_spp`), a script's `__main__`, and our Python mirror.
    const CLASSES: &'static [&'static str] = &[
        "cnn_with_spp.SPP_NET",
        "__main__.SPP_NET",
        "sppnet_ref.yueruchen.SPP_NET",
    ];

    /// A randomly initialised network (PyTorch's default init; BN γ=1, β=0).
    fn new(s: &Scope, config: &SppNetConfig) -> Result<Self> {
        config.validate()?;
        let (nc, ndf) = (config.input_nc, config.ndf);
        let conv = |name: &str, c_in, c_out, stride, padding| {
            let cfg = Conv2dConfig {
                stride,
                padding,
                bias: false,
                ..Default::default()
            };
            Conv2d::new(&s.sub(name), c_in, c_out, 4, cfg)
        };
        let bn = |name: &str, c| BatchNorm2d::new(&s.sub(name), c, 1e-5, 0.1);
        Ok(Self {
            conv1: conv("conv1", nc, ndf, 2, 1)?,
            conv2: conv("conv2", ndf, ndf * 2, 1, 1)?,
            BN1: bn("BN1", ndf * 2)?,
            conv3: conv("conv3", ndf * 2, ndf * 4, 1, 1)?,
            BN2: bn("BN2", ndf * 4)?,
            conv4: conv("conv4", ndf * 4, ndf * 8, 1, 1)?,
            BN3: bn("BN3", ndf * 8)?,
            conv5: conv("conv5", ndf * 8, 64, 1, 0)?,
            fc1: Linear::new(&s.sub("fc1"), config.fc1_in(), config.hidden)?,
            fc2: Linear::new(&s.sub("fc2"), config.hidden, config.classes)?,
            config: config.clone(),
        })
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<SppNetConfig> {
        let levels = m.ints("output_num");
        let rule = match m.str("rule") {
            Some(r) => r.parse()?,
            None => Rule::Yueruchen,
        };
        Self::sized(m.shapes(), levels, rule, notes)
    }

    /// The weights determine every size; levels and rule are upstream's defaults, checked
    /// against fc1's input width.
    fn from_shapes(
        sd: &Shapes,
        _assume: Option<&Assume>,
        notes: &mut Notes,
    ) -> Result<Option<SppNetConfig>> {
        if !(sd.has("conv1.weight") && sd.has("fc1.weight") && sd.has("fc2.weight")) {
            return Ok(None);
        }
        notes.push("SppNet levels [4,2,1] and the yueruchen rule assumed".into());
        Self::sized(sd, None, Rule::Yueruchen, notes).map(Some)
    }
}

impl SppNet {
    fn sized(
        sd: &Shapes,
        levels: Option<Vec<i64>>,
        rule: Rule,
        _notes: &mut Notes,
    ) -> Result<SppNetConfig> {
        let config = SppNetConfig {
            input_nc: sd.dim("conv1.weight", 1)?,
            ndf: sd.dim("conv1.weight", 0)?,
            levels: levels.unwrap_or_else(|| SppNetConfig::default().levels),
            hidden: sd.dim("fc1.weight", 0)?,
            classes: sd.dim("fc2.weight", 0)?,
            rule,
        };
        config.validate()?;
        let fc1_in = sd.dim("fc1.weight", 1)?;
        if config.fc1_in() != fc1_in {
            return Err(Error::Config(format!(
                "fc1 takes {fc1_in} features but levels {:?} with ndf {} give {}: the levels differ",
                config.levels,
                config.ndf,
                config.fc1_in()
            )));
        }
        Ok(config)
    }
}
