//! ultralytics `RepBottleneck` (`block.py`, 8.4.190): a `Bottleneck` whose `cv1` is a
//! `RepConv` (YOLOv9's `RepCSP`).

use crate::modules::composite::composite;
use crate::modules::patterns::residual;
use crate::modules::args::{args, no_kw, scaled};
use crate::modules::{Bottleneck, RepConv};

composite! {
    /// `RepBottleneck(c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    RepBottleneck, RepBottleneckConfig, "rep_bottleneck", ["ultralytics.nn.modules.block.RepBottleneck"],
    one { cv1, cv2 }, list {}, attrs { add: bool = false },
    input = cv1,
    check(c) {},
    forward(self, x, train) { residual(self.cv1.as_ref(), self.cv2.as_ref(), self.add, x, train) },
    init(a) {
        // `Bottleneck.__init__`, then `cv1` replaced by a RepConv, as upstream.
        let b = <Bottleneck as crate::modules::Block>::from_args(a)?
            .ok_or_else(|| crate::error::Error::Config("Bottleneck takes arguments".into()))?;
        let [k1, _] = a.square_pair(4, "k", [3, 3])?;
        let c_ = scaled(a.int(1, "c2")?, a.float_or(5, "e", 0.5)?);
        let cv1 = a.init.child::<RepConv>(args![a.int(0, "c1")?, c_, k1, 1], no_kw())?;
        Ok(RepBottleneckConfig { cv1, cv2: b.cv2, add: b.add })
    }
}
