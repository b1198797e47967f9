//! `torch.nn.Upsample` in `nearest` mode, with a scale factor (`nn.Upsample(None, 2,
//! "nearest")` in every ultralytics yaml) or a fixed size: the same libtorch kernel
//! (`upsample_nearest2d`) with the same scales, so the output is PyTorch's bit for bit.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{Block, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::tensor::check_nchw;
use crate::modules::Args;

/// The largest scale factor (ultralytics' yamls use 2): one upsampling multiplies the
/// activations by at most 256, so a probe run stays bounded.
pub const MAX_SCALE: f64 = 16.0;
/// The largest fixed output side.
pub const MAX_SIZE: i64 = 16_384;

/// `nn.Upsample(size=None, scale_factor=None, mode='nearest')`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsampleConfig {
    /// Output size `[H, W]`, when fixed.
    #[serde(default)]
    pub size: Option<Vec<i64>>,
    /// Scale factor (both axes).
    #[serde(default)]
    pub scale_factor: Option<f64>,
    /// Interpolation mode: only `nearest`.
    #[serde(default = "nearest")]
    pub mode: String,
}

fn nearest() -> String {
    "nearest".into()
}

/// `nn.Upsample` (nearest).
#[derive(Debug)]
pub struct Upsample {
    /// Settings.
    pub config: UpsampleConfig,
}

impl Module for Upsample {
    /// `F.interpolate(x, size, scale_factor, mode='nearest')`.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, ⌊H·s⌋, ⌊W·s⌋]` or `[N, C, size…]`.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let d = check_nchw(x, "the Upsample input")?;
        let (h, w) = (d.h, d.w);
        match (&self.config.size, self.config.scale_factor) {
            (Some(size), _) => Ok(x.f_upsample_nearest2d(size.as_slice(), None, None)?),
            (None, Some(s)) => {
                let out = [(h as f64 * s).floor() as i64, (w as f64 * s).floor() as i64];
                Ok(x.f_upsample_nearest2d(out, Some(s), Some(s))?)
            }
            (None, None) => Err(Error::Config("Upsample has neither size nor scale_factor".into())),
        }
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for Upsample {
    type Config = UpsampleConfig;
    const NAME: &'static str = "upsample";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.upsampling.Upsample"];

    fn new(_s: &Scope, c: &UpsampleConfig) -> Result<Self> {
        if c.mode != "nearest" {
            return Err(Error::Config(format!(
                "Upsample mode `{}` is not supported (only nearest)",
                c.mode
            )));
        }
        match (&c.size, c.scale_factor) {
            (Some(size), _) if size.len() != 2 || size.iter().any(|&v| !(1..=MAX_SIZE).contains(&v)) => {
                Err(Error::Config(format!("Upsample size must be [H, W] within 1..={MAX_SIZE}, got {size:?}")))
            }
            (None, Some(s)) if !(s.is_finite() && s > 0.0 && s <= MAX_SCALE) => Err(Error::Config(format!(
                "Upsample scale_factor must be in (0, {MAX_SCALE}], got {s}"
            ))),
            (None, None) => Err(Error::Config("Upsample needs a size or a scale_factor".into())),
            _ => Ok(Self { config: c.clone() }),
        }
    }

    /// `nn.Upsample(size=None, scale_factor=None, mode="nearest", align_corners=None,
    /// recompute_scale_factor=None)`.
    fn from_args(a: &Args) -> Result<Option<UpsampleConfig>> {
        a.at_most(&["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"])?;
        if a.bool_or(3, "align_corners", false)? || a.bool_or(4, "recompute_scale_factor", false)? {
            return Err(Error::Config("Upsample with align_corners or recompute_scale_factor is not supported".into()));
        }
        let size = match a.get(0, "size") {
            None => None,
            Some(v) if v.is_array() => Some(a.ints_or(0, "size", &[])?),
            Some(_) => Some(vec![a.int(0, "size")?; 2]),
        };
        let scale_factor = match a.get(1, "scale_factor") {
            None => None,
            Some(_) => Some(a.float_or(1, "scale_factor", 1.0)?).filter(|f| *f != 0.0),
        };
        Ok(Some(UpsampleConfig {
            size,
            scale_factor,
            mode: a.str(2, "mode")?.unwrap_or("nearest").to_string(),
        }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<UpsampleConfig> {
        let size = m.ints("size").or_else(|| m.int("size").map(|s| vec![s, s]));
        let scale_factor = m.float("scale_factor").or_else(|| {
            let both = m.ints("scale_factor")?;
            (both.windows(2).all(|w| w[0] == w[1])).then(|| both.first().map(|&v| v as f64))?
        });
        if m.bool("align_corners") == Some(true) {
            return Err(Error::Config("Upsample with align_corners is not supported".into()));
        }
        if m.bool("recompute_scale_factor") == Some(true) {
            return Err(Error::Config(
                "Upsample with recompute_scale_factor=True is not supported".into(),
            ));
        }
        Ok(UpsampleConfig {
            size,
            scale_factor,
            mode: m.str("mode").unwrap_or("nearest").to_string(),
        })
    }
}
