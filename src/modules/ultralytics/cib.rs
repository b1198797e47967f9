//! ultralytics `CIB` (`block.py`, 8.4.190; YOLOv10): a Sequential `cv1` of five convolutions
//! (the middle one a `RepVGGDW` when `lk`), with a residual when `add`.

use crate::modules::composite::composite;
use crate::modules::patterns::chain;
use crate::modules::args::{args, no_kw, scaled};
use crate::modules::conv_opts::conv;
use crate::modules::{Conv, RepVggDw};
use serde_json::json;

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
    },
    init(a) {
        a.at_most(&["c1", "c2", "shortcut", "e", "lk"])?;
        let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
        let c_ = scaled(c2, a.float_or(3, "e", 0.5)?);
        let i = &a.init;
        let dw = |c: i64, k: i64| i.child::<Conv>(args![c, c, k], json!({ "g": c }));
        Ok(CibConfig {
            cv1: vec![
                dw(c1, 3)?,
                conv(i, args![c1, 2 * c_, 1])?,
                match a.bool_or(4, "lk", false)? {
                    true => i.child::<RepVggDw>(args![2 * c_], no_kw())?,
                    false => dw(2 * c_, 3)?,
                },
                conv(i, args![2 * c_, c2, 1])?,
                dw(c2, 3)?,
            ],
            add: a.bool_or(2, "shortcut", true)? && c1 == c2,
        })
    }
}
