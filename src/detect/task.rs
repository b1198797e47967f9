//! The tasks `predict` runs, one [`Task`] each in [`TASKS`]: the model class it takes, how its
//! NMS runs, and how one image's rows become [`Detection`]s on the original image (its result
//! file: `detect` here, [`super::pose`], [`super::obb`]). Adding a task is a head, a result
//! file and one line in [`TASKS`].

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::summary::Summary;
use super::{classify, dense, obb, pose, segment, Detection, RunAs};
use crate::error::{Error, Result};
use crate::images::letterbox::{scale_boxes, Gains};
use crate::modules::detection_model::DetectionModelConfig;
use crate::modules::task_model::detect_part_mut;

/// What a task adds to a detection.
#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    /// A plain detection.
    None,
    /// Pose: each keypoint's `x, y` (and visibility, for a `kpt_shape` of 3) on the original
    /// image (`result.keypoints.data[i]`).
    Keypoints(Vec<Vec<f32>>),
    /// OBB: `cx, cy, w, h, angle` on the original image (`result.obb.xywhr[i]`); the
    /// detection's box is its axis-aligned hull (`result.obb.xyxy[i]`).
    Obb([f32; 5]),
    /// Segment: the instance mask (`result.masks.data[i]`), at the input size (or the
    /// original's with `retina_masks`).
    Mask(super::segment::Mask),
}

impl Extra {
    /// The JSON fields this adds to a detection (`keypoints`; `obb`; `mask` and `segments`).
    pub fn json(&self) -> Vec<(&'static str, Value)> {
        let f = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        match self {
            Extra::None => vec![],
            Extra::Keypoints(k) => vec![(
                "keypoints",
                json!(k.iter().map(|p| f(p)).collect::<Vec<_>>()),
            )],
            Extra::Obb(b) => vec![("obb", json!(f(b)))],
            Extra::Mask(m) => vec![
                (
                    "mask",
                    json!({"size": [m.height, m.width], "counts": m.counts}),
                ),
                (
                    "segments",
                    json!(m.polygon.iter().map(|p| f(p)).collect::<Vec<_>>()),
                ),
            ],
        }
    }

    /// A few words for a plain-text line (`17 keypoints`, `obb [cx, cy, w, h, angle]`).
    pub fn summary(&self) -> Option<String> {
        match self {
            Extra::None => None,
            Extra::Keypoints(k) => Some(format!("{} keypoints", k.len())),
            Extra::Obb([x, y, w, h, r]) => {
                Some(format!("obb [{x:.1}, {y:.1}, {w:.1}, {h:.1}, {r:.3}]"))
            }
            Extra::Mask(m) => Some(format!("mask of {} px", m.area())),
        }
    }

    /// The values after `x1, y1, x2, y2, conf, class` in the parity suite's rows.
    pub fn values(&self) -> Vec<f32> {
        match self {
            Extra::None => vec![],
            Extra::Keypoints(k) => k.iter().flatten().copied().collect(),
            Extra::Obb(b) => b.to_vec(),
            Extra::Mask(_) => vec![],
        }
    }
}

/// What a task's result file gets for one image.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The letterboxed input's `(h, w)`.
    pub input: (usize, usize),
    /// The original's `(h, w)`.
    pub original: (usize, usize),
    /// Class names.
    pub names: &'a BTreeMap<i64, String>,
    /// The head's `kpt_shape` (pose).
    pub kpt_shape: Option<[usize; 2]>,
    /// This image's mask prototypes `[nm, mh, mw]` (segment).
    pub proto: Option<tch::Tensor>,
    /// Masks at the original size (`retina_masks`), else at the input size.
    pub retina_masks: bool,
}

impl Frame<'_> {
    /// A detection of class `row[5]`, score `row[4]`, box `bbox`, with `extra`.
    pub fn detection(&self, row: &[f32], bbox: [f32; 4], extra: Extra) -> Detection {
        let class = row[5] as i64;
        let name = self
            .names
            .get(&class)
            .cloned()
            .unwrap_or_else(|| class.to_string());
        Detection {
            class,
            name,
            confidence: row[4],
            bbox,
            extra,
        }
    }

    /// The gains back onto the original.
    pub fn gains(&self) -> Gains {
        Gains::new(self.input, self.original)
    }
}

