//! Images for inference at any size: decoding, normalisation, size-bucketed batching, top-k.
//!
//! Every image is a regular file whose header is read first: its dimensions are checked
//! against a pixel limit before anything is decoded, and the decoder itself runs under an
//! allocation limit, so a small file claiming 60000×60000 pixels costs nothing.

pub mod contours;
pub mod decode;
pub mod draw;
pub mod letterbox;
pub mod pil;
pub mod plot;
pub mod resize;
pub mod transforms;

use std::io::BufReader;
use std::path::Path;

use image::ImageReader;

pub use decode::{decode_rgb8, Rgb8};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::io::open_regular;

/// The default most pixels an image may have (a 40-megapixel photo; `--max-pixels` raises it).
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

/// The largest image file read (1 GiB).
pub const MAX_FILE: u64 = 1 << 30;

/// Per-channel normalisation `(x − mean) / std` of RGB values in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalize {
    /// Channel means (R, G, B).
    pub mean: [f32; 3],
    /// Channel standard deviations (R, G, B).
    pub std: [f32; 3],
}

impl Default for Normalize {
    /// ImageNet statistics, the usual choice for classifiers trained on it.
    fn default() -> Self {
        Self {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }
}

fn reader(path: &Path) -> Result<ImageReader<BufReader<std::fs::File>>> {
    let (file, len) = open_regular(path)?;
    if len > MAX_FILE {
        return Err(image_error(
            path,
            format!("{len} bytes, more than the {MAX_FILE} an image may have"),
        ));
    }
    ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))
}

fn image_error(path: &Path, reason: String) -> Error {
    Error::Image {
        path: path.into(),
        reason,
    }
}

/// An image's (width, height), from its header only; refused beyond `max_pixels`.
pub fn image_size(path: &Path, max_pixels: u64) -> Result<(u32, u32)> {
    let (w, h) = reader(path)?
        .into_dimensions()
        .map_err(|e| image_error(path, unreadable(&e)))?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(Error::PixelLimit(format!(
            "{}: {w}×{h} is {pixels} pixels, more than the limit of {max_pixels}",
            path.display()
        )));
    }
    if w == 0 || h == 0 {
        return Err(image_error(path, "an empty image".into()));
    }
    Ok((w, h))
}

/// Decode a PNG or JPEG file ([`decode::decode_rgb8`]: as OpenCV decodes it, in RGB order) into a
/// normalised RGB tensor, refusing more than `max_pixels`.
///
/// # Shapes
/// → `[3, H, W]` f32 (the image's own size).
pub fn load_image(path: &Path, norm: &Normalize, max_pixels: u64) -> Result<Tensor> {
    let img = decode::decode_rgb8(path, max_pixels)?;
    let (w, h) = (img.width as i64, img.height as i64);
    let hwc = Tensor::f_from_data_size(&img.data, &[h, w, 3], Kind::Uint8)?;
    drop(img);
    let mut chw = hwc
        .f_permute([2, 0, 1])?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?;
    let mean = Tensor::f_from_slice(&norm.mean)?.f_view([3, 1, 1])?;
    let std = Tensor::f_from_slice(&norm.std)?.f_view([3, 1, 1])?;
    // In place: one float copy of the image at a time.
    let _ = chw.f_div_scalar_(255.0)?;
    let _ = chw.f_sub_(&mean)?;
    let _ = chw.f_div_(&std)?;
    Ok(chw)
}

/// Group item indices by size, keeping input order within each group, and split each group
/// into batches of at most `batch` items and at most `max_batch_pixels` pixels (a larger
/// image runs alone). Returns the batches.
pub fn buckets(
    sizes: &[(usize, (i64, i64))],
    batch: usize,
    max_batch_pixels: u64,
) -> Vec<Vec<usize>> {
    let mut groups: std::collections::BTreeMap<(i64, i64), Vec<usize>> = Default::default();
    for &(i, k) in sizes {
        groups.entry(k).or_default().push(i);
    }
    let mut out = Vec::new();
    for ((h, w), items) in groups {
        let pixels = (h.max(1) as u64).saturating_mul(w.max(1) as u64);
        let per_batch = (max_batch_pixels / pixels).clamp(1, batch.max(1) as u64) as usize;
        out.extend(items.chunks(per_batch).map(<[usize]>::to_vec));
    }
    out
}

/// The `k` highest scores of a score vector, as (class index, score), best first.
///
/// # Shapes
/// `scores: [classes]`.
pub fn top_k(scores: &Tensor, k: usize) -> Result<Vec<(i64, f64)>> {
    let k = k.min(scores.size().first().copied().unwrap_or(0) as usize) as i64;
    let (values, indices) = scores.f_to_kind(Kind::Float)?.f_topk(k, 0, true, true)?;
    let values = Vec::<f32>::try_from(values)?;
    let indices = Vec::<i64>::try_from(indices)?;
    Ok(indices
        .into_iter()
        .zip(values.into_iter().map(f64::from))
        .collect())
}

/// Whether a path names a PNG or JPEG file (by extension).
pub fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Files and folders to image files: a folder contributes its PNG/JPEG files, sorted by name;
/// a file is taken as it is (and refused later if it does not decode).
pub fn expand_inputs(inputs: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found: Vec<_> = std::fs::read_dir(p)
                .map_err(|e| Error::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_image(f))
                .collect();
            found.sort();
            files.extend(found);
        } else if let Some(why) = not_a_file_source(p) {
            return Err(Error::InvalidInput(why));
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// A source `predict` would read that is not a file here: a URL or stream address, or (when no
/// file has that name) a camera index or `screen`. Refused before anything runs.
fn not_a_file_source(p: &std::path::Path) -> Option<String> {
    if p.exists() {
        return None;
    }
    let s = p.to_string_lossy();
    let shown = crate::text::field(&s);
    if let Some((scheme, _)) = s.split_once("://") {
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Some(format!(
                "{shown}: {scheme}:// sources (URLs, streams) are not supported yet; download the file and give its path"
            ));
        }
    }
    let camera = !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (camera || s == "screen").then(|| {
        format!("{shown}: no such file (ultralytics would read it as a camera or the screen: not supported yet)")
    })
}

/// The one-line message for an image the decoder refused (some decoder errors span lines).
pub fn unreadable(e: &image::ImageError) -> String {
    let why = e.to_string();
    let why: Vec<&str> = why.split_whitespace().collect();
    format!("not a readable PNG/JPEG image ({})", why.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_group_by_size_and_keep_order() {
        let sizes = [
            (0, (5, 5)),
            (1, (7, 3)),
            (2, (5, 5)),
            (3, (5, 5)),
            (4, (7, 3)),
        ];
        assert_eq!(
            buckets(&sizes, 2, 1 << 30),
            vec![vec![0, 2], vec![3], vec![1, 4]]
        );
        assert_eq!(buckets(&[], 4, 1 << 30), Vec::<Vec<usize>>::new());
        // A pixel budget of 60 fits two 5×5 images, one 7×3 … and a too-large image alone.
        assert_eq!(
            buckets(&sizes, 16, 60),
            vec![vec![0, 2], vec![3], vec![1, 4]]
        );
        assert_eq!(
            buckets(&sizes, 16, 30),
            vec![vec![0], vec![2], vec![3], vec![1], vec![4]]
        );
    }

    #[test]
    fn top_k_is_sorted_and_clamped() {
        let s = Tensor::from_slice(&[0.1f32, 0.9, 0.5]);
        assert_eq!(
            top_k(&s, 2)
                .unwrap()
                .iter()
                .map(|p| p.0)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(top_k(&s, 10).unwrap().len(), 3);
    }
}
