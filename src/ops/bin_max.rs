//! A native CPU kernel for a spatial pyramid: every level's bins of a plane pooled from that
//! plane while it is in cache, written straight into the pyramid's output row.
//!
//! A bin's maximum has libtorch's bits whatever order its candidates are compared in, provided
//! no two of them are equal numbers with different bits. In IEEE floats those are ±0 and NaNs
//! only, so the kernel reduces each bin's rows first (with vector `max` over whole rows, then
//! the columns of each bin) and declines (libtorch's pools then run) when the map holds a NaN
//! or a −0, which it checks on the same pass. Checked bitwise against libtorch's `max_pool2d`
//! and `adaptive_max_pool2d` in `tests` below.

use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// One level's bins: half-open index ranges along the height and along the width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelBins {
    /// Row ranges, top to bottom.
    pub rows: Vec<(usize, usize)>,
    /// Column ranges, left to right.
    pub cols: Vec<(usize, usize)>,
}

/// Below this many elements one thread does it all.
const PARALLEL_FROM: usize = 1 << 15;

/// The output pointer, shared by the threads of one call, which write disjoint elements.
#[derive(Clone, Copy)]
struct Out(*mut f32);

// SAFETY: see `Out`; each plane's outputs are written by exactly one thread.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// Vector-friendly `max` for numbers that are not NaN.
#[inline(always)]
fn max(m: f32, v: f32) -> f32 {
    if v > m {
        v
    } else {
        m
    }
}

/// Pools plane `p` (`h × w`, row-major) into its slots of the output; `false` if the plane
/// holds a NaN or a −0 (then what was written does not count).
///
/// # Safety
/// `out` must be writable at `base + c·n² + …` for every level's slots of this plane, and no
/// other thread may write them.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn plane(
    p: &[f32],
    w: usize,
    levels: &[LevelBins],
    out: Out,
    base: usize,
    (c, ch): (usize, usize),
    acc: &mut [f32],
) -> bool {
    let bad = p.iter().fold(false, |bad, v| {
        bad | v.is_nan() | (v.to_bits() == 0x8000_0000)
    });
    if bad {
        return false;
    }
    // Level l of channel ch starts at base + Σ_{l' < l} c·bins(l') + ch·bins(l).
    let mut level_base = base;
    for lv in levels {
        let bins = lv.rows.len() * lv.cols.len();
        let mut at = level_base + ch * bins;
        level_base += c * bins;
        for &(y0, y1) in &lv.rows {
            acc.copy_from_slice(&p[y0 * w..(y0 + 1) * w]);
            for row in p[(y0 + 1) * w..y1 * w].chunks_exact(w) {
                for (m, &v) in acc.iter_mut().zip(row) {
                    *m = max(*m, v);
                }
            }
            for &(x0, x1) in &lv.cols {
                let m = acc[x0 + 1..x1].iter().fold(acc[x0], |m, &v| max(m, v));
                *out.0.add(at) = m;
                at += 1;
            }
        }
    }
    true
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
unsafe fn plane_avx512(
    p: &[f32],
    w: usize,
    levels: &[LevelBins],
    out: Out,
    base: usize,
    cc: (usize, usize),
    acc: &mut [f32],
) -> bool {
    plane(p, w, levels, out, base, cc, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn plane_avx2(
    p: &[f32],
    w: usize,
    levels: &[LevelBins],
    out: Out,
    base: usize,
    cc: (usize, usize),
    acc: &mut [f32],
) -> bool {
    plane(p, w, levels, out, base, cc, acc)
}

/// The levels of a pyramid over `x` (`[N, C, H, W]`, CPU f32, NCHW-contiguous) as one
/// `[N, C · Σ bins]` tensor, each level's `[C, rows, cols]` flattened channel-major and the
/// levels concatenated; `None` where the kernel does not cover the input (another device, type
/// or layout, a tensor that requires grad, an empty bin, a NaN or −0 in the map).
pub fn pyramid_max(x: &Tensor, levels: &[LevelBins]) -> Result<Option<Tensor>> {
    let size = x.size();
    let &[n, c, h, w] = size.as_slice() else {
        return Ok(None);
    };
    let [n, c, h, w] = [n, c, h, w].map(|v| v as usize);
    let fits = |r: &[(usize, usize)], len: usize| r.iter().all(|&(a, b)| a < b && b <= len);
    if x.requires_grad()
        || x.device() != Device::Cpu
        || x.kind() != Kind::Float
        || !x.is_contiguous()
        || x.numel() == 0
        || levels.is_empty()
        || !levels
            .iter()
            .all(|l| fits(&l.rows, h) && fits(&l.cols, w) && !l.cols.is_empty())
    {
        return Ok(None);
    }
    let total = c * levels
        .iter()
        .map(|l| l.rows.len() * l.cols.len())
        .sum::<usize>();
    let y = Tensor::f_empty([n as i64, total as i64], (Kind::Float, Device::Cpu))?;
    // SAFETY: `x` is a contiguous f32 tensor of `n·c·h·w` elements, alive for the call.
    let src = unsafe { std::slice::from_raw_parts(x.data_ptr() as *const f32, n * c * h * w) };
    let out = Out(y.data_ptr() as *mut f32);
    let run = |first: usize, planes: &[f32]| -> bool {
        let mut acc = vec![0f32; w];
        planes.chunks_exact(h * w).enumerate().all(|(i, p)| {
            let (s, ch) = ((first + i) / c, (first + i) % c);
            // SAFETY: plane (s, ch)'s outputs lie in row s of `y` and belong to it alone.
            unsafe {
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512bw") {
                    return plane_avx512(p, w, levels, out, s * total, (c, ch), &mut acc);
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    return plane_avx2(p, w, levels, out, s * total, (c, ch), &mut acc);
                }
                plane(p, w, levels, out, s * total, (c, ch), &mut acc)
            }
        })
    };
    let planes = n * c;
    let threads = if x.numel() < PARALLEL_FROM {
        1
    } else {
        (tch::get_num_threads().max(1) as usize).min(planes)
    };
    let per = planes.div_ceil(threads);
    if threads == 1 {
        return Ok(run(0, src).then_some(y));
    }
    let parts: Vec<&[f32]> = src.chunks(per * h * w).collect();
    let declined = std::sync::atomic::AtomicBool::new(false);
    let work = |t: usize| {
        if !run(t * per, parts[t]) {
            declined.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    if crate::ops::omp::parallel(threads, parts.len(), &work) {
        return Ok((!declined.into_inner()).then_some(y));
    }
    let ok = std::thread::scope(|s| {
        let handles: Vec<_> = src
            .chunks(per * h * w)
            .enumerate()
            .map(|(t, part)| {
                let run = &run;
                s.spawn(move || run(t * per, part))
            })
            .collect();
        handles.into_iter().all(|h| h.join().unwrap_or(false))
    });
    Ok(ok.then_some(y))
}

#[cfg(test)]
mod tests;
