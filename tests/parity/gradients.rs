//! Forward and backward parity of whole modules: ultralytics' own Conv (k 3, s 2), AConv, ADown
//! and SCDown (the convolutional poolings), SPP, SPPF and SPPELAN; timm's NonLocalAttn; the
//! SPP_NET mirror and the NONLocalBlock2D mirror in its four modes (non-local pooling) — each pickled
//! whole by Python, ported, and run in eval mode under autograd on the same inputs. The output,
//! the input's gradient and every parameter's gradient must have PyTorch's bits.

use crate::common;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sppnet::modules::spp_net::SppNetConfig;
use sppnet::port::{port, PortOptions};
use sppnet::reference::{GradCase, InputSpec, Output, Suite};
use sppnet::Model;
use tch::{Device, Tensor};

fn cases() -> Vec<GradCase> {
    let tiny = SppNetConfig {
        ndf: 8,
        hidden: 32,
        classes: 5,
        ..Default::default()
    };
    let blocks: Vec<(&str, Value, i64)> = vec![
        ("Conv", json!({"c1": 8, "c2": 16, "k": 3, "s": 2}), 8),
        ("AConv", json!({"c1": 8, "c2": 16}), 8),
        ("ADown", json!({"c1": 8, "c2": 16}), 8),
        ("SCDown", json!({"c1": 8, "c2": 16, "k": 3, "s": 2}), 8),
        ("SPP", json!({"c1": 8, "c2": 8, "k": [5, 9, 13]}), 8),
        ("SPPF", json!({"c1": 8, "c2": 8}), 8),
        ("SPPELAN", json!({"c1": 8, "c2": 8, "c3": 4}), 8),
        ("SPP_NET", serde_json::to_value(&tiny).unwrap(), 3),
        ("NonLocalAttn", json!({"c1": 16}), 16),
        ("NonLocalAttn", json!({"c1": 16, "use_scale": false}), 16),
    ];
    let mut blocks = blocks;
    for (mode, sub_sample, bn_layer) in [
        ("embedded", true, true),
        ("gaussian", true, false),
        ("gaussian", false, true),
        ("dot", false, true),
        ("dot", true, false),
        ("concatenation", true, true),
        ("concatenation", false, false),
    ] {
        let args = json!({"c1": 8, "mode": mode, "sub_sample": sub_sample, "bn_layer": bn_layer});
        blocks.push(("NONLocalBlock2D", args, 8));
    }
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, (class, args, c1))| {
            // SPP_NET's pyramid needs maps its rule accepts (64×64 under yueruchen's).
            let shapes: Vec<Vec<i64>> = if class == "SPP_NET" {
                vec![vec![2, c1, 64, 64], vec![1, c1, 64, 64]]
            } else {
                vec![vec![2, c1, 12, 12], vec![1, c1, 7, 9], vec![1, c1, 3, 5]]
            };
            GradCase {
                name: format!("{i}_{class}"),
                class: class.into(),
                args,
                seed: 40 + i as i64,
                inputs: shapes
                    .into_iter()
                    .map(|shape| InputSpec { shape, scale: 2.0 })
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn modules_backward_matches_pytorch_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let replied = common::run_suite(&Suite::Grads { cases: cases() }, dir.path());
    let (mut problems, mut compared) = (Vec::new(), BTreeMap::<String, usize>::new());
    for case in &replied.reply.cases {
        let pt = replied.file(case, "pt").unwrap();
        let ported =
            port(&pt, &PortOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        for (i, run) in case.runs.iter().enumerate() {
            // A fresh model per run: gradients accumulate in the parameters.
            let model =
                Model::from_tensors(ported.spec.clone(), &ported.tensors, Device::Cpu).unwrap();
            let x = replied.input(run).unwrap().copy().set_requires_grad(true);
            let y = model.forward_t(&x, false).unwrap();
            let g = replied.output(run, Output::GradOutput).unwrap();
            // d/dy of sum(y·g) is g·1 = g exactly: this is `y.backward(g)`.
            y.f_mul(g).unwrap().sum(None).backward();
            let what = format!("{}/{i}", case.name);
            let mut check = |name: &str, got: &Tensor, want: &Tensor| {
                let d = common::compare(got, want);
                if !(got.size() == want.size() && d.bitwise) {
                    problems.push(format!("{what}: {name} differs (max abs {:e})", d.max_abs));
                }
                *compared.entry(case.name.clone()).or_default() += 1;
            };
            check(
                "output",
                &y.detach(),
                replied.output(run, Output::Eval).unwrap(),
            );
            check(
                "input gradient",
                &x.grad(),
                replied.output(run, Output::GradInput).unwrap(),
            );
            let params: BTreeMap<String, Tensor> = model.state_dict().into_iter().collect();
            assert!(!run.grads.is_empty(), "{what}: no parameter gradients");
            for (k, key) in &run.grads {
                let Some(p) = params.get(k) else {
                    panic!("{what}: no parameter `{k}` in the ported model");
                };
                check(
                    &format!("gradient of `{k}`"),
                    &p.grad(),
                    replied.tensor(key).unwrap(),
                );
            }
        }
    }
    eprintln!("gradient comparisons per module: {compared:?}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(compared.len(), 17, "{compared:?}");
}
