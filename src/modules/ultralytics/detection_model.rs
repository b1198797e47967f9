//! ultralytics `DetectionModel` (`nn/tasks.py`, 8.4.190): the layers of a YOLO detector under
//! `model.<i>`, each reading the previous layer or the saved outputs of earlier ones (`f`),
//! run as `BaseModel._predict_once` runs them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::{check_strides, within, Block, Child, Flow, Fuse, Module, Notes, Pickled, MAX_CLASSES};
use crate::nn::Scope;

/// Where a layer reads from (upstream's `f`): `-1` the previous layer, `j < -1` the layer
/// `i + j`, `j ≥ 0` layer `j`; a list passes several (Concat, Detect, CBFuse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum From {
    /// One input.
    One(i64),
    /// Several inputs, in order.
    Many(Vec<i64>),
}

/// One layer: its index `i`, where it reads from `f`, and the module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Index (upstream's `i`).
    pub i: i64,
    /// Inputs (upstream's `f`).
    pub f: From,
    /// The module.
    pub module: Child,
}

/// A `DetectionModel`: its layers and the attributes a detector needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionModelConfig {
    /// The layers (`model.<i>`).
    pub layers: Vec<Layer>,
    /// The layers whose outputs later layers read.
    pub save: Vec<i64>,
    /// The model's strides (the head's levels).
    pub stride: Vec<f64>,
    /// Classes.
    pub nc: i64,
    /// Class names by index.
    #[serde(default)]
    pub names: BTreeMap<i64, String>,
    /// The model's yaml (as upstream keeps it), when known.
    #[serde(default)]
    pub yaml: Option<Value>,
}

impl DetectionModelConfig {
    /// The layer index `j` of layer `idx` reads (`-1` excluded), checked.
    fn source(idx: usize, j: i64) -> Result<usize> {
        let k = if j < 0 { idx as i64 + j } else { j };
        usize::try_from(k)
            .ok()
            .filter(|&k| k < idx)
            .ok_or_else(|| Error::Config(format!("layer {idx} reads layer {j}, which does not come before it")))
    }

    /// The config of a model spec of any class over this layer graph (`DetectionModel` and
    /// the task models of [`super::task_model::TASK_MODELS`]).
    pub fn of(spec: &crate::Spec) -> Option<DetectionModelConfig> {
        super::task_model::is_layer_model(spec.name())
            .then(|| serde_json::from_value(spec.config().clone()).ok())
            .flatten()
    }

    /// The spec of this config: the model class its head belongs to (a `Classify` head makes a
    /// `ClassificationModel`, a `Segment` head a `SegmentationModel`, …), else a
    /// `DetectionModel`.
    pub fn spec(&self) -> Result<crate::Spec> {
        let name = self.layers.last().map_or("detection_model", |l| super::task_model::model_for_head(&l.module));
        crate::Spec::new(name, &serde_json::to_value(self).map_err(|e| Error::Config(e.to_string()))?)
    }

    /// The head's `Detect` part (the last layer's), when it is a Detect-family head.
    pub fn head(&self) -> Option<super::detect::DetectConfig> {
        head_of(&self.layers.last()?.module)
    }
}

/// The `Detect` part of a head, when it is a Detect-family head.
pub fn head_of(m: &Child) -> Option<super::detect::DetectConfig> {
    serde_json::from_value(super::task_model::detect_part(m)?.clone()).ok()
}

/// `DetectionModel`.
#[derive(Debug)]
pub struct DetectionModel {
    /// The layers, built.
    pub layers: Vec<Box<dyn Module>>,
    /// Where each reads from.
    pub from: Vec<From>,
    /// Which outputs are kept for later layers.
    pub save: Vec<bool>,
    in_channels: Option<i64>,
}

impl DetectionModel {
    /// `_predict_once`: every layer in turn, keeping the outputs later layers read.
    pub fn run(&self, x: &Tensor, train: bool) -> Result<Flow> {
        Ok(self.walk(x, train, false, &mut |_, _, _| Ok(()))?.0)
    }

    /// Every layer's output (how a head's strides are measured).
    pub fn outputs(&self, x: &Tensor, train: bool) -> Result<Vec<Flow>> {
        Ok(self.walk(x, train, true, &mut |_, _, _| Ok(()))?.1.into_iter().flatten().collect())
    }

