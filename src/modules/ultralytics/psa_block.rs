//! ultralytics `PSABlock` (`block.py`, 8.4.190; inside C2PSA and YOLO26's C3k2): attention
//! then a two-layer feed-forward, each with a residual when `add`.

use crate::modules::composite::composite;
use crate::modules::patterns::chain;
use crate::modules::args::args;
use crate::modules::conv_opts::{conv, conv_plain};
use crate::modules::Attention;
use serde_json::json;

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
    },
    init(a) {
        a.at_most(&["c", "attn_ratio", "num_heads", "shortcut"])?;
        let (c, ratio) = (a.int(0, "c")?, a.float_or(1, "attn_ratio", 0.5)?);
        let i = &a.init;
        Ok(PsaBlockConfig {
            attn: i.child::<Attention>(args![c], json!({ "attn_ratio": ratio, "num_heads": a.int_or(2, "num_heads", 4)? }))?,
            ffn: vec![conv(i, args![c, c * 2, 1])?, conv_plain(i, args![c * 2, c, 1])?],
            add: a.bool_or(3, "shortcut", true)?,
        })
    }
}
