//! ultralytics `Conv`, `SPP`, `SPPF`, `SPPELAN` against `ultralytics==8.4.190`'s own classes,
//! live, same libtorch and thread count. Every comparison is bitwise.
//!
//! Blocks are exported by `sppnet_ref.export` (the self-describing metadata) and loaded by
//! `Model::load` with no other information. Cases: random weights and BatchNorm state, bn eps
//! 1e-5 and 1e-3, channels from {8, 64, 256} with c1 ≠ c2 cases, map sizes from 1×1 to 41×41
//! (odd, even, non-square), batch 1 and 4, SPPF n ∈ {1, 3, 4} with shortcut on and off and both
//! cv1 variants, SPP kernels (5,9,13), (3,5,7), (5,9,13,17), SPPELAN c3 ∈ {8, 32}, every Conv
//! activation, whole-negative pooling windows, fp16 weights, training mode, and `fuse()` against
//! ultralytics' `fuse_conv_and_bn`.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use sppnet::nn::Act;
use sppnet::reference::{BlockCase, InputSpec, Output, Replied, Run, Suite};
use sppnet::Model;
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
fn inputs(i: usize, c1: i64) -> Vec<InputSpec> {
    (0..3)
        .map(|j| {
            let [n, h, w] = SHAPES[(i * 3 + j) % SHAPES.len()];
            InputSpec {
                shape: vec![n, c1, h, w],
                scale: 2.0,
            }
        })
        .collect()
}

/// Options of a case beyond class and arguments, as the JSON object the reference takes.
fn cases() -> Vec<BlockCase> {
    let mut cases = Vec::new();
    let mut add = |class: &str, args: Value, extra: Value| {
        let i = cases.len();
        let c1 = args["c1"].as_i64().unwrap();
        let mut case: BlockCase = serde_json::from_value(extra).unwrap();
        case.name = format!("{i:02}_{class}");
        case.class = class.into();
        case.args = args;
        case.seed = i as i64;
        case.inputs = inputs(i, c1);
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

/// Compare output `which` of every run of `runs` with `run(input, which)`; collects problems,
/// returns the number of comparisons.
fn check(
    replied: &Replied,
    runs: &[Run],
    name: &str,
    whats: &[Output],
    problems: &mut Vec<String>,
    mut run: impl FnMut(&Run, &Tensor, Output) -> Tensor,
) -> usize {
    let mut compared = 0;
    for (i, r) in runs.iter().enumerate() {
        let x = replied.input(r).unwrap();
        for &what in whats.iter().filter(|w| r.outputs.contains_key(w)) {
            let d = common::compare(&run(r, x, what), replied.output(r, what).unwrap());
            compared += 1;
            if !d.bitwise {
                problems.push(format!(
                    "{name}/{i} {what:?} {:?}: max abs {:e}, max ULP {}",
                    x.size(),
                    d.max_abs,
                    d.max_ulp
                ));
            }
        }
    }
    compared
}

fn load(path: &Path) -> Model {
    Model::load(path, Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
    let replied = common::run_suite(
        &Suite::Blocks {
            cases: cases.clone(),
        },
        dir.path(),
    );

    let (mut problems, mut compared) = (Vec::new(), 0);
    for case in &cases {
        let name = case.name.as_str();
        let reply = replied.case(name).unwrap();
        let model = load(&replied.file(reply, "weights").unwrap());
        let fused = case.fuse.then(|| model.fuse().unwrap());
        let python_fused = case
            .fuse
            .then(|| load(&replied.file(reply, "fused").unwrap()));
        if let (Some(f), Some(pf)) = (&fused, &python_fused) {
            fused_state_matches(f, pf, name, &mut problems);
        }
        let whats = [Output::Eval, Output::Fused, Output::Train];
        let mut state_problems = Vec::new();
        compared += check(
            &replied,
            &reply.runs,
            name,
            &whats,
            &mut problems,
            |run, x, what| match what {
                Output::Eval => model.forward(x).unwrap(),
                Output::Fused => fused.as_ref().unwrap().forward(x).unwrap(),
                _ => {
                    let copy =
                        Model::from_tensors(model.spec().clone(), &model.state_dict(), Device::Cpu)
                            .unwrap();
                    let y = tch::no_grad(|| copy.forward_t(x, true)).unwrap();
                    let state: BTreeMap<String, Tensor> = copy.state_dict().into_iter().collect();
                    assert!(!run.state.is_empty(), "{name}: no training state");
                    for (k, key) in &run.state {
                        let want = replied.tensor(key).unwrap();
                        if !common::compare(&state[k], want).bitwise {
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
            compared += check(
                &replied,
                &reply.runs,
                name,
                &[Output::Fused],
                &mut problems,
                |_, x, _| pf.forward(x).unwrap(),
            );
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
            let trainable = c
                .inputs
                .iter()
                .filter(|i| i.shape[0] * i.shape[2] * i.shape[3] > 1);
            3 * (1 + 2 * usize::from(c.fuse)) + usize::from(c.train) * trainable.count()
        })
        .sum();
    assert_eq!(compared, expected, "every output compared");
    println!("{} cases, {compared} bitwise comparisons", cases.len());
}

#[test]
fn blocks_from_detection_models_match_bitwise_unfused_and_fused() {
    common::init_threads();
    let dir = common::tempdir();
    let yamls = [
        "yolov8n.yaml",
        "yolo11n.yaml",
        "yolo26n.yaml",
        "yolov9t.yaml",
    ];
    let suite = Suite::Models {
        yamls: yamls.iter().map(|y| y.to_string()).collect(),
    };
    let replied = common::run_suite(&suite, dir.path());
    let classes: Vec<&str> = replied
        .reply
        .cases
        .iter()
        .filter_map(|c| c.class.as_deref())
        .collect();
    assert!(
        classes.contains(&"SPPF") && classes.contains(&"SPPELAN") && classes.contains(&"Conv"),
        "{classes:?}"
    );

    let (mut problems, mut compared) = (Vec::new(), 0);
    for case in &replied.reply.cases {
        let model = load(&replied.file(case, "weights").unwrap());
        let fused = model.fuse().unwrap();
        let python_fused = load(&replied.file(case, "fused").unwrap());
        fused_state_matches(&fused, &python_fused, &case.name, &mut problems);
        compared += check(
            &replied,
            &case.runs,
            &case.name,
            &[Output::Eval, Output::Fused],
            &mut problems,
            |_, x, what| match what {
                Output::Eval => model.forward(x).unwrap(),
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
    assert_eq!(replied.reply.cases.len(), yamls.len() * 3);
    assert_eq!(compared, replied.reply.cases.len() * 4);
}
