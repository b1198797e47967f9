//! `sppnet predict` (and its first name `detect`): a user's ultralytics model on PNG/JPEG files,
//! as `YOLO(w).predict(…)`, for every task `sppnet::detect::task::TASKS` lists.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde_json::{json, Value};
use sppnet::detect::run::{detect_files, ImageResult, Job};
use sppnet::detect::{Detector, Nms, RunAs};
use sppnet::images::draw::encode;
use sppnet::images::{expand_inputs, Rgb8, DEFAULT_MAX_PIXELS};
use sppnet::io::{refuse_existing, write_atomic_except, Protected};
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::text::{field, path as shown};

/// Arguments of `sppnet detect`.
#[derive(Args)]
pub struct DetectArgs {
    /// An ultralytics detector, pose or OBB model: a `.pt` (best.pt, last.pt, any 8.x or fork)
    /// or a `.safetensors` written by `sppnet port`.
    weights: PathBuf,
    /// Image files (PNG, JPEG) and folders (their .png/.jpg/.jpeg files, sorted by name).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Inference size; rounded up to a multiple of the model's stride, as ultralytics does
    /// [default: the size the model was trained at (the checkpoint's train_args), else 640].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=8192))]
    imgsz: Option<u64>,
    /// Confidence threshold, in [0, 1].
    #[arg(long, default_value_t = 0.25, value_parser = super::unit)]
    conf: f64,
    /// IoU threshold of NMS, in [0, 1].
    #[arg(long, default_value_t = 0.7, value_parser = super::unit)]
    iou: f64,
    /// Most detections per image (at least 1).
    #[arg(long, default_value_t = 300, value_parser = super::at_least_one)]
    max_det: usize,
    /// Keep only these class indices (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = super::class_index)]
    classes: Option<Vec<i64>>,
    /// One NMS over all classes (end to end: a class-agnostic top-k).
    #[arg(long)]
    agnostic_nms: bool,
    /// Run a YOLO26 / YOLOv10 model end to end with its one-to-one head and no NMS, as
    /// ultralytics' `nms=False` (by default predict uses the one-to-many head and NMS).
    #[arg(long)]
    end2end: bool,
    /// Segmentation masks at the original image's size (`process_mask_native`), instead of the
    /// inference size; ignored, with a note, by models without masks.
    #[arg(long)]
    retina_masks: bool,
    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// fp16 on CUDA (ignored on the CPU, as ultralytics ignores it).
    #[arg(long)]
    half: bool,
    /// Most images of one size per forward pass. 1 (ultralytics' default) gives predict's bits;
    /// larger batches may differ from it in the last bits of a few boxes.
    #[arg(long, default_value_t = 1, value_parser = super::at_least_one)]
    batch_size: usize,
    /// Most pixels an image may have; larger ones are reported and skipped before decoding.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS, value_parser = clap::value_parser!(u64).range(1..))]
    max_pixels: u64,
    /// Most memory the model's activations may take in one forward pass (e.g. 512M, 4G, 1T),
    /// estimated from each image's header before decoding; larger inputs are reported and
    /// skipped.
    #[arg(long, default_value = "2G", value_parser = super::byte_size)]
    max_memory: u64,
    #[command(flatten)]
    yaml: super::port::YamlArgs,
    /// One JSON object per image on stdout, and nothing else there.
    #[arg(long)]
    json: bool,
    /// Write each image with its boxes and labels drawn into this folder (same file name).
    #[arg(long)]
    save_dir: Option<PathBuf>,
    /// A global outside the allow-list that you accept in a `.pt` (MODULE.NAME; repeat for
    /// several), as `sppnet port --accept-global`.
    #[arg(long = "accept-global", value_name = "MODULE.NAME")]
    accept_globals: Vec<String>,
    /// Overwrite pictures already in --save-dir (earlier outputs; an input is never
    /// overwritten).
    #[arg(long)]
    force: bool,
}

