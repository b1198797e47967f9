//! ultralytics `v10Detect` (`nn/modules/head.py`, 8.4.190; YOLOv10): a `Detect` built
//! end-to-end with a lighter class branch; everything else (forward, decoding, `fuse`) is
//! `Detect`'s. Old checkpoints name its model class `YOLOv10DetectionModel`.

use tch::Tensor;

use super::detect::{Detect, DetectConfig};
use crate::error::Result;
use crate::modules::{Block, Flow, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::{Args, Child, Conv, Conv2dBlock};
use serde_json::json;

/// `v10Detect(nc=80, ch=())`.
#[derive(Debug)]
pub struct V10Detect(pub Detect);

impl Module for V10Detect {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.0.forward_t(x, train)
    }
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        self.0.forward_many(xs, train)
    }
    fn forward_flow(&self, input: &Flow, train: bool) -> Result<Flow> {
        self.0.forward_flow(input, train)
    }
    fn in_channels(&self) -> Option<i64> {
        None
    }
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        self.0.fusable()
    }
}

impl Block for V10Detect {
    type Config = DetectConfig;
    const NAME: &'static str = "v10detect";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.head.v10Detect"];

    fn new(s: &Scope, c: &DetectConfig) -> Result<Self> {
        Detect::new(s, c).map(V10Detect)
    }
    /// `v10Detect(nc=80, ch=())`: `Detect(nc, end2end=True, ch=ch)` with lighter class branches.
    fn from_args(a: &Args) -> Result<Option<DetectConfig>> {
        a.at_most(&["nc", "ch"])?;
        let (nc, ch) = (a.int_or(0, "nc", 80)?, a.raw(1, "ch", args![]));
        let head = args![nc, 16, true, ch];
        let mut c = a.init.config::<Detect>(head, no_kw())?;
        let ch = a.ints_or(1, "ch", &[])?;
        let c3 = ch[0].max(nc.min(100));
        let i = &a.init;
        let dw = |c: i64, d: i64| -> Result<Child> {
            seq(vec![i.child::<Conv>(args![c, c, 3], json!({ "g": c }))?, conv(i, args![c, d, 1])?])
        };
        let cv3 = ch
            .iter()
            .map(|&x| seq(vec![dw(x, c3)?, dw(c3, c3)?, i.child::<Conv2dBlock>(args![c3, nc, 1], no_kw())?]))
            .collect::<Result<Vec<_>>>()?;
        (c.cv3, c.one2one_cv3) = (Some(cv3.clone()), Some(cv3));
        Ok(Some(c))
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<DetectConfig> {
        Detect::from_pickle(m, notes)
    }
    fn fused(c: &DetectConfig) -> Result<DetectConfig> {
        Detect::fused(c)
    }
}
