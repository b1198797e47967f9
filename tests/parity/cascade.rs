//! The SPP cascade against the parallel pools, bit for bit, on random and adversarial maps;
//! and max-pool padding acting as −inf at borders. (The live ultralytics tests compare whole
//! SPP blocks, whose pools run as this cascade, with ultralytics' parallel SPP.)

use sppnet::modules::spp::SppConfig;
use sppnet::modules::{Block, Spp};
use sppnet::nn::Scope;
use sppnet::ops::maxpool::{cascade, cascade_is_bit_exact, cascade_steps, pyramid, MaxPool2d};
use tch::{nn, Device, Kind, Tensor};

const KERNELS: [&[i64]; 4] = [&[5, 9, 13], &[3, 5, 7], &[5, 9, 13, 17], &[3, 7, 13]];

fn bits(t: &Tensor) -> Tensor {
    t.contiguous().view_dtype(Kind::Int)
}

fn same_bits(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x).equal(&bits(y)))
}

/// Equal as IEEE values, NaN matching NaN.
fn same_values(a: &[Tensor], b: &[Tensor]) -> bool {
    a.iter().zip(b).all(|(x, y)| {
        x.nan_to_num(7.0, None, None)
            .equal(&y.nan_to_num(7.0, None, None))
    })
}

fn maps() -> Vec<(&'static str, Tensor, bool)> {
    tch::manual_seed(11);
    let opts = (Kind::Float, Device::Cpu);
    let randn = Tensor::randn([2, 6, 23, 19], opts) * 3;
    let mask = |p: f64| Tensor::rand([2, 6, 23, 19], opts).lt(p);
    let with_inf = randn
        .where_self(&mask(0.9), &Tensor::from(f32::INFINITY))
        .where_self(&mask(0.9), &Tensor::from(f32::NEG_INFINITY));
    let negative = -randn.abs() - 1;
    let nan = randn.where_self(&mask(0.95), &Tensor::from(f32::NAN));
    // Two NaN payloads: the canonical one and x86's negative "indefinite" NaN.
    let neg_nan = Tensor::from(f32::from_bits(0xffc0_0000));
    let nan2 = nan.where_self(&mask(0.95), &neg_nan);
    let zeros = Tensor::zeros([2, 6, 23, 19], opts);
    let signed = zeros
        .where_self(&mask(0.5), &Tensor::from(-0.0f32))
        .where_self(&mask(0.7), &(-Tensor::rand([2, 6, 23, 19], opts)));
    let tiny = Tensor::full([1, 2, 1, 1], -3.0, opts);
    vec![
        ("randn", randn, true),
        ("±inf", with_inf, true),
        ("all negative", negative, true),
        ("1×1 map", tiny, true),
        ("NaN", nan, false),
        ("two NaN payloads", nan2, false),
        ("±0 ties", signed, false),
    ]
}

#[test]
fn guarded_cascade_is_bitwise_equal_to_parallel_pools() {
    for ks in KERNELS {
        let parallel: Vec<MaxPool2d> = ks.iter().map(|&k| MaxPool2d::new(k).unwrap()).collect();
        let steps = cascade_steps(ks).expect("increasing odd kernels cascade");
        for (name, x, exact) in maps() {
            assert_eq!(
                cascade_is_bit_exact(&x).unwrap(),
                exact,
                "{name}: guard decision"
            );
            let want: Vec<Tensor> = parallel.iter().map(|m| m.forward(&x).unwrap()).collect();
            let got = pyramid(&x, &parallel, Some(&steps)).unwrap();
            assert!(
                same_bits(&got, &want),
                "{ks:?} {name}: guarded cascade differs"
            );
            let raw = cascade(&x, &steps).unwrap();
            assert!(
                same_values(&raw, &want),
                "{ks:?} {name}: cascade differs in value"
            );
            if exact {
                assert!(
                    same_bits(&raw, &want),
                    "{ks:?} {name}: the cascade itself is bit-exact here"
                );
            }
        }
    }
}

#[test]
fn unguarded_cascade_differs_in_bits_on_signed_zero_ties_and_mixed_nan_payloads() {
    let steps = cascade_steps(&[5, 9, 13]).unwrap();
    let parallel: Vec<MaxPool2d> = [5, 9, 13]
        .iter()
        .map(|&k| MaxPool2d::new(k).unwrap())
        .collect();
    for (name, x, exact) in maps().into_iter().filter(|m| !m.2) {
        let want: Vec<Tensor> = parallel.iter().map(|m| m.forward(&x).unwrap()).collect();
        let raw = cascade(&x, &steps).unwrap();
        // One NaN payload cannot be told apart: the guard is conservative there.
        let differs = name != "NaN";
        assert_eq!(
            !same_bits(&raw, &want),
            differs,
            "{name}: raw cascade bits (guard: exact = {exact})"
        );
    }
}

#[test]
fn max_pool_pads_with_negative_infinity_not_zero() {
    let x = -(Tensor::arange(25, (Kind::Float, Device::Cpu)).reshape([1, 1, 5, 5]) + 1);
    let y = MaxPool2d::new(5).unwrap().forward(&x).unwrap();
    // Corner window covers x[0..3, 0..3]: its max is -1, where zero padding would give 0.
    assert_eq!(y.double_value(&[0, 0, 0, 0]), -1.0);
    assert_eq!(y.double_value(&[0, 0, 4, 4]), -13.0);
    assert!(y.lt(0.0).all().int64_value(&[]) == 1);
}

#[test]
fn spp_block_cascade_equals_parallel_bitwise() {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    for (i, ks) in KERNELS.iter().enumerate() {
        let mut cfg = SppConfig::new(16, 8);
        cfg.k = ks.to_vec();
        let spp = Spp::new(&Scope::new(vs.root() / format!("spp{i}")), &cfg).unwrap();
        assert!(spp.cascade.is_some());
        for shape in [[1, 16, 1, 1], [2, 16, 20, 20], [1, 16, 41, 17]] {
            let x = Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 4;
            let a = tch::no_grad(|| spp.forward_with(&x, false, true)).unwrap();
            let b = tch::no_grad(|| spp.forward_with(&x, false, false)).unwrap();
            assert!(bits(&a).equal(&bits(&b)), "{ks:?} {shape:?}");
        }
    }
}
