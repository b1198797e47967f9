//! Self-describing checkpoints: a module's weights plus its architecture in the safetensors
//! metadata, so `sppnet forward --weights X.safetensors` needs no other flags.
//!
//! # Metadata schema
//! | key | value |
//! |---|---|
//! | `sppnet.arch` | `sppnet` (later issues add the ultralytics blocks) |
//! | `sppnet.config` | the arch's config as JSON, e.g. [`SppNetConfig`] |
//! | `format` | `pt` (what `safetensors.torch` writes; ignored on reading) |
//!
//! A file without `sppnet.arch` (a state_dict saved by `safetensors.torch.save_file`) is read
//! as an SppNet whose sizes are inferred from the tensor shapes.

use std::collections::HashMap;
use std::path::Path;

use tch::{nn, Device, Tensor};

use crate::checkpoint::{self, read_safetensors, write_safetensors, TensorFile};
use crate::error::{Error, Result};
use crate::pyramid::Rule;
use crate::sppnet::{SppNet, SppNetConfig};

/// Metadata key naming the architecture.
pub const META_ARCH: &str = "sppnet.arch";
/// Metadata key holding the architecture's config as JSON.
pub const META_CONFIG: &str = "sppnet.config";

/// An architecture and its configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum Arch {
    /// yueruchen `SPP_NET`.
    SppNet(SppNetConfig),
}

/// Settings given on the command line that replace the checkpoint's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Pyramid levels.
    pub levels: Option<Vec<i64>>,
    /// Bin rule.
    pub rule: Option<Rule>,
}

impl Arch {
    /// The architecture a file describes: from its metadata, else inferred from its shapes.
    /// Also says how it was found, for the user.
    pub fn of_file(file: &TensorFile, overrides: &Overrides) -> Result<(Arch, String)> {
        let (mut config, how) = match file.metadata.get(META_ARCH).map(String::as_str) {
            Some("sppnet") => {
                let json = file
                    .metadata
                    .get(META_CONFIG)
                    .map(String::as_str)
                    .unwrap_or("{}");
                let config: SppNetConfig = serde_json::from_str(json)
                    .map_err(|e| Error::Config(format!("bad `{META_CONFIG}` metadata: {e}")))?;
                (config, "config from the file's metadata".to_string())
            }
            Some(other) => {
                return Err(Error::Config(format!(
                    "unknown architecture `{other}` in `{META_ARCH}` metadata"
                )))
            }
            None => (
                infer_sppnet(file, overrides)?,
                "no sppnet metadata: SppNet sizes inferred from tensor shapes".to_string(),
            ),
        };
        if let Some(levels) = &overrides.levels {
            config.levels = levels.clone();
        }
        if let Some(rule) = overrides.rule {
            config.rule = rule;
        }
        config.validate()?;
        Ok((Arch::SppNet(config), how))
    }

    /// The metadata that describes this architecture.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let Arch::SppNet(config) = self;
        let json = serde_json::to_string(config).expect("configs serialise");
        HashMap::from([
            (META_ARCH.to_string(), "sppnet".to_string()),
            (META_CONFIG.to_string(), json),
            ("format".to_string(), "pt".to_string()),
        ])
    }
}

fn dims(file: &TensorFile, key: &str, rank: usize) -> Result<Vec<i64>> {
    let t = file.get(key).ok_or_else(|| {
        Error::Config(format!(
            "no `{META_ARCH}` metadata and no `{key}` tensor: not an SppNet state_dict"
        ))
    })?;
    let size = t.size();
    if size.len() != rank {
        return Err(Error::Config(format!(
            "`{key}` has shape {size:?}, expected rank {rank}"
        )));
    }
    Ok(size)
}

fn infer_sppnet(file: &TensorFile, overrides: &Overrides) -> Result<SppNetConfig> {
    let conv1 = dims(file, "conv1.weight", 4)?;
    let fc1 = dims(file, "fc1.weight", 2)?;
    let fc2 = dims(file, "fc2.weight", 2)?;
    let config = SppNetConfig {
        input_nc: conv1[1],
        ndf: conv1[0],
        levels: overrides
            .levels
            .clone()
            .unwrap_or_else(|| SppNetConfig::default().levels),
        hidden: fc1[0],
        classes: fc2[0],
        rule: overrides.rule.unwrap_or_default(),
    };
    if config.fc1_in() != fc1[1] {
        return Err(Error::Config(format!(
            "fc1 takes {} features but levels {:?} with ndf {} give {}: pass the levels (--levels)",
            fc1[1],
            config.levels,
            config.ndf,
            config.fc1_in()
        )));
    }
    Ok(config)
}

/// A network built from an [`Arch`].
#[derive(Debug)]
pub enum Net {
    /// yueruchen `SPP_NET`.
    SppNet(SppNet),
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
        let Arch::SppNet(config) = &arch;
        let net = Net::SppNet(SppNet::new(&vs.root(), config.clone())?);
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
        checkpoint::load_state_dict(self.name(), &self.vs.variables(), tensors)
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
        match self.net {
            Net::SppNet(_) => "sppnet",
        }
    }

    /// Eval-mode forward.
    ///
    /// # Shapes
    /// As the network's own `forward`; SppNet: `[N, input_nc, H, W]` → `[N, classes]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        tch::no_grad(|| match &self.net {
            Net::SppNet(m) => m.forward(x),
        })
    }

    /// The floating-point kind of the weights (inputs must match).
    pub fn kind(&self) -> tch::Kind {
        self.vs.kind()
    }
}
