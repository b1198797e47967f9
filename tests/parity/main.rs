//! Live parity against the Python reference (same libtorch, same thread count), and the
//! committed goldens: bitwise wherever the maths is the same.

#[path = "../common/mod.rs"]
mod common;

mod cascade;
mod detectors;
mod golden;
mod pool;
mod porting;
mod resize;
mod sppnet;
mod ultralytics;
