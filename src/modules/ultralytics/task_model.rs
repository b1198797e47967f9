//! The model classes of ultralytics' tasks (`nn/tasks.py`, 8.4.190): `DetectionModel`'s
//! subclasses `SegmentationModel`, `PoseModel`, `OBBModel` and `DepthModel`, and
//! `ClassificationModel` and `SemanticSegmentationModel` — the same layer graph (a
//! [`DetectionModelConfig`](super::detection_model::DetectionModelConfig)) ending in another
//! head. Which class a model is follows from its head, in [`TASK_MODELS`], the one table that
//! names them.

use crate::modules::Child;

/// The model class (registry name) of each task head (registry name); any other head is a
/// `DetectionModel`'s.
pub const TASK_MODELS: &[(&str, &str)] = &[
    ("classify", "classification_model"),
    ("segment", "segmentation_model"),
    ("segment26", "segmentation_model"),
    ("pose", "pose_model"),
    ("pose26", "pose_model"),
    ("obb", "obb_model"),
    ("obb26", "obb_model"),
    ("semantic_segment", "semantic_segmentation_model"),
    ("depth", "depth_model"),
];

/// The model class of a model whose last layer is `head`.
pub fn model_for_head(head: &Child) -> &'static str {
    TASK_MODELS
        .iter()
        .find(|(h, _)| *h == head.class)
        .map_or("detection_model", |(_, m)| m)
}

/// Whether `name` is a model class over a `DetectionModelConfig`.
pub fn is_layer_model(name: &str) -> bool {
    name == "detection_model" || TASK_MODELS.iter().any(|(_, m)| *m == name)
}

/// The `Detect` part of a head's config (JSON): a Detect's (or v10Detect's) own, or a task
/// head's `detect` field.
pub fn detect_part(head: &Child) -> Option<&serde_json::Value> {
    match head.config.get("detect") {
        Some(d) => Some(d),
        None => matches!(head.class.as_str(), "detect" | "v10detect").then_some(&head.config),
    }
}

/// [`detect_part`], to change.
pub fn detect_part_mut(head: &mut Child) -> Option<&mut serde_json::Value> {
    if head.config.get("detect").is_some() {
        return head.config.get_mut("detect");
    }
    matches!(head.class.as_str(), "detect" | "v10detect").then_some(&mut head.config)
}

/// Declares a task's model class: a newtype over `DetectionModel` that runs, reads and fuses
/// as it does, under its own names.
macro_rules! task_model {
    ($(#[$doc:meta])* $ty:ident, $name:literal, [$($class:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty(pub super::detection_model::DetectionModel);

        impl $crate::modules::Module for $ty {
            fn forward_t(&self, x: &tch::Tensor, train: bool) -> $crate::error::Result<tch::Tensor> {
                self.0.forward_t(x, train)
            }
            fn forward_flow(
                &self,
                input: &$crate::modules::Flow,
                train: bool,
            ) -> $crate::error::Result<$crate::modules::Flow> {
                self.0.forward_flow(input, train)
            }
            fn in_channels(&self) -> Option<i64> {
                self.0.in_channels()
            }
            fn fusable(&self) -> Vec<(String, &dyn $crate::modules::Fuse)> {
                self.0.fusable()
            }
        }

        impl $crate::modules::Block for $ty {
            type Config = super::detection_model::DetectionModelConfig;
            const NAME: &'static str = $name;
            const CLASSES: &'static [&'static str] = &[$($class),+];

            fn new(s: &$crate::nn::Scope, c: &Self::Config) -> $crate::error::Result<Self> {
                <super::detection_model::DetectionModel as $crate::modules::Block>::new(s, c).map($ty)
            }
            fn from_pickle(
                m: &$crate::modules::Pickled<'_>,
                notes: &mut $crate::modules::Notes,
            ) -> $crate::error::Result<Self::Config> {
                <super::detection_model::DetectionModel as $crate::modules::Block>::from_pickle(m, notes)
            }
            fn fused(c: &Self::Config) -> $crate::error::Result<Self::Config> {
                <super::detection_model::DetectionModel as $crate::modules::Block>::fused(c)
            }
        }
    };
}
pub(crate) use task_model;
