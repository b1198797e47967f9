//! ultralytics `Pose26` (`nn/modules/head.py`, 8.4.190; YOLO26): a `Pose` whose keypoint
//! branch is shared features (`cv4`, two convolutions) then a keypoint convolution
//! (`cv4_kpts`) and a training-only sigma convolution (`cv4_sigma`), each with its one-to-one
//! copy; keypoints decode as `(k + anchor) · stride`. Its `flow_model` (`RealNVP`) and the
//! sigma branch serve the training loss only: built for the state_dict, dropped by `fuse`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::detect::{Detect, DetectConfig};
use super::pose::{check_kpt_shape, kpt_pair, kpts_decode, pose_args};
use super::task_head::{branch_from_pickle, build_branch, dropped, fused_branch, head_fusable, used_name, Drop};
use crate::error::Result;
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{Args, Block, Child, Conv2dBlock, Fuse, Module, Notes, Pickled, RealNvp};
use crate::nn::Scope;

/// `Pose26(nc=80, kpt_shape=(17, 3), reg_max=16, end2end=False, ch=())`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pose26Config {
    /// What it inherits from `Detect`.
    pub detect: DetectConfig,
    /// Keypoints and values per keypoint.
    pub kpt_shape: [i64; 2],
    /// Keypoint features per level.
    #[serde(default)]
    pub cv4: Option<Vec<Child>>,
    /// Keypoint convolution per level.
    #[serde(default)]
    pub cv4_kpts: Option<Vec<Child>>,
    /// Sigma convolution per level (training only; absent after `fuse`).
    #[serde(default)]
    pub cv4_sigma: Option<Vec<Child>>,
    /// One-to-one copies (end-to-end heads).
    #[serde(default)]
    pub one2one_cv4: Option<Vec<Child>>,
    /// One-to-one keypoint convolutions.
    #[serde(default)]
    pub one2one_cv4_kpts: Option<Vec<Child>>,
    /// One-to-one sigma convolutions.
    #[serde(default)]
    pub one2one_cv4_sigma: Option<Vec<Child>>,
    /// The training flow (absent after `fuse`).
    #[serde(default)]
    pub flow_model: Option<Child>,
}

/// `Pose26`.
#[derive(Debug)]
pub struct Pose26 {
    /// Settings.
    pub config: Pose26Config,
    /// The Detect part.
    pub detect: Detect,
    cv4: (String, Vec<Box<dyn Module>>),
    kpts: (String, Vec<Box<dyn Module>>),
    drop: Drop,
}

impl Pose26Config {
    fn pairs(&self) -> [(&'static str, [&Option<Vec<Child>>; 2]); 3] {
        [
            ("cv4", [&self.cv4, &self.one2one_cv4]),
            ("cv4_kpts", [&self.cv4_kpts, &self.one2one_cv4_kpts]),
            ("cv4_sigma", [&self.cv4_sigma, &self.one2one_cv4_sigma]),
        ]
    }
}

impl Pose26 {
    /// # Shapes
    /// `[B, chᵢ, Hᵢ, Wᵢ]`… → `[B, 4 + nc + n·d, A]` (end-to-end: `[B, min(max_det, A), 6 + n·d]`).
    fn pose(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        let r = self.detect.raw(xs, train)?;
        let bs = xs[0].size()[0];
        let [n, d] = self.config.kpt_shape;
        let parts = self
            .cv4
            .1
            .iter()
            .zip(&self.kpts.1)
            .zip(xs)
            .map(|((f, k), x)| Ok(k.forward_t(&f.forward_t(x, false)?, false)?.f_view([bs, n * d, -1])?))
            .collect::<Result<Vec<_>>>()?;
        let kpts = kpts_decode(&Tensor::f_cat(&parts, 2)?, self.config.kpt_shape, &r, true)?;
        let dbox = self.detect.boxes(&r)?;
        self.detect.finish(dbox, r, Some(kpts))
    }
}

impl Module for Pose26 {
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
        let branches = [(self.cv4.0.clone(), &self.cv4.1[..]), (self.kpts.0.clone(), &self.kpts.1[..])];
        head_fusable(&self.detect, &branches, &self.drop)
    }
}

impl Block for Pose26 {
    type Config = Pose26Config;
    const NAME: &'static str = "pose26";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.Pose26"];

