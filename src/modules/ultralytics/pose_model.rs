//! ultralytics `PoseModel` (`nn/tasks.py`, 8.4.190): a `DetectionModel` ending in a `Pose` or
//! `Pose26` head (whose `kpt_shape` the model's equals).

use super::task_model::task_model;

task_model! {
    /// `PoseModel`.
    PoseModel, "pose_model", ["ultralytics.nn.tasks.PoseModel"]
}
