//! The kernel against libtorch's own pools, on every rule and odd sizes.

use super::*;
use crate::ops::pyramid::{level_bins, plan_levels, LevelPlan};
use crate::ops::Rule;

/// What libtorch gives: each level pooled directly, flattened, concatenated.
fn libtorch(x: &Tensor, levels: &[i64], plans: &[LevelPlan]) -> Tensor {
    let n = x.size()[0];
    let parts: Vec<Tensor> = plans
        .iter()
        .zip(levels)
        .map(|(p, &l)| {
            let y = match *p {
                LevelPlan::Window { h, w } => x.max_pool2d(
                    [h.kernel, w.kernel],
                    [h.stride, w.stride],
                    [h.padding, w.padding],
                    [1, 1],
                    false,
                ),
                LevelPlan::Adaptive => x.adaptive_max_pool2d([l, l]).0,
            };
            y.reshape([n, -1])
        })
        .collect();
    Tensor::cat(&parts, 1)
}

fn bits(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(
        t.contiguous()
            .view_dtype(Kind::Int)
            .flatten(0, -1)
            .to_kind(Kind::Int64),
    )
    .unwrap()
}

#[test]
fn bitwise_with_libtorch_on_every_rule_and_size() {
    let mut checked = 0;
    for rule in Rule::ALL {
        for levels in [vec![4i64, 2, 1], vec![3, 1], vec![6, 3, 2, 1], vec![1]] {
            for (h, w) in [
                (1, 1),
                (13, 13),
                (16, 16),
                (7, 30),
                (64, 64),
                (33, 17),
                (100, 9),
            ] {
                let Ok(plans) = plan_levels(rule, &levels, h, w) else {
                    continue;
                };
                let bins: Vec<LevelBins> = plans
                    .iter()
                    .zip(&levels)
                    .map(|(p, &l)| level_bins(p, l, h, w))
                    .collect();
                // Many repeated values (ties between equal bits) and ±inf.
                let x = Tensor::randint(7, [3, 5, h, w], (Kind::Float, Device::Cpu)) - 3.0;
                let x = x.where_self(&x.ne(3.0), &Tensor::from(f32::INFINITY));
                let x = x.where_self(&x.ne(-3.0), &Tensor::from(f32::NEG_INFINITY));
                for x in [x, Tensor::randn([2, 3, h, w], (Kind::Float, Device::Cpu))] {
                    let got = pyramid_max(&x, &bins).unwrap().expect("covered");
                    let want = libtorch(&x, &levels, &plans);
                    assert_eq!(got.size(), want.size(), "{rule} {levels:?} {h}x{w}");
                    assert_eq!(bits(&got), bits(&want), "{rule} {levels:?} {h}x{w}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 80, "{checked}");
}

#[test]
fn declines_nan_negative_zero_and_what_it_does_not_cover() {
    let levels = [2i64, 1];
    let plans = plan_levels(Rule::Adaptive, &levels, 6, 6).unwrap();
    let bins: Vec<LevelBins> = plans
        .iter()
        .zip(&levels)
        .map(|(p, &l)| level_bins(p, l, 6, 6))
        .collect();
    let x = Tensor::randn([1, 2, 6, 6], (Kind::Float, Device::Cpu));
    assert!(pyramid_max(&x, &bins).unwrap().is_some());
    for bad in [f32::NAN, -0.0] {
        let y = x.copy();
        let _ = y.get(0).get(1).get(3).get(4).fill_(f64::from(bad));
        assert!(pyramid_max(&y, &bins).unwrap().is_none(), "{bad}");
    }
    assert!(pyramid_max(&x.to_kind(Kind::Double), &bins)
        .unwrap()
        .is_none());
    assert!(pyramid_max(&x.transpose(2, 3), &bins).unwrap().is_none());
}
