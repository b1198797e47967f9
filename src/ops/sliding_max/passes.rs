//! The buffers and passes both tile paths share: a thread's scratch buffers, row copies, the
//! NaN scan and the sliding-window pass `window_max`, written as loops over long slices with
//! the window offset outside them, which the compiler vectorises.

use super::lanes::{Lane, Rule};

/// A thread's buffers, grown to the largest tile it meets.
pub(super) struct Scratch<T> {
    pub a: Vec<T>,
    pub rows: Vec<T>,
    pub out: Vec<T>,
    pub t1: Vec<T>,
    pub t2: Vec<T>,
    /// The (row length, left pad, rows) `a` is laid out for.
    pub shape: (usize, usize, usize),
    /// Which rows of `a` are all −inf.
    pub blank: Vec<bool>,
}

impl<T: Lane> Scratch<T> {
    pub fn new() -> Self {
        Self {
            a: Vec::new(),
            rows: Vec::new(),
            out: Vec::new(),
            t1: Vec::new(),
            t2: Vec::new(),
            shape: (0, 0, 0),
            blank: Vec::new(),
        }
    }
}

/// `len` elements of `v` starting at a 64-byte boundary (a cache line: a whole vector load
/// there does not straddle two lines), `v` grown as needed (new elements −inf). The start
/// stays where it is as long as `v` is not grown, so what a caller keeps there (the padded
/// path's −inf pads) stays in place from one call to the next. Aligned buffers made the 13×13
/// pool about 10 % faster than `malloc`'s 16-byte alignment.
#[inline(always)]
pub(super) fn grown<T: Lane>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    let extra = 64 / std::mem::size_of::<T>();
    if v.len() < len + extra {
        v.resize(len + extra, T::NEG_INF);
    }
    let at = v.as_ptr().align_offset(64).min(extra);
    &mut v[at..at + len]
}

/// `dst = src` (equal lengths) without a call to `memcpy` (short rows and channel chunks are
/// most of what is copied; a `memcpy` call per row cost a third of the kernel's time): 16-element
/// moves, the last one overlapping the one before instead of a scalar tail, or element by
/// element below 16; with `scan`, whether `src` holds a NaN, from the same loads.
#[inline(always)]
pub(super) fn copy_row<T: Lane>(dst: &mut [T], src: &[T], scan: bool) -> bool {
    let n = dst.len().min(src.len());
    if n < 16 {
        for (d, s) in dst[..n].iter_mut().zip(&src[..n]) {
            *d = *s;
        }
        return scan && src[..n].iter().any(|v| v.is_nan());
    }
    let mut nan = false;
    let mut at = 0;
    loop {
        let (d, s) = (&mut dst[at..at + 16], &src[at..at + 16]);
        if let (Ok(d), Ok(s)) = (<&mut [T; 16]>::try_from(d), <&[T; 16]>::try_from(s)) {
            *d = *s;
            if scan {
                nan |= s.iter().fold(false, |a, v| a | v.is_nan());
            }
        }
        if at == n - 16 {
            return nan;
        }
        at = (at + 16).min(n - 16);
    }
}

/// `dst[i] = keep` over `src[i + j·step]`, `j` in `0..K`, in increasing `j`; with `SCAN`,
/// whether a first candidate `src[i]` is NaN, from the same loads.
#[inline(always)]
fn fused<T: Lane, R: Rule<T>, const K: usize, const SCAN: bool>(
    dst: &mut [T],
    src: &[T],
    step: usize,
) -> bool {
    let n = dst.len();
    let s: [&[T]; K] = std::array::from_fn(|j| &src[j * step..j * step + n]);
    let mut nan = false;
    for (i, d) in dst.iter_mut().enumerate() {
        let mut m = s[0][i];
        if SCAN {
            nan |= m.is_nan();
        }
        for sj in &s[1..] {
            m = R::keep(m, sj[i]);
        }
        *d = m;
    }
    nan
}

/// The first pass of [`window_max`]: `K` candidates from `src`, and with `scan`, whether all of
/// `src` holds a NaN (the first candidates, then the few elements after them).
#[inline(always)]
fn first<T: Lane, R: Rule<T>, const K: usize>(
    dst: &mut [T],
    src: &[T],
    step: usize,
    scan: bool,
) -> bool {
    if scan {
        fused::<T, R, K, true>(dst, src, step) | has_nan(&src[dst.len()..])
    } else {
        fused::<T, R, K, false>(dst, src, step)
    }
}

/// `dst[i] = keep` over `src[i + j·step]`, `j` in `0..k`. Up to 5 candidates in one pass;
/// longer windows from power-of-two windows by doubling, then two overlapping ones (the rule is
/// associative and idempotent, so the overlap changes no bits): `⌈log2 k⌉` passes, not `k − 1`.
/// With `scan`, whether `src` holds a NaN (else `false`), checked on the first pass's loads: a
/// caller can run the NaN-free rule first and redo the rare input with a NaN.
#[inline(always)]
pub(super) fn window_max<T: Lane, R: Rule<T>>(
    dst: &mut [T],
    src: &[T],
    step: usize,
    k: usize,
    t1: &mut Vec<T>,
    t2: &mut Vec<T>,
    scan: bool,
) -> bool {
    let n = dst.len();
    match k {
        1 => {
            dst.copy_from_slice(&src[..n]);
            scan && has_nan(src)
        }
        2 => first::<T, R, 2>(dst, src, step, scan),
        3 => first::<T, R, 3>(dst, src, step, scan),
        4 => first::<T, R, 4>(dst, src, step, scan),
        5 => first::<T, R, 5>(dst, src, step, scan),
        _ => {
            // `cur` holds windows of `l` candidates, for as many starts as the rest needs.
            let most = n + (k - 4) * step;
            let (mut cur, mut next) = (grown(t1, most), grown(t2, most));
            let mut l = 4;
            let nan = first::<T, R, 4>(cur, src, step, scan);
            while 2 * l <= k {
                let len = n + (k - 2 * l) * step;
                fused::<T, R, 2, false>(&mut next[..len], &cur[..len + l * step], l * step);
                std::mem::swap(&mut cur, &mut next);
                l *= 2;
            }
            fused::<T, R, 2, false>(dst, &cur[..n + (k - l) * step], (k - l) * step);
            nan
        }
    }
}

/// After [`window_max`] of `n` outputs for `k > 5`, the power-of-two windows it left in its
/// buffers: `(windows of 4, windows of 8)`, element `j` the window of `src[j + i·step]`,
/// where they survive (the windows of 16 overwrite those of 4, the windows of 32 those of 8).
pub(super) fn ladder<'a, T: Lane>(
    t1: &'a mut Vec<T>,
    t2: &'a mut Vec<T>,
    n: usize,
    k: usize,
    step: usize,
) -> (Option<&'a [T]>, Option<&'a [T]>) {
    if k <= 5 {
        return (None, None);
    }
    // The same lengths as in `window_max`, so `grown` hands back the same aligned slices.
    let most = n + (k - 4) * step;
    let (w4, w8) = (grown(t1, most), grown(t2, most));
    let w4 = (k < 16).then_some(&w4[..]);
    let w8 = (8..32).contains(&k).then(|| &w8[..n + (k - 8) * step]);
    (w4, w8)
}

/// Whether `src` holds a NaN: one `or` reduction over the whole slice, which the compiler
/// vectorises with a single final reduction (flags per lane of a chunk it vectorised across
/// chunks, with gathers).
#[inline(always)]
pub(super) fn has_nan<T: Lane>(src: &[T]) -> bool {
    src.iter().fold(false, |a, v| a | v.is_nan())
}
