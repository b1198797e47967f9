//! ultralytics `Pose` (`nn/modules/head.py`, 8.4.190): a `Detect` whose predictions carry each
//! anchor's keypoints (branch `cv4`, and `one2one_cv4` end-to-end), decoded to input pixels as
//! `kpts_decode` does (`(k · 2 + anchor − 0.5) · stride`, visibility through a sigmoid).

use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::Tensor;

use super::detect::{Detect, DetectConfig, Raw};
use super::head_ops::levels;
use super::task_head::{branch_from_pickle, build_branch, dropped, fused_branch, head_fusable, used_name, Drop};
use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{within, Args, Block, Child, Conv2dBlock, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

/// `Pose(nc=80, kpt_shape=(17, 3), reg_max=16, end2end=False, ch=())`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoseConfig {
    /// What it inherits from `Detect`.
    pub detect: DetectConfig,
    /// Keypoints and values per keypoint (2: x, y; 3: x, y, visibility).
    pub kpt_shape: [i64; 2],
    /// Keypoint branch per level.
    #[serde(default)]
    pub cv4: Option<Vec<Child>>,
    /// One-to-one keypoint branch (end-to-end heads).
    #[serde(default)]
    pub one2one_cv4: Option<Vec<Child>>,
}

/// `Pose`.
#[derive(Debug)]
pub struct Pose {
    /// Settings.
    pub config: PoseConfig,
    /// The Detect part.
    pub detect: Detect,
    cv4: (String, Vec<Box<dyn Module>>),
    drop: Drop,
}

/// `kpt_shape` checked: 1 to 1024 keypoints of 2 or 3 values.
pub fn check_kpt_shape(class: &str, [n, d]: [i64; 2]) -> Result<i64> {
    within(class, "keypoints", n, 1, 1024)?;
    within(class, "values per keypoint", d, 2, 3)?;
    Ok(n * d)
}

/// `kpts_decode` (not exported): each keypoint's x and y to input pixels — `(k · 2 + (a −
/// 0.5)) · s` for `Pose`, `(k + a) · s` for `Pose26` — and a third value through a sigmoid.
///
/// # Shapes
/// `[B, n·d, A]` → `[B, n·d, A]`.
pub fn kpts_decode(kpts: &Tensor, [n, d]: [i64; 2], r: &Raw, v26: bool) -> Result<Tensor> {
    let bs = kpts.size()[0];
    let y = kpts.f_view([bs, n, d, -1])?;
    let parts = (0..d)
        .map(|j| -> Result<Tensor> {
            let v = y.f_select(2, j)?;
            if j >= 2 {
                return Ok(if d == 3 { v.f_sigmoid()? } else { v.f_contiguous()? });
            }
            let a = r.anchors.f_select(0, j)?;
            let v = match v26 {
                false => v.f_mul_scalar(2.0)?.f_add(&a.f_sub_scalar(0.5)?)?,
                true => v.f_add(&a)?,
            };
            Ok(v.f_mul(&r.strides)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::f_stack(&parts, 2)?.f_view([bs, n * d, -1])?)
}

impl Pose {
    fn build(s: &Scope, c: &PoseConfig) -> Result<Self> {
        check_kpt_shape("Pose", c.kpt_shape)?;
        let detect = Detect::new(s, &c.detect)?;
        let e2e = detect.end2end();
        let pair = [&c.cv4, &c.one2one_cv4];
        let cv4 = build_branch(s, "Pose", "cv4", pair, e2e, c.detect.stride.len())?;
        Ok(Self {
            cv4: (used_name("cv4", e2e), cv4),
            drop: Drop(dropped("cv4", pair, e2e)),
            detect,
            config: c.clone(),
        })
    }

    /// # Shapes
    /// `[B, chᵢ, Hᵢ, Wᵢ]`… → `[B, 4 + nc + n·d, A]` (end-to-end: `[B, min(max_det, A), 6 + n·d]`).
    fn pose(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        let r = self.detect.raw(xs, train)?;
        let [n, d] = self.config.kpt_shape;
        let kpts = kpts_decode(&levels(&self.cv4.1, xs, n * d)?, self.config.kpt_shape, &r, false)?;
        let dbox = self.detect.boxes(&r)?;
        self.detect.finish(dbox, r, Some(kpts))
    }
}

impl Module for Pose {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.pose(&[x], train)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.pose(xs, train)
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        head_fusable(&self.detect, &[(self.cv4.0.clone(), &self.cv4.1)], &self.drop)
    }
}

/// `kpt_shape` from a pickled head or constructor arguments.
pub fn kpt_pair(v: Option<Vec<i64>>, class: &str) -> Result<[i64; 2]> {
    match v.as_deref() {
        Some(&[n, d]) => Ok([n, d]),
        other => Err(Error::Config(format!("{class} kpt_shape must be two numbers, got {other:?}"))),
    }
}

/// The Detect part of a `Pose`-family head from its constructor arguments, its `kpt_shape`
/// and input channels.
pub fn pose_args(a: &Args) -> Result<(DetectConfig, [i64; 2], Vec<i64>, bool)> {
    a.at_most(&["nc", "kpt_shape", "reg_max", "end2end", "ch", "legacy"])?;
    let nc = a.int_or(0, "nc", 80)?;
    let kpt = kpt_pair(Some(a.ints_or(1, "kpt_shape", &[17, 3])?), a.class())?;
    let (reg_max, end2end) = (a.int_or(2, "reg_max", 16)?, a.bool_or(3, "end2end", false)?);
    let ch = a.ints_or(4, "ch", &[])?;
    let legacy = a.bool_or(5, "legacy", false)?;
    let detect = a.init.config::<Detect>(args![nc, reg_max, end2end, ch.clone()], json!({ "legacy": legacy }))?;
    if ch.is_empty() {
        return Err(Error::Config(format!("{} needs the channels of its inputs (`ch`)", a.class())));
    }
    Ok((detect, kpt, ch, end2end))
}

impl Block for Pose {
    type Config = PoseConfig;
    const NAME: &'static str = "pose";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.Pose"];

    fn new(s: &Scope, c: &PoseConfig) -> Result<Self> {
        Self::build(s, c)
    }

    fn from_args(a: &Args) -> Result<Option<PoseConfig>> {
        let (detect, kpt_shape, ch, end2end) = pose_args(a)?;
        let nk = check_kpt_shape("Pose", kpt_shape)?;
        let (c4, i) = ((ch[0] / 4).max(nk), &a.init);
        let cv4 = ch
            .iter()
            .map(|&x| seq(vec![conv(i, args![x, c4, 3])?, conv(i, args![c4, c4, 3])?, i.child::<Conv2dBlock>(args![c4, nk, 1], no_kw())?]))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(PoseConfig { detect, kpt_shape, one2one_cv4: end2end.then(|| cv4.clone()), cv4: Some(cv4) }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<PoseConfig> {
        Ok(PoseConfig {
            detect: Detect::from_pickle(m, notes)?,
            kpt_shape: kpt_pair(m.ints("kpt_shape"), m.class())?,
            cv4: branch_from_pickle(m, "cv4", notes)?,
            one2one_cv4: branch_from_pickle(m, "one2one_cv4", notes)?,
        })
    }

    fn fused(c: &PoseConfig) -> Result<PoseConfig> {
        let [cv4, one2one_cv4] = fused_branch([&c.cv4, &c.one2one_cv4], c.detect.is_end2end())?;
        Ok(PoseConfig { detect: Detect::fused(&c.detect)?, cv4, one2one_cv4, ..c.clone() })
    }
}
