//! `sppnet port`: a checkpoint (safetensors, torch.save state_dict, training checkpoint, whole
//! pickled module) to a self-describing safetensors file, with no Python.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sppnet::io::{refuse_existing, Protected};
use sppnet::modules::parse_model::{parse_version, YamlOptions};
use sppnet::modules::{by_name, registry, Assume};
use sppnet::nn::Act;
use sppnet::port::yaml::ModelYaml;
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

/// `--yaml` and what goes with it (`sppnet port`, `sppnet detect`).
#[derive(Args)]
pub struct YamlArgs {
    /// Build the model from this ultralytics model yaml (yolov8.yaml, a fork's own); the weights
    /// file (a state_dict, safetensors or checkpoint of a DetectionModel) gives the weights only.
    #[arg(long, value_name = "FILE")]
    pub yaml: Option<PathBuf>,
    /// With --yaml: the scale (n, s, m, l, x) [default: from the yaml file's name, as
    /// ultralytics reads it (yolov8s.yaml → s), else the yaml's first scale].
    #[arg(long, requires = "yaml")]
    scale: Option<String>,
    /// With --yaml: the number of classes, overriding the yaml's `nc`.
    #[arg(long, requires = "yaml", value_parser = clap::value_parser!(i64).range(1..=65_536))]
    nc: Option<i64>,
    /// With --yaml: the ultralytics version that trained the weights (8.4.30), where its build
    /// rules differ from 8.4.190's (SPPF.cv1 is unactivated from 8.4.0 to 8.4.140).
    #[arg(long, requires = "yaml", value_name = "VERSION", value_parser = parse_version_arg)]
    ultralytics_version: Option<[u32; 3]>,
}

impl YamlArgs {
    /// The model yaml asked for, if any.
    pub fn model_yaml(&self) -> Option<ModelYaml> {
        self.yaml.as_ref().map(|path| ModelYaml {
            path: path.clone(),
            options: YamlOptions {
                scale: self.scale.clone(),
                nc: self.nc,
                ch: None,
                version: self.ultralytics_version,
            },
        })
    }
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
    #[command(flatten)]
    yaml: YamlArgs,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    force: bool,
}

/// Run `sppnet port`.
pub fn run(args: PortArgs) -> anyhow::Result<ExitCode> {
    let read = [args.src.as_path()]
        .into_iter()
        .chain(args.yaml.yaml.as_deref());
    Protected::of(read).check(&args.output)?;
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
        yaml: args.yaml.model_yaml(),
    };
    if opts.yaml.is_some() && (opts.class.is_some() || opts.module.is_some()) {
        anyhow::bail!(
            "--yaml builds the whole model: it cannot be combined with --arch or --module"
        );
    }
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

fn parse_version_arg(s: &str) -> Result<[u32; 3], String> {
    parse_version(s).map_err(|e| e.to_string())
}
