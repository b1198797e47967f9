//! `torch.nn.Linear` as a module of its own (the last layer of ultralytics' `Classify`).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::Result;
use crate::modules::{within, Args, Block, Module, Notes, Pickled, MAX_WIDTH};
use crate::nn::{torch_default_init, Scope};

/// `nn.Linear(in_features, out_features, bias=True)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// Input features.
    pub in_features: i64,
    /// Output features.
    pub out_features: i64,
    /// Whether it has a bias.
    #[serde(default = "yes")]
    pub bias: bool,
}

fn yes() -> bool {
    true
}

/// `nn.Linear`: keys `weight` `[out, in]` and (with a bias) `bias` `[out]`.
#[derive(Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Module for Linear {
    /// # Shapes
    /// `[N, in_features]` → `[N, out_features]`.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, self.bias.as_ref())?)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for Linear {
    type Config = LinearConfig;
    const NAME: &'static str = "linear";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.linear.Linear"];

    fn new(s: &Scope, c: &LinearConfig) -> Result<Self> {
        within("Linear", "in_features", c.in_features, 1, MAX_WIDTH)?;
        within("Linear", "out_features", c.out_features, 1, MAX_WIDTH)?;
        let init = torch_default_init(c.in_features);
        Ok(Self {
            weight: s.var("weight", &[c.out_features, c.in_features], init)?,
            bias: match c.bias {
                true => Some(s.var("bias", &[c.out_features], init)?),
                false => None,
            },
        })
    }

    /// `nn.Linear(in_features, out_features, bias=True)`.
    fn from_args(a: &Args) -> Result<Option<LinearConfig>> {
        a.at_most(&["in_features", "out_features", "bias"])?;
        Ok(Some(LinearConfig {
            in_features: a.int(0, "in_features")?,
            out_features: a.int(1, "out_features")?,
            bias: a.bool_or(2, "bias", true)?,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<LinearConfig> {
        let sd = m.shapes();
        Ok(LinearConfig {
            in_features: sd.dim("weight", 1)?,
            out_features: sd.dim("weight", 0)?,
            bias: sd.has("bias"),
        })
    }
}
