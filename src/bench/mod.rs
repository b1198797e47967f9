//! `sppnet bench`: the same cases in Rust and in the Python reference (one long-lived timing
//! server), alternating round by round; medians per call and the Python/Rust ratio.

mod process;
mod report;

pub use process::{whole_process, ProcessResult, ProcessRun};
pub use report::{Machine, Report};

use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use serde::Serialize;
use tch::{nn, Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::modules::spp::SppConfig;
use crate::modules::spp_net::SppNetConfig;
use crate::modules::sppelan::SppElanConfig;
use crate::modules::sppf::SppfConfig;
use crate::modules::{Block, Spp, SppElan, SppNet, Sppf};
use crate::nn::Scope;
use crate::reference::{BenchRequest, BenchServer, Reference};
use crate::{spatial_pyramid_pool, Model, Rule, Spec};

/// How to run the bench.
#[derive(Debug, Clone)]
pub struct Options {
    /// Skip the large (batch 8) cases, the size sweep and the whole-process runs.
    pub quick: bool,
    /// Only the cases and sweep points whose id contains this (no whole-process runs).
    pub only: Option<String>,
    /// Alternating rounds per case.
    pub rounds: usize,
    /// Seconds each variant runs per round (calls repeat to fill it).
    pub round_seconds: f64,
    /// The fewest calls per variant and round, however long a call takes.
    pub min_calls: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            quick: false,
            only: None,
            rounds: 5,
            round_seconds: 0.3,
            min_calls: 3,
        }
    }
}

/// Median seconds per call of one variant.
#[derive(Serialize)]
pub struct Timing {
    /// Median over every call of every round.
    pub median_s: f64,
    /// Calls timed.
    pub calls: usize,
}

/// One case's results.
#[derive(Serialize)]
pub struct CaseResult {
    /// e.g. `spp/1x512x20x20`.
    pub id: String,
    /// Input shape.
    pub shape: [i64; 4],
    /// `rust`, `rust_parallel` (SPP only: pools without the cascade), `rust_copy` (maxpool only:
    /// a copy of the input, the memory-speed floor), `python`.
    pub variants: std::collections::BTreeMap<String, Timing>,
    /// Python over Rust (> 1: Rust is faster): the median over rounds of the ratio of the two
    /// sides' medians within that round, so that drift in the machine's load cancels.
    pub speedup_vs_python: f64,
    /// The lowest and highest per-round ratio.
    pub speedup_range: [f64; 2],
}