    fn new(s: &Scope, c: &Pose26Config) -> Result<Self> {
        check_kpt_shape("Pose26", c.kpt_shape)?;
        let detect = Detect::new(s, &c.detect)?;
        let (e2e, nl) = (detect.end2end(), c.detect.stride.len());
        let [(_, cv4), (_, kpts), (_, sigma)] = c.pairs();
        let built_cv4 = build_branch(s, "Pose26", "cv4", cv4, e2e, nl)?;
        let built_kpts = build_branch(s, "Pose26", "cv4_kpts", kpts, e2e, nl)?;
        // The sigma branch: whichever copies the file holds, built unused.
        for (name, list) in [("cv4_sigma", sigma[0]), ("one2one_cv4_sigma", sigma[1])] {
            if let Some(list) = list {
                let _unused = crate::modules::child::build_list(&s.sub(name), list)?;
            }
        }
        if let Some(flow) = &c.flow_model {
            let _unused = flow.build(&s.sub("flow_model"))?;
        }
        let mut drop: Vec<String> = c.pairs().iter().flat_map(|(n, p)| dropped(n, *p, e2e)).collect();
        drop.extend(["cv4_sigma", "one2one_cv4_sigma", "flow_model"].map(String::from));
        drop.sort();
        drop.dedup();
        Ok(Self {
            cv4: (used_name("cv4", e2e), built_cv4),
            kpts: (used_name("cv4_kpts", e2e), built_kpts),
            drop: Drop(drop),
            detect,
            config: c.clone(),
        })
    }

    /// `Pose26(nc, kpt_shape, reg_max, end2end, ch)`: `cv4 = Sequential(Conv(x, c4, 3), Conv(c4,
    /// c4, 3))` with `c4 = max(ch₀ // 4, n · (d + 2))`, `cv4_kpts = Conv2d(c4, n·d, 1)`,
    /// `cv4_sigma = Conv2d(c4, 2n, 1)`, one-to-one copies when end-to-end, `flow_model = RealNVP()`.
    fn from_args(a: &Args) -> Result<Option<Pose26Config>> {
        let (detect, kpt_shape, ch, e2e) = pose_args(a)?;
        let nk = check_kpt_shape("Pose26", kpt_shape)?;
        let (c4, i) = ((ch[0] / 4).max(kpt_shape[0] * (kpt_shape[1] + 2)), &a.init);
        let one = |c: i64| i.child::<Conv2dBlock>(args![c4, c, 1], no_kw());
        let cv4 = ch.iter().map(|&x| seq(vec![conv(i, args![x, c4, 3])?, conv(i, args![c4, c4, 3])?])).collect::<Result<Vec<_>>>()?;
        let kpts = ch.iter().map(|_| one(nk)).collect::<Result<Vec<_>>>()?;
        let sigma = ch.iter().map(|_| one(kpt_shape[0] * 2)).collect::<Result<Vec<_>>>()?;
        Ok(Some(Pose26Config {
            detect,
            kpt_shape,
            one2one_cv4: e2e.then(|| cv4.clone()),
            one2one_cv4_kpts: e2e.then(|| kpts.clone()),
            one2one_cv4_sigma: e2e.then(|| sigma.clone()),
            cv4: Some(cv4),
            cv4_kpts: Some(kpts),
            cv4_sigma: Some(sigma),
            flow_model: Some(i.child::<RealNvp>(args![], no_kw())?),
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<Pose26Config> {
        let mut b = |name: &str| branch_from_pickle(m, name, notes);
        let (cv4, cv4_kpts, cv4_sigma) = (b("cv4")?, b("cv4_kpts")?, b("cv4_sigma")?);
        let (o4, okpts, osigma) = (b("one2one_cv4")?, b("one2one_cv4_kpts")?, b("one2one_cv4_sigma")?);
        Ok(Pose26Config {
            detect: Detect::from_pickle(m, notes)?,
            kpt_shape: kpt_pair(m.ints("kpt_shape"), m.class())?,
            cv4,
            cv4_kpts,
            cv4_sigma,
            one2one_cv4: o4,
            one2one_cv4_kpts: okpts,
            one2one_cv4_sigma: osigma,
            flow_model: m.try_child("flow_model").map(|c| Child::from_pickle(&c, notes)).transpose()?,
        })
    }

    /// Upstream's `Pose26.fuse`: the unused copies dropped (`Detect.fuse`), then the sigma
    /// branch and the flow.
    fn fused(c: &Pose26Config) -> Result<Pose26Config> {
        let e2e = c.detect.is_end2end();
        let [cv4, one2one_cv4] = fused_branch([&c.cv4, &c.one2one_cv4], e2e)?;
        let [cv4_kpts, one2one_cv4_kpts] = fused_branch([&c.cv4_kpts, &c.one2one_cv4_kpts], e2e)?;
        Ok(Pose26Config {
            detect: Detect::fused(&c.detect)?,
            kpt_shape: c.kpt_shape,
            cv4,
            cv4_kpts,
            cv4_sigma: None,
            one2one_cv4,
            one2one_cv4_kpts,
            one2one_cv4_sigma: None,
            flow_model: None,
        })
    }
}
