//! A model yaml (`yolov8n.yaml`, or a fork's own) read from a file, for building a detector
//! from a plain state_dict: YAML → JSON, the scale from the file name as ultralytics'
//! `yaml_model_load` reads it, then [`parse_model`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use serde_norway::Value as Yaml;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::io::read_regular;
use crate::model::expected_shapes;
use crate::modules::parse_model::{guess_scale, parse_model, YamlOptions};
use crate::modules::{Notes, Spec};

/// The largest model yaml read (1 MiB).
const MAX_YAML: u64 = 1 << 20;

/// A model yaml to build the model from, and what `DetectionModel(cfg, ch, nc)` takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelYaml {
    /// The yaml file.
    pub path: PathBuf,
    /// Scale, classes and input channels; a scale not given is read from the file name
    /// (`yolov8s.yaml` → `s`), as ultralytics does.
    pub options: YamlOptions,
}

/// A YAML document as JSON: mapping keys become strings; tags and non-finite numbers are
/// refused.
fn to_json(y: Yaml, depth: usize) -> Result<Value> {
    if depth > 64 {
        return Err(Error::Config(
            "model yaml nests deeper than 64 levels".into(),
        ));
    }
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| Error::Config(format!("model yaml holds the number {f}")))?,
            _ => return Err(Error::Config(format!("model yaml holds the number {n}"))),
        },
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|v| to_json(v, depth + 1))
                .collect::<Result<_>>()?,
        ),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => if b { "True" } else { "False" }.to_string(),
                    other => {
                        return Err(Error::Config(format!(
                            "model yaml has a mapping key {other:?}"
                        )))
                    }
                };
                out.insert(key, to_json(v, depth + 1)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => {
            return Err(Error::Config(format!(
                "model yaml has a tagged value `{}`",
                t.tag
            )))
        }
    })
}

/// Read a model yaml file as JSON.
pub fn read(path: &Path) -> Result<Value> {
    as_json(read_doc(path)?, path)
}

fn as_json(doc: Yaml, path: &Path) -> Result<Value> {
    match to_json(doc, 0)? {
        v @ Value::Object(_) => Ok(v),
        _ => Err(Error::InvalidInput(format!(
            "{}: a model yaml must be a mapping",
            path.display()
        ))),
    }
}

/// The first key of the yaml's `scales`, in the file's order (the scale ultralytics assumes
/// when none is given).
fn first_scale(doc: &Yaml) -> Option<String> {
    doc.get("scales")?
        .as_mapping()?
        .keys()
        .next()?
        .as_str()
        .map(str::to_string)
}

/// The deepest nesting of `text`'s flow collections (`[`, `{`) and block sequences (`- - x`)
/// outside quotes and comments — an upper bound of what the parser would recurse into,
/// checked first since the parser's time grows faster than linearly with the depth.
fn nesting(text: &str) -> usize {
    let (mut deepest, mut flow) = (0usize, 0usize);
    for line in text.lines() {
        let block = line
            .trim_start()
            .split_inclusive("- ")
            .take_while(|p| p.trim() == "-")
            .count();
        let indent = line.len() - line.trim_start().len();
        let (mut quote, mut prev) = (None, ' ');
        for c in line.chars() {
            match (quote, c) {
                (None, '#') if prev == ' ' => break,
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            prev = c;
            deepest = deepest.max(flow);
        }
        deepest = deepest.max(block + indent / 2);
    }
    deepest
}

fn read_doc(path: &Path) -> Result<Yaml> {
    let bytes = read_regular(path, MAX_YAML)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::InvalidInput(format!("{}: not UTF-8 text", path.display())))?;
    if nesting(text) > 64 {
        return Err(Error::Config(format!(
            "{}: the model yaml nests deeper than 64 levels",
            path.display()
        )));
    }
    let y: Yaml = serde_norway::from_str(text).map_err(|e| {
        Error::InvalidInput(format!(
            "{}: not YAML: {}",
            path.display(),
            e.to_string().lines().next().unwrap_or("")
        ))
    })?;
    Ok(y)
}

/// The `DetectionModel` spec a model yaml describes.
pub fn spec(y: &ModelYaml, notes: &mut Notes) -> Result<Spec> {
    let doc = read_doc(&y.path)?;
    let first = first_scale(&doc);
    let yaml = as_json(doc, &y.path)?;
    let mut options = y.options.clone();
    if options.scale.is_none() {
        let stem = y
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        options.scale = guess_scale(stem);
        if let Some(s) = &options.scale {
            notes.push(format!(
                "scale `{s}` from the yaml's file name, as ultralytics reads it"
            ));
        }
    }
    if options.scale.is_none() {
        options.scale = first;
        if let Some(s) = &options.scale {
            notes.push(format!(
                "no model scale given: `{s}`, the yaml's first, as ultralytics assumes"
            ));
        }
    }
    let config = parse_model(&yaml, &options, notes).map_err(|e| match e {
        Error::Config(m) => Error::Config(format!("{}: {m}", y.path.display())),
        other => other,
    })?;
    config.spec()
}

/// The yaml's model, or its fused layout when the weights are fused (convolutions with a bias
/// and no BatchNorm anywhere: a state_dict saved after `model.fuse()`) and fit it exactly.
pub fn fit(spec: Spec, tensors: &[(String, Tensor)], notes: &mut Notes) -> Result<Spec> {
    if tensors
        .iter()
        .any(|(k, _)| k.contains(".bn.") || k.starts_with("bn."))
    {
        return Ok(spec);
    }
    let fused = spec.fused()?;
    let expected = expected_shapes(&fused)?;
    let fits = expected.len() == tensors.len()
        && tensors
            .iter()
            .all(|(k, t)| expected.get(k).is_some_and(|e| e.size() == t.size()));
    if !fits {
        return Ok(spec);
    }
    notes.push("the weights are fused (no BatchNorm): the fused layout of the yaml's model".into());
    Ok(fused)
}
