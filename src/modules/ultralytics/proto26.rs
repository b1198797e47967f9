//! ultralytics `Proto26` (`nn/modules/block.py`, 8.4.190; YOLO26's `Segment26`): every level
//! brought to the first's channels (`feat_refine`, 1×1), upsampled to its size (nearest, 2^(i+1))
//! and summed, `feat_fuse`, then `Proto`'s chain; `semseg` (a semantic head trained alongside)
//! is built but used only in training, and `fuse` drops it.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::proto::{proto_parts, protos};
use super::task_head::Drop;
use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw};
use crate::modules::child::{build_list, fused_list, list_fusable};
use crate::modules::composite::child_fusable;
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{Args, Block, Child, Conv2dBlock, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

/// `Proto26(ch=(), c_=256, c2=32, nc=80)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proto26Config {
    /// `Conv(c_, c_, 3)`.
    pub cv1: Child,
    /// `nn.ConvTranspose2d(c_, c_, 2, 2, 0)`.
    pub upsample: Child,
    /// `Conv(c_, c_, 3)`.
    pub cv2: Child,
    /// `Conv(c_, c2)`.
    pub cv3: Child,
    /// `Conv(chᵢ, ch₀, 1)` for each level after the first.
    pub feat_refine: Vec<Child>,
    /// `Conv(ch₀, c_, 3)`.
    pub feat_fuse: Child,
    /// The training-only semantic head (absent after `fuse`).
    #[serde(default)]
    pub semseg: Option<Child>,
}

/// `Proto26`.
#[derive(Debug)]
pub struct Proto26 {
    chain: [Box<dyn Module>; 4],
    feat_refine: Vec<Box<dyn Module>>,
    feat_fuse: Box<dyn Module>,
    drop: Drop,
}

impl Proto26 {
    /// # Shapes
    /// `[B, chᵢ, H/2ⁱ, W/2ⁱ]`… → `[B, c2, 2H, 2W]`.
    fn protos(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        if xs.len() != self.feat_refine.len() + 1 {
            return Err(Error::InvalidInput(format!(
                "Proto26 takes {} levels, got {}",
                self.feat_refine.len() + 1,
                xs.len()
            )));
        }
        let mut feat = xs[0].shallow_clone();
        for (i, (f, x)) in self.feat_refine.iter().zip(&xs[1..]).enumerate() {
            let up = f.forward_t(x, train)?;
            let s = f64::from(1u32 << (i + 1));
            let size = up.size();
            let out = [size[2] * (1 << (i + 1)), size[3] * (1 << (i + 1))];
            feat = feat.f_add(&up.f_upsample_nearest2d(out, Some(s), Some(s))?)?;
        }
        let fused = self.feat_fuse.forward_t(&feat, train)?;
        let [a, b, c, d] = &self.chain;
        protos(&[&**a, &**b, &**c, &**d], &fused, train)
    }
}

impl Module for Proto26 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.protos(&[x], train)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.protos(xs, train)
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        let mut units: Vec<(String, &dyn Fuse)> = Vec::new();
        if !self.drop.0.is_empty() {
            units.push((String::new(), &self.drop as &dyn Fuse));
        }
        for (name, m) in ["cv1", "upsample", "cv2", "cv3"].iter().zip(&self.chain) {
            units.extend(child_fusable(name, m.as_ref()));
        }
        units.extend(list_fusable("feat_refine.", &self.feat_refine));
        units.extend(child_fusable("feat_fuse", self.feat_fuse.as_ref()));
        units
    }
}

impl Block for Proto26 {
    type Config = Proto26Config;
    const NAME: &'static str = "proto26";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.block.Proto26"];

    fn new(s: &Scope, c: &Proto26Config) -> Result<Self> {
        if let Some(semseg) = &c.semseg {
            let _unused = semseg.build(&s.sub("semseg"))?;
        }
        Ok(Self {
            chain: [
                c.cv1.build(&s.sub("cv1"))?,
                c.upsample.build(&s.sub("upsample"))?,
                c.cv2.build(&s.sub("cv2"))?,
                c.cv3.build(&s.sub("cv3"))?,
            ],
            feat_refine: build_list(&s.sub("feat_refine"), &c.feat_refine)?,
            feat_fuse: c.feat_fuse.build(&s.sub("feat_fuse"))?,
            drop: Drop(c.semseg.iter().map(|_| "semseg".to_string()).collect()),
        })
    }

    /// `Proto26(ch=(), c_=256, c2=32, nc=80)`: `Proto(c_, c_, c2)`'s children, then
    /// `feat_refine`, `feat_fuse` and `semseg = Sequential(Conv(ch₀, c_, 3), Conv(c_, c_, 3),
    /// nn.Conv2d(c_, nc, 1))`.
    fn from_args(a: &Args) -> Result<Option<Proto26Config>> {
        a.at_most(&["ch", "c_", "c2", "nc"])?;
        let ch = a.ints_or(0, "ch", &[])?;
        let (c_, c2, nc) = (a.int_or(1, "c_", 256)?, a.int_or(2, "c2", 32)?, a.int_or(3, "nc", 80)?);
        let &c0 = ch.first().ok_or_else(|| Error::Config("Proto26 needs the channels of its inputs (`ch`)".into()))?;
        let i = &a.init;
        let p = proto_parts(i, c_, c_, c2)?;
        Ok(Some(Proto26Config {
            cv1: p.cv1,
            upsample: p.upsample,
            cv2: p.cv2,
            cv3: p.cv3,
            feat_refine: ch[1..].iter().map(|&x| conv(i, args![x, c0, 1])).collect::<Result<_>>()?,
            feat_fuse: conv(i, args![c0, c_, 3])?,
            semseg: Some(seq(vec![
                conv(i, args![c0, c_, 3])?,
                conv(i, args![c_, c_, 3])?,
                i.child::<Conv2dBlock>(args![c_, nc, 1], no_kw())?,
            ])?),
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<Proto26Config> {
        let one = |name: &str, notes: &mut Notes| Child::from_pickle(&m.child(name)?, notes);
        Ok(Proto26Config {
            cv1: one("cv1", notes)?,
            upsample: one("upsample", notes)?,
            cv2: one("cv2", notes)?,
            cv3: one("cv3", notes)?,
            feat_refine: Child::list_from_pickle(&m.child("feat_refine")?, notes)?,
            feat_fuse: one("feat_fuse", notes)?,
            semseg: m.try_child("semseg").map(|c| Child::from_pickle(&c, notes)).transpose()?,
        })
    }

    /// Upstream's `Proto26.fuse`: `semseg` dropped, the convolutions folded.
    fn fused(c: &Proto26Config) -> Result<Proto26Config> {
        Ok(Proto26Config {
            cv1: c.cv1.fused()?,
            upsample: c.upsample.fused()?,
            cv2: c.cv2.fused()?,
            cv3: c.cv3.fused()?,
            feat_refine: fused_list(&c.feat_refine)?,
            feat_fuse: c.feat_fuse.fused()?,
            semseg: None,
        })
    }
}
