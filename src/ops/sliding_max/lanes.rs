//! The element types the kernel covers and libtorch's keep rule for each.
//!
//! libtorch's CPU max pool scans a window in row-major order from `m = −inf` and replaces `m`
//! by a candidate `v` when `v > m || isnan(v)`, comparing in `float` for the 16-bit types. As a
//! binary operation `keep(m, v)` that rule is associative: it is "the leftmost maximum, unless
//! a NaN is present, then the rightmost NaN" (±0 compare equal, so the earlier one stays). Any
//! grouping of a window's candidates that keeps their order therefore gives libtorch's bits,
//! which is what lets the kernel split the k×k scan into a row pass and a column pass, and a
//! long window into overlapping power-of-two windows (`kernel.rs`).

use tch::Kind;

/// An element type of the kernel: its libtorch kind, −inf, and the keep rule.
pub(super) trait Lane: Copy + Send + Sync + 'static {
    /// The libtorch kind of a tensor of these elements.
    const KIND: Kind;
    /// −inf: the padding, which never replaces a candidate and is never kept over one.
    const NEG_INF: Self;
    /// libtorch's rule: `v` if `v > m` or `v` is NaN, else `m`.
    fn keep(m: Self, v: Self) -> Self;
    /// The same rule for a `v` that is not NaN: `v` if `v > m`, else `m` (one `max`
    /// instruction for f32, whose operand order gives the same answer when `m` is NaN).
    fn keep_number(m: Self, v: Self) -> Self;
    /// Whether `self` is a NaN.
    fn is_nan(self) -> bool;
}

/// Which keep rule a pass uses: [`Exact`] always holds; [`Numbers`] holds when no candidate
/// is NaN, which the kernel checks on each tile's input first.
pub(super) trait Rule<T: Lane> {
    /// Whether this is the full rule (NaN included).
    const EXACT: bool;
    fn keep(m: T, v: T) -> T;
}

/// libtorch's rule, for any input.
pub(super) struct Exact;

/// libtorch's rule on NaN-free candidates.
pub(super) struct Numbers;

impl<T: Lane> Rule<T> for Exact {
    const EXACT: bool = true;
    #[inline(always)]
    fn keep(m: T, v: T) -> T {
        T::keep(m, v)
    }
}

impl<T: Lane> Rule<T> for Numbers {
    const EXACT: bool = false;
    #[inline(always)]
    fn keep(m: T, v: T) -> T {
        T::keep_number(m, v)
    }
}

impl Lane for f32 {
    const KIND: Kind = Kind::Float;
    const NEG_INF: Self = f32::NEG_INFINITY;

    #[inline(always)]
    fn keep(m: Self, v: Self) -> Self {
        if v > m || v.is_nan() {
            v
        } else {
            m
        }
    }

    #[inline(always)]
    fn keep_number(m: Self, v: Self) -> Self {
        if v > m {
            v
        } else {
            m
        }
    }

    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

/// The bits of an IEEE binary16 (`torch.float16`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(super) struct F16(pub u16);

/// The bits of a bfloat16 (`torch.bfloat16`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(super) struct Bf16(pub u16);

/// The order of a 16-bit float that is not NaN, as an integer: the signed magnitude, −0 = +0.
#[inline(always)]
fn key16(x: u16) -> i16 {
    let mag = (x & 0x7fff) as i16;
    if x & 0x8000 != 0 {
        -mag
    } else {
        mag
    }
}

/// The comparison of two 16-bit floats as libtorch makes it in `float` (exact for both
/// formats), done on the bits: a NaN has a magnitude above `inf_bits`; otherwise the order is
/// that of the signed magnitudes, with −0 equal to +0.
#[inline(always)]
fn keep16(m: u16, v: u16, inf_bits: u16) -> u16 {
    let v_nan = v & 0x7fff > inf_bits;
    let m_nan = m & 0x7fff > inf_bits;
    if v_nan || (!m_nan && key16(v) > key16(m)) {
        v
    } else {
        m
    }
}

/// The `Lane` impl of a 16-bit float type: its kind, the bits of −inf and of +inf.
macro_rules! lane16 {
    ($ty:ident, $kind:expr, $neg_inf:literal, $inf:literal) => {
        impl Lane for $ty {
            const KIND: Kind = $kind;
            const NEG_INF: Self = $ty($neg_inf);

            #[inline(always)]
            fn keep(m: Self, v: Self) -> Self {
                $ty(keep16(m.0, v.0, $inf))
            }

            #[inline(always)]
            fn keep_number(m: Self, v: Self) -> Self {
                // Only for NaN-free candidates, so the running maximum is never NaN either.
                if key16(v.0) > key16(m.0) {
                    v
                } else {
                    m
                }
            }

            #[inline(always)]
            fn is_nan(self) -> bool {
                self.0 & 0x7fff > $inf
            }
        }
    };
}

lane16!(F16, Kind::Half, 0xfc00, 0x7c00);
lane16!(Bf16, Kind::BFloat16, 0xff80, 0x7f80);
