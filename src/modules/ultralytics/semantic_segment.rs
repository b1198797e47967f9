//! ultralytics `SemanticSegment` (`nn/modules/head.py`, 8.4.190; YOLO26 `-sem`): per-pixel class
//! logits from the first level (`classifier`); an auxiliary classifier on the second level
//! (`aux_head`) serves training only, but is kept (upstream's `fuse` keeps it too).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::args::{args, no_kw};
use crate::modules::composite::child_fusable;
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{check_strides, within, Args, Block, Child, Conv2dBlock, Fuse, Module, Notes, Pickled, MAX_CLASSES};
use crate::nn::Scope;

/// `SemanticSegment(nc=19, ch=())`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticSegmentConfig {
    /// Classes.
    pub nc: i64,
    /// The model's deepest stride (measured as `SemanticSegmentationModel` does).
    pub stride: Vec<f64>,
    /// `Sequential(Conv(ch₀, ch₀, 3), nn.Conv2d(ch₀, nc, 1))`.
    pub classifier: Child,
    /// `Sequential(Conv(ch₁, ch₀, 3), nn.Conv2d(ch₀, nc, 1))` when there is a second level.
    #[serde(default)]
    pub aux_head: Option<Child>,
}

/// `SemanticSegment`.
#[derive(Debug)]
pub struct SemanticSegment {
    classifier: Box<dyn Module>,
    /// Built for its weights (and folded by `fuse`, as upstream folds every `Conv`), never run.
    aux_head: Option<Box<dyn Module>>,
}

impl SemanticSegment {
    /// # Shapes
    /// `[B, ch₀, H/8, W/8]`, … → `[B, nc, H/8, W/8]` logits.
    fn logits(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        if train {
            return Err(Error::InvalidInput("SemanticSegment's training output is not produced by sppnet".into()));
        }
        let x = xs.first().ok_or_else(|| Error::InvalidInput("SemanticSegment got no input".into()))?;
        self.classifier.forward_t(x, false)
    }
}

impl Module for SemanticSegment {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.logits(&[x], train)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.logits(xs, train)
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        let mut units = child_fusable("classifier", self.classifier.as_ref());
        if let Some(aux) = &self.aux_head {
            units.extend(child_fusable("aux_head", aux.as_ref()));
        }
        units
    }
}

impl Block for SemanticSegment {
    type Config = SemanticSegmentConfig;
    const NAME: &'static str = "semantic_segment";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.SemanticSegment"];

    fn new(s: &Scope, c: &SemanticSegmentConfig) -> Result<Self> {
        within("SemanticSegment", "nc", c.nc, 1, MAX_CLASSES)?;
        check_strides("SemanticSegment", &c.stride)?;
        Ok(Self {
            classifier: c.classifier.build(&s.sub("classifier"))?,
            aux_head: c.aux_head.as_ref().map(|a| a.build(&s.sub("aux_head"))).transpose()?,
        })
    }

    /// `SemanticSegment(nc=19, ch=())`; the stride is measured by the model.
    fn from_args(a: &Args) -> Result<Option<SemanticSegmentConfig>> {
        a.at_most(&["nc", "ch"])?;
        let (nc, ch) = (a.int_or(0, "nc", 19)?, a.ints_or(1, "ch", &[])?);
        let &c0 = ch.first().ok_or_else(|| Error::Config("SemanticSegment needs its inputs' channels (`ch`)".into()))?;
        let i = &a.init;
        let out = |c: i64| i.child::<Conv2dBlock>(args![c, nc, 1], no_kw());
        Ok(Some(SemanticSegmentConfig {
            nc,
            stride: vec![32.0],
            classifier: seq(vec![conv(i, args![c0, c0, 3])?, out(c0)?])?,
            aux_head: match ch.get(1) {
                Some(&c1) => Some(seq(vec![conv(i, args![c1, c0, 3])?, out(c0)?])?),
                None => None,
            },
        }))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<SemanticSegmentConfig> {
        Ok(SemanticSegmentConfig {
            nc: m.int("nc").ok_or_else(|| Error::Config("SemanticSegment has no `nc`".into()))?,
            stride: m.tensor_values("stride").unwrap_or_else(|| vec![32.0]),
            classifier: Child::from_pickle(&m.child("classifier")?, notes)?,
            aux_head: m.try_child("aux_head").map(|c| Child::from_pickle(&c, notes)).transpose()?,
        })
    }

    fn fused(c: &SemanticSegmentConfig) -> Result<SemanticSegmentConfig> {
        Ok(SemanticSegmentConfig {
            classifier: c.classifier.fused()?,
            aux_head: c.aux_head.as_ref().map(Child::fused).transpose()?,
            ..c.clone()
        })
    }
}
