//! ultralytics `C2PSA` (`block.py`, 8.4.190; YOLO11, YOLO26): split, a Sequential of
//! `PSABlock`s on one half, concatenated, `cv2`.

use crate::modules::composite::composite;
use crate::modules::patterns::{chain, split_attend};
use crate::modules::args::{args, repeat, scaled};
use crate::modules::conv_opts::{conv, same_channels};
use crate::modules::PsaBlock;
use serde_json::json;

composite! {
    /// `C2PSA(c1, c2, n=1, e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c1, H, W]`.
    C2Psa, C2PsaConfig, "c2psa", ["ultralytics.nn.modules.block.C2PSA"],
    one { cv1, cv2 }, list { m }, attrs { c: i64 = 0 },
    input = cv1,
    check(c) { crate::modules::within("C2PSA", "c", c.c, 1, crate::modules::MAX_WIDTH)?; },
    forward(self, x, train) {
        split_attend(self.cv1.as_ref(), self.cv2.as_ref(), self.c, x, train, |b| chain(&self.m, b, train))
    },
    init(a) {
        a.at_most(&["c1", "c2", "n", "e"])?;
        let (c1, n) = (same_channels(a)?, a.int_or(2, "n", 1)?);
        let c = scaled(c1, a.float_or(3, "e", 0.5)?);
        let i = &a.init;
        let block = || i.child::<PsaBlock>(args![c], json!({ "attn_ratio": 0.5, "num_heads": (c / 64).max(1) }));
        Ok(C2PsaConfig {
            cv1: conv(i, args![c1, 2 * c, 1, 1])?,
            cv2: conv(i, args![2 * c, c1, 1])?,
            m: repeat(n, block)?,
            c,
        })
    }
}
