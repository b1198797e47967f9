//! `torch.nn` layers with fallible constructors and forwards, registered under PyTorch's
//! state_dict names, and the activations a module can carry.
//!
//! tch's own `nn` layers panic on bad input; user tensors reach these, so every forward here
//! goes through tch's `f_` ops and returns [`Result`]. Weights are created through a [`Scope`],
//! which can also record shapes without allocating (for checks before a real build).

mod act;
mod scope;

pub use act::Act;
pub use scope::Scope;

use tch::nn::Init;
use tch::Tensor;

use crate::error::Result;

/// Hyper-parameters of [`Conv2d`] beyond channels and kernel size (PyTorch defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dConfig {
    /// Stride (both axes).
    pub stride: i64,
    /// Zero padding (both axes).
    pub padding: i64,
    /// Dilation (both axes).
    pub dilation: i64,
    /// Groups.
    pub groups: i64,
    /// Whether the layer has a bias.
    pub bias: bool,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Self {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: true,
        }
    }
}

/// `torch.nn.Conv2d`: keys `weight` `[c_out, c_in / groups, k, k]` and optional `bias` `[c_out]`.
#[derive(Debug)]
pub struct Conv2d {
    /// Filter bank.
    pub weight: Tensor,
    /// Per-output-channel bias.
    pub bias: Option<Tensor>,
    /// Stride, padding, dilation, groups.
    pub config: Conv2dConfig,
}

impl Conv2d {
    /// A randomly initialised convolution (PyTorch's kaiming-uniform scheme) in `s`.
    pub fn new(s: &Scope, c_in: i64, c_out: i64, k: i64, config: Conv2dConfig) -> Result<Self> {
        let groups = config.groups.max(1);
        let fan_in = (c_in / groups).saturating_mul(k.saturating_mul(k));
        let weight = s.var(
            "weight",
            &[c_out, c_in / groups, k, k],
            torch_default_init(fan_in),
        )?;
        let bias = match config.bias {
            true => Some(s.var("bias", &[c_out], torch_default_init(fan_in))?),
            false => None,
        };
        Ok(Self {
            weight,
            bias,
            config,
        })
    }

    /// # Shapes
    /// `[N, c_in, H, W]` → `[N, c_out, H', W']`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        Ok(x.f_conv2d(
            &self.weight,
            self.bias.as_ref(),
            [c.stride, c.stride],
            [c.padding, c.padding],
            [c.dilation, c.dilation],
            c.groups,
        )?)
    }
}

/// `torch.nn.BatchNorm2d` with affine weights and running statistics.
///
/// Keys: `weight`, `bias`, `running_mean`, `running_var` (all `[C]`) and `num_batches_tracked`
/// (int64 scalar), exactly as PyTorch's state_dict has them.
#[derive(Debug)]
pub struct BatchNorm2d {
    /// γ.
    pub weight: Tensor,
    /// β.
    pub bias: Tensor,
    /// Running mean, updated in training mode.
    pub running_mean: Tensor,
    /// Running (unbiased) variance, updated in training mode.
    pub running_var: Tensor,
    /// Batches seen in training mode.
    pub num_batches_tracked: Tensor,
    /// Added to the variance.
    pub eps: f64,
    /// Running statistics update factor.
    pub momentum: f64,
}

impl BatchNorm2d {
    /// A fresh BatchNorm (γ = 1, β = 0, mean 0, var 1) in `s`.
    pub fn new(s: &Scope, c: i64, eps: f64, momentum: f64) -> Result<Self> {
        Ok(Self {
            weight: s.var("weight", &[c], Init::Const(1.0))?,
            bias: s.var("bias", &[c], Init::Const(0.0))?,
            running_mean: s.buffer("running_mean", &[c], 0.0)?,
            running_var: s.buffer("running_var", &[c], 1.0)?,
            num_batches_tracked: s.counter("num_batches_tracked")?,
            eps,
            momentum,
        })
    }

