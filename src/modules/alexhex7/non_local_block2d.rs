//! `NONLocalBlock2D` of AlexHex7/Non-local_pytorch (Wang et al. 2018), the four pairwise
//! functions of its four files — embedded Gaussian, Gaussian, dot product, concatenation —
//! with `sub_sample` (a 2×2 max pool after `g` and `phi`) and `bn_layer` (BatchNorm after `W`).
//! The reference is our mirror `python/sppnet_ref/non_local.py`, which cites the files and its
//! departures (upstream's Gaussian reads an attribute no constructor sets).

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::modules::{within, Block, Module, Notes, Pickled, MAX_WIDTH};
use crate::nn::{BatchNorm2d, Conv2d, Conv2dConfig, Scope};
use crate::tensor::check_nchw;

/// The pairwise function `f(θ(xi), φ(xj))` and its normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `softmax(θᵀφ)` over learned embeddings.
    Embedded,
    /// `softmax(xᵀx)` on the input itself.
    Gaussian,
    /// `θᵀφ / N`.
    Dot,
    /// `ReLU(w · [θ, φ]) / N`.
    Concatenation,
}

/// `NONLocalBlock2D(in_channels, inter_channels=None, sub_sample=True, bn_layer=True)` of one
/// of the four files (`mode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonLocalBlock2dConfig {
    /// Channels in and out.
    pub in_channels: i64,
    /// Channels of θ, φ and g (upstream's default: half, at least 1).
    pub inter_channels: i64,
    /// A 2×2 max pool after `g` and `phi`.
    #[serde(default = "yes")]
    pub sub_sample: bool,
    /// BatchNorm after `W`'s convolution.
    #[serde(default = "yes")]
    pub bn_layer: bool,
    /// The pairwise function.
    pub mode: Mode,
}

fn yes() -> bool {
    true
}

/// The block: `g`, `theta`, `phi` (1×1 convolutions), `W` (a convolution, then BatchNorm with
/// `bn_layer`), `concat_project` (concatenation only).
#[derive(Debug)]
pub struct NonLocalBlock2d {
    /// g.
    pub g: Conv2d,
    /// θ (not in the Gaussian mode).
    pub theta: Option<Conv2d>,
    /// φ (not in the Gaussian mode).
    pub phi: Option<Conv2d>,
    /// W's convolution.
    pub w: Conv2d,
    /// W's BatchNorm.
    pub w_bn: Option<BatchNorm2d>,
    /// The concatenation's projection (no bias), then ReLU.
    pub concat_project: Option<Conv2d>,
    /// Its configuration.
    pub config: NonLocalBlock2dConfig,
}

impl NonLocalBlock2d {
    fn pool(&self, x: Tensor) -> Result<Tensor> {
        Ok(if self.config.sub_sample {
            x.f_max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false)?
        } else {
            x
        })
    }
}

impl Module for NonLocalBlock2d {
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let d = check_nchw(x, "the NONLocalBlock2D input")?;
        let (b, ic, c) = (d.n, self.config.inter_channels, self.config.in_channels);
        let g = self.pool(self.g.forward(x)?)?.f_view([b, ic, -1])?.f_permute([0, 2, 1])?;
        let missing = || Error::Config("NONLocalBlock2D: θ/φ missing".into());
        let f = match self.config.mode {
            Mode::Gaussian => {
                let t = x.f_view([b, c, -1])?.f_permute([0, 2, 1])?;
                let p = self.pool(x.shallow_clone())?.f_view([b, c, -1])?;
                t.f_matmul(&p)?.f_softmax(-1, None::<Kind>)?
            }
            Mode::Concatenation => {
                let (theta, phi) = (self.theta.as_ref(), self.phi.as_ref());
                let t = theta.ok_or_else(missing)?.forward(x)?.f_view([b, ic, -1, 1])?;
                let p = self.pool(phi.ok_or_else(missing)?.forward(x)?)?.f_view([b, ic, 1, -1])?;
                let (h, w) = (t.size()[2], p.size()[3]);
                let cat = Tensor::f_cat(&[t.f_repeat([1, 1, 1, w])?, p.f_repeat([1, 1, h, 1])?], 1)?;
                let proj = self.concat_project.as_ref().ok_or_else(missing)?;
                let f = proj.forward(&cat)?.f_relu()?.f_view([b, h, w])?;
                f.f_div_scalar(w)?
            }
            mode => {
                let (theta, phi) = (self.theta.as_ref(), self.phi.as_ref());
                let t = theta.ok_or_else(missing)?.forward(x)?.f_view([b, ic, -1])?.f_permute([0, 2, 1])?;
                let p = self.pool(phi.ok_or_else(missing)?.forward(x)?)?.f_view([b, ic, -1])?;
                let f = t.f_matmul(&p)?;
                if mode == Mode::Embedded {
                    f.f_softmax(-1, None::<Kind>)?
                } else {
                    let n = f.size()[2];
                    f.f_div_scalar(n)?
                }
            }
        };
        let y = f.f_matmul(&g)?.f_permute([0, 2, 1])?.f_contiguous()?.f_view([b, ic, d.h, d.w])?;
        let mut wy = self.w.forward(&y)?;
        if let Some(bn) = &self.w_bn {
            wy = bn.forward_t(&wy, train)?;
        }
        Ok(wy.f_add(x)?)
    }

    fn in_channels(&self) -> Option<i64> {
        Some(self.config.in_channels)
    }
}

