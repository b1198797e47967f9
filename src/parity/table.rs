//! The seed's pooling table and whole modules against their upstream code, forward and
//! backward: the case lists (one source for `sppnet parity` and the live tests) and the checks,
//! summarised per op or module.

use std::collections::BTreeMap;

use serde_json::json;
use tch::{Device, Tensor};

use crate::compare::diff;
use crate::error::Result;
use crate::modules::spp_net::SppNetConfig;
use crate::ops::global_pool::PoolType;
use crate::ops::pool2d::{AvgPoolOptions, MaxPoolOptions};
use crate::ops::{PoolOp, Rule};
use crate::port::{port, PortOptions};
use crate::reference::{GradCase, InputSpec, Output, PoolingCase, Replied};
use crate::Model;

/// What one op (or module) gave over all its runs.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Comparisons made (outputs and gradients).
    pub compared: usize,
    /// Runs refused by both sides.
    pub refused: usize,
    /// Every comparison bitwise.
    pub bitwise: bool,
    /// Largest absolute difference.
    pub max_abs: f64,
    /// Largest ULP distance.
    pub max_ulp: u64,
    /// One line per disagreement.
    pub problems: Vec<String>,
}

impl Default for Summary {
    /// Nothing compared yet: bitwise so far.
    fn default() -> Self {
        Self {
            compared: 0,
            refused: 0,
            bitwise: true,
            max_abs: 0.0,
            max_ulp: 0,
            problems: Vec::new(),
        }
    }
}

impl Summary {
    fn add(&mut self, what: &str, got: &Tensor, want: &Tensor) -> Result<()> {
        let d = diff(got, want)?;
        self.compared += 1;
        self.max_abs = self.max_abs.max(d.max_abs);
        self.max_ulp = self.max_ulp.max(d.max_ulp);
        if !(d.bitwise && got.size() == want.size()) {
            self.fail(format!("{what} differs (max abs {:e})", d.max_abs));
        }
        Ok(())
    }

    fn fail(&mut self, problem: String) {
        self.bitwise = false;
        self.problems.push(problem);
    }
}

fn case(name: String, params: PoolOp) -> PoolingCase {
    PoolingCase { name, params }
}

/// Every row of the table with settings that reach PyTorch's corners: strides, padding,
/// dilation, ceil mode, count_include_pad, divisor_override; every timm pool type, flattened or
/// not, to 1×1 and larger sizes; the three bin rules; roi SPP at three scales; stochastic
/// pooling's test and training rules.
pub fn pooling_cases() -> Vec<PoolingCase> {
    let mut v = Vec::new();
    let max = |kernel, stride, padding, dilation, ceil_mode| {
        PoolOp::Max(MaxPoolOptions {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
        })
    };
    v.push(case(
        "max 3/2 pad 1".into(),
        max([3, 3], [2, 2], [1, 1], [1, 1], false),
    ));
    v.push(case(
        "max 2x3 dilated ceil".into(),
        max([2, 3], [1, 2], [1, 1], [2, 1], true),
    ));
    v.push(case(
        "max 5/1 same (SPP's)".into(),
        max([5, 5], [1, 1], [2, 2], [1, 1], false),
    ));
    v.push(case(
        "max 2/2 ceil".into(),
        max([2, 2], [2, 2], [0, 0], [1, 1], true),
    ));
    v.push(case(
        "max 3x1 dilation 3".into(),
        max([3, 1], [3, 1], [0, 0], [3, 1], false),
    ));
    let avg = |kernel, stride, padding, ceil_mode, count_include_pad, divisor_override| {
        PoolOp::Avg(AvgPoolOptions {
            kernel,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
            divisor_override,
        })
    };
    v.push(case(
        "avg 3/2 pad ceil excl".into(),
        avg([3, 3], [2, 2], [1, 1], true, false, None),
    ));
    v.push(case(
        "avg 2x3 pad incl".into(),
        avg([2, 3], [1, 2], [1, 1], false, true, None),
    ));
    v.push(case(
        "avg 3/3 ceil divisor 5".into(),
        avg([3, 3], [3, 3], [0, 0], true, true, Some(5)),
    ));
    v.push(case(
        "avg 2/1 pad h excl".into(),
        avg([2, 2], [1, 1], [1, 0], false, false, None),
    ));
    let global = |pool_type: &str, flatten, output_size| PoolOp::Global {
        pool_type: pool_type.into(),
        flatten,
        output_size,
    };
    for t in [
        "avg",
        "max",
        "avgmax",
        "catavgmax",
        "fast",
        "fastmax",
        "fastavgmax",
        "fastcatavgmax",
        "",
    ] {
        debug_assert!(t.parse::<PoolType>().is_ok());
        for flatten in [false, true] {
            v.push(case(
                format!("global {t:?} flatten {flatten}"),
                global(t, flatten, [1, 1]),
            ));
        }
    }
    for t in ["avg", "max", "avgmax", "catavgmax"] {
        for size in [[2, 2], [3, 1]] {
            v.push(case(
                format!("global {t} to {size:?}"),
                global(t, true, size),
            ));
        }
    }
    for rule in Rule::ALL {
        for levels in [vec![4, 2, 1], vec![3, 2, 1]] {
            let name = format!("spp {rule} {levels:?}");
            v.push(case(name, PoolOp::Spp { levels, rule }));
        }
    }
    for (levels, spatial_scale) in [
        (vec![4, 2, 1], 1.0),
        (vec![3, 1], 0.5),
        (vec![6, 3, 2, 1], 0.0625),
    ] {
        let name = format!("roi spp {levels:?} scale {spatial_scale}");
        v.push(case(
            name,
            PoolOp::RoiSpp {
                levels,
                spatial_scale,
                mapping: Default::default(),
            },
        ));
    }
    for (kernel, stride, seed) in [(2, 2, None), (3, 1, None), (2, 2, Some(7)), (3, 2, Some(0))] {
        let name = format!("stochastic {kernel}/{stride} seed {seed:?}");
        v.push(case(
            name,
            PoolOp::Stochastic {
                kernel,
                stride,
                seed,
            },
        ));
    }
    v
}

