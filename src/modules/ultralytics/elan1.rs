//! ultralytics `ELAN1` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, `cv2` then `cv3`
//! applied to the last chunk in turn, everything concatenated, `cv4`.

use crate::modules::composite::composite;
use crate::modules::patterns::split_extend;

composite! {
    /// `ELAN1(c1, c2, c3, c4) (YOLOv9-T, -S)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    Elan1, Elan1Config, "elan1", ["ultralytics.nn.modules.block.ELAN1"],
    one { cv1, cv2, cv3, cv4 }, list {}, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) {
        split_extend(self.cv1.as_ref(), &[self.cv2.as_ref(), self.cv3.as_ref()], self.cv4.as_ref(), x, train)
    }
}
