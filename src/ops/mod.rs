//! Tensor operations with PyTorch's semantics, bit for bit: spatial pyramid pooling and the
//! stride-1 max pools of the SPP blocks. Functions of tensors only; modules build on them.

pub mod bin_max;
pub mod maxpool;
pub mod nms;
pub mod pyramid;
pub mod sliding_max;

pub use maxpool::MaxPool2d;
pub use pyramid::{spatial_pyramid_pool, Rule};
