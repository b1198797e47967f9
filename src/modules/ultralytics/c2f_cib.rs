//! ultralytics `C2fCIB` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, each of `m` applied
//! to the last chunk in turn, everything concatenated, `cv2`.

use crate::modules::composite::{composite, refs};
use crate::modules::patterns::split_extend;
use crate::modules::args::{args, repeat};
use crate::modules::conv_opts::c2f_parts;
use crate::modules::Cib;
use serde_json::json;

composite! {
    /// `C2fCIB(c1, c2, n=1, shortcut=False, lk=False, g=1, e=0.5) (YOLOv10)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C2fCib, C2fCibConfig, "c2f_cib", ["ultralytics.nn.modules.block.C2fCIB"],
    one { cv1, cv2 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { split_extend(self.cv1.as_ref(), &refs(&self.m), self.cv2.as_ref(), x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "n", "shortcut", "lk", "g", "e"])?;
        let (c1, c2, n) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "n", 1)?);
        let (shortcut, lk) = (a.bool_or(3, "shortcut", false)?, a.bool_or(4, "lk", false)?);
        a.int_or(5, "g", 1)?; // C2f's groups reach no layer of C2fCIB
        let (c, cv1, cv2) = c2f_parts(&a.init, c1, c2, n, a.float_or(6, "e", 0.5)?)?;
        let m = repeat(n, || a.init.child::<Cib>(args![c, c, shortcut], json!({ "e": 1.0, "lk": lk })))?;
        Ok(C2fCibConfig { cv1, cv2, m })
    }
}
