//! One row of a model yaml, `[from, number, module, args]`, completed as `parse_model` completes
//! it: arguments evaluated, repeats scaled by the depth, the input channels put first and the
//! output channels scaled by the width (`base_modules`), the repeat count passed in
//! (`repeat_modules`), a head given its inputs' channels — and the channels the row outputs.

use serde_json::{Map, Value};

use super::settings::Settings;
use crate::error::{Error, Result};
use crate::modules::detection_model::From;
use crate::modules::{Notes, MAX_SMALL, MAX_WIDTH};

/// Classes whose first argument is their output channels, scaled by the width
/// (`parse_model`'s `base_modules`).
const BASE: &[&str] = &[
    "Classify",
    "Conv",
    "ConvTranspose",
    "GhostConv",
    "Bottleneck",
    "GhostBottleneck",
    "SPP",
    "SPPF",
    "C2fPSA",
    "C2PSA",
    "DWConv",
    "Focus",
    "BottleneckCSP",
    "C1",
    "C2",
    "C2f",
    "C3k2",
    "RepNCSPELAN4",
    "ELAN1",
    "ADown",
    "AConv",
    "SPPELAN",
    "C2fAttn",
    "C3",
    "C3TR",
    "C3Ghost",
    "ConvTranspose2d",
    "DWConvTranspose2d",
    "C3x",
    "RepC3",
    "PSA",
    "SCDown",
    "C2fCIB",
    "A2C2f",
];
/// Base classes that take the repeat count as their third argument (`repeat_modules`).
const REPEAT: &[&str] = &[
    "BottleneckCSP",
    "C1",
    "C2",
    "C2f",
    "C3k2",
    "C2fAttn",
    "C3",
    "C3TR",
    "C3Ghost",
    "C3x",
    "RepC3",
    "C2fPSA",
    "C2fCIB",
    "C2PSA",
    "A2C2f",
];
/// Heads that get `reg_max`, `end2end` and their inputs' channels appended.
const HEADS: &[&str] = &[
    "Detect",
    "Segment",
    "Segment26",
    "Pose",
    "Pose26",
    "OBB",
    "OBB26",
    "WorldDetect",
    "YOLOEDetect",
];

/// The model-wide values a yaml's arguments may name (`nc`, `reg_max`, …): `parse_model`
/// evaluates strings among its locals, then as Python literals.
fn resolve(a: &Value, locals: &Map<String, Value>) -> Value {
    let Value::String(s) = a else {
        return a.clone();
    };
    match s.as_str() {
        "None" => Value::Null,
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        name if locals.contains_key(name) => locals[name].clone(),
        lit => serde_json::from_str::<Value>(lit)
            .ok()
            .filter(|v| v.is_number())
            .unwrap_or_else(|| a.clone()),
    }
}

/// Channels `ch[j]` as Python indexes them (negative from the end).
fn channel(ch: &[Value], j: i64) -> Result<&Value> {
    let k = if j < 0 { ch.len() as i64 + j } else { j };
    usize::try_from(k)
        .ok()
        .and_then(|k| ch.get(k))
        .ok_or_else(|| Error::Config(format!("a layer reads layer {j}, which does not exist")))
}

fn int_channel(ch: &[Value], j: i64) -> Result<i64> {
    channel(ch, j)?.as_i64().ok_or_else(|| {
        Error::Config(format!(
            "layer {j}'s output is not one tensor of known channels"
        ))
    })
}
/// A row, completed.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// Where it reads from.
    pub f: From,
    /// The class's bare name (`Conv`, `Upsample`).
    pub name: String,
    /// Positional arguments for its constructor.
    pub args: Vec<Value>,
    /// Keyword arguments (only a head's `legacy`, which upstream sets on the class).
    pub kw: Map<String, Value>,
    /// How many copies make the layer (an `nn.Sequential` when more than one).
    pub reps: i64,
    /// The row's `number` scaled by the depth (`reps`, or what a repeat class takes).
    pub repeats: i64,
    /// Its output channels (`null` for a head; a list for CBLinear).
    pub c2: Value,
}

/// The layers row `f` names.
pub(super) fn sources(f: &From) -> Vec<i64> {
    match f {
        From::One(j) => vec![*j],
        From::Many(js) => js.clone(),
    }
}

