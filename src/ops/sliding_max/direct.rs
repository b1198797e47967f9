//! The direct path for a whole NCHW plane at least `k` wide and `k` high: no padded copy. The
//! row pass reads the input plane as one long slice (windows that cross a row's end are wrong
//! there, and those `k − 1` positions per row are redone from a running maximum), and the
//! column pass writes the output plane in place (the interior rows as one long slice, the
//! `k / 2` rows at the top and at the bottom from running maxima). Every window keeps its
//! candidates in row-major order (rows first, each left to right; a clipped window only drops
//! −inf padding), so the bits are those of the padded path and of libtorch.

use super::lanes::{Exact, Lane, Numbers, Rule};
use super::passes::{grown, has_nan, window_max, Scratch};

/// `dst[i] = keep(m[i], v[i])`: `m` holds the earlier candidates, `v` the later.
#[inline(always)]
fn pair<T: Lane, R: Rule<T>>(dst: &mut [T], m: &[T], v: &[T]) {
    for ((d, &m), &v) in dst.iter_mut().zip(m).zip(v) {
        *d = R::keep(m, v);
    }
}

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
    if has_nan(src) {
        passes::<T, Exact>(dst, src, h, w, k, s);
    } else {
        passes::<T, Numbers>(dst, src, h, w, k, s);
    }
}

#[inline(always)]
fn passes<T: Lane, R: Rule<T>>(
    dst: &mut [T],
    src: &[T],
    h: usize,
    w: usize,
    k: usize,
    s: &mut Scratch<T>,
) {
    let (n, p) = (h * w, k / 2);
    let rows = grown(&mut s.rows, n);
    // Rows: position i gets the window i − p ..= i + p of the flat plane, right wherever it
    // does not cross a row's end.
    window_max::<T, R>(&mut rows[p..n - p], src, 1, k, &mut s.t1, &mut s.t2);
    if p > 0 {
        // The first and last p positions of each row, from running maxima. Each step goes over
        // every row before the next, so the steps of one row do not wait on each other.
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
        // Right: o[x] = keep over r[x − p .. w], grouped from the end (the rule is associative).
        each(rows, &|o, r| o[w - 1] = r[w - 1 - p]);
        for j in w - p..w {
            each(rows, &|o, r| o[w - 1] = R::keep(o[w - 1], r[j]));
        }
        for x in (w - p..w - 1).rev() {
            each(rows, &|o, r| o[x] = R::keep(r[x - p], o[x + 1]));
        }
    }
    // Columns: the interior rows straight into the output.
    window_max::<T, R>(
        &mut dst[p * w..(h - p) * w],
        rows,
        w,
        k,
        &mut s.t1,
        &mut s.t2,
    );
    if p == 0 {
        return;
    }
    // Top rows: out[y] = keep over rows 0 ..= y + p; row 0 as one window of p + 1 rows, each
    // next one from the row above (no read-modify-write of one row, which stalls).
    let (top, _) = dst.split_at_mut(p * w);
    window_max::<T, R>(&mut top[..w], rows, w, p + 1, &mut s.t1, &mut s.t2);
    for y in 1..p {
        let (done, next) = top.split_at_mut(y * w);
        pair::<T, R>(
            &mut next[..w],
            &done[(y - 1) * w..],
            &rows[(y + p) * w..(y + p + 1) * w],
        );
    }
    // Bottom rows: out[y] = keep over rows y − p .. h, grouped from the end.
    let (_, bottom) = dst.split_at_mut((h - p) * w);
    let last = (p - 1) * w;
    window_max::<T, R>(
        &mut bottom[last..],
        &rows[(h - 1 - p) * w..],
        w,
        p + 1,
        &mut s.t1,
        &mut s.t2,
    );
    for b in (0..p - 1).rev() {
        // Output row h − p + b from input row h − 2p + b and output row h − p + b + 1.
        let y = h - p + b;
        let (head, after) = bottom.split_at_mut((b + 1) * w);
        pair::<T, R>(
            &mut head[b * w..],
            &rows[(y - p) * w..(y - p + 1) * w],
            &after[..w],
        );
    }
}
