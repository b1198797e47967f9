//! Checks on tensors handed to the library: rank, dtype, emptiness, finiteness; and the one
//! bit-pattern test the fast pooling paths rely on. The bottom layer: it uses nothing else here.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// The floating-point kinds sppnet computes in.
pub const FLOAT_KINDS: [Kind; 4] = [Kind::Float, Kind::Double, Kind::Half, Kind::BFloat16];

/// Whether `kind` is one of [`FLOAT_KINDS`].
pub fn is_float(kind: Kind) -> bool {
    FLOAT_KINDS.contains(&kind)
}

/// Whether `kind` is an integer kind a state_dict counter may have.
pub fn is_int(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8
    )
}

/// The sizes of an NCHW tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nchw {
    /// Batch.
    pub n: i64,
    /// Channels.
    pub c: i64,
    /// Height.
    pub h: i64,
    /// Width.
    pub w: i64,
}

/// Check that `x` is a non-empty NCHW floating-point tensor; `what` names it in the error.
pub fn check_nchw(x: &Tensor, what: &str) -> Result<Nchw> {
    let size = x.size();
    let &[n, c, h, w] = size.as_slice() else {
        return Err(Error::InvalidInput(format!(
            "{what} must be NCHW (rank 4), got rank {} with shape {size:?}",
            size.len()
        )));
    };
    if !is_float(x.kind()) {
        return Err(Error::InvalidInput(format!(
            "{what} must be floating point (f32, f64, f16, bf16), got {:?}",
            x.kind()
        )));
    }
    if n == 0 || c == 0 || h == 0 || w == 0 {
        return Err(Error::InvalidInput(format!(
            "{what} is empty: shape {size:?}"
        )));
    }
    Ok(Nchw { n, c, h, w })
}

/// Check an NCHW input against what a module takes: `channels` channels (when it says), and
/// its weights' dtype and device.
pub fn check_module_input(
    x: &Tensor,
    what: &str,
    channels: Option<i64>,
    kind: Kind,
    device: tch::Device,
) -> Result<Nchw> {
    let s = check_nchw(x, what)?;
    if let Some(want) = channels.filter(|&c| c != s.c) {
        return Err(Error::InvalidInput(format!(
            "{what} has {} channels, the module expects {want}",
            s.c
        )));
    }
    if x.kind() != kind || x.device() != device {
        return Err(Error::InvalidInput(format!(
            "{what} is {:?} on {:?}, the module is {kind:?} on {device:?}",
            x.kind(),
            x.device(),
        )));
    }
    Ok(s)
}

/// Refuse tensors holding NaN or ±inf ([`Error::NonFinite`]). The library's operations pass
/// such values through as PyTorch does; callers that want clean input check it with this.
pub fn check_finite(x: &Tensor, what: &str) -> Result<()> {
    let bad = x
        .f_isfinite()?
        .f_logical_not()?
        .f_sum(Kind::Int64)?
        .f_int64_value(&[])?;
    if bad > 0 {
        return Err(Error::NonFinite {
            what: what.to_string(),
            count: bad,
        });
    }
    Ok(())
}

/// Whether every value of `maxima` (pooled maxima) is non-zero and not NaN. Then each maximum
/// has one bit pattern, so any way of reaching it gives the same bits: the only values that
/// compare equal (or unordered) with different bits are ±0 and NaNs. (`min` of |maxima| is NaN
/// when any is NaN, and `> 0` is then false.) The nested pyramid levels and the separable pools
/// rely on it.
pub fn maxima_are_unique(maxima: &Tensor) -> Result<bool> {
    Ok(maxima.f_abs()?.f_min()?.f_double_value(&[])? > 0.0)
}

/// Whether `x` holds no −0 and no NaN: then no two candidate maxima with equal values can have
/// different bits, whatever order a pool visits them in.
pub fn no_signed_zero_or_nan(x: &Tensor) -> Result<bool> {
    let negative_zero = x.f_eq(0.0)?.f_logical_and(&x.f_signbit()?)?;
    let suspect = negative_zero.f_logical_or(&x.f_isnan()?)?.f_any()?;
    Ok(suspect.f_to_kind(Kind::Bool)?.f_int64_value(&[])? == 0)
}
