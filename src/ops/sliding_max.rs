//! A native CPU kernel for the SPP blocks' pool, `max_pool2d(x, k, stride 1, padding k / 2)` on
//! f32, NCHW-contiguous or channels-last, with libtorch's bits.
//!
//! Separable: a pass along each row (window `k`), then along each column of the row maxima.
//! Each pass visits a window's candidates in increasing index order and keeps a candidate when
//! `v > m || v is NaN`, from `m = −inf` — libtorch's CPU rule (`MaxPoolKernel.cpp`). So the
//! first maximum in row-major order wins a ±0 tie (the topmost row holding the maximum, the
//! leftmost in it), and the last NaN in row-major order wins (the last row holding a NaN, its
//! last NaN), as in the k×k scan; the padding is −inf, which never replaces anything. Both
//! loops run over whole rows (window offset outside, position inside), which the compiler
//! vectorises; planes and rows are shared among libtorch's intra-op thread count.
//!
//! Verified bitwise against libtorch's own k×k pool in `tests` below (both layouts, sides 1–64,
//! k 1–15, ±0 ties, NaN payloads of both signs, ±inf, all −inf windows).

use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// Keep `v` over `m` as libtorch's max pool does.
#[inline(always)]
fn keep(m: f32, v: f32) -> f32 {
    if v > m || v.is_nan() {
        v
    } else {
        m
    }
}

/// One row pass: `dst[i] = max_j src[i + (j − p)·block]` over `j` in `0..k`, out-of-row
/// candidates skipped (−inf). `src` and `dst` hold `len` values; `block` values make one
/// position (1 for NCHW, C for channels-last).
fn row_pass(src: &[f32], dst: &mut [f32], block: usize, k: usize) {
    let (len, p) = (src.len(), k / 2);
    dst.fill(f32::NEG_INFINITY);
    for j in 0..k {
        // Candidate offset (j − p) positions: dst[i] takes src[i + (j − p)·block] where valid.
        let shift = (j as isize - p as isize) * block as isize;
        let (d0, s0) = if shift < 0 {
            ((-shift) as usize, 0)
        } else {
            (0, shift as usize)
        };
        if d0 >= len || s0 >= len {
            continue;
        }
        let n = len - d0.max(s0);
        for (m, &v) in dst[d0..d0 + n].iter_mut().zip(&src[s0..s0 + n]) {
            *m = keep(*m, v);
        }
    }
}

/// Pool one plane of `h` rows of `row_len` values into `dst` (same shape); `tmp` holds the row
/// maxima.
fn plane(src: &[f32], dst: &mut [f32], tmp: &mut [f32], row_len: usize, block: usize, k: usize) {
    let h = src.len() / row_len;
    for (s, t) in src.chunks_exact(row_len).zip(tmp.chunks_exact_mut(row_len)) {
        row_pass(s, t, block, k);
    }
    let p = k / 2;
    for (y, out) in dst.chunks_exact_mut(row_len).enumerate() {
        out.fill(f32::NEG_INFINITY);
        for yy in y.saturating_sub(p)..(y + p + 1).min(h) {
            for (m, &v) in out.iter_mut().zip(&tmp[yy * row_len..(yy + 1) * row_len]) {
                *m = keep(*m, v);
            }
        }
    }
}

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

