//! ultralytics `CBLinear` (`block.py`, 8.4.190; YOLOv9-E): one convolution whose output is split
//! into a tuple of `c2s` channel groups, which later `CBFuse` layers pick from.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{within, Block, Child, Flow, Module, Notes, Pickled, MAX_WIDTH};
use crate::nn::Scope;
use crate::modules::args::args;
use crate::modules::{Args, Conv2dBlock};
use serde_json::json;

/// `CBLinear(c1, c2s, k=1, s=1, p=None, g=1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CbLinearConfig {
    /// The output groups' channels.
    pub c2s: Vec<i64>,
    /// `nn.Conv2d(c1, sum(c2s), k, s, autopad(k, p), groups=g, bias=True)`.
    pub conv: Child,
}

/// `CBLinear`.
#[derive(Debug)]
pub struct CbLinear {
    /// The output groups' channels.
    pub c2s: Vec<i64>,
    /// The convolution.
    pub conv: Box<dyn Module>,
}

impl Module for CbLinear {
    /// The first group only (a tuple is what a model graph passes on; see `forward_flow`).
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self.forward_flow(&Flow::One(x.shallow_clone()), train)? {
            Flow::Tuple(mut t) if !t.is_empty() => Ok(t.swap_remove(0)),
            _ => Err(Error::InvalidInput("CBLinear produced no output".into())),
        }
    }

    /// # Shapes
    /// `[N, c1, H, W]` → a tuple of `[N, c2sᵢ, H', W']`.
    fn forward_flow(&self, input: &Flow, train: bool) -> Result<Flow> {
        let y = self.conv.forward_t(input.one()?, train)?;
        Ok(Flow::Tuple(y.f_split_with_sizes(self.c2s.as_slice(), 1)?))
    }

    fn in_channels(&self) -> Option<i64> {
        self.conv.in_channels()
    }
}

impl Block for CbLinear {
    type Config = CbLinearConfig;
    const NAME: &'static str = "cb_linear";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.CBLinear"];

    fn new(s: &Scope, c: &CbLinearConfig) -> Result<Self> {
        for &v in &c.c2s {
            within("CBLinear", "c2s", v, 1, MAX_WIDTH)?;
        }
        if c.c2s.is_empty() || c.c2s.len() > 64 {
            return Err(Error::Config("CBLinear c2s must list 1 to 64 groups".into()));
        }
        Ok(Self {
            c2s: c.c2s.clone(),
            conv: c.conv.build(&s.sub("conv"))?,
        })
    }

    /// `CBLinear(c1, c2s, k=1, s=1, p=None, g=1)`: one `nn.Conv2d(c1, sum(c2s), k, s,
    /// autopad(k, p), groups=g)` with a bias.
    fn from_args(a: &Args) -> Result<Option<CbLinearConfig>> {
        a.at_most(&["c1", "c2s", "k", "s", "p", "g"])?;
        let c2s = a.ints_or(1, "c2s", &[])?;
        let k = a.int_or(2, "k", 1)?;
        let p = super::conv_opts::autopad(k, a.opt_int(4, "p")?, 1);
        let out: i64 = c2s.iter().fold(0i64, |t, c| t.saturating_add(*c));
        let conv = args![a.int(0, "c1")?, out, k, a.int_or(3, "s", 1)?, p];
        Ok(Some(CbLinearConfig {
            conv: a.init.child::<Conv2dBlock>(conv, json!({ "groups": a.int_or(5, "g", 1)? }))?,
            c2s,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<CbLinearConfig> {
        Ok(CbLinearConfig {
            c2s: m
                .ints("c2s")
                .ok_or_else(|| Error::Config("CBLinear has no `c2s` list".into()))?,
            conv: Child::from_pickle(&m.child("conv")?, notes)?,
        })
    }
}
