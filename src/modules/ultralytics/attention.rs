//! ultralytics `Attention` (`block.py`, 8.4.190; inside PSA, PSABlock): multi-head
//! self-attention over the pixels, with a depthwise positional encoding `pe` on the values.

use crate::error::{Error, Result};
use crate::modules::composite::composite;
use crate::modules::{within, MAX_WIDTH};
use crate::modules::args::{args, scaled};
use crate::modules::conv_opts::conv_plain;
use crate::modules::Conv;
use serde_json::json;

composite! {
    /// `Attention(dim, num_heads=8, attn_ratio=0.5)`: `qkv`, `proj`, `pe` are `Conv`s; `scale`
    /// is upstream's `key_dim ** -0.5`, kept as the pickle holds it.
    ///
    /// # Shapes
    /// `[N, dim, H, W]` → `[N, dim, H, W]`.
    Attention, AttentionConfig, "attention", ["ultralytics.nn.modules.block.Attention"],
    one { qkv, proj, pe }, list {}, attrs {
        num_heads: i64 = 8, key_dim: i64 = 0, head_dim: i64 = 0, scale: f64 = 0.0
    },
    input = qkv,
    check(c) {
        within("Attention", "num_heads", c.num_heads, 1, MAX_WIDTH)?;
        within("Attention", "key_dim", c.key_dim, 1, MAX_WIDTH)?;
        within("Attention", "head_dim", c.head_dim, 1, MAX_WIDTH)?;
        if !c.scale.is_finite() {
            return Err(Error::Config(format!("Attention scale {} is not finite", c.scale)));
        }
    },
    forward(self, x, train) { attend(self, x, train) },
    init(a) {
        a.at_most(&["dim", "num_heads", "attn_ratio"])?;
        let (dim, num_heads) = (a.int(0, "dim")?, a.int_or(1, "num_heads", 8)?);
        within("Attention", "num_heads", num_heads, 1, MAX_WIDTH)?;
        let head_dim = dim.div_euclid(num_heads);
        let key_dim = scaled(head_dim, a.float_or(2, "attn_ratio", 0.5)?);
        let h = dim + key_dim * num_heads * 2;
        let i = &a.init;
        Ok(AttentionConfig {
            qkv: conv_plain(i, args![dim, h, 1])?,
            proj: conv_plain(i, args![dim, dim, 1])?,
            pe: i.child::<Conv>(args![dim, dim, 3, 1], json!({ "g": dim, "act": false }))?,
            num_heads,
            key_dim,
            head_dim,
            scale: (key_dim as f64).powf(-0.5),
        })
    }
}

/// The attention itself, op for op as upstream's non-CoreML branch.
fn attend(a: &Attention, x: &tch::Tensor, train: bool) -> Result<tch::Tensor> {
    let size = x.size();
    let &[b, c, h, w] = size.as_slice() else {
        return Err(Error::InvalidInput(format!("Attention input must be NCHW, got {size:?}")));
    };
    let n = h.saturating_mul(w);
    let (nh, kd, hd) = (a.num_heads, a.key_dim, a.head_dim);
    let qkv = a.qkv.forward_t(x, train)?;
    let parts = qkv
        .f_view([b, nh, kd * 2 + hd, n])?
        .f_split_with_sizes([kd, kd, hd], 2)?;
    let [q, k, v] = parts.as_slice() else {
        return Err(Error::InvalidInput("Attention: qkv did not split in three".into()));
    };
    let attn = q
        .f_mul_scalar(a.scale)?
        .f_transpose(-2, -1)?
        .f_matmul(k)?
        .f_softmax(-1, None::<tch::Kind>)?;
    let y = v.f_matmul(&attn.f_transpose(-2, -1)?)?.f_view([b, c, h, w])?;
    let pe = a.pe.forward_t(&v.f_reshape([b, c, h, w])?, train)?;
    a.proj.forward_t(&y.f_add(&pe)?, train)
}