/// One image's NMS rows (each `6 + e` values) to detections on the original image.
pub type Finish = fn(&Frame<'_>, Vec<Vec<f32>>) -> Result<Vec<Detection>>;

/// One image's outputs (each `[1, …]`) to its summary (a task without boxes).
pub type Each = fn(&Frame<'_>, &[tch::Tensor]) -> Result<Summary>;

/// How an image becomes the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `LetterBox(auto=True)`: the aspect kept, padded with 114 up to the stride.
    Letterbox,
    /// `LetterBox(scale_fill=True)`: stretched to `imgsz × imgsz` (a `scale_fill` predictor).
    Stretch,
    /// The classifier's transforms (pickled, or `classify_transforms(imgsz)`).
    Transforms,
}

/// How the outputs become results.
#[derive(Debug, Clone, Copy)]
pub enum Post {
    /// Boxes through NMS (or the end-to-end rows), then each image's rows to detections.
    Nms {
        /// NMS on rotated boxes (`rotated=True`).
        rotated: bool,
        /// NMS told the class count (`nc=len(names)`), so that the task's channels after the
        /// classes are kept; a detector's NMS takes every channel as a class (`nc=0`).
        counts_classes: bool,
        /// One image's NMS rows to detections on the original image.
        finish: Finish,
    },
    /// Each image's outputs to a summary (top-5, a class map, a depth map).
    Each(Each),
}

/// A task `predict` runs.
#[derive(Debug)]
pub struct Task {
    /// ultralytics' name for it (`detect`, `pose`, `obb`, …), as `--json` reports it.
    pub name: &'static str,
    /// The model class (registry name) whose checkpoints it runs.
    pub model: &'static str,
    /// How an image becomes the input.
    pub input: Input,
    /// How the outputs become results.
    pub post: Post,
    /// The suffix of the map file `--save-dir` writes beside each picture (semantic, depth).
    pub map_file: Option<&'static str>,
}

/// Every task `predict` runs. One line per task.
#[rustfmt::skip]
pub static TASKS: &[Task] = &[
    nms("detect", "detection_model", false, false, detect),
    nms("pose", "pose_model", false, true, pose::finish),
    nms("obb", "obb_model", true, true, obb::finish),
    nms("segment", "segmentation_model", false, true, segment::finish),
    each("classify", "classification_model", Input::Transforms, classify::finish, None),
    each("semantic", "semantic_segmentation_model", Input::Letterbox, dense::semantic, Some("semantic.png")),
    each("depth", "depth_model", Input::Stretch, dense::depth, Some("depth.npy")),
];

/// A box [`Task`]: name, model class, rotated NMS, NMS told the class count, result file.
const fn nms(
    name: &'static str,
    model: &'static str,
    rotated: bool,
    counts_classes: bool,
    finish: Finish,
) -> Task {
    let post = Post::Nms {
        rotated,
        counts_classes,
        finish,
    };
    Task {
        name,
        model,
        input: Input::Letterbox,
        post,
        map_file: None,
    }
}

/// A [`Task`] without boxes: name, model class, input, result file, map file suffix.
const fn each(
    name: &'static str,
    model: &'static str,
    input: Input,
    f: Each,
    map_file: Option<&'static str>,
) -> Task {
    Task {
        name,
        model,
        input,
        post: Post::Each(f),
        map_file,
    }
}

/// The task whose model class is `model`.
pub fn for_model(model: &str) -> Option<&'static Task> {
    TASKS.iter().find(|t| t.model == model)
}

/// `spec` with its head set up as `predict` sets it: the one-to-one branch chosen or not
/// (before fusing, which drops the branch not chosen), and its top-k settings; refused unless
/// its model class is one a [`Task`] runs.
pub fn head_as_predict(spec: &crate::Spec, run: &RunAs) -> Result<(crate::Spec, &'static Task)> {
    let not_run = || {
        let tasks: Vec<&str> = TASKS.iter().map(|t| t.name).collect();
        Error::Config(format!(
            "{} is not a model sppnet predict runs yet (it runs ultralytics {} models)",
            spec.class(),
            tasks.join(", ")
        ))
    };
    let task = for_model(spec.name()).ok_or_else(not_run)?;
    let mut config = DetectionModelConfig::of(spec).ok_or_else(not_run)?;
    let head = config
        .layers
        .last_mut()
        .and_then(|l| detect_part_mut(&mut l.module));
    if let Some(serde_json::Value::Object(head)) = head {
        let has = |k: &str| head.get(k).is_some_and(|v| !v.is_null());
        if has("one2one_cv2") {
            let end2end = run.end2end || !has("cv2");
            head.insert("end2end".into(), end2end.into());
            if end2end {
                head.insert("max_det".into(), run.max_det.max(300).into());
                head.insert("agnostic_nms".into(), run.agnostic.into());
            }
        }
    }
    Ok((config.spec()?, task))
}

/// `DetectionPredictor.construct_result`: boxes scaled back and clipped.
fn detect(f: &Frame<'_>, rows: Vec<Vec<f32>>) -> Result<Vec<Detection>> {
    let mut boxes: Vec<[f32; 4]> = rows.iter().map(|r| [r[0], r[1], r[2], r[3]]).collect();
    scale_boxes(f.input, &mut boxes, f.original);
    Ok(rows
        .iter()
        .zip(boxes)
        .map(|(r, b)| f.detection(r, b, Extra::None))
        .collect())
}
