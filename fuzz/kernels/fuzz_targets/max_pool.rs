//! `ops::sliding_max::same_max_pool` and `ops::bin_max::pyramid_max` against libtorch's own
//! pools on arbitrary maps: the bytes choose the type, layout, sizes, k, levels and every value
//! (so NaN payloads, ±0, ±inf and subnormals all occur); a covered call must give libtorch's
//! bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sppnet::ops::pyramid::{level_bins, plan_levels, LevelPlan};
use sppnet::ops::{bin_max, sliding_max, Rule};
use tch::{Kind, Tensor};

fn bits(t: &Tensor) -> Vec<i64> {
    let t = t.contiguous();
    let t = if t.kind() == Kind::Float {
        t.view_dtype(Kind::Int)
    } else {
        t.view_dtype(Kind::Int16)
    };
    Vec::<i64>::try_from(t.flatten(0, -1).to_kind(Kind::Int64)).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, d, e, rest @ ..] = data else { return };
    tch::set_num_threads(1 + i32::from(a >> 6));
    let kind = [Kind::Float, Kind::Half, Kind::BFloat16][usize::from(a % 3)];
    let (n, ch) = (1 + i64::from(b & 1), 1 + i64::from(b >> 1 & 15));
    let (h, w) = (1 + i64::from(c & 63), 1 + i64::from(d & 63));
    let k = 1 + 2 * i64::from(e & 7);
    let count = (n * ch * h * w) as usize;
    let width = if kind == Kind::Float { 4 } else { 2 };
    if rest.len() < width {
        return;
    }
    // The value bytes, repeated to fill the map: short inputs still make large maps, and
    // repeats make ties.
    let raw: Vec<u8> = rest.iter().copied().cycle().take(count * width).collect();
    let x = if kind == Kind::Float {
        let v: Vec<i32> = raw
            .chunks_exact(4)
            .map(|q| i32::from_le_bytes([q[0], q[1], q[2], q[3]]))
            .collect();
        Tensor::from_slice(&v).view_dtype(Kind::Float)
    } else {
        let v: Vec<i16> = raw
            .chunks_exact(2)
            .map(|q| i16::from_le_bytes([q[0], q[1]]))
            .collect();
        Tensor::from_slice(&v).view_dtype(kind)
    };
    let x = x.view([n, ch, h, w]);
    let x = if c & 64 != 0 {
        x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    } else {
        x
    };
    let want = x.max_pool2d([k, k], [1, 1], [k / 2, k / 2], [1, 1], false);
    if let Some(got) = sliding_max::same_max_pool(&x, k).expect("no error") {
        assert_eq!(bits(&got), bits(&want), "{kind:?} {n}x{ch}x{h}x{w} k{k}");
    }
    if kind == Kind::Float && c & 64 == 0 {
        let rule = Rule::ALL[usize::from(e >> 3) % 3];
        let levels = [[4i64, 2, 1], [3, 2, 1], [6, 3, 1]][usize::from(e >> 5) % 3];
        let Ok(plans) = plan_levels(rule, &levels, h, w) else { return };
        let bins: Vec<_> = plans.iter().zip(&levels).map(|(p, &l)| level_bins(p, l, h, w)).collect();
        if let Some(got) = bin_max::pyramid_max(&x, &bins).expect("no error") {
            // libtorch's own pools, level by level.
            let parts: Vec<Tensor> = plans
                .iter()
                .zip(&levels)
                .map(|(p, &l)| match *p {
                    LevelPlan::Window { h, w } => x.max_pool2d(
                        [h.kernel, w.kernel],
                        [h.stride, w.stride],
                        [h.padding, w.padding],
                        [1, 1],
                        false,
                    ),
                    LevelPlan::Adaptive => x.adaptive_max_pool2d([l, l]).0,
                }
                .reshape([n, -1]))
                .collect();
            let want = Tensor::cat(&parts, 1);
            assert_eq!(bits(&got), bits(&want), "pyramid {rule} {levels:?} {h}x{w}");
        }
    }
});
