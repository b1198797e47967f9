//! The `sppnet` command line: parses arguments and dispatches to `cli::*`.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Spatial pyramid pooling on libtorch, proven bit-for-bit against upstream PyTorch.
#[derive(Parser)]
#[command(name = "sppnet", version, about, long_about = None)]
struct Cli {
    /// libtorch intra-op threads [default: $OMP_NUM_THREADS, else libtorch's choice].
    /// Bitwise parity with PyTorch needs the same count on both sides.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pyramid-pool one NCHW tensor from a safetensors file.
    Pool(cli::pool::PoolArgs),
    /// Run the module a weights file describes on one input tensor (eval mode).
    Forward(cli::forward::ForwardArgs),
    /// Run a checkpoint on PNG/JPEG images of any size (batched by size; results in input order).
    Infer(cli::infer::InferArgs),
    /// Run a user's ultralytics model (.pt or ported .safetensors) on PNG/JPEG images, as
    /// `YOLO(weights).predict(...)` does, the task read from the checkpoint: detect, pose (boxes
    /// and keypoints), obb (rotated boxes).
    Predict(cli::detect::DetectArgs),
    /// The same as `predict`, with the same flags (its first name).
    Detect(cli::detect::DetectArgs),
    /// Run the committed reference SppNet on several input sizes and print its parity with
    /// the committed Python dumps.
    Demo(cli::demo::DemoArgs),
    /// Port a checkpoint (safetensors, torch.save state_dict, training checkpoint, whole
    /// pickled module) to a self-describing safetensors file, with no Python.
    Port(cli::port::PortArgs),
    /// Show a checkpoint's tensors, metadata and (for torch.save files) module tree, without
    /// reading storages or running anything.
    Inspect(cli::inspect::InspectArgs),
    /// Every ported module against live Python, on each device: bitwise / max abs / max ULP.
    Parity(cli::parity::ParityArgs),
    /// Time the same cases in Rust and in Python, alternating; medians and ratios.
    Bench(cli::bench::BenchArgs),
    /// Print which feature-map sides each bin rule can pool (Markdown table).
    Sizes(cli::sizes::SizesArgs),
}

fn main() -> ExitCode {
    // The long version (`--version`) holds runtime facts: libtorch, CUDA, cuDNN, threads.
    let mut command = Cli::command();
    if std::env::args_os().any(|a| a == "--version") {
        let text: &'static str = Box::leak(sppnet::runtime::environment().into_boxed_str());
        command = command.long_version(text);
    }
    let parsed = command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message: "error: …" and indented details, a blank line, then usage.
            let msg = e.to_string();
            let head: Vec<&str> = msg
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let head = head.join(" ");
            cli::term::note(&format!(
                "error: {} (see `sppnet --help`)",
                head.trim_start_matches("error: ")
            ));
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Pool(args) => cli::pool::run(args, cli.threads),
        Command::Forward(args) => cli::forward::run(args, cli.threads),
        Command::Demo(args) => cli::demo::run(args, cli.threads),
        Command::Infer(args) => cli::infer::run(args, cli.threads),
        Command::Detect(args) | Command::Predict(args) => cli::detect::run(args, cli.threads),
        Command::Sizes(args) => cli::sizes::run(args),
        Command::Bench(args) => cli::bench::run(args, cli.threads),
        Command::Port(args) => cli::port::run(args),
        Command::Parity(args) => cli::parity::run(args, cli.threads),
        Command::Inspect(args) => cli::inspect::run(args),
    };
    if std::env::var_os(sppnet::runtime::REPORT_PEAK_RSS).is_some() {
        if let Some(kib) = sppnet::runtime::peak_rss_kib() {
            eprintln!("sppnet-peak-rss-kib: {kib}");
        }
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            let hint = e
                .chain()
                .find_map(|c| c.downcast_ref::<sppnet::Error>())
                .and_then(cli::hint)
                .map_or(String::new(), |h| format!(" ({h})"));
            cli::term::note(&format!("error: {e:#}{hint}"));
            ExitCode::FAILURE
        }
    }
}
