//! ultralytics `SCDown` (`block.py`, 8.4.190; YOLOv10): pointwise `cv1`, then depthwise
//! strided `cv2`.

use crate::modules::composite::composite;

composite! {
    /// `SCDown(c1, c2, k, s)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H / s, W / s]` (rounded as the convolution rounds).
    SCDown, SCDownConfig, "scdown", ["ultralytics.nn.modules.block.SCDown"],
    one { cv1, cv2 }, list {}, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { self.cv2.forward_t(&self.cv1.forward_t(x, train)?, train) }
}
