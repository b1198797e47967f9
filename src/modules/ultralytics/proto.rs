//! ultralytics `Proto` (`nn/modules/block.py`, 8.4.190): the mask prototypes of a `Segment`
//! head — `cv3(cv2(upsample(cv1(x))))`, a 2× transposed convolution between 3×3 convolutions.

use tch::Tensor;

use crate::error::Result;
use crate::modules::args::args;
use crate::modules::composite::composite;
use crate::modules::conv_opts::conv;
use crate::modules::{ConvTranspose2d, Module};

composite! {
    /// `Proto(c1, c_=256, c2=32)`: `cv1 = Conv(c1, c_, 3)`, `upsample =
    /// nn.ConvTranspose2d(c_, c_, 2, 2, 0)`, `cv2 = Conv(c_, c_, 3)`, `cv3 = Conv(c_, c2)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, 2H, 2W]`.
    Proto, ProtoConfig, "proto", ["ultralytics.nn.modules.block.Proto"],
    one { cv1, upsample, cv2, cv3 }, list {}, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { protos(&[&*self.cv1, &*self.upsample, &*self.cv2, &*self.cv3], x, train) },
    init(a) {
        a.at_most(&["c1", "c_", "c2"])?;
        let (c1, c_, c2) = (a.int(0, "c1")?, a.int_or(1, "c_", 256)?, a.int_or(2, "c2", 32)?);
        proto_parts(&a.init, c1, c_, c2)
    }
}

/// `Proto(c1, c_, c2)`'s four children.
pub fn proto_parts(i: &crate::modules::Init, c1: i64, c_: i64, c2: i64) -> Result<ProtoConfig> {
    Ok(ProtoConfig {
        cv1: conv(i, args![c1, c_, 3])?,
        upsample: i.child::<ConvTranspose2d>(args![c_, c_, 2, 2, 0], serde_json::json!({"bias": true}))?,
        cv2: conv(i, args![c_, c_, 3])?,
        cv3: conv(i, args![c_, c2])?,
    })
}

/// `Proto.forward`: the four modules in turn.
pub fn protos(chain: &[&dyn Module], x: &Tensor, train: bool) -> Result<Tensor> {
    chain.iter().try_fold(x.shallow_clone(), |y, m| m.forward_t(&y, train))
}

