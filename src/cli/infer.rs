//! `sppnet infer`: run a checkpoint on PNG/JPEG images of any size, batched by size.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde_json::{json, Value};
use sppnet::images::{buckets, image_size, load_image, top_k, Normalize, DEFAULT_MAX_PIXELS};
use sppnet::io::{refuse_existing, write_safetensors, Protected};
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::{Model, Rule};
use tch::{Device, Kind, Tensor};

/// Arguments of `sppnet infer`.
#[derive(Args)]
pub struct InferArgs {
    /// An SppNet checkpoint (classifier), or a block whose input has 3 channels.
    #[arg(long)]
    weights: PathBuf,
    /// Image files (PNG, JPEG) and folders (their .png/.jpg/.jpeg files, sorted by name).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Run in fp16 (CUDA; refused on a CPU whose libtorch lacks fp16 kernels).
    #[arg(long)]
    half: bool,
    /// Most images of one size per forward pass.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Most pixels an image may have; larger ones are reported and skipped before decoding.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS, value_parser = clap::value_parser!(u64).range(1..))]
    max_pixels: u64,
    /// Classes reported per image (SppNet).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    top_k: u64,
    /// Report the fixed-length pooled vector instead of classes (SppNet).
    #[arg(long)]
    features: bool,
    /// One JSON object per image on stdout, and nothing else there.
    #[arg(long)]
    json: bool,
    /// Also write each image's output (scores, features, or block output) to this safetensors
    /// file, as tensor `<index>` (input order); metadata `sppnet.inputs` lists every path.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Channel means subtracted after scaling to [0, 1] (ImageNet's by default).
    #[arg(long, value_delimiter = ',', default_value = "0.485,0.456,0.406", value_parser = super::finite)]
    mean: Vec<f32>,
    /// Channel standard deviations divided by (ImageNet's by default).
    #[arg(long, value_delimiter = ',', default_value = "0.229,0.224,0.225", value_parser = super::positive_f32)]
    std: Vec<f32>,
    /// Override the checkpoint's pyramid levels (SppNet).
    #[arg(long, value_delimiter = ',', value_parser = super::level)]
    levels: Option<Vec<i64>>,
    /// Override the checkpoint's bin rule (SppNet): `adaptive` pools any image size.
    #[arg(long)]
    rule: Option<Rule>,
    /// Overwrite OUTPUT if it exists.
    #[arg(long)]
    force: bool,
}

/// What one image gave.
struct Outcome {
    size: (i64, i64),
    tensor: Tensor,
}

/// Run the model on one same-sized batch: its output, or its feature vector.
fn run_batch(model: &Model, x: &Tensor, features: bool) -> sppnet::Result<Tensor> {
    match features {
        true => model.features(x),
        false => model.forward(x),
    }
}

