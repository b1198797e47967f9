//! ultralytics `ClassificationModel` (`nn/tasks.py`, 8.4.190): the layers of a YOLO classifier
//! (`yolov8n-cls`, `yolo11n-cls`, `yolo26n-cls`) under `model.<i>`, run as `DetectionModel`'s
//! are, ending in a [`Classify`](super::classify::Classify) head; its stride is `[1]` ("no
//! stride constraints"). Its forward is the probabilities in eval mode (`YOLO(w)(x)[0]`),
//! logits in training: `[B, ch, H, W]` → `[B, nc]`.

use super::task_model::task_model;

task_model! {
    /// `ClassificationModel`: the same layer graph as `DetectionModel`, a `Classify` head.
    ClassificationModel, "classification_model", ["ultralytics.nn.tasks.ClassificationModel"]
}
