//! The committed goldens (weights/, made by `make weights` with the Python mirror) against the
//! Rust port, with a stated tolerance, so that a libtorch change is noticed.
//!
//! Tolerance: 1e-6 absolute on sigmoid outputs and 1e-5 relative on pooled features. On the
//! libtorch, thread count and CPU the dumps were made with, the match is bitwise, which is
//! asserted too when the recorded ones are in use (libtorch picks convolution kernels by
//! instruction set: the dumps made on an Intel Xeon differ by up to 2 ULP on an AMD EPYC).

use crate::common;

use sppnet::io::read_safetensors;
use sppnet::runtime::cpu_model;
use sppnet::Model;
use tch::Device;

#[test]
fn committed_goldens_match_within_tolerance() {
    let weights = common::root().join("weights");
    let golden = read_safetensors(weights.join("sppnet_tiny_golden.safetensors")).unwrap();
    common::init_threads();
    let model = Model::load(weights.join("sppnet_tiny.safetensors"), Device::Cpu).unwrap();
    let meta = |k: &str| golden.metadata.get(k).map_or("", String::as_str);
    let same_machine = meta("torch").starts_with("2.13.0")
        && meta("threads") == common::THREADS.to_string()
        && meta("cpu") == cpu_model();
    let names: Vec<&str> = golden
        .names()
        .into_iter()
        .filter_map(|n| n.strip_suffix("/input"))
        .collect();
    assert_eq!(names.len(), 4, "four golden sizes");
    for name in names {
        let x = golden.get(&format!("{name}/input")).unwrap();
        let out = common::compare(
            &model.forward(x).unwrap(),
            golden.get(&format!("{name}/output")).unwrap(),
        );
        let feat_ref = golden.get(&format!("{name}/features")).unwrap();
        let feat = common::compare(&model.features(x).unwrap(), feat_ref);
        let scale = feat_ref.abs().max().double_value(&[]).max(1.0);
        println!(
            "{name}: output max abs {:e} ({} ULP), features max abs {:e}",
            out.max_abs, out.max_ulp, feat.max_abs
        );
        assert!(out.within(1e-6), "{name} output: max abs {:e}", out.max_abs);
        assert!(
            feat.within(1e-5 * scale),
            "{name} features: max abs {:e}",
            feat.max_abs
        );
        if same_machine {
            assert!(
                out.bitwise && feat.bitwise,
                "{name}: same libtorch, threads and CPU should be bitwise"
            );
        }
    }
}

#[test]
fn committed_weights_stay_small() {
    let total: u64 = std::fs::read_dir(common::root().join("weights"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        total < 5 * 1024 * 1024,
        "weights/ is {total} bytes, over 5 MB"
    );
}
