//! ultralytics `Segment` (`nn/modules/head.py`, 8.4.190): a `Detect` whose predictions carry
//! `nm` mask coefficients per anchor (branch `cv4`, and `one2one_cv4` for an end-to-end head)
//! and which also returns the mask prototypes of its `proto` module (`Proto` on the first
//! level; YOLO26's `Proto26` on all of them).

use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::Tensor;

use super::detect::{Detect, DetectConfig};
use super::head_ops::levels;
use super::task_head::{branch_from_pickle, build_branch, dropped, fused_branch, head_fusable, used_name, Drop};
use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{within, Args, Block, Child, Conv2dBlock, Flow, Fuse, Module, Notes, Pickled, Proto, MAX_WIDTH};
use crate::nn::Scope;

/// `Segment(nc=80, nm=32, npr=256, reg_max=16, end2end=False, ch=())`: its Detect part, the
/// prototype module and the coefficient branches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// What it inherits from `Detect` (the same state_dict keys).
    pub detect: DetectConfig,
    /// Mask coefficients per anchor (prototypes `proto` makes).
    #[serde(default = "thirty_two")]
    pub nm: i64,
    /// The prototype module's hidden channels.
    #[serde(default = "two_fifty_six")]
    pub npr: i64,
    /// `Proto(ch[0], npr, nm)` or `Proto26(ch, npr, nm, nc)`.
    pub proto: Child,
    /// Coefficient branch per level.
    #[serde(default)]
    pub cv4: Option<Vec<Child>>,
    /// One-to-one coefficient branch (end-to-end heads).
    #[serde(default)]
    pub one2one_cv4: Option<Vec<Child>>,
}

fn thirty_two() -> i64 {
    32
}
fn two_fifty_six() -> i64 {
    256
}

/// `Segment`.
#[derive(Debug)]
pub struct Segment {
    /// Settings.
    pub config: SegmentConfig,
    /// The Detect part.
    pub detect: Detect,
    /// `proto`.
    pub proto: Box<dyn Module>,
    /// Whether `proto` reads every level (`Proto26`) or the first (`Proto`).
    all_levels: bool,
    /// The coefficient branch the forward uses, and its name.
    cv4: (String, Vec<Box<dyn Module>>),
    drop: Drop,
}

impl Segment {
    /// Build it; `_variant` is unused (`Segment26` differs only in its constructor).
    pub fn build(s: &Scope, c: &SegmentConfig, _variant: bool) -> Result<Self> {
        within("Segment", "nm", c.nm, 1, MAX_WIDTH)?;
        within("Segment", "npr", c.npr, 1, MAX_WIDTH)?;
        let detect = Detect::new(s, &c.detect)?;
        let e2e = detect.end2end();
        let pair = [&c.cv4, &c.one2one_cv4];
        let cv4 = build_branch(s, "Segment", "cv4", pair, e2e, c.detect.stride.len())?;
        Ok(Self {
            proto: c.proto.build(&s.sub("proto"))?,
            all_levels: c.proto.class != "proto",
            cv4: (used_name("cv4", e2e), cv4),
            drop: Drop(dropped("cv4", pair, e2e)),
            detect,
            config: c.clone(),
        })
    }

    /// The predictions with their mask coefficients, and the prototypes.
    ///
    /// # Shapes
    /// `[B, chᵢ, Hᵢ, Wᵢ]`… → `[B, 4 + nc + nm, A]` (or `[B, min(max_det, A), 6 + nm]`
    /// end-to-end) and `[B, nm, 2H₀, 2W₀]`.
    pub fn segment(&self, xs: &[&Tensor], train: bool) -> Result<(Tensor, Tensor)> {
        let r = self.detect.raw(xs, train)?;
        let mc = levels(&self.cv4.1, xs, self.config.nm)?;
        let dbox = self.detect.boxes(&r)?;
        let y = self.detect.finish(dbox, r, Some(mc))?;
        let proto = match self.all_levels {
            true => self.proto.forward_many(xs, false)?,
            false => self.proto.forward_t(xs[0], false)?,
        };
        Ok((y, proto))
    }
}

