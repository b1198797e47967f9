//! A `DetectionModel` from a model yaml, as ultralytics builds one (`nn/tasks.py`, 8.4.190:
//! `DetectionModel.__init__`, `parse_model`): the scale's depth, width and channel cap, the
//! yaml's `activation`, every layer's arguments completed with its input channels, repeats,
//! the `save` list, BatchNorm eps 1e-3 and momentum 0.03, and the head's strides measured by a
//! forward pass at 256×256. Each class's own `__init__` is its [`crate::modules::Block::from_args`].

use std::collections::BTreeMap;

mod row;
mod settings;

use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

use super::detection_model::{DetectionModel, DetectionModelConfig, From, Layer};
use super::sppf::Sppf;
use super::task_model::detect_part_mut;
use crate::error::{Error, Result};
use crate::modules::registry::by_class;
use crate::modules::sequential::SequentialConfig;
use crate::modules::SemanticSegment;
use crate::modules::{Args, Block, Child, Init, Notes, Sequential};
use crate::nn::Scope;

use row::{read_row, sources};
use settings::{field, Settings};

/// The most blocks a yaml's rows may add up to, repeats scaled by the depth included
/// (ultralytics' largest detectors have under 100).
pub const MAX_BLOCKS: i64 = 4096;

/// The most activation elements the stride measurement at 256×256 may hold (512 MiB of f32);
/// probes at smaller sizes check this first, so a yaml that would explode is refused early.
const MEASURE_BUDGET: u64 = 128 << 20;

/// What `DetectionModel(cfg, ch=3, nc=None)` takes besides the yaml, and the scale that
/// `yaml_model_load` reads from the file name (`yolov8s.yaml` → `s`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YamlOptions {
    /// The scale (`n`, `s`, …); `None`: the yaml's `scale`, else its first scale (noted).
    pub scale: Option<String>,
    /// Classes, overriding the yaml's `nc`.
    pub nc: Option<i64>,
    /// Input channels; `None`: the yaml's `channels`, else 3.
    pub ch: Option<i64>,
    /// The ultralytics version whose rules to follow where they changed (see
    /// [`sppf_cv1_activated`]); `None`: 8.4.190's.
    pub version: Option<[u32; 3]>,
}

/// Parse an ultralytics version (`8.4.30`).
pub fn parse_version(s: &str) -> Result<[u32; 3]> {
    let parts: Vec<u32> = s
        .trim()
        .split('.')
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Config(format!("`{s}` is not a version like 8.4.30")))?;
    match parts.as_slice() {
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err(Error::Config(format!("`{s}` is not a version like 8.4.30"))),
    }
}

/// Whether a yaml's `SPPF` gets an activated `cv1` (verified on the wheels and real
/// checkpoints): a row of more than three arguments (YOLO26's `[c2, k, n, shortcut]`) only
/// exists with the unactivated SPPF, whatever version string wrote it (the official DOTAv1
/// YOLO26n-obb says 8.3.222, whose released SPPF takes three arguments, and holds an Identity
/// `cv1`); shorter rows are activated before 8.4.0 (the class had no `act=False`), never from
/// 8.4.0 to 8.4.140 (YOLO26's unactivated SPPF, applied to every yaml), and again from 8.4.141.
pub fn sppf_cv1_activated(version: Option<[u32; 3]>, n_args: usize) -> bool {
    if n_args > 3 {
        return false;
    }
    match version {
        Some(v) if v < [8, 4, 0] => true,
        Some(v) if v < [8, 4, 141] => false,
        _ => true,
    }
}

/// ultralytics' `guess_model_scale`: the letter after `yolo[v]<digits>` in a file stem.
pub fn guess_scale(stem: &str) -> Option<String> {
    stem.match_indices("yolo").find_map(|(at, _)| {
        let rest = &stem[at + 4..];
        let rest = rest.strip_prefix("e-").unwrap_or(rest);
        let rest = rest.strip_prefix('v').unwrap_or(rest);
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let next = rest[digits..].chars().next()?;
        (digits > 0 && "nslmx".contains(next)).then(|| next.to_string())
    })
}

