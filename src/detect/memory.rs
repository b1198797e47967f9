//! What a forward pass will hold, estimated before it runs: the model probed once at load on
//! an input of its stride's size (weights of the right shapes only), the peak of activation
//! elements held between layers per input pixel, scaled by each input's area.

use tch::{Device, Kind, Tensor};

use super::Detector;
use crate::error::{Error, Result};
use crate::modules::detection_model::DetectionModelConfig;
use crate::modules::{Block, DetectionModel};

/// The default most memory the model's activations may take for one forward pass (estimated
/// before the pass; see [`Detector::activation_bytes`]): 2 GiB — yolov8n up to about 5600
/// pixels a side, yolov8x up to about 2500.
pub const DEFAULT_MAX_MEMORY: u64 = 2 << 30;

/// What a pass takes beyond the activations held between layers (each block's own
/// temporaries, the head's concatenations, layout copies): measured as the peak RSS growth of
/// `sppnet detect` with a yolov8n at `--imgsz` 4096 and 8192 over the held activations,
/// 2.2× and 2.0×.
const TEMPORARIES: f64 = 2.5;

/// The most activation elements the load-time probe (one input of the stride's size) may
/// hold: a model over it would need hundreds of GiB at 640.
const PROBE_BUDGET: u64 = 64 << 20;

/// Elements held per input pixel: the model probed (weights of the right shapes only) on
/// one `s × s` input, `s` its largest stride.
pub(super) fn probe(config: &DetectionModelConfig, ch: i64, s: usize) -> Result<f64> {
    let s = s as i64;
    tch::no_grad(|| {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let model = DetectionModel::new(&crate::nn::Scope::shapes_only(vs.root()), config)?;
        let x = Tensor::f_zeros([1, ch, s, s], (Kind::Float, Device::Cpu))?;
        let peak = model.peak_elements(&x, PROBE_BUDGET).map_err(|e| match e {
            Error::MemoryLimit(_) => Error::Config(format!(
                "the model's activations on one {s}×{s} input already pass {PROBE_BUDGET} elements"
            )),
            e => e,
        })?;
        Ok(peak as f64 / (s * s) as f64)
    })
}

impl Detector {
    /// The estimated bytes a forward pass of `batch` inputs of `h × w` takes: the activations
    /// held between layers (the outputs kept for later layers plus one layer's input and
    /// output, as measured at load, scaled by the area) times the measured allowance for
    /// temporaries.
    pub fn activation_bytes(&self, batch: usize, h: usize, w: usize) -> u64 {
        let elem = match self.model.kind() {
            Kind::Half | Kind::BFloat16 => 2.0,
            _ => 4.0,
        };
        (self.per_pixel * (h * w * batch) as f64 * elem * TEMPORARIES) as u64
    }

    /// Refuse a pass whose [`Detector::activation_bytes`] pass `max_bytes`.
    pub fn check_memory(&self, batch: usize, h: usize, w: usize, max_bytes: u64) -> Result<()> {
        let need = self.activation_bytes(batch, h, w);
        if need <= max_bytes {
            return Ok(());
        }
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        Err(Error::MemoryLimit(format!(
            "a forward pass on {batch} input(s) of {w}×{h} would take about {:.2} GiB of \
             activations, more than the {:.2} GiB memory limit",
            gib(need),
            gib(max_bytes)
        )))
    }
}
