//! ultralytics `ABlock` (`nn/modules/block.py`, 8.4.190; YOLOv12): `x + attn(x)`, then
//! `x + mlp(x)` with `mlp = Sequential(Conv(dim, h, 1), Conv(h, dim, 1, act=False))`.

use crate::modules::args::{args, no_kw};
use crate::modules::composite::composite;
use crate::modules::conv_opts::{conv, conv_plain, seq};
use crate::modules::AAttn;

composite! {
    /// `ABlock(dim, num_heads, mlp_ratio=1.2, area=1)`.
    ///
    /// # Shapes
    /// `[N, dim, H, W]` → `[N, dim, H, W]`.
    ABlock, ABlockConfig, "ablock", ["ultralytics.nn.modules.block.ABlock"],
    one { attn, mlp }, list {}, attrs {},
    input = attn,
    check(c) {},
    forward(self, x, train) {
        let x = x.f_add(&self.attn.forward_t(x, train)?)?;
        Ok(x.f_add(&self.mlp.forward_t(&x, train)?)?)
    },
    init(a) {
        a.at_most(&["dim", "num_heads", "mlp_ratio", "area"])?;
        let (dim, heads) = (a.int(0, "dim")?, a.int(1, "num_heads")?);
        let (ratio, area) = (a.float_or(2, "mlp_ratio", 1.2)?, a.int_or(3, "area", 1)?);
        let hidden = (dim as f64 * ratio) as i64; // int(dim * mlp_ratio)
        let i = &a.init;
        Ok(ABlockConfig {
            attn: i.child::<AAttn>(args![dim, heads, area], no_kw())?,
            mlp: seq(vec![conv(i, args![dim, hidden, 1])?, conv_plain(i, args![hidden, dim, 1])?])?,
        })
    }
}
