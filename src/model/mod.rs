//! Self-describing checkpoints: a module's weights plus its architecture in the safetensors
//! metadata, so `sppnet forward --weights X.safetensors` needs no other flags.
//!
//! # Metadata schema
//! | key | value |
//! |---|---|
//! | `sppnet.arch` | `sppnet`, `conv`, `spp`, `sppf` or `sppelan` |
//! | `sppnet.class` | the upstream class: `SPP_NET`, `Conv`, `SPP`, `SPPF`, `SPPELAN` (informative) |
//! | `sppnet.config` | the arch's config as JSON ([`SppNetConfig`](crate::SppNetConfig), [`crate::ultralytics::SppfConfig`], …) |
//! | `format` | `pt` (what `safetensors.torch` writes; ignored on reading) |
//!
//! A file without `sppnet.arch` (a state_dict saved by `safetensors.torch.save_file`) is read
//! as an SppNet whose sizes are inferred from the tensor shapes.

mod arch;

pub use arch::{Arch, Overrides, META_ARCH, META_CLASS, META_CONFIG};

use std::collections::BTreeMap;
use std::path::Path;

use tch::{nn, Device, Tensor};

use crate::checkpoint::{self, read_safetensors, write_safetensors};
use crate::error::{Error, Result};
use crate::sppnet::SppNet;
use crate::ultralytics::{Conv, Spp, SppElan, Sppf};

/// A network built from an [`Arch`].
#[derive(Debug)]
pub enum Net {
    /// yueruchen `SPP_NET` (boxed: it is much larger than the blocks).
    SppNet(Box<SppNet>),
    /// ultralytics `Conv`.
    Conv(Conv),
    /// ultralytics `SPP`.
    Spp(Spp),
    /// ultralytics `SPPF`.
    Sppf(Sppf),
    /// ultralytics `SPPELAN`.
    SppElan(SppElan),
}

impl Net {
    /// Build `arch` under `p` with random weights.
    pub fn new(p: &nn::Path, arch: &Arch) -> Result<Net> {
        Ok(match arch {
            Arch::SppNet(c) => Net::SppNet(Box::new(SppNet::new(p, c.clone())?)),
            Arch::Conv(c) => Net::Conv(Conv::new(p, c.c1, c.c2, &c.conv)?),
            Arch::Spp(c) => Net::Spp(Spp::new(p, c)?),
            Arch::Sppf(c) => Net::Sppf(Sppf::new(p, c)?),
            Arch::SppElan(c) => Net::SppElan(SppElan::new(p, c)?),
        })
    }

    /// Run the network; BatchNorm in eval mode (`train = false`) or training mode.
    ///
    /// # Shapes
    /// SppNet: `[N, input_nc, H, W]` → `[N, classes]`; blocks: `[N, c1, H, W]` → `[N, c2, H', W']`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Net::SppNet(m) => m.forward_t(x, train),
            Net::Conv(m) => m.forward_t(x, train),
            Net::Spp(m) => m.forward_t(x, train),
            Net::Sppf(m) => m.forward_t(x, train),
            Net::SppElan(m) => m.forward_t(x, train),
        }
    }

    /// The ultralytics `Conv`s inside, with their state_dict prefixes.
    pub fn convs(&self) -> Vec<(&'static str, &Conv)> {
        match self {
            Net::SppNet(_) => vec![],
            Net::Conv(c) => vec![("", c)],
            Net::Spp(m) => vec![("cv1.", &m.cv1), ("cv2.", &m.cv2)],
            Net::Sppf(m) => vec![("cv1.", &m.cv1), ("cv2.", &m.cv2)],
            Net::SppElan(m) => vec![("cv1.", &m.cv1), ("cv5.", &m.cv5)],
        }
    }
}

/// A network and the variable store holding its weights (keys = PyTorch state_dict keys).
#[derive(Debug)]
pub struct Model {
    /// Owns every weight and buffer.
    pub vs: nn::VarStore,
    /// The network.
    pub net: Net,
    /// What was built.
    pub arch: Arch,
}

impl Model {
    /// A randomly initialised model on `device`.
    pub fn new(arch: Arch, device: Device) -> Result<Model> {
        let vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root(), &arch)?;
        Ok(Model { vs, net, arch })
    }

    /// Build the model a safetensors file describes and load its weights strictly.
    /// Returns the model and a sentence saying where its config came from.
    pub fn load(
        path: impl AsRef<Path>,
        device: Device,
        overrides: &Overrides,
    ) -> Result<(Model, String)> {
        let file = read_safetensors(path)?;
        let (arch, how) = Arch::of_file(&file, overrides)?;
        let model = Model::new(arch, device)?;
        model.load_tensors(&file.tensors)?;
        Ok((model, how))
    }

    /// Copy a state_dict into the model (strict; see [`checkpoint::load_state_dict`]).
    pub fn load_tensors(&self, tensors: &[(String, Tensor)]) -> Result<()> {
        checkpoint::load_state_dict(self.arch.class(), &self.vs.variables(), tensors)
    }

    /// The state_dict, sorted by key: what PyTorch's `load_state_dict(strict=True)` accepts.
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut named: Vec<_> = self.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    /// Save weights and architecture as a self-describing safetensors file, atomically.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        write_safetensors(
            path,
            &self.state_dict(),
            &self.arch.to_metadata(),
            overwrite,
        )
    }

    /// The architecture's name, as in the metadata.
    pub fn name(&self) -> &'static str {
        self.arch.name()
    }

    /// Eval-mode forward, without autograd.
    ///
    /// # Shapes
    /// As [`Net::forward_t`].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        tch::no_grad(|| self.net.forward_t(x, false))
    }

    /// The floating-point kind of the weights (inputs must match): f32, or f16 after
    /// [`Model::half`].
    pub fn kind(&self) -> tch::Kind {
        self.vs
            .variables()
            .values()
            .find(|t| t.is_floating_point())
            .map_or(tch::Kind::Float, Tensor::kind)
    }

    /// Convert every floating-point weight to f16 (`--half` inference on CUDA).
    pub fn half(&mut self) {
        self.vs.half();
    }

    /// The same model with BatchNorm folded into every `Conv`, as ultralytics' `model.fuse()`
    /// does (same arithmetic: [`Conv::fused_weights`]). Already-fused convs are kept.
    pub fn fuse(&self) -> Result<Model> {
        let convs = self.net.convs();
        if convs.is_empty() {
            return Err(Error::Config(format!(
                "{} has no ultralytics Conv to fuse",
                self.arch.class()
            )));
        }
        let mut sd: BTreeMap<String, Tensor> = self.state_dict().into_iter().collect();
        for (prefix, conv) in convs {
            if let Some((weight, bias)) = conv.fused_weights()? {
                let bn = format!("{prefix}bn.");
                sd.retain(|k, _| !k.starts_with(&bn));
                sd.insert(format!("{prefix}conv.weight"), weight);
                sd.insert(format!("{prefix}conv.bias"), bias);
            }
        }
        let fused = Model::new(self.arch.fused(), self.vs.device())?;
        fused.load_tensors(&sd.into_iter().collect::<Vec<_>>())?;
        Ok(fused)
    }
}