/// Each op's runs: output and input gradient bitwise (`d/dy sum(y·g) = g` exactly, so the Rust
/// side's backward is Python's `y.backward(g)`), refusals on both sides; and each pickled
/// upstream module ported and run (key `ported <op>`).
pub fn check_pooling(replied: &Replied) -> Result<BTreeMap<String, Summary>> {
    let mut out: BTreeMap<String, Summary> = BTreeMap::new();
    for case in &replied.reply.cases {
        let op: PoolOp = serde_json::from_value(case.params.clone())
            .map_err(|e| crate::Error::Reference(format!("{}: {e}", case.name)))?;
        let s = out.entry(op.name().to_string()).or_default();
        for run in &case.runs {
            let what = format!("{} / {}", case.name, run.name);
            let x = replied.input(run)?.copy().set_requires_grad(true);
            let rois = replied.output(run, Output::Rois).ok();
            match (&run.refused, op.apply(&x, rois)) {
                (None, Ok(y)) => {
                    let g = replied.output(run, Output::GradOutput)?;
                    y.f_mul(g)?.f_sum(None)?.f_backward()?;
                    s.add(
                        &format!("{what}: output"),
                        &y.f_detach()?,
                        replied.output(run, Output::Eval)?,
                    )?;
                    s.add(
                        &format!("{what}: input gradient"),
                        &x.grad(),
                        replied.output(run, Output::GradInput)?,
                    )?;
                }
                (Some(_), Err(_)) => s.refused += 1,
                (python, rust) => s.fail(format!(
                    "{what}: python {python:?}, rust {:?}",
                    rust.map(|t| t.size())
                )),
            }
        }
        let Ok(pt) = replied.file(case, "pt") else {
            continue;
        };
        let ported = port(&pt, &PortOptions::default())?;
        let model = Model::from_tensors(ported.spec.clone(), &ported.tensors, Device::Cpu)?;
        let s = out.entry(format!("ported {}", op.name())).or_default();
        for run in case.runs.iter().filter(|r| r.refused.is_none()) {
            let x = replied.input(run)?;
            let y = match replied.output(run, Output::Rois) {
                Ok(rois) => tch::no_grad(|| model.module().forward_many(&[x, rois], false))?,
                Err(_) => model.forward(x)?,
            };
            s.add(
                &format!("{} / {}: ported module", case.name, run.name),
                &y,
                replied.output(run, Output::Eval)?,
            )?;
        }
    }
    Ok(out)
}

