//! ultralytics' `Conv`, `SPP`, `SPPF` and `SPPELAN` blocks (ultralytics 8.4.190), one struct per
//! upstream class with upstream's field names, so weight paths equal state_dict keys
//! (`cv1.conv.weight`, `cv1.bn.running_mean`, `cv2.bn.num_batches_tracked`, …).

mod act;
mod conv;
pub mod pool;
mod spp;

pub use act::Act;
pub use conv::{autopad, Conv, ConvConfig, ConvOpts};
pub use pool::MaxPool2d;
pub use spp::{Spp, SppConfig, SppElan, SppElanConfig, Sppf, SppfConfig};

/// A standalone `Conv(c1, c2, …)` checkpoint's config.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConvBlockConfig {
    /// Input channels.
    pub c1: i64,
    /// Output channels.
    pub c2: i64,
    /// Everything else.
    #[serde(flatten)]
    pub conv: ConvConfig,
}
