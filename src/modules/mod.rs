//! Modules: one struct per upstream class, each with upstream's field names (so weight paths
//! are state_dict keys), a serde config with upstream's defaults that refuses unknown fields,
//! and a validating constructor — and the one registry that lists them all.
//!
//! Every module implements [`Module`] (a fallible forward and what the module says about
//! itself); every registered class also implements [`Block`] (its names, config, constructor,
//! and how its config is read from a pickled module, a state_dict's shapes or upstream's
//! constructor arguments).
//!
//! # Adding a class
//! Write one file (the struct, its config, `impl Module`, `impl Block`) and add one line to the
//! `registry!` list below. Nothing else names classes: metadata, porting, `forward`, `fuse`,
//! `infer` and the CLI all go through [`registry`].

pub mod args;
pub mod child;
pub mod composite;
pub mod registry;
pub mod source;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::nn::Scope;

pub use args::{Args, Init};
pub use child::{Child, Flow};
pub use registry::{by_class, by_name, ClassMatch, Entry, Spec};
pub use source::{Assume, Notes, Pickled, Shapes};

/// A module: a fallible forward, and what it declares about itself.
pub trait Module: fmt::Debug {
    /// Run the module; BatchNorm in eval mode (`train = false`) or training mode (batch
    /// statistics, running statistics updated in place as PyTorch does).
    ///
    /// Inputs are not checked here beyond what libtorch checks: [`crate::Model`] checks once per
    /// forward, against [`Module::in_channels`] and the weights' dtype and device.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor>;

    /// Run a module that takes several inputs (a concatenation, a fusion); the default takes
    /// exactly one.
    fn forward_many(&self, xs: &[&Tensor], train: bool) -> Result<Tensor> {
        match xs {
            [x] => self.forward_t(x, train),
            _ => Err(Error::InvalidInput(format!(
                "this module takes one input, got {}",
                xs.len()
            ))),
        }
    }

    /// Run the module as a layer of a model graph: one tensor in (or, for a layer that reads
    /// several earlier layers, a list), one tensor or a tuple out. The default runs
    /// [`Module::forward_t`] or [`Module::forward_many`].
    fn forward_flow(&self, input: &Flow, train: bool) -> Result<Flow> {
        Ok(Flow::One(match input {
            Flow::One(x) => self.forward_t(x, train)?,
            other => self.forward_many(&other.tensors()?, train)?,
        }))
    }

    /// The channels of its NCHW input, where it has one fixed number.
    fn in_channels(&self) -> Option<i64>;

