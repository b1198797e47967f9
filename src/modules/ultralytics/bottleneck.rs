//! ultralytics `Bottleneck` (`block.py`, 8.4.190): `x + cv2(cv1(x))` when `add`
//! (`shortcut and c1 == c2`), else `cv2(cv1(x))`.

use crate::modules::composite::composite;
use crate::modules::patterns::residual;
use crate::modules::args::{args, scaled};
use crate::modules::conv_opts::conv;
use crate::modules::Conv;
use serde_json::json;

composite! {
    /// `Bottleneck(c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    Bottleneck, BottleneckConfig, "bottleneck", ["ultralytics.nn.modules.block.Bottleneck"],
    one { cv1, cv2 }, list {}, attrs { add: bool = false },
    input = cv1,
    check(c) {},
    forward(self, x, train) { residual(self.cv1.as_ref(), self.cv2.as_ref(), self.add, x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "shortcut", "g", "k", "e"])?;
        let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
        let [k1, k2] = a.square_pair(4, "k", [3, 3])?;
        let c_ = scaled(c2, a.float_or(5, "e", 0.5)?);
        let g = a.int_or(3, "g", 1)?;
        Ok(BottleneckConfig {
            cv1: conv(&a.init, args![c1, c_, k1, 1])?,
            cv2: a.init.child::<Conv>(args![c_, c2, k2, 1], json!({ "g": g }))?,
            add: a.bool_or(2, "shortcut", true)? && c1 == c2,
        })
    }
}
