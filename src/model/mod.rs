//! Self-describing checkpoints: a module's weights plus its class and config in the safetensors
//! metadata ([`meta`]), so that `Model::load(path, device)` needs nothing else.
//!
//! A file without `sppnet.arch` (a state_dict saved by `safetensors.torch.save_file`) is read as
//! the one registered class its shapes determine (an SppNet); where they determine none or
//! several, loading fails and says so.

pub mod meta;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;
use tch::{nn, Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::io::{self, read_safetensors, write_safetensors};
use crate::modules::{Assume, Flow, Module, Notes, Shapes, Spec, REGISTRY};
use crate::nn::Scope;
use crate::tensor::check_module_input;

/// The most weight elements a model built without weights may have (randomly initialised):
/// 2³² (16 GiB of f32). Models loaded with weights are bounded by their files instead.
pub const MAX_RANDOM_ELEMENTS: i64 = 1 << 32;

/// Where a model's class and config came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// The file's `sppnet.*` metadata.
    Metadata,
    /// The tensor shapes of a state_dict without metadata.
    Shapes,
    /// A [`Spec`] given in code.
    Given,
}

/// A module, the variable store holding its weights (keys = PyTorch state_dict keys) and the
/// spec it was built from.
#[derive(Debug)]
pub struct Model {
    vs: nn::VarStore,
    module: Box<dyn Module>,
    spec: Spec,
    source: ConfigSource,
}

/// The state_dict keys and shapes `spec` builds, without allocating any weight.
pub fn expected_shapes(spec: &Spec) -> Result<HashMap<String, Tensor>> {
    let vs = nn::VarStore::new(Device::Cpu);
    spec.build(&Scope::shapes_only(vs.root()))?;
    Ok(vs.variables())
}

/// The registered class of a state_dict without metadata. Each class is asked to size itself
/// from the shapes with `assume` (`None`: nothing may be assumed); when one class recognises
/// the tensors it is the answer (a strict load then lists whatever does not match); when several
/// do, the one that fits every key and shape. `notes` gets the assumptions of the class chosen.
pub fn spec_from_shapes(
    tensors: &[(String, Tensor)],
    assume: Option<&Assume>,
    notes: &mut Notes,
) -> Result<Spec> {
    let shapes = Shapes::new(tensors.iter().map(|(k, t)| (k.clone(), t.size())));
    let mut recognised = Vec::new();
    for entry in REGISTRY {
        let mut taken = Notes::new();
        if let Ok(Some(spec)) = entry.from_shapes(&shapes, assume, &mut taken) {
            recognised.push((spec, taken));
        }
    }
    let names = |specs: &[(Spec, Notes)]| {
        let names: Vec<String> = specs
            .iter()
            .map(|(s, _)| format!("{} ({})", s.class(), s.name()))
            .collect();
        names.join(" and ")
    };
    let mut pick = |(spec, taken): (Spec, Notes)| {
        notes.extend(taken);
        Ok(spec)
    };
    match recognised.len() {
        0 => Err(Error::Ambiguous(match assume {
            None => "no `sppnet.arch` metadata, and no class is determined by these tensors alone (ultralytics blocks need the metadata, or a port with assumptions)".into(),
            Some(_) => "no registered class recognises these tensor names".into(),
        })),
        1 => pick(recognised.remove(0)),
        _ => {
            let all = names(&recognised);
            let mut fitting = Vec::new();
            for (spec, taken) in recognised {
                let expected = expected_shapes(&spec)?;
                if io::check_state_dict(spec.class(), &expected, tensors).is_ok() {
                    fitting.push((spec, taken));
                }
            }
            match fitting.len() {
                1 => pick(fitting.remove(0)),
                0 => Err(Error::Ambiguous(format!(
                    "they look like {all} but fit none of them strictly"
                ))),
                _ => Err(Error::Ambiguous(format!(
                    "they fit {}; name the class",
                    names(&fitting)
                ))),
            }
        }
    }
}

/// Loads a self-describing checkpoint, with settings that replace the file's.
#[derive(Debug, Clone)]
pub struct Loader {
    path: PathBuf,
    device: Device,
    settings: Vec<(String, Value)>,
}

