//! `sppnet demo`: the committed reference SppNet against the committed Python dumps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use sppnet::compare::diff;
use sppnet::io::read_safetensors;
use sppnet::reference::project_root;
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::Model;
use tch::{Device, Tensor};

/// Max abs error accepted against the CPU-made dumps: CPU (same libtorch, any thread count)
/// and CUDA (cuDNN may use TF32 for convolutions).
const TOLERANCE_CPU: f64 = 1e-5;
const TOLERANCE_CUDA: f64 = 1e-3;

/// Arguments of `sppnet demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Folder holding sppnet_tiny.safetensors and sppnet_tiny_golden.safetensors
    /// [default: ./weights, else the source checkout's weights/].
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
}

fn default_dir() -> PathBuf {
    let here = Path::new("weights");
    if here.join("sppnet_tiny.safetensors").exists() {
        here.to_path_buf()
    } else {
        project_root().join("weights")
    }
}

/// Run `sppnet demo`; exit code 1 when any case is beyond the tolerance.
pub fn run(args: DemoArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    let dir = args.weights_dir.unwrap_or_else(default_dir);
    let golden_path = dir.join("sppnet_tiny_golden.safetensors");
    let golden =
        read_safetensors(&golden_path).context("reading the golden dumps (run `make weights`)")?;
    // Bitwise parity needs the thread count the dumps were made with (docs/FACTS.md §8).
    let dump_threads = golden.metadata.get("threads").and_then(|t| t.parse().ok());
    let threads = configure_threads(threads.or(dump_threads))?;
    let device = parse_device(&args.device)?;
    let weights = dir.join("sppnet_tiny.safetensors");
    let model = Model::load(&weights, device)?;
    let tolerance = if device == Device::Cpu {
        TOLERANCE_CPU
    } else {
        TOLERANCE_CUDA
    };
    let mut out = String::new();
    out += &format!("sppnet demo: {} ({})\n", weights.display(), model.spec());
    let meta = |k: &str| golden.metadata.get(k).map_or("?", String::as_str);
    let cpu = sppnet::runtime::cpu_model();
    let bits = if meta("cpu") == cpu {
        "the same CPU: bitwise expected"
    } else {
        "another CPU: convolution bits may differ in the last place (docs/FACTS.md §8)"
    };
    out += &format!(
        "device {device:?}, {threads} thread(s), {cpu}; reference: {} (torch {}, {} thread(s), {}: {bits})\n\n",
        golden_path.display(),
        meta("torch"),
        meta("threads"),
        meta("cpu"),
    );
    out +=
        &format!("| input | output | bitwise | max abs err | max ULP | within {tolerance:e} |\n");
    out += "|---|---|---|---|---|---|\n";
    let mut failed = 0;
    let mut names: Vec<&str> = golden
        .names()
        .into_iter()
        .filter_map(|n| n.strip_suffix("/input"))
        .collect();
    names.sort_by_key(|n| golden.get(&format!("{n}/input")).map_or(0, Tensor::numel));
    for name in names {
        let input = golden
            .get(&format!("{name}/input"))
            .with_context(|| format!("{}: no `{name}/input`", golden_path.display()))?
            .f_to_device(device)?;
        let expected = golden
            .get(&format!("{name}/output"))
            .with_context(|| format!("{}: no `{name}/output`", golden_path.display()))?;
        let output = model.forward(&input)?;
        let d = diff(&output, expected)?;
        failed += usize::from(!d.within(tolerance));
        let dims: Vec<String> = input.size().iter().map(i64::to_string).collect();
        out += &format!(
            "| {} | {:?} | {} | {:.3e} | {} | {} |
",
            dims.join("×"),
            output.size(),
            if d.bitwise { "yes" } else { "no" },
            d.max_abs,
            d.max_ulp,
            if d.within(tolerance) { "yes" } else { "NO" }
        );
    }
    super::term::print(&out)?;
    if failed > 0 {
        anyhow::bail!("{failed} case(s) differ from the Python dumps beyond {tolerance:e}");
    }
    Ok(ExitCode::SUCCESS)
}
