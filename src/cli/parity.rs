//! `sppnet parity`: every ported module against live Python on the same libtorch and thread
//! count, on each device ([`sppnet::parity`]); a table of bitwise / max abs / max ULP, exit
//! code 1 beyond tolerance.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::json;
use sppnet::parity::{self, Options, CUDA_TOLERANCE};
use sppnet::reference::Reference;
use sppnet::runtime::{configure_threads, parse_device};
use tch::Device;

/// Arguments of `sppnet parity`.
#[derive(Args)]
pub struct ParityArgs {
    /// cpu, cuda, cuda:N [default: the CPU, and CUDA device 0 when available].
    #[arg(long)]
    device: Option<String>,
    /// Fewer SppNet sizes and block configurations (the pool sweep always runs whole).
    #[arg(long)]
    quick: bool,
    /// Print the rows as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Leave out the ultralytics blocks (for a Python without the `ultralytics` package, e.g. a
    /// GPU machine's stock torch); the output says they were not run.
    #[arg(long)]
    skip_blocks: bool,
    /// The Python interpreter [default: $SPPNET_PYTHON, else the checkout's .venv].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// Run `sppnet parity`; exit code 1 when any row is beyond its tolerance.
pub fn run(args: ParityArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    // Bitwise parity needs the same count on both sides (docs/FACTS.md §8): 1 unless asked.
    let threads = configure_threads(threads.or(Some(1)))?;
    let reference = Reference::locate(args.python.clone())?;
    let devices = match &args.device {
        Some(d) => vec![parse_device(d)?],
        None if sppnet::cuda::cuda_available() => vec![Device::Cpu, Device::Cuda(0)],
        None => vec![Device::Cpu],
    };
    let tmp = tempfile::tempdir()?;
    let opts = Options {
        quick: args.quick,
        skip_blocks: args.skip_blocks,
    };
    let mut rows = Vec::new();
    for device in devices {
        let dev = sppnet::runtime::device_name(device);
        super::term::note(&format!("parity on {dev} ({threads} thread(s)) …"));
        rows.extend(parity::run(&reference, device, threads, opts, tmp.path())?);
    }
    let skipped: &[&str] = if args.skip_blocks {
        &["ultralytics blocks and whole detectors (--skip-blocks)"]
    } else {
        &[]
    };
    let failed = rows.iter().filter(|r| !r.ok).count();
    if args.json {
        super::term::print_json(
            &(serde_json::to_string_pretty(
                &json!({"threads": threads, "rows": rows, "failed": failed, "skipped": skipped}),
            )? + "\n"),
        )?;
    } else {
        let mut out = format!("| case | shape | device | bitwise | max abs err | max ULP | ok (CPU: bitwise; CUDA: ≤ {CUDA_TOLERANCE:e}) |\n|---|---|---|---|---|---|---|\n");
        for r in &rows {
            let yes = |b: bool| if b { "yes" } else { "NO" };
            out += &format!(
                "| {} | {} | {} | {} | {:.3e} | {} | {} |\n",
                r.case,
                r.shape,
                r.device,
                yes(r.bitwise),
                r.max_abs,
                r.max_ulp,
                yes(r.ok)
            );
        }
        for what in skipped {
            out += &format!("\nNOT RUN: {what}\n");
        }
        super::term::print(&out)?;
    }
    if failed > 0 {
        bail!("{failed} of {} parity rows beyond tolerance", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}
