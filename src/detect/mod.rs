//! Whole-detector inference, as ultralytics' `YOLO(weights).predict(…)` does it on a PyTorch
//! model: the model fused (`model.fuse()`), its weights channels-last on x86 CPUs (upstream's
//! default there), each image letterboxed with minimal padding up to the stride (so it keeps its
//! own aspect and size), scaled `/ 255`, the first output through `non_max_suppression` (or the
//! end-to-end head's rows), and boxes scaled back onto the original image.
//!
//! [`Detector`] runs one same-sized batch; [`run`] runs files and folders, batching images of
//! one size together, with per-file errors.

mod classify;
mod dense;
mod input;
mod memory;
mod obb;
pub mod picture;
mod polygons;
mod pose;
pub mod postprocess;
pub mod rotated;
pub mod run;
mod segment;
pub mod summary;
pub mod task;

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::images::Rgb8;
use crate::modules::detection_model::DetectionModelConfig;
use crate::port::{is_safetensors, port, PortOptions};
use crate::Model;

pub use memory::DEFAULT_MAX_MEMORY;
pub use picture::picture;
pub use postprocess::{nms_rows, non_max_suppression, Nms};
pub use summary::Summary;
pub use task::{Extra, Task};

/// ultralytics' default inference size.
pub const DEFAULT_IMGSZ: usize = 640;

/// One detection on the original image.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Class index.
    pub class: i64,
    /// Class name from the checkpoint (the index when it has none).
    pub name: String,
    /// Score.
    pub confidence: f32,
    /// `x1, y1, x2, y2` in pixels of the original image (an oriented box's hull).
    pub bbox: [f32; 4],
    /// What the task adds (keypoints, the oriented box).
    pub extra: task::Extra,
}

impl Detection {
    /// As upstream's result row: `x1, y1, x2, y2, confidence, class`.
    pub fn row(&self) -> [f32; 6] {
        let [x1, y1, x2, y2] = self.bbox;
        [x1, y1, x2, y2, self.confidence, self.class as f32]
    }
}

/// How the model runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunAs {
    /// Where.
    pub device: Device,
    /// fp16 on CUDA (on the CPU ignored, as ultralytics ignores it there).
    pub half: bool,
    /// Channels-last weights; `None`: upstream's default (x86 CPU with oneDNN: yes; else no).
    pub channels_last: Option<bool>,
    /// Run a model that has a one-to-one head (YOLO26, YOLOv10) end to end, without NMS, as
    /// `predict(nms=False)`; by default `predict` uses its one-to-many head and NMS. A model
    /// whose one-to-many head was fused away runs end to end either way.
    pub end2end: bool,
    /// Most detections (`max_det`): end to end, the head keeps `max(max_det, 300)` candidates
    /// before the confidence and class filters, as `predict` sets it.
    pub max_det: usize,
    /// Class-agnostic top-k of the one-to-one head (`agnostic_nms`).
    pub agnostic: bool,
}

impl Default for RunAs {
    fn default() -> Self {
        RunAs {
            device: Device::Cpu,
            half: false,
            channels_last: None,
            end2end: false,
            max_det: 300,
            agnostic: false,
        }
    }
}

/// The model's largest stride, at least 32 (`check_imgsz`'s `max(int(model.stride.max()), 32)`).
fn largest_stride(config: &DetectionModelConfig) -> usize {
    (config.stride.iter().copied().fold(0.0, f64::max) as usize).max(32)
}

/// One forward pass on a zero image of the stride's size: a head whose metadata (classes,
/// keypoint shape, mask channels) disagrees with its weights fails here, with one line, before
/// any image is read.
fn check_head(model: &Model, stride: usize) -> Result<()> {
    let c = model.module().in_channels().unwrap_or(3);
    let s = stride as i64;
    let x = Tensor::f_zeros([1, c, s, s], (model.kind(), model.device()))?;
    model.forward_named(&x).map(|_| ()).map_err(|e| {
        Error::Config(format!(
            "the checkpoint's head does not fit its weights (its metadata — classes, keypoint shape, mask channels — disagrees with them): {e}"
        ))
    })
}