impl Loader {
    /// On `device` [default: the CPU].
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Replace config field `field` (e.g. SppNet's `levels` or `rule`) with `value`; a class
    /// without that field refuses it ([`Error::NoSuchSetting`]).
    pub fn set(mut self, field: &str, value: impl serde::Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.settings.push((field.to_string(), value));
        self
    }

    /// Read the file, build the model its metadata (or shapes) describe, apply the settings,
    /// and load the weights strictly.
    pub fn load(self) -> Result<Model> {
        let file = read_safetensors(&self.path)?;
        let (mut spec, source) = match meta::from_metadata(&file.metadata)? {
            Some(spec) => (spec, ConfigSource::Metadata),
            None => (
                spec_from_shapes(&file.tensors, None, &mut Notes::new())?,
                ConfigSource::Shapes,
            ),
        };
        for (field, value) in self.settings {
            spec = spec.with(&field, value)?;
        }
        let mut model = Model::from_tensors(spec, &file.tensors, self.device)?;
        model.source = source;
        Ok(model)
    }
}

impl Model {
    /// A randomly initialised model on `device` (at most [`MAX_RANDOM_ELEMENTS`] weights).
    pub fn new(spec: Spec, device: Device) -> Result<Model> {
        let total: i64 = expected_shapes(&spec)?
            .values()
            .map(|t| t.size().iter().product::<i64>())
            .fold(0, i64::saturating_add);
        if total > MAX_RANDOM_ELEMENTS {
            return Err(Error::Config(format!(
                "{spec} would have {total} weights (more than {MAX_RANDOM_ELEMENTS})"
            )));
        }
        Self::build(spec, device)
    }

    fn build(spec: Spec, device: Device) -> Result<Model> {
        let vs = nn::VarStore::new(device);
        let module = spec.build(&Scope::new(vs.root()))?;
        Ok(Model {
            vs,
            module,
            spec,
            source: ConfigSource::Given,
        })
    }

    /// `spec` with `tensors` as its weights, checked strictly (every missing, unexpected or
    /// mis-shaped key in one error) before anything is allocated.
    pub fn from_tensors(spec: Spec, tensors: &[(String, Tensor)], device: Device) -> Result<Model> {
        io::check_state_dict(spec.class(), &expected_shapes(&spec)?, tensors)?;
        let model = Self::build(spec, device)?;
        io::load_state_dict(model.spec.class(), &model.vs.variables(), tensors)?;
        Ok(model)
    }

    /// Load a self-describing checkpoint (the one-line entry; see [`Model::loader`] for
    /// settings).
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Model> {
        Model::loader(path).device(device).load()
    }

    /// A [`Loader`] for `path`, to set the device and replace settings.
    pub fn loader(path: impl AsRef<Path>) -> Loader {
        Loader {
            path: path.as_ref().to_path_buf(),
            device: Device::Cpu,
            settings: Vec::new(),
        }
    }

    /// The spec (class and config) it was built from.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Where its config came from.
    pub fn source(&self) -> ConfigSource {
        self.source
    }

    /// The module.
    pub fn module(&self) -> &dyn Module {
        self.module.as_ref()
    }

    /// The device of its weights.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The floating-point kind of the weights (inputs must match): f32, or f16 after
    /// [`Model::half`].
    pub fn kind(&self) -> Kind {
        self.vs
            .variables()
            .values()
            .find(|t| t.is_floating_point())
            .map_or(Kind::Float, Tensor::kind)
    }

    /// `x` on the model's device and in its floating-point kind.
    pub fn prepare_input(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_to_device(self.device())?.f_to_kind(self.kind())?)
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let (channels, kind) = (self.module.in_channels(), self.kind());
        check_module_input(x, "the input", channels, kind, self.device()).map(|_| ())
    }

