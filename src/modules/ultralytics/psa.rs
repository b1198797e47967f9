//! ultralytics `PSA` (`block.py`, 8.4.190; YOLOv10): split, attention and feed-forward with
//! residuals on one half, concatenated, `cv2`.

use crate::modules::composite::composite;
use crate::modules::patterns::{chain, split_attend};

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
    }
}
