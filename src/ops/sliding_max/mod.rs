//! A native CPU kernel for the SPP blocks' pool, `max_pool2d(x, k, stride 1, padding k / 2)`,
//! with libtorch's bits: f32, f16 and bf16, NCHW-contiguous or channels-last.
//!
//! Separable: a pass along each row (window `k`), then along each column of the row maxima.
//! libtorch's keep rule is associative (`lanes.rs`), so this gives the bits of its k×k
//! row-major scan: the first maximum in row-major order wins a ±0 tie, the last NaN wins a NaN
//! (payload and sign included), and the −inf padding never replaces anything. Windows longer
//! than 5 are built from doubled power-of-two windows, so the cost grows with `log k`, not `k`.
//! The work is cut into tiles (planes, or chunks of channels for channels-last, in bands of
//! rows) of about 128 KiB, shared among libtorch's intra-op thread count (`kernel.rs`).
//! A whole NCHW plane at least `k` wide and high goes from the input to the output without a
//! padded copy (`direct.rs`).
//!
//! For f16 and bf16 libtorch compares in `float` and converts the maximum back, which keeps
//! every number but rewrites NaNs — quieted for f16, and for bf16 made `0x7fc0` or `0xffff`
//! depending on whether its vectorised or scalar loop wrote the element. An output holding a
//! NaN is therefore recomputed by libtorch for those two types.
//!
//! Verified bitwise against libtorch's own k×k pool in `tests.rs` (both layouts, the three
//! types, sides 1–64, k 1–15, ±0 ties, NaN payloads of both signs, ±inf, all −inf windows).

mod direct;
mod ends;
mod kernel;
mod lanes;
mod passes;
#[cfg(test)]
mod tests;

use tch::{Device, Kind, Tensor};

use crate::error::Result;
use kernel::{Io, Tile};
use lanes::{Bf16, Lane, F16};
use passes::Scratch;

/// Elements per tile buffer: five such buffers per thread stay in a core's L2.
const TILE: usize = 1 << 15;

/// Below this many elements one thread does it all (starting threads costs more).
const PARALLEL_FROM: usize = 1 << 15;

/// The memory layout of `x`, when the kernel covers it: `Some(true)` channels-last,
/// `Some(false)` NCHW-contiguous.
fn layout(x: &Tensor) -> Option<bool> {
    let (size, stride) = (x.size(), x.stride());
    let [_, c, h, w] = size[..] else { return None };
    if x.is_contiguous() {
        return Some(false);
    }
    (stride[1] == 1 && stride[3] == c && stride[2] == w * c && stride[0] == h * w * c)
        .then_some(true)
}

/// The tiles of an `[n, c, h, w]` input in the given layout, for window `k`.
/// `budget` is the elements per tile buffer ([`TILE`]; tests make it small to cut many tiles).
fn plan([n, c, h, w]: [usize; 4], channels_last: bool, k: usize, budget: usize) -> Vec<Tile> {
    let p = k / 2;
    let padded = (w + 2 * p) * (h + 2 * p);
    // Channels-last: as many channels (a multiple of 8) as keep a whole padded plane in a
    // tile, at least 8; NCHW: one channel.
    let b = if !channels_last {
        1
    } else {
        (budget / padded / 8 * 8).max(8).min(c)
    };
    let stride = (w + 2 * p) * b;
    let band = (budget / stride).saturating_sub(2 * p).clamp(1, h);
    let planes: Vec<(usize, usize, usize, usize)> = if channels_last {
        (0..n)
            .flat_map(|i| {
                (0..c)
                    .step_by(b)
                    .map(move |c0| (i * h * w * c + c0, b.min(c - c0), w * c, c))
            })
            .collect()
    } else {
        (0..n * c).map(|i| (i * h * w, 1, w, 1)).collect()
    };
    let mut tiles = Vec::new();
    for (base, b, row, pos) in planes {
        for y0 in (0..h).step_by(band) {
            tiles.push(Tile {
                base,
                h,
                w,
                b,
                row,
                pos,
                y0,
                y1: (y0 + band).min(h),
            });
        }
    }
    tiles
}