    /// Run the module, checking the input once (rank, channels, dtype, device).
    ///
    /// # Shapes
    /// As the module's [`Module::forward_t`].
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.check(x)?;
        self.module.forward_t(x, train)
    }

    /// Eval-mode forward, without autograd.
    ///
    /// # Shapes
    /// As the module's [`Module::forward_t`].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        tch::no_grad(|| self.forward_t(x, false))
    }

    /// Every output of the eval-mode forward, named as `sppnet forward` writes them: `output`
    /// (what [`Model::forward`] gives), then `proto` (a segmentation model's mask prototypes,
    /// its second output) and `output2`, … for any further ones.
    pub fn forward_named(&self, x: &Tensor) -> Result<Vec<(String, Tensor)>> {
        self.check(x)?;
        let flow = tch::no_grad(|| {
            self.module
                .forward_flow(&Flow::One(x.shallow_clone()), false)
        })?;
        let outputs = match flow {
            Flow::One(t) => vec![t],
            Flow::Tuple(ts) if !ts.is_empty() => ts,
            _ => return Err(Error::InvalidInput("the model gave no tensor".into())),
        };
        Ok(outputs
            .into_iter()
            .enumerate()
            .map(|(i, t)| match i {
                0 => ("output".to_string(), t),
                1 => ("proto".to_string(), t),
                i => (format!("output{i}"), t),
            })
            .collect())
    }

    /// The module's fixed-length feature vector (eval mode, without autograd); an error for a
    /// module that has none.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, F]`.
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        self.check(x)?;
        tch::no_grad(|| self.module.features_t(x, false))?
            .ok_or_else(|| Error::Config(format!("{} has no feature vector", self.spec.class())))
    }

    /// The state_dict, sorted by key: what PyTorch's `load_state_dict(strict=True)` accepts.
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut named: Vec<_> = self.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    /// Copy a state_dict into the model (strict; see [`io::load_state_dict`]).
    pub fn load_tensors(&self, tensors: &[(String, Tensor)]) -> Result<()> {
        io::load_state_dict(self.spec.class(), &self.vs.variables(), tensors)
    }

    /// Save weights and spec as a self-describing safetensors file, atomically.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        let metadata = meta::to_metadata(&self.spec);
        write_safetensors(path, &self.state_dict(), &metadata, overwrite)
    }

    /// Convert every floating-point weight to f16, after checking that libtorch has fp16
    /// convolution on the model's device (CPU builds may lack it).
    pub fn half(&mut self) -> Result<()> {
        let device = self.device();
        let probe = || -> std::result::Result<Tensor, tch::TchError> {
            let x = Tensor::f_ones([1, 1, 4, 4], (Kind::Half, device))?;
            let w = Tensor::f_ones([1, 1, 3, 3], (Kind::Half, device))?;
            x.f_conv2d(&w, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1)
        };
        let _probe = probe().map_err(|e| {
            Error::Config(format!(
                "this libtorch has no fp16 convolution on {device:?} ({})",
                e.to_string().lines().next().unwrap_or("")
            ))
        })?;
        self.vs.half();
        Ok(())
    }

    /// Store every 4-D weight channels-last (NHWC strides), as PyTorch's
    /// `module.to(memory_format=torch.channels_last)`: convolutions then take libtorch's
    /// channels-last (oneDNN) path, whose sums are ordered differently from the NCHW path's —
    /// what ultralytics' `predict` does on x86 CPUs, so its bits need it.
    pub fn channels_last(&self) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            for (_, mut t) in self.vs.variables() {
                if let [n, c, h, w] = t.size()[..] {
                    let strides = [h * w * c, 1, w * c, c];
                    let nhwc =
                        Tensor::f_empty_strided([n, c, h, w], strides, (t.kind(), t.device()))?;
                    let mut nhwc = nhwc;
                    nhwc.f_copy_(&t)?;
                    t.f_set_data(&nhwc)?;
                }
            }
            Ok(())
        })
    }

    /// The same model with BatchNorm folded into every convolution the module lists as
    /// [`Module::fusable`], as ultralytics' `model.fuse()` does (same arithmetic).
    pub fn fuse(&self) -> Result<Model> {
        let units = self.module.fusable();
        if units.is_empty() {
            return Err(Error::Config(format!(
                "{} has no BatchNorm to fold",
                self.spec.class()
            )));
        }
        let mut sd: BTreeMap<String, Tensor> = self.state_dict().into_iter().collect();
        for (prefix, unit) in units {
            unit.fold(&prefix, &mut sd)?;
        }
        let sd: Vec<(String, Tensor)> = sd.into_iter().collect();
        let mut fused = Model::from_tensors(self.spec.fused()?, &sd, self.device())?;
        fused.source = self.source;
        Ok(fused)
    }
}
