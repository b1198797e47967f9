//! ultralytics `SPP`, `SPPF` and `SPPELAN` (`ultralytics/nn/modules/block.py`, 8.4.190).

use tch::nn;
use tch::Tensor;

use super::pool::{cascade_steps, pyramid, MaxPool2d};
use super::{Conv, ConvConfig, ConvOpts};
use crate::error::{Error, Result};

fn conv1x1(p: &nn::Path, name: &str, c1: i64, c2: i64, opts: ConvOpts) -> Result<Conv> {
    Conv::new(
        &(p / name),
        c1,
        c2,
        &ConvConfig {
            opts,
            ..ConvConfig::default()
        },
    )
}

fn check_channels(block: &str, c1: i64, c2: i64, hidden: i64) -> Result<()> {
    if c1 < 1 || c2 < 1 || hidden < 1 {
        return Err(Error::Config(format!(
            "{block}: c1 {c1}, c2 {c2} and hidden channels {hidden} must be ≥ 1"
        )));
    }
    Ok(())
}

fn default_spp_k() -> Vec<i64> {
    vec![5, 9, 13]
}

/// `SPP(c1, c2, k=(5, 9, 13))`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Pool kernels (odd).
    #[serde(default = "default_spp_k")]
    pub k: Vec<i64>,
    /// `cv1` settings (upstream: SiLU).
    #[serde(default)]
    pub cv1: ConvOpts,
    /// `cv2` settings (upstream: SiLU).
    #[serde(default)]
    pub cv2: ConvOpts,
}

impl SppConfig {
    /// Upstream defaults for `SPP(c1, c2)`.
    pub fn new(c1: i64, c2: i64) -> Self {
        Self {
            c1,
            c2,
            k: default_spp_k(),
            cv1: ConvOpts::default(),
            cv2: ConvOpts::default(),
        }
    }
}

/// ultralytics `SPP`: `cv1` halves the channels, parallel pools of each kernel, concat, `cv2`.
///
/// The pools run as a cascade ([`cascade_steps`]) whenever the kernels increase, which is
/// bitwise identical to the parallel form on inputs without −0 or NaN; on those the parallel
/// form runs (see [`super::pool::cascade_is_bit_exact`]).
#[derive(Debug)]
pub struct Spp {
    /// `Conv(c1, c1 // 2, 1, 1)`.
    pub cv1: Conv,
    /// `Conv(c1 // 2 · (len(k) + 1), c2, 1, 1)`.
    pub cv2: Conv,
    /// `MaxPool2d(k, 1, k // 2)` for each kernel.
    pub m: Vec<MaxPool2d>,
    /// The cascade's step pools, when the kernels allow one.
    pub cascade: Option<Vec<MaxPool2d>>,
}

impl Spp {
    /// A randomly initialised `SPP` under `p`.
    pub fn new(p: &nn::Path, cfg: &SppConfig) -> Result<Self> {
        let c_ = cfg.c1 / 2;
        check_channels("SPP", cfg.c1, cfg.c2, c_)?;
        if cfg.k.is_empty() {
            return Err(Error::Config("SPP needs at least one pool kernel".into()));
        }
        let m = cfg
            .k
            .iter()
            .map(|&k| MaxPool2d::new(k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            cv1: conv1x1(p, "cv1", cfg.c1, c_, cfg.cv1)?,
            cv2: conv1x1(p, "cv2", c_ * (cfg.k.len() as i64 + 1), cfg.c2, cfg.cv2)?,
            cascade: cascade_steps(&cfg.k),
            m,
        })
    }

    /// Forward with the cascade (when possible) or strictly the parallel pools.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    pub fn forward_with(&self, x: &Tensor, train: bool, allow_cascade: bool) -> Result<Tensor> {
        let x = self.cv1.forward_t(x, train)?;
        let steps = self.cascade.as_deref().filter(|_| allow_cascade);
        let mut parts = vec![x.shallow_clone()];
        parts.extend(pyramid(&x, &self.m, steps)?);
        self.cv2.forward_t(&Tensor::f_cat(&parts, 1)?, train)
    }

    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_with(x, train, true)
    }
}

/// `SPPF(c1, c2, k=5, n=3, shortcut=False)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppfConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Pool kernel (odd).
    #[serde(default = "default_k")]
    pub k: i64,
    /// Pools in sequence (old pickles lack it; upstream then uses 3).
    #[serde(default = "default_n")]
    pub n: i64,
    /// Residual `y + x`; takes effect only when `c1 == c2` (upstream's `add`).
    #[serde(default)]
    pub shortcut: bool,
    /// `cv1` settings: the current class builds it with `act=False` (Identity, as YOLO26);
    /// models built from yolov8/yolo11/yolov5u yamls have SiLU there (NOTES §5).
    #[serde(default = "identity_opts")]
    pub cv1: ConvOpts,
    /// `cv2` settings (SiLU).
    #[serde(default)]
    pub cv2: ConvOpts,
}

