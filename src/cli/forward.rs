//! `sppnet forward`: run a self-describing checkpoint on one input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sppnet::io::{read_safetensors, refuse_existing, Protected};
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::tensor::{check_finite, check_nchw};
use sppnet::{ConfigSource, Model, Rule};

/// Arguments of `sppnet forward`.
#[derive(Args)]
pub struct ForwardArgs {
    /// Weights: a safetensors file with `sppnet.arch`/`sppnet.config` metadata, or a bare
    /// SppNet state_dict (sizes inferred from the shapes).
    #[arg(long)]
    weights: PathBuf,
    /// safetensors file holding the NCHW input (or pick one with --key).
    input: PathBuf,
    /// Output safetensors file; gets tensor `output`.
    #[arg(short, long)]
    output: PathBuf,
    /// Name of the input tensor when the file holds several.
    #[arg(long)]
    key: Option<String>,
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Override the checkpoint's pyramid levels (SppNet).
    #[arg(long, value_delimiter = ',', value_parser = super::level)]
    levels: Option<Vec<i64>>,
    /// Override the checkpoint's bin rule (SppNet).
    #[arg(long)]
    rule: Option<Rule>,
    /// Fold BatchNorm into the convolutions first, as ultralytics' `model.fuse()` does.
    #[arg(long)]
    fuse: bool,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    force: bool,
    /// Run inputs holding NaN or ±inf instead of refusing them.
    #[arg(long)]
    allow_nonfinite: bool,
}

/// Run `sppnet forward`.
pub fn run(args: ForwardArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    configure_threads(threads)?;
    Protected::of([args.weights.as_path(), args.input.as_path()]).check(&args.output)?;
    refuse_existing(&args.output, args.force)?;
    let device = parse_device(&args.device)?;
    let mut loader = Model::loader(&args.weights).device(device);
    if let Some(levels) = &args.levels {
        loader = loader.set("levels", levels);
    }
    if let Some(rule) = args.rule {
        loader = loader.set("rule", rule);
    }
    let model = loader.load()?;
    let model = if args.fuse { model.fuse()? } else { model };
    let file = read_safetensors(&args.input)?;
    let x = super::select_tensor(&file, args.key.as_deref(), &args.input)?;
    check_nchw(&x, "the input")?;
    let (file_kind, converted) = (x.kind(), x.kind() != model.kind());
    let x = model.prepare_input(&x)?;
    if !args.allow_nonfinite {
        check_finite(&x, "the input")?;
    }
    // `output`, and a segmentation model's prototypes as `proto`.
    let outputs = model.forward_named(&x)?;
    let y = outputs[0].1.shallow_clone();
    let meta = [("sppnet.weights", args.weights.display().to_string())];
    super::write_output(&args.output, &outputs, &meta, args.force)?;
    let how = match model.source() {
        ConfigSource::Metadata => "config from the file's metadata",
        ConfigSource::Shapes => "no sppnet metadata: sizes inferred from tensor shapes",
        ConfigSource::Given => "config given",
    };
    super::term::note(&format!(
        "{}: {} ({how}): {}",
        args.weights.display(),
        model.spec().name(),
        model.spec()
    ));
    if converted {
        super::term::note(&format!(
            "the input was converted from {:?} to {:?}",
            file_kind,
            model.kind()
        ));
    }
    super::term::note(&format!(
        "input {:?} → output {:?} in {}",
        x.size(),
        y.size(),
        args.output.display()
    ));
    Ok(ExitCode::SUCCESS)
}
