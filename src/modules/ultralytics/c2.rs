//! ultralytics `C2` (`block.py`, 8.4.190; YOLOv8-P6's head): `a, b = cv1(x).chunk(2, 1)`,
//! `cv2(cat((m(a), b), 1))`.

use tch::Tensor;

use crate::modules::composite::composite;
use crate::modules::patterns::chain;
use crate::modules::args::{args, no_kw, repeat, scaled};
use crate::modules::conv_opts::conv;
use crate::modules::Bottleneck;

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
    },
    init(a) {
        a.at_most(&["c1", "c2", "n", "shortcut", "g", "e"])?;
        let (c1, c2, n) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "n", 1)?);
        let (shortcut, g) = (a.bool_or(3, "shortcut", true)?, a.int_or(4, "g", 1)?);
        let c = scaled(c2, a.float_or(5, "e", 0.5)?);
        let i = &a.init;
        Ok(C2Config {
            cv1: conv(i, args![c1, 2 * c, 1, 1])?,
            cv2: conv(i, args![2 * c, c2, 1])?,
            m: repeat(n, || i.child::<Bottleneck>(args![c, c, shortcut, g, [[3, 3], [3, 3]], 1.0], no_kw()))?,
        })
    }
}
