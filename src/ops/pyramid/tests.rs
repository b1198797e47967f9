//! Unit tests of the bin rules and of `spatial_pyramid_pool`.
use super::*;
use tch::Kind;

fn win(k: i64, s: i64, p: i64) -> Option<AxisWindow> {
    Some(AxisWindow {
        kernel: k,
        stride: s,
        padding: p,
    })
}

#[test]
fn yueruchen_windows_match_the_notes() {
    assert_eq!(axis_window(Rule::Yueruchen, 13, 4), Ok(win(4, 4, 2)));
    assert_eq!(axis_window(Rule::Yueruchen, 13, 2), Ok(win(7, 7, 1)));
    assert_eq!(axis_window(Rule::Yueruchen, 13, 1), Ok(win(13, 13, 0)));
    // Padding above half the window: PyTorch refuses (docs/FACTS.md §3).
    assert!(axis_window(Rule::Yueruchen, 5, 4)
        .unwrap_err()
        .contains("padding 2"));
    assert!(axis_window(Rule::Yueruchen, 9, 4).is_err());
    assert!(axis_window(Rule::Yueruchen, 1, 4).is_err());
}

#[test]
fn paper_rule_rejects_wrong_bin_counts() {
    assert_eq!(axis_window(Rule::Paper, 13, 4), Ok(win(4, 3, 0)));
    assert!(axis_window(Rule::Paper, 11, 4)
        .unwrap_err()
        .contains("5 bins"));
    assert!(axis_window(Rule::Paper, 3, 4)
        .unwrap_err()
        .contains("stride"));
}

#[test]
fn adaptive_accepts_everything_positive() {
    assert!((1..=64).all(|a| accepts(Rule::Adaptive, &[6, 3, 2, 1], a)));
    assert!(axis_window(Rule::Adaptive, 0, 1).is_err());
    assert!(axis_window(Rule::Adaptive, 4, 0).is_err());
}

#[test]
fn large_sides_always_accepted() {
    for rule in Rule::ALL {
        for a in 36..200 {
            assert!(accepts(rule, &[6, 3, 2, 1], a), "{rule} {a}");
        }
    }
}

#[test]
fn nearest_sizes_bracket_a_rejected_side() {
    assert_eq!(
        nearest_accepted(Rule::Yueruchen, &[4, 2, 1], 5),
        (Some(4), Some(6))
    );
    let (below, above) = nearest_accepted(Rule::Paper, &[4, 2, 1], 11);
    assert!(below.is_some_and(|s| accepts(Rule::Paper, &[4, 2, 1], s)));
    assert!(above.is_some_and(|s| s > 11));
}

#[test]
fn misfit_error_names_level_size_and_alternatives() {
    let err = plan_levels(Rule::Yueruchen, &[4, 2, 1], 5, 13)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("level 4") && err.contains("5×13") && err.contains("height"),
        "{err}"
    );
    assert!(
        err.contains("4, 6") && err.contains("adaptive rule"),
        "{err}"
    );
    assert!(!err.contains('\n'));
    assert!(matches!(
        plan_levels(Rule::Adaptive, &[], 4, 4),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        plan_levels(Rule::Adaptive, &[2, 0], 4, 4),
        Err(Error::Config(_))
    ));
}

#[test]
fn output_len_sums_squares() {
    assert_eq!(output_len(&[4, 2, 1], 512), 10752);
    assert_eq!(output_len(&[6, 3, 2, 1], 1), 50);
}

#[test]
fn rule_parses_and_prints() {
    for r in Rule::ALL {
        assert_eq!(r.name().parse::<Rule>().unwrap(), r);
    }
    assert!("bogus".parse::<Rule>().is_err());
    assert_eq!(Rule::default(), Rule::Yueruchen);
}

#[test]
fn bad_tensors_are_refused() {
    let int = Tensor::zeros([1, 1, 4, 4], (Kind::Int64, tch::Device::Cpu));
    assert!(spatial_pyramid_pool(&int, &[1], Rule::Adaptive)
        .unwrap_err()
        .to_string()
        .contains("floating"));
    let rank3 = Tensor::zeros([1, 4, 4], (Kind::Float, tch::Device::Cpu));
    assert!(spatial_pyramid_pool(&rank3, &[1], Rule::Adaptive)
        .unwrap_err()
        .to_string()
        .contains("rank 3"));
    let empty = Tensor::zeros([0, 1, 4, 4], (Kind::Float, tch::Device::Cpu));
    assert!(spatial_pyramid_pool(&empty, &[1], Rule::Adaptive)
        .unwrap_err()
        .to_string()
        .contains("empty"));
}

