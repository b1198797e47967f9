//! Reading and writing safetensors files as named `tch` tensors plus string metadata.
//!
//! The format (an 8-byte little-endian header length, a JSON header, the tensors' bytes) is
//! read and written here directly: the header first and alone (so `inspect` reads no tensor
//! data and a huge file is not loaded whole), each tensor's bytes then one at a time; and the
//! output is byte-reproducible (metadata keys and tensors in sorted order).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};
use tch::{Device, Kind, Tensor};

use super::atomic::{refuse_existing, write_atomic};
use super::files::{open_regular, read_at};
use crate::error::{Error, Result};

/// The largest header read (the format's own limit is 100 MB).
pub const MAX_HEADER: u64 = 100_000_000;

/// The contents of a safetensors file: tensors in file order, and the header's metadata.
#[derive(Debug, Default)]
pub struct TensorFile {
    /// Named tensors, on the CPU, in the order of their data in the file.
    pub tensors: Vec<(String, Tensor)>,
    /// The `__metadata__` string map (empty when absent).
    pub metadata: BTreeMap<String, String>,
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

/// One tensor's entry in a header.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Its name.
    pub name: String,
    /// Its dtype as the format spells it (`F32`, `I64`, …).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<i64>,
    /// Byte range in the data section.
    pub data: std::ops::Range<u64>,
}

/// A safetensors header, read and checked without reading any tensor.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// Tensors in data order.
    pub tensors: Vec<TensorInfo>,
    /// The `__metadata__` map.
    pub metadata: BTreeMap<String, String>,
    /// Where the data section starts in the file.
    pub data_start: u64,
}

const DTYPES: [(&str, Kind); 10] = [
    ("F32", Kind::Float),
    ("F64", Kind::Double),
    ("F16", Kind::Half),
    ("BF16", Kind::BFloat16),
    ("I64", Kind::Int64),
    ("I32", Kind::Int),
    ("I16", Kind::Int16),
    ("I8", Kind::Int8),
    ("U8", Kind::Uint8),
    ("BOOL", Kind::Bool),
];

/// The libtorch kind of a dtype name.
pub fn kind_of(dtype: &str) -> Option<Kind> {
    DTYPES.iter().find(|(d, _)| *d == dtype).map(|(_, k)| *k)
}

fn dtype_of(kind: Kind) -> Option<&'static str> {
    DTYPES.iter().find(|(_, k)| *k == kind).map(|(d, _)| *d)
}

fn parse_header(
    json: &[u8],
    file_len: u64,
    data_start: u64,
) -> std::result::Result<Header, String> {
    let map: Map<String, Value> =
        serde_json::from_slice(json).map_err(|e| format!("header is not a JSON object: {e}"))?;
    let mut header = Header {
        data_start,
        ..Default::default()
    };
    for (name, v) in map {
        if name == "__metadata__" {
            let m: BTreeMap<String, String> = serde_json::from_value(v)
                .map_err(|_| "`__metadata__` is not a map of strings".to_string())?;
            header.metadata = m;
            continue;
        }
        let dtype = v["dtype"]
            .as_str()
            .ok_or(format!("`{name}` has no dtype"))?;
        let shape: Vec<i64> = serde_json::from_value(v["shape"].clone())
            .map_err(|_| format!("`{name}` has no valid shape"))?;
        let offsets: [u64; 2] = serde_json::from_value(v["data_offsets"].clone())
            .map_err(|_| format!("`{name}` has no valid data_offsets"))?;
        let kind = kind_of(dtype).ok_or(format!(
            "tensor `{name}` has dtype {dtype}, which sppnet does not read"
        ))?;
        let numel = shape.iter().try_fold(1u64, |n, &d| {
            u64::try_from(d).ok().and_then(|d| n.checked_mul(d))
        });
        let bytes = numel.and_then(|n| n.checked_mul(kind.elt_size_in_bytes() as u64));
        if bytes != offsets[1].checked_sub(offsets[0]) {
            return Err(format!(
                "`{name}`: shape {shape:?} does not fit data_offsets {offsets:?}"
            ));
        }
        header.tensors.push(TensorInfo {
            name,
            dtype: dtype.to_string(),
            shape,
            data: offsets[0]..offsets[1],
        });
    }
    header.tensors.sort_by_key(|t| (t.data.start, t.data.end));
    let mut end = 0;
    for t in &header.tensors {
        if t.data.start != end {
            return Err(format!(
                "tensor `{}`: data not contiguous with the previous tensor",
                t.name
            ));
        }
        end = t.data.end;
    }
    if data_start.checked_add(end) != Some(file_len) {
        return Err(format!(
            "the header describes {end} bytes of data, the file holds {}",
            file_len.saturating_sub(data_start)
        ));
    }
    Ok(header)
}

