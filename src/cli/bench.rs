//! `sppnet bench`: the same cases in Rust and in Python (`python/bench.py serve`, one process),
//! alternating round by round; medians per call and the Python/Rust ratio.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::ultralytics::{SppConfig, SppElanConfig, SppfConfig};
use sppnet::{spatial_pyramid_pool, Arch, Model, Rule, SppNetConfig};
use tch::{Device, Kind, Tensor};

use super::bench_process::whole_process;
use super::{python_dir, reference_python};

/// Arguments of `sppnet bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Print the results as JSON on stdout instead of the Markdown table.
    #[arg(long)]
    json: bool,
    /// Also write PREFIX.json and PREFIX.md.
    #[arg(long, value_name = "PREFIX")]
    save: Option<PathBuf>,
    /// Skip the large (batch 8) cases, the size sweep and the whole-process runs.
    #[arg(long)]
    quick: bool,
    /// Only the cases and sweep points whose id contains this (no whole-process runs).
    #[arg(long)]
    only: Option<String>,
    /// Alternating rounds per case.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds each variant runs per round (calls repeat to fill it).
    #[arg(long, default_value_t = 0.3)]
    round_seconds: f64,
    /// The fewest calls per variant and round, however long a call takes.
    #[arg(long, default_value_t = 3)]
    min_calls: usize,
    /// The Python interpreter [default: $SPPNET_PYTHON, else the checkout's .venv].
    #[arg(long)]
    python: Option<PathBuf>,
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
    /// `rust`, `rust_parallel` (SPP only: pools without the cascade), `python`.
    pub variants: std::collections::BTreeMap<String, Timing>,
    /// Python over Rust (> 1: Rust is faster): the median over rounds of the ratio of the two
    /// sides' medians within that round, so that drift in the machine's load cancels.
    pub speedup_vs_python: f64,
    /// The lowest and highest per-round ratio.
    pub speedup_range: [f64; 2],
}

struct PyServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl PyServer {
    fn start(python: &PathBuf, threads: i32) -> anyhow::Result<Self> {
        let mut child = Command::new(python)
            .arg(python_dir().join("bench.py"))
            .args(["--threads", &threads.to_string(), "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} (run `make setup`)", python.display()))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn ask(&mut self, req: Value) -> anyhow::Result<Value> {
        writeln!(self.stdin, "{req}")?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        if line.is_empty() {
            bail!("python/bench.py exited (see its stderr above)");
        }
        Ok(serde_json::from_str(&line)?)
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Variant = Box<dyn Fn() -> sppnet::Result<Tensor>>;

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn time_rust(f: &Variant, iters: usize, device: Device) -> anyhow::Result<Vec<f64>> {
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
) -> anyhow::Result<Vec<(&'static str, Variant)>> {
    tch::manual_seed(0);
    let x = Tensor::randn(shape, (Kind::Float, device));
    let c = shape[1];
    let model = |arch| Model::new(arch, device);
    Ok(match kind {
        "yueruchen" => vec![(
            "rust",
            Box::new(move || spatial_pyramid_pool(&x, &[4, 2, 1], Rule::Yueruchen)) as Variant,
        )],
        "sppnet" => {
            let m = model(Arch::SppNet(SppNetConfig {
                input_nc: c,
                ..Default::default()
            }))?;
            vec![("rust", Box::new(move || m.forward(&x)))]
        }
        "spp" => {
            let m = std::rc::Rc::new(model(Arch::Spp(SppConfig::new(c, c)))?);
            let (m2, x2) = (m.clone(), x.shallow_clone());
            vec![
                ("rust", Box::new(move || spp_forward(&m, &x, true))),
                (
                    "rust_parallel",
                    Box::new(move || spp_forward(&m2, &x2, false)),
                ),
            ]
        }
        "sppf" => {
            let m = model(Arch::Sppf(SppfConfig::new(c, c)))?;
            vec![("rust", Box::new(move || m.forward(&x)))]
        }
        "sppelan" => {
            let m = model(Arch::SppElan(SppElanConfig::new(c, c, c / 2)))?;
            vec![("rust", Box::new(move || m.forward(&x)))]
        }
        other => bail!("unknown bench kind {other}"),
    })
}

fn spp_forward(m: &Model, x: &Tensor, cascade: bool) -> sppnet::Result<Tensor> {
    let sppnet::model::Net::Spp(spp) = &m.net else {
        unreachable!("an SPP model")
    };
    spp.forward_with(x, false, cascade)
}

/// The benchmark cases: (kind, shape, large).
pub const CASES: [(&str, [i64; 4], bool); 10] = [
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
    args: &BenchArgs,
    py: &mut PyServer,
    kind: &str,
    shape: [i64; 4],
    device: Device,
) -> anyhow::Result<CaseResult> {
    let id = case_id(kind, shape);
    eprintln!("bench {id} …");
    let variants = rust_variants(kind, shape, device)?;
    let dev = sppnet::runtime::device_name(device);
    py.ask(json!({"op": "setup", "kind": kind, "shape": shape, "device": dev}))?;
    // Calibrate: calls per round so that each variant runs about `round_seconds`.
    let min_calls = args.min_calls.max(1);
    let per_round = |t: f64| {
        ((args.round_seconds / t.max(1e-7)).ceil() as usize)
            .clamp(min_calls, 100_000.max(min_calls))
    };
    let mut rust_iters = Vec::new();
    for (_, f) in &variants {
        let _ = f()?;
        rust_iters.push(per_round(time_rust(f, 1, device)?[0]));
    }
    let py_first: Vec<f64> =
        serde_json::from_value(py.ask(json!({"op": "time", "iters": 1}))?["seconds"].clone())?;
    let py_iters = per_round(py_first[0]);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); variants.len() + 1];
    let mut ratios = Vec::new();
    for round in 0..args.rounds.max(1) {
        // Alternate which side goes first, so neither always runs on a warmer machine.
        let mut python = Vec::new();
        let mut ask_python = |py: &mut PyServer| -> anyhow::Result<()> {
            let reply = py.ask(json!({"op": "time", "iters": py_iters}))?;
            python = serde_json::from_value::<Vec<f64>>(reply["seconds"].clone())?;
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

/// Run `sppnet bench`.
pub fn run(args: BenchArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    let threads = configure_threads(threads)?;
    let device = parse_device(&args.device)?;
    let python = reference_python(args.python.clone())?;
    let mut py = PyServer::start(&python, threads)?;
    let wanted = |id: String| args.only.as_deref().is_none_or(|o| id.contains(o));
    let mut cases = Vec::new();
    for (kind, shape, large) in CASES {
        if !(large && args.quick) && wanted(case_id(kind, shape)) {
            cases.push(run_case(&args, &mut py, kind, shape, device)?);
        }
    }
    let mut sweep = Vec::new();
    for (kind, shape) in SWEEP {
        if !args.quick && wanted(case_id(kind, shape)) {
            sweep.push(run_case(&args, &mut py, kind, shape, device)?);
        }
    }
    drop(py);
    let process = if args.quick || args.only.is_some() {
        None
    } else {
        Some(whole_process(&python, threads)?)
    };
    let report = super::bench_report::Report::new(device, threads, cases, sweep, process);
    if args.json {
        super::print(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    } else {
        super::print(&report.markdown())?;
    }
    if let Some(prefix) = &args.save {
        report.save(prefix, &python)?;
    }
    Ok(ExitCode::SUCCESS)
}
