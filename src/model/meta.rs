//! The safetensors metadata that makes a checkpoint self-describing.
//!
//! | key | value |
//! |---|---|
//! | `sppnet.arch` | the registry name of the class (`sppnet`, `conv`, `spp`, `sppf`, `sppelan`, …) |
//! | `sppnet.class` | the upstream class (`SPP_NET`, `Conv`, `SPP`, …; informative) |
//! | `sppnet.config` | the config as JSON; missing optional fields take upstream's defaults, unknown fields are refused |
//! | `sppnet.train_imgsz` | the size a detector was trained at (`train_args.imgsz`), when the `.pt` said; `detect`'s default `--imgsz` |
//! | `sppnet.transforms` | a classifier's preprocessing (its pickled torchvision transforms) as JSON |
//! | `format` | `pt` (what `safetensors.torch` writes; ignored on reading) |

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::images::transforms::Transforms;
use crate::modules::Spec;

/// Metadata key naming the class (registry name).
pub const META_ARCH: &str = "sppnet.arch";
/// Metadata key holding the class's config as JSON.
pub const META_CONFIG: &str = "sppnet.config";
/// Metadata key holding the size a detector was trained at (`train_args.imgsz`), which
/// `sppnet detect` uses by default as `predict` does.
pub const META_TRAIN_IMGSZ: &str = "sppnet.train_imgsz";

/// The trained size a file's metadata records, when it is a whole number in 1..=8192.
pub fn train_imgsz(metadata: &BTreeMap<String, String>) -> Option<i64> {
    let n: i64 = metadata.get(META_TRAIN_IMGSZ)?.trim().parse().ok()?;
    (1..=8192).contains(&n).then_some(n)
}

/// Metadata key holding a classifier's preprocessing ([`Transforms`] as JSON).
pub const META_TRANSFORMS: &str = "sppnet.transforms";

/// The classify transforms a file's metadata records, checked.
pub fn transforms(metadata: &BTreeMap<String, String>) -> Result<Option<Transforms>> {
    let Some(json) = metadata.get(META_TRANSFORMS) else {
        return Ok(None);
    };
    let t: Transforms = serde_json::from_str(json)
        .map_err(|e| Error::Config(format!("bad `{META_TRANSFORMS}` metadata: {e}")))?;
    Transforms::new(t.steps).map(Some)
}

/// Metadata key naming the upstream Python class.
pub const META_CLASS: &str = "sppnet.class";

/// The metadata that describes `spec`.
pub fn to_metadata(spec: &Spec) -> BTreeMap<String, String> {
    BTreeMap::from([
        (META_ARCH.to_string(), spec.name().to_string()),
        (META_CLASS.to_string(), spec.class().to_string()),
        (META_CONFIG.to_string(), spec.config().to_string()),
        ("format".to_string(), "pt".to_string()),
    ])
}

/// The largest `sppnet.config` read (16 MiB; a yolov8x detector's is about 0.2 MB, and 65 536
/// class names of 100 characters about 7 MB): larger ones are refused before being parsed.
pub const MAX_CONFIG: usize = 16 << 20;

/// The spec a file's metadata describes; `None` when it has no [`META_ARCH`].
pub fn from_metadata(metadata: &BTreeMap<String, String>) -> Result<Option<Spec>> {
    let Some(name) = metadata.get(META_ARCH) else {
        return Ok(None);
    };
    let config: Value = match metadata.get(META_CONFIG) {
        Some(json) if json.len() > MAX_CONFIG => {
            return Err(Error::Config(format!(
                "`{META_CONFIG}` metadata is {} bytes, more than the {MAX_CONFIG} read",
                json.len()
            )))
        }
        Some(json) => serde_json::from_str(json)
            .map_err(|e| Error::Config(format!("bad `{META_CONFIG}` metadata: {e}")))?,
        None => Value::Object(Default::default()),
    };
    Spec::new(name, &config).map(Some)
}
