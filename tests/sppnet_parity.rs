//! SppNet against the Python mirror of upstream `SPP_NET`, live, same libtorch and thread count.
//!
//! - Python-made weights (seeded init, perturbed BatchNorm state) load strictly into Rust; the
//!   default config's file carries no metadata, so its sizes are inferred from the shapes.
//! - Eval outputs and pooled features: bitwise, for the default and the tiny config, input
//!   sides 32, 45, 64, 100×77 and 224, batch 1 and 2.
//! - Training mode: outputs and the updated BatchNorm running statistics, bitwise.
//! - Rust-saved weights load into PyTorch with `load_state_dict(strict=True)` and give the same
//!   outputs bitwise.

mod common;

use std::path::Path;

use serde_json::json;
use sppnet::checkpoint::{read_safetensors, write_safetensors};
use sppnet::model::Net;
use sppnet::{Arch, Model, Overrides, SppNetConfig};
use tch::{Device, Kind, Tensor};

const SIZES: [(i64, i64); 5] = [(32, 32), (45, 45), (64, 64), (100, 77), (224, 224)];

fn tiny() -> SppNetConfig {
    SppNetConfig {
        ndf: 8,
        hidden: 64,
        classes: 10,
        ..Default::default()
    }
}

#[test]
fn python_weights_give_bitwise_equal_outputs_eval_and_train() {
    common::init_threads();
    let dir = common::tempdir();
    let mut inputs = Vec::new();
    for (model, train) in [("default", false), ("tiny", true)] {
        for (i, (h, w)) in SIZES.iter().enumerate() {
            for n in [1, 2] {
                let name = format!("{model}/{h}x{w}/n{n}");
                inputs.push(json!({"name": name, "model": model, "shape": [n, 3, h, w], "seed": i as i64 * 10 + n, "train": train}));
            }
        }
    }
    let spec = json!({
        "models": [
            {"name": "default", "config": SppNetConfig::default(), "seed": 1, "metadata": false},
            {"name": "tiny", "config": tiny(), "seed": 2, "metadata": true},
        ],
        "inputs": inputs,
    });
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    common::run_python("parity.py", &[Path::new("sppnet"), &spec_path, dir.path()]);
    let results = read_safetensors(dir.path().join("results.safetensors")).unwrap();

    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, want) in [("default", SppNetConfig::default()), ("tiny", tiny())] {
        let (model, how) = Model::load(
            dir.path().join(format!("{name}.safetensors")),
            Device::Cpu,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(model.arch, Arch::SppNet(want), "{name}: {how}");
        let Net::SppNet(net) = &model.net else {
            panic!("an SppNet")
        };
        for input in inputs.iter().filter(|i| i["model"] == name) {
            let key = input["name"].as_str().unwrap();
            let x = results.get(&format!("{key}/input")).unwrap();
            let mut check = |what: &str, got: &Tensor| {
                let d = common::compare(got, results.get(&format!("{key}/{what}")).unwrap());
                checked += 1;
                if !d.bitwise {
                    problems.push(format!(
                        "{key} {what}: max abs {:e}, max ULP {}",
                        d.max_abs, d.max_ulp
                    ));
                }
            };
            check("eval", &model.forward(x).unwrap());
            check(
                "features",
                &tch::no_grad(|| net.features_t(x, false)).unwrap(),
            );
            if input["train"] == true {
                // Train on a copy so the eval checks above keep the loaded state.
                let copy = Model::new(model.arch.clone(), Device::Cpu).unwrap();
                copy.load_tensors(&model.state_dict()).unwrap();
                let Net::SppNet(trained) = &copy.net else {
                    panic!("an SppNet")
                };
                check(
                    "train",
                    &tch::no_grad(|| trained.forward_t(x, true)).unwrap(),
                );
                for (k, t) in copy.state_dict() {
                    if k.starts_with("BN1.") || k.starts_with("BN2.") {
                        check(&format!("train_state/{k}"), &t);
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {checked} comparisons differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(checked, 20 * 2 + 10 * 11, "every case compared");
}

#[test]
fn rust_saved_weights_load_strictly_in_pytorch_and_match() {
    common::init_threads();
    let dir = common::tempdir();
    let model = Model::new(Arch::SppNet(tiny()), Device::Cpu).unwrap();
    let Net::SppNet(net) = &model.net else {
        panic!("an SppNet")
    };
    // Training steps make the BatchNorm state non-trivial (and num_batches_tracked = 2).
    for seed in 0..2 {
        tch::manual_seed(seed);
        let batch = Tensor::rand([4, 3, 40, 40], (Kind::Float, Device::Cpu));
        let _ = tch::no_grad(|| net.forward_t(&batch, true)).unwrap();
    }
    assert_eq!(net.BN1.num_batches_tracked.int64_value(&[]), 2);
    let weights = dir.path().join("rust.safetensors");
    model.save(&weights, false).unwrap();
    assert!(model.save(&weights, false).is_err(), "no silent overwrite");

    let inputs: Vec<(String, Tensor)> = SIZES
        .iter()
        .map(|&(h, w)| {
            (
                format!("{h}x{w}"),
                Tensor::randn([2, 3, h, w], (Kind::Float, Device::Cpu)),
            )
        })
        .collect();
    let inputs_path = dir.path().join("inputs.safetensors");
    write_safetensors(&inputs_path, &inputs, &Default::default(), false).unwrap();
    let out_path = dir.path().join("outputs.safetensors");
    common::run_python(
        "parity.py",
        &[Path::new("run-weights"), &weights, &inputs_path, &out_path],
    );
    let outputs = read_safetensors(&out_path).unwrap();
    for (name, x) in &inputs {
        let d = common::compare(&model.forward(x).unwrap(), outputs.get(name).unwrap());
        assert!(d.bitwise, "{name}: max abs {:e}", d.max_abs);
    }
}
