//! ultralytics `Bottleneck` (`block.py`, 8.4.190): `x + cv2(cv1(x))` when `add`
//! (`shortcut and c1 == c2`), else `cv2(cv1(x))`.

use crate::modules::composite::composite;
use crate::modules::patterns::residual;

composite! {
    /// `Bottleneck(c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    Bottleneck, BottleneckConfig, "bottleneck", ["ultralytics.nn.modules.block.Bottleneck"],
    one { cv1, cv2 }, list {}, attrs { add: bool = false },
    input = cv1,
    check(c) {},
    forward(self, x, train) { residual(self.cv1.as_ref(), self.cv2.as_ref(), self.add, x, train) }
}
