//! Porting a checkpoint — safetensors, a `torch.save` state_dict, a training checkpoint or a
//! whole pickled module — to a self-describing sppnet safetensors file, with no Python.
//!
//! The class and config come from, in order: the file's sppnet metadata; the pickled module's
//! class (looked up in the registry) and attributes; or, for a plain state_dict, the class
//! named by the caller or the one class whose shapes fit, with the caller's [`Assume`] for what
//! weights cannot tell.

pub mod inspect;
pub mod torch;
pub mod transforms;
pub mod yaml;

use std::path::Path;

use tch::{Kind, Tensor};
use torch_pickle::walk::{find_root, Root, Source};
use torch_pickle::zip::FileAt;
use torch_pickle::{Archive, TensorRef};

use self::torch::{attribute_values, pickle_error, to_tensor, Storages};
use crate::error::{Error, Result};
use crate::io::{self, open_regular, read_at, read_safetensors, write_safetensors};
use crate::model::{expected_shapes, meta, spec_from_shapes};
use crate::modules::detection_model::DetectionModelConfig;
use crate::modules::task_model::TASK_MODELS;
use crate::modules::{
    by_class, Assume, Block, ClassMatch, DetectionModel, Entry, Notes, Pickled, Shapes, Spec,
    REGISTRY,
};

/// What to port and how.
#[derive(Debug, Clone, Default)]
pub struct PortOptions {
    /// Dotted path of the module inside the checkpoint (`model.9`); empty = the root.
    pub module: Option<String>,
    /// The class to port as; `None`: from the metadata, the pickled class, or the keys.
    pub class: Option<&'static Entry>,
    /// `model` or `ema` weights of a training checkpoint.
    pub source: Source,
    /// Keep the stored dtypes instead of converting floats to f32.
    pub keep_dtype: bool,
    /// What a plain state_dict cannot tell.
    pub assume: Assume,
    /// Globals outside the allow-list (`module.name`) the caller accepts; any other flagged
    /// global refuses the port ([`inspect::flagged_globals`]).
    pub accept_globals: Vec<String>,
    /// Build the model from this model yaml, the file giving its weights only.
    pub yaml: Option<yaml::ModelYaml>,
}

/// A ported module: its spec, its tensors (keys relative to the module), and the report.
#[derive(Debug)]
pub struct Ported {
    /// The class and config, inferred or given.
    pub spec: Spec,
    /// The state_dict, keys relative to the module.
    pub tensors: Vec<(String, Tensor)>,
    /// What was read.
    pub read: Vec<String>,
    /// What was inferred.
    pub inferred: Vec<String>,
    /// What was assumed (defaults taken for information the file does not hold).
    pub assumed: Vec<String>,
    /// The size the model was trained at (`train_args.imgsz`; metadata `sppnet.train_imgsz`).
    pub train_imgsz: Option<i64>,
    /// A classifier's preprocessing (its pickled torchvision transforms; metadata
    /// `sppnet.transforms`).
    pub transforms: Option<crate::images::transforms::Transforms>,
}