    /// The most tensor elements held at once between layers while running `x` (the outputs
    /// kept for later layers, plus the current layer's input and output): what an input of
    /// this size takes in activations, within-layer temporaries aside. Stops with
    /// [`Error::MemoryLimit`] as soon as that passes `budget` elements, so a probe of a
    /// model that explodes (huge upsampling, huge widths) stops one layer after the limit.
    pub fn peak_elements(&self, x: &Tensor, budget: u64) -> Result<u64> {
        let (mut held, mut peak) = (0u64, x.numel() as u64);
        self.walk(x, false, false, &mut |idx, before, out| {
            peak = peak.max(held.saturating_add(before).saturating_add(flow_numel(out)));
            if peak > budget {
                return Err(Error::MemoryLimit(format!(
                    "layer {idx} holds {peak} activation elements, more than the {budget} allowed"
                )));
            }
            if self.save[idx] {
                held = held.saturating_add(flow_numel(out));
            }
            Ok(())
        })?;
        Ok(peak)
    }

    /// The last output, and the outputs kept (all of them with `keep_all`); `each(layer, elements
    /// of its predecessor's output, its output)` after every layer.
    fn walk(
        &self,
        x: &Tensor,
        train: bool,
        keep_all: bool,
        each: &mut dyn FnMut(usize, u64, &Flow) -> Result<()>,
    ) -> Result<(Flow, Vec<Option<Flow>>)> {
        let mut saved: Vec<Option<Flow>> = Vec::with_capacity(self.layers.len());
        let mut cur = Flow::One(x.shallow_clone());
        let get = |saved: &[Option<Flow>], idx: usize, j: i64| -> Result<Flow> {
            let k = DetectionModelConfig::source(idx, j)?;
            saved.get(k).and_then(Option::as_ref).map(Flow::share).ok_or_else(|| {
                Error::Config(format!("layer {idx} reads layer {k}, which is not saved"))
            })
        };
        for (idx, (layer, from)) in self.layers.iter().zip(&self.from).enumerate() {
            let before = flow_numel(&cur);
            let input = match from {
                From::One(-1) => cur,
                From::One(j) => get(&saved, idx, *j)?,
                From::Many(js) => Flow::List(
                    js.iter()
                        .map(|&j| if j == -1 { Ok(cur.share()) } else { get(&saved, idx, j) })
                        .collect::<Result<_>>()?,
                ),
            };
            cur = layer.forward_flow(&input, train)?;
            each(idx, before, &cur)?;
            saved.push((keep_all || self.save[idx]).then(|| cur.share()));
        }
        Ok((cur, saved))
    }
}

impl Module for DetectionModel {
    /// The model's first output in eval mode: `[B, 4 + nc, A]` for a Detect head, the
    /// end-to-end `[B, max_det, 6]` for end-to-end heads.
    ///
    /// # Shapes
    /// `[B, 3, H, W]` (H, W multiples of the largest stride) → as the head.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self.run(x, train)? {
            Flow::One(t) => Ok(t),
            Flow::Tuple(mut t) if !t.is_empty() => Ok(t.swap_remove(0)),
            _ => Err(Error::InvalidInput("the model's last layer gave no tensor".into())),
        }
    }

    /// Every output of the last layer (a segmentation head's predictions and prototypes).
    fn forward_flow(&self, input: &Flow, train: bool) -> Result<Flow> {
        self.run(input.one()?, train)
    }

    fn in_channels(&self) -> Option<i64> {
        self.in_channels
    }

    fn fusable(&self) -> Vec<(String, &dyn Fuse)> {
        crate::modules::child::list_fusable("model.", &self.layers)
    }
}

