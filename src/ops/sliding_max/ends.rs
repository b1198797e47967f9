//! The ends of each row in the direct path (`direct.rs`): the flat row pass gets the first and
//! last `p = k / 2` positions of every row wrong (their windows cross into the next row), and
//! this redoes them. From the left, `o[x] = keep over r[0 ..= x + p]`; from the right,
//! `o[x] = keep over r[x − p .. w]`, grouped from the end (the rule is associative, and the
//! grouping keeps the candidates' order).
//!
//! Two ways: running maxima, one step over every row before the next (any type, any width);
//! and, for f32 rows at least 16 wide with `2p ≤ 16` on a CPU with AVX-512, each end as one
//! 16-lane vector scanned in `log2(2p)` shift-and-keep steps and stored with a mask. The scalar
//! steps were about a third of the 13×13 pool's time.

use std::any::TypeId;

use super::lanes::{Lane, Rule};

/// Redoes the `p` positions at each end of every row of `rows` (rows `w` long), from the input
/// rows `src`; `p ≥ 1`, `w ≥ 2p + 1`.
#[inline(always)]
pub(super) fn redo<T: Lane, R: Rule<T>>(rows: &mut [T], src: &[T], w: usize, p: usize) {
    debug_assert!(p >= 1 && w > 2 * p && rows.len() == src.len() && rows.len().is_multiple_of(w));
    #[cfg(target_arch = "x86_64")]
    {
        if TypeId::of::<T>() == TypeId::of::<f32>()
            && w >= 16
            && 2 * p <= 16
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: `T` is `f32` (checked above), so the slices are f32 slices of the same
            // lengths; the CPU has AVX-512F (checked above).
            unsafe {
                let rows =
                    std::slice::from_raw_parts_mut(rows.as_mut_ptr().cast::<f32>(), rows.len());
                let src = std::slice::from_raw_parts(src.as_ptr().cast::<f32>(), src.len());
                avx512::redo(rows, src, w, p, R::EXACT);
            }
            return;
        }
    }
    scalar::<T, R>(rows, src, w, p);
}

