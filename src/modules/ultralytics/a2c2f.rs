//! ultralytics `A2C2f` (`nn/modules/block.py`, 8.4.190; YOLOv12): `C2f`-like — `cv1`, each of
//! `m` (two `ABlock`s, or a `C3k` without area attention) applied to the last output in turn,
//! all concatenated, `cv2` — with, for the L/X scales, a learnt per-channel residual `gamma`:
//! `x + gamma · y`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw, repeat};
use crate::modules::child::{build_list, fused_list, list_fusable};
use crate::modules::composite::child_fusable;
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{within, ABlock, Args, Block, C3k, Child, Fuse, Module, Notes, Pickled, MAX_WIDTH};
use crate::nn::Scope;

/// `A2C2f(c1, c2, n=1, a2=True, area=1, residual=False, mlp_ratio=2.0, e=0.5, g=1,
/// shortcut=True)`, as built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2C2fConfig {
    /// `Conv(c1, c_, 1, 1)`.
    pub cv1: Child,
    /// `Conv((1 + n) · c_, c2, 1)`.
    pub cv2: Child,
    /// `Sequential(ABlock, ABlock)` or `C3k` per repeat.
    pub m: Vec<Child>,
    /// Channels of the residual scale `gamma` (`c2`), when the block has one.
    #[serde(default)]
    pub gamma: Option<i64>,
}

/// `A2C2f`.
#[derive(Debug)]
pub struct A2C2f {
    cv1: Box<dyn Module>,
    cv2: Box<dyn Module>,
    m: Vec<Box<dyn Module>>,
    gamma: Option<Tensor>,
}

impl Module for A2C2f {
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = vec![self.cv1.forward_t(x, train)?];
        for m in &self.m {
            let next = m.forward_t(&y[y.len() - 1], train)?;
            y.push(next);
        }
        let y = self.cv2.forward_t(&Tensor::f_cat(&y, 1)?, train)?;
        match &self.gamma {
            Some(g) => Ok(x.f_add(&g.f_view([-1, g.size()[0], 1, 1])?.f_mul(&y)?)?),
            None => Ok(y),
        }
    }
    fn in_channels(&self) -> Option<i64> {
        self.cv1.in_channels()
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        let mut units = child_fusable("cv1", self.cv1.as_ref());
        units.extend(child_fusable("cv2", self.cv2.as_ref()));
        units.extend(list_fusable("m.", &self.m));
        units
    }
}

impl Block for A2C2f {
    type Config = A2C2fConfig;
    const NAME: &'static str = "a2c2f";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.A2C2f"];

    fn new(s: &Scope, c: &A2C2fConfig) -> Result<Self> {
        let gamma = match c.gamma {
            Some(n) => {
                within("A2C2f", "gamma channels", n, 1, MAX_WIDTH)?;
                Some(s.var("gamma", &[n], tch::nn::Init::Const(0.01))?)
            }
            None => None,
        };
        Ok(Self {
            cv1: c.cv1.build(&s.sub("cv1"))?,
            cv2: c.cv2.build(&s.sub("cv2"))?,
            m: build_list(&s.sub("m"), &c.m)?,
            gamma,
        })
    }

    fn from_args(a: &Args) -> Result<Option<A2C2fConfig>> {
        a.at_most(&["c1", "c2", "n", "a2", "area", "residual", "mlp_ratio", "e", "g", "shortcut"])?;
        let (c1, c2, n) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "n", 1)?);
        let (a2, area, residual) = (a.bool_or(3, "a2", true)?, a.int_or(4, "area", 1)?, a.bool_or(5, "residual", false)?);
        let (ratio, e) = (a.float_or(6, "mlp_ratio", 2.0)?, a.float_or(7, "e", 0.5)?);
        let (g, shortcut) = (a.int_or(8, "g", 1)?, a.bool_or(9, "shortcut", true)?);
        let c_ = (c2 as f64 * e) as i64;
        if c_ % 32 != 0 {
            return Err(Error::Config(format!("A2C2f: ABlock dimension {c_} must be a multiple of 32")));
        }
        let i = &a.init;
        let m = repeat(n, || match a2 {
            true => seq(vec![
                i.child::<ABlock>(args![c_, c_ / 32, ratio, area], no_kw())?,
                i.child::<ABlock>(args![c_, c_ / 32, ratio, area], no_kw())?,
            ]),
            false => i.child::<C3k>(args![c_, c_, 2, shortcut, g], no_kw()),
        })?;
        Ok(Some(A2C2fConfig {
            cv1: conv(i, args![c1, c_, 1, 1])?,
            cv2: conv(i, args![(1 + n) * c_, c2, 1])?,
            m,
            gamma: (a2 && residual).then_some(c2),
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<A2C2fConfig> {
        Ok(A2C2fConfig {
            cv1: Child::from_pickle(&m.child("cv1")?, notes)?,
            cv2: Child::from_pickle(&m.child("cv2")?, notes)?,
            m: Child::list_from_pickle(&m.child("m")?, notes)?,
            gamma: m.shapes().get("gamma").and_then(|d| d.first().copied()),
        })
    }

    fn fused(c: &A2C2fConfig) -> Result<A2C2fConfig> {
        Ok(A2C2fConfig { cv1: c.cv1.fused()?, cv2: c.cv2.fused()?, m: fused_list(&c.m)?, ..c.clone() })
    }
}
