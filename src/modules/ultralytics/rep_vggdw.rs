//! ultralytics `RepVGGDW` (`block.py`, 8.4.190; YOLOv10-N/S's C2fCIB): a depthwise 7×7 and a
//! depthwise 3×3 `Conv` summed, then SiLU; `fuse` folds each BatchNorm (`Conv`'s `rsqrt`
//! formula) and merges them into one 7×7 `nn.Conv2d`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::conv_opts::ConvOpts;
use crate::error::{Error, Result};
use super::reparam::{merged, replace_branches, Branches};
use crate::modules::{Block, Child, Conv, Fuse, Module, Notes, Pickled};
use crate::nn::{Act, Scope};
use crate::modules::args::args;
use crate::modules::Args;
use serde_json::json;

/// `RepVGGDW(ed)`: `conv` (`Conv(ed, ed, 7, 1, 3, g=ed, act=False)`) and `conv1`
/// (`Conv(ed, ed, 3, 1, 1, g=ed, act=False)`), or, fused, `conv` alone as an `nn.Conv2d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepVggDwConfig {
    /// The 7×7 branch (a `Conv`), or the merged `nn.Conv2d` when fused.
    pub conv: Child,
    /// The 3×3 branch (unfused only).
    #[serde(default)]
    pub conv1: Option<Child>,
    /// The activation (its own `nn.SiLU`).
    #[serde(default)]
    pub act: Act,
}

/// `RepVGGDW`.
#[derive(Debug)]
pub struct RepVggDw {
    /// The branches.
    pub branches: Branches,
    /// The activation.
    pub act: Act,
}

impl Module for RepVggDw {
    /// `act(conv(x) + conv1(x))`, or `act(conv(x))` fused.
    ///
    /// # Shapes
    /// `[N, ed, H, W]` → `[N, ed, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.act.forward(&self.branches.forward(x, train)?)
    }

    fn in_channels(&self) -> Option<i64> {
        self.branches.in_channels()
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        match self.branches {
            Branches::Unfused(..) => vec![(String::new(), self as &dyn Fuse)],
            Branches::Fused(_) => Vec::new(),
        }
    }
}

impl Fuse for RepVggDw {
    fn fold(&self, prefix: &str, sd: &mut BTreeMap<String, Tensor>) -> Result<()> {
        let Branches::Unfused(c7, c3) = &self.branches else {
            return Ok(());
        };
        let folded = |c: &Conv| {
            c.fused_weights()?
                .ok_or_else(|| Error::Config("RepVGGDW branch is already fused".into()))
        };
        let (weight, bias) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
            let (w7, b7) = folded(c7)?;
            let (w3, b3) = folded(c3)?;
            Ok((w7.f_add(&w3.f_constant_pad_nd([2, 2, 2, 2])?)?, b7.f_add(&b3)?))
        })?;
        replace_branches(sd, prefix, ["conv", "conv1"], weight, bias);
        Ok(())
    }
}

impl Block for RepVggDw {
    type Config = RepVggDwConfig;
    const NAME: &'static str = "rep_vggdw";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.RepVGGDW"];

    fn new(s: &Scope, c: &RepVggDwConfig) -> Result<Self> {
        let (pair, merged) = match &c.conv1 {
            Some(c1) => (Some((&c.conv, c1)), None),
            None => (None, Some(&c.conv)),
        };
        Ok(Self {
            branches: Branches::build(s, "RepVGGDW", ["conv", "conv1"], pair, merged)?,
            act: c.act,
        })
    }

    /// `RepVGGDW(ed)`.
    fn from_args(a: &Args) -> Result<Option<RepVggDwConfig>> {
        a.at_most(&["ed"])?;
        let ed = a.int(0, "ed")?;
        let dw = |k: i64, p: i64| a.init.child::<Conv>(args![ed, ed, k, 1, p], json!({ "g": ed, "act": false }));
        Ok(Some(RepVggDwConfig {
            conv: dw(7, 3)?,
            conv1: Some(dw(3, 1)?),
            act: Act::SiLU,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<RepVggDwConfig> {
        Ok(RepVggDwConfig {
            conv: Child::from_pickle(&m.child("conv")?, notes)?,
            conv1: m
                .try_child("conv1")
                .map(|c| Child::from_pickle(&c, notes))
                .transpose()?,
            act: ConvOpts::from_pickle(m)?.act,
        })
    }

    fn fused(c: &RepVggDwConfig) -> Result<RepVggDwConfig> {
        if c.conv1.is_none() {
            return Ok(c.clone());
        }
        Ok(RepVggDwConfig {
            conv: merged(&c.conv, "RepVGGDW")?,
            conv1: None,
            act: c.act,
        })
    }
}
