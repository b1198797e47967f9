//! ultralytics `Depth` (`nn/modules/head.py`, 8.4.190; YOLO26 `-depth`): every level projected
//! to `c_mid` channels (`proj`), fused top-down (2× bilinear with `align_corners=True`, added,
//! `refine`d), then `head` (2× transposed convolution to a stride-4 log-depth map), clamped to
//! [−4, 5] and calibrated: `exp(cal_a · out + cal_b)`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw};
use crate::modules::child::{build_list, fused_list, list_fusable};
use crate::modules::composite::child_fusable;
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{within, Args, Block, Child, Conv2dBlock, ConvTranspose2d, Fuse, Module, Notes, Pickled, MAX_WIDTH};
use crate::nn::Scope;

/// `Depth(c_mid=256, ch=())`, as built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthConfig {
    /// `Conv(chᵢ, c_mid, 1)` per level.
    pub proj: Vec<Child>,
    /// `Sequential(Conv(c_mid, c_mid, 3), Conv(c_mid, c_mid, 3))` per level but the last.
    pub refine: Vec<Child>,
    /// `Sequential(Conv(c, c/2, 3), ConvTranspose2d(c/2, c/2, 2, 2), Conv(c/2, c/4, 3),
    /// nn.Conv2d(c/4, 1, 1))`.
    pub head: Child,
}

/// `Depth`.
#[derive(Debug)]
pub struct Depth {
    proj: Vec<Box<dyn Module>>,
    refine: Vec<Box<dyn Module>>,
    head: Box<dyn Module>,
    cal_a: Tensor,
    cal_b: Tensor,
}

impl Depth {
    /// # Shapes
    /// `[B, chᵢ, H/2^(3+i), W/2^(3+i)]`… → `[B, 1, H/4, W/4]` depth (positive).
    fn depth(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        if train {
            return Err(Error::InvalidInput("Depth's training output is not produced by sppnet".into()));
        }
        if xs.len() != self.proj.len() {
            return Err(Error::InvalidInput(format!("Depth has {} levels, got {} inputs", self.proj.len(), xs.len())));
        }
        let feats = self.proj.iter().zip(xs).map(|(p, x)| p.forward_t(x, false)).collect::<Result<Vec<_>>>()?;
        let mut out = feats[feats.len() - 1].shallow_clone();
        for i in (0..feats.len() - 1).rev() {
            let size = out.size();
            let up = out.f_upsample_bilinear2d([size[2] * 2, size[3] * 2], true, Some(2.0), Some(2.0))?;
            out = self.refine[i].forward_t(&up.f_add(&feats[i])?, false)?;
        }
        let out = self.head.forward_t(&out, false)?.f_clamp(-4.0, 5.0)?;
        Ok(self.cal_a.f_mul(&out)?.f_add(&self.cal_b)?.f_exp()?)
    }
}

impl Module for Depth {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.depth(&[x], train)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.depth(xs, train)
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        let mut units = list_fusable("proj.", &self.proj);
        units.extend(list_fusable("refine.", &self.refine));
        units.extend(child_fusable("head", self.head.as_ref()));
        units
    }
}

impl Block for Depth {
    type Config = DepthConfig;
    const NAME: &'static str = "depth";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.Depth"];

    fn new(s: &Scope, c: &DepthConfig) -> Result<Self> {
        within("Depth", "levels", c.proj.len() as i64, 1, 16)?;
        if c.refine.len() + 1 != c.proj.len() {
            return Err(Error::Config(format!(
                "Depth has {} levels but {} refine blocks",
                c.proj.len(),
                c.refine.len()
            )));
        }
        Ok(Self {
            proj: build_list(&s.sub("proj"), &c.proj)?,
            refine: build_list(&s.sub("refine"), &c.refine)?,
            head: c.head.build(&s.sub("head"))?,
            cal_a: s.buffer("cal_a", &[1], 1.0)?,
            cal_b: s.buffer("cal_b", &[1], 0.0)?,
        })
    }

    /// `Depth(c_mid=256, ch=())`.
    fn from_args(a: &Args) -> Result<Option<DepthConfig>> {
        a.at_most(&["c_mid", "ch"])?;
        let (c, ch) = (a.int_or(0, "c_mid", 256)?, a.ints_or(1, "ch", &[])?);
        within("Depth", "c_mid", c, 4, MAX_WIDTH)?;
        if ch.is_empty() {
            return Err(Error::Config("Depth needs its inputs' channels (`ch`)".into()));
        }
        let i = &a.init;
        let refine = || seq(vec![conv(i, args![c, c, 3])?, conv(i, args![c, c, 3])?]);
        Ok(Some(DepthConfig {
            proj: ch.iter().map(|&x| conv(i, args![x, c, 1])).collect::<Result<_>>()?,
            refine: ch[..ch.len() - 1].iter().map(|_| refine()).collect::<Result<_>>()?,
            head: seq(vec![
                conv(i, args![c, c / 2, 3])?,
                i.child::<ConvTranspose2d>(args![c / 2, c / 2, 2, 2], serde_json::json!({ "bias": true }))?,
                conv(i, args![c / 2, c / 4, 3])?,
                i.child::<Conv2dBlock>(args![c / 4, 1, 1], no_kw())?,
            ])?,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<DepthConfig> {
        Ok(DepthConfig {
            proj: Child::list_from_pickle(&m.child("proj")?, notes)?,
            refine: Child::list_from_pickle(&m.child("refine")?, notes)?,
            head: Child::from_pickle(&m.child("head")?, notes)?,
        })
    }

    fn fused(c: &DepthConfig) -> Result<DepthConfig> {
        Ok(DepthConfig { proj: fused_list(&c.proj)?, refine: fused_list(&c.refine)?, head: c.head.fused()? })
    }
}
