//! ultralytics `AAttn` (`nn/modules/block.py`, 8.4.190; YOLOv12): area attention — the pixels
//! split into `area` strips, multi-head self-attention within each, and a 7×7 depthwise
//! positional encoding `pe` of the values added before `proj`.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::modules::args::args;
use crate::modules::composite::composite;
use crate::modules::conv_opts::conv_plain;
use crate::modules::{within, Conv, MAX_WIDTH};
use serde_json::json;

composite! {
    /// `AAttn(dim, num_heads, area=1)`: `qkv = Conv(dim, 3·h·d, 1, act=False)`, `proj =
    /// Conv(h·d, dim, 1, act=False)`, `pe = Conv(h·d, h·d, 7, 1, 3, g=h·d, act=False)` with
    /// `d = dim // num_heads`.
    ///
    /// # Shapes
    /// `[N, dim, H, W]` → `[N, dim, H, W]` (`H·W` a multiple of `area`).
    AAttn, AAttnConfig, "aattn", ["ultralytics.nn.modules.block.AAttn"],
    one { qkv, proj, pe }, list {}, attrs { area: i64 = 1, num_heads: i64 = 8, head_dim: i64 = 0 },
    input = qkv,
    check(c) {
        within("AAttn", "area", c.area, 1, MAX_WIDTH)?;
        within("AAttn", "num_heads", c.num_heads, 1, MAX_WIDTH)?;
        within("AAttn", "head_dim", c.head_dim, 1, MAX_WIDTH)?;
    },
    forward(self, x, train) { attend(self, x, train) },
    init(a) {
        a.at_most(&["dim", "num_heads", "area"])?;
        let (dim, num_heads, area) = (a.int(0, "dim")?, a.int(1, "num_heads")?, a.int_or(2, "area", 1)?);
        within("AAttn", "num_heads", num_heads, 1, MAX_WIDTH)?;
        let head_dim = dim.div_euclid(num_heads);
        let all = head_dim * num_heads;
        let i = &a.init;
        Ok(AAttnConfig {
            qkv: conv_plain(i, args![dim, all * 3, 1])?,
            proj: conv_plain(i, args![all, dim, 1])?,
            pe: i.child::<Conv>(args![all, all, 7, 1, 3], json!({ "g": all, "act": false }))?,
            area,
            num_heads,
            head_dim,
        })
    }
}

/// The forward, op for op as upstream's.
fn attend(a: &AAttn, x: &Tensor, train: bool) -> Result<Tensor> {
    let size = x.size();
    let &[b0, _, h, w] = size.as_slice() else {
        return Err(Error::InvalidInput(format!("AAttn input must be NCHW, got {size:?}")));
    };
    let (nh, hd, area) = (a.num_heads, a.head_dim, a.area);
    let all = nh * hd;
    let n0 = h * w;
    if n0 % area != 0 {
        return Err(Error::InvalidInput(format!("AAttn: {h}×{w} pixels do not split into {area} areas")));
    }
    let mut qkv = a.qkv.forward_t(x, train)?.f_flatten(2, -1)?.f_transpose(1, 2)?;
    let (mut b, mut n) = (b0, n0);
    if area > 1 {
        qkv = qkv.f_reshape([b * area, n / area, all * 3])?;
        (b, n) = (b * area, n / area);
    }
    let parts = qkv.f_view([b, n, nh, hd * 3])?.f_permute([0, 2, 3, 1])?.f_split_with_sizes([hd, hd, hd], 2)?;
    let [q, k, v] = parts.as_slice() else {
        return Err(Error::InvalidInput("AAttn: qkv did not split in three".into()));
    };
    let scale = (hd as f64).powf(-0.5);
    let attn = q.f_mul_scalar(scale)?.f_transpose(-2, -1)?.f_matmul(k)?.f_softmax(-1, None::<Kind>)?;
    let mut y = v.f_matmul(&attn.f_transpose(-2, -1)?)?.f_permute([0, 3, 1, 2])?;
    let mut v = v.f_permute([0, 3, 1, 2])?;
    if area > 1 {
        y = y.f_reshape([b / area, n * area, all])?;
        v = v.f_reshape([b / area, n * area, all])?;
        b /= area;
    }
    let planar = |t: &Tensor| -> Result<Tensor> { Ok(t.f_reshape([b, h, w, all])?.f_permute([0, 3, 1, 2])?.f_contiguous()?) };
    let (y, v) = (planar(&y)?, planar(&v)?);
    a.proj.forward_t(&y.f_add(&a.pe.forward_t(&v, train)?)?, train)
}
