//! SppNet against the Python mirror of upstream `SPP_NET`, live, same libtorch and thread count.
//!
//! - Python-made weights (seeded init, perturbed BatchNorm state) load strictly into Rust; the
//!   default config's file carries no metadata, so its sizes are inferred from the shapes.
//! - Eval outputs and pooled features: bitwise, for the default and the tiny config, input
//!   sides 32, 45, 64, 100×77 and 224, batch 1 and 2.
//! - Training mode: outputs and the updated BatchNorm running statistics, bitwise.
//! - Rust-saved weights load into PyTorch with `load_state_dict(strict=True)` and give the same
//!   outputs bitwise.

use crate::common;

use sppnet::io::write_safetensors;
use sppnet::modules::spp_net::SppNetConfig;
use sppnet::modules::SppNet;
use sppnet::reference::{Output, SppNetInput, SppNetModel, Suite};
use sppnet::{ConfigSource, Model, Spec};
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
                inputs.push(SppNetInput {
                    name: format!("{model}/{h}x{w}/n{n}"),
                    model: model.into(),
                    shape: vec![n, 3, *h, *w],
                    seed: i as i64 * 10 + n,
                    train,
                });
            }
        }
    }
    let models = vec![
        SppNetModel {
            name: "default".into(),
            config: SppNetConfig::default(),
            seed: 1,
            metadata: false,
        },
        SppNetModel {
            name: "tiny".into(),
            config: tiny(),
            seed: 2,
            metadata: true,
        },
    ];
    let replied = common::run_suite(&Suite::Sppnet { models, inputs }, dir.path());

    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, want, source) in [
        ("default", SppNetConfig::default(), ConfigSource::Shapes),
        ("tiny", tiny(), ConfigSource::Metadata),
    ] {
        let case = replied.case(name).unwrap();
        let model = Model::load(replied.file(case, "weights").unwrap(), Device::Cpu).unwrap();
        assert_eq!(model.spec().config_as::<SppNet>(), Some(want), "{name}");
        assert_eq!(model.source(), source, "{name}");
        for run in &case.runs {
            let x = replied.input(run).unwrap();
            let mut check = |what: &str, got: &Tensor, want: &Tensor| {
                let d = common::compare(got, want);
                checked += 1;
                if !d.bitwise {
                    problems.push(format!(
                        "{} {what}: max abs {:e}, max ULP {}",
                        run.name, d.max_abs, d.max_ulp
                    ));
                }
            };
            let output = |o| replied.output(run, o).unwrap();
            check("eval", &model.forward(x).unwrap(), output(Output::Eval));
            check(
                "features",
                &model.features(x).unwrap(),
                output(Output::Features),
            );
            if run.outputs.contains_key(&Output::Train) {
                // Train on a copy so the eval checks above keep the loaded state.
                let copy =
                    Model::from_tensors(model.spec().clone(), &model.state_dict(), Device::Cpu)
                        .unwrap();
                let y = tch::no_grad(|| copy.forward_t(x, true)).unwrap();
                check("train", &y, output(Output::Train));
                let state: std::collections::BTreeMap<String, Tensor> =
                    copy.state_dict().into_iter().collect();
                for (k, key) in &run.state {
                    check(
                        &format!("train_state/{k}"),
                        &state[k],
                        replied.tensor(key).unwrap(),
                    );
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
    let model = Model::new(Spec::of::<SppNet>(&tiny()).unwrap(), Device::Cpu).unwrap();
    // Training steps make the BatchNorm state non-trivial (and num_batches_tracked = 2).
    for seed in 0..2 {
        tch::manual_seed(seed);
        let batch = Tensor::rand([4, 3, 40, 40], (Kind::Float, Device::Cpu));
        let _ = tch::no_grad(|| model.forward_t(&batch, true)).unwrap();
    }
    let counter = model
        .state_dict()
        .into_iter()
        .find(|(k, _)| k == "BN1.num_batches_tracked")
        .unwrap()
        .1;
    assert_eq!(counter.int64_value(&[]), 2);
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
    let suite = Suite::RunWeights {
        weights: weights.clone(),
        inputs: inputs_path,
    };
    let replied = common::run_suite(&suite, &dir.path().join("run"));
    let runs = &replied.case("run_weights").unwrap().runs;
    assert_eq!(runs.len(), inputs.len());
    for run in runs {
        let x = &inputs.iter().find(|(n, _)| *n == run.name).unwrap().1;
        let want = replied.output(run, Output::Eval).unwrap();
        let d = common::compare(&model.forward(x).unwrap(), want);
        assert!(d.bitwise, "{}: max abs {:e}", run.name, d.max_abs);
    }
}
