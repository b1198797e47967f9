//! ultralytics `RepBottleneck` (`block.py`, 8.4.190): a `Bottleneck` whose `cv1` is a
//! `RepConv` (YOLOv9's `RepCSP`).

use crate::modules::composite::composite;
use crate::modules::patterns::residual;

composite! {
    /// `RepBottleneck(c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    RepBottleneck, RepBottleneckConfig, "rep_bottleneck", ["ultralytics.nn.modules.block.RepBottleneck"],
    one { cv1, cv2 }, list {}, attrs { add: bool = false },
    input = cv1,
    check(c) {},
    forward(self, x, train) { residual(self.cv1.as_ref(), self.cv2.as_ref(), self.add, x, train) }
}