    /// The units `fuse` folds (BatchNorm into the preceding convolution), with the state_dict
    /// prefix of each (`cv1.`); empty when there is nothing to fold.
    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        Vec::new()
    }

    /// The fixed-length feature vector the module computes before its head, where it has one
    /// (SppNet's pooled pyramid).
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, F]`.
    fn features_t(&self, _x: &Tensor, _train: bool) -> Result<Option<Tensor>> {
        Ok(None)
    }
}

/// A unit whose BatchNorm can be folded into its convolution.
pub trait Fuse {
    /// Replace this unit's entries of `sd` (keys under `prefix`) by the fused layout.
    fn fold(&self, prefix: &str, sd: &mut BTreeMap<String, Tensor>) -> Result<()>;
}

/// A registered upstream class.
pub trait Block: Module + Sized + 'static {
    /// Its configuration: upstream's arguments and the attributes a state_dict does not hold.
    type Config: Serialize + DeserializeOwned + Clone + fmt::Debug + PartialEq;
    /// sppnet's name for it (metadata `sppnet.arch`).
    const NAME: &'static str;
    /// Upstream's qualified class names; the first is the canonical one.
    const CLASSES: &'static [&'static str];
    /// Helper classes upstream instantiates inside this one (timm's `FastAdaptiveAvgPool` in
    /// `SelectAdaptivePool2d`): known to be inert data when found in a pickle, never built.
    const PARTS: &'static [&'static str] = &[];

    /// Build it in `s`, refusing inconsistent configurations.
    fn new(s: &Scope, config: &Self::Config) -> Result<Self>;

    /// Its configuration read from a pickled module of this class (attributes, children,
    /// shapes); `notes` gets a line per default taken for a missing attribute.
    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<Self::Config>;

    /// Its configuration from a plain state_dict's shapes, where that is possible: `None` when
    /// the weights cannot size it, or when they cannot say something that `assume` does not
    /// give either (`assume: None` means nothing may be assumed).
    fn from_shapes(
        _sd: &Shapes,
        _assume: Option<&Assume>,
        _notes: &mut Notes,
    ) -> Result<Option<Self::Config>> {
        Ok(None)
    }

    /// Its configuration from upstream's constructor arguments, mirroring the class's
    /// `__init__` (how a model yaml builds it: `Conv(c1, 64, 3, 2)`); `None` for classes no
    /// model yaml constructs.
    fn from_args(_args: &Args) -> Result<Option<Self::Config>> {
        Ok(None)
    }

    /// The configuration after [`Fuse::fold`] (the fused layout); unchanged by default.
    fn fused(config: &Self::Config) -> Result<Self::Config> {
        Ok(config.clone())
    }
}

/// The largest channel count or width a config may ask for (2¹⁶; real models stay under
/// 2¹³): with it, one layer's activations at a probe size stay bounded before anything runs.
pub const MAX_WIDTH: i64 = 1 << 16;
/// The most classes (and class names) a model may have (2¹⁶; LVIS has 1 203, ImageNet-21k
/// 21 841).
pub const MAX_CLASSES: i64 = 1 << 16;
/// The largest stride a model may declare (real detectors: 8 to 64; P7 heads 128).
pub const MAX_STRIDE: f64 = 1024.0;
/// The largest kernel, stride, dilation, padding, level, pool or repeat count (1024).
pub const MAX_SMALL: i64 = 1024;

/// Refuse `value` outside `lo..=hi`, naming the class and the field: configs are checked
/// against sane limits before anything is built.
pub fn within(class: &str, field: &str, value: i64, lo: i64, hi: i64) -> Result<()> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{class} {field} must be in {lo}..={hi}, got {value}"
    )))
}

/// Refuse strides that are not 1 to 64 finite numbers in `1..=MAX_STRIDE`, naming the class.
pub fn check_strides(class: &str, strides: &[f64]) -> Result<()> {
    let ok = |s: f64| s.is_finite() && (1.0..=MAX_STRIDE).contains(&s);
    if strides.is_empty() || strides.len() > 64 || !strides.iter().all(|&s| ok(s)) {
        let shown: Vec<f64> = strides.iter().take(8).copied().collect();
        return Err(Error::Config(format!(
            "{class} strides {shown:?} must be 1 to 64 numbers in 1..={MAX_STRIDE}"
        )));
    }
    Ok(())
}

/// Declares each class's file and type, and lists them in [`REGISTRY`].
macro_rules! registry {
    ($($file:literal => $module:ident :: $ty:ident),* $(,)?) => {
        $(
            #[path = $file]
            pub mod $module;
            pub use $module::$ty;
        )*
        /// Every registered class, in a fixed order.
        pub static REGISTRY: &[Entry] = &[$(Entry::of::<$ty>()),*];
    };
}

/// What the ultralytics classes' `Conv`s are built from, and helpers they share.
#[path = "ultralytics/conv_opts.rs"]
pub mod conv_opts;
/// The Detect head's arithmetic (anchors, decoding, top-k).
#[path = "ultralytics/head_ops.rs"]
pub mod head_ops;
/// A `DetectionModel` from a model yaml (ultralytics' `parse_model`).
#[path = "ultralytics/parse_model/mod.rs"]
pub mod parse_model;
/// The forward patterns ultralytics' blocks share.
#[path = "ultralytics/patterns.rs"]
pub mod patterns;
/// The two-branch layout `RepConv` and `RepVGGDW` share.
#[path = "ultralytics/reparam.rs"]
pub mod reparam;
/// What the task heads over `Detect` share (the `cv4` branches, `fuse`'s drops).
#[path = "ultralytics/task_head.rs"]
pub mod task_head;
/// The task model classes and the head → model table.
#[path = "ultralytics/task_model.rs"]
pub mod task_model;

registry! {
    "yueruchen/spp_net.rs" => spp_net::SppNet,
    "ultralytics/conv.rs" => conv::Conv,
    "ultralytics/spp.rs" => spp::Spp,
    "ultralytics/sppf.rs" => sppf::Sppf,
    "ultralytics/sppelan.rs" => sppelan::SppElan,
    "torch/identity.rs" => identity::Identity,
    "torch/sequential.rs" => sequential::Sequential,
    "torch/conv2d.rs" => conv2d::Conv2dBlock,
    "torch/conv_transpose2d.rs" => conv_transpose2d::ConvTranspose2d,
    "torch/upsample.rs" => upsample::Upsample,
    "ultralytics/dwconv.rs" => dwconv::DwConv,
    "ultralytics/concat.rs" => concat::Concat,
    "ultralytics/bottleneck.rs" => bottleneck::Bottleneck,
    "ultralytics/rep_bottleneck.rs" => rep_bottleneck::RepBottleneck,
    "ultralytics/c2.rs" => c2::C2,
    "ultralytics/c2f.rs" => c2f::C2f,
    "ultralytics/c3k2.rs" => c3k2::C3k2,
    "ultralytics/c2f_cib.rs" => c2f_cib::C2fCib,
    "ultralytics/c3.rs" => c3::C3,
    "ultralytics/c3k.rs" => c3k::C3k,
    "ultralytics/rep_csp.rs" => rep_csp::RepCsp,
    "ultralytics/rep_ncspelan4.rs" => rep_ncspelan4::RepNcspElan4,
    "ultralytics/elan1.rs" => elan1::Elan1,
    "ultralytics/aconv.rs" => aconv::AConv,
    "ultralytics/adown.rs" => adown::ADown,
    "ultralytics/scdown.rs" => scdown::SCDown,
    "ultralytics/rep_conv.rs" => rep_conv::RepConv,
    "ultralytics/rep_vggdw.rs" => rep_vggdw::RepVggDw,
    "ultralytics/cib.rs" => cib::Cib,
    "ultralytics/attention.rs" => attention::Attention,
    "ultralytics/psa_block.rs" => psa_block::PsaBlock,
    "ultralytics/psa.rs" => psa::Psa,
    "ultralytics/c2psa.rs" => c2psa::C2Psa,
    "ultralytics/cb_linear.rs" => cb_linear::CbLinear,
    "ultralytics/cb_fuse.rs" => cb_fuse::CbFuse,
    "ultralytics/dfl.rs" => dfl::Dfl,
    "ultralytics/detect.rs" => detect::Detect,
    "ultralytics/v10_detect.rs" => v10_detect::V10Detect,
    "ultralytics/detection_model.rs" => detection_model::DetectionModel,
    "torch/linear.rs" => linear::Linear,
    "ultralytics/classify.rs" => classify::Classify,
    "ultralytics/classification_model.rs" => classification_model::ClassificationModel,
    "ultralytics/aattn.rs" => aattn::AAttn,
    "ultralytics/ablock.rs" => ablock::ABlock,
    "ultralytics/a2c2f.rs" => a2c2f::A2C2f,
    "ultralytics/proto.rs" => proto::Proto,
    "ultralytics/proto26.rs" => proto26::Proto26,
    "ultralytics/segment.rs" => segment::Segment,
    "ultralytics/segment26.rs" => segment26::Segment26,
    "ultralytics/segmentation_model.rs" => segmentation_model::SegmentationModel,
    "ultralytics/pose.rs" => pose::Pose,
    "ultralytics/real_nvp.rs" => real_nvp::RealNvp,
    "ultralytics/pose26.rs" => pose26::Pose26,
    "ultralytics/pose_model.rs" => pose_model::PoseModel,
    "ultralytics/obb.rs" => obb::Obb,
    "ultralytics/obb26.rs" => obb26::Obb26,
    "ultralytics/obb_model.rs" => obb_model::ObbModel,
    "ultralytics/semantic_segment.rs" => semantic_segment::SemanticSegment,
    "ultralytics/semantic_segmentation_model.rs" => semantic_segmentation_model::SemanticSegmentationModel,
    "ultralytics/depth.rs" => depth::Depth,
    "ultralytics/depth_model.rs" => depth_model::DepthModel,
    "torch/max_pool2d.rs" => max_pool2d::MaxPool2dBlock,
    "torch/avg_pool2d.rs" => avg_pool2d::AvgPool2dBlock,
    "timm/select_adaptive_pool2d.rs" => select_adaptive_pool2d::SelectAdaptivePool2d,
    "timm/non_local_attn.rs" => non_local_attn::NonLocalAttn,
    "alexhex7/non_local_block2d.rs" => non_local_block2d::NonLocalBlock2d,
    "sppnet/stochastic_pool2d.rs" => stochastic_pool2d::StochasticPool2d,
    "sppnet/roi_spp.rs" => roi_spp::RoiSpp,
}
