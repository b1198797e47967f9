//! `torch.nn.Sequential`: its children in order, keys `0.…`, `1.…` (ultralytics builds a
//! repeated non-repeat layer — YOLOv3's `Bottleneck`×8, YOLOv6's `Conv`×6 — and every branch of
//! the Detect head as one).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::child::{build_list, fused_list, list_fusable};
use crate::modules::{Block, Child, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

/// `nn.Sequential(*modules)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequentialConfig {
    /// The children, named `0`, `1`, … in the state_dict.
    pub modules: Vec<Child>,
}

/// `nn.Sequential`.
#[derive(Debug)]
pub struct Sequential {
    /// The children.
    pub modules: Vec<Box<dyn Module>>,
}

impl Module for Sequential {
    /// Each child in turn.
    ///
    /// # Shapes
    /// As its children.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        crate::modules::patterns::chain(&self.modules, x, train)
    }

    fn in_channels(&self) -> Option<i64> {
        self.modules.first().and_then(|m| m.in_channels())
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        list_fusable("", &self.modules)
    }
}

impl Block for Sequential {
    type Config = SequentialConfig;
    const NAME: &'static str = "sequential";
    const CLASSES: &'static [&'static str] = &["torch.nn.modules.container.Sequential"];

    fn new(s: &Scope, c: &SequentialConfig) -> Result<Self> {
        Ok(Self {
            modules: build_list(s, &c.modules)?,
        })
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<SequentialConfig> {
        for (i, (name, _)) in m.children().iter().enumerate() {
            if *name != i.to_string() {
                return Err(Error::Config(format!(
                    "Sequential child {i} is named `{name}` (only 0, 1, … are supported)"
                )));
            }
        }
        Ok(SequentialConfig {
            modules: Child::list_from_pickle(m, notes)?,
        })
    }

    fn fused(c: &SequentialConfig) -> Result<SequentialConfig> {
        Ok(SequentialConfig {
            modules: fused_list(&c.modules)?,
        })
    }
}