/// Whether a file's first bytes look like safetensors (a header length, then `{`).
pub fn is_safetensors(head: &[u8]) -> bool {
    head.len() > 9 && head[8] == b'{' && !head.starts_with(b"PK")
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

/// Read `path` and extract the module `opts.module` with its spec, checked strictly against
/// its tensors (every missing, unexpected or mis-shaped key in one error).
pub fn port(path: &Path, opts: &PortOptions) -> Result<Ported> {
    let (file, len) = open_regular(path)?;
    let head = read_at(&file, path, 0, len.min(16))?;
    let module = opts.module.clone().unwrap_or_default();
    let mut ported = if is_safetensors(&head) {
        from_safetensors(path, &module, opts)?
    } else {
        from_torch(path, FileAt::new(file, len), &module, opts)?
    };
    if opts.yaml.is_some() {
        prefix_layers(&mut ported);
        ported.spec = yaml::fit(ported.spec, &ported.tensors, &mut ported.assumed)?;
    }
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
    ported.inferred.push(ported.spec.to_string());
    let spec = &ported.spec;
    io::check_state_dict(spec.class(), &expected_shapes(spec)?, &ported.tensors).map_err(|e| {
        match &opts.yaml {
            Some(y) => Error::Config(format!(
                "the weights do not fit the model {} builds (check --scale and --nc): {e}",
                y.path.display()
            )),
            None => e,
        }
    })?;
    Ok(ported)
}

/// The spec of a plain state_dict: the class asked for, sized from the shapes with the
/// assumptions, or the one class whose shapes fit.
fn from_shapes(
    tensors: &[(String, Tensor)],
    opts: &PortOptions,
    notes: &mut Notes,
) -> Result<Spec> {
    let Some(entry) = opts.class else {
        return spec_from_shapes(tensors, Some(&opts.assume), notes);
    };
    let shapes = Shapes::new(tensors.iter().map(|(k, t)| (k.clone(), t.size())));
    entry
        .from_shapes(&shapes, Some(&opts.assume), notes)?
        .ok_or_else(|| {
            Error::Config(format!(
                "these tensors cannot be read as {} (its keys are missing)",
                entry.class()
            ))
        })
}

/// The spec a model yaml describes (`opts.yaml`), the file giving the weights only.
fn from_yaml(
    tensors: &[(String, Tensor)],
    opts: &PortOptions,
    read: &mut Vec<String>,
    notes: &mut Notes,
) -> Result<Spec> {
    let Some(y) = &opts.yaml else {
        return Err(Error::Config("no model yaml given".into()));
    };
    if !module_is_root(opts) {
        return Err(Error::Config(
            "a model yaml builds the whole model: it cannot be combined with a module path".into(),
        ));
    }
    let spec = yaml::spec(y, notes)?;
    read.push(format!(
        "model from {} ({} tensors)",
        y.path.display(),
        tensors.len()
    ));
    Ok(spec)
}

/// A state_dict of the layers alone (`model.model.state_dict()`: `0.conv.weight`) put under
/// `model.`, noted.
fn prefix_layers(p: &mut Ported) {
    let bare = |k: &str| {
        k.split('.')
            .next()
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    };
    if !p.tensors.is_empty() && p.tensors.iter().all(|(k, _)| bare(k)) {
        for (k, _) in p.tensors.iter_mut() {
            *k = format!("model.{k}");
        }
        p.inferred
            .push("keys `0.…` are the layers' own: read as `model.0.…`".into());
    }
}

fn module_is_root(opts: &PortOptions) -> bool {
    opts.module.as_deref().unwrap_or_default().is_empty()
}

fn from_safetensors(path: &Path, module: &str, opts: &PortOptions) -> Result<Ported> {
    let file = read_safetensors(path)?;
    let mut read = vec![format!("safetensors with {} tensors", file.tensors.len())];
    let (mut inferred, mut assumed) = (Vec::new(), Vec::new());
    let tensors = select(file.tensors, module)?;
    let described = match opts.class.is_none() && module.is_empty() && opts.yaml.is_none() {
        true => meta::from_metadata(&file.metadata)?,
        false => None,
    };
    let spec = match described {
        None if opts.yaml.is_some() => from_yaml(&tensors, opts, &mut read, &mut assumed)?,
        Some(spec) => {
            read.push(format!(
                "config from `{}` metadata ({})",
                meta::META_ARCH,
                spec.name()
            ));
            spec
        }
        None => {
            inferred.push("class from the tensor names and shapes".into());
            from_shapes(&tensors, opts, &mut assumed)?
        }
    };
    Ok(Ported {
        spec,
        tensors,
        read,
        inferred,
        assumed,
        train_imgsz: meta::train_imgsz(&file.metadata),
        transforms: meta::transforms(&file.metadata)?,
    })
}

/// The spec of a pickled module, from its class and attributes.
fn from_pickled(m: &Pickled<'_>, inferred: &mut Vec<String>, notes: &mut Notes) -> Result<Spec> {
    let (module, class) = m.module().class;
    if by_class(module, class).is_none() && looks_like_detector(m) {
        // The model class its head belongs to (a fork's segmentation model, …).
        let config = crate::modules::by_name(DetectionModel::NAME)?.from_pickle(m, notes)?;
        let spec = DetectionModelConfig::of(&config)
            .ok_or_else(|| Error::Config("no layers".into()))?
            .spec()?;
        inferred.push(format!(
            "`{module}.{class}` is not a registered class, but holds a `model` of YOLO layers and a Detect-family head: read as a {}",
            spec.class()
        ));
        return Ok(spec);
    }
    let Some((entry, how)) = by_class(module, class) else {
        let known: Vec<&str> = REGISTRY.iter().map(|e| e.class()).collect();
        let holds = m
            .module()
            .find(&known)
            .into_iter()
            .map(|(p, c)| (p, c.to_string()))
            .collect();
        return Err(Error::NoPort {
            class: class.to_string(),
            known: crate::modules::registry::known_text(&known),
            holds,
        });
    };
    inferred.push(format!(
        "class from the pickled `{class}` and its attributes{}",
        match how {
            ClassMatch::Exact => String::new(),
            ClassMatch::ByName => format!(
                " (`{module}.{class}` matched by name to {})",
                entry.classes[0]
            ),
        }
    ));
    entry.from_pickle(m, notes)
}

/// A renamed or subclassed `DetectionModel` (a fork's own model class): a `model` container
/// whose layers carry ultralytics' `f` and `i`, ending in a registered head.
fn looks_like_detector(m: &Pickled<'_>) -> bool {
    let Some(seq) = m.try_child("model") else {
        return false;
    };
    let layers = seq.children();
    let Some((_, last)) = layers.last() else {
        return false;
    };
    layers.iter().all(|(_, l)| l.int("i").is_some())
        && matches!(by_class(last.module().class.0, last.class()),
            Some((e, _)) if e.name == "detect" || e.name == "v10detect" || TASK_MODELS.iter().any(|(h, _)| *h == e.name))
}

fn from_torch(path: &Path, src: FileAt, module: &str, opts: &PortOptions) -> Result<Ported> {
    let archive = Archive::open(src).map_err(|e| pickle_error(path, e))?;
    let refused: Vec<_> = inspect::flagged_globals(&archive.pickle)
        .into_iter()
        .filter(|f| !opts.accept_globals.contains(&f.name))
        .collect();
    if !refused.is_empty() {
        return Err(Error::UnsafeGlobals(inspect::describe_flagged(&refused)));
    }
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
    // A pickled module may have no tensors (a pool); a state_dict without any says nothing.
    if records.is_empty() && view.is_none() {
        return Err(Error::Config(format!("no tensor under `{module}.`")));
    }
    torch::check_views(&records)?;
    // Read (and so check) every storage before asking anything about the class.
    let mut storages = Storages::default();
    let tensors = records
        .iter()
        .map(|(k, t)| Ok((k.clone(), to_tensor(&archive, &mut storages, k, t)?)))
        .collect::<Result<Vec<_>>>()?;
    drop(storages);
    let reader = |t: &TensorRef| attribute_values(&archive, t);
    let pickled_transforms = match &view {
        Some(m) => transforms::pickled(&archive.pickle, m, &reader)?,
        None => None,
    };
    let spec = match view {
        _ if opts.yaml.is_some() => from_yaml(&tensors, opts, &mut read, &mut assumed)?,
        Some(m) if opts.class.is_none() => {
            let shapes = Shapes::new(tensors.iter().map(|(k, t)| (k.clone(), t.size())));
            let pickled = Pickled::new(&archive.pickle, m, shapes).with_reader(&reader);
            from_pickled(&pickled, &mut inferred, &mut assumed)?
        }
        _ => {
            inferred.push("class from the tensor names and shapes".into());
            from_shapes(&tensors, opts, &mut assumed)?
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
        spec,
        tensors,
        read,
        inferred,
        assumed,
        train_imgsz: torch::train_imgsz(&archive.pickle),
        transforms: pickled_transforms,
    })
}

/// Write a ported module as a self-describing safetensors file, atomically.
pub fn save(ported: &Ported, dst: &Path, overwrite: bool) -> Result<()> {
    let mut metadata = meta::to_metadata(&ported.spec);
    if let Some(n) = ported.train_imgsz {
        metadata.insert(meta::META_TRAIN_IMGSZ.into(), n.to_string());
    }
    if let Some(t) = &ported.transforms {
        let json = serde_json::to_string(t).map_err(|e| Error::Config(e.to_string()))?;
        metadata.insert(meta::META_TRANSFORMS.into(), json);
    }
    write_safetensors(dst, &ported.tensors, &metadata, overwrite)
}