impl Block for DetectionModel {
    type Config = DetectionModelConfig;
    const NAME: &'static str = "detection_model";
    const CLASSES: &'static [&'static str] = &[
        "ultralytics.nn.tasks.DetectionModel",
        "ultralytics.nn.tasks.YOLOv10DetectionModel",
    ];

    fn new(s: &Scope, c: &DetectionModelConfig) -> Result<Self> {
        if c.layers.is_empty() || c.layers.len() > 4096 {
            return Err(Error::Config(format!("a model needs 1 to 4096 layers, got {}", c.layers.len())));
        }
        check_strides("DetectionModel", &c.stride)?;
        within("DetectionModel", "nc", c.nc, 1, MAX_CLASSES)?;
        if c.names.len() as i64 > MAX_CLASSES {
            return Err(Error::Config(format!(
                "DetectionModel has {} class names, more than {MAX_CLASSES}",
                c.names.len()
            )));
        }
        let save: Vec<bool> = (0..c.layers.len() as i64).map(|i| c.save.contains(&i)).collect();
        for (idx, layer) in c.layers.iter().enumerate() {
            if layer.i != idx as i64 {
                return Err(Error::Config(format!("layer {idx} says it is layer {}", layer.i)));
            }
            let reads = match &layer.f {
                From::One(j) => vec![*j],
                From::Many(js) => js.clone(),
            };
            for j in reads.into_iter().filter(|&j| j != -1) {
                let k = DetectionModelConfig::source(idx, j)?;
                if !save[k] {
                    return Err(Error::Config(format!("layer {idx} reads layer {k}, which `save` does not keep")));
                }
            }
        }
        let root = s.sub("model");
        let layers = c
            .layers
            .iter()
            .map(|l| l.module.build(&root.sub(&l.i.to_string())))
            .collect::<Result<Vec<_>>>()?;
        let in_channels = c
            .layers
            .iter()
            .zip(&layers)
            .take_while(|(l, _)| l.f == From::One(-1))
            .find(|(l, m)| m.in_channels().is_some() || l.module.class != "identity")
            .and_then(|(_, m)| m.in_channels());
        Ok(Self {
            layers,
            from: c.layers.iter().map(|l| l.f.clone()).collect(),
            save,
            in_channels,
        })
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<DetectionModelConfig> {
        let seq = m.child("model")?;
        let (mut layers, mut missing) = (Vec::new(), Vec::new());
        for (idx, (name, layer)) in seq.children().into_iter().enumerate() {
            if name != idx.to_string() {
                return Err(Error::Config(format!("model layer {idx} is named `{name}`")));
            }
            let f = match layer.ints("f") {
                Some(js) => From::Many(js),
                None => From::One(layer.int("f").unwrap_or(-1)),
            };
            let i = layer.int("i").unwrap_or(idx as i64);
            match Child::from_pickle(&layer, notes) {
                Ok(module) => layers.push(Layer { i, f, module }),
                Err(Error::NoPort { class, .. }) => missing.push((format!("model.{idx}"), class)),
                Err(e) => return Err(Error::Config(format!("model.{idx} ({}): {e}", layer.class()))),
            }
        }
        if !missing.is_empty() {
            return Err(Error::Unsupported(missing));
        }
        let head = layers.last().and_then(|l| head_of(&l.module));
        let yaml = m.json("yaml", 100_000);
        let stride = m.tensor_values("stride").or_else(|| head.as_ref().map(|h| h.stride.clone()));
        let save = m.ints("save").unwrap_or_else(|| {
            notes.push("DetectionModel has no `save`: every layer's output is kept".into());
            (0..layers.len() as i64).collect()
        });
        Ok(DetectionModelConfig {
            save,
            stride: stride.ok_or_else(|| Error::Config("DetectionModel has no stride".into()))?,
            nc: m
                .int("nc")
                .or_else(|| head.as_ref().map(|h| h.nc))
                .or_else(|| yaml.as_ref()?.get("nc")?.as_i64())
                .ok_or_else(|| Error::Config(format!("{} has no `nc`", m.class())))?,
            names: names(m, notes)?,
            yaml,
            layers,
        })
    }

    fn fused(c: &DetectionModelConfig) -> Result<DetectionModelConfig> {
        let layers = c
            .layers
            .iter()
            .map(|l| Ok(Layer { module: l.module.fused()?, ..l.clone() }))
            .collect::<Result<Vec<_>>>()?;
        Ok(DetectionModelConfig { layers, ..c.clone() })
    }
}

/// The elements of every tensor of `f`.
fn flow_numel(f: &Flow) -> u64 {
    match f {
        Flow::One(t) => t.numel() as u64,
        Flow::Tuple(ts) => ts.iter().map(|t| t.numel() as u64).sum(),
        Flow::List(fs) => fs.iter().map(flow_numel).sum(),
    }
}

/// `names` as a dict `{index: name}` (or an old list of names).
fn names(m: &Pickled<'_>, notes: &mut Notes) -> Result<BTreeMap<i64, String>> {
    let n = m.count("names").unwrap_or(0);
    if n as i64 > MAX_CLASSES {
        return Err(Error::Config(format!(
            "DetectionModel has {n} class names, more than {MAX_CLASSES}"
        )));
    }
    if let Some(pairs) = m.str_dict("names") {
        return Ok(pairs
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
            .collect());
    }
    if let Some(Value::Array(items)) = m.json("names", 100_000) {
        return Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as i64, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect());
    }
    notes.push("DetectionModel has no `names`: classes are numbered".into());
    Ok(BTreeMap::new())
}
