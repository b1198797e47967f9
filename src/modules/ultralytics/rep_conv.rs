//! ultralytics `RepConv` (`conv.py`, 8.4.190; YOLOv9's RepCSP): a 3×3 and a 1×1 `Conv` summed,
//! then SiLU; `fuse` merges them into one 3×3 `nn.Conv2d` with upstream's own formula
//! (`gamma / sqrt(var + eps)`, not the `rsqrt` of `Conv`'s fusion).

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

/// `RepConv(c1, c2, k=3, s=1, p=1, g=1, d=1, act=True, bn=False)`: `conv1` (3×3) and `conv2`
/// (1×1) `Conv`s with `act=False`, or, fused, one `nn.Conv2d` `conv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepConvConfig {
    /// The 3×3 branch (unfused).
    #[serde(default)]
    pub conv1: Option<Child>,
    /// The 1×1 branch (unfused).
    #[serde(default)]
    pub conv2: Option<Child>,
    /// The merged convolution (fused).
    #[serde(default)]
    pub conv: Option<Child>,
    /// The activation (upstream's `RepConv.default_act`, SiLU).
    #[serde(default)]
    pub act: Act,
}

/// `RepConv`.
#[derive(Debug)]
pub struct RepConv {
    /// The branches.
    pub branches: Branches,
    /// The activation.
    pub act: Act,
}

impl Module for RepConv {
    /// `act(conv1(x) + conv2(x) + 0)` (the `+ 0` is upstream's absent identity branch; it
    /// turns −0 into +0, so it is kept), or `act(conv(x))` fused.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H / s, W / s]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.branches.forward(x, train)?;
        let y = match self.branches {
            Branches::Unfused(..) => y.f_add_scalar(0i64)?,
            Branches::Fused(_) => y,
        };
        self.act.forward(&y)
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

/// A `Conv`'s BatchNorm folded as `RepConv._fuse_bn_tensor` does: `std = sqrt(var + eps)`,
/// `w · (γ / std)`, `β − mean · γ / std`.
pub fn fuse_bn_sqrt(c: &Conv) -> Result<(Tensor, Tensor)> {
    let Some(bn) = &c.bn else {
        return Err(Error::Config("RepConv branch is already fused".into()));
    };
    let std = bn.running_var.f_add_scalar(bn.eps)?.f_sqrt()?;
    let t = bn.weight.f_div(&std)?.f_reshape([-1, 1, 1, 1])?;
    let kernel = c.conv.weight.f_mul(&t)?;
    let bias = bn.bias.f_sub(&bn.running_mean.f_mul(&bn.weight)?.f_div(&std)?)?;
    Ok((kernel, bias))
}

impl Fuse for RepConv {
    fn fold(&self, prefix: &str, sd: &mut BTreeMap<String, Tensor>) -> Result<()> {
        let Branches::Unfused(c3, c1) = &self.branches else {
            return Ok(());
        };
        let (weight, bias) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
            let (k3, b3) = fuse_bn_sqrt(c3)?;
            let (k1, b1) = fuse_bn_sqrt(c1)?;
            let w = k3.f_add(&k1.f_constant_pad_nd([1, 1, 1, 1])?)?.f_add_scalar(0i64)?;
            Ok((w, b3.f_add(&b1)?.f_add_scalar(0i64)?))
        })?;
        replace_branches(sd, prefix, ["conv1", "conv2"], weight, bias);
        Ok(())
    }
}

impl Block for RepConv {
    type Config = RepConvConfig;
    const NAME: &'static str = "rep_conv";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.conv.RepConv"];

    fn new(s: &Scope, c: &RepConvConfig) -> Result<Self> {
        let pair = c.conv1.as_ref().zip(c.conv2.as_ref());
        Ok(Self {
            branches: Branches::build(s, "RepConv", ["conv1", "conv2"], pair, c.conv.as_ref())?,
            act: c.act,
        })
    }

    /// `RepConv(c1, c2, k=3, s=1, p=1, g=1, d=1, act=True, bn=False, deploy=False)`; `act=True`
    /// is RepConv's own default (SiLU), not the model's.
    fn from_args(a: &Args) -> Result<Option<RepConvConfig>> {
        a.at_most(&["c1", "c2", "k", "s", "p", "g", "d", "act", "bn", "deploy"])?;
        let (c1, c2, k, s) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "k", 3)?, a.int_or(3, "s", 1)?);
        let (p, g) = (a.int_or(4, "p", 1)?, a.int_or(5, "g", 1)?);
        if k != 3 || p != 1 {
            return Err(Error::Config(format!("RepConv needs k=3 and p=1 (upstream asserts it), got k={k}, p={p}")));
        }
        if a.bool_or(8, "bn", false)? || a.bool_or(9, "deploy", false)? {
            return Err(Error::Config("RepConv with bn=True or deploy=True is not supported".into()));
        }
        let plain = |k: i64, p: i64| a.init.child::<Conv>(args![c1, c2, k, s], json!({ "p": p, "g": g, "act": false }));
        Ok(Some(RepConvConfig {
            conv1: Some(plain(k, p)?),
            conv2: Some(plain(1, p - k / 2)?),
            conv: None,
            act: a.act_with(7, "act", Act::SiLU)?,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<RepConvConfig> {
        if m.try_child("bn").is_some() {
            return Err(Error::Config(
                "RepConv with an identity BatchNorm branch (bn=True) is not supported".into(),
            ));
        }
        let act = ConvOpts::from_pickle(m)?.act;
        let child = |name: &str, notes: &mut Notes| -> Result<Option<Child>> {
            m.try_child(name).map(|c| Child::from_pickle(&c, notes)).transpose()
        };
        Ok(RepConvConfig {
            conv1: child("conv1", notes)?,
            conv2: child("conv2", notes)?,
            conv: child("conv", notes)?,
            act,
        })
    }

    fn fused(c: &RepConvConfig) -> Result<RepConvConfig> {
        let (Some(a), Some(_)) = (&c.conv1, &c.conv2) else {
            return Ok(c.clone());
        };
        Ok(RepConvConfig {
            conv1: None,
            conv2: None,
            conv: Some(merged(a, "RepConv")?),
            act: c.act,
        })
    }
}