/// The modules of the `grads` suite: the convolutional poolings (ultralytics Conv k 3 s 2,
/// AConv, ADown, SCDown), the SPP blocks, the SPP_NET mirror, timm's NonLocalAttn and the
/// NONLocalBlock2D mirror in its four modes.
pub fn grad_cases() -> Vec<GradCase> {
    let tiny = SppNetConfig {
        ndf: 8,
        hidden: 32,
        classes: 5,
        ..Default::default()
    };
    let mut blocks: Vec<(&str, serde_json::Value, i64)> = vec![
        ("Conv", json!({"c1": 8, "c2": 16, "k": 3, "s": 2}), 8),
        ("AConv", json!({"c1": 8, "c2": 16}), 8),
        ("ADown", json!({"c1": 8, "c2": 16}), 8),
        ("SCDown", json!({"c1": 8, "c2": 16, "k": 3, "s": 2}), 8),
        ("SPP", json!({"c1": 8, "c2": 8, "k": [5, 9, 13]}), 8),
        ("SPPF", json!({"c1": 8, "c2": 8}), 8),
        ("SPPELAN", json!({"c1": 8, "c2": 8, "c3": 4}), 8),
        ("SPP_NET", serde_json::to_value(tiny).unwrap_or_default(), 3),
        ("NonLocalAttn", json!({"c1": 16}), 16),
        ("NonLocalAttn", json!({"c1": 16, "use_scale": false}), 16),
    ];
    for (mode, sub_sample, bn_layer) in [
        ("embedded", true, true),
        ("gaussian", true, false),
        ("gaussian", false, true),
        ("dot", false, true),
        ("dot", true, false),
        ("concatenation", true, true),
        ("concatenation", false, false),
    ] {
        let args = json!({"c1": 8, "mode": mode, "sub_sample": sub_sample, "bn_layer": bn_layer});
        blocks.push(("NONLocalBlock2D", args, 8));
    }
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, (class, args, c1))| {
            // SPP_NET's pyramid needs maps its rule accepts (64×64 under yueruchen's).
            let shapes: Vec<Vec<i64>> = if class == "SPP_NET" {
                vec![vec![2, c1, 64, 64], vec![1, c1, 64, 64]]
            } else {
                vec![vec![2, c1, 12, 12], vec![1, c1, 7, 9], vec![1, c1, 3, 5]]
            };
            GradCase {
                name: format!("{i}_{class}"),
                class: class.into(),
                args,
                seed: 40 + i as i64,
                inputs: shapes
                    .into_iter()
                    .map(|shape| InputSpec { shape, scale: 2.0 })
                    .collect(),
            }
        })
        .collect()
}

/// Each module ported from its pickle, run under autograd in eval mode on a fresh copy per
/// input: output, input gradient and every parameter's gradient.
pub fn check_grads(replied: &Replied) -> Result<BTreeMap<String, Summary>> {
    let mut out = BTreeMap::new();
    for case in &replied.reply.cases {
        let ported = port(&replied.file(case, "pt")?, &PortOptions::default())?;
        let s: &mut Summary = out.entry(case.name.clone()).or_default();
        for (i, run) in case.runs.iter().enumerate() {
            let model = Model::from_tensors(ported.spec.clone(), &ported.tensors, Device::Cpu)?;
            let x = replied.input(run)?.copy().set_requires_grad(true);
            let y = model.forward_t(&x, false)?;
            y.f_mul(replied.output(run, Output::GradOutput)?)?
                .f_sum(None)?
                .f_backward()?;
            let what = format!("{}/{i}", case.name);
            s.add(
                &format!("{what}: output"),
                &y.f_detach()?,
                replied.output(run, Output::Eval)?,
            )?;
            s.add(
                &format!("{what}: input gradient"),
                &x.grad(),
                replied.output(run, Output::GradInput)?,
            )?;
            let params: BTreeMap<String, Tensor> = model.state_dict().into_iter().collect();
            if run.grads.is_empty() {
                s.fail(format!("{what}: no parameter gradients from Python"));
            }
            for (k, key) in &run.grads {
                match params.get(k) {
                    Some(p) => s.add(
                        &format!("{what}: gradient of `{k}`"),
                        &p.grad(),
                        replied.tensor(key)?,
                    )?,
                    None => s.fail(format!("{what}: no parameter `{k}` in the port")),
                }
            }
        }
    }
    Ok(out)
}
