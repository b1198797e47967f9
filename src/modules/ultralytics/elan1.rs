//! ultralytics `ELAN1` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, `cv2` then `cv3`
//! applied to the last chunk in turn, everything concatenated, `cv4`.

use crate::modules::composite::composite;
use crate::modules::patterns::split_extend;
use crate::modules::args::args;
use crate::modules::conv_opts::conv;

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
    },
    init(a) {
        a.at_most(&["c1", "c2", "c3", "c4"])?;
        let (c1, c2, c3, c4) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int(2, "c3")?, a.int(3, "c4")?);
        let i = &a.init;
        Ok(Elan1Config {
            cv1: conv(i, args![c1, c3, 1, 1])?,
            cv2: conv(i, args![c3.div_euclid(2), c4, 3, 1])?,
            cv3: conv(i, args![c4, c4, 3, 1])?,
            cv4: conv(i, args![c3 + 2 * c4, c2, 1, 1])?,
        })
    }
}
