//! ultralytics `Detect` (`nn/modules/head.py`, 8.4.190): the detection head of YOLOv3 to YOLO26 —
//! per level a box branch (`cv2`) and a class branch (`cv3`), optionally a one-to-one copy of
//! both (`one2one_cv2`, `one2one_cv3`: YOLO26, YOLOv10), DFL (or none, `reg_max = 1`), anchor
//! decoding, and the end-to-end head's top-k.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::head_ops::{dist2bbox, levels, make_anchors, topk};
use super::task_head::Drop;
use crate::error::{Error, Result};
use crate::modules::child::{build_list, fused_list, list_fusable};
use crate::modules::composite::attr_or;
use crate::modules::{check_strides, within, Block, Child, Fuse, Module, Notes, Pickled, MAX_CLASSES, MAX_WIDTH};
use crate::nn::Scope;
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{Args, Conv2dBlock, Dfl, DwConv, Identity};

/// `Detect(nc=80, reg_max=16, end2end=False, ch=())`, as built (its branches as children) and
/// the attributes its forward reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    /// Classes.
    pub nc: i64,
    /// DFL bins per box side (1: raw distances, YOLO26).
    #[serde(default = "sixteen")]
    pub reg_max: i64,
    /// Stride of each level (`8, 16, 32`).
    pub stride: Vec<f64>,
    /// Box branch per level (absent after an end-to-end fuse).
    #[serde(default)]
    pub cv2: Option<Vec<Child>>,
    /// Class branch per level (absent after an end-to-end fuse).
    #[serde(default)]
    pub cv3: Option<Vec<Child>>,
    /// One-to-one box branch (end-to-end heads; absent after a one-to-many fuse).
    #[serde(default)]
    pub one2one_cv2: Option<Vec<Child>>,
    /// One-to-one class branch.
    #[serde(default)]
    pub one2one_cv3: Option<Vec<Child>>,
    /// `DFL(reg_max)`, or `nn.Identity` when `reg_max` is 1.
    pub dfl: Child,
    /// Upstream's `_end2end`: use the one-to-one branch (with `max_det` top-k) instead of the
    /// one-to-many one (whose output then goes through NMS).
    #[serde(default)]
    pub end2end: bool,
    /// Detections the end-to-end head keeps.
    #[serde(default = "three_hundred")]
    pub max_det: i64,
    /// Class-agnostic top-k (end-to-end head).
    #[serde(default)]
    pub agnostic_nms: bool,
    /// Corner boxes instead of centre-size from the one-to-many head.
    #[serde(default)]
    pub xyxy: bool,
}

fn sixteen() -> i64 {
    16
}
fn three_hundred() -> i64 {
    300
}

impl DetectConfig {
    /// Upstream's `end2end` property: a one-to-one branch, chosen (`_end2end`) or the only one
    /// left.
    pub fn is_end2end(&self) -> bool {
        self.one2one_cv2.is_some() && (self.end2end || self.cv2.is_none())
    }

    /// The branch called `name` (`cv2`, `cv3`, `one2one_cv2`, `one2one_cv3`).
    pub fn branch(&self, name: &str) -> &Option<Vec<Child>> {
        match name {
            "cv2" => &self.cv2,
            "cv3" => &self.cv3,
            "one2one_cv2" => &self.one2one_cv2,
            _ => &self.one2one_cv3,
        }
    }
}

/// `Detect`.
#[derive(Debug)]
pub struct Detect {
    /// Settings.
    pub config: DetectConfig,
    /// `cv2`, `cv3` (or the one-to-one pair, whichever the forward uses).
    pub heads: [Vec<Box<dyn Module>>; 2],
    /// The field names of `heads` (`cv2`/`cv3` or `one2one_cv2`/`one2one_cv3`).
    pub names: [&'static str; 2],
    /// `dfl`.
    pub dfl: Box<dyn Module>,
    /// Drops the branch the forward does not use, as upstream's `Detect.fuse`.
    drop: Drop,
}

/// What every Detect-family head computes before its own part: the box distances after DFL
/// (`[B, 4, A]`), the class probabilities (`[B, nc, A]`), and the anchors (`[2, A]`) and
/// strides (`[1, A]`) of the levels.
#[derive(Debug)]
pub struct Raw {
    /// Box distances, after DFL.
    pub distances: Tensor,
    /// Class probabilities (sigmoid of the class branch).
    pub scores: Tensor,
    /// Anchor points, grid units.
    pub anchors: Tensor,
    /// Each anchor's stride.
    pub strides: Tensor,
}

impl Detect {
    /// Whether the forward runs the one-to-one branch (upstream's `end2end` property).
    pub fn end2end(&self) -> bool {
        self.config.is_end2end()
    }