impl Module for Segment {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.segment(&[x], train)?.0)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        Ok(self.segment(xs, train)?.0)
    }
    /// The predictions and the prototypes, as a tuple (upstream's `(y, proto)`).
    fn forward_flow(&self, input: &Flow, train: bool) -> Result<Flow> {
        let (y, p) = self.segment(&input.tensors()?, train)?;
        Ok(Flow::Tuple(vec![y, p]))
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        let mut units = head_fusable(&self.detect, &[(self.cv4.0.clone(), &self.cv4.1)], &self.drop);
        units.extend(crate::modules::composite::child_fusable("proto", self.proto.as_ref()));
        units
    }
}

/// `Segment`'s and `Segment26`'s constructor, with the prototype module `proto` makes.
pub fn segment_args(a: &Args, proto: impl Fn(&Args, i64, i64, &[i64], i64) -> Result<Child>) -> Result<SegmentConfig> {
    a.at_most(&["nc", "nm", "npr", "reg_max", "end2end", "ch", "legacy"])?;
    let (nc, nm, npr) = (a.int_or(0, "nc", 80)?, a.int_or(1, "nm", 32)?, a.int_or(2, "npr", 256)?);
    let (reg_max, end2end) = (a.int_or(3, "reg_max", 16)?, a.bool_or(4, "end2end", false)?);
    let ch = a.ints_or(5, "ch", &[])?;
    let legacy = a.bool_or(6, "legacy", false)?;
    let detect = a.init.config::<Detect>(args![nc, reg_max, end2end, ch.clone()], json!({ "legacy": legacy }))?;
    let &c0 = ch.first().ok_or_else(|| Error::Config("Segment needs the channels of its inputs (`ch`)".into()))?;
    let c4 = (c0 / 4).max(nm);
    let i = &a.init;
    let cv4 = ch
        .iter()
        .map(|&x| seq(vec![conv(i, args![x, c4, 3])?, conv(i, args![c4, c4, 3])?, i.child::<Conv2dBlock>(args![c4, nm, 1], no_kw())?]))
        .collect::<Result<Vec<_>>>()?;
    Ok(SegmentConfig {
        detect,
        nm,
        npr,
        proto: proto(a, npr, nm, &ch, nc)?,
        one2one_cv4: end2end.then(|| cv4.clone()),
        cv4: Some(cv4),
    })
}

impl Block for Segment {
    type Config = SegmentConfig;
    const NAME: &'static str = "segment";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.Segment"];

    fn new(s: &Scope, c: &SegmentConfig) -> Result<Self> {
        Self::build(s, c, false)
    }

    fn from_args(a: &Args) -> Result<Option<SegmentConfig>> {
        segment_args(a, |a, npr, nm, ch, _| a.init.child::<Proto>(args![ch[0], npr, nm], no_kw())).map(Some)
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<SegmentConfig> {
        let need = |name: &str| m.int(name).ok_or_else(|| Error::Config(format!("{} has no `{name}`", m.class())));
        Ok(SegmentConfig {
            detect: Detect::from_pickle(m, notes)?,
            nm: need("nm")?,
            npr: need("npr")?,
            proto: Child::from_pickle(&m.child("proto")?, notes)?,
            cv4: branch_from_pickle(m, "cv4", notes)?,
            one2one_cv4: branch_from_pickle(m, "one2one_cv4", notes)?,
        })
    }

    fn fused(c: &SegmentConfig) -> Result<SegmentConfig> {
        let [cv4, one2one_cv4] = fused_branch([&c.cv4, &c.one2one_cv4], c.detect.is_end2end())?;
        Ok(SegmentConfig { detect: Detect::fused(&c.detect)?, proto: c.proto.fused()?, cv4, one2one_cv4, ..c.clone() })
    }
}
