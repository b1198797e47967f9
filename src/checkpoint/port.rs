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

/// The entries under `module.` (keys made relative), or all of them for the root.
fn select<T>(named: Vec<(String, T)>, module: &str) -> Result<Vec<(String, T)>> {
    if module.is_empty() {
        return Ok(named);
    }
    let prefix = format!("{module}.");
    let picked: Vec<_> = named
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
    let lossy = |k: Kind| matches!(k, Kind::Half | Kind::BFloat16 | Kind::Double);
    let converted: Vec<Kind> = ported
        .tensors
        .iter()
        .map(|(_, t)| t.kind())
        .filter(|&k| !opts.keep_dtype && lossy(k))
        .collect();
    if let Some(first) = converted.first() {
        ported.read.push(format!(
            "{} floating tensors converted to f32 (from {first:?})",
            converted.len()
        ));
        for (_, t) in ported.tensors.iter_mut().filter(|(_, t)| lossy(t.kind())) {
            *t = t.f_to_kind(Kind::Float)?;
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

/// The shape of every tensor, by key.
fn shapes(tensors: &[(String, Tensor)]) -> HashMap<&str, Vec<i64>> {
    tensors
        .iter()
        .map(|(k, t)| (k.as_str(), t.size()))
        .collect()
}

/// The arch of a plain state_dict (keys, shapes, flags).
fn guess(
    tensors: &[(String, Tensor)],
    opts: &PortOptions,
    assumed: &mut Vec<String>,
) -> Result<Arch> {
    let shapes = shapes(tensors);
    let has = |k: &str| shapes.contains_key(k);
    let size = |k: &str| shapes.get(k).cloned();
    infer::from_state_dict(opts.arch, &has, &size, opts.assume, assumed)
}

fn from_safetensors(path: &Path, module: &str, opts: &PortOptions) -> Result<Ported> {
    let file = read_safetensors(path)?;
    let mut read = vec![format!("safetensors with {} tensors", file.tensors.len())];
    let (mut inferred, mut assumed) = (Vec::new(), Vec::new());
    let tensors = select(file.tensors, module)?;
    let described = file
        .metadata
        .get(META_ARCH)
        .filter(|_| opts.arch == ArchChoice::Auto && module.is_empty());
    let arch = match described {
        Some(name) => {
            read.push(format!("config from `{META_ARCH}` metadata ({name})"));
            Arch::from_json(
                name,
                file.metadata.get(META_CONFIG).map_or("{}", String::as_str),
            )?
        }
        None => {
            inferred.push("arch from the tensor names and shapes".into());
            guess(&tensors, opts, &mut assumed)?
        }
    };
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
            let below = if module.is_empty() {
                String::new()
            } else {
                format!(" → {module}")
            };
            read.push(format!(
                "pickled module {}.{} at {at}{below}",
                m.class.0, m.class.1
            ));
            (m.state_dict().map_err(|e| pickle_error(path, e))?, Some(m))
        }
        Root::StateDict(sd) => {
            read.push(format!("state_dict of {} tensors at {at}", sd.len()));
            (select(sd, module)?, None)
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
    let arch = match view {
        Some(m) if opts.arch == ArchChoice::Auto => {
            inferred.push(format!(
                "arch from the pickled class `{}` and its attributes",
                m.class.1
            ));
            let shapes = shapes(&tensors);
            infer::from_module(
                &archive.pickle,
                &m,
                &|k: &str| shapes.get(k).cloned(),
                &mut assumed,
            )?
        }
        _ => {
            inferred.push("arch from the tensor names and shapes".into());
            guess(&tensors, opts, &mut assumed)?
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
    Ok(Ported {
        arch,
        tensors,
        read,
        inferred,
        assumed,
    })
}

/// Write a ported module as a self-describing safetensors file, atomically.
pub fn save(ported: &Ported, dst: &Path, overwrite: bool) -> Result<()> {
    write_safetensors(dst, &ported.tensors, &ported.arch.to_metadata(), overwrite)
}
