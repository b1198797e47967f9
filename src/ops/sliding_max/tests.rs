//! Bitwise checks of the kernel against libtorch's own k×k pool: every type and layout, sides
//! 1–64, k 1–15, maps full of ±0, NaN payloads of both signs, ±inf and repeated values.

use super::*;

/// An xorshift stream (tests need no crate for it).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The bit patterns that decide ties, per kind: ±0, ±1, 2.5, ±inf, −inf, NaNs with different
/// payloads and signs (when `nan`).
fn specials(kind: Kind, nan: bool) -> Vec<u32> {
    let mut v: Vec<u32> = match kind {
        Kind::Float => vec![0, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x4020_0000],
        Kind::Half => vec![0, 0x8000, 0x3c00, 0xbc00, 0x4100],
        _ => vec![0, 0x8000, 0x3f80, 0xbf80, 0x4020],
    };
    let (inf, neg_inf, nans): (u32, u32, [u32; 3]) = match kind {
        Kind::Float => (
            0x7f80_0000,
            0xff80_0000,
            [0x7fc0_0001, 0xffc0_0002, 0x7f80_0003],
        ),
        Kind::Half => (0x7c00, 0xfc00, [0x7e01, 0xfe02, 0x7c03]),
        _ => (0x7f80, 0xff80, [0x7fc1, 0xffc2, 0x7f83]),
    };
    v.extend([inf, neg_inf, neg_inf]);
    if nan {
        v.extend(nans);
    }
    v
}

/// A map of `kind` drawn from [`specials`] (or normal numbers when `normal`).
fn map(kind: Kind, [n, c, h, w]: [i64; 4], rng: &mut Rng, nan: bool, normal: bool) -> Tensor {
    if normal {
        return Tensor::randn([n, c, h, w], (kind, Device::Cpu));
    }
    let pool = specials(kind, nan);
    let bits: Vec<u32> = (0..n * c * h * w)
        .map(|_| pool[(rng.next() % pool.len() as u64) as usize])
        .collect();
    if kind == Kind::Float {
        let v: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        Tensor::from_slice(&v).view([n, c, h, w])
    } else {
        let v: Vec<i16> = bits.iter().map(|&b| b as u16 as i16).collect();
        Tensor::from_slice(&v).view([n, c, h, w]).view_dtype(kind)
    }
}

/// The bits of `t`, in NCHW order.
fn bits(t: &Tensor) -> Vec<i64> {
    let t = t.contiguous();
    let t = match t.kind() {
        Kind::Float => t.view_dtype(Kind::Int),
        _ => t.view_dtype(Kind::Int16),
    };
    Vec::<i64>::try_from(t.flatten(0, -1).to_kind(Kind::Int64)).unwrap()
}

fn channels_last(x: &Tensor) -> Tensor {
    let [n, c, h, w] = x.size()[..] else {
        unreachable!()
    };
    let mut y = Tensor::empty_strided(
        [n, c, h, w],
        [h * w * c, 1, w * c, c],
        (x.kind(), Device::Cpu),
    );
    y.copy_(x);
    y
}

/// Compares the kernel with libtorch on `x` for every odd k to 15; returns how many calls the
/// kernel answered itself.
fn check(x: &Tensor, budget: usize, threads: usize, what: &str) -> usize {
    let mut native = 0;
    for k in (1..=15).step_by(2) {
        let want = x.max_pool2d([k, k], [1, 1], [k / 2, k / 2], [1, 1], false);
        let Some(got) = pool(x, k, budget, threads).unwrap() else {
            assert!(x.kind() != Kind::Float, "f32 declined: {what} k{k}");
            assert!(
                bool::try_from(want.isnan().any()).unwrap(),
                "declined without NaN: {what}"
            );
            continue;
        };
        if x.size()[2] * x.size()[3] > 1 {
            assert_eq!(got.stride(), want.stride(), "layout {what} k{k}");
        }
        assert_eq!(bits(&got), bits(&want), "{what} k{k}");
        native += 1;
    }
    native
}

