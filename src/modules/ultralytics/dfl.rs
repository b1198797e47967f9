//! ultralytics `DFL` (`block.py`, 8.4.190): the expected value of each box side's
//! distribution over `c1` bins — a softmax, then a fixed 1×1 convolution with weights
//! `0..c1` (computed as that convolution, as upstream does, for the same rounding).

use crate::error::{Error, Result};
use crate::modules::composite::composite;
use crate::modules::{within, MAX_SMALL};
use crate::modules::args::args;
use crate::modules::Conv2dBlock;
use serde_json::json;

composite! {
    /// `DFL(c1=16)`: `conv` is `nn.Conv2d(c1, 1, 1, bias=False)` (key `conv.weight`).
    ///
    /// # Shapes
    /// `[B, 4·c1, A]` → `[B, 4, A]`.
    Dfl, DflConfig, "dfl", ["ultralytics.nn.modules.block.DFL"],
    one { conv }, list {}, attrs { c1: i64 = 16 },
    input = conv,
    check(c) { within("DFL", "c1", c.c1, 1, MAX_SMALL)?; },
    forward(self, x, train) { expectation(self, x, train) },
    init(a) {
        a.at_most(&["c1"])?;
        let c1 = a.int_or(0, "c1", 16)?;
        Ok(DflConfig {
            conv: a.init.child::<Conv2dBlock>(args![c1, 1, 1], json!({ "bias": false }))?,
            c1,
        })
    }
}

fn expectation(d: &Dfl, x: &tch::Tensor, train: bool) -> Result<tch::Tensor> {
    let size = x.size();
    let &[b, _, a] = size.as_slice() else {
        return Err(Error::InvalidInput(format!("DFL input must be [B, 4·c1, A], got {size:?}")));
    };
    let p = x
        .f_view([b, 4, d.c1, a])?
        .f_transpose(2, 1)?
        .f_softmax(1, None::<tch::Kind>)?;
    Ok(d.conv.forward_t(&p, train)?.f_view([b, 4, a])?)
}
