//! ultralytics `CIB` (`block.py`, 8.4.190; YOLOv10): a Sequential `cv1` of five convolutions
//! (the middle one a `RepVGGDW` when `lk`), with a residual when `add`.

use crate::modules::composite::composite;
use crate::modules::patterns::chain;

composite! {
    /// `CIB(c1, c2, shortcut=True, e=0.5, lk=False)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    Cib, CibConfig, "cib", ["ultralytics.nn.modules.block.CIB"],
    one {}, list { cv1 }, attrs { add: bool = false },
    input = cv1,
    check(c) {},
    forward(self, x, train) {
        let y = chain(&self.cv1, x, train)?;
        if self.add { Ok(x.f_add(&y)?) } else { Ok(y) }
    }
}
