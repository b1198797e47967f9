//! `sppnet predict` for the tasks without boxes — classification (the checkpoint's pickled
//! torchvision transforms through Pillow's resampling, or `classify_transforms(imgsz)`, then
//! the top 5), YOLO26's semantic segmentation (the class map at the original size) and depth
//! (the stretched input, the map at the original size) — end to end against ultralytics' own
//! `YOLO(weights).predict(path)`, live, CPU fp32, same threads, on the predict suite's PNGs.
//! Every value bitwise: each class's probability (`result.probs.data`), the top 5 in order
//! (`probs.top5`, `top5conf`), every pixel of `result.semantic_mask.data` and
//! `result.depth.data`.

use sppnet::detect::Summary;
use sppnet::reference::{Output, PredictCase, Suite};
use tch::Tensor;

use crate::common;

/// (name, fixture or yaml, imgsz (0: the trained size), pickled transforms, task).
type Case = (
    &'static str,
    &'static str,
    usize,
    Option<&'static str>,
    &'static str,
);

#[rustfmt::skip]
const CASES: [Case; 9] = [
    // The real captcha classifier at its trained 96 (its pickled transforms), and at 128
    // (another size: classify_transforms(128) instead).
    ("cls_captcha", "captcha-yolo11n-cls", 0, None, "classify"),
    ("cls_captcha_128", "captcha-yolo11n-cls", 128, None, "classify"),
    ("cls_11n_bicubic", "yolo11n-cls.yaml", 160, Some("bicubic_imagenet"), "classify"),
    ("cls_v8n_lanczos", "yolov8n-cls.yaml", 192, Some("lanczos_crop"), "classify"),
    ("cls_26n_box_hamming", "yolo26n-cls.yaml", 224, Some("box_hamming_pad"), "classify"),
    ("cls_11n_list_ignored", "yolo11n-cls.yaml", 160, Some("list_ignored"), "classify"),
    ("cls_11n_none", "yolo11n-cls.yaml", 96, None, "classify"),
    ("sem_26n", "yolo26n-sem.yaml", 320, None, "semantic"),
    ("depth_26s", "yolo26s-depth.yaml", 256, None, "depth"),
];

fn cases() -> Vec<PredictCase> {
    CASES
        .iter()
        .map(|&(name, source, imgsz, transforms, _)| {
            let yaml = source.ends_with(".yaml").then(|| source.to_string());
            PredictCase {
                name: name.into(),
                fixture: yaml.is_none().then(|| source.to_string()),
                yaml,
                end2end: false,
                seed: 17,
                imgsz,
                train_imgsz: None,
                conf: 0.25,
                iou: 0.7,
                max_det: 300,
                classes: None,
                agnostic: false,
                retina_masks: false,
                transforms: transforms.map(str::to_string),
            }
        })
        .collect()
}

fn bits(t: &Tensor) -> Vec<u32> {
    Vec::<f32>::try_from(t.flatten(0, -1))
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn classify_semantic_and_depth_predict_match_ultralytics_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases = cases();
    let suite = Suite::Predict {
        cases: cases.clone(),
        jpeg: false,
    };
    let replied = common::run_suite(&suite, dir.path());
    let (mut problems, mut images, mut values) = (Vec::new(), 0, 0usize);
    for (spec, &(.., task)) in cases.iter().zip(&CASES) {
        let reply = replied.case(&spec.name).unwrap();
        let (det, results) = sppnet::parity::predict_case(&replied, spec).unwrap();
        assert_eq!(det.task().name, task, "{}", spec.name);
        for (run, ours) in reply.runs.iter().zip(results) {
            let name = format!("{}/{}", spec.name, run.name);
            let ours = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
            images += 1;
            let differs = match (&ours.summary, task) {
                (Summary::Probs { probs, top5 }, "classify") => {
                    let theirs = bits(replied.output(run, Output::Probs).unwrap());
                    let rows = bits(replied.output(run, Output::Eval).unwrap());
                    let mine: Vec<u32> = top5
                        .iter()
                        .flat_map(|t| [(t.class as f32).to_bits(), t.confidence.to_bits()])
                        .collect();
                    values += theirs.len();
                    let probs: Vec<u32> = probs.iter().map(|p| p.to_bits()).collect();
                    (probs != theirs)
                        .then(|| "probabilities".to_string())
                        .or_else(|| {
                            (mine != rows).then(|| format!("top5 {mine:?}, ultralytics {rows:?}"))
                        })
                }
                (Summary::Semantic(m), "semantic") => {
                    let t = replied.output(run, Output::Map).unwrap();
                    let theirs = Vec::<i32>::try_from(t.flatten(0, -1)).unwrap();
                    values += theirs.len();
                    let shape = [m.height as i64, m.width as i64];
                    (t.size() != shape || m.data != theirs).then(|| {
                        let n = m.data.iter().zip(&theirs).filter(|(a, b)| a != b).count();
                        format!("class map {shape:?} vs {:?}: {n} pixels differ", t.size())
                    })
                }
                (Summary::Depth(m), "depth") => {
                    let t = replied.output(run, Output::Map).unwrap();
                    let theirs = bits(t);
                    values += theirs.len();
                    let mine: Vec<u32> = m.data.iter().map(|v| v.to_bits()).collect();
                    let shape = [m.height as i64, m.width as i64];
                    (t.size() != shape || mine != theirs).then(|| {
                        let n = mine.iter().zip(&theirs).filter(|(a, b)| a != b).count();
                        format!("depth map {shape:?} vs {:?}: {n} values differ", t.size())
                    })
                }
                (other, _) => Some(format!("a {task} case gave {other:?}")),
            };
            if let Some(why) = differs {
                problems.push(format!("{name}: {why}"));
            }
            if !ours.detections.is_empty() {
                problems.push(format!("{name}: {} detections", ours.detections.len()));
            }
        }
    }
    eprintln!(
        "classify/semantic/depth predict parity: {images} images, {values} values, {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        images >= CASES.len() * 14 && values > 1_000_000,
        "{images} images, {values} values: too few to mean much"
    );
}
