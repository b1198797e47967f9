//! ultralytics `Conv`, `SPP`, `SPPF`, `SPPELAN` against `ultralytics==8.4.190`'s own classes,
//! live, same libtorch and thread count. Every comparison is bitwise.
//!
//! Blocks are exported by `python/export.py` (the self-describing metadata) and loaded by
//! `Model::load` with no other information. Cases: random weights and BatchNorm state, bn eps
//! 1e-5 and 1e-3, channels from {8, 64, 256} with c1 ≠ c2 cases, map sizes from 1×1 to 41×41
//! (odd, even, non-square), batch 1 and 4, SPPF n ∈ {1, 3, 4} with shortcut on and off and both
//! cv1 variants, SPP kernels (5,9,13), (3,5,7), (5,9,13,17), SPPELAN c3 ∈ {8, 32}, every Conv
//! activation, whole-negative pooling windows, fp16 weights, training mode, and `fuse()` against
//! ultralytics' `fuse_conv_and_bn`.

mod common;

use std::path::Path;

use serde_json::{json, Value};
use sppnet::checkpoint::{read_safetensors, TensorFile};
use sppnet::ultralytics::Act;
use sppnet::{Model, Overrides};
use tch::{Device, Tensor};

const SHAPES: [[i64; 3]; 10] = [
    [1, 1, 1],
    [4, 2, 3],
    [1, 5, 5],
    [4, 8, 8],
    [1, 13, 13],
    [1, 20, 20],
    [4, 11, 6],
    [1, 41, 41],
    [1, 40, 17],
    [4, 16, 33],
];

/// Three input shapes per case, rotating through SHAPES so that every size is covered.
fn inputs(i: usize, c1: i64) -> Value {
    let pick = |j: usize| {
        let [n, h, w] = SHAPES[(i * 3 + j) % SHAPES.len()];
        json!({"shape": [n, c1, h, w], "scale": 2.0})
    };
    json!([pick(0), pick(1), pick(2)])
}

fn cases() -> Vec<Value> {
    let mut cases = Vec::new();
    let mut add = |class: &str, args: Value, extra: Value| {
        let i = cases.len();
        let c1 = args["c1"].as_i64().unwrap();
        let mut case = json!({"name": format!("{i:02}_{class}"), "class": class, "args": args, "seed": i, "inputs": inputs(i, c1)});
        case.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        cases.push(case);
    };
    for (j, act) in Act::ALL.iter().chain(&[Act::LeakyReLU(0.1)]).enumerate() {
        let (c1, c2) = [(8, 64), (64, 8), (8, 8)][j % 3];
        add(
            "Conv",
            json!({"c1": c1, "c2": c2, "k": 3, "s": 1 + (j % 2) as i64}),
            json!({"act": act.to_string(), "bn_eps": if j % 2 == 0 { 1e-5 } else { 1e-3 }}),
        );
    }
    add(
        "Conv",
        json!({"c1": 64, "c2": 64, "k": 3, "g": 8, "d": 2}),
        json!({"bn_eps": 1e-3, "fuse": true}),
    );
    add(
        "Conv",
        json!({"c1": 8, "c2": 256, "k": 3, "s": 2, "p": 0}),
        json!({"half": true, "train": true}),
    );
    for (j, k) in [vec![5, 9, 13], vec![3, 5, 7], vec![5, 9, 13, 17]]
        .into_iter()
        .enumerate()
    {
        for (c1, c2) in [(8, 8), (64, 256), (256, 64)] {
            let eps = [1e-5, 1e-3][(c1 as usize / 8) % 2];
            add(
                "SPP",
                json!({"c1": c1, "c2": c2, "k": k}),
                json!({"bn_eps": eps, "fuse": j == 0, "half": c1 == 64}),
            );
        }
        add(
            "SPP",
            json!({"c1": 64, "c2": 64, "k": k}),
            json!({"bn_shift": -10.0, "train": j == 1}),
        );
    }
    for n in [1, 3, 4] {
        for shortcut in [false, true] {
            for (c1, c2, cv1) in [(64, 64, "Identity"), (256, 64, "SiLU"), (8, 8, "SiLU")] {
                let extra = json!({"cv1_act": cv1, "bn_eps": if shortcut { 1e-3 } else { 1e-5 }, "fuse": n == 3, "half": n == 4 && c1 == 8});
                add(
                    "SPPF",
                    json!({"c1": c1, "c2": c2, "n": n, "shortcut": shortcut}),
                    extra,
                );
            }
        }
    }
    add(
        "SPPF",
        json!({"c1": 64, "c2": 64, "shortcut": true}),
        json!({"bn_shift": -10.0, "cv1_act": "Identity", "train": true}),
    );
    for c3 in [8, 32] {
        add(
            "SPPELAN",
            json!({"c1": 64, "c2": 64, "c3": c3}),
            json!({"fuse": c3 == 8, "bn_eps": 1e-3}),
        );
        add(
            "SPPELAN",
            json!({"c1": 256, "c2": 128, "c3": c3}),
            json!({"half": c3 == 32, "bn_shift": -10.0}),
        );
    }
    cases
}