    /// The box and class branches on the levels' feature maps, decoded up to the boxes.
    pub fn raw(&self, xs: &[&Tensor], train: bool) -> Result<Raw> {
        if train {
            return Err(Error::InvalidInput(
                "Detect in training mode returns raw branch outputs, which sppnet does not produce".into(),
            ));
        }
        let c = &self.config;
        let nl = self.heads[0].len();
        if xs.len() != nl {
            return Err(Error::InvalidInput(format!("Detect has {nl} levels, got {} inputs", xs.len())));
        }
        let boxes = levels(&self.heads[0], xs, 4 * c.reg_max)?;
        let scores = levels(&self.heads[1], xs, c.nc)?;
        let (anchors, strides) = make_anchors(xs, &c.stride)?;
        Ok(Raw { distances: self.dfl.forward_t(&boxes, false)?, scores: scores.f_sigmoid()?, anchors, strides })
    }

    /// `decode_bboxes(…) * strides` of a plain Detect: centre-size boxes (corners for an
    /// end-to-end or `xyxy` head) in input pixels.
    pub fn boxes(&self, r: &Raw) -> Result<Tensor> {
        let xywh = !self.end2end() && !self.config.xyxy;
        Ok(dist2bbox(&r.distances, &r.anchors.f_unsqueeze(0)?, xywh)?.f_mul(&r.strides)?)
    }

    /// `_inference` and, for an end-to-end head, `postprocess`: boxes, class probabilities and
    /// a task's channels (`extra`) concatenated, then the end-to-end top-k.
    pub fn finish(&self, dbox: Tensor, r: Raw, extra: Option<Tensor>) -> Result<Tensor> {
        let c = &self.config;
        let mut parts = vec![dbox, r.scores];
        parts.extend(extra);
        let y = Tensor::f_cat(&parts, 1)?;
        if self.end2end() {
            return topk(&y.f_permute([0, 2, 1])?, c.nc, c.max_det, c.agnostic_nms);
        }
        Ok(y)
    }

    /// The forward on the levels' feature maps.
    ///
    /// # Shapes
    /// `[B, chᵢ, Hᵢ, Wᵢ]`… → `[B, 4 + nc, A]` (boxes as centre-size in input pixels, then class
    /// probabilities), or `[B, min(max_det, A), 6]` for an end-to-end head.
    pub fn detect(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        let r = self.raw(xs, train)?;
        let dbox = self.boxes(&r)?;
        self.finish(dbox, r, None)
    }
}

impl Module for Detect {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.detect(&[x], train)
    }

    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.detect(xs, train)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        let mut units: Vec<(String, &dyn Fuse)> = Vec::new();
        if !self.drop.0.is_empty() {
            units.push((String::new(), &self.drop as &dyn Fuse));
        }
        for (name, head) in self.names.iter().zip(&self.heads) {
            units.extend(list_fusable(&format!("{name}."), head));
        }
        units
    }
}

fn list(m: &Pickled<'_>, name: &str, notes: &mut Notes) -> Result<Option<Vec<Child>>> {
    m.try_child(name)
        .map(|c| Child::list_from_pickle(&c, notes))
        .transpose()
}

impl Block for Detect {
    type Config = DetectConfig;
    const NAME: &'static str = "detect";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.Detect"];

