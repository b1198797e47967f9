//! ultralytics `PSABlock` (`block.py`, 8.4.190; inside C2PSA and YOLO26's C3k2): attention
//! then a two-layer feed-forward, each with a residual when `add`.

use crate::modules::composite::composite;
use crate::modules::patterns::chain;

composite! {
    /// `PSABlock(c, attn_ratio=0.5, num_heads=4, shortcut=True)`.
    ///
    /// # Shapes
    /// `[N, c, H, W]` → `[N, c, H, W]`.
    PsaBlock, PsaBlockConfig, "psa_block", ["ultralytics.nn.modules.block.PSABlock"],
    one { attn }, list { ffn }, attrs { add: bool = true },
    input = attn,
    check(c) {},
    forward(self, x, train) {
        let a = self.attn.forward_t(x, train)?;
        let x = if self.add { x.f_add(&a)? } else { a };
        let f = chain(&self.ffn, &x, train)?;
        if self.add { Ok(x.f_add(&f)?) } else { Ok(f) }
    }
}
