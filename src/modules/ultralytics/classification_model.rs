//! ultralytics `ClassificationModel` (`nn/tasks.py`, 8.4.190): the layers of a YOLO classifier
//! (`yolov8n-cls`, `yolo11n-cls`, `yolo26n-cls`) under `model.<i>`, run as `DetectionModel`'s
//! are, ending in a [`Classify`](super::classify::Classify) head; its stride is `[1]` ("no
//! stride constraints").

use tch::Tensor;

use super::detection_model::{DetectionModel, DetectionModelConfig};
use crate::error::Result;
use crate::modules::{Block, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

/// `ClassificationModel`: the same layer graph as [`DetectionModel`], another head.
#[derive(Debug)]
pub struct ClassificationModel(DetectionModel);

impl Module for ClassificationModel {
    /// The classifier's output: probabilities in eval mode (`YOLO(w)(x)[0]`), logits in
    /// training.
    ///
    /// # Shapes
    /// `[B, ch, H, W]` → `[B, nc]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.0.forward_t(x, train)
    }

    fn in_channels(&self) -> Option<i64> {
        self.0.in_channels()
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        self.0.fusable()
    }
}

impl Block for ClassificationModel {
    type Config = DetectionModelConfig;
    const NAME: &'static str = "classification_model";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.tasks.ClassificationModel"];

    fn new(s: &Scope, c: &DetectionModelConfig) -> Result<Self> {
        DetectionModel::new(s, c).map(Self)
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<DetectionModelConfig> {
        DetectionModel::from_pickle(m, notes)
    }

    fn fused(c: &DetectionModelConfig) -> Result<DetectionModelConfig> {
        DetectionModel::fused(c)
    }
}
