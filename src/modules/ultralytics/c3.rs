//! ultralytics `C3` (`block.py`, 8.4.190): `cv3(cat((m(cv1(x)), cv2(x)), 1))`, `m` a
//! Sequential of bottlenecks.

use crate::modules::composite::composite;
use crate::modules::patterns::csp;

composite! {
    /// `C3(c1, c2, n=1, shortcut=True, g=1, e=0.5) (YOLOv5u)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C3, C3Config, "c3", ["ultralytics.nn.modules.block.C3"],
    one { cv1, cv2, cv3 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { csp(self.cv1.as_ref(), self.cv2.as_ref(), self.cv3.as_ref(), &self.m, x, train) }
}
