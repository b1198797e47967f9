//! `sppnet bench`: the same cases in Rust and in Python, alternating ([`sppnet::bench`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sppnet::bench::{self, Options};
use sppnet::reference::Reference;
use sppnet::runtime::{configure_threads, parse_device};

/// Arguments of `sppnet bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Print the results as JSON on stdout instead of the Markdown table.
    #[arg(long)]
    json: bool,
    /// Also write PREFIX.json, PREFIX.md and (with the sweep) PREFIX.png.
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

/// Run `sppnet bench`.
pub fn run(args: BenchArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    let threads = configure_threads(threads)?;
    let device = parse_device(&args.device)?;
    let reference = Reference::locate(args.python.clone())?;
    let opts = Options {
        quick: args.quick,
        only: args.only.clone(),
        rounds: args.rounds,
        round_seconds: args.round_seconds,
        min_calls: args.min_calls,
    };
    let exe = std::env::current_exe()?;
    let report = bench::run(&reference, &exe, device, threads, &opts)?;
    if args.json {
        super::term::print_json(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    } else {
        super::term::print(&report.markdown())?;
    }
    if let Some(prefix) = &args.save {
        report.save(prefix, &reference)?;
    }
    Ok(ExitCode::SUCCESS)
}