/// Row `i`, completed against the channels `ch` of the layers before it; `legacy` turns false
/// once a class of the newer heads' generation appears, as upstream's does.
pub(super) fn read_row(
    i: usize,
    row: &Value,
    set: &Settings,
    ch: &[Value],
    legacy: &mut bool,
    notes: &mut Notes,
) -> Result<Row> {
    let bad = |what: &str| Error::Config(format!("model yaml layer {i}: {what}"));
    let Some([f, n, m, args]) = row
        .as_array()
        .map(Vec::as_slice)
        .and_then(|r| <&[Value; 4]>::try_from(r).ok())
    else {
        return Err(bad("must be [from, number, module, args]"));
    };
    let f: From = serde_json::from_value(f.clone())
        .map_err(|_| bad("`from` must be an integer or a list of integers"))?;
    let n = n
        .as_i64()
        .filter(|n| (1..=MAX_SMALL).contains(n))
        .ok_or_else(|| bad("`number` must be in 1..=1024"))?;
    let name = m
        .as_str()
        .ok_or_else(|| bad("`module` must be a class name"))?;
    let mut name = name.trim_start_matches("torch.").trim_start_matches("nn.");
    if i == 0 && name == "Silence" {
        notes.push("YOLOv9 `Silence` read as nn.Identity, as ultralytics does".into());
        name = "Identity";
    }
    let mut args: Vec<Value> = match args {
        Value::Array(a) => a.iter().map(|a| resolve(a, &set.locals)).collect(),
        Value::Null => Vec::new(),
        _ => return Err(bad("`args` must be a list")),
    };
    let n = if n > 1 {
        let scaled = (n as f64 * set.depth).round_ties_even().max(1.0);
        if scaled > MAX_SMALL as f64 {
            return Err(bad(&format!(
                "`number` {n} × depth {} is {scaled} repeats, more than {MAX_SMALL}",
                set.depth
            )));
        }
        scaled as i64
    } else {
        n
    };
    let one = |f: &From| match f {
        From::One(j) => Ok(*j),
        From::Many(_) => Err(bad(&format!("{name} reads one layer"))),
    };
    let (mut kw, mut reps) = (Map::new(), n);
    let c2: Value = if BASE.contains(&name) {
        let c1 = int_channel(ch, one(&f)?)?;
        let c2 = args
            .first()
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite() && *c > 0.0)
            .ok_or_else(|| {
                bad("the first argument must be the output channels (a number above 0)")
            })?;
        let c2 = match name {
            "Classify" => c2,
            // make_divisible(min(c2, max_channels) * width, 8)
            _ => ((c2.min(set.max_channels) * set.width) / 8.0).ceil() * 8.0,
        };
        if c2 > MAX_WIDTH as f64 {
            return Err(bad(&format!("{c2} output channels, more than {MAX_WIDTH}")));
        }
        let c2 = c2 as i64;
        args.splice(0..1, [c1.into(), c2.into()]);
        if REPEAT.contains(&name) {
            args.insert(2, n.into());
            reps = 1;
        }
        if name == "C3k2" {
            *legacy = false;
            if matches!(set.scale.as_deref(), Some("m" | "l" | "x")) {
                let end = args.len().min(4);
                args.splice(3..end, [Value::Bool(true)]);
            }
        }
        if name == "C2fCIB" || name == "A2C2f" {
            *legacy = false;
        }
        if name == "A2C2f" && matches!(set.scale.as_deref(), Some("l" | "x")) {
            args.extend([Value::Bool(true), 1.2.into()]); // residual, mlp_ratio
        }
        c2.into()
    } else if name == "Concat" {
        sources(&f)
            .iter()
            .map(|&j| int_channel(ch, j))
            .sum::<Result<i64>>()?
            .into()
    } else if HEADS.contains(&name) || name == "v10Detect" {
        let inputs: Vec<Value> = sources(&f)
            .iter()
            .map(|&j| int_channel(ch, j).map(Value::from))
            .collect::<Result<_>>()?;
        if name == "v10Detect" {
            args.push(inputs.into());
        } else {
            args.extend([set.reg_max.clone(), set.end2end.clone(), inputs.into()]);
            if name.starts_with("Segment") {
                // args[2] = make_divisible(min(npr, max_channels) * width, 8)
                let npr = args
                    .get(2)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad("Segment needs npr"))?;
                args[2] =
                    ((((npr.min(set.max_channels) * set.width) / 8.0).ceil() * 8.0) as i64).into();
            }
            kw.insert("legacy".into(), (*legacy).into());
        }
        Value::Null
    } else if name == "Depth" || name == "SemanticSegment" {
        let inputs: Vec<Value> = sources(&f)
            .iter()
            .map(|&j| int_channel(ch, j).map(Value::from))
            .collect::<Result<_>>()?;
        if name == "Depth" {
            args.truncate(1); // c_mid; drops the mode argument old checkpoints store
        }
        args.push(inputs.into());
        Value::Null
    } else if name == "CBLinear" {
        let c2 = args
            .first()
            .cloned()
            .ok_or_else(|| bad("CBLinear needs its output channels"))?;
        args[0] = int_channel(ch, one(&f)?)?.into();
        args.insert(1, c2.clone());
        c2
    } else if name == "CBFuse" {
        channel(ch, *sources(&f).last().unwrap_or(&-1))?.clone()
    } else {
        channel(ch, one(&f)?)?.clone()
    };
    Ok(Row {
        f,
        name: name.to_string(),
        args,
        kw,
        reps,
        repeats: n,
        c2,
    })
}
