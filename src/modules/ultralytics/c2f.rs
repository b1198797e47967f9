//! ultralytics `C2f` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, each of `m` applied
//! to the last chunk in turn, everything concatenated, `cv2`.

use crate::modules::composite::{composite, refs};
use crate::modules::patterns::split_extend;
use crate::modules::args::{args, no_kw, repeat};
use crate::modules::conv_opts::c2f_parts;
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
        let (c, cv1, cv2) = c2f_parts(&a.init, c1, c2, n, a.float_or(5, "e", 0.5)?)?;
        let m = repeat(n, || {
            a.init.child::<Bottleneck>(args![c, c, shortcut, g, [[3, 3], [3, 3]], 1.0], no_kw())
        })?;
        Ok(C2fConfig { cv1, cv2, m })
    }
}
