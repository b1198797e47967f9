//! ultralytics `RepNCSPELAN4` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, `cv2` then `cv3`
//! applied to the last chunk in turn, everything concatenated, `cv4`.

use crate::modules::composite::composite;
use crate::modules::patterns::split_extend;
use crate::modules::args::{args, no_kw};
use crate::modules::conv_opts::{conv, seq};
use crate::modules::RepCsp;

composite! {
    /// `RepNCSPELAN4(c1, c2, c3, c4, n=1) (YOLOv9)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    RepNcspElan4, RepNcspElan4Config, "rep_ncspelan4", ["ultralytics.nn.modules.block.RepNCSPELAN4"],
    one { cv1, cv2, cv3, cv4 }, list {}, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) {
        split_extend(self.cv1.as_ref(), &[self.cv2.as_ref(), self.cv3.as_ref()], self.cv4.as_ref(), x, train)
    },
    init(a) {
        a.at_most(&["c1", "c2", "c3", "c4", "n"])?;
        let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
        let (c3, c4, n) = (a.int(2, "c3")?, a.int(3, "c4")?, a.int_or(4, "n", 1)?);
        let i = &a.init;
        let stage = |c: i64| -> crate::error::Result<crate::modules::Child> {
            seq(vec![
                i.child::<RepCsp>(args![c, c4, n], no_kw())?,
                conv(i, args![c4, c4, 3, 1])?,
            ])
        };
        Ok(RepNcspElan4Config {
            cv1: conv(i, args![c1, c3, 1, 1])?,
            cv2: stage(c3.div_euclid(2))?,
            cv3: stage(c4)?,
            cv4: conv(i, args![c3 + 2 * c4, c2, 1, 1])?,
        })
    }
}
