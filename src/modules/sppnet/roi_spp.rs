//! SPP-net over windows as a module of two inputs, features and `[K, 5]` rois
//! (`ops::roi_spp`); the class is our reference's `sppnet_ref.pooling.RoiSpp`, each level
//! torchvision's `roi_pool`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{Block, Module, Notes, Pickled};
use crate::nn::Scope;
use crate::ops::roi_spp::{spp_rois, RoiMapping};

/// `RoiSpp(levels, spatial_scale)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoiSppConfig {
    /// Levels, in output order.
    pub levels: Vec<i64>,
    /// Feature-map pixels per image pixel.
    pub spatial_scale: f64,
    /// Window to feature-map mapping.
    #[serde(default)]
    pub mapping: RoiMapping,
}

/// `sppnet_ref.pooling.RoiSpp`.
#[derive(Debug)]
pub struct RoiSpp {
    /// Its configuration.
    pub config: RoiSppConfig,
}

impl Module for RoiSpp {
    /// One input is not enough: the rois are the second ([`Module::forward_many`]).
    fn forward_t(&self, _x: &Tensor, _train: bool) -> Result<Tensor> {
        Err(Error::InvalidInput(
            "roi SPP takes two inputs, the features and the [K, 5] rois".into(),
        ))
    }

    /// # Shapes
    /// `[N, C, H, W]` and `[K, 5]` → `[K, C · Σ n²]`.
    fn forward_many(&self, xs: &[&Tensor], _train: bool) -> Result<Tensor> {
        let [x, rois] = xs else {
            return Err(Error::InvalidInput(format!(
                "roi SPP takes the features and the rois, got {} inputs",
                xs.len()
            )));
        };
        let c = &self.config;
        spp_rois(x, rois, &c.levels, c.spatial_scale, c.mapping)
    }

    fn in_channels(&self) -> Option<i64> {
        None
    }
}

impl Block for RoiSpp {
    type Config = RoiSppConfig;
    const NAME: &'static str = "roi_spp";
    const CLASSES: &'static [&'static str] = &["sppnet_ref.pooling.RoiSpp"];

    fn new(_s: &Scope, c: &RoiSppConfig) -> Result<Self> {
        if c.levels.is_empty() || c.levels.iter().any(|&l| !(1..=1024).contains(&l)) {
            return Err(Error::Config(format!("RoiSpp levels must be 1 to 1024, got {:?}", c.levels)));
        }
        if !(c.spatial_scale.is_finite() && c.spatial_scale > 0.0) {
            return Err(Error::Config(format!("RoiSpp spatial_scale must be positive, got {}", c.spatial_scale)));
        }
        Ok(Self { config: c.clone() })
    }

    fn from_pickle(m: &Pickled<'_>, _notes: &mut Notes) -> Result<RoiSppConfig> {
        Ok(RoiSppConfig {
            levels: m.ints("levels").ok_or_else(|| Error::Config("RoiSpp without levels".into()))?,
            spatial_scale: m
                .float("spatial_scale")
                .ok_or_else(|| Error::Config("RoiSpp without a spatial_scale".into()))?,
            mapping: RoiMapping::Torchvision,
        })
    }
}
