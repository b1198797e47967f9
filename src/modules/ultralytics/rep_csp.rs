//! ultralytics `RepCSP` (`block.py`, 8.4.190): `cv3(cat((m(cv1(x)), cv2(x)), 1))`, `m` a
//! Sequential of bottlenecks.

use crate::modules::composite::composite;
use crate::modules::patterns::csp;
use crate::modules::args::{args, repeat};
use crate::modules::conv_opts::c3_parts;
use crate::modules::RepBottleneck;
use serde_json::json;

composite! {
    /// `RepCSP(c1, c2, n=1, shortcut=True, g=1, e=0.5) (inside RepNCSPELAN4)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    RepCsp, RepCspConfig, "rep_csp", ["ultralytics.nn.modules.block.RepCSP"],
    one { cv1, cv2, cv3 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { csp(self.cv1.as_ref(), self.cv2.as_ref(), self.cv3.as_ref(), &self.m, x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "n", "shortcut", "g", "e"])?;
        let p = c3_parts(a)?;
        let (c_, shortcut, g) = (p.c_, p.shortcut, p.g);
        let m = repeat(p.n, || a.init.child::<RepBottleneck>(args![c_, c_, shortcut, g], json!({ "e": 1.0 })))?;
        Ok(RepCspConfig { cv1: p.cv1, cv2: p.cv2, cv3: p.cv3, m })
    }
}