/// `max_pool2d(x, [k, k], [1, 1], [k / 2, k / 2])` natively, when covered (CPU, f32, 4-D,
/// NCHW-contiguous or channels-last, odd `k`, no gradient required); `None` otherwise (then
/// libtorch runs it, and its backward). The output has the input's layout, as libtorch's.
pub fn same_max_pool(x: &Tensor, k: i64) -> Result<Option<Tensor>> {
    // A tensor that requires grad takes libtorch's op, whose backward autograd records (the
    // native output has no graph); activations computed under `no_grad` never require it.
    if x.requires_grad()
        || x.device() != Device::Cpu
        || x.kind() != Kind::Float
        || k < 1
        || k % 2 == 0
    {
        return Ok(None);
    }
    let Some(channels_last) = layout(x) else {
        return Ok(None);
    };
    let [n, c, h, w] = x.size()[..] else {
        return Ok(None);
    };
    if x.numel() == 0 {
        return Ok(None);
    }
    // The values in memory order: NCHW, or NHWC for channels-last.
    let mem = if channels_last {
        x.f_permute([0, 2, 3, 1])?
    } else {
        x.shallow_clone()
    };
    let mut src = vec![0f32; x.numel()];
    mem.f_copy_data(&mut src, x.numel())?;
    let (planes, rows, row_len, block) = if channels_last {
        (n as usize, h as usize, (w * c) as usize, c as usize)
    } else {
        ((n * c) as usize, h as usize, w as usize, 1)
    };
    let plane_len = rows * row_len;
    let mut dst = vec![0f32; src.len()];
    let threads = (tch::get_num_threads().max(1) as usize).min(planes).max(1);
    let per = planes.div_ceil(threads);
    std::thread::scope(|s| {
        for (src, dst) in src
            .chunks(per * plane_len)
            .zip(dst.chunks_mut(per * plane_len))
        {
            s.spawn(move || {
                let mut tmp = vec![0f32; plane_len];
                for (a, b) in src
                    .chunks_exact(plane_len)
                    .zip(dst.chunks_exact_mut(plane_len))
                {
                    plane(a, b, &mut tmp, row_len, block, k as usize);
                }
            });
        }
    });
    let y = Tensor::f_from_slice(&dst)?;
    Ok(Some(if channels_last {
        y.f_view([n, h, w, c])?.f_permute([0, 3, 1, 2])?
    } else {
        y.f_view([n, c, h, w])?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random maps full of the values that decide ties: ±0, NaNs with different payloads and
    /// signs, ±inf, and repeated numbers.
    fn special(n: i64, c: i64, h: i64, w: i64, seed: u64) -> Tensor {
        let mut s = seed | 1;
        let pool = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            2.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(0x7fc0_0001),
            f32::from_bits(0xffc0_0002),
            f32::from_bits(0x7fc0_0003),
        ];
        let v: Vec<f32> = (0..n * c * h * w)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                pool[(s % pool.len() as u64) as usize]
            })
            .collect();
        Tensor::from_slice(&v).view([n, c, h, w])
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        let t = t.contiguous().flatten(0, -1);
        Vec::<f32>::try_from(t)
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    fn channels_last(x: &Tensor) -> Tensor {
        let [n, c, h, w] = x.size()[..] else {
            unreachable!()
        };
        let mut y = Tensor::empty_strided(
            [n, c, h, w],
            [h * w * c, 1, w * c, c],
            (Kind::Float, Device::Cpu),
        );
        y.copy_(x);
        y
    }

    #[test]
    fn bitwise_with_libtorch_on_every_tie_and_nan() {
        let mut cases = 0;
        for (i, &(h, w)) in [
            (1, 1),
            (1, 7),
            (9, 1),
            (2, 3),
            (13, 13),
            (5, 64),
            (40, 33),
            (64, 64),
        ]
        .iter()
        .enumerate()
        {
            for k in (1..=15).step_by(2) {
                for (j, x) in [
                    special(2, 3, h, w, (i * 31 + k) as u64),
                    Tensor::randn([1, 4, h, w], (Kind::Float, Device::Cpu)),
                ]
                .iter()
                .enumerate()
                {
                    for x in [x.shallow_clone(), channels_last(x)] {
                        let want = x.max_pool2d(
                            [k as i64, k as i64],
                            [1, 1],
                            [k as i64 / 2, k as i64 / 2],
                            [1, 1],
                            false,
                        );
                        let got = same_max_pool(&x, k as i64).unwrap().unwrap();
                        if h * w > 1 {
                            assert_eq!(got.stride(), want.stride(), "layout {h}x{w} k{k}");
                        }
                        assert_eq!(bits(&got), bits(&want), "{h}x{w} k{k} input {j}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 8 * 8 * 2 * 2);
    }

    #[test]
    fn declines_what_it_does_not_cover() {
        let x = Tensor::randn([1, 2, 5, 5], (Kind::Float, Device::Cpu));
        assert!(same_max_pool(&x.to_kind(Kind::Double), 3)
            .unwrap()
            .is_none());
        assert!(same_max_pool(&x, 4).unwrap().is_none());
        assert!(same_max_pool(&x.transpose(2, 3), 3).unwrap().is_none());
        assert!(same_max_pool(&x.set_requires_grad(true), 3)
            .unwrap()
            .is_none());
    }
}