/// Pools `x` into `y` (same sizes and layout) tile by tile on `threads` threads.
fn run<T: Lane>(x: &Tensor, y: &mut Tensor, tiles: &[Tile], k: usize, threads: usize) {
    debug_assert!(x.kind() == T::KIND && y.kind() == T::KIND);
    let io = Io {
        src: x.data_ptr() as *const T,
        dst: y.data_ptr() as *mut T,
    };
    let per = tiles.len().div_ceil(threads.max(1));
    // SAFETY: `x` and `y` are dense tensors of `T` with the layout the tiles were planned for,
    // alive for the whole call; the tiles cover disjoint output elements, and each chunk of
    // tiles goes to one thread.
    if threads <= 1 {
        unsafe { kernel::tiles(io, tiles, k, &mut Scratch::new()) };
        return;
    }
    // On libtorch's own OpenMP threads where they exist, else on threads of our own.
    let chunks: Vec<&[Tile]> = tiles.chunks(per).collect();
    let work = |i: usize| unsafe { kernel::tiles(io, chunks[i], k, &mut Scratch::new()) };
    if crate::ops::omp::parallel(threads, chunks.len(), &work) {
        return;
    }
    std::thread::scope(|s| {
        for chunk in chunks {
            s.spawn(move || unsafe { kernel::tiles(io, chunk, k, &mut Scratch::new()) });
        }
    });
}

/// `max_pool2d(x, [k, k], [1, 1], [k / 2, k / 2])` natively, when covered (CPU; f32, f16 or
/// bf16; 4-D, NCHW-contiguous or channels-last; odd `k`; no gradient required); `None`
/// otherwise (then libtorch runs it, and its backward). The output has the input's layout, as
/// libtorch's.
pub fn same_max_pool(x: &Tensor, k: i64) -> Result<Option<Tensor>> {
    let threads = if x.numel() < PARALLEL_FROM {
        1
    } else {
        tch::get_num_threads().max(1) as usize
    };
    pool(x, k, TILE, threads)
}

/// Whether the kernel runs `max_pool2d(x, k, 1, k / 2)` itself (CPU; f32, f16 or bf16; 4-D,
/// non-empty, NCHW-contiguous or channels-last; odd `k`; no gradient required). For f16 and
/// bf16 it still hands back to libtorch an output that holds a NaN.
pub fn covers(x: &Tensor, k: i64) -> bool {
    // A tensor that requires grad takes libtorch's op, whose backward autograd records (the
    // native output has no graph); activations computed under `no_grad` never require it.
    !x.requires_grad()
        && x.device() == Device::Cpu
        && matches!(x.kind(), Kind::Float | Kind::Half | Kind::BFloat16)
        && k >= 1
        && k % 2 == 1
        && x.numel() > 0
        && layout(x).is_some()
}

/// [`same_max_pool`] with a given tile budget and thread count.
fn pool(x: &Tensor, k: i64, budget: usize, threads: usize) -> Result<Option<Tensor>> {
    if !covers(x, k) {
        return Ok(None);
    }
    let kind = x.kind();
    let Some(channels_last) = layout(x) else {
        return Ok(None);
    };
    let [n, c, h, w] = x.size()[..] else {
        return Ok(None);
    };
    let mut y = x.f_empty_like()?;
    if y.stride() != x.stride() {
        return Ok(None);
    }
    let [n, c, h, w] = [n, c, h, w].map(|v| v as usize);
    let k = k as usize;
    let tiles = plan([n, c, h, w], channels_last, k, budget);
    let threads = threads.min(tiles.len());
    match kind {
        Kind::Float => run::<f32>(x, &mut y, &tiles, k, threads),
        Kind::Half => run::<F16>(x, &mut y, &tiles, k, threads),
        _ => run::<Bf16>(x, &mut y, &tiles, k, threads),
    }
    if kind != Kind::Float && y.f_isnan()?.f_any()?.f_int64_value(&[])? != 0 {
        return Ok(None);
    }
    Ok(Some(y))
}
