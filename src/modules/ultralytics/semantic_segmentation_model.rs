//! ultralytics `SemanticSegmentationModel` (`nn/tasks.py`, 8.4.190; YOLO26 `-sem`): the layer
//! graph ending in a `SemanticSegment` head; its output is the per-pixel class logits at
//! stride 8, its stride the deepest layer's (`256 / the smallest height` at 256×256).

use super::task_model::task_model;

task_model! {
    /// `SemanticSegmentationModel`.
    SemanticSegmentationModel, "semantic_segmentation_model", ["ultralytics.nn.tasks.SemanticSegmentationModel"]
}
