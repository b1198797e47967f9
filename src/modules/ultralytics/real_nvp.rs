//! ultralytics `RealNVP` (`nn/modules/block.py`, 8.4.190): the normalizing flow `Pose26` trains
//! its keypoint likelihood with. Inference never runs it and `fuse` drops it, but an unfused
//! checkpoint holds its weights, so it is built (six coupling layers, scale nets `s` and
//! translation nets `t`, each `Linear(2, 64)`, `Linear(64, 64)`, `Linear(64, 2)`, and the
//! buffers `loc`, `cov`, `mask`) for the state_dict to load strictly.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Args, Block, Module, Notes, Pickled};
use crate::nn::{Linear, Scope};

/// `RealNVP()`: only the number of coupling layers varies with what a checkpoint holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealNvpConfig {
    /// Coupling layers (rows of `mask`; upstream's is 6).
    #[serde(default = "six")]
    pub couplings: i64,
}

fn six() -> i64 {
    6
}

/// `RealNVP`: weights only; its forward is training's.
#[derive(Debug)]
pub struct RealNvp {
    _nets: Vec<Linear>,
}

impl Module for RealNvp {
    fn forward_t(&self, _x: &Tensor, _train: bool) -> Result<Tensor> {
        Err(Error::InvalidInput("RealNVP is a training-time flow; inference does not run it".into()))
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for RealNvp {
    type Config = RealNvpConfig;
    const NAME: &'static str = "real_nvp";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.RealNVP"];
    const PARTS: &'static [&'static str] = &[
        "torch.nn.modules.activation.SiLU",
        "torch.nn.modules.activation.Tanh",
        "torch.nn.modules.container.ModuleList",
        "torch.nn.modules.container.Sequential",
        "torch.nn.modules.linear.Linear",
    ];

    fn new(s: &Scope, c: &RealNvpConfig) -> Result<Self> {
        within("RealNVP", "couplings", c.couplings, 1, 64)?;
        let _loc = s.buffer("loc", &[2], 0.0)?;
        let _cov = s.buffer("cov", &[2, 2], 0.0)?;
        let _mask = s.buffer("mask", &[c.couplings, 2], 0.0)?;
        let mut nets = Vec::new();
        for net in ["s", "t"] {
            for i in 0..c.couplings {
                let n = s.sub(net).sub(&i.to_string());
                for (j, (a, b)) in [(2, 64), (64, 64), (64, 2)].into_iter().enumerate() {
                    nets.push(Linear::new(&n.sub(&(2 * j).to_string()), a, b)?);
                }
            }
        }
        Ok(Self { _nets: nets })
    }

    /// `RealNVP()`.
    fn from_args(a: &Args) -> Result<Option<RealNvpConfig>> {
        a.at_most(&[])?;
        Ok(Some(RealNvpConfig { couplings: 6 }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<RealNvpConfig> {
        Ok(RealNvpConfig { couplings: m.shapes().dim("mask", 0)? })
    }
}
