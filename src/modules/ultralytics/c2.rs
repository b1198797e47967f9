//! ultralytics `C2` (`block.py`, 8.4.190; YOLOv8-P6's head): `a, b = cv1(x).chunk(2, 1)`,
//! `cv2(cat((m(a), b), 1))`.

use tch::Tensor;

use crate::modules::composite::composite;
use crate::modules::patterns::chain;

composite! {
    /// `C2(c1, c2, n=1, shortcut=True, g=1, e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C2, C2Config, "c2", ["ultralytics.nn.modules.block.C2"],
    one { cv1, cv2 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) {
        let ab = self.cv1.forward_t(x, train)?.f_chunk(2, 1)?;
        let [a, b] = ab.as_slice() else {
            return Err(crate::error::Error::InvalidInput("C2: cv1 gave an odd channel count".into()));
        };
        let a = chain(&self.m, a, train)?;
        self.cv2.forward_t(&Tensor::f_cat(&[a, b.shallow_clone()], 1)?, train)
    }
}
