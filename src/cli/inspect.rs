//! `sppnet inspect`: tensors, metadata and module tree of a checkpoint, without reading storages.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sppnet::port::inspect::{inspect, render};

/// Arguments of `sppnet inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// A .safetensors or torch.save file.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Run `sppnet inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let j = inspect(&args.file)?;
    if args.json {
        super::term::print_json(&(serde_json::to_string_pretty(&j)? + "\n"))?;
    } else {
        super::term::print(&render(&j))?;
    }
    Ok(ExitCode::SUCCESS)
}
