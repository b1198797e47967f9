//! Reading and writing safetensors files as named `tch` tensors plus string metadata.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, View};
use tch::{Device, Kind, Tensor};

use super::atomic::{refuse_existing, write_atomic};
use crate::error::{Error, Result};

/// The contents of a safetensors file: tensors in file order, and the header's metadata.
#[derive(Debug, Default)]
pub struct TensorFile {
    /// Named tensors, on the CPU, in the order of their data in the file.
    pub tensors: Vec<(String, Tensor)>,
    /// The `__metadata__` string map (empty when absent).
    pub metadata: HashMap<String, String>,
}

impl TensorFile {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The names of all tensors, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.iter().map(|(n, _)| n.as_str()).collect()
    }
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::I16 => Kind::Int16,
        Dtype::I8 => Kind::Int8,
        Dtype::U8 => Kind::Uint8,
        Dtype::BOOL => Kind::Bool,
        _ => return None,
    })
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Int16 => Dtype::I16,
        Kind::Int8 => Dtype::I8,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::BOOL,
        _ => return None,
    })
}

/// Read every tensor of a safetensors file onto the CPU.
///
/// # Errors
/// I/O errors, a truncated or corrupt file, and dtypes libtorch has no kind for.
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<TensorFile> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let corrupt = |reason: String| Error::Safetensors {
        path: path.into(),
        reason,
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut tensors = Vec::new();
    for name in header.offset_keys() {
        let view = st.tensor(&name).map_err(|e| corrupt(e.to_string()))?;
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            corrupt(format!(
                "tensor `{name}` has dtype {:?}, which sppnet does not read",
                view.dtype()
            ))
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let tensor = Tensor::f_from_data_size(view.data(), &shape, kind)?;
        tensors.push((name, tensor));
    }
    let metadata = header.metadata().clone().unwrap_or_default();
    Ok(TensorFile { tensors, metadata })
}

/// A tensor copied to host memory, ready to serialise.
struct HostTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &HostTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn to_host(name: &str, t: &Tensor) -> Result<HostTensor> {
    let dtype = dtype_of(t.kind()).ok_or_else(|| {
        Error::InvalidInput(format!(
            "tensor `{name}` has unsupported kind {:?}",
            t.kind()
        ))
    })?;
    let t = t.f_to_device(Device::Cpu)?.f_contiguous()?;
    let numel = t.numel();
    let mut data = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    t.f_copy_data_u8(&mut data, numel)?;
    let shape = t.size().iter().map(|&d| d as usize).collect();
    Ok(HostTensor { dtype, shape, data })
}

/// Write named tensors (any device) and metadata as a safetensors file, atomically.
///
/// The bytes go to a temporary file beside `path`, which is then renamed over it, so a reader
/// never sees a half-written file. An existing `path` is an error unless `overwrite`.
pub fn write_safetensors(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: &HashMap<String, String>,
    overwrite: bool,
) -> Result<()> {
    let path = path.as_ref();
    refuse_existing(path, overwrite)?;
    let host = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), to_host(n, t)?)))
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(
        host.iter().map(|(n, t)| (n.as_str(), t)),
        Some(metadata.clone()),
    )
    .map_err(|e| Error::Safetensors {
        path: path.into(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes, overwrite)
}
