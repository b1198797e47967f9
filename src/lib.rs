//! # sppnet
//!
//! The spatial-pyramid-pooling family and the ultralytics detectors that carry it, ported from
//! PyTorch onto libtorch (`tch`) and proven bit for bit against the upstream Python. The
//! README's library section, in short.
//!
//! ## Three entry points
//!
//! - [`spatial_pyramid_pool`]: the pyramid on its own, `[N, C, H, W] → [N, C·Σn²]`, under
//!   yueruchen's, the adaptive or the paper's bin [`Rule`].
//! - [`Model::load`]: a self-describing checkpoint (class and config in the safetensors
//!   metadata), loaded strictly; [`port::port`] makes one from a `torch.save` file, no Python.
//! - [`detect::Detector`]: a user's ultralytics detector (`best.pt`) run as
//!   `YOLO(w).predict` runs it; [`detect::run::detect_files`] for files and folders.
//!
//! ```no_run
//! use sppnet::detect::{Detector, Nms, RunAs};
//! use sppnet::{spatial_pyramid_pool, Model, Rule};
//! use std::path::Path;
//! use tch::{Device, Kind, Tensor};
//!
//! let x = Tensor::randn([2, 512, 13, 13], (Kind::Float, Device::Cpu));
//! assert_eq!(spatial_pyramid_pool(&x, &[4, 2, 1], Rule::Yueruchen)?.size(), [2, 10752]);
//! let model = Model::load("weights/sppnet_tiny.safetensors", Device::Cpu)?;
//! let det = Detector::load(Path::new("best.pt"), RunAs::default())?;
//! let img = sppnet::images::decode_rgb8(Path::new("bus.jpg"), 40_000_000)?;
//! let boxes = det.detect(&[&img], 640, &Nms::default())?;
//! # Ok::<(), sppnet::Error>(())
//! ```
//!
//! ## The modules at a glance
//!
//! Layers, bottom to top (each uses only the ones before it; docs/ARCHITECTURE.md):
//! - [`error`], [`tensor`], [`compare`], [`runtime`], [`cuda`], [`io`], [`text`]: errors,
//!   tensor checks, bitwise/ULP comparison, device and threads, lazy CUDA, safetensors files,
//!   atomic writes that never replace an input, names made safe to print;
//! - [`ops`]: the pyramid, the SPP blocks' pools and their native kernels, NMS, the pooling
//!   table; [`nn`]: `torch.nn` layers; [`images`]: decoding, resizing and letterboxing as
//!   OpenCV and ultralytics do;
//! - [`modules`]: one struct per upstream class, the registry, `parse_model`;
//! - [`model`]: self-describing checkpoints ([`Model`]);
//! - [`port`]: `torch.save` files to models, without Python;
//! - [`detect`], [`reference`](mod@reference): whole-detector inference; the typed protocol
//!   with the Python reference;
//! - [`parity`], [`bench`](mod@bench): the parity and benchmark runs.

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

/// docs/LIBRARY.md's Rust examples, compiled and run as doctests.
#[doc = include_str!("../docs/LIBRARY.md")]
#[cfg(doctest)]
pub struct LibraryDoctests;

/// docs/DETECT.md's Rust examples, compiled as doctests.
#[doc = include_str!("../docs/DETECT.md")]
#[cfg(doctest)]
pub struct DetectDoctests;
