//! ultralytics `AConv` (`block.py`, 8.4.190; YOLOv9-T/S/M downsampling):
//! `cv1(avg_pool2d(x, 2, 1, 0, False, True))`.

use crate::modules::composite::composite;
use crate::modules::args::args;
use crate::modules::conv_opts::conv;

composite! {
    /// `AConv(c1, c2)`: a 2×2 stride-1 average pool, then `Conv(c1, c2, 3, 2, 1)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, ⌊(H − 2)/2⌋ + 1, ⌊(W − 2)/2⌋ + 1]`.
    AConv, AConvConfig, "aconv", ["ultralytics.nn.modules.block.AConv"],
    one { cv1 }, list {}, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) {
        let x = x.f_avg_pool2d([2, 2], [1, 1], [0, 0], false, true, None)?;
        self.cv1.forward_t(&x, train)
    },
    init(a) {
        a.at_most(&["c1", "c2"])?;
        Ok(AConvConfig { cv1: conv(&a.init, args![a.int(0, "c1")?, a.int(1, "c2")?, 3, 2, 1])? })
    }
}
