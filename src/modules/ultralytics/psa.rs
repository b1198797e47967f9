//! ultralytics `PSA` (`block.py`, 8.4.190; YOLOv10): split, attention and feed-forward with
//! residuals on one half, concatenated, `cv2`.

use crate::modules::composite::composite;
use crate::modules::patterns::{chain, split_attend};
use crate::modules::args::{args, scaled};
use crate::modules::conv_opts::{conv, conv_plain, same_channels};
use crate::modules::Attention;
use serde_json::json;

composite! {
    /// `PSA(c1, c2, e=0.5)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c1, H, W]`.
    Psa, PsaConfig, "psa", ["ultralytics.nn.modules.block.PSA"],
    one { cv1, cv2, attn }, list { ffn }, attrs { c: i64 = 0 },
    input = cv1,
    check(c) { crate::modules::within("PSA", "c", c.c, 1, crate::modules::MAX_WIDTH)?; },
    forward(self, x, train) {
        split_attend(self.cv1.as_ref(), self.cv2.as_ref(), self.c, x, train, |b| {
            let b = b.f_add(&self.attn.forward_t(b, train)?)?;
            Ok(b.f_add(&chain(&self.ffn, &b, train)?)?)
        })
    },
    init(a) {
        a.at_most(&["c1", "c2", "e"])?;
        let c1 = same_channels(a)?;
        let c = scaled(c1, a.float_or(2, "e", 0.5)?);
        let i = &a.init;
        Ok(PsaConfig {
            cv1: conv(i, args![c1, 2 * c, 1, 1])?,
            cv2: conv(i, args![2 * c, c1, 1])?,
            attn: i.child::<Attention>(args![c], json!({ "attn_ratio": 0.5, "num_heads": (c / 64).max(1) }))?,
            ffn: vec![conv(i, args![c, c * 2, 1])?, conv_plain(i, args![c * 2, c, 1])?],
            c,
        })
    }
}