/// The picture each input is saved as: its file name (bytes as they are, so a name that is
/// not UTF-8 keeps its bytes), made unique among the inputs.
fn picture_names(files: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    let mut used = BTreeSet::new();
    files
        .iter()
        .map(|f| {
            let stem = f.file_stem().unwrap_or(OsStr::new("image"));
            let ext = if is_jpeg(f) { "jpg" } else { "png" };
            let named = |k: usize| {
                let mut n = OsString::from(stem);
                if k > 0 {
                    n.push(format!("_{k}"));
                }
                n.push(format!(".{ext}"));
                n
            };
            let mut k = 0;
            while !used.insert(named(k)) {
                k += 1;
            }
            dir.join(named(k))
        })
        .collect()
}

fn is_jpeg(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg"))
}

fn save_picture(
    img: &Rgb8,
    r: &ImageResult,
    (path, map_ext): (&Path, Option<&str>),
    force: bool,
    inputs: &Protected,
) -> sppnet::Result<()> {
    let img = sppnet::detect::picture(img, r)?;
    write_atomic_except(path, &encode(&img, is_jpeg(path))?, force, inputs)?;
    if let (Some(ext), Some(bytes)) = (map_ext, r.summary.map_file()) {
        write_atomic_except(&map_name(path, ext), &bytes, force, inputs)?;
    }
    Ok(())
}

/// The map file beside a picture: `out/bus.jpg` → `out/bus.jpg.semantic.png`.
/// (The picture's whole name, so that `bus.jpg` and `bus.png` keep two maps.)
fn map_name(picture: &Path, ext: &str) -> PathBuf {
    let mut name = picture.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{ext}"));
    picture.with_file_name(name)
}

fn to_json(path: &Path, r: &ImageResult, task: &str, names: &BTreeMap<i64, String>) -> Value {
    let dets: Vec<Value> = r
        .detections
        .iter()
        .map(|d| {
            let mut v = json!({"class": d.class, "name": d.name, "confidence": f64::from(d.confidence),
                   "box": d.bbox.map(f64::from)});
            for (key, extra) in d.extra.json() {
                v[key] = extra;
            }
            v
        })
        .collect();
    let mut obj = serde_json::Map::new();
    super::insert_path(&mut obj, path);
    obj.insert("width".into(), r.width.into());
    obj.insert("height".into(), r.height.into());
    obj.insert("task".into(), task.into());
    obj.insert("detections".into(), dets.into());
    for (key, v) in r.summary.json(names) {
        obj.insert(key.into(), v);
    }
    obj.insert(
        "ms".into(),
        json!({"preprocess": r.ms.preprocess, "inference": r.ms.inference, "postprocess": r.ms.postprocess}),
    );
    Value::Object(obj)
}

fn human(path: &Path, r: &ImageResult) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    r.detections
        .iter()
        .for_each(|d| *counts.entry(d.name.as_str()).or_default() += 1);
    let what: Vec<String> = counts
        .iter()
        .map(|(n, c)| format!("{c} {}", field(n)))
        .collect();
    let what = if let Some(t) = r.summary.text() {
        t
    } else if what.is_empty() {
        "no detections".to_string()
    } else {
        what.join(", ")
    };
    let ms = r.ms.preprocess + r.ms.inference + r.ms.postprocess;
    let mut s = format!(
        "{} ({}×{}): {what}, {ms:.1} ms\n",
        shown(path),
        r.width,
        r.height
    );
    for d in &r.detections {
        let [x1, y1, x2, y2] = d.bbox;
        let extra = d
            .extra
            .summary()
            .map(|e| format!(" {e}"))
            .unwrap_or_default();
        s += &format!(
            "  {} {:.3} [{x1:.1}, {y1:.1}, {x2:.1}, {y2:.1}]{extra}\n",
            field(&d.name),
            d.confidence
        );
    }
    s
}

