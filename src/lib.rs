//! # sppnet
//!
//! Spatial pyramid pooling layers and models ported from PyTorch onto libtorch (`tch`), proven
//! bit-for-bit against the upstream Python.
//!
//! Layers, bottom to top (each uses only the ones before it):
//! - [`tensor`], [`compare`], [`runtime`], [`cuda`], [`io`]: tensor checks, comparisons, device
//!   and threads, safetensors files and strict state_dict loading;
//! - [`ops`]: [`spatial_pyramid_pool`] and the SPP blocks' max pools; [`nn`]: `torch.nn` layers
//!   and activations;
//! - [`modules`]: one struct per upstream class and the registry that lists them;
//! - [`model`]: self-describing checkpoints ([`Model`]);
//! - [`port`]: `torch.save` files to models, without Python;
//! - [`detect`]: whole-detector inference as ultralytics' `predict` (letterbox, NMS, boxes);
//! - [`images`], [`reference`](mod@reference), [`parity`], [`bench`](mod@bench): image inference helpers, the typed
//!   protocol with the Python reference, and the parity and benchmark runs built on it.
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
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod bench;
pub mod compare;
pub mod cuda;
pub mod detect;
pub mod error;
pub mod images;
pub mod io;
pub mod model;
pub mod modules;
pub mod nn;
pub mod ops;
pub mod parity;
pub mod port;
pub mod reference;
pub mod runtime;
pub mod tensor;
pub mod text;

pub use error::{Error, Result};
pub use model::{ConfigSource, Model};
pub use modules::{Module, Spec};
pub use ops::{spatial_pyramid_pool, Rule};

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
