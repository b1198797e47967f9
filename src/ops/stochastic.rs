//! Stochastic pooling (Zeiler & Fergus 2013) with Caffe's rule, written in libtorch ops so that
//! it is exactly reproducible — the same ops as `python/sppnet_ref/pooling.py`, which is the
//! reference (no registry package carries this pool).
//!
//! Windows: kernel `k`, stride `s`, no padding, floor. `w` = the unfolded windows
//! (`F.unfold(x, k, stride=s)` viewed `[N, C, k·k, L]`); `sum = w.sum(2)`.
//! - Test time: `(w·w).sum(2) / sum` — each activation weighted by its own probability.
//! - Training: `torch.manual_seed(seed)`, then `u = torch.rand(N, C, Ho, Wo)`; `c = w.cumsum(2)`;
//!   the first index where `c ≥ u · c[last]` is picked (Caffe's sampling).
//!
//! Both give 0 where a window sums to 0. The input must be non-negative (the pool follows a
//! ReLU; probabilities are the activations over their sum).

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// Stochastic pooling of `x` with a `kernel × kernel` window moved by `stride`; `seed` is
/// `Some` for the training rule (which seeds libtorch's global CPU generator, as
/// `torch.manual_seed` does), `None` for the test-time rule.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, (H − k) / s + 1, (W − k) / s + 1]`.
///
/// # Errors
/// A non-4-D or empty input, a kernel or stride below 1, a window larger than the map, a
/// negative input value.
pub fn stochastic_pool2d(
    x: &Tensor,
    kernel: i64,
    stride: i64,
    seed: Option<i64>,
) -> Result<Tensor> {
    let size = x.size();
    let &[n, c, h, w] = size.as_slice() else {
        return Err(Error::InvalidInput(format!(
            "stochastic pooling needs a 4-D (N, C, H, W) input, got shape {size:?}"
        )));
    };
    if size.iter().any(|&s| s < 1) {
        return Err(Error::InvalidInput(format!(
            "stochastic pooling needs a non-empty input, got shape {size:?}"
        )));
    }
    if kernel < 1 || stride < 1 {
        return Err(Error::Config(format!(
            "stochastic pooling kernel and stride must be at least 1, got {kernel} and {stride}"
        )));
    }
    if kernel > h || kernel > w {
        return Err(Error::InvalidInput(format!(
            "stochastic pooling window {kernel}×{kernel} is larger than the {h}×{w} map"
        )));
    }
    if bool::try_from(x.f_lt(0.0)?.f_any()?)? {
        return Err(Error::InvalidInput(
            "stochastic pooling needs non-negative input (it follows a ReLU), found a negative value"
                .into(),
        ));
    }
    let (ho, wo) = ((h - kernel) / stride + 1, (w - kernel) / stride + 1);
    let cols = x
        .f_im2col([kernel, kernel], [1, 1], [0, 0], [stride, stride])?
        .f_view([n, c, kernel * kernel, ho * wo])?;
    let sum = cols.f_sum_dim_intlist(Some([2i64].as_slice()), false, None)?;
    let empty = sum.f_eq(0.0)?;
    let y = match seed {
        None => {
            // 1 where the sum is 0, so that no 0/0 reaches the gradient.
            let safe = sum.f_where_scalarother(&empty.f_logical_not()?, 1.0)?;
            let num = cols
                .f_mul(&cols)?
                .f_sum_dim_intlist(Some([2i64].as_slice()), false, None)?;
            num.f_div(&safe)?
        }
        Some(seed) => {
            tch::manual_seed(seed);
            let u = Tensor::f_rand([n, c, ho, wo], (x.kind(), x.device()))?;
            let cum = cols.f_cumsum(2, None::<Kind>)?;
            let total = cum.f_narrow(2, kernel * kernel - 1, 1)?;
            let threshold = u.f_view([n, c, 1, ho * wo])?.f_mul(&total)?;
            let index = cum
                .f_ge_tensor(&threshold)?
                .f_to_kind(Kind::Uint8)?
                .f_argmax(2, true)?;
            cols.f_gather(2, &index, false)?.f_squeeze_dim(2)?
        }
    };
    let y = y.f_where_scalarother(&empty.f_logical_not()?, 0.0)?;
    Ok(y.f_view([n, c, ho, wo])?)
}
