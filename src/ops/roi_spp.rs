//! SPP over windows — SPP-net's detection path: the feature map is computed once for the whole
//! image and each candidate window is pooled from it into a fixed-length vector.
//!
//! `spp_rois(features, rois, levels, spatial_scale)` pools each level `n` as torchvision's
//! `roi_pool(features, rois, (n, n), spatial_scale)` does (`torchvision/csrc/ops/cpu/
//! roi_pool_kernel.cpp`), flattens it channel-major and concatenates the levels:
//! - a window's corners are `round(x · scale)` (in f32, halves away from zero) and a malformed
//!   window is forced to 1×1; bin `i` of `n` covers `[⌊i·b⌋, ⌈(i+1)·b⌉)` of it, `b = size / n`
//!   in f32, clipped to the map;
//! - each bin keeps the first value that is `> max`, starting from `−FLT_MAX` (so NaN and −inf
//!   are never kept: a bin of only those gives `−FLT_MAX`); an empty bin gives 0;
//! - the gradient goes to the kept element, added in (roi, channel, bin) order.
//!
//! The bins are found natively; the values are a `gather` of the features, so autograd's
//! backward (a `scatter_add` over the same index order) adds the gradients as torchvision's
//! loop does. [`RoiMapping::Paper`] maps windows as He et al. 2014 do instead (left/top edge
//! `⌊x·scale⌋ + 1`, right/bottom `⌈x·scale⌉ − 1`), documented side by side in docs/POOLING.md.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// How a window in image coordinates is mapped onto the feature map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoiMapping {
    /// torchvision's `roi_pool`: corners `round(x · scale)`, the end corner included.
    #[default]
    Torchvision,
    /// He et al. 2014 (SPP-net, appendix): `⌊x1·scale⌋ + 1` … `⌈x2·scale⌉ − 1`, inclusive.
    Paper,
}

/// C's `round` on an f32: halves away from zero.
fn round_c(v: f32) -> i64 {
    v.round() as i64
}

/// Where each output element of one level takes its value: `(output index, input index)` for
/// kept elements, and each output's value when nothing is kept (0 or −FLT_MAX).
fn level_plan(
    rois: &[[f32; 5]],
    [c, h, w]: [i64; 3],
    n: i64,
    scale: f32,
    mapping: RoiMapping,
    input: &[f32],
) -> (Vec<i64>, Vec<i64>, Vec<f32>) {
    let (mut outs, mut ins) = (Vec::new(), Vec::new());
    let mut fill = vec![0f32; rois.len() * (c * n * n) as usize];
    for (k, r) in rois.iter().enumerate() {
        let b = r[0] as i64;
        let (x1, y1, x2, y2) = match mapping {
            RoiMapping::Torchvision => (
                round_c(r[1] * scale),
                round_c(r[2] * scale),
                round_c(r[3] * scale),
                round_c(r[4] * scale),
            ),
            RoiMapping::Paper => (
                (r[1] * scale).floor() as i64 + 1,
                (r[2] * scale).floor() as i64 + 1,
                (r[3] * scale).ceil() as i64 - 1,
                (r[4] * scale).ceil() as i64 - 1,
            ),
        };
        let (rw, rh) = ((x2 - x1 + 1).max(1), (y2 - y1 + 1).max(1));
        let (bh, bw) = (rh as f32 / n as f32, rw as f32 / n as f32);
        for ch in 0..c {
            let plane = ((b * c + ch) * h * w) as usize;
            for ph in 0..n {
                for pw in 0..n {
                    let hs = ((ph as f32 * bh).floor() as i64 + y1).clamp(0, h);
                    let he = (((ph + 1) as f32 * bh).ceil() as i64 + y1).clamp(0, h);
                    let ws = ((pw as f32 * bw).floor() as i64 + x1).clamp(0, w);
                    let we = (((pw + 1) as f32 * bw).ceil() as i64 + x1).clamp(0, w);
                    let out = ((k as i64 * c + ch) * n + ph) * n + pw;
                    let empty = he <= hs || we <= ws;
                    let (mut best, mut at) = (if empty { 0.0 } else { -f32::MAX }, -1i64);
                    for y in hs..he {
                        for x in ws..we {
                            let v = input[plane + (y * w + x) as usize];
                            if v > best {
                                best = v;
                                at = (plane as i64) + y * w + x;
                            }
                        }
                    }
                    if at >= 0 {
                        outs.push(out);
                        ins.push(at);
                    } else {
                        fill[out as usize] = best;
                    }
                }
            }
        }
    }
    (outs, ins, fill)
}

