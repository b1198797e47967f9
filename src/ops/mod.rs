//! Tensor operations with PyTorch's semantics, bit for bit: spatial pyramid pooling, the
//! stride-1 max pools of the SPP blocks, and the rest of the seed's pooling table (`table`). Functions of tensors only; modules build on them.

pub mod bin_max;
pub mod global_pool;
pub mod maxpool;
pub mod nms;
pub mod omp;
pub mod pool2d;
pub mod pyramid;
pub mod roi_spp;
pub mod sliding_max;
pub mod stochastic;
pub mod table;

pub use maxpool::MaxPool2d;
pub use pyramid::{spatial_pyramid_pool, Rule};
pub use table::PoolOp;