#[test]
fn bitwise_with_libtorch_on_every_kind_layout_tie_and_nan() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sides: Vec<(i64, i64)> =
        vec![(1, 1), (1, 7), (9, 1), (2, 3), (13, 13), (5, 64), (64, 64)];
    for _ in 0..10 {
        sides.push((1 + (rng.next() % 64) as i64, 1 + (rng.next() % 64) as i64));
    }
    let (mut native, mut calls) = (0, 0);
    for kind in [Kind::Float, Kind::Half, Kind::BFloat16] {
        for (i, &(h, w)) in sides.iter().enumerate() {
            for (nan, normal) in [(true, false), (false, false), (false, true)] {
                let x = map(kind, [2, 3, h, w], &mut rng, nan, normal);
                for x in [x.shallow_clone(), channels_last(&x)] {
                    let what = format!(
                        "{kind:?} {h}x{w} case {i} nan {nan} strides {:?}",
                        x.stride()
                    );
                    native += check(&x, TILE, 2, &what);
                    calls += 8;
                }
            }
        }
    }
    // Every f32 call and every 16-bit call without a NaN in the output is answered natively.
    assert!(native * 10 > calls * 7, "{native} of {calls} native");
}

#[test]
fn tiles_bands_channel_chunks_and_threads_change_no_bits() {
    let mut rng = Rng(7);
    for kind in [Kind::Float, Kind::BFloat16] {
        for &(c, h, w) in &[(20i64, 17i64, 23i64), (9, 40, 40), (1, 33, 5)] {
            let x = map(kind, [2, c, h, w], &mut rng, kind == Kind::Float, false);
            for x in [x.shallow_clone(), channels_last(&x)] {
                for (budget, threads) in [(1, 1), (300, 3), (4096, 2), (1 << 20, 4)] {
                    let what = format!("{kind:?} c{c} {h}x{w} budget {budget} threads {threads}");
                    check(&x, budget, threads, &what);
                }
            }
        }
    }
}

#[test]
fn the_plan_covers_every_output_row_once() {
    for channels_last in [false, true] {
        for budget in [1, 100, TILE] {
            let [n, c, h, w] = [2, 20, 17, 9];
            let tiles = plan([n, c, h, w], channels_last, 5, budget);
            let mut seen = vec![0u8; n * c * h];
            for t in &tiles {
                for y in t.y0..t.y1 {
                    for l in 0..t.b {
                        // (image, channel, row) of lane l at row y.
                        let (img, ch) = if channels_last {
                            (t.base / (h * w * c), t.base % c + l)
                        } else {
                            (t.base / (h * w * c), t.base / (h * w) % c)
                        };
                        seen[(img * c + ch) * h + y] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{channels_last} {budget}");
        }
    }
}

#[test]
fn declines_what_it_does_not_cover() {
    let x = Tensor::randn([1, 2, 5, 5], (Kind::Float, Device::Cpu));
    assert!(same_max_pool(&x.to_kind(Kind::Double), 3)
        .unwrap()
        .is_none());
    assert!(same_max_pool(&x, 4).unwrap().is_none());
    assert!(same_max_pool(&x.transpose(2, 3), 3).unwrap().is_none());
    assert!(same_max_pool(&x.copy().set_requires_grad(true), 3)
        .unwrap()
        .is_none());
    assert!(same_max_pool(&x, 3).unwrap().is_some());
}

#[test]
fn a_lone_nan_anywhere_in_a_row_is_seen() {
    // NaN-free maps take `max` instructions; one NaN anywhere must switch the tile to
    // libtorch's rule, wherever the row copy's 16-lane moves put it (first, middle, the
    // overlapping last move, a row shorter than 16), and wherever the direct path's scan on
    // its first pass meets it (the first candidates, or the few elements after them: the last
    // row's end, with maps tall enough for every k).
    for kind in [Kind::Float, Kind::Half] {
        for (h, w) in [1i64, 7, 15, 16, 17, 31, 32, 33, 40, 64]
            .into_iter()
            .flat_map(|w| [(3, w), (16, w)])
        {
            for (y, at) in [(2, 0), (h - 1, w / 2), (h - 1, w - 1), (0, w - 1)] {
                let x = Tensor::randn([1, 2, h, w], (kind, Device::Cpu));
                let _ = x.get(0).get(1).get(y).get(at).fill_(f64::NAN);
                check(&x, TILE, 1, &format!("{kind:?} {h}x{w} NaN at {y},{at}"));
            }
        }
    }
}