#[test]
fn pooled_rows_are_per_sample_and_non_contiguous_input_works() {
    let x = Tensor::randn([3, 2, 13, 13], (Kind::Float, tch::Device::Cpu));
    let y = spatial_pyramid_pool(&x, &[4, 2, 1], Rule::Yueruchen).unwrap();
    assert_eq!(y.size(), [3, 42]);
    let row1 = spatial_pyramid_pool(&x.narrow(0, 1, 1), &[4, 2, 1], Rule::Yueruchen).unwrap();
    assert!(y.narrow(0, 1, 1).equal(&row1));
    let xt = x.transpose(2, 3);
    assert!(!xt.is_contiguous());
    let yt = spatial_pyramid_pool(&xt, &[4, 2, 1], Rule::Yueruchen).unwrap();
    assert!(yt.equal(&spatial_pyramid_pool(&xt.contiguous(), &[4, 2, 1], Rule::Yueruchen).unwrap()));
}

/// The nested shortcut (coarse levels pooled from the finest level's maxima) must not change
/// which zero comes out of a ±0 tie, nor which NaN: direct pooling scans the whole map row by
/// row, the shortcut scans it bin by bin. This map gives +0 directly but −0 through the
/// shortcut, so `spatial_pyramid_pool` has to fall back to direct pooling here.
#[test]
fn nested_levels_keep_the_direct_zero_and_nan() {
    let bits = |t: &Tensor| -> Vec<i32> {
        let v: Vec<f32> = Vec::try_from(t.flatten(0, -1)).unwrap();
        v.iter().map(|x| x.to_bits() as i32).collect()
    };
    let mut m = vec![-1.0f32; 16];
    m[2] = 0.0; // (0, 2): the first zero in row-major order
    m[4] = -0.0; // (1, 0): the first zero of the first 2×2 bin
    let x = Tensor::from_slice(&m).reshape([1, 1, 4, 4]);
    for rule in Rule::ALL {
        let y = spatial_pyramid_pool(&x, &[2, 1], rule).unwrap();
        let direct = x
            .max_pool2d([4, 4], [4, 4], [0, 0], [1, 1], false)
            .reshape([1, -1]);
        assert_eq!(
            bits(&y.narrow(1, 4, 1)),
            bits(&direct),
            "{rule}: level 1 is +0"
        );
        assert_eq!(bits(&direct), [0], "PyTorch keeps the first zero it meets");
    }
    // Two NaN payloads: whichever PyTorch's scan keeps, the shortcut must keep the same.
    let mut m = vec![1.0f32; 16];
    m[2] = f32::NAN;
    m[4] = -f32::NAN;
    let x = Tensor::from_slice(&m).reshape([1, 1, 4, 4]);
    let y = spatial_pyramid_pool(&x, &[2, 1], Rule::Yueruchen).unwrap();
    let direct = x
        .max_pool2d([4, 4], [4, 4], [0, 0], [1, 1], false)
        .reshape([1, -1]);
    assert_eq!(bits(&y.narrow(1, 4, 1)), bits(&direct));
}

#[test]
fn nested_levels_equal_direct_pooling_on_ordinary_maps() {
    // 24 = 4·6 = 6·4: [4, 2, 1] and [6, 3, 2, 1] both nest; 8×12 nests rows and columns apart.
    for (h, w, levels) in [
        (24, 24, vec![4, 2, 1]),
        (24, 24, vec![6, 3, 2, 1]),
        (8, 12, vec![4, 2, 1]),
        (24, 24, vec![1, 4, 2]),
    ] {
        tch::manual_seed(7);
        let x = Tensor::randn([2, 3, h, w], (Kind::Float, tch::Device::Cpu));
        for rule in Rule::ALL {
            let y = spatial_pyramid_pool(&x, &levels, rule).unwrap();
            let parts: Vec<Tensor> = levels
                .iter()
                .map(|&n| x.adaptive_max_pool2d([n, n]).0.reshape([2, -1]))
                .collect();
            assert!(
                y.equal(&Tensor::cat(&parts, 1)),
                "{rule} {h}×{w} {levels:?}"
            );
        }
    }
}
