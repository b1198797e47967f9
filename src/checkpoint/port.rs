//! Porting a checkpoint — safetensors, a `torch.save` state_dict, a training checkpoint or a
//! whole pickled module — to a self-describing sppnet safetensors file, with no Python.

use std::collections::HashMap;
use std::path::Path;

use tch::{Kind, Tensor};
use torch_pickle::walk::{find_root, Root, Source};
use torch_pickle::Archive;

use super::infer::{self, ArchChoice, Assume};
use super::torch::{pickle_error, to_tensor};
use super::{read_safetensors, write_safetensors};
use crate::error::{Error, Result};
use crate::model::{Arch, Model, META_ARCH, META_CONFIG};

/// What `sppnet port` was asked for.
#[derive(Debug, Clone, Default)]
pub struct PortOptions {
    /// Dotted path of the module inside the checkpoint (`model.9`); empty = the root.
    pub module: Option<String>,
    /// Architecture (default: from the pickled class, the metadata, or the keys).
    pub arch: ArchChoice,
    /// `model` or `ema` weights of a training checkpoint.
    pub source: Source,
    /// Keep the stored dtypes instead of converting floats to f32.
    pub keep_dtype: bool,
    /// What a plain state_dict cannot tell.
    pub assume: Assume,
}

/// A ported module: its arch, its tensors (keys relative to the module), and the report.
#[derive(Debug)]
pub struct Ported {
    /// The architecture, inferred or given.
    pub arch: Arch,
    /// The state_dict, keys relative to the module.
    pub tensors: Vec<(String, Tensor)>,
    /// What was read.
    pub read: Vec<String>,
    /// What was inferred.
    pub inferred: Vec<String>,
    /// What was assumed (defaults taken for information the file does not hold).
    pub assumed: Vec<String>,
}

fn is_safetensors(bytes: &[u8]) -> bool {
    bytes.len() > 9 && bytes[8] == b'{' && !bytes.starts_with(b"PK")
}

fn select(tensors: Vec<(String, Tensor)>, module: &str) -> Result<Vec<(String, Tensor)>> {
    if module.is_empty() {
        return Ok(tensors);
    }
    let prefix = format!("{module}.");
    let picked: Vec<_> = tensors
        .into_iter()
        .filter_map(|(k, t)| Some((k.strip_prefix(&prefix)?.to_string(), t)))
        .collect();
    if picked.is_empty() {
        return Err(Error::Config(format!("no tensor under `{prefix}`")));
    }
    Ok(picked)
}

/// Read `path` and extract the module `opts.module` with its inferred config.
pub fn port(path: &Path, opts: &PortOptions) -> Result<Ported> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let module = opts.module.clone().unwrap_or_default();
    let mut ported = if is_safetensors(&bytes) {
        from_safetensors(path, &module, opts)?
    } else {
        from_torch(path, &bytes, &module, opts)?
    };
    let converted: Vec<String> = ported
        .tensors
        .iter()
        .filter(|(_, t)| {
            !opts.keep_dtype && matches!(t.kind(), Kind::Half | Kind::BFloat16 | Kind::Double)
        })
        .map(|(_, t)| format!("{:?}", t.kind()))
        .collect();
    if !converted.is_empty() {
        ported.read.push(format!(
            "{} floating tensors converted to f32 (from {})",
            converted.len(),
            converted[0]
        ));
        for (_, t) in ported.tensors.iter_mut() {
            if matches!(t.kind(), Kind::Half | Kind::BFloat16 | Kind::Double) {
                *t = t.f_to_kind(Kind::Float)?;
            }
        }
    }
    ported.inferred.push(format!(
        "{} {}",
        ported.arch.class(),
        ported.arch.config_json()
    ));
    // Strict against the arch: every missing, unexpected or mismatched key in one error.
    Model::new(ported.arch.clone(), tch::Device::Cpu)?.load_tensors(&ported.tensors)?;
    Ok(ported)
}

fn from_safetensors(path: &Path, module: &str, opts: &PortOptions) -> Result<Ported> {
    let file = read_safetensors(path)?;
    let mut read = vec![format!("safetensors with {} tensors", file.tensors.len())];
    let (mut inferred, mut assumed) = (Vec::new(), Vec::new());
    let arch = match (file.metadata.get(META_ARCH), opts.arch) {
        (Some(name), ArchChoice::Auto) if module.is_empty() => {
            read.push(format!("config from `{META_ARCH}` metadata ({name})"));
            Arch::from_json(
                name,
                file.metadata.get(META_CONFIG).map_or("{}", String::as_str),
            )?
        }
        _ => {
            let tensors = select(
                file.tensors
                    .iter()
                    .map(|(k, t)| (k.clone(), t.shallow_clone()))
                    .collect(),
                module,
            )?;
            let arch = guess(&tensors, opts, &mut assumed)?;
            inferred.push("arch from the tensor names and shapes".into());
            return finish(arch, tensors, read, inferred, assumed);
        }
    };
    finish(arch, file.tensors, read, inferred, assumed)
}

