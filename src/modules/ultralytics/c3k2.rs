//! ultralytics `C3k2` (`block.py`, 8.4.190): `y = cv1(x).chunk(2, 1)`, each of `m` applied
//! to the last chunk in turn, everything concatenated, `cv2`.

use crate::modules::composite::{composite, refs};
use crate::modules::patterns::split_extend;
use crate::modules::args::{args, no_kw, repeat};
use crate::modules::conv_opts::{c2f_parts, seq};
use crate::modules::{Bottleneck, PsaBlock, C3k};
use serde_json::json;

composite! {
    /// `C3k2(c1, c2, n=1, c3k=False, e=0.5, attn=False, g=1, shortcut=True) (YOLO11, YOLO26); its `m` holds Bottlenecks, C3ks, or Bottleneck + PSABlock pairs`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, H, W]`.
    C3k2, C3k2Config, "c3k2", ["ultralytics.nn.modules.block.C3k2"],
    one { cv1, cv2 }, list { m }, attrs {},
    input = cv1,
    check(c) {},
    forward(self, x, train) { split_extend(self.cv1.as_ref(), &refs(&self.m), self.cv2.as_ref(), x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "n", "c3k", "e", "attn", "g", "shortcut"])?;
        let (c1, c2, n) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "n", 1)?);
        let (c3k, attn) = (a.bool_or(3, "c3k", false)?, a.bool_or(5, "attn", false)?);
        let (g, shortcut) = (a.int_or(6, "g", 1)?, a.bool_or(7, "shortcut", true)?);
        let (c, cv1, cv2) = c2f_parts(&a.init, c1, c2, n, a.float_or(4, "e", 0.5)?)?;
        let i = &a.init;
        let block = || match (attn, c3k) {
            (true, _) => seq(vec![
                i.child::<Bottleneck>(args![c, c, shortcut, g], no_kw())?,
                i.child::<PsaBlock>(args![c], json!({ "attn_ratio": 0.5, "num_heads": (c / 64).max(1) }))?,
            ]),
            (false, true) => i.child::<C3k>(args![c, c, 2, shortcut, g], no_kw()),
            (false, false) => i.child::<Bottleneck>(args![c, c, shortcut, g], no_kw()),
        };
        Ok(C3k2Config { cv1, cv2, m: repeat(n, block)? })
    }
}
