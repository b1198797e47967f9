//! ultralytics `SCDown` (`block.py`, 8.4.190; YOLOv10): pointwise `cv1`, then depthwise
//! strided `cv2`.

use crate::modules::composite::composite;
use crate::modules::args::args;
use crate::modules::conv_opts::conv;
use crate::modules::Conv;
use serde_json::json;

composite! {
    /// `SCDown(c1, c2, k, s)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H / s, W / s]` (rounded as the convolution rounds).
    SCDown, SCDownConfig, "scdown", ["ultralytics.nn.modules.block.SCDown"],
    one { cv1, cv2 }, list {}, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { self.cv2.forward_t(&self.cv1.forward_t(x, train)?, train) },
    init(a) {
        a.at_most(&["c1", "c2", "k", "s"])?;
        let (c1, c2, k, s) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int(2, "k")?, a.int(3, "s")?);
        Ok(SCDownConfig {
            cv1: conv(&a.init, args![c1, c2, 1, 1])?,
            cv2: a.init.child::<Conv>(args![c2, c2], json!({ "k": k, "s": s, "g": c2, "act": false }))?,
        })
    }
}