fn guess(
    tensors: &[(String, Tensor)],
    opts: &PortOptions,
    assumed: &mut Vec<String>,
) -> Result<Arch> {
    let shapes: HashMap<&str, Vec<i64>> = tensors
        .iter()
        .map(|(k, t)| (k.as_str(), t.size()))
        .collect();
    let has = |k: &str| shapes.contains_key(k);
    let size = |k: &str| shapes.get(k).cloned();
    infer::from_state_dict(opts.arch, &has, &size, opts.assume, assumed)
}

fn finish(
    arch: Arch,
    tensors: Vec<(String, Tensor)>,
    read: Vec<String>,
    inferred: Vec<String>,
    assumed: Vec<String>,
) -> Result<Ported> {
    Ok(Ported {
        arch,
        tensors,
        read,
        inferred,
        assumed,
    })
}

fn from_torch(path: &Path, bytes: &[u8], module: &str, opts: &PortOptions) -> Result<Ported> {
    let archive = Archive::open(bytes).map_err(|e| pickle_error(path, e))?;
    let (root, key) = find_root(&archive.pickle, opts.source).map_err(|e| pickle_error(path, e))?;
    let at = if key.is_empty() {
        "the root".to_string()
    } else {
        format!("`{key}`")
    };
    let mut read = vec![format!(
        "torch.save archive ({:?}-endian)",
        archive.byteorder
    )];
    let (mut inferred, mut assumed) = (Vec::new(), Vec::new());
    let (records, view) = match root {
        Root::Module(m) => {
            let m = m.descend(module).map_err(|e| pickle_error(path, e))?;
            let path_note = if module.is_empty() {
                String::new()
            } else {
                format!(" → {module}")
            };
            read.push(format!(
                "pickled module {}.{} at {at}{path_note}",
                m.class.0, m.class.1
            ));
            (m.state_dict().map_err(|e| pickle_error(path, e))?, Some(m))
        }
        Root::StateDict(sd) => {
            read.push(format!("state_dict of {} tensors at {at}", sd.len()));
            let prefix = format!("{module}.");
            let picked = sd.into_iter().filter_map(|(k, t)| {
                if module.is_empty() {
                    Some((k, t))
                } else {
                    Some((k.strip_prefix(&prefix)?.to_string(), t))
                }
            });
            (picked.collect(), None)
        }
    };
    if records.is_empty() {
        return Err(Error::Config(format!("no tensor under `{module}.`")));
    }
    // Read (and so check) every storage before asking anything about the architecture.
    let tensors = records
        .iter()
        .map(|(k, t)| Ok((k.clone(), to_tensor(&archive, k, t)?)))
        .collect::<Result<Vec<_>>>()?;
    let shapes: HashMap<&str, Vec<i64>> = tensors
        .iter()
        .map(|(k, t)| (k.as_str(), t.size()))
        .collect();
    let has = |k: &str| shapes.contains_key(k);
    let size = |k: &str| shapes.get(k).cloned();
    let arch = match view {
        Some(m) if opts.arch == ArchChoice::Auto => {
            inferred.push(format!(
                "arch from the pickled class `{}` and its attributes",
                m.class.1
            ));
            infer::from_module(&archive.pickle, &m, &size, &mut assumed)?
        }
        _ => {
            inferred.push("arch from the tensor names and shapes".into());
            infer::from_state_dict(opts.arch, &has, &size, opts.assume, &mut assumed)?
        }
    };
    let dtypes: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|(_, t)| t.storage.dtype.name())
        .collect();
    read.push(format!(
        "{} tensors ({})",
        tensors.len(),
        dtypes.into_iter().collect::<Vec<_>>().join(", ")
    ));
    finish(arch, tensors, read, inferred, assumed)
}

/// Write a ported module as a self-describing safetensors file, atomically.
pub fn save(ported: &Ported, dst: &Path, overwrite: bool) -> Result<()> {
    write_safetensors(dst, &ported.tensors, &ported.arch.to_metadata(), overwrite)
}
