//! ultralytics `DepthModel` (`nn/tasks.py`, 8.4.190; YOLO26 `-depth`): a `DetectionModel`
//! ending in a `Depth` head (stride `[32]`, as for any head that is not a Detect); its output
//! is the calibrated depth map at stride 4.

use super::task_model::task_model;

task_model! {
    /// `DepthModel`.
    DepthModel, "depth_model", ["ultralytics.nn.tasks.DepthModel"]
}
