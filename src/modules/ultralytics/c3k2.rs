//! ultralytics `C3k2` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, each of `m` applied
//! to the last chunk in turn, everything concatenated, `cv2`.

use crate::modules::composite::{composite, refs};
use crate::modules::patterns::split_extend;

composite! {
    /// `C3k2(c1, c2, n=1, c3k=False, e=0.5, attn=False, g=1, shortcut=True) (YOLO11, YOLO26); its `m` holds Bottlenecks, C3ks, or Bottleneck + PSABlock pairs`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C3k2, C3k2Config, "c3k2", ["ultralytics.nn.modules.block.C3k2"],
    one { cv1, cv2 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { split_extend(self.cv1.as_ref(), &refs(&self.m), self.cv2.as_ref(), x, train) }
}