/// Run `sppnet infer`; exit code 1 when any image failed (the others are still reported).
pub fn run(args: InferArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    configure_threads(threads)?;
    if let Some(out) = &args.output {
        let read = args.inputs.iter().chain([&args.weights]);
        Protected::of(read.map(PathBuf::as_path)).check(out)?;
        refuse_existing(out, args.force)?;
    }
    let (Ok(mean), Ok(std)) = (
        <[f32; 3]>::try_from(args.mean.as_slice()),
        <[f32; 3]>::try_from(args.std.as_slice()),
    ) else {
        bail!("--mean and --std take three values (R,G,B)");
    };
    let norm = Normalize { mean, std };
    let device = parse_device(&args.device)?;
    let mut loader = Model::loader(&args.weights).device(device);
    if let Some(levels) = &args.levels {
        loader = loader.set("levels", levels);
    }
    if let Some(rule) = args.rule {
        loader = loader.set("rule", rule);
    }
    let mut model = loader.load()?;
    let class = model.spec().class();
    match model.module().in_channels() {
        Some(3) | None => {}
        Some(c) => bail!("{class} takes {c}-channel inputs; images have 3 (infer runs SppNet checkpoints and 3-channel blocks)"),
    }
    let classifier = model.spec().name() == "sppnet";
    if args.features && !classifier {
        bail!("--features applies to SppNet checkpoints");
    }
    if args.half {
        model
            .half()
            .map_err(|e| anyhow::anyhow!("--half: {e}; use CUDA or drop --half"))?;
    }
    let files = sppnet::images::expand_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no images found in {:?}", args.inputs);
    }

    // Sizes from the headers only; decoding happens batch by batch.
    let mut results: Vec<Option<Result<Outcome, String>>> =
        (0..files.len()).map(|_| None).collect();
    let mut sizes = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match image_size(f, args.max_pixels) {
            Ok((w, h)) => sizes.push((i, (i64::from(h), i64::from(w)))),
            Err(e) => results[i] = Some(Err(super::explain(&e))),
        }
    }
    let bar = (std::io::stderr().is_terminal() && files.len() > 8)
        .then(|| indicatif::ProgressBar::new(files.len() as u64));
    let start = Instant::now();
    // A batch holds at most 16 Mpx (and --batch-size images), so many large images are not
    // stacked into one huge tensor.
    for batch in buckets(
        &sizes,
        usize::try_from(args.batch_size).unwrap_or(usize::MAX),
        16_000_000,
    ) {
        let mut ok = Vec::new();
        let mut xs = Vec::new();
        for &i in &batch {
            match load_image(&files[i], &norm, args.max_pixels) {
                Ok(x) => {
                    ok.push(i);
                    xs.push(x);
                }
                Err(e) => results[i] = Some(Err(super::explain(&e))),
            }
        }
        if !xs.is_empty() {
            let x = model.prepare_input(&Tensor::f_stack(&xs, 0)?)?;
            match run_batch(&model, &x, args.features) {
                Ok(y) => {
                    for (j, &i) in ok.iter().enumerate() {
                        let size = (x.size()[2], x.size()[3]);
                        results[i] = Some(Ok(Outcome {
                            size,
                            tensor: y
                                .f_get(j as i64)?
                                .f_to_kind(Kind::Float)?
                                .f_to_device(Device::Cpu)?,
                        }));
                    }
                }
                Err(e) => ok
                    .iter()
                    .for_each(|&i| results[i] = Some(Err(super::explain(&e)))),
            }
        }
        if let Some(b) = &bar {
            b.inc(batch.len() as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let seconds = start.elapsed().as_secs_f64();
    report(&args, &files, results, classifier, seconds)
}

fn report(
    args: &InferArgs,
    files: &[PathBuf],
    results: Vec<Option<Result<Outcome, String>>>,
    classifier: bool,
    seconds: f64,
) -> anyhow::Result<ExitCode> {
    let (mut text, mut saved, mut failed) = (String::new(), Vec::new(), 0);
    for (i, (path, r)) in files.iter().zip(results).enumerate() {
        let r = r.unwrap_or_else(|| Err("not processed".into()));
        let mut obj = serde_json::Map::new();
        obj.insert("index".into(), json!(i));
        super::insert_path(&mut obj, path);
        obj.insert("ok".into(), json!(r.is_ok()));
        match r {
            Ok(o) => {
                obj.insert("height".into(), json!(o.size.0));
                obj.insert("width".into(), json!(o.size.1));
                let human = if args.features {
                    obj.insert("features_len".into(), json!(o.tensor.numel()));
                    format!("{} features", o.tensor.numel())
                } else if classifier {
                    let top = top_k(&o.tensor, usize::try_from(args.top_k).unwrap_or(usize::MAX))?;
                    obj.insert(
                        "top_k".into(),
                        Value::Array(
                            top.iter()
                                .map(|(c, s)| json!({"class": c, "score": s}))
                                .collect(),
                        ),
                    );
                    top.iter()
                        .map(|(c, s)| format!("class {c} ({s:.4})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    obj.insert("output_shape".into(), json!(o.tensor.size()));
                    format!("output {:?}", o.tensor.size())
                };
                text += &format!("{}: {human}\n", sppnet::text::path(path));
                saved.push((i.to_string(), o.tensor));
            }
            Err(e) => {
                failed += 1;
                obj.insert("error".into(), json!(e));
                if !args.json {
                    super::file_error(path, &e);
                }
            }
        }
        if args.json {
            super::term::print_json(&format!("{}\n", Value::Object(obj)))?;
        }
    }
    if !args.json {
        super::term::print(&text)?;
    }
    if let Some(out) = &args.output {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let meta = std::collections::BTreeMap::from([(
            "sppnet.inputs".to_string(),
            serde_json::to_string(&names)?,
        )]);
        write_safetensors(out, &saved, &meta, args.force)?;
    }
    super::finish_images(files.len(), failed, seconds, "")
}
