//! ultralytics `SegmentationModel` (`nn/tasks.py`, 8.4.190): a `DetectionModel` ending in a
//! `Segment` or `Segment26` head; its output is the predictions with mask coefficients and
//! the mask prototypes (`(y, proto)`).

use super::task_model::task_model;

task_model! {
    /// `SegmentationModel`.
    SegmentationModel, "segmentation_model", ["ultralytics.nn.tasks.SegmentationModel"]
}