/// The mode a pickled block is of: our mirror stores it; upstream's file names it.
fn mode_of(m: &Pickled<'_>) -> Result<Mode> {
    if let Some(mode) = m.str("mode") {
        return serde_json::from_value(serde_json::Value::String(mode.into()))
            .map_err(|_| Error::Config(format!("NONLocalBlock2D mode `{mode}` is unknown")));
    }
    let q = m.qualified();
    [
        ("non_local_embedded_gaussian", Mode::Embedded),
        ("non_local_gaussian", Mode::Gaussian),
        ("non_local_dot_product", Mode::Dot),
        ("non_local_concatenation", Mode::Concatenation),
    ]
    .into_iter()
    .find(|(file, _)| q.contains(file))
    .map(|(_, mode)| mode)
    .ok_or_else(|| Error::Config(format!("{q}: which non-local file it comes from is unknown")))
}

impl Block for NonLocalBlock2d {
    type Config = NonLocalBlock2dConfig;
    const NAME: &'static str = "non_local_block2d";
    const CLASSES: &'static [&'static str] = &[
        "sppnet_ref.non_local.NONLocalBlock2D",
        "lib.non_local_embedded_gaussian.NONLocalBlock2D",
        "lib.non_local_gaussian.NONLocalBlock2D",
        "lib.non_local_dot_product.NONLocalBlock2D",
        "lib.non_local_concatenation.NONLocalBlock2D",
        "non_local_embedded_gaussian.NONLocalBlock2D",
        "non_local_gaussian.NONLocalBlock2D",
        "non_local_dot_product.NONLocalBlock2D",
        "non_local_concatenation.NONLocalBlock2D",
    ];

    fn new(s: &Scope, c: &NonLocalBlock2dConfig) -> Result<Self> {
        within("NONLocalBlock2D", "in_channels", c.in_channels, 1, MAX_WIDTH)?;
        within("NONLocalBlock2D", "inter_channels", c.inter_channels, 1, MAX_WIDTH)?;
        // `path` is a state_dict prefix: `g`, or `g.0` inside a Sequential.
        let conv = |path: &str, i, o, bias| {
            let cfg = Conv2dConfig {
                bias,
                ..Default::default()
            };
            let mut segs = path.split('.');
            let mut scope = s.sub(segs.next().unwrap_or(path));
            for seg in segs {
                scope = scope.sub(seg);
            }
            Conv2d::new(&scope, i, o, 1, cfg)
        };
        let seq = |name: &str| {
            if c.sub_sample {
                format!("{name}.0")
            } else {
                name.to_string()
            }
        };
        let embeds = c.mode != Mode::Gaussian;
        Ok(Self {
            g: conv(&seq("g"), c.in_channels, c.inter_channels, true)?,
            theta: embeds.then(|| conv("theta", c.in_channels, c.inter_channels, true)).transpose()?,
            phi: embeds.then(|| conv(&seq("phi"), c.in_channels, c.inter_channels, true)).transpose()?,
            w: conv(if c.bn_layer { "W.0" } else { "W" }, c.inter_channels, c.in_channels, true)?,
            w_bn: c.bn_layer.then(|| BatchNorm2d::new(&s.sub("W").sub("1"), c.in_channels, 1e-5, 0.1)).transpose()?,
            concat_project: (c.mode == Mode::Concatenation)
                .then(|| conv("concat_project.0", 2 * c.inter_channels, 1, false))
                .transpose()?,
            config: c.clone(),
        })
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<NonLocalBlock2dConfig> {
        let sd = m.shapes();
        let in_channels = m.int("in_channels").ok_or_else(|| Error::Config("NONLocalBlock2D without in_channels".into()))?;
        let inter_channels = m.int("inter_channels").ok_or_else(|| Error::Config("NONLocalBlock2D without inter_channels".into()))?;
        Ok(NonLocalBlock2dConfig {
            in_channels,
            inter_channels,
            sub_sample: m.bool("sub_sample").unwrap_or(true),
            bn_layer: sd.has("W.1.weight"),
            mode: mode_of(m)?,
        })
    }
}
