//! The model-wide settings of a model yaml: input channels and classes (as
//! `DetectionModel(cfg, ch, nc)` overrides them), the scale's depth, width and channel cap, the
//! `activation`, `reg_max`, `end2end`, and the names a row's arguments may use.

use serde_json::{json, Map, Value};

use super::YamlOptions;
use crate::error::{Error, Result};
use crate::modules::{within, Notes, MAX_WIDTH};
use crate::nn::Act;

/// The largest depth or width multiple a scale may have (ultralytics' largest: 1.33).
pub(super) const MAX_MULTIPLE: f64 = 16.0;

/// What every row of a yaml is built with.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub ch_in: i64,
    pub nc: i64,
    pub depth: f64,
    pub width: f64,
    pub max_channels: f64,
    pub scale: Option<String>,
    pub act: Act,
    pub reg_max: Value,
    pub end2end: Value,
    /// The names `parse_model` evaluates a string argument among (`nc`, …).
    pub locals: Map<String, Value>,
}

/// `d[key]`, `None` for an absent or null key.
pub(super) fn field<'v>(d: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    d.get(key).filter(|v| !v.is_null())
}

/// The scale's `[depth, width, max_channels]`, the scale chosen (the first, noted, when none is
/// given).
fn scaled(
    scales: &Map<String, Value>,
    scale: Option<String>,
    notes: &mut Notes,
) -> Result<(String, [f64; 3])> {
    let name = match scale {
        Some(s) => s,
        None => {
            let first = scales
                .keys()
                .next()
                .cloned()
                .ok_or_else(|| Error::Config("model yaml has empty `scales`".into()))?;
            notes.push(format!(
                "no model scale given: `{first}`, the yaml's first, as ultralytics assumes"
            ));
            first
        }
    };
    let row = scales.get(&name).and_then(Value::as_array).ok_or_else(|| {
        let known: Vec<&str> = scales.keys().map(String::as_str).collect();
        Error::Config(format!(
            "model yaml has no scale `{name}` (it has {})",
            known.join(", ")
        ))
    })?;
    let num = |i: usize| {
        row.get(i).and_then(Value::as_f64).ok_or_else(|| {
            Error::Config(format!(
                "scale `{name}` must be [depth, width, max_channels]"
            ))
        })
    };
    let values = [num(0)?, num(1)?, num(2)?];
    Ok((name, values))
}

impl Settings {
    /// The settings of yaml `d`, which gets `channels`, `nc` and `scale` written back as
    /// ultralytics' model keeps its yaml.
    pub(super) fn read(
        d: &mut Map<String, Value>,
        opts: &YamlOptions,
        notes: &mut Notes,
    ) -> Result<Settings> {
        let ch_in = opts
            .ch
            .or_else(|| field(d, "channels").and_then(Value::as_i64))
            .unwrap_or(3);
        within("model yaml", "channels", ch_in, 1, MAX_WIDTH)?;
        d.insert("channels".into(), ch_in.into());
        if let Some(nc) = opts.nc {
            d.insert("nc".into(), nc.into());
        }
        let nc = field(d, "nc")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::Config("model yaml has no `nc`".into()))?;
        within("model yaml", "nc", nc, 1, MAX_WIDTH)?;
        let multiple = |k: &str| field(d, k).and_then(Value::as_f64).unwrap_or(1.0);
        let (mut depth, mut width) = (multiple("depth_multiple"), multiple("width_multiple"));
        let mut max_channels = f64::INFINITY;
        let given = opts.scale.clone().or_else(|| {
            field(d, "scale")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let mut scale = given.filter(|s| !s.is_empty());
        if let Some(Value::Object(scales)) = field(d, "scales") {
            let (name, [dm, wm, mc]) = scaled(scales, scale, notes)?;
            (depth, width, max_channels) = (dm, wm, mc);
            scale = Some(name);
        }
        let sane = |v: f64| v.is_finite() && v > 0.0 && v <= MAX_MULTIPLE;
        if !(sane(depth) && sane(width)) {
            return Err(Error::Config(format!(
                "model yaml depth {depth} and width {width} must be in (0, {MAX_MULTIPLE}]"
            )));
        }
        if max_channels.is_nan() || max_channels <= 0.0 {
            return Err(Error::Config(format!(
                "model yaml max_channels {max_channels} must be above 0"
            )));
        }
        if let Some(s) = &scale {
            d.insert("scale".into(), s.clone().into());
        }
        let act: Act = match field(d, "activation") {
            Some(Value::String(s)) => s.parse()?,
            Some(other) => {
                return Err(Error::Config(format!(
                    "model yaml `activation` must be a string, got {other}"
                )))
            }
            None => Act::SiLU,
        };
        let reg_max = field(d, "reg_max").cloned().unwrap_or(16.into());
        let end2end = field(d, "end2end").cloned().unwrap_or(false.into());
        let mut locals = Map::new();
        for (k, v) in [
            ("nc", nc.into()),
            ("reg_max", reg_max.clone()),
            ("end2end", end2end.clone()),
            ("depth", json!(depth)),
            ("width", json!(width)),
            // parse_model: `kpt_shape = d.get("kpt_shape", 1.0)`, a local the Pose rows name.
            (
                "kpt_shape",
                field(d, "kpt_shape").cloned().unwrap_or(json!(1.0)),
            ),
        ] {
            locals.insert(k.to_string(), v);
        }
        Ok(Settings {
            ch_in,
            nc,
            depth,
            width,
            max_channels,
            scale,
            act,
            reg_max,
            end2end,
            locals,
        })
    }
}