/// The `DetectionModel` a model yaml (as JSON) describes, built as ultralytics builds it;
/// every class the yaml names that sppnet lacks is listed in one error.
pub fn parse_model(
    yaml: &Value,
    opts: &YamlOptions,
    notes: &mut Notes,
) -> Result<DetectionModelConfig> {
    let Value::Object(d) = yaml else {
        return Err(Error::Config("a model yaml must be a mapping".into()));
    };
    let mut d = d.clone();
    let set = Settings::read(&mut d, opts, notes)?;
    let rows: Vec<Value> = ["backbone", "head"]
        .iter()
        .flat_map(|k| {
            field(&d, k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    // A classifier's head is `Classify` (ClassificationModel); every other yaml builds a
    // DetectionModel, whose __init__ resets BatchNorm eps and momentum.
    let classifier = rows
        .last()
        .and_then(|r| r.get(2))
        .and_then(Value::as_str)
        .is_some_and(|m| m.trim_start_matches("nn.") == "Classify");
    let base = match classifier {
        true => Init::classification_model(),
        false => Init::detection_model(),
    };
    let init = Init {
        act: set.act,
        ..base
    };
    if rows.is_empty() || rows.len() > 4096 {
        return Err(Error::Config(format!(
            "a model yaml needs 1 to 4096 layers in `backbone` and `head`, got {}",
            rows.len()
        )));
    }
    let (mut layers, mut save, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let mut ch: Vec<Value> = vec![set.ch_in.into()];
    let (mut legacy, mut blocks) = (true, 0);
    for (i, row) in rows.iter().enumerate() {
        let bad = |what: &str| Error::Config(format!("model yaml layer {i}: {what}"));
        let r = read_row(i, row, &set, &ch, &mut legacy, notes)?;
        blocks += r.repeats;
        if blocks > MAX_BLOCKS {
            return Err(bad(&format!(
                "the yaml's repeats add up to more than {MAX_BLOCKS} blocks"
            )));
        }
        let name = r.name.as_str();
        if i == 0 {
            ch.clear();
        }
        ch.push(r.c2.clone());
        let Some((entry, _)) = by_class("", name) else {
            missing.push((format!("model.{i}"), name.to_string()));
            continue;
        };
        let n_args = r.args.len();
        let built = Args::new(entry.classes[0], r.args, r.kw, init);
        let mut block = Child::from(
            &entry
                .from_args(&built)
                .map_err(|e| bad(&format!("{name}: {e}")))?
                .ok_or_else(|| bad(&format!("{name} cannot be built from a model yaml")))?,
        );
        if name == "SPPF" && sppf_cv1_activated(opts.version, n_args) {
            let mut c = block
                .config_as::<Sppf>()
                .ok_or_else(|| bad("SPPF config"))?;
            c.cv1.act = set.act;
            block = Child::of::<Sppf>(&c)?;
        }
        let module = match r.reps {
            1 => block,
            n => Child::of::<Sequential>(&SequentialConfig {
                modules: vec![block; n as usize],
            })?,
        };
        for j in sources(&r.f).into_iter().filter(|&j| j != -1) {
            if i == 0 {
                return Err(bad("the first layer can only read the input (-1)"));
            }
            save.push(j.rem_euclid(i as i64));
        }
        layers.push(Layer {
            i: i as i64,
            f: r.f,
            module,
        });
    }
    if !missing.is_empty() {
        return Err(Error::Unsupported(missing));
    }
    save.sort_unstable();
    let mut config = DetectionModelConfig {
        layers,
        save,
        // ClassificationModel's `stride = torch.Tensor([1])`; a detector's is measured below.
        stride: vec![if classifier { 1.0 } else { 32.0 }],
        nc: set.nc,
        names: (0..set.nc)
            .map(|i| (i, i.to_string()))
            .collect::<BTreeMap<_, _>>(),
        yaml: Some(Value::Object(d)),
    };
    measure_strides(&mut config, set.ch_in)?;
    Ok(config)
}

/// The model a checkpoint's own stored yaml builds (`config.yaml`, the dict ultralytics keeps),
/// under `options` (with the model's own `nc` unless they name one), with the head's end-to-end switch taken from `config` (a run-time setting,
/// not the yaml's).
pub fn from_stored_yaml(
    config: &DetectionModelConfig,
    options: &YamlOptions,
    notes: &mut Notes,
) -> Result<DetectionModelConfig> {
    let yaml = config
        .yaml
        .as_ref()
        .ok_or_else(|| Error::Config("the model holds no yaml".into()))?;
    // The model's own class count where the options give none: a trainer builds the model
    // with its data's `nc` (`PoseModel(cfg, nc=1)`), and the official COCO pose checkpoint
    // keeps `nc: 80` in its yaml beside a one-class head.
    let options = YamlOptions {
        nc: options.nc.or(Some(config.nc)),
        ..options.clone()
    };
    let mut built = parse_model(yaml, &options, notes)?;
    let end2end = config
        .layers
        .last()
        .and_then(|l| super::task_model::detect_part(&l.module)?.get("end2end"))
        .filter(|e| !e.is_null());
    let head = built
        .layers
        .last_mut()
        .and_then(|l| detect_part_mut(&mut l.module));
    if let (Some(head), Some(e)) = (head, end2end) {
        head["end2end"] = e.clone();
    }
    Ok(built)
}

/// `DetectionModel`'s stride measurement: the model without its head run on zeros of
/// 256×256 (weights of the right shapes only), each head input's stride = 256 / its height.
fn measure_strides(c: &mut DetectionModelConfig, ch_in: i64) -> Result<()> {
    let Some(last) = c.layers.last() else {
        return Ok(());
    };
    if last.module.class == SemanticSegment::NAME {
        return measure_deepest(c, ch_in);
    }
    if c.head().is_none() {
        return Ok(());
    }
    let reads = match &last.f {
        From::One(j) => vec![*j],
        From::Many(js) => js.clone(),
    };
    let body = DetectionModelConfig {
        layers: c.layers[..c.layers.len() - 1].to_vec(),
        save: (0..c.layers.len() as i64).collect(),
        ..c.clone()
    };
    const S: i64 = 256;
    let strides = tch::no_grad(|| -> Result<Vec<f64>> {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = DetectionModel::new(&Scope::shapes_only(vs.root()), &body)?;
        // Smaller probes first (the first that runs): the activations at 256 are at most
        // (256 / s)² times the probe's, checked before the full-size run.
        for s in [32, 64, 128] {
            let scale = ((S / s) * (S / s)) as u64;
            let x = Tensor::f_zeros([1, ch_in, s, s], (Kind::Float, Device::Cpu))?;
            match model.peak_elements(&x, MEASURE_BUDGET / scale) {
                Ok(_) => break,
                Err(Error::MemoryLimit(_)) => {
                    return Err(Error::Config(format!(
                        "the model yaml's activations at {s}×{s} already pass {} elements: \
                         too large to measure its strides at {S}×{S}",
                        MEASURE_BUDGET / scale
                    )))
                }
                Err(_) => continue, // that size does not fit the model's strides
            }
        }
        let outs = model.outputs(
            &Tensor::f_zeros([1, ch_in, S, S], (Kind::Float, Device::Cpu))?,
            false,
        )?;
        let n = outs.len() as i64;
        reads
            .iter()
            .map(|&j| {
                let k = if j < 0 { n + j } else { j };
                let t = usize::try_from(k)
                    .ok()
                    .and_then(|k| outs.get(k))
                    .ok_or_else(|| {
                        Error::Config(format!("the head reads layer {j}, which does not exist"))
                    })?;
                let h = *t
                    .one()?
                    .size()
                    .get(2)
                    .ok_or_else(|| Error::Config("a head input is not NCHW".into()))?;
                Ok(S as f64 / h as f64)
            })
            .collect()
    })?;
    if let Some(head) = c
        .layers
        .last_mut()
        .and_then(|l| detect_part_mut(&mut l.module))
    {
        head["stride"] = json!(strides);
    }
    c.stride = strides;
    Ok(())
}

/// `SemanticSegmentationModel`'s stride: 256 over the smallest height of any layer's output
/// at 256×256 (the deepest backbone stride, which inputs must align to).
fn measure_deepest(c: &mut DetectionModelConfig, ch_in: i64) -> Result<()> {
    const S: i64 = 256;
    let min_h = tch::no_grad(|| -> Result<i64> {
        let vs = nn::VarStore::new(Device::Cpu);
        let all = DetectionModelConfig {
            save: (0..c.layers.len() as i64).collect(),
            ..c.clone()
        };
        let model = DetectionModel::new(&Scope::shapes_only(vs.root()), &all)?;
        let x = Tensor::f_zeros([1, ch_in, S, S], (Kind::Float, Device::Cpu))?;
        model.peak_elements(&x, MEASURE_BUDGET)?;
        let outs = model.outputs(&x, false)?;
        Ok(outs
            .iter()
            .filter_map(|o| o.one().ok().filter(|t| t.dim() == 4).map(|t| t.size()[2]))
            .fold(S, i64::min))
    })?;
    let stride = S as f64 / min_h.max(1) as f64;
    if let Some(head) = c.layers.last_mut() {
        head.module.config["stride"] = json!([stride]);
    }
    c.stride = vec![stride];
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_read_from_names_as_ultralytics_reads_them() {
        for (stem, scale) in [
            ("yolov8s", Some("s")),
            ("yolo11m", Some("m")),
            ("03-yolov8n-p6", Some("n")),
            ("yoloe-v8l-seg", Some("l")),
            ("yolov10b", None),
            ("yolov9t", None),
            ("yolo", None),
            ("my-yolo-yolo26x", Some("x")),
        ] {
            assert_eq!(guess_scale(stem).as_deref(), scale, "{stem}");
        }
    }

    #[test]
    fn sppf_activation_follows_the_version_that_built_the_model() {
        assert_eq!(parse_version("8.4.30").unwrap(), [8, 4, 30]);
        assert!(parse_version("8.4").is_err() && parse_version("v8.4.1").is_err());
        let rule = |v: Option<[u32; 3]>, n| sppf_cv1_activated(v, n);
        assert!(
            !rule(Some([8, 3, 222]), 5) && rule(Some([8, 3, 91]), 2) && rule(Some([8, 3, 91]), 3)
        );
        assert!(!rule(Some([8, 4, 0]), 2) && !rule(Some([8, 4, 140]), 3));
        assert!(rule(Some([8, 4, 141]), 3) && !rule(Some([8, 4, 141]), 4));
        assert!(rule(None, 3) && !rule(None, 5));
    }
}