type Variant = Box<dyn Fn() -> Result<Tensor>>;

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn time_rust(f: &Variant, iters: usize, device: Device) -> Result<Vec<f64>> {
    let _guard = tch::no_grad_guard();
    (0..iters)
        .map(|_| {
            let t = Instant::now();
            let _ = f()?;
            sync(device);
            Ok(t.elapsed().as_secs_f64())
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> Timing {
    v.sort_by(f64::total_cmp);
    let calls = v.len();
    Timing {
        median_s: v[calls / 2],
        calls,
    }
}

/// The Rust variants of a case: (name, function), inputs already on `device`.
fn rust_variants(
    kind: &str,
    shape: [i64; 4],
    device: Device,
) -> Result<Vec<(&'static str, Variant)>> {
    tch::manual_seed(0);
    let x = Tensor::f_randn(shape, (Kind::Float, device))?;
    let c = shape[1];
    let model = |spec: Result<Spec>| Model::new(spec?, device);
    Ok(match kind {
        "yueruchen" => vec![(
            "rust",
            Box::new(move || spatial_pyramid_pool(&x, &[4, 2, 1], Rule::Yueruchen)) as Variant,
        )],
        "sppnet" => {
            let config = SppNetConfig {
                input_nc: c,
                ..Default::default()
            };
            let m = model(Spec::of::<SppNet>(&config))?;
            vec![("rust", Box::new(move || m.forward(&x)))]
        }
        "spp" => {
            // The block itself, to run it with and without the cascade (the tensors it holds
            // outlive the variable store).
            let vs = nn::VarStore::new(device);
            let spp = Rc::new(Spp::new(&Scope::new(vs.root()), &SppConfig::new(c, c))?);
            let (spp2, x2) = (spp.clone(), x.shallow_clone());
            vec![
                (
                    "rust",
                    Box::new(move || spp.forward_with(&x, false, true)) as Variant,
                ),
                (
                    "rust_parallel",
                    Box::new(move || spp2.forward_with(&x2, false, false)),
                ),
            ]
        }
        "sppf" => {
            let m = model(Spec::of::<Sppf>(&SppfConfig::new(c, c)))?;
            vec![("rust", Box::new(move || m.forward(&x)))]
        }
        "sppelan" => {
            let m = model(Spec::of::<SppElan>(&SppElanConfig::new(c, c, c / 2)))?;
            vec![("rust", Box::new(move || m.forward(&x)))]
        }
        "maxpool5" | "maxpool13" => {
            // The pool alone (`MaxPool2d::forward`: the native kernel on the CPU), and a copy of
            // the same tensor, the memory-speed floor.
            let pool = crate::ops::MaxPool2d::new(if kind == "maxpool5" { 5 } else { 13 })?;
            let x2 = x.shallow_clone();
            vec![
                ("rust", Box::new(move || pool.forward(&x)) as Variant),
                (
                    "rust_copy",
                    Box::new(move || {
                        let mut y = x2.f_empty_like()?;
                        y.f_copy_(&x2)?;
                        Ok(y)
                    }),
                ),
            ]
        }
        other => return Err(Error::Config(format!("unknown bench kind {other}"))),
    })
}

/// The benchmark cases: (kind, shape, large).
pub const CASES: [(&str, [i64; 4], bool); 12] = [
    ("maxpool5", [8, 128, 40, 40], false),
    ("maxpool13", [8, 128, 40, 40], false),
    ("yueruchen", [1, 64, 13, 13], false),
    ("yueruchen", [8, 256, 64, 64], true),
    ("spp", [1, 512, 20, 20], false),
    ("spp", [8, 256, 40, 40], true),
    ("sppf", [1, 512, 20, 20], false),
    ("sppf", [8, 256, 40, 40], true),
    ("sppelan", [1, 512, 20, 20], false),
    ("sppelan", [8, 256, 40, 40], true),
    ("sppnet", [1, 3, 224, 224], false),
    ("sppnet", [8, 3, 224, 224], true),
];

/// Latency against input size (the plot): (kind, shape), batch 1.
pub const SWEEP: [(&str, [i64; 4]); 13] = [
    ("yueruchen", [1, 256, 8, 8]),
    ("yueruchen", [1, 256, 16, 16]),
    ("yueruchen", [1, 256, 32, 32]),
    ("yueruchen", [1, 256, 64, 64]),
    ("yueruchen", [1, 256, 128, 128]),
    ("sppf", [1, 256, 10, 10]),
    ("sppf", [1, 256, 20, 20]),
    ("sppf", [1, 256, 40, 40]),
    ("sppf", [1, 256, 80, 80]),
    ("sppnet", [1, 3, 32, 32]),
    ("sppnet", [1, 3, 64, 64]),
    ("sppnet", [1, 3, 128, 128]),
    ("sppnet", [1, 3, 224, 224]),
];

fn case_id(kind: &str, shape: [i64; 4]) -> String {
    format!("{kind}/{}", shape.map(|d| d.to_string()).join("x"))
}

fn run_case(
    opts: &Options,
    py: &mut BenchServer,
    kind: &str,
    shape: [i64; 4],
    device: Device,
) -> Result<CaseResult> {
    let id = case_id(kind, shape);
    eprintln!("bench {id} …");
    let variants = rust_variants(kind, shape, device)?;
    let dev = crate::runtime::device_name(device);
    py.ask(&BenchRequest::Setup {
        kind: kind.to_string(),
        shape,
        device: dev,
    })?;
    // Calibrate: calls per round so that each variant runs about `round_seconds`.
    let min_calls = opts.min_calls.max(1);
    let per_round = |t: f64| {
        ((opts.round_seconds / t.max(1e-7)).ceil() as usize)
            .clamp(min_calls, 100_000.max(min_calls))
    };
    let mut rust_iters = Vec::new();
    for (_, f) in &variants {
        let _ = f()?;
        rust_iters.push(per_round(time_rust(f, 1, device)?[0]));
    }
    let py_first = py.ask(&BenchRequest::Time { iters: 1 })?.seconds;
    let py_iters = per_round(py_first.first().copied().unwrap_or(1.0));
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); variants.len() + 1];
    let mut ratios = Vec::new();
    for round in 0..opts.rounds.max(1) {
        // Alternate which side goes first, so neither always runs on a warmer machine.
        let mut python = Vec::new();
        let mut ask_python = |py: &mut BenchServer| -> Result<()> {
            python = py.ask(&BenchRequest::Time { iters: py_iters })?.seconds;
            Ok(())
        };
        if round % 2 == 1 {
            ask_python(py)?;
        }
        let mut rust = Vec::new();
        for (i, (_, f)) in variants.iter().enumerate() {
            let t = time_rust(f, rust_iters[i], device)?;
            if i == 0 {
                rust = t.clone();
            }
            samples[i].extend(t);
        }
        if round % 2 == 0 {
            ask_python(py)?;
        }
        ratios.push(median(python.clone()).median_s / median(rust).median_s);
        samples[variants.len()].extend(python);
    }
    let mut timings = std::collections::BTreeMap::new();
    let names = variants.iter().map(|(n, _)| *n).chain(["python"]);
    for (name, s) in names.zip(samples) {
        timings.insert(name.to_string(), median(s));
    }
    ratios.sort_by(f64::total_cmp);
    Ok(CaseResult {
        id,
        shape,
        variants: timings,
        speedup_vs_python: ratios[ratios.len() / 2],
        speedup_range: [ratios[0], ratios[ratios.len() - 1]],
    })
}

/// Run the bench on `device` with `threads` threads on both sides; `exe` is the `sppnet` binary
/// for the whole-process runs.
pub fn run(
    reference: &Reference,
    exe: &Path,
    device: Device,
    threads: i32,
    opts: &Options,
) -> Result<Report> {
    let mut py = BenchServer::start(reference, threads)?;
    let wanted = |id: String| opts.only.as_deref().is_none_or(|o| id.contains(o));
    let mut cases = Vec::new();
    for (kind, shape, large) in CASES {
        if !(large && opts.quick) && wanted(case_id(kind, shape)) {
            cases.push(run_case(opts, &mut py, kind, shape, device)?);
        }
    }
    let mut sweep = Vec::new();
    for (kind, shape) in SWEEP {
        if !opts.quick && wanted(case_id(kind, shape)) {
            sweep.push(run_case(opts, &mut py, kind, shape, device)?);
        }
    }
    drop(py);
    let process = if opts.quick || opts.only.is_some() {
        None
    } else {
        Some(whole_process(reference, exe, threads)?)
    };
    Ok(Report::new(device, threads, cases, sweep, process))
}
