//! ultralytics `OBBModel` (`nn/tasks.py`, 8.4.190): a `DetectionModel` ending in an `OBB` or
//! `OBB26` head (rotated boxes).

use super::task_model::task_model;

task_model! {
    /// `OBBModel`.
    ObbModel, "obb_model", ["ultralytics.nn.tasks.OBBModel"]
}