/// A detector ready to run: fused, on its device, with the checkpoint's names and strides.
#[derive(Debug)]
pub struct Detector {
    model: Model,
    config: DetectionModelConfig,
    task: &'static Task,
    kpt_shape: Option<[usize; 2]>,
    end2end: bool,
    /// `float(v) / 255` for every byte, as libtorch computes it (the f32 input's table).
    lut: Vec<f32>,
    /// The model's weights are channels-last: its input is made channels-last too (the
    /// letterboxed bytes' own order), sparing the first convolution libtorch's reorder.
    channels_last: bool,
    /// Activation elements per input pixel (one image), measured at load on an input of the
    /// stride's size.
    per_pixel: f64,
    /// The size the model was trained at (the checkpoint's `train_args.imgsz`), when known.
    pub train_imgsz: Option<usize>,
    /// A classifier's pickled transforms, when the checkpoint has them.
    pub transforms: Option<crate::images::transforms::Transforms>,
    /// What loading noted (defaults taken, settings ignored).
    pub notes: Vec<String>,
}

impl Detector {
    /// Load a user's checkpoint: an ultralytics `.pt` (ported on the fly, no Python) or a
    /// `.safetensors` written by `sppnet port`.
    pub fn load(path: &Path, run: RunAs) -> Result<Detector> {
        Detector::load_with(path, run, &PortOptions::default())
    }

    /// [`Detector::load`] with porting options for a `.pt` (e.g. globals the caller accepts), or
    /// a model yaml that builds the model around any file's weights.
    pub fn load_with(path: &Path, run: RunAs, opts: &PortOptions) -> Result<Detector> {
        let (file, len) = crate::io::open_regular(path)?;
        let head = crate::io::read_at(&file, path, 0, len.min(16))?;
        let (model, trained, transforms) = if is_safetensors(&head) && opts.yaml.is_none() {
            let meta = crate::io::read_header(path)?.metadata;
            let trained = crate::model::meta::train_imgsz(&meta);
            let transforms = crate::model::meta::transforms(&meta)?;
            (Model::load(path, Device::Cpu)?, trained, transforms)
        } else {
            let ported = port(path, opts)?;
            let model = Model::from_tensors(ported.spec, &ported.tensors, Device::Cpu)?;
            (model, ported.train_imgsz, ported.transforms)
        };
        let mut det = Detector::from_model(model, run)?;
        det.train_imgsz = trained.and_then(|n| usize::try_from(n).ok());
        det.transforms = transforms;
        Ok(det)
    }

