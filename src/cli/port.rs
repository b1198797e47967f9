//! `sppnet port`: a checkpoint (safetensors, torch.save state_dict, training checkpoint, whole
//! pickled module) to a self-describing safetensors file, with no Python.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sppnet::io::refuse_existing;
use sppnet::modules::{by_name, registry, Assume};
use sppnet::nn::Act;
use sppnet::port::{port, save, PortOptions};
use torch_pickle::walk::Source;

/// `--source`.
#[derive(Clone, Copy, ValueEnum)]
enum SourceArg {
    /// The `model` weights (ultralytics' best.pt keeps its EMA there).
    Model,
    /// The `ema` weights.
    Ema,
}

/// `--dtype`.
#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum DtypeArg {
    /// Convert f16/bf16/f64 to f32 (what sppnet runs).
    F32,
    /// Keep the stored dtypes.
    Keep,
}

/// Arguments of `sppnet port`.
#[derive(Args)]
pub struct PortArgs {
    /// .safetensors, a torch.save state_dict (.pt/.pth), or a whole-module checkpoint.
    src: PathBuf,
    /// The self-describing safetensors file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Dotted path of the module to port, e.g. `model.9` (ultralytics: the SPPF layer).
    #[arg(long)]
    module: Option<String>,
    /// auto (from the metadata, the pickled class or the keys), or a registered class name
    /// (sppnet, conv, sppf, detection_model, …; an unknown name lists them all).
    #[arg(long, default_value = "auto")]
    arch: String,
    /// Which weights of a training checkpoint.
    #[arg(long, value_enum, default_value = "model")]
    source: SourceArg,
    /// f32, or keep the stored dtypes.
    #[arg(long, value_enum, default_value = "f32")]
    dtype: DtypeArg,
    /// BatchNorm eps for plain state_dicts [default 1e-5; ultralytics DetectionModels: 1e-3].
    #[arg(long, value_parser = super::positive)]
    bn_eps: Option<f64>,
    /// Activation of every Conv for plain state_dicts (SiLU, Identity, ReLU, LeakyReLU(0.1), …).
    #[arg(long)]
    act: Option<Act>,
    /// Port although the checkpoint names this global outside PyTorch's weights_only
    /// allow-list (`module.name`, as `inspect` lists it; repeatable). Nothing is ever run.
    #[arg(long, value_name = "MODULE.NAME")]
    accept_global: Vec<String>,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    force: bool,
}

/// Run `sppnet port`.
pub fn run(args: PortArgs) -> anyhow::Result<ExitCode> {
    refuse_existing(&args.output, args.force)?;
    let class = match args.arch.as_str() {
        "auto" => None,
        name => Some(by_name(name).map_err(|_| {
            anyhow::anyhow!(
                "unknown --arch `{name}` (auto, {})",
                registry::names().join(", ")
            )
        })?),
    };
    let opts = PortOptions {
        module: args.module.clone(),
        class,
        source: match args.source {
            SourceArg::Model => Source::Model,
            SourceArg::Ema => Source::Ema,
        },
        keep_dtype: args.dtype == DtypeArg::Keep,
        assume: Assume {
            bn_eps: args.bn_eps,
            act: args.act,
        },
        accept_globals: args.accept_global.clone(),
    };
    let ported = port(&args.src, &opts)?;
    save(&ported, &args.output, args.force)?;
    let note = |s: String| super::term::note(&s);
    note(format!("read:     {}", ported.read.join("; ")));
    note(format!("inferred: {}", ported.inferred.join("; ")));
    if !ported.assumed.is_empty() {
        note(format!("assumed:  {}", ported.assumed.join("; ")));
    }
    note(format!(
        "wrote {} ({} tensors)",
        args.output.display(),
        ported.tensors.len()
    ));
    Ok(ExitCode::SUCCESS)
}
