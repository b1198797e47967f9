//! # sppnet
//!
//! Spatial pyramid pooling layers and models ported from PyTorch onto libtorch (`tch`), proven
//! bit-for-bit against the upstream Python.
//!
//! - [`pyramid`]: the bin rules and [`spatial_pyramid_pool`] (yueruchen's `spp_layer.py`).
//! - [`sppnet`]: yueruchen's `SPP_NET` as [`SppNet`].
//! - [`checkpoint`]: safetensors I/O and strict state_dict loading.
//! - [`ultralytics`]: ultralytics' `Conv`, `SPP`, `SPPF`, `SPPELAN`.
//! - [`model`]: self-describing checkpoints (architecture in the metadata).
//!
//! ```no_run
//! use sppnet::{spatial_pyramid_pool, Rule};
//! use tch::{Device, Kind, Tensor};
//!
//! let x = Tensor::randn([2, 512, 13, 13], (Kind::Float, Device::Cpu));
//! let v = spatial_pyramid_pool(&x, &[4, 2, 1], Rule::Yueruchen)?;
//! assert_eq!(v.size(), [2, 10752]);
//! # Ok::<(), sppnet::Error>(())
//! ```

#![warn(missing_docs)]

pub mod checkpoint;
pub mod compare;
pub mod cuda;
pub mod error;
pub mod infer;
pub mod layers;
pub mod model;
pub mod pyramid;
pub mod runtime;
pub mod sppnet;
pub mod ultralytics;

pub use error::{Error, Result};
pub use model::{Arch, Model, Overrides};
pub use pyramid::{spatial_pyramid_pool, Rule};
pub use sppnet::{SppNet, SppNetConfig};

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
