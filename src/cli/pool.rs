//! `sppnet pool`: one row of the pooling table on one tensor (spatial pyramid pooling by
//! default). Flags become a [`PoolOp`]; the library does the rest.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};
use sppnet::io::{read_safetensors, refuse_existing, Protected};
use sppnet::ops::pool2d::{AvgPoolOptions, MaxPoolOptions};
use sppnet::ops::roi_spp::RoiMapping;
use sppnet::ops::PoolOp;
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::tensor::check_finite;
use sppnet::Rule;

/// The rows of the table `--op` names.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    /// Spatial pyramid pooling (--levels, --rule).
    Spp,
    /// nn.MaxPool2d (--kernel, --stride, --padding, --dilation, --ceil-mode).
    Max,
    /// nn.AvgPool2d (--kernel, --stride, --padding, --ceil-mode, --count-include-pad, --divisor-override).
    Avg,
    /// timm's SelectAdaptivePool2d (--pool-type, --flatten, --output-size).
    Global,
    /// Stochastic pooling (--kernel, --stride; --train --seed for the training rule).
    Stochastic,
    /// SPP-net over windows (--rois, --levels, --spatial-scale, --mapping).
    RoiSpp,
}

/// Arguments of `sppnet pool`.
#[derive(Args)]
pub struct PoolArgs {
    /// safetensors file holding one NCHW float tensor (or pick one with --key).
    input: PathBuf,
    /// Output safetensors file; gets tensor `output` in the input's dtype.
    #[arg(short, long)]
    output: PathBuf,
    /// Which pooling.
    #[arg(long, value_enum, default_value = "spp")]
    op: Op,
    /// Pyramid levels, in output order (spp).
    #[arg(long, value_delimiter = ',', value_parser = super::level)]
    levels: Option<Vec<i64>>,
    /// Bin rule (spp): yueruchen (upstream), adaptive (any size), paper (He et al.).
    #[arg(long)]
    rule: Option<Rule>,
    /// Window KH,KW, or K for both (max, avg, stochastic).
    #[arg(long, value_parser = pair)]
    kernel: Option<[i64; 2]>,
    /// Step SH,SW or S [default: the kernel] (max, avg, stochastic).
    #[arg(long, value_parser = pair)]
    stride: Option<[i64; 2]>,
    /// Padding PH,PW or P [default: 0] (max, avg).
    #[arg(long, value_parser = pair)]
    padding: Option<[i64; 2]>,
    /// Dilation DH,DW or D [default: 1] (max).
    #[arg(long, value_parser = pair)]
    dilation: Option<[i64; 2]>,
    /// Round output sizes up (max, avg).
    #[arg(long)]
    ceil_mode: bool,
    /// Count the zero padding in the divisor [default: true] (avg).
    #[arg(long)]
    count_include_pad: Option<bool>,
    /// Divide every window by D (avg).
    #[arg(long)]
    divisor_override: Option<i64>,
    /// timm pool type [default: fast]: avg, max, avgmax, catavgmax, fast, fastmax, … (global).
    #[arg(long)]
    pool_type: Option<String>,
    /// Flatten to [N, C'] (global).
    #[arg(long)]
    flatten: bool,
    /// Output size OH,OW or O [default: 1] (global, adaptive pool types).
    #[arg(long, value_parser = pair)]
    output_size: Option<[i64; 2]>,
    /// Sample with Caffe's training rule instead of the test-time weighting (stochastic).
    #[arg(long)]
    train: bool,
    /// Seed of the training rule's draw [default: 0] (stochastic, with --train).
    #[arg(long)]
    seed: Option<i64>,
    /// safetensors file holding the [K, 5] f32 rois: batch index, x1, y1, x2, y2 in image
    /// coordinates (roi-spp).
    #[arg(long)]
    rois: Option<PathBuf>,
    /// Feature-map pixels per image pixel, e.g. 0.0625 for stride 16 [default: 1] (roi-spp).
    #[arg(long)]
    spatial_scale: Option<f64>,
    /// Window to feature-map mapping [default: torchvision] (roi-spp): torchvision, paper.
    #[arg(long)]
    mapping: Option<String>,
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

/// `K` or `KH,KW`.
fn pair(s: &str) -> Result<[i64; 2], String> {
    let parts: Vec<Result<i64, _>> = s.split(',').map(|p| p.trim().parse::<i64>()).collect();
    match parts.as_slice() {
        [Ok(v)] if (0..=1 << 20).contains(v) => Ok([*v, *v]),
        [Ok(a), Ok(b)] if (0..=1 << 20).contains(a) && (0..=1 << 20).contains(b) => Ok([*a, *b]),
        _ => Err(format!("`{s}` is not N or H,W (whole numbers from 0)")),
    }
}

/// The op the flags describe; flags of another op are refused by name.
fn op(a: &PoolArgs) -> anyhow::Result<PoolOp> {
    let given = [
        (
            "--levels",
            a.levels.is_some(),
            [Op::Spp, Op::RoiSpp].as_slice(),
        ),
        ("--rois", a.rois.is_some(), &[Op::RoiSpp]),
        ("--spatial-scale", a.spatial_scale.is_some(), &[Op::RoiSpp]),
        ("--mapping", a.mapping.is_some(), &[Op::RoiSpp]),
        ("--rule", a.rule.is_some(), &[Op::Spp]),
        (
            "--kernel",
            a.kernel.is_some(),
            &[Op::Max, Op::Avg, Op::Stochastic],
        ),
        (
            "--stride",
            a.stride.is_some(),
            &[Op::Max, Op::Avg, Op::Stochastic],
        ),
        ("--padding", a.padding.is_some(), &[Op::Max, Op::Avg]),
        ("--dilation", a.dilation.is_some(), &[Op::Max]),
        ("--ceil-mode", a.ceil_mode, &[Op::Max, Op::Avg]),
        (
            "--count-include-pad",
            a.count_include_pad.is_some(),
            &[Op::Avg],
        ),
        (
            "--divisor-override",
            a.divisor_override.is_some(),
            &[Op::Avg],
        ),
        ("--pool-type", a.pool_type.is_some(), &[Op::Global]),
        ("--flatten", a.flatten, &[Op::Global]),
        ("--output-size", a.output_size.is_some(), &[Op::Global]),
        ("--train", a.train, &[Op::Stochastic]),
        ("--seed", a.seed.is_some(), &[Op::Stochastic]),
    ];
    let name = Op::to_possible_value(&a.op)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    for (flag, set, ops) in given {
        if set && !ops.contains(&a.op) {
            bail!("{flag} does not apply to --op {name}");
        }
    }
    if a.seed.is_some() && !a.train {
        bail!("--seed sets the training rule's draw: add --train");
    }
    let kernel = || {
        a.kernel
            .ok_or_else(|| anyhow::anyhow!("--op {name} needs --kernel"))
    };
    Ok(match a.op {
        Op::Spp => PoolOp::Spp {
            levels: a.levels.clone().unwrap_or_else(|| vec![4, 2, 1]),
            rule: a.rule.unwrap_or_default(),
        },
        Op::Max => {
            let k = kernel()?;
            PoolOp::Max(MaxPoolOptions {
                kernel: k,
                stride: a.stride.unwrap_or(k),
                padding: a.padding.unwrap_or([0, 0]),
                dilation: a.dilation.unwrap_or([1, 1]),
                ceil_mode: a.ceil_mode,
            })
        }
        Op::Avg => {
            let k = kernel()?;
            PoolOp::Avg(AvgPoolOptions {
                kernel: k,
                stride: a.stride.unwrap_or(k),
                padding: a.padding.unwrap_or([0, 0]),
                ceil_mode: a.ceil_mode,
                count_include_pad: a.count_include_pad.unwrap_or(true),
                divisor_override: a.divisor_override,
            })
        }
        Op::Global => PoolOp::Global {
            pool_type: a.pool_type.clone().unwrap_or_else(|| "fast".into()),
            flatten: a.flatten,
            output_size: a.output_size.unwrap_or([1, 1]),
        },
        Op::RoiSpp => PoolOp::RoiSpp {
            levels: a.levels.clone().unwrap_or_else(|| vec![4, 2, 1]),
            spatial_scale: a.spatial_scale.unwrap_or(1.0),
            mapping: match a.mapping.as_deref() {
                None | Some("torchvision") => RoiMapping::Torchvision,
                Some("paper") => RoiMapping::Paper,
                Some(other) => bail!("--mapping `{other}`: torchvision or paper"),
            },
        },
        Op::Stochastic => {
            let [k, kw] = kernel()?;
            let [s, sw] = a.stride.unwrap_or([k, kw]);
            if k != kw || s != sw {
                bail!("stochastic pooling takes one kernel side and one stride (K and S, not H,W pairs)");
            }
            PoolOp::Stochastic {
                kernel: k,
                stride: s,
                seed: a.train.then(|| a.seed.unwrap_or(0)),
            }
        }
    })
}

/// Run `sppnet pool`.
pub fn run(args: PoolArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    configure_threads(threads)?;
    let op = op(&args)?;
    Protected::of([args.input.as_path()]).check(&args.output)?;
    refuse_existing(&args.output, args.force)?;
    let device = parse_device(&args.device)?;
    let file = read_safetensors(&args.input)?;
    let x = super::select_tensor(&file, args.key.as_deref(), &args.input)?;
    if !args.allow_nonfinite {
        check_finite(&x, "the input")?;
    }
    let rois = match (&op, &args.rois) {
        (PoolOp::RoiSpp { .. }, Some(path)) => {
            let file = read_safetensors(path)?;
            Some(super::select_tensor(&file, None, path)?)
        }
        (PoolOp::RoiSpp { .. }, None) => bail!("--op roi-spp needs --rois ROIS.safetensors"),
        _ => None,
    };
    let y = op.apply(&x.f_to_device(device)?, rois.as_ref())?;
    let config = serde_json::to_string(&op)?;
    let mut meta = vec![("sppnet.pool", config)];
    if let PoolOp::Spp { levels, rule } = &op {
        let levels: Vec<String> = levels.iter().map(i64::to_string).collect();
        meta.push(("sppnet.levels", levels.join(",")));
        meta.push(("sppnet.rule", rule.to_string()));
    }
    super::write_output(
        &args.output,
        &[("output".to_string(), y.shallow_clone())],
        &meta,
        args.force,
    )?;
    super::term::note(&format!(
        "{} pooled {:?} → output {:?} ({:?}) in {}",
        op.name(),
        x.size(),
        y.size(),
        y.kind(),
        args.output.display()
    ));
    Ok(ExitCode::SUCCESS)
}
