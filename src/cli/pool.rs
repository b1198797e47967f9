//! `sppnet pool`: spatial pyramid pooling of one tensor.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sppnet::io::{read_safetensors, refuse_existing};
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::tensor::check_finite;
use sppnet::{spatial_pyramid_pool, Rule};

/// Arguments of `sppnet pool`.
#[derive(Args)]
pub struct PoolArgs {
    /// safetensors file holding one NCHW float tensor (or pick one with --key).
    input: PathBuf,
    /// Output safetensors file; gets tensor `output` [N, C·Σn²] in the input's dtype.
    #[arg(short, long)]
    output: PathBuf,
    /// Pyramid levels, in output order.
    #[arg(long, value_delimiter = ',', default_value = "4,2,1", value_parser = super::level)]
    levels: Vec<i64>,
    /// Bin rule: yueruchen (upstream), adaptive (any size), paper (He et al.).
    #[arg(long, default_value = "yueruchen")]
    rule: Rule,
    /// Name of the input tensor when the file holds several.
    #[arg(long)]
    key: Option<String>,
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    force: bool,
    /// Pool inputs holding NaN or ±inf (they propagate as in PyTorch) instead of refusing them.
    #[arg(long)]
    allow_nonfinite: bool,
}

/// Run `sppnet pool`.
pub fn run(args: PoolArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    configure_threads(threads)?;
    refuse_existing(&args.output, args.force)?;
    let device = parse_device(&args.device)?;
    let file = read_safetensors(&args.input)?;
    let x = super::select_tensor(&file, args.key.as_deref(), &args.input)?;
    if !args.allow_nonfinite {
        check_finite(&x, "the input")?;
    }
    let y = spatial_pyramid_pool(&x.f_to_device(device)?, &args.levels, args.rule)?;
    let levels: Vec<String> = args.levels.iter().map(i64::to_string).collect();
    let meta = [
        ("sppnet.levels", levels.join(",")),
        ("sppnet.rule", args.rule.to_string()),
    ];
    super::write_output(&args.output, &y, &meta, args.force)?;
    super::term::note(&format!(
        "pooled {:?} → output {:?} ({:?}) in {}",
        x.size(),
        y.size(),
        y.kind(),
        args.output.display()
    ));
    Ok(ExitCode::SUCCESS)
}
