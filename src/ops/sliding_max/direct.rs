//! The direct path for a whole NCHW plane at least `k` wide and `k` high: no padded copy. The
//! row pass reads the input plane as one long slice (windows that cross a row's end are wrong
//! there, and those `k − 1` positions per row are redone, `ends.rs`). The row maxima sit in a
//! buffer framed by `k / 2` rows of −inf above and below, so the column pass writes the whole
//! output plane as one long slice. Every window keeps its candidates in row-major order (rows
//! first, each left to right; a clipped window only drops −inf padding), so the bits are those
//! of the padded path and of libtorch.

use super::ends;
use super::lanes::{Exact, Lane, Numbers, Rule};
use super::passes::{grown, ladder, window_max, Scratch};

/// Whether [`plane`] takes a plane of `h × w` for window `k`.
pub(super) fn fits(h: usize, w: usize, k: usize) -> bool {
    h >= k && w >= k
}

/// Pools the `h × w` plane `src` into `dst` (both dense, row-major), window `k`; see the
/// module doc. The rule is libtorch's full one when the plane holds a NaN, else `max`.
/// Inlined into the callers compiled for AVX-512 and AVX2, as every pass here.
#[inline(always)]
pub(super) fn plane<T: Lane>(
    dst: &mut [T],
    src: &[T],
    h: usize,
    w: usize,
    k: usize,
    s: &mut Scratch<T>,
) {
    debug_assert!(fits(h, w, k) && dst.len() == h * w && src.len() == h * w);
    // The NaN-free rule first, checking for a NaN on the row pass's loads (a pass of its own
    // over the plane cost 5–7 % of the 13×13 pool); a plane with a NaN is redone in full.
    if passes::<T, Numbers>(dst, src, h, w, k, s, true) {
        passes::<T, Exact>(dst, src, h, w, k, s, false);
    }
}

/// Runs the row and column passes with rule `R`; with `scan`, returns whether the plane holds a
/// NaN, and then stops after the row pass (the caller redoes the plane with the full rule).
#[inline(always)]
fn passes<T: Lane, R: Rule<T>>(
    dst: &mut [T],
    src: &[T],
    h: usize,
    w: usize,
    k: usize,
    s: &mut Scratch<T>,
    scan: bool,
) -> bool {
    let (n, p) = (h * w, k / 2);
    // The row maxima, framed by p rows of −inf above and below, so that one column pass over
    // the whole output clips its windows at the top and bottom (the padding changes no bits).
    let framed = grown(&mut s.rows, n + 2 * p * w);
    framed[..p * w].fill(T::NEG_INF);
    framed[p * w + n..].fill(T::NEG_INF);
    let rows = &mut framed[p * w..p * w + n];
    // Rows: position i gets the window i − p ..= i + p of the flat plane, right wherever it
    // does not cross a row's end; the first and last p positions of each row are then redone.
    if window_max::<T, R>(&mut rows[p..n - p], src, 1, k, &mut s.t1, &mut s.t2, scan) {
        return true;
    }
    if p > 0 {
        let windows = ladder(&mut s.t1, &mut s.t2, n - 2 * p, k, 1);
        ends::redo::<T, R>(rows, src, w, p, windows);
    }
    // Columns: every output row as one long slice.
    window_max::<T, R>(dst, framed, w, k, &mut s.t1, &mut s.t2, false);
    false
}
