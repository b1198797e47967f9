//! Image files through a [`Detector`]: sizes read from the headers first, images of one size
//! batched together (so each keeps its own letterbox, as `predict` gives it one image at a
//! time), decoded batch by batch, results in input order, and an error per file that does not
//! decode — the others carry on.

use std::path::PathBuf;
use std::time::Instant;

use super::{Detection, Detector, Nms, Summary};
use crate::error::{Error, Result};
use crate::images::{buckets, decode_rgb8, image_size, Rgb8};

/// Milliseconds one image spent in each stage (a batch's time shared among its images).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Decoding, letterboxing and making the input tensor.
    pub preprocess: f64,
    /// The model.
    pub inference: f64,
    /// NMS and scaling the boxes back.
    pub postprocess: f64,
}

/// What one image gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageResult {
    /// Original width.
    pub width: usize,
    /// Original height.
    pub height: usize,
    /// Detections, best first.
    pub detections: Vec<Detection>,
    /// What a task without boxes gives (top-5, a class or depth map).
    pub summary: Summary,
    /// Where the time went.
    pub ms: Timings,
}

/// What to run on every image.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Inference size (rounded up to the stride by the detector).
    pub imgsz: usize,
    /// NMS settings.
    pub nms: Nms,
    /// Most images of one size per forward pass. 1 (upstream's default) keeps the bits of
    /// `predict`: oneDNN's channels-last convolutions may order sums differently for a batch,
    /// so batched results can differ from one-at-a-time ones in the last bits.
    pub batch: usize,
    /// Most pixels an image may have (checked from its header, before decoding).
    pub max_pixels: u64,
    /// Most bytes the model's activations may take in one forward pass, estimated before
    /// decoding from each header ([`Detector::check_memory`]).
    pub max_memory: u64,
}

impl Default for Job {
    fn default() -> Self {
        Job {
            imgsz: super::DEFAULT_IMGSZ,
            nms: Nms::default(),
            batch: 1,
            max_pixels: crate::images::DEFAULT_MAX_PIXELS,
            max_memory: super::DEFAULT_MAX_MEMORY,
        }
    }
}

/// One batch as the decoding thread hands it over: each file's image (or error), and the
/// milliseconds the batch took to decode.
type Decoded = (Vec<(usize, Result<Rgb8>)>, f64);

/// Milliseconds since `t`, shared among `n` images.
fn share(t: Instant, n: usize) -> f64 {
    t.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64
}

/// Detect on every file. `each(index, result, image)` is called once per file as soon as its
/// result is known (batch by batch, not in input order), with the decoded image when it
/// decoded (to draw on); an error it returns stops the run. Returns the results in input order.
/// The next batch is decoded on a second thread while the model runs (`Timings::preprocess`
/// still counts its decoding time).
pub fn detect_files(
    det: &Detector,
    files: &[PathBuf],
    job: &Job,
    mut each: impl FnMut(usize, &Result<ImageResult>, Option<&Rgb8>) -> Result<()>,
) -> Result<Vec<Result<ImageResult>>> {
    job.nms.validate()?;
    let imgsz = det.image_size(job.imgsz);
    let mut results: Vec<Option<Result<ImageResult>>> = files.iter().map(|_| None).collect();
    let mut sizes = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let fits = |(w, h): (u32, u32)| -> Result<(u32, u32)> {
            let (iw, ih) = det.input_size(h as usize, w as usize, imgsz)?;
            det.check_memory(1, ih, iw, job.max_memory)?;
            Ok((w, h))
        };
        match image_size(f, job.max_pixels).and_then(fits) {
            Ok((w, h)) => sizes.push((i, (i64::from(h), i64::from(w)))),
            Err(e) => {
                let r = Err(e);
                each(i, &r, None)?;
                results[i] = Some(r);
            }
        }
    }
    // A batch holds at most 16 Mpx of originals (and `batch` images).
    // Decoding runs one batch ahead on a thread of its own (pure Rust, no libtorch), so the next
    // images are ready when the model finishes the current ones.
    let batches = buckets(&sizes, job.batch, 16_000_000);
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Decoded>(1);
        let max_pixels = job.max_pixels;
        scope.spawn(move || {
            for batch in batches {
                let t0 = Instant::now();
                let decoded: Vec<(usize, Result<Rgb8>)> = batch
                    .iter()
                    .map(|&i| (i, decode_rgb8(&files[i], max_pixels)))
                    .collect();
                if tx
                    .send((decoded, t0.elapsed().as_secs_f64() * 1e3))
                    .is_err()
                {
                    return; // the consumer stopped
                }
            }
        });
        for (decoded, decode_ms) in rx {
            let (mut ok, mut images) = (Vec::new(), Vec::new());
            for (i, r) in decoded {
                match r {
                    Ok(img) => {
                        ok.push(i);
                        images.push(img);
                    }
                    Err(e) => {
                        let r = Err(e);
                        each(i, &r, None)?;
                        results[i] = Some(r);
                    }
                }
            }
            // EXIF orientation may swap sides: group what decoded by its decoded size.
            let mut groups: std::collections::BTreeMap<(usize, usize), Vec<usize>> =
                Default::default();
            for (j, img) in images.iter().enumerate() {
                groups.entry((img.height, img.width)).or_default().push(j);
            }
            let decode_ms = decode_ms / images.len().max(1) as f64;
            for members in groups.into_values() {
                let group: Vec<&Rgb8> = members.iter().map(|&j| &images[j]).collect();
                let outcome = run_group(det, &group, imgsz, job, decode_ms);
                for (k, &j) in members.iter().enumerate() {
                    let r = match &outcome {
                        Ok(all) => Ok(all[k].clone()),
                        Err(e) => Err(Error::InvalidInput(e.to_string())),
                    };
                    each(ok[j], &r, Some(&images[j]))?;
                    results[ok[j]] = Some(r);
                }
            }
        }
        Ok(())
    })?;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::InvalidInput("not processed".into()))))
        .collect())
}

fn run_group(
    det: &Detector,
    images: &[&Rgb8],
    imgsz: usize,
    job: &Job,
    decode_ms: f64,
) -> Result<Vec<ImageResult>> {
    let (n, nms) = (images.len(), &job.nms);
    if let Some(first) = images.first() {
        let (w, h) = det.input_size(first.height, first.width, imgsz)?;
        det.check_memory(n, h, w, job.max_memory)?;
    }
    let t = Instant::now();
    let x = det.preprocess(images, imgsz)?;
    let pre = decode_ms + share(t, n);
    let t = Instant::now();
    let pred = det.infer(&x)?;
    if let Some(p) = pred.first().filter(|p| p.device() != tch::Device::Cpu) {
        let _ = p.f_sum(tch::Kind::Float)?.f_to_device(tch::Device::Cpu)?; // wait for CUDA
    }
    let inference = share(t, n);
    let t = Instant::now();
    let (h1, w1) = (x.size()[2] as usize, x.size()[3] as usize);
    let originals: Vec<(usize, usize)> = images.iter().map(|i| (i.height, i.width)).collect();
    let dets = det.postprocess(&pred, nms, (h1, w1), &originals)?;
    let post = share(t, n);
    Ok(images
        .iter()
        .zip(dets)
        .map(|(img, (detections, summary))| ImageResult {
            width: img.width,
            height: img.height,
            detections,
            summary,
            ms: Timings {
                preprocess: pre,
                inference,
                postprocess: post,
            },
        })
        .collect())
}