    /// Normalise with the running statistics (`train = false`) or with the batch statistics,
    /// updating the running ones in place as PyTorch does (`train = true`).
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let size = x.size();
        if train
            && size
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 1)
                .map(|(_, d)| d)
                .product::<i64>()
                <= 1
        {
            // PyTorch's F.batch_norm refuses this (libtorch itself would return NaN statistics).
            return Err(crate::Error::InvalidInput(format!(
                "BatchNorm in training mode needs more than 1 value per channel, got input size {size:?}"
            )));
        }
        if train {
            let mut counter = self.num_batches_tracked.shallow_clone();
            let _incremented = tch::no_grad(|| counter.f_add_scalar_(1))?;
        }
        Ok(x.f_batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            self.momentum,
            self.eps,
            true,
        )?)
    }
}

/// `torch.nn.Linear`: keys `weight` `[out, in]` and `bias` `[out]`.
#[derive(Debug)]
pub struct Linear {
    /// Weight matrix.
    pub weight: Tensor,
    /// Bias vector.
    pub bias: Tensor,
}

impl Linear {
    /// A randomly initialised linear layer (PyTorch's scheme) in `s`.
    pub fn new(s: &Scope, c_in: i64, c_out: i64) -> Result<Self> {
        Ok(Self {
            weight: s.var("weight", &[c_out, c_in], torch_default_init(c_in))?,
            bias: s.var("bias", &[c_out], torch_default_init(c_in))?,
        })
    }

    /// # Shapes
    /// `[N, in]` → `[N, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }
}

/// PyTorch's default init for weights (`kaiming_uniform_(a = √5)`) and biases alike:
/// U(±1/√fan_in).
pub fn torch_default_init(fan_in: i64) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// `F.leaky_relu(x, slope)`, bitwise equal to PyTorch's kernel (`x > 0 ? x : x · slope`, with the
/// slope cast to the tensor's dtype; NaN stays NaN, −0 stays −0).
///
/// tch exposes only the default slope (0.01), which is used directly when asked for.
///
/// # Shapes
/// Any shape, unchanged.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    leaky_relu_impl(x, slope)
}

/// [`leaky_relu`] of a tensor the caller gives up: at PyTorch's default slope it runs in place
/// (the same kernel, so the same bits), saving one copy of a large feature map.
///
/// # Shapes
/// Any shape, unchanged.
pub fn leaky_relu_owned(mut x: Tensor, slope: f64) -> Result<Tensor> {
    if slope == 0.01 {
        let _ = x.f_leaky_relu_()?;
        return Ok(x);
    }
    leaky_relu_impl(&x, slope)
}

fn leaky_relu_impl(x: &Tensor, slope: f64) -> Result<Tensor> {
    if slope == 0.01 {
        return Ok(x.f_leaky_relu()?);
    }
    Ok(x.f_where_self(&x.f_gt(0.0)?, &x.f_mul_scalar(slope)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind};

    #[test]
    fn batchnorm_training_refuses_one_value_per_channel() {
        let vs = nn::VarStore::new(Device::Cpu);
        let bn = BatchNorm2d::new(&Scope::new(vs.root() / "bn"), 3, 1e-5, 0.1).unwrap();
        let one = Tensor::ones([1, 3, 1, 1], (Kind::Float, Device::Cpu));
        assert!(bn
            .forward_t(&one, true)
            .unwrap_err()
            .to_string()
            .contains("more than 1 value per channel"));
        assert!(bn.forward_t(&one, false).is_ok());
        assert_eq!(
            bn.num_batches_tracked.int64_value(&[]),
            0,
            "a refused batch is not counted"
        );
        let _ = bn
            .forward_t(
                &Tensor::ones([2, 3, 1, 1], (Kind::Float, Device::Cpu)),
                true,
            )
            .unwrap();
        assert_eq!(bn.num_batches_tracked.int64_value(&[]), 1);
    }

    #[test]
    fn leaky_relu_matches_the_definition_on_edge_values() {
        let x = Tensor::from_slice(&[-2.0f32, -0.0, 0.0, 3.0, f32::NEG_INFINITY, f32::NAN]);
        let y = Vec::<f32>::try_from(leaky_relu(&x, 0.2).unwrap()).unwrap();
        assert_eq!(y[0], -2.0f32 * 0.2f32);
        assert!(y[1] == 0.0 && y[1].is_sign_negative() && y[2].is_sign_positive());
        assert_eq!((y[3], y[4]), (3.0, f32::NEG_INFINITY));
        assert!(y[5].is_nan());
    }
}
