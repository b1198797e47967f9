//! The kernel proper: one tile (a band of output rows of one plane, or of one chunk of
//! channels for channels-last) is copied into a buffer padded with −inf, pooled along the rows,
//! then along the columns, and copied out. Every pass is a loop over one long slice with the
//! window offset outside it, which the compiler vectorises; the loops are compiled for AVX-512
//! and AVX2 as well and picked at run time.

use super::direct;
use super::lanes::{Exact, Lane, Numbers};
use super::passes::{copy_row, grown, window_max, Scratch};

/// Where one tile lives in the input and output buffers (the same layout for both): output rows
/// `y0..y1` of a plane of `h` rows × `w` positions × `b` lanes, element `(y, x, l)` at
/// `base + y·row + x·pos + l`. NCHW: a plane, `b = pos = 1`. Channels-last: `b` channels of
/// one image, `pos = C`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tile {
    pub base: usize,
    pub h: usize,
    pub w: usize,
    pub b: usize,
    pub row: usize,
    pub pos: usize,
    pub y0: usize,
    pub y1: usize,
}

/// The input and output buffers of a whole call.
#[derive(Clone, Copy)]
pub(super) struct Io<T> {
    pub src: *const T,
    pub dst: *mut T,
}

// SAFETY: `Io` is only handed to the threads of one call, which read `src` and write disjoint
// tiles of `dst` (see `run`).
unsafe impl<T: Send> Send for Io<T> {}
unsafe impl<T: Sync> Sync for Io<T> {}

/// Pools one tile: its input rows are copied into a buffer padded with −inf (`p = k / 2`
/// positions left and right, `p` rows above and below where the plane ends), pooled there
/// along the rows and then the columns, and copied out.
///
/// # Safety
/// `io.src` must be readable and `io.dst` writable at every element of the tile's plane, and
/// no other thread may touch the tile's output elements meanwhile.
#[inline(always)]
unsafe fn tile<T: Lane>(io: Io<T>, t: &Tile, k: usize, s: &mut Scratch<T>) {
    if t.b == 1 && t.pos == 1 && (t.y0, t.y1) == (0, t.h) && direct::fits(t.h, t.w, k) {
        let n = t.h * t.w;
        let dst = std::slice::from_raw_parts_mut(io.dst.add(t.base), n);
        direct::plane(
            dst,
            std::slice::from_raw_parts(io.src.add(t.base), n),
            t.h,
            t.w,
            k,
            s,
        );
        return;
    }
    let p = k / 2;
    let (b, w) = (t.b, t.w);
    let stride = (w + 2 * p) * b;
    let (r_out, r_in) = (t.y1 - t.y0, t.y1 - t.y0 + 2 * p);
    // The pads stay −inf from one tile to the next of the same shape; only rows that held
    // input and now lie outside the plane are filled again.
    if s.shape != (stride, p * b, r_in) {
        s.shape = (stride, p * b, r_in);
        s.a.clear();
        s.blank.clear();
        s.blank.resize(r_in, true);
    }
    let a = grown(&mut s.a, r_in * stride);
    let mut nan = false;
    for (r, row) in a.chunks_exact_mut(stride).enumerate() {
        // Input row `y0 − p + r`, or padding above and below the plane.
        let Some(y) = (t.y0 + r).checked_sub(p).filter(|&y| y < t.h) else {
            if !s.blank[r] {
                row.fill(T::NEG_INF);
                s.blank[r] = true;
            }
            continue;
        };
        s.blank[r] = false;
        let body = &mut row[p * b..(p + w) * b];
        let from = io.src.add(t.base + y * t.row);
        if t.pos == b {
            nan |= copy_row(body, std::slice::from_raw_parts(from, w * b), true);
        } else {
            for (x, d) in body.chunks_exact_mut(b).enumerate() {
                copy_row(d, std::slice::from_raw_parts(from.add(x * t.pos), b), false);
            }
            nan |= body.iter().fold(false, |nan, v| nan | v.is_nan());
        }
    }
    let rows = grown(&mut s.rows, r_in * stride - 2 * p * b);
    let out = grown(&mut s.out, r_out * stride - 2 * p * b);
    // `max` instructions when the tile holds no NaN; libtorch's full rule otherwise.
    if nan {
        window_max::<T, Exact>(rows, a, b, k, &mut s.t1, &mut s.t2, false);
        window_max::<T, Exact>(out, rows, stride, k, &mut s.t1, &mut s.t2, false);
    } else {
        window_max::<T, Numbers>(rows, a, b, k, &mut s.t1, &mut s.t2, false);
        window_max::<T, Numbers>(out, rows, stride, k, &mut s.t1, &mut s.t2, false);
    }
    for r in 0..r_out {
        let to = io.dst.add(t.base + (t.y0 + r) * t.row);
        let body = &out[r * stride..r * stride + w * b];
        if t.pos == b {
            copy_row(std::slice::from_raw_parts_mut(to, w * b), body, false);
        } else {
            for (x, v) in body.chunks_exact(b).enumerate() {
                copy_row(
                    std::slice::from_raw_parts_mut(to.add(x * t.pos), b),
                    v,
                    false,
                );
            }
        }
    }
}

/// Pools `tiles` one after the other.
///
/// # Safety
/// As [`tile`], for each tile.
#[inline(always)]
unsafe fn tiles_portable<T: Lane>(io: Io<T>, tiles: &[Tile], k: usize, s: &mut Scratch<T>) {
    for t in tiles {
        tile(io, t, k, s);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn tiles_avx512<T: Lane>(io: Io<T>, tiles: &[Tile], k: usize, s: &mut Scratch<T>) {
    tiles_portable(io, tiles, k, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tiles_avx2<T: Lane>(io: Io<T>, tiles: &[Tile], k: usize, s: &mut Scratch<T>) {
    tiles_portable(io, tiles, k, s)
}

/// Pools `tiles` with the widest vectors this CPU has.
///
/// # Safety
/// As [`tile`], for each tile.
pub(super) unsafe fn tiles<T: Lane>(io: Io<T>, tiles: &[Tile], k: usize, s: &mut Scratch<T>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            return tiles_avx512(io, tiles, k, s);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return tiles_avx2(io, tiles, k, s);
        }
    }
    tiles_portable(io, tiles, k, s)
}