    fn new(s: &Scope, c: &DetectConfig) -> Result<Self> {
        within("Detect", "nc", c.nc, 1, MAX_CLASSES)?;
        within("Detect", "reg_max", c.reg_max, 1, 1024)?;
        within("Detect", "max_det", c.max_det, 1, MAX_WIDTH)?;
        check_strides("Detect", &c.stride)?;
        let end2end = c.is_end2end();
        let names = match end2end {
            true => ["one2one_cv2", "one2one_cv3"],
            false => ["cv2", "cv3"],
        };
        let (Some(boxes), Some(classes)) = (c.branch(names[0]), c.branch(names[1])) else {
            return Err(Error::Config(format!("Detect has no {} / {} branch", names[0], names[1])));
        };
        if boxes.len() != c.stride.len() || classes.len() != c.stride.len() {
            return Err(Error::Config(format!(
                "Detect has {} strides for {} box and {} class branches",
                c.stride.len(),
                boxes.len(),
                classes.len()
            )));
        }
        let has_other = match end2end {
            true => c.cv2.is_some() || c.cv3.is_some(),
            false => c.one2one_cv2.is_some() || c.one2one_cv3.is_some(),
        };
        let drop: Option<&'static [&'static str]> = match (has_other, end2end) {
            (false, _) => None,
            (true, true) => Some(&["cv2", "cv3"]),
            (true, false) => Some(&["one2one_cv2", "one2one_cv3"]),
        };
        // The unused branch is built too (its weights are in the state_dict), but never run.
        for name in drop.unwrap_or_default() {
            if let Some(list) = c.branch(name) {
                let _unused = build_list(&s.sub(name), list)?;
            }
        }
        Ok(Self {
            heads: [build_list(&s.sub(names[0]), boxes)?, build_list(&s.sub(names[1]), classes)?],
            names,
            dfl: c.dfl.build(&s.sub("dfl"))?,
            config: c.clone(),
            drop: Drop(drop.unwrap_or_default().iter().map(|n| n.to_string()).collect()),
        })
    }

    /// `Detect(nc=80, reg_max=16, end2end=False, ch=())`, with the class attribute `legacy`
    /// (v3/v5/v8/v9 class branches, which `parse_model` sets) as the keyword `legacy`. The
    /// strides are zeros until the model measures them, as upstream's are.
    fn from_args(a: &Args) -> Result<Option<DetectConfig>> {
        a.at_most(&["nc", "reg_max", "end2end", "ch", "legacy"])?;
        let (nc, reg_max) = (a.int_or(0, "nc", 80)?, a.int_or(1, "reg_max", 16)?);
        let (end2end, legacy) = (a.bool_or(2, "end2end", false)?, a.bool_or(4, "legacy", false)?);
        let ch = a.ints_or(3, "ch", &[])?;
        let Some(&c0) = ch.first() else {
            return Err(Error::Config("Detect needs the channels of its inputs (`ch`)".into()));
        };
        let (c2, c3) = (16.max(c0.div_euclid(4)).max(reg_max * 4), c0.max(nc.min(100)));
        let i = &a.init;
        let out = |c: i64, n: i64| i.child::<Conv2dBlock>(args![c, n, 1], no_kw());
        let dw = |c: i64, d: i64| -> Result<Child> {
            seq(vec![i.child::<DwConv>(args![c, c, 3], no_kw())?, conv(i, args![c, d, 1])?])
        };
        let cv2 = ch
            .iter()
            .map(|&x| seq(vec![conv(i, args![x, c2, 3])?, conv(i, args![c2, c2, 3])?, out(c2, 4 * reg_max)?]))
            .collect::<Result<Vec<_>>>()?;
        let cv3 = ch
            .iter()
            .map(|&x| match legacy {
                true => seq(vec![conv(i, args![x, c3, 3])?, conv(i, args![c3, c3, 3])?, out(c3, nc)?]),
                false => seq(vec![dw(x, c3)?, dw(c3, c3)?, out(c3, nc)?]),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(DetectConfig {
            nc,
            reg_max,
            stride: vec![0.0; ch.len()],
            one2one_cv2: end2end.then(|| cv2.clone()),
            one2one_cv3: end2end.then(|| cv3.clone()),
            cv2: Some(cv2),
            cv3: Some(cv3),
            dfl: match reg_max > 1 {
                true => i.child::<Dfl>(args![reg_max], no_kw())?,
                false => i.child::<Identity>(args![], no_kw())?,
            },
            end2end: false,
            max_det: 300,
            agnostic_nms: false,
            xyxy: false,
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<DetectConfig> {
        let stride = m.tensor_values("stride").ok_or_else(|| {
            Error::Config("Detect has no readable `stride` tensor".into())
        })?;
        Ok(DetectConfig {
            nc: m.int("nc").ok_or_else(|| Error::Config("Detect has no `nc`".into()))?,
            reg_max: attr_or(m, "reg_max", 16, notes),
            stride,
            cv2: list(m, "cv2", notes)?,
            cv3: list(m, "cv3", notes)?,
            one2one_cv2: list(m, "one2one_cv2", notes)?,
            one2one_cv3: list(m, "one2one_cv3", notes)?,
            dfl: Child::from_pickle(&m.child("dfl")?, notes)?,
            end2end: m.bool("_end2end").unwrap_or(false),
            max_det: m.int("max_det").unwrap_or(300),
            agnostic_nms: m.bool("agnostic_nms").unwrap_or(false),
            xyxy: m.bool("xyxy").unwrap_or(false),
        })
    }

    fn fused(c: &DetectConfig) -> Result<DetectConfig> {
        let fl = |l: &Option<Vec<Child>>| l.as_deref().map(fused_list).transpose();
        let mut f = DetectConfig {
            cv2: fl(&c.cv2)?,
            cv3: fl(&c.cv3)?,
            one2one_cv2: fl(&c.one2one_cv2)?,
            one2one_cv3: fl(&c.one2one_cv3)?,
            ..c.clone()
        };
        if f.one2one_cv2.is_some() || f.one2one_cv3.is_some() {
            if c.is_end2end() {
                (f.cv2, f.cv3) = (None, None);
            } else {
                (f.one2one_cv2, f.one2one_cv3) = (None, None);
            }
        }
        Ok(f)
    }
}
