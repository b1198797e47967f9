//! The committed goldens (weights/, made by `make weights` with the Python mirror) against the
//! Rust port, with a stated tolerance, so that a libtorch change is noticed.
//!
//! Tolerance: 1e-6 absolute on sigmoid outputs and 1e-5 relative on pooled features. On the
//! libtorch the dumps were made with (torch 2.13.0, same thread count) the match is bitwise,
//! which is asserted too while the recorded versions are the ones in use.

mod common;

use sppnet::checkpoint::read_safetensors;
use sppnet::model::Net;
use sppnet::{Model, Overrides};
use tch::Device;

#[test]
fn committed_goldens_match_within_tolerance() {
    let weights = common::root().join("weights");
    let golden = read_safetensors(weights.join("sppnet_tiny_golden.safetensors")).unwrap();
    let threads: i32 = golden.metadata["threads"].parse().unwrap();
    tch::set_num_threads(threads);
    let (model, _) = Model::load(
        weights.join("sppnet_tiny.safetensors"),
        Device::Cpu,
        &Overrides::default(),
    )
    .unwrap();
    let Net::SppNet(net) = &model.net else {
        panic!("an SppNet")
    };
    let same_torch = golden.metadata["torch"].starts_with("2.13.0");
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
        let feat = common::compare(
            &tch::no_grad(|| net.features_t(x, false)).unwrap(),
            feat_ref,
        );
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
        if same_torch {
            assert!(
                out.bitwise && feat.bitwise,
                "{name}: same libtorch and threads should be bitwise"
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
