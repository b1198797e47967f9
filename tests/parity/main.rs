//! Live parity against the Python reference (same libtorch, same thread count), and the
//! committed goldens: bitwise wherever the maths is the same.

#[path = "../common/mod.rs"]
mod common;

mod cascade;
mod contours;
mod detect_ops;
mod detectors;
mod golden;
mod gradients;
mod pil;
mod pool;
mod pooling_table;
mod porting;
mod predict;
mod predict_maps;
mod predict_tasks;
mod sppnet;
mod tasks;
mod ultralytics;
mod yaml_build;
