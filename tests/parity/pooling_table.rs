//! The seed's pooling table against the real upstream code, live, forward and backward:
//! `torch.nn.MaxPool2d` / `AvgPool2d` with every option, timm's `SelectAdaptivePool2d` (every
//! pool type, flatten, output sizes), and stochastic pooling against its Python mirror
//! (`python/sppnet_ref/pooling.py`; test and training rules). Inputs: 1×1, odd, even and
//! non-square maps, batch 1 and 2, with ±inf, NaN and ±0 where the op allows them. Outputs and
//! input gradients bitwise; where PyTorch or timm refuses an input, sppnet must refuse it too.

use crate::common;

use std::collections::BTreeMap;

use serde_json::json;
use sppnet::ops::PoolOp;
use sppnet::port::{port, PortOptions};
use sppnet::reference::{Output, PoolingCase, Suite};
use sppnet::Model;
use tch::Device;
use tch::Tensor;

fn case(name: &str, params: serde_json::Value) -> PoolingCase {
    PoolingCase {
        name: name.into(),
        params: serde_json::from_value(params).expect("a PoolOp"),
    }
}

fn cases() -> Vec<PoolingCase> {
    let mut v = Vec::new();
    let max = |k: [i64; 2], s: [i64; 2], p: [i64; 2], d: [i64; 2], ceil: bool| json!({"op": "max", "kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil});
    v.push(case(
        "max 3/2 pad 1",
        max([3, 3], [2, 2], [1, 1], [1, 1], false),
    ));
    v.push(case(
        "max 2x3 dilated ceil",
        max([2, 3], [1, 2], [1, 1], [2, 1], true),
    ));
    v.push(case(
        "max 5/1 same (SPP's)",
        max([5, 5], [1, 1], [2, 2], [1, 1], false),
    ));
    v.push(case(
        "max 2/2 ceil",
        max([2, 2], [2, 2], [0, 0], [1, 1], true),
    ));
    v.push(case(
        "max 3x1 dilation 3",
        max([3, 1], [3, 1], [0, 0], [3, 1], false),
    ));
    let avg = |k: [i64; 2], s: [i64; 2], p: [i64; 2], ceil: bool, inc: bool, div: Option<i64>| {
        json!({"op": "avg", "kernel": k, "stride": s, "padding": p, "ceil_mode": ceil,
               "count_include_pad": inc, "divisor_override": div})
    };
    v.push(case(
        "avg 3/2 pad ceil excl",
        avg([3, 3], [2, 2], [1, 1], true, false, None),
    ));
    v.push(case(
        "avg 2x3 pad incl",
        avg([2, 3], [1, 2], [1, 1], false, true, None),
    ));
    v.push(case(
        "avg 3/3 ceil divisor 5",
        avg([3, 3], [3, 3], [0, 0], true, true, Some(5)),
    ));
    v.push(case(
        "avg 2/1 pad h excl",
        avg([2, 2], [1, 1], [1, 0], false, false, None),
    ));
    for pool in [
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
        for flatten in [false, true] {
            let p = json!({"op": "global", "pool_type": pool, "flatten": flatten, "output_size": [1, 1]});
            v.push(case(&format!("global {pool:?} flatten {flatten}"), p));
        }
    }
    for pool in ["avg", "max", "avgmax", "catavgmax"] {
        for size in [[2, 2], [3, 1]] {
            let p =
                json!({"op": "global", "pool_type": pool, "flatten": true, "output_size": size});
            v.push(case(&format!("global {pool} to {size:?}"), p));
        }
    }
    for rule in ["yueruchen", "adaptive", "paper"] {
        for levels in [vec![4, 2, 1], vec![3, 2, 1]] {
            let p = json!({"op": "spp", "levels": levels, "rule": rule});
            v.push(case(&format!("spp {rule} {levels:?}"), p));
        }
    }
    for (levels, scale) in [
        (vec![4, 2, 1], 1.0),
        (vec![3, 1], 0.5),
        (vec![6, 3, 2, 1], 0.0625),
    ] {
        let p = json!({"op": "roi_spp", "levels": levels, "spatial_scale": scale});
        v.push(case(&format!("roi spp {levels:?} scale {scale}"), p));
    }
    for (k, s, seed) in [(2, 2, None), (3, 1, None), (2, 2, Some(7)), (3, 2, Some(0))] {
        let p = json!({"op": "stochastic", "kernel": k, "stride": s, "seed": seed});
        v.push(case(&format!("stochastic {k}/{s} seed {seed:?}"), p));
    }
    v
}

fn bits_equal(a: &Tensor, b: &Tensor) -> bool {
    a.size() == b.size() && common::compare(a, b).bitwise
}

#[test]
fn every_row_matches_upstream_forward_and_backward_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let replied = common::run_suite(&Suite::Pooling { cases: cases() }, dir.path());
    let mut problems = Vec::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in &replied.reply.cases {
        let op: PoolOp = serde_json::from_value(case.params.clone()).unwrap();
        for run in &case.runs {
            let what = format!("{} / {}", case.name, run.name);
            let x = replied.input(run).unwrap().copy().set_requires_grad(true);
            let rois = replied.output(run, Output::Rois).ok();
            let rust = op.apply(&x, rois);
            let entry = counts.entry(op.name().to_string()).or_default();
            match (&run.refused, rust) {
                (None, Ok(y)) => {
                    let want = replied.output(run, Output::Eval).unwrap();
                    let g = replied.output(run, Output::GradOutput).unwrap();
                    let want_grad = replied.output(run, Output::GradInput).unwrap();
                    // d/dy of sum(y·g) is g·1 = g exactly, so this is `y.backward(g)`.
                    y.f_mul(g).unwrap().sum(None).backward();
                    let grad = x.grad();
                    if !bits_equal(&y.detach(), want) {
                        problems.push(format!("{what}: output differs"));
                    } else if !bits_equal(&grad, want_grad) {
                        problems.push(format!("{what}: input gradient differs"));
                    } else {
                        entry.0 += 1;
                    }
                }
                (Some(_), Err(_)) => entry.1 += 1,
                (python, rust) => problems.push(format!(
                    "{what}: python {python:?}, rust {:?}",
                    rust.map(|t| t.size())
                )),
            }
        }
    }
    eprintln!("pooling table (bitwise, refused alike): {counts:?}");
    // The upstream modules pickled whole, ported, and run: the same bits as Python's.
    let mut ported = 0;
    for case in &replied.reply.cases {
        let Ok(pt) = replied.file(case, "pt") else {
            continue;
        };
        let spec = port(&pt, &PortOptions::default())
            .and_then(|p| Model::from_tensors(p.spec.clone(), &p.tensors, Device::Cpu));
        let model = match spec {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{}: port: {e}", case.name));
                continue;
            }
        };
        for run in case.runs.iter().filter(|r| r.refused.is_none()) {
            let x = replied.input(run).unwrap();
            let want = replied.output(run, Output::Eval).unwrap();
            match model.forward(x) {
                Ok(y) if bits_equal(&y, want) => ported += 1,
                Ok(_) => problems.push(format!(
                    "{} / {}: ported module differs",
                    case.name, run.name
                )),
                Err(e) => {
                    problems.push(format!("{} / {}: ported module: {e}", case.name, run.name))
                }
            }
        }
    }
    eprintln!("ported modules run bitwise: {ported}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Every row ran, forward and backward, and the refusals were exercised.
    for op in ["spp", "max", "avg", "global", "roi_spp", "stochastic"] {
        let (ok, _) = counts.get(op).copied().unwrap_or_default();
        assert!(ok >= 8, "{op}: only {ok} bitwise runs");
    }
    assert!(
        counts.values().map(|c| c.1).sum::<usize>() >= 5,
        "{counts:?}"
    );
}
