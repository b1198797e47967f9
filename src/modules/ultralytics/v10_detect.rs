//! ultralytics `v10Detect` (`nn/modules/head.py`, 8.4.190; YOLOv10): a `Detect` built
//! end-to-end with a lighter class branch; everything else (forward, decoding, `fuse`) is
//! `Detect`'s. Old checkpoints name its model class `YOLOv10DetectionModel`.

use tch::Tensor;

use super::detect::{Detect, DetectConfig};
use crate::error::Result;
use crate::modules::{Block, Flow, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

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
    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<DetectConfig> {
        Detect::from_pickle(m, notes)
    }
    fn fused(c: &DetectConfig) -> Result<DetectConfig> {
        Detect::fused(c)
    }
}