/// Compare each `<name>/<i>/<what>` of `results`, for `what` in `whats`, with
/// `run("<name>/<i>", input, what)`; collects problems, returns the number of comparisons.
fn check(
    results: &TensorFile,
    name: &str,
    whats: &[&str],
    problems: &mut Vec<String>,
    mut run: impl FnMut(&str, &Tensor, &str) -> Tensor,
) -> usize {
    let mut compared = 0;
    for i in 0.. {
        let prefix = format!("{name}/{i}");
        let Some(x) = results.get(&format!("{prefix}/input")) else {
            break;
        };
        for &what in whats {
            if let Some(want) = results.get(&format!("{prefix}/{what}")) {
                let d = common::compare(&run(&prefix, x, what), want);
                compared += 1;
                if !d.bitwise {
                    problems.push(format!(
                        "{name}/{i} {what} {:?}: max abs {:e}, max ULP {}",
                        x.size(),
                        d.max_abs,
                        d.max_ulp
                    ));
                }
            }
        }
    }
    compared
}

fn load(dir: &Path, file: &str) -> Model {
    Model::load(dir.join(file), Device::Cpu, &Overrides::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .0
}

fn fused_state_matches(
    fused: &Model,
    python_fused: &Model,
    name: &str,
    problems: &mut Vec<String>,
) {
    let theirs: std::collections::HashMap<String, Tensor> =
        python_fused.state_dict().into_iter().collect();
    for (k, t) in fused.state_dict() {
        if !common::compare(&t, &theirs[&k]).bitwise {
            problems.push(format!(
                "{name}: fused `{k}` differs from ultralytics' fuse_conv_and_bn"
            ));
        }
    }
}

#[test]
fn blocks_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases = cases();
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, json!({ "cases": cases }).to_string()).unwrap();
    common::run_python("ultra_parity.py", &[Path::new("blocks"), &spec, dir.path()]);
    let results = read_safetensors(dir.path().join("results.safetensors")).unwrap();

    let (mut problems, mut compared) = (Vec::new(), 0);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let model = load(dir.path(), &format!("{name}.safetensors"));
        let fused = (case["fuse"] == true).then(|| model.fuse().unwrap());
        let python_fused =
            (case["fuse"] == true).then(|| load(dir.path(), &format!("{name}.fused.safetensors")));
        if let (Some(f), Some(pf)) = (&fused, &python_fused) {
            fused_state_matches(f, pf, name, &mut problems);
        }
        let whats = ["eval", "fused", "train"];
        let mut state_problems = Vec::new();
        compared += check(
            &results,
            name,
            &whats,
            &mut problems,
            |prefix, x, what| match what {
                "eval" => model.forward(x).unwrap(),
                "fused" => fused.as_ref().unwrap().forward(x).unwrap(),
                _ => {
                    let copy = Model::new(model.arch.clone(), Device::Cpu).unwrap();
                    copy.load_tensors(&model.state_dict()).unwrap();
                    let y = tch::no_grad(|| copy.net.forward_t(x, true)).unwrap();
                    for (k, t) in copy.state_dict().iter().filter(|(k, _)| k.contains("bn.")) {
                        let key = format!("{prefix}/train_state/{k}");
                        if !common::compare(t, results.get(&key).unwrap()).bitwise {
                            state_problems
                                .push(format!("{name}: training updated `{k}` differently"));
                        }
                    }
                    y
                }
            },
        );
        problems.extend(state_problems);
        // Python's own fused file loads and runs too (the layout `model.fuse()` leaves).
        if let Some(pf) = &python_fused {
            compared += check(&results, name, &["fused"], &mut problems, |_, x, _| {
                pf.forward(x).unwrap()
            });
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Exactly: eval per input, plus Rust-fused and Python-fused per input of fused cases, plus
    // training per input with more than one value per channel.
    let expected: usize = cases
        .iter()
        .map(|c| {
            let shapes = c["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["shape"].as_array().unwrap().clone());
            let trainable = shapes.filter(|s| {
                s[0].as_i64().unwrap() * s[2].as_i64().unwrap() * s[3].as_i64().unwrap() > 1
            });
            3 * (1 + 2 * usize::from(c["fuse"] == true))
                + usize::from(c["train"] == true) * trainable.count()
        })
        .sum();
    assert_eq!(compared, expected, "every output compared");
    println!("{} cases, {compared} bitwise comparisons", cases.len());
}

#[test]
fn blocks_from_detection_models_match_bitwise_unfused_and_fused() {
    common::init_threads();
    let dir = common::tempdir();
    common::run_python("ultra_parity.py", &[Path::new("models"), dir.path()]);
    let results = read_safetensors(dir.path().join("results.safetensors")).unwrap();
    let listing: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("models.json")).unwrap()).unwrap();
    let classes: Vec<&str> = listing
        .iter()
        .map(|l| l["class"].as_str().unwrap())
        .collect();
    assert!(
        classes.contains(&"SPPF") && classes.contains(&"SPPELAN") && classes.contains(&"Conv"),
        "{classes:?}"
    );

    let (mut problems, mut compared) = (Vec::new(), 0);
    for entry in &listing {
        let name = entry["name"].as_str().unwrap();
        let model = load(dir.path(), &format!("{name}.safetensors"));
        let fused = model.fuse().unwrap();
        let python_fused = load(dir.path(), &format!("{name}.fused.safetensors"));
        fused_state_matches(&fused, &python_fused, name, &mut problems);
        compared += check(
            &results,
            name,
            &["eval", "fused"],
            &mut problems,
            |_, x, what| match what {
                "eval" => model.forward(x).unwrap(),
                _ => fused.forward(x).unwrap(),
            },
        );
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(compared, listing.len() * 4);
}
