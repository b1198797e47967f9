//! ultralytics `Classify` (`head.py`, 8.4.190): `conv`, a global average pool, dropout (the
//! identity in eval), `linear`; the softmax of the logits in eval mode, as `predict` and
//! `YOLO(w)(x)[0]` give them, and the logits in training.

use tch::{Kind, Tensor};

use crate::error::Result;
use crate::modules::args::{args, no_kw};
use crate::modules::composite::composite;
use crate::modules::{Conv, Linear};

composite! {
    /// `Classify(c1, c2, k=1, s=1, p=None, g=1)`: `conv` is `Conv(c1, 1280, k, s, p, g)`,
    /// `linear` is `nn.Linear(1280, c2)`; `pool` (`nn.AdaptiveAvgPool2d(1)`) and `drop`
    /// (`nn.Dropout(0.0)`) hold no weights.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2]` (probabilities in eval, logits in training).
    Classify, ClassifyConfig, "classify", ["ultralytics.nn.modules.head.Classify"],
    one { conv, linear }, list {}, attrs {},
    input = conv,
    check(c) {},
    forward(self, x, train) { classify(self, x, train) },
    init(a) {
        a.at_most(&["c1", "c2", "k", "s", "p", "g"])?;
        let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
        let (k, s, g) = (a.int_or(2, "k", 1)?, a.int_or(3, "s", 1)?, a.int_or(5, "g", 1)?);
        let p = a.get(4, "p").cloned().unwrap_or(serde_json::Value::Null);
        let c_ = 1280; // efficientnet_b0 size
        Ok(ClassifyConfig {
            conv: a.init.child::<Conv>(args![c1, c_, k, s, p, g], no_kw())?,
            linear: a.init.child::<Linear>(args![c_, c2], no_kw())?,
        })
    }
}

fn classify(c: &Classify, x: &Tensor, train: bool) -> Result<Tensor> {
    let pooled = c
        .conv
        .forward_t(x, train)?
        .f_adaptive_avg_pool2d([1, 1])?
        .f_flatten(1, -1)?;
    let logits = c.linear.forward_t(&pooled, train)?;
    match train {
        true => Ok(logits),
        false => Ok(logits.f_softmax(1, None::<Kind>)?),
    }
}
