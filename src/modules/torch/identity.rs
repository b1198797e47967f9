//! `torch.nn.Identity`: returns its input (ultralytics uses it as a placeholder layer, e.g. in
//! YOLOv9-E's backbone).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::Result;
use crate::modules::{Block, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::modules::Args;

/// `nn.Identity()`: no arguments (upstream accepts and ignores any).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {}

/// `nn.Identity`.
#[derive(Debug)]
pub struct Identity;

impl Module for Identity {
    /// # Shapes
    /// Any shape, unchanged.
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(x.shallow_clone())
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for Identity {
    type Config = IdentityConfig;
    const NAME: &'static str = "identity";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.linear.Identity"];

    fn new(_s: &Scope, _config: &IdentityConfig) -> Result<Self> {
        Ok(Identity)
    }

    /// `nn.Identity(*args, **kwargs)`: arguments ignored, as PyTorch does.
    fn from_args(_a: &Args) -> Result<Option<IdentityConfig>> {
        Ok(Some(IdentityConfig {}))
    }

    fn from_pickle(_m: &Pickled<'_>, _notes: &mut Notes) -> Result<IdentityConfig> {
        Ok(IdentityConfig {})
    }
}
