//! ultralytics `C3` (`block.py`, 8.4.190): `cv3(cat((m(cv1(x)), cv2(x)), 1))`, `m` a
//! Sequential of bottlenecks.

use crate::modules::composite::composite;
use crate::modules::patterns::csp;
use crate::modules::args::{args, no_kw, repeat};
use crate::modules::conv_opts::c3_parts;
use crate::modules::Bottleneck;

composite! {
    /// `C3(c1, c2, n=1, shortcut=True, g=1, e=0.5) (YOLOv5u)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C3, C3Config, "c3", ["ultralytics.nn.modules.block.C3"],
    one { cv1, cv2, cv3 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { csp(self.cv1.as_ref(), self.cv2.as_ref(), self.cv3.as_ref(), &self.m, x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "n", "shortcut", "g", "e"])?;
        let p = c3_parts(a)?;
        let (c_, shortcut, g) = (p.c_, p.shortcut, p.g);
        let m = repeat(p.n, || {
            a.init.child::<Bottleneck>(args![c_, c_, shortcut, g, [[1, 1], [3, 3]], 1.0], no_kw())
        })?;
        Ok(C3Config { cv1: p.cv1, cv2: p.cv2, cv3: p.cv3, m })
    }
}
