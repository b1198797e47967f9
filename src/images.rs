//! Images for inference at any size: decoding, normalisation, size-bucketed batching, top-k.

use std::path::Path;

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

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

/// Decode a PNG or JPEG file into a normalised RGB tensor.
///
/// # Shapes
/// → `[3, H, W]` f32 (the image's own size).
pub fn load_image(path: &Path, norm: &Normalize) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let img = image::load_from_memory(&bytes)
        .map_err(|e| Error::InvalidInput(format!("{}: {}", path.display(), unreadable(&e))))?
        .to_rgb8();
    let (w, h) = (img.width() as i64, img.height() as i64);
    let hwc = Tensor::f_from_data_size(img.as_raw(), &[h, w, 3], Kind::Uint8)?;
    let chw = hwc
        .f_permute([2, 0, 1])?
        .f_to_kind(Kind::Float)?
        .f_div_scalar(255.0)?;
    let mean = Tensor::from_slice(&norm.mean).f_view([3, 1, 1])?;
    let std = Tensor::from_slice(&norm.std).f_view([3, 1, 1])?;
    Ok(chw.f_sub(&mean)?.f_div(&std)?.f_contiguous()?)
}

/// Group item indices by size, keeping input order within each group, and split each group
/// into batches of at most `batch` items. Returns the batches, largest groups' items first.
pub fn buckets<K: Ord + Copy>(sizes: &[(usize, K)], batch: usize) -> Vec<Vec<usize>> {
    let mut groups: std::collections::BTreeMap<K, Vec<usize>> = std::collections::BTreeMap::new();
    for &(i, k) in sizes {
        groups.entry(k).or_default().push(i);
    }
    groups
        .into_values()
        .flat_map(|g| {
            g.chunks(batch.max(1))
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `k` highest scores of a score vector, as (class index, score), best first.
///
/// # Shapes
/// `scores: [classes]`.
pub fn top_k(scores: &Tensor, k: usize) -> Result<Vec<(i64, f64)>> {
    let k = k.min(scores.size()[0] as usize) as i64;
    let (values, indices) = scores.f_to_kind(Kind::Float)?.f_topk(k, 0, true, true)?;
    let values = Vec::<f32>::try_from(values)?;
    let indices = Vec::<i64>::try_from(indices)?;
    Ok(indices
        .into_iter()
        .zip(values.into_iter().map(f64::from))
        .collect())
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
        assert_eq!(buckets(&sizes, 2), vec![vec![0, 2], vec![3], vec![1, 4]]);
        assert_eq!(buckets::<(i64, i64)>(&[], 4), Vec::<Vec<usize>>::new());
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
