//! ultralytics `OBB` (`nn/modules/head.py`, 8.4.190): a `Detect` for rotated boxes — an angle
//! per anchor (branch `cv4`, and `one2one_cv4` end-to-end) as `(sigmoid − 0.25) · π`, boxes
//! decoded with it (`dist2rbox`, centre and size), the angle appended to the predictions.
//! YOLO26's `OBB26` is the same but for the raw angle.

use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::Tensor;

use super::detect::{Detect, DetectConfig};
use super::head_ops::{dist2rbox, levels};
use super::task_head::{branch_from_pickle, build_branch, dropped, fused_branch, head_fusable, used_name, Drop};
use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{within, Args, Block, Child, Conv2dBlock, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

/// `OBB(nc=80, ne=1, reg_max=16, end2end=False, ch=())`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObbConfig {
    /// What it inherits from `Detect`.
    pub detect: DetectConfig,
    /// Extra values per anchor (the angle).
    #[serde(default = "one")]
    pub ne: i64,
    /// Angle branch per level.
    #[serde(default)]
    pub cv4: Option<Vec<Child>>,
    /// One-to-one angle branch (end-to-end heads).
    #[serde(default)]
    pub one2one_cv4: Option<Vec<Child>>,
}

fn one() -> i64 {
    1
}

/// `OBB` (and, with the raw angle, `OBB26`).
#[derive(Debug)]
pub struct Obb {
    /// Settings.
    pub config: ObbConfig,
    /// The Detect part.
    pub detect: Detect,
    /// `OBB26`: the angle is the branch's raw output.
    raw_angle: bool,
    cv4: (String, Vec<Box<dyn Module>>),
    drop: Drop,
}

impl Obb {
    /// Build it; `raw_angle` for `OBB26`.
    pub fn build(s: &Scope, c: &ObbConfig, raw_angle: bool) -> Result<Self> {
        within("OBB", "ne", c.ne, 1, 1)?;
        let detect = Detect::new(s, &c.detect)?;
        let e2e = detect.end2end();
        let pair = [&c.cv4, &c.one2one_cv4];
        let cv4 = build_branch(s, "OBB", "cv4", pair, e2e, c.detect.stride.len())?;
        Ok(Self {
            cv4: (used_name("cv4", e2e), cv4),
            drop: Drop(dropped("cv4", pair, e2e)),
            detect,
            raw_angle,
            config: c.clone(),
        })
    }

    /// # Shapes
    /// `[B, chᵢ, Hᵢ, Wᵢ]`… → `[B, 4 + nc + 1, A]` (centre, size, classes, angle; end-to-end:
    /// `[B, min(max_det, A), 7]`).
    fn obb(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        let r = self.detect.raw(xs, train)?;
        let mut angle = levels(&self.cv4.1, xs, self.config.ne)?;
        if !self.raw_angle {
            angle = angle.f_sigmoid()?.f_sub_scalar(0.25)?.f_mul_scalar(std::f64::consts::PI)?;
        }
        let dbox = dist2rbox(&r.distances, &angle, &r.anchors.f_unsqueeze(0)?)?.f_mul(&r.strides)?;
        self.detect.finish(dbox, r, Some(angle))
    }
}

impl Module for Obb {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.obb(&[x], train)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.obb(xs, train)
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        head_fusable(&self.detect, &[(self.cv4.0.clone(), &self.cv4.1)], &self.drop)
    }
}

/// `OBB(nc, ne, reg_max, end2end, ch)`'s (and `OBB26`'s) constructor.
pub fn obb_args(a: &Args) -> Result<ObbConfig> {
    a.at_most(&["nc", "ne", "reg_max", "end2end", "ch", "legacy"])?;
    let (nc, ne) = (a.int_or(0, "nc", 80)?, a.int_or(1, "ne", 1)?);
    let (reg_max, end2end) = (a.int_or(2, "reg_max", 16)?, a.bool_or(3, "end2end", false)?);
    let ch = a.ints_or(4, "ch", &[])?;
    let legacy = a.bool_or(5, "legacy", false)?;
    let detect = a.init.config::<Detect>(args![nc, reg_max, end2end, ch.clone()], json!({ "legacy": legacy }))?;
    let &c0 = ch.first().ok_or_else(|| Error::Config("OBB needs the channels of its inputs (`ch`)".into()))?;
    let (c4, i) = ((c0 / 4).max(ne), &a.init);
    let cv4 = ch
        .iter()
        .map(|&x| seq(vec![conv(i, args![x, c4, 3])?, conv(i, args![c4, c4, 3])?, i.child::<Conv2dBlock>(args![c4, ne, 1], no_kw())?]))
        .collect::<Result<Vec<_>>>()?;
    Ok(ObbConfig { detect, ne, one2one_cv4: end2end.then(|| cv4.clone()), cv4: Some(cv4) })
}

impl Block for Obb {
    type Config = ObbConfig;
    const NAME: &'static str = "obb";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.OBB"];

    fn new(s: &Scope, c: &ObbConfig) -> Result<Self> {
        Self::build(s, c, false)
    }

    fn from_args(a: &Args) -> Result<Option<ObbConfig>> {
        obb_args(a).map(Some)
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<ObbConfig> {
        Ok(ObbConfig {
            detect: Detect::from_pickle(m, notes)?,
            ne: m.int("ne").unwrap_or(1),
            cv4: branch_from_pickle(m, "cv4", notes)?,
            one2one_cv4: branch_from_pickle(m, "one2one_cv4", notes)?,
        })
    }

    fn fused(c: &ObbConfig) -> Result<ObbConfig> {
        let [cv4, one2one_cv4] = fused_branch([&c.cv4, &c.one2one_cv4], c.detect.is_end2end())?;
        Ok(ObbConfig { detect: Detect::fused(&c.detect)?, cv4, one2one_cv4, ..c.clone() })
    }
}
