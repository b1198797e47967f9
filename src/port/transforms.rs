//! A classification checkpoint's pickled torchvision transforms (`model.transforms`), read as
//! data into [`Transforms`]: the `Compose`'s list, each transform's `__dict__` (`size`,
//! `interpolation` as `InterpolationMode("bilinear")`, `max_size`, `mean`/`std` as tensors or
//! numbers). Nothing is called. A transform ultralytics' predictor does not use is refused.

use torch_pickle::walk::Module;
use torch_pickle::{Node, Pickle, TensorRef, Value};

use crate::error::{Error, Result};
use crate::images::pil::Filter;
use crate::images::transforms::{Size, Step, Transforms};

const NS: &str = "torchvision.transforms.transforms";

fn refuse(why: String) -> Error {
    Error::Config(format!(
        "the checkpoint's pickled classify transforms: {why}"
    ))
}

/// The transforms pickled on `model` (`None` when it has none, as YAML-built and legacy
/// checkpoints); `values` reads a small tensor's values (`Normalize`'s mean and std).
pub fn pickled(
    p: &Pickle,
    model: &Module<'_>,
    values: &dyn Fn(&TensorRef) -> Option<Vec<f64>>,
) -> Result<Option<Transforms>> {
    let Some(t) = model
        .attr("transforms")
        .filter(|v| !matches!(v, Value::None))
    else {
        return Ok(None);
    };
    let Some(Node::Object { class, state, .. }) = p.node_of(t) else {
        return Err(refuse(format!("not a Compose but {}", p.describe(t))));
    };
    if (class.0.as_str(), class.1.as_str()) != (NS, "Compose") {
        return Err(refuse(format!(
            "{}.{}, not torchvision's Compose",
            class.0, class.1
        )));
    }
    let list = state
        .as_ref()
        .and_then(|s| p.get(s, "transforms"))
        .and_then(|l| match p.node_of(l) {
            Some(Node::List(items) | Node::Tuple(items)) => Some(items),
            _ => None,
        })
        .ok_or_else(|| refuse("a Compose without its list".into()))?;
    let steps = list
        .iter()
        .map(|v| step(p, v, values))
        .collect::<Result<Vec<_>>>()?;
    Transforms::new(steps).map(Some)
}

fn step(p: &Pickle, v: &Value, values: &dyn Fn(&TensorRef) -> Option<Vec<f64>>) -> Result<Step> {
    let Some(Node::Object { class, state, .. }) = p.node_of(v) else {
        return Err(refuse(format!("a step {}", p.describe(v))));
    };
    let name = format!("{}.{}", class.0, class.1);
    if class.0 != NS {
        return Err(refuse(format!(
            "{name} is not a torchvision transform ultralytics' predictor applies"
        )));
    }
    let attr = |k: &str| state.as_ref().and_then(|s| p.get(s, k));
    let need = |k: &str| attr(k).ok_or_else(|| refuse(format!("{name} without `{k}`")));
    Ok(match class.1.as_str() {
        "Resize" => Step::Resize {
            size: size(p, need("size")?).ok_or_else(|| refuse(format!("{name}'s size")))?,
            interpolation: interpolation(p, need("interpolation")?)?,
            max_size: match attr("max_size") {
                None | Some(Value::None) => None,
                Some(Value::Int(n)) if *n > 0 => Some(*n as usize),
                Some(other) => return Err(refuse(format!("max_size {}", p.describe(other)))),
            },
        },
        "CenterCrop" => Step::CenterCrop {
            size: size(p, need("size")?).ok_or_else(|| refuse(format!("{name}'s size")))?,
        },
        "ToTensor" => Step::ToTensor,
        "Normalize" => {
            let get = |k: &str| -> Result<Vec<f32>> {
                numbers(p, need(k)?, values)
                    .map(|v| v.into_iter().map(|x| x as f32).collect())
                    .ok_or_else(|| refuse(format!("{name}'s {k}")))
            };
            Step::Normalize {
                mean: get("mean")?,
                std: get("std")?,
            }
        }
        other => {
            return Err(refuse(format!(
                "{other} is not one of the transforms sppnet applies (Resize, CenterCrop, ToTensor, Normalize)"
            )))
        }
    })
}

fn size(p: &Pickle, v: &Value) -> Option<Size> {
    let int = |v: &Value| match v {
        Value::Int(n) if (1..=1 << 16).contains(n) => Some(*n as usize),
        _ => None,
    };
    match v {
        Value::Int(_) => int(v).map(Size::One),
        _ => match p.node_of(v)? {
            Node::List(items) | Node::Tuple(items) => items
                .iter()
                .map(int)
                .collect::<Option<Vec<_>>>()
                .map(Size::Seq),
            _ => None,
        },
    }
}

fn interpolation(p: &Pickle, v: &Value) -> Result<Filter> {
    // `InterpolationMode("bilinear")`, or Pillow's integer constant in old torchvision.
    let mode = match (v, p.node_of(v)) {
        (Value::Int(n), _) => match n {
            2 => "bilinear",
            3 => "bicubic",
            4 => "box",
            5 => "hamming",
            1 => "lanczos",
            _ => "nearest",
        },
        (_, Some(Node::Object { class, args, .. })) if class.1 == "InterpolationMode" => {
            match args.first() {
                Some(Value::Str(s)) => s,
                _ => return Err(refuse("an InterpolationMode without its value".into())),
            }
        }
        _ => return Err(refuse(format!("interpolation {}", p.describe(v)))),
    };
    Filter::from_torchvision(mode).map_err(|e| refuse(e.to_string()))
}

fn numbers(
    p: &Pickle,
    v: &Value,
    values: &dyn Fn(&TensorRef) -> Option<Vec<f64>>,
) -> Option<Vec<f64>> {
    let num = |v: &Value| match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    if let Some(x) = num(v) {
        return Some(vec![x]);
    }
    if let Some(t) = p.tensor(v) {
        return values(t);
    }
    match p.node_of(v)? {
        Node::List(items) | Node::Tuple(items) => items.iter().map(num).collect(),
        _ => None,
    }
}
