//! `torch.save` files into `tch` tensors: the thin layer over the `torch-pickle` reader.

use tch::{Kind, Tensor};
use torch_pickle::zip::ReadAt;
use torch_pickle::{Archive, ByteOrder, DType, TensorRef};

use crate::error::{Error, Result};

/// The tch kind of a storage dtype.
pub fn kind_of(d: DType) -> Option<Kind> {
    Some(match d {
        DType::F32 => Kind::Float,
        DType::F16 => Kind::Half,
        DType::BF16 => Kind::BFloat16,
        DType::F64 => Kind::Double,
        DType::I64 => Kind::Int64,
        DType::I32 => Kind::Int,
        DType::I16 => Kind::Int16,
        DType::I8 => Kind::Int8,
        DType::U8 => Kind::Uint8,
        DType::Bool => Kind::Bool,
        DType::Unsupported => return None,
    })
}

/// A reader error as the library's error, naming the file.
pub fn pickle_error(path: &std::path::Path, e: torch_pickle::Error) -> Error {
    Error::TorchFile {
        path: path.into(),
        error: e,
    }
}

/// Storages already read, by key: each storage of an archive is read (and CRC-checked) once,
/// however many tensors view it.
#[derive(Debug, Default)]
pub struct Storages(std::collections::BTreeMap<String, Tensor>);

impl Storages {
    fn get<S: ReadAt>(
        &mut self,
        archive: &Archive<S>,
        t: &TensorRef,
        kind: tch::Kind,
    ) -> Result<Tensor> {
        if let Some(s) = self.0.get(&t.storage.key) {
            return Ok(s.shallow_clone());
        }
        let bad = |why: String| Error::InvalidInput(format!("storage `{}`: {why}", t.storage.key));
        let mut bytes = archive.tensor_storage(t).map_err(|e| bad(e.to_string()))?;
        let elt = t.storage.dtype.size();
        if archive.byteorder == ByteOrder::Big && elt > 1 {
            bytes.chunks_exact_mut(elt).for_each(|c| c.reverse());
        }
        let numel = i64::try_from(t.storage.numel).map_err(|_| bad("size overflows".into()))?;
        let s = Tensor::f_from_data_size(&bytes, &[numel], kind)?;
        self.0.insert(t.storage.key.clone(), s.shallow_clone());
        Ok(s)
    }
}

/// Materialise one tensor record: its storage (bounds- and CRC-checked by the reader, read once
/// through `storages`), byte swapped when the archive is big-endian, viewed with the record's
/// offset, size and stride, then copied into a tensor of its own (a view never keeps a whole
/// shared storage alive). Views and shared storages give exactly what `torch.load` gives.
pub fn to_tensor<S: ReadAt>(
    archive: &Archive<S>,
    storages: &mut Storages,
    name: &str,
    t: &TensorRef,
) -> Result<Tensor> {
    let bad = |why: String| Error::InvalidInput(format!("tensor `{name}`: {why}"));
    let kind = kind_of(t.storage.dtype).ok_or_else(|| bad("storage dtype not supported".into()))?;
    let to_i64 = |v: &[u64]| {
        v.iter()
            .map(|&x| i64::try_from(x).map_err(|_| bad("size overflows".into())))
            .collect::<Result<Vec<_>>>()
    };
    let (shape, stride) = (to_i64(&t.shape)?, to_i64(&t.stride)?);
    let offset = i64::try_from(t.offset).map_err(|_| bad("offset overflows".into()))?;
    let storage = storages
        .get(archive, t, kind)
        .map_err(|e| bad(e.to_string()))?;
    if t.numel().map_err(|e| bad(e.to_string()))? == 0 {
        return Ok(Tensor::f_zeros(&shape, (kind, tch::Device::Cpu))?);
    }
    let view = storage.f_as_strided(shape.as_slice(), stride.as_slice(), offset)?;
    let mut own = Tensor::f_empty(shape.as_slice(), (kind, tch::Device::Cpu))?;
    own.f_copy_(&view)?;
    Ok(own)
}

/// Refuse views that would multiply the data: a ported file stores every tensor on its own, so
/// thousands of views of one storage (which `torch.load` shares) would be written out whole.
pub fn check_views(records: &[(String, torch_pickle::TensorRef)]) -> Result<()> {
    let mut storages = std::collections::BTreeMap::new();
    let mut views: u64 = 0;
    for (name, t) in records {
        let elt = t.storage.dtype.size() as u64;
        let numel = t
            .numel()
            .map_err(|e| Error::InvalidInput(format!("tensor `{name}`: {e}")))?;
        views = views.saturating_add(numel.saturating_mul(elt));
        storages.insert(&t.storage.key, t.storage.numel.saturating_mul(elt));
    }
    let stored: u64 = storages.values().fold(0, |a, b| a.saturating_add(*b));
    if views > stored.saturating_mul(4).saturating_add(64 << 20) {
        return Err(Error::Limit(format!(
            "{} tensors would hold {views} bytes, viewing {stored} bytes of storage (views that share storage would be written out whole)",
            records.len()
        )));
    }
    Ok(())
}

/// The size the model was trained at, as `YOLO(w).predict` takes it by default: `imgsz` of
/// the checkpoint's `train_args` (a dict, or the 8.0-era namespace object), when it is one
/// whole number in 1..=8192 (`_reset_ckpt_args` keeps it; `[h, w]` lists are not used).
pub fn train_imgsz(p: &torch_pickle::Pickle) -> Option<i64> {
    let args = p.get(p.root.as_ref()?, "train_args")?;
    let holder = match p.node_of(args)? {
        torch_pickle::Node::Dict(_) => args,
        torch_pickle::Node::Object { state: Some(s), .. } => s,
        _ => return None,
    };
    match p.get(holder, "imgsz")? {
        torch_pickle::Value::Int(n) if (1..=8192).contains(n) => Some(*n),
        _ => None,
    }
}

/// The values of a small tensor attribute (a model's `stride`): at most 4096 elements, from a
/// storage of at most 1 Mi elements.
pub fn attribute_values(
    archive: &torch_pickle::Archive<torch_pickle::zip::FileAt>,
    t: &TensorRef,
) -> Option<Vec<f64>> {
    if t.numel().ok()? > 4096 || t.storage.numel > 1 << 20 {
        return None;
    }
    let x = to_tensor(archive, &mut Storages::default(), "attribute", t).ok()?;
    Vec::<f64>::try_from(&x.f_to_kind(tch::Kind::Double).ok()?.f_flatten(0, -1).ok()?).ok()
}