/// Read and check the header of a safetensors file (no tensor data is read).
pub fn read_header(path: impl AsRef<Path>) -> Result<Header> {
    let path = path.as_ref();
    let (file, len) = open_regular(path)?;
    header_of(&file, len, path)
}

fn header_of(file: &std::fs::File, len: u64, path: &Path) -> Result<Header> {
    let corrupt = |reason: String| Error::Safetensors {
        path: path.into(),
        reason,
    };
    if len < 8 {
        return Err(corrupt("shorter than the 8-byte header length".into()));
    }
    let n = u64::from_le_bytes(
        read_at(file, path, 0, 8)?
            .try_into()
            .map_err(|_| corrupt("unreadable header length".into()))?,
    );
    if n > MAX_HEADER || n > len - 8 {
        return Err(corrupt(format!(
            "header length {n} exceeds the file or 100 MB"
        )));
    }
    let json = read_at(file, path, 8, n)?;
    parse_header(&json, len, 8 + n).map_err(corrupt)
}

/// Read every tensor of a safetensors file onto the CPU, one at a time after the header.
///
/// # Errors
/// Not a regular file, I/O errors, a truncated or corrupt file, and dtypes libtorch has no kind
/// for.
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<TensorFile> {
    let path = path.as_ref();
    let (file, len) = open_regular(path)?;
    let header = header_of(&file, len, path)?;
    let mut tensors = Vec::with_capacity(header.tensors.len());
    for t in &header.tensors {
        let bytes = read_at(
            &file,
            path,
            header.data_start + t.data.start,
            t.data.end - t.data.start,
        )?;
        let kind = kind_of(&t.dtype).unwrap_or(Kind::Uint8);
        tensors.push((
            t.name.clone(),
            Tensor::f_from_data_size(&bytes, &t.shape, kind)?,
        ));
    }
    Ok(TensorFile {
        tensors,
        metadata: header.metadata,
    })
}

/// The bytes of a safetensors file holding `tensors` (any device) and `metadata`: tensors
/// sorted by name, metadata keys sorted, so equal inputs give equal bytes.
pub fn serialize(
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut sorted: Vec<&(String, Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header: BTreeMap<String, Value> = BTreeMap::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), json!(metadata));
    }
    let mut data: Vec<Vec<u8>> = Vec::with_capacity(sorted.len());
    let mut offset = 0usize;
    for (name, t) in sorted {
        let dtype = dtype_of(t.kind()).ok_or_else(|| {
            Error::InvalidInput(format!(
                "tensor `{name}` has unsupported kind {:?}",
                t.kind()
            ))
        })?;
        let t = t.f_to_device(Device::Cpu)?.f_contiguous()?;
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
        t.f_copy_data_u8(&mut bytes, numel)?;
        let end = offset + bytes.len();
        header.insert(
            name.clone(),
            json!({"dtype": dtype, "shape": t.size(), "data_offsets": [offset, end]}),
        );
        offset = end;
        data.push(bytes);
    }
    // A BTreeMap: keys in sorted order, whatever serde_json's features.
    let mut json = serde_json::to_vec(&header).map_err(|e| Error::InvalidInput(e.to_string()))?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json);
    data.iter().for_each(|d| out.extend(d));
    Ok(out)
}

/// Write named tensors (any device) and metadata as a safetensors file, atomically and
/// reproducibly (see [`serialize`] and [`write_atomic`]). An existing `path` is an error unless
/// `overwrite`.
pub fn write_safetensors(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
    overwrite: bool,
) -> Result<()> {
    let path = path.as_ref();
    refuse_existing(path, overwrite)?;
    write_atomic(path, &serialize(tensors, metadata)?, overwrite)
}