    /// A detector from a loaded model (refused unless it is a `DetectionModel`).
    pub fn from_model(model: Model, run: RunAs) -> Result<Detector> {
        let (spec, task) = task::head_as_predict(model.spec(), &run)?;
        // Built on its device once; `fuse` builds the fused model there too (idempotent: an
        // already fused checkpoint's convs are left as they are).
        let model = Model::from_tensors(spec, &model.state_dict(), run.device)?.fuse()?;
        let config = DetectionModelConfig::of(model.spec())
            .ok_or_else(|| Error::Config("not a detector".into()))?;
        let end2end = config.head().is_some_and(|h| h.is_end2end());
        let mut notes = Vec::new();
        if run.end2end && !end2end {
            notes.push(
                "--end2end asks for a one-to-one head, which this model has not: it runs with NMS"
                    .into(),
            );
        }
        check_head(&model, largest_stride(&config))?;
        let per_pixel = memory::probe(
            &config,
            model.module().in_channels().unwrap_or(3),
            largest_stride(&config),
        )?;
        let mut model = model;
        if run.half && run.device == Device::Cpu {
            notes.push(
                "half precision applies on CUDA; running f32 on the CPU, as ultralytics does"
                    .into(),
            );
        } else if run.half {
            model.half()?;
        }
        let x86 = cfg!(target_arch = "x86_64") && tch::utils::has_mkldnn();
        let channels_last = run
            .channels_last
            .unwrap_or(run.device == Device::Cpu && x86);
        if channels_last {
            model.channels_last()?;
        }
        let lut = Vec::<f32>::try_from(
            Tensor::f_arange(256, (Kind::Float, Device::Cpu))?.f_div_scalar(255)?,
        )?;
        let kpt_shape = config.layers.last().and_then(|l| {
            let k: [usize; 2] =
                serde_json::from_value(l.module.config.get("kpt_shape")?.clone()).ok()?;
            Some(k)
        });
        Ok(Detector {
            model,
            config,
            task,
            kpt_shape,
            end2end,
            lut,
            channels_last,
            per_pixel,
            train_imgsz: None,
            transforms: None,
            notes,
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The task it runs (`detect`, `pose`, `obb`).
    pub fn task(&self) -> &'static Task {
        self.task
    }

    /// Class names by index.
    pub fn names(&self) -> &BTreeMap<i64, String> {
        &self.config.names
    }

    /// Whether the head is end-to-end (rows straight from the model, no NMS).
    pub fn end2end(&self) -> bool {
        self.end2end
    }

    /// `predict`'s default `imgsz`: the size the model was trained at when the checkpoint says
    /// (`_reset_ckpt_args` keeps `train_args.imgsz`), else 640.
    pub fn default_imgsz(&self) -> usize {
        self.train_imgsz.unwrap_or(DEFAULT_IMGSZ)
    }

    /// The stride sizes are rounded to: the model's largest, at least 32 (`check_imgsz`).
    pub fn stride(&self) -> usize {
        largest_stride(&self.config)
    }

    /// `imgsz` rounded up to a multiple of [`Detector::stride`], as `check_imgsz` does.
    pub fn image_size(&self, imgsz: usize) -> usize {
        let s = self.stride();
        imgsz.div_ceil(s).max(1) * s
    }

    /// The model's outputs: the predictions, then (a segmentation model's) the mask
    /// prototypes.
    pub fn infer(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        Ok(self
            .model
            .forward_named(x)?
            .into_iter()
            .map(|(_, t)| t)
            .collect())
    }

    /// NMS (or the end-to-end rows) and boxes back onto each original `(h, w)`.
    pub fn postprocess(
        &self,
        outputs: &[Tensor],
        nms: &Nms,
        input: (usize, usize),
        originals: &[(usize, usize)],
    ) -> Result<Vec<(Vec<Detection>, Summary)>> {
        let frame = |i: usize, original| -> Result<task::Frame<'_>> {
            Ok(task::Frame {
                input,
                original,
                names: &self.config.names,
                kpt_shape: self.kpt_shape,
                proto: outputs.get(1).map(|p| p.f_get(i as i64)).transpose()?,
                retina_masks: nms.retina_masks,
            })
        };
        let (rotated, counts_classes, finish) = match self.task.post {
            task::Post::Nms {
                rotated,
                counts_classes,
                finish,
            } => (rotated, counts_classes, finish),
            task::Post::Each(each) => {
                return originals
                    .iter()
                    .enumerate()
                    .map(|(i, &original)| {
                        let mine = outputs
                            .iter()
                            .map(|o| o.f_narrow(0, i as i64, 1))
                            .collect::<std::result::Result<Vec<_>, _>>()?;
                        Ok((vec![], each(&frame(i, original)?, &mine)?))
                    })
                    .collect();
            }
        };
        // `nc=len(names)` for a task whose rows carry channels after the classes.
        let names = match self.config.names.len() {
            0 => self.config.nc as usize,
            n => n,
        };
        let nc = counts_classes.then_some(names);
        let pred = outputs
            .first()
            .ok_or_else(|| Error::InvalidInput("the model gave no output".into()))?;
        let rows = nms_rows(pred, nms, self.end2end, nc, rotated)?;
        if rows.len() != originals.len() {
            return Err(Error::InvalidInput(format!(
                "{} images but {} predictions",
                originals.len(),
                rows.len()
            )));
        }
        rows.into_iter()
            .zip(originals)
            .enumerate()
            .map(|(i, (rows, &original))| Ok((finish(&frame(i, original)?, rows)?, Summary::None)))
            .collect()
    }

    /// Detect on a batch of same-sized images.
    pub fn detect(&self, images: &[&Rgb8], imgsz: usize, nms: &Nms) -> Result<Vec<Vec<Detection>>> {
        nms.validate()?; // before the model runs
        let imgsz = self.image_size(imgsz);
        if let Some(first) = images.first() {
            let (w, h) = self.input_size(first.height, first.width, imgsz)?;
            self.check_memory(images.len(), h, w, DEFAULT_MAX_MEMORY)?;
        }
        let x = self.preprocess(images, imgsz)?;
        let pred = self.infer(&x)?;
        let (h1, w1) = (x.size()[2] as usize, x.size()[3] as usize);
        let originals: Vec<(usize, usize)> = images.iter().map(|i| (i.height, i.width)).collect();
        let all = self.postprocess(&pred, nms, (h1, w1), &originals)?;
        Ok(all.into_iter().map(|(d, _)| d).collect())
    }
}