/// Run `sppnet detect`; exit code 1 when any image failed (the others are still reported).
pub fn run(args: DetectArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    configure_threads(threads)?;
    let nms = Nms {
        conf: args.conf,
        iou: args.iou,
        classes: args.classes.clone(),
        agnostic: args.agnostic_nms,
        max_det: args.max_det,
        retina_masks: args.retina_masks,
    };
    nms.validate()?;
    let files = expand_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no images found in {:?}", args.inputs);
    }
    let pictures = args.save_dir.as_ref().map(|d| picture_names(&files, d));
    // Every file the run reads: a picture never replaces one, whatever path leads to it.
    let read = files.iter().chain([&args.weights]).chain(&args.yaml.yaml);
    let inputs = Protected::of(read.map(PathBuf::as_path));
    if let Some(pics) = &pictures {
        pics.iter().try_for_each(|p| {
            inputs.check(p)?;
            refuse_existing(p, args.force)
        })?;
    }
    let run = RunAs {
        device: parse_device(&args.device)?,
        half: args.half,
        channels_last: None,
        end2end: args.end2end,
        max_det: args.max_det,
        agnostic: args.agnostic_nms,
    };
    let opts = sppnet::port::PortOptions {
        accept_globals: args.accept_globals.clone(),
        yaml: args.yaml.model_yaml(),
        ..Default::default()
    };
    let det = Detector::load_with(&args.weights, run, &opts)?;
    // A semantic or depth model also writes its map beside each picture.
    // Never over a picture of this run (an input called `x.jpg.semantic.png`) either.
    if let (Some(pics), Some(ext)) = (&pictures, det.task().map_file) {
        let taken: BTreeSet<&PathBuf> = pics.iter().collect();
        for p in pics {
            let m = map_name(p, ext);
            if taken.contains(&m) {
                bail!("the map {} would replace a picture of this run", shown(&m));
            }
            inputs.check(&m)?;
            refuse_existing(&m, args.force)?;
        }
    }
    if args.retina_masks && det.task().name != "segment" {
        super::term::note(&format!(
            "note: --retina-masks applies to segmentation models; this is a {} model (ignored, as ultralytics ignores it)",
            det.task().name
        ));
    }
    det.notes
        .iter()
        .for_each(|n| super::term::note(&format!("note: {n}")));
    if let Some(dir) = &args.save_dir {
        std::fs::create_dir_all(dir).map_err(|e| sppnet::Error::io(dir, e))?;
    }
    let imgsz = match args.imgsz {
        Some(n) => usize::try_from(n)?,
        None => det.default_imgsz(),
    };
    if args.imgsz.is_none()
        && det
            .train_imgsz
            .is_some_and(|n| n != sppnet::detect::DEFAULT_IMGSZ)
    {
        super::term::note(&format!(
            "note: --imgsz {imgsz}, the size the model was trained at (its train_args), as ultralytics' predict takes it"
        ));
    }
    if det.image_size(imgsz) != imgsz {
        super::term::note(&format!(
            "note: --imgsz {imgsz} is not a multiple of the model's stride {}: using {}, as ultralytics does",
            det.stride(),
            det.image_size(imgsz)
        ));
    }
    let job = Job {
        imgsz,
        nms,
        batch: args.batch_size,
        max_pixels: args.max_pixels,
        max_memory: args.max_memory,
    };
    let bar = (std::io::stderr().is_terminal() && files.len() > 1)
        .then(|| indicatif::ProgressBar::new(files.len() as u64));
    let start = Instant::now();
    let results = detect_files(&det, &files, &job, |i, r, img| {
        if let (Some(pics), Ok(r), Some(img)) = (&pictures, r, img) {
            save_picture(img, r, (&pics[i], det.task().map_file), args.force, &inputs)?;
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
        Ok(())
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let seconds = start.elapsed().as_secs_f64();
    let (mut text, mut failed) = (String::new(), 0);
    for (path, r) in files.iter().zip(&results) {
        match r {
            Ok(r) if args.json => {
                text += &format!("{}\n", to_json(path, r, det.task().name, det.names()))
            }
            Ok(r) => text += &human(path, r),
            Err(e) => {
                failed += 1;
                super::file_error(path, &super::explain(e));
            }
        }
    }
    match args.json {
        true => super::term::print_json(&text)?,
        false => super::term::print(&text)?,
    }
    let saved = args
        .save_dir
        .as_ref()
        .map_or(String::new(), |d| format!("; pictures in {}", shown(d)));
    super::finish_images(files.len(), failed, seconds, &saved)
}