fn default_k() -> i64 {
    5
}
fn default_n() -> i64 {
    3
}
fn identity_opts() -> ConvOpts {
    ConvOpts::with_act(super::Act::Identity)
}

impl SppfConfig {
    /// Upstream defaults for `SPPF(c1, c2)`.
    pub fn new(c1: i64, c2: i64) -> Self {
        Self {
            c1,
            c2,
            k: 5,
            n: 3,
            shortcut: false,
            cv1: identity_opts(),
            cv2: ConvOpts::default(),
        }
    }
}

/// ultralytics `SPPF`: `cv1`, `n` pools of kernel `k` in sequence, concat, `cv2`, optional
/// residual.
#[derive(Debug)]
pub struct Sppf {
    /// `Conv(c1, c1 // 2, 1, 1)`.
    pub cv1: Conv,
    /// `Conv(c1 // 2 · (n + 1), c2, 1, 1)`.
    pub cv2: Conv,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub m: MaxPool2d,
    /// Pools in sequence.
    pub n: i64,
    /// Residual connection (`shortcut and c1 == c2`).
    pub add: bool,
}

impl Sppf {
    /// A randomly initialised `SPPF` under `p`.
    pub fn new(p: &nn::Path, cfg: &SppfConfig) -> Result<Self> {
        let c_ = cfg.c1 / 2;
        check_channels("SPPF", cfg.c1, cfg.c2, c_)?;
        if cfg.n < 0 {
            return Err(Error::Config(format!("SPPF n must be ≥ 0, got {}", cfg.n)));
        }
        Ok(Self {
            cv1: conv1x1(p, "cv1", cfg.c1, c_, cfg.cv1)?,
            cv2: conv1x1(p, "cv2", c_ * (cfg.n + 1), cfg.c2, cfg.cv2)?,
            m: MaxPool2d::new(cfg.k)?,
            n: cfg.n,
            add: cfg.shortcut && cfg.c1 == cfg.c2,
        })
    }

    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = vec![self.cv1.forward_t(x, train)?];
        for _ in 0..self.n {
            let next = self.m.forward(y.last().expect("cv1 output"))?;
            y.push(next);
        }
        let out = self.cv2.forward_t(&Tensor::f_cat(&y, 1)?, train)?;
        if self.add {
            Ok(out.f_add(x)?)
        } else {
            Ok(out)
        }
    }
}

/// `SPPELAN(c1, c2, c3, k=5)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppElanConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Intermediate channels.
    pub c3: i64,
    /// Pool kernel (odd).
    #[serde(default = "default_k")]
    pub k: i64,
    /// `cv1` settings (SiLU).
    #[serde(default)]
    pub cv1: ConvOpts,
    /// `cv5` settings (SiLU).
    #[serde(default)]
    pub cv5: ConvOpts,
}

impl SppElanConfig {
    /// Upstream defaults for `SPPELAN(c1, c2, c3)`.
    pub fn new(c1: i64, c2: i64, c3: i64) -> Self {
        Self {
            c1,
            c2,
            c3,
            k: 5,
            cv1: ConvOpts::default(),
            cv5: ConvOpts::default(),
        }
    }
}

/// ultralytics `SPPELAN`: `cv1`, three pools in sequence (`cv2`, `cv3`, `cv4`), concat, `cv5`.
#[derive(Debug)]
pub struct SppElan {
    /// `Conv(c1, c3, 1, 1)`.
    pub cv1: Conv,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub cv2: MaxPool2d,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub cv3: MaxPool2d,
    /// `MaxPool2d(k, 1, k // 2)`.
    pub cv4: MaxPool2d,
    /// `Conv(4 · c3, c2, 1, 1)`.
    pub cv5: Conv,
}

impl SppElan {
    /// A randomly initialised `SPPELAN` under `p`.
    pub fn new(p: &nn::Path, cfg: &SppElanConfig) -> Result<Self> {
        check_channels("SPPELAN", cfg.c1, cfg.c2, cfg.c3)?;
        let pool = MaxPool2d::new(cfg.k)?;
        Ok(Self {
            cv1: conv1x1(p, "cv1", cfg.c1, cfg.c3, cfg.cv1)?,
            cv2: pool,
            cv3: pool,
            cv4: pool,
            cv5: conv1x1(p, "cv5", 4 * cfg.c3, cfg.c2, cfg.cv5)?,
        })
    }

    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = vec![self.cv1.forward_t(x, train)?];
        for m in [&self.cv2, &self.cv3, &self.cv4] {
            let next = m.forward(y.last().expect("cv1 output"))?;
            y.push(next);
        }
        self.cv5.forward_t(&Tensor::f_cat(&y, 1)?, train)
    }
}
