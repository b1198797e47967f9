//! ultralytics `C2f` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, each of `m` applied
//! to the last chunk in turn, everything concatenated, `cv2`.

use crate::modules::composite::{composite, refs};
use crate::modules::patterns::split_extend;
use crate::modules::args::{args, no_kw, repeat, scaled};
use crate::modules::conv_opts::conv;
use crate::modules::Bottleneck;

composite! {
    /// `C2f(c1, c2, n=1, shortcut=False, g=1, e=0.5) (YOLOv8, YOLOv10)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C2f, C2fConfig, "c2f", ["ultralytics.nn.modules.block.C2f"],
    one { cv1, cv2 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { split_extend(self.cv1.as_ref(), &refs(&self.m), self.cv2.as_ref(), x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "n", "shortcut", "g", "e"])?;
        let (c1, c2, n) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "n", 1)?);
        let (shortcut, g) = (a.bool_or(3, "shortcut", false)?, a.int_or(4, "g", 1)?);
        let c = scaled(c2, a.float_or(5, "e", 0.5)?);
        let i = &a.init;
        Ok(C2fConfig {
            cv1: conv(i, args![c1, 2 * c, 1, 1])?,
            cv2: conv(i, args![(2 + n) * c, c2, 1])?,
            m: repeat(n, || i.child::<Bottleneck>(args![c, c, shortcut, g, [[3, 3], [3, 3]], 1.0], no_kw()))?,
        })
    }
}
