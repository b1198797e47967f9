//! The ends of each row in the direct path (`direct.rs`): the flat row pass gets the first and
//! last `p = k / 2` positions of every row wrong (their windows cross into the next row), and
//! this redoes them. From the left, `o[x] = keep over r[0 ..= x + p]`; from the right,
//! `o[x] = keep over r[x − p .. w]`, grouped from the end (the rule is associative, and the
//! grouping keeps the candidates' order).
//!
//! Three ways, the first that applies:
//! - f32 on a CPU with AVX-512, every end window 4 to 16 long (`7 ≤ k ≤ 17`): each end window
//!   of length `l` is two overlapping windows of `a = 4` (`l ≤ 8`) or `a = 8` candidates that
//!   the row pass built anyway (`passes::ladder`, indexed by start in the flat plane, so never
//!   crossing a row when they start and end in it): from the left `keep(W[rs], W[rs + l − a])`,
//!   from the right `keep(W[re − l], W[re − a])` — one broadcast, one masked load and one keep
//!   for all `p` positions of an end;
//! - f32 rows at least 16 wide with `2p ≤ 16` on AVX-512 (`k ≤ 5` here): each end as one
//!   16-lane vector scanned in `⌈log2 2p⌉` shift-and-keep steps, stored with a mask;
//! - otherwise running maxima, one step over every row before the next (any type, any width).
//!
//! The scalar steps were about a third of the 13×13 pool's time; the scan made the ends about
//! a seventh of it, and the windows took 4–8 % more off the 9×9 and 13×13 pools.

use std::any::TypeId;

use super::lanes::{Lane, Rule};

/// Redoes the `p` positions at each end of every row of `rows` (rows `w` long), from the input
/// rows `src` and, where the row pass left them (`passes::ladder`), its windows of 4 and of 8
/// candidates over the flat plane; `p ≥ 1`, `w ≥ 2p + 1`.
#[inline(always)]
pub(super) fn redo<T: Lane, R: Rule<T>>(
    rows: &mut [T],
    src: &[T],
    w: usize,
    p: usize,
    (w4, w8): (Option<&[T]>, Option<&[T]>),
) {
    debug_assert!(p >= 1 && w > 2 * p && rows.len() == src.len() && rows.len().is_multiple_of(w));
    #[cfg(target_arch = "x86_64")]
    {
        if TypeId::of::<T>() == TypeId::of::<f32>()
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            let f32s = |v: &[T]| {
                // SAFETY: `T` is `f32` (checked above).
                unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<f32>(), v.len()) }
            };
            // SAFETY: as above; the CPU has AVX-512F (checked above).
            let rows = unsafe {
                std::slice::from_raw_parts_mut(rows.as_mut_ptr().cast::<f32>(), rows.len())
            };
            // Each end window (p + 1 to 2p long) as two windows of 4 (up to 8 long) or of 8 (up
            // to 16), where the row pass left those.
            let fits = |l: usize| {
                if l <= 8 {
                    w4.is_some() && l >= 4
                } else {
                    w8.is_some() && l <= 16
                }
            };
            if (p + 1..=2 * p).all(fits) {
                let (w4, w8) = (w4.map(f32s).unwrap_or(&[]), w8.map(f32s).unwrap_or(&[]));
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { avx512::from_windows(rows, w, p, w4, w8, R::EXACT) };
                return;
            }
            if w >= 16 && 2 * p <= 16 {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { avx512::redo(rows, f32s(src), w, p, R::EXACT) };
                return;
            }
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

    /// One end window from two windows of `a` candidates: `keep(m, v)` lane by lane, each
    /// operand a broadcast element or a masked load of consecutive ones (lanes outside `lanes`
    /// are not read and not meaningful).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn pair(
        m: *const f32,
        m_wide: bool,
        v: *const f32,
        lanes: __mmask16,
        exact: bool,
    ) -> __m512 {
        let load = |at: *const f32, wide: bool| {
            if wide {
                _mm512_maskz_loadu_ps(lanes, at)
            } else {
                _mm512_set1_ps(*at)
            }
        };
        keep(load(m, m_wide), load(v, !m_wide), exact)
    }

    /// The lanes `(left, right)` of a row's two ends (`rs .. re`) that windows of `a`
    /// candidates at `at` serve, blended into `(l, r)`: from the left, lane x (length
    /// `x + p + 1`) is `keep(W[rs], W[rs + length − a])`; from the right, lane x (length
    /// `2p − x`) is `keep(W[re − length], W[re − a])`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn ends(
        at: *const f32,
        a: usize,
        rs: usize,
        re: usize,
        p: usize,
        (left, right): (__mmask16, __mmask16),
        (l, r): (__m512, __m512),
        exact: bool,
    ) -> (__m512, __m512) {
        let from = at.wrapping_add(rs + p + 1).wrapping_sub(a);
        let v = pair(at.add(rs), false, from, left, exact);
        let from = at.wrapping_add(re).wrapping_sub(2 * p);
        let u = pair(from, true, at.add(re - a), right, exact);
        (
            _mm512_mask_blend_ps(left, l, v),
            _mm512_mask_blend_ps(right, r, u),
        )
    }

    /// See [`super::redo`]: each end window of length `l` (4 ..= 16) as two overlapping windows
    /// of `a = 4` (`l ≤ 8`) or `a = 8` candidates from the row pass's own windows (`w4`, `w8`,
    /// indexed by start in the flat plane): from the left `keep(W[rs], W[rs + l − a])`, from
    /// the right `keep(W[re − l], W[re − a])`, lane x the row's x-th end position.
    #[target_feature(enable = "avx512f")]
    pub(super) fn from_windows(
        rows: &mut [f32],
        w: usize,
        p: usize,
        w4: &[f32],
        w8: &[f32],
        exact: bool,
    ) {
        assert!((3..=8).contains(&p) && w > 2 * p && rows.len().is_multiple_of(w));
        let all: __mmask16 = (1 << p) - 1;
        // Left, lane x: l = x + p + 1, from the windows of 4 while l ≤ 8.
        let left4: __mmask16 = all & ((1u32 << (8 - p).min(16)) - 1) as u16;
        // Right, lane x: l = 2p − x, from the windows of 4 from x ≥ 2p − 8.
        let right4: __mmask16 = all & !((1u32 << (2 * p).saturating_sub(8)) - 1) as u16;
        // The last windows read start at n − 4 and n − 8.
        let n = rows.len();
        assert!(left4 == 0 || w4.len() + 4 > n);
        assert!(left4 == all || w8.len() + 8 > n);
        for (y, o) in rows.chunks_exact_mut(w).enumerate() {
            let (rs, re) = (y * w, y * w + w);
            // SAFETY: each window read lies inside the plane's windows (start ≥ 0, end ≤ the
            // plane's end), masked lanes are not read, a set of windows that serves no lane
            // (perhaps absent) is not touched, and the stores write `p` lanes at the row's two
            // ends.
            unsafe {
                let inf = _mm512_set1_ps(f32::NEG_INFINITY);
                let (mut l, mut r) = (inf, inf);
                if left4 != 0 {
                    (l, r) = ends(w4.as_ptr(), 4, rs, re, p, (left4, right4), (l, r), exact);
                }
                if left4 != all {
                    let lanes = (all & !left4, all & !right4);
                    (l, r) = ends(w8.as_ptr(), 8, rs, re, p, lanes, (l, r), exact);
                }
                _mm512_mask_storeu_ps(o.as_mut_ptr(), all, l);
                _mm512_mask_storeu_ps(o.as_mut_ptr().add(w - p), all, r);
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