/// SPP-net over windows: `[N, C, H, W]` features and `[K, 5]` rois (batch index, x1, y1, x2,
/// y2 in image coordinates) → `[K, C · Σ n²]`. CPU, f32 (torchvision's CPU kernel in f32).
///
/// # Errors
/// Features not 4-D f32 on the CPU; rois not `[K, 5]` f32; a batch index outside the batch or
/// not a whole number; `x2 < x1` or `y2 < y1`; a non-finite roi or scale; an empty or
/// non-positive level list.
pub fn spp_rois(
    features: &Tensor,
    rois: &Tensor,
    levels: &[i64],
    spatial_scale: f64,
    mapping: RoiMapping,
) -> Result<Tensor> {
    let size = features.size();
    let &[nb, c, h, w] = size.as_slice() else {
        return Err(Error::InvalidInput(format!(
            "roi SPP needs 4-D (N, C, H, W) features, got shape {size:?}"
        )));
    };
    if features.kind() != Kind::Float || features.device() != Device::Cpu {
        return Err(Error::InvalidInput(
            "roi SPP runs on CPU f32 features (torchvision's CPU kernel)".into(),
        ));
    }
    if rois.dim() != 2 || rois.size()[1] != 5 || rois.kind() != Kind::Float {
        return Err(Error::InvalidInput(format!(
            "rois must be an f32 [K, 5] tensor (batch index, x1, y1, x2, y2), got {:?} {:?}",
            rois.kind(),
            rois.size()
        )));
    }
    if levels.is_empty() || levels.iter().any(|&l| !(1..=1024).contains(&l)) {
        return Err(Error::Config(format!(
            "roi SPP levels must be 1 to 1024, got {levels:?}"
        )));
    }
    let scale = spatial_scale as f32;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::Config(format!(
            "the spatial scale must be a positive number, got {spatial_scale}"
        )));
    }
    let flat: Vec<f32> = Vec::try_from(rois.f_contiguous()?.f_view([-1])?)?;
    let boxes: Vec<[f32; 5]> = flat
        .chunks_exact(5)
        .map(|r| [r[0], r[1], r[2], r[3], r[4]])
        .collect();
    for (i, r) in boxes.iter().enumerate() {
        if r.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!("roi {i} is not finite: {r:?}")));
        }
        if r[0] < 0.0 || r[0] >= nb as f32 || r[0].fract() != 0.0 {
            return Err(Error::InvalidInput(format!(
                "roi {i} has batch index {} (the batch holds {nb})",
                r[0]
            )));
        }
        if r[3] < r[1] || r[4] < r[2] {
            return Err(Error::InvalidInput(format!(
                "roi {i} has x2 < x1 or y2 < y1: {r:?}"
            )));
        }
    }
    let input: Vec<f32> = Vec::try_from(features.f_detach()?.f_contiguous()?.f_view([-1])?)?;
    let source = features.f_contiguous()?.f_view([-1])?;
    let k = boxes.len() as i64;
    let mut parts = Vec::with_capacity(levels.len());
    for &n in levels {
        let (outs, ins, fill) = level_plan(&boxes, [c, h, w], n, scale, mapping, &input);
        let values = source.f_gather(0, &Tensor::from_slice(&ins), false)?;
        let base = Tensor::from_slice(&fill);
        let level = base.f_index_put(&[Some(Tensor::from_slice(&outs))], &values, false)?;
        parts.push(level.f_view([k, c * n * n])?);
    }
    Ok(Tensor::f_cat(&parts, 1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One window, both mappings, worked by hand on an 8×8 map holding its own indices.
    #[test]
    fn the_two_mappings_pick_the_windows_they_document() {
        let x = Tensor::arange(64, (Kind::Float, Device::Cpu)).view([1, 1, 8, 8]);
        let rois = Tensor::from_slice(&[0f32, 8., 8., 40., 40.]).view([1, 5]);
        let one = |m| {
            spp_rois(&x, &rois, &[1], 0.125, m)
                .unwrap()
                .double_value(&[0, 0])
        };
        // torchvision: corners round(8/8) = 1 … round(40/8) = 5, inclusive: max at (5, 5).
        assert_eq!(one(RoiMapping::Torchvision), 45.0);
        // He et al.: ⌊1⌋ + 1 = 2 … ⌈5⌉ − 1 = 4: max at (4, 4).
        assert_eq!(one(RoiMapping::Paper), 36.0);
        // Level 2 of the paper window (rows/cols 2–4, bins of 1.5): [2, 4) and [3, 5).
        let y = spp_rois(&x, &rois, &[2], 0.125, RoiMapping::Paper).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(y.view([-1])).unwrap(),
            [27.0, 28.0, 35.0, 36.0]
        );
    }

    #[test]
    fn bad_rois_are_refused() {
        let x = Tensor::zeros([2, 1, 4, 4], (Kind::Float, Device::Cpu));
        let run = |r: &[f32]| {
            spp_rois(
                &x,
                &Tensor::from_slice(r).view([1, 5]),
                &[1],
                1.0,
                RoiMapping::Torchvision,
            )
        };
        assert!(run(&[2., 0., 0., 1., 1.]).is_err());
        assert!(run(&[0.5, 0., 0., 1., 1.]).is_err());
        assert!(run(&[0., 3., 0., 1., 1.]).is_err());
        assert!(run(&[0., 0., f32::NAN, 1., 1.]).is_err());
        assert!(run(&[1., 0., 0., 1., 1.]).is_ok());
    }
}