/// Running maxima, one step over every row before the next, so the steps of one row do not
/// wait on each other.
#[inline(always)]
fn scalar<T: Lane, R: Rule<T>>(rows: &mut [T], src: &[T], w: usize, p: usize) {
    let each = |rows: &mut [T], f: &dyn Fn(&mut [T], &[T])| {
        for (o, r) in rows.chunks_exact_mut(w).zip(src.chunks_exact(w)) {
            f(o, r);
        }
    };
    // Left: o[x] = keep over r[0 ..= x + p].
    each(rows, &|o, r| o[0] = r[0]);
    for j in 1..=p {
        each(rows, &|o, r| o[0] = R::keep(o[0], r[j]));
    }
    for x in 1..p {
        each(rows, &|o, r| o[x] = R::keep(o[x - 1], r[x + p]));
    }
    // Right: o[x] = keep over r[x − p .. w], grouped from the end.
    each(rows, &|o, r| o[w - 1] = r[w - 1 - p]);
    for j in w - p..w {
        each(rows, &|o, r| o[w - 1] = R::keep(o[w - 1], r[j]));
    }
    for x in (w - p..w - 1).rev() {
        each(rows, &|o, r| o[x] = R::keep(r[x - p], o[x + 1]));
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// libtorch's rule on 16 lanes: `v` where `v > m` or `v` is NaN (`exact`), else `m`; without
    /// `exact` (no NaN among the candidates) one `max`, whose operand order keeps `m` on a tie.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn keep(m: __m512, v: __m512, exact: bool) -> __m512 {
        if exact {
            let take =
                _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, m) | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
            _mm512_mask_blend_ps(take, m, v)
        } else {
            _mm512_max_ps(v, m)
        }
    }

    /// Lane `i` of the result is lane `i − d` of `a`, −inf below `d` (`d` is 1, 2, 4 or 8).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn up(a: __m512, d: usize) -> __m512 {
        // alignr::<n>(hi, lo): lanes n .. n + 16 of lo ++ hi; here lo = −inf, n = 16 − d.
        let (a, inf) = (
            _mm512_castps_si512(a),
            _mm512_castps_si512(_mm512_set1_ps(f32::NEG_INFINITY)),
        );
        _mm512_castsi512_ps(match d {
            1 => _mm512_alignr_epi32::<15>(a, inf),
            2 => _mm512_alignr_epi32::<14>(a, inf),
            4 => _mm512_alignr_epi32::<12>(a, inf),
            _ => _mm512_alignr_epi32::<8>(a, inf),
        })
    }

    /// Lane `i` of the result is lane `i + d` of `a`, −inf from `16 − d` (`d` is 1, 2, 4 or 8).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn down(a: __m512, d: usize) -> __m512 {
        // alignr::<d>(hi, lo): lanes d .. d + 16 of lo ++ hi; here lo = a, hi = −inf.
        let (a, inf) = (
            _mm512_castps_si512(a),
            _mm512_castps_si512(_mm512_set1_ps(f32::NEG_INFINITY)),
        );
        _mm512_castsi512_ps(match d {
            1 => _mm512_alignr_epi32::<1>(inf, a),
            2 => _mm512_alignr_epi32::<2>(inf, a),
            4 => _mm512_alignr_epi32::<4>(inf, a),
            _ => _mm512_alignr_epi32::<8>(inf, a),
        })
    }

    /// See [`super::redo`]; `w ≥ 16`, `1 ≤ p ≤ 8`, `rows.len() == src.len()`, a multiple of `w`.
    #[target_feature(enable = "avx512f")]
    pub(super) fn redo(rows: &mut [f32], src: &[f32], w: usize, p: usize, exact: bool) {
        assert!(w >= 16 && (1..=8).contains(&p) && rows.len() == src.len());
        let left_mask: __mmask16 = (1 << p) - 1;
        let right_mask: __mmask16 = !((1u32 << (16 - p)) - 1) as u16;
        for (o, r) in rows.chunks_exact_mut(w).zip(src.chunks_exact(w)) {
            // SAFETY: each load and store covers 16 elements at 0 or w − 16 of a row w ≥ 16
            // long.
            unsafe {
                // Left: lane i gets keep over r[0 ..= i]; o[x] is lane x + p.
                let mut s = _mm512_loadu_ps(r.as_ptr());
                s = keep(up(s, 1), s, exact);
                s = keep(up(s, 2), s, exact);
                s = keep(up(s, 4), s, exact);
                if p > 4 {
                    s = keep(up(s, 8), s, exact);
                }
                let s = shift_down(s, p);
                _mm512_mask_storeu_ps(o.as_mut_ptr(), left_mask, s);
                // Right: lane i gets keep over r[w − 16 + i .. w]; o[x] is lane x − p of that.
                let at = w - 16;
                let mut s = _mm512_loadu_ps(r.as_ptr().add(at));
                s = keep(s, down(s, 1), exact);
                s = keep(s, down(s, 2), exact);
                s = keep(s, down(s, 4), exact);
                if p > 4 {
                    s = keep(s, down(s, 8), exact);
                }
                let s = shift_up(s, p);
                _mm512_mask_storeu_ps(o.as_mut_ptr().add(at), right_mask, s);
            }
        }
    }

    /// `down(a, p)` for any `p` in 1..=8 (the lanes it fills are not stored).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn shift_down(a: __m512, p: usize) -> __m512 {
        let idx = _mm512_add_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(p as i32),
        );
        _mm512_permutexvar_ps(_mm512_and_si512(idx, _mm512_set1_epi32(15)), a)
    }

    /// `up(a, p)` for any `p` in 1..=8 (the lanes it fills are not stored).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn shift_up(a: __m512, p: usize) -> __m512 {
        let idx = _mm512_sub_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(p as i32),
        );
        _mm512_permutexvar_ps(_mm512_and_si512(idx, _mm512_set1_epi32(15)), a)
    }
}
