//! Where a module's weights are created: a `tch` variable-store path, or a shape-only store that
//! records every weight's name and shape without allocating it, so that a configuration can be
//! checked against the tensors that come with it (and against a size limit) before anything is
//! allocated.

use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// A path in a variable store, creating weights under PyTorch's state_dict names.
///
/// In shape-only mode ([`Scope::shapes_only`]) every weight is a one-element tensor expanded to
/// its shape (4 bytes, whatever the shape), so building a module costs next to nothing and its
/// variable store lists the exact keys and shapes the real module would have.
#[derive(Debug)]
pub struct Scope<'a> {
    path: nn::Path<'a>,
    shapes_only: bool,
}

impl<'a> Scope<'a> {
    /// Weights created for real, under `path`.
    pub fn new(path: nn::Path<'a>) -> Self {
        Self {
            path,
            shapes_only: false,
        }
    }

    /// Weights recorded by name and shape only (see the type's documentation).
    pub fn shapes_only(path: nn::Path<'a>) -> Self {
        Self {
            path,
            shapes_only: true,
        }
    }

    /// The scope of a child module, `name` being its field name (`cv1`, `m`, `0`, …).
    pub fn sub(&self, name: &str) -> Scope<'a> {
        Scope {
            path: &self.path / name,
            shapes_only: self.shapes_only,
        }
    }

    /// The device weights are created on.
    pub fn device(&self) -> Device {
        self.path.device()
    }

    fn placeholder(&self, name: &str, dims: &[i64], kind: Kind) -> Result<Tensor> {
        check_dims(name, dims)?;
        let one = Tensor::f_zeros([1], (kind, Device::Cpu))?;
        let t = if dims.is_empty() {
            one.f_reshape([])?
        } else {
            one.f_expand(dims, false)?
        };
        Ok(self.path.add(name, t, false))
    }

    /// A trainable weight initialised with `init`.
    pub fn var(&self, name: &str, dims: &[i64], init: Init) -> Result<Tensor> {
        if self.shapes_only {
            return self.placeholder(name, dims, Kind::Float);
        }
        check_dims(name, dims)?;
        Ok(self.path.f_var(name, dims, init)?)
    }

    /// A float buffer (not trained) filled with `value`: BatchNorm's running statistics.
    pub fn buffer(&self, name: &str, dims: &[i64], value: f64) -> Result<Tensor> {
        if self.shapes_only {
            return self.placeholder(name, dims, Kind::Float);
        }
        check_dims(name, dims)?;
        let t = Tensor::f_full(dims, value, (Kind::Float, self.device()))?;
        Ok(self.path.add(name, t, false))
    }

    /// An int64 scalar counter starting at 0: BatchNorm's `num_batches_tracked`.
    pub fn counter(&self, name: &str) -> Result<Tensor> {
        if self.shapes_only {
            return self.placeholder(name, &[], Kind::Int64);
        }
        let t = Tensor::f_zeros([], (Kind::Int64, self.device()))?;
        Ok(self.path.add(name, t, false))
    }
}

/// Dimensions must be non-negative and their product must fit an i64.
fn check_dims(name: &str, dims: &[i64]) -> Result<()> {
    let mut total: i64 = 1;
    for &d in dims {
        total = (d >= 0)
            .then(|| total.checked_mul(d))
            .flatten()
            .ok_or_else(|| Error::Config(format!("weight `{name}` would have shape {dims:?}")))?;
    }
    Ok(())
}
