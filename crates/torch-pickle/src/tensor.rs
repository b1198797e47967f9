//! Tensor records as plain data: dtype, shape, strides and byte ranges; no libtorch.

use crate::error::{Error, Result};

/// Element types of torch storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// float32 (`FloatStorage`).
    F32,
    /// float16 (`HalfStorage`).
    F16,
    /// bfloat16 (`BFloat16Storage`).
    BF16,
    /// float64 (`DoubleStorage`).
    F64,
    /// int64 (`LongStorage`).
    I64,
    /// int32 (`IntStorage`).
    I32,
    /// int16 (`ShortStorage`).
    I16,
    /// int8 (`CharStorage`).
    I8,
    /// uint8 (`ByteStorage`).
    U8,
    /// bool (`BoolStorage`).
    Bool,
    /// A storage type this reader does not convert (complex, quantized, float8, …).
    Unsupported,
}

impl DType {
    /// The dtype of a `torch.*Storage` class name.
    pub fn from_storage(name: &str) -> DType {
        match name {
            "FloatStorage" => DType::F32,
            "HalfStorage" => DType::F16,
            "BFloat16Storage" => DType::BF16,
            "DoubleStorage" => DType::F64,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => DType::Unsupported,
        }
    }

    /// Bytes per element (0 for unsupported).
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::Unsupported => 0,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
    }

    /// The short name (`f32`, `f16`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F64 => "f64",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::I16 => "i16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::Bool => "bool",
            DType::Unsupported => "unsupported",
        }
    }
}

/// A storage named by a persistent id: `<archive>/data/<key>` holds `numel` elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    /// The storage's file name under `data/`.
    pub key: String,
    /// Element type.
    pub dtype: DType,
    /// Elements in the storage.
    pub numel: u64,
}

/// A strided view of a storage, as `_rebuild_tensor_v2` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    /// The storage viewed.
    pub storage: StorageRef,
    /// First element, in elements.
    pub offset: u64,
    /// Shape.
    pub shape: Vec<u64>,
    /// Strides, in elements.
    pub stride: Vec<u64>,
    /// `requires_grad` as saved.
    pub requires_grad: bool,
}

impl TensorRef {
    /// Elements in the view, or an error on overflow.
    pub fn numel(&self) -> Result<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.bad("its element count overflows"))
    }

    fn bad(&self, why: &str) -> Error {
        Error::Tensor(self.storage.key.clone(), why.to_string())
    }

    /// Check the view against its storage and the storage's actual byte length; returns the
    /// byte range of the storage the view needs (`0..0` for an empty view).
    ///
    /// Refuses unsupported dtypes, storages shorter than their record claims, views reaching
    /// past the storage, and sizes whose arithmetic overflows: nothing here allocates.
    pub fn check(&self, storage_bytes: usize) -> Result<std::ops::Range<usize>> {
        let elt = self.storage.dtype.size() as u64;
        if elt == 0 {
            return Err(self.bad("storage dtype not supported (complex, quantized or float8?)"));
        }
        let need = self
            .storage
            .numel
            .checked_mul(elt)
            .ok_or_else(|| self.bad("storage size overflows"))?;
        if need > storage_bytes as u64 {
            return Err(self.bad(&format!(
                "storage holds {storage_bytes} bytes, its record claims {need}"
            )));
        }
        if self.numel()? == 0 {
            return Ok(0..0);
        }
        let last = self
            .shape
            .iter()
            .zip(&self.stride)
            .try_fold(self.offset, |acc, (&d, &s)| {
                (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x))
            })
            .ok_or_else(|| self.bad("view extent overflows"))?;
        if last >= self.storage.numel {
            return Err(self.bad(&format!(
                "view reaches element {last} of a {}-element storage",
                self.storage.numel
            )));
        }
        Ok(0..need as usize)
    }
}
