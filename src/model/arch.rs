//! Architectures and their safetensors metadata.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use crate::checkpoint::TensorFile;
use crate::error::{Error, Result};
use crate::pyramid::Rule;
use crate::sppnet::SppNetConfig;
use crate::ultralytics::{ConvBlockConfig, ConvOpts, SppConfig, SppElanConfig, SppfConfig};

/// Metadata key naming the architecture (`sppnet`, `conv`, `spp`, `sppf`, `sppelan`).
pub const META_ARCH: &str = "sppnet.arch";
/// Metadata key holding the architecture's config as JSON.
pub const META_CONFIG: &str = "sppnet.config";
/// Metadata key naming the upstream Python class (`SPP_NET`, `Conv`, `SPP`, `SPPF`, `SPPELAN`).
pub const META_CLASS: &str = "sppnet.class";

/// An architecture and its configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum Arch {
    /// yueruchen `SPP_NET`.
    SppNet(SppNetConfig),
    /// ultralytics `Conv`.
    Conv(ConvBlockConfig),
    /// ultralytics `SPP`.
    Spp(SppConfig),
    /// ultralytics `SPPF`.
    Sppf(SppfConfig),
    /// ultralytics `SPPELAN`.
    SppElan(SppElanConfig),
}

/// Settings given on the command line that replace the checkpoint's (SppNet only).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Pyramid levels.
    pub levels: Option<Vec<i64>>,
    /// Bin rule.
    pub rule: Option<Rule>,
}

fn parse<T: DeserializeOwned>(arch: &str, json: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| Error::Config(format!("bad `{META_CONFIG}` metadata for `{arch}`: {e}")))
}

impl Arch {
    /// The name stored under [`META_ARCH`].
    pub fn name(&self) -> &'static str {
        match self {
            Arch::SppNet(_) => "sppnet",
            Arch::Conv(_) => "conv",
            Arch::Spp(_) => "spp",
            Arch::Sppf(_) => "sppf",
            Arch::SppElan(_) => "sppelan",
        }
    }

    /// The upstream Python class.
    pub fn class(&self) -> &'static str {
        match self {
            Arch::SppNet(_) => "SPP_NET",
            Arch::Conv(_) => "Conv",
            Arch::Spp(_) => "SPP",
            Arch::Sppf(_) => "SPPF",
            Arch::SppElan(_) => "SPPELAN",
        }
    }

    /// Parse an architecture from its name and JSON config.
    pub fn from_json(name: &str, json: &str) -> Result<Arch> {
        Ok(match name {
            "sppnet" => Arch::SppNet(parse(name, json)?),
            "conv" => Arch::Conv(parse(name, json)?),
            "spp" => Arch::Spp(parse(name, json)?),
            "sppf" => Arch::Sppf(parse(name, json)?),
            "sppelan" => Arch::SppElan(parse(name, json)?),
            other => {
                return Err(Error::Config(format!(
                    "unknown architecture `{other}` in `{META_ARCH}` metadata (sppnet, conv, spp, sppf, sppelan)"
                )))
            }
        })
    }

    /// The config as JSON.
    pub fn config_json(&self) -> String {
        let json = match self {
            Arch::SppNet(c) => serde_json::to_string(c),
            Arch::Conv(c) => serde_json::to_string(c),
            Arch::Spp(c) => serde_json::to_string(c),
            Arch::Sppf(c) => serde_json::to_string(c),
            Arch::SppElan(c) => serde_json::to_string(c),
        };
        json.expect("configs serialise")
    }

    /// The architecture a file describes: from its metadata, else (no `sppnet.arch`) an SppNet
    /// inferred from the tensor shapes. Also says how it was found, for the user.
    pub fn of_file(file: &TensorFile, overrides: &Overrides) -> Result<(Arch, String)> {
        let mut arch = match file.metadata.get(META_ARCH) {
            Some(name) => {
                let json = file
                    .metadata
                    .get(META_CONFIG)
                    .map(String::as_str)
                    .unwrap_or("{}");
                Arch::from_json(name, json)?
            }
            None => {
                let arch = Arch::SppNet(infer_sppnet(file, overrides)?);
                return Ok((
                    arch,
                    "no sppnet metadata: SppNet sizes inferred from tensor shapes".into(),
                ));
            }
        };
        match &mut arch {
            Arch::SppNet(c) => {
                if let Some(levels) = &overrides.levels {
                    c.levels = levels.clone();
                }
                if let Some(rule) = overrides.rule {
                    c.rule = rule;
                }
                c.validate()?;
            }
            _ if overrides.levels.is_some() || overrides.rule.is_some() => {
                return Err(Error::Config(format!(
                    "--levels and --rule apply to SppNet, not `{}`",
                    arch.name()
                )));
            }
            _ => {}
        }
        Ok((arch, "config from the file's metadata".into()))
    }

    /// The metadata that describes this architecture.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            (META_ARCH.to_string(), self.name().to_string()),
            (META_CLASS.to_string(), self.class().to_string()),
            (META_CONFIG.to_string(), self.config_json()),
            ("format".to_string(), "pt".to_string()),
        ])
    }

    /// The same architecture with every `Conv` in the fused layout.
    pub fn fused(&self) -> Arch {
        let fuse = |o: &ConvOpts| ConvOpts { fused: true, ..*o };
        let mut a = self.clone();
        match &mut a {
            Arch::SppNet(_) => {}
            Arch::Conv(c) => c.conv.opts = fuse(&c.conv.opts),
            Arch::Spp(c) => (c.cv1, c.cv2) = (fuse(&c.cv1), fuse(&c.cv2)),
            Arch::Sppf(c) => (c.cv1, c.cv2) = (fuse(&c.cv1), fuse(&c.cv2)),
            Arch::SppElan(c) => (c.cv1, c.cv5) = (fuse(&c.cv1), fuse(&c.cv5)),
        }
        a
    }
}

fn dims(file: &TensorFile, key: &str, rank: usize) -> Result<Vec<i64>> {
    let t = file.get(key).ok_or_else(|| {
        Error::Config(format!(
            "no `{META_ARCH}` metadata and no `{key}` tensor: not an SppNet state_dict (ultralytics blocks need the \
             metadata; see the README's schema)"
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
    config.validate()?;
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
