//! ultralytics' `non_max_suppression` (`utils/nms.py`, 8.4.190) for detection heads, on the
//! CPU, with upstream's arithmetic so that the rows come out bitwise equal:
//!
//! - one-to-many heads (`[B, 4 + nc, A]`, centre-size boxes): candidates whose best class score
//!   is above `conf` (compared in f32, as torch compares an f32 tensor with a Python float);
//!   boxes to corners as `xy ∓ wh / 2`; the best class (first maximum); the `classes` filter;
//!   at most `max_nms` candidates by score; boxes offset by `class · 7680` unless agnostic;
//!   `torchvision.ops.nms` ([`crate::ops::nms`]); at most `max_det` rows;
//! - end-to-end heads (`[B, N, 6]`, corners, score, class): rows whose score is above `conf`,
//!   the `classes` filter, the first `max_det`.
//!
//! One departure, outside what `predict` meets at its defaults: above `max_nms` (30 000)
//! candidates upstream sorts with torch's unstable sort; this sort is stable.

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::ops::nms::nms;

/// Upstream's per-class offset (`max_wh`) that keeps classes apart in one NMS call.
pub const MAX_WH: f32 = 7680.0;

/// Upstream's cap on boxes entering NMS (`max_nms`).
pub const MAX_NMS: usize = 30_000;

/// What `non_max_suppression` keeps and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Nms {
    /// Confidence threshold, in [0, 1] (`conf`).
    pub conf: f64,
    /// IoU threshold, in [0, 1] (`iou`).
    pub iou: f64,
    /// Classes kept (`classes`); `None`: all.
    pub classes: Option<Vec<i64>>,
    /// One NMS over all classes (`agnostic_nms`).
    pub agnostic: bool,
    /// Most rows per image (`max_det`, at least 1).
    pub max_det: usize,
    /// Segmentation masks at the original image's size (`retina_masks`), else at the input's.
    pub retina_masks: bool,
}

impl Default for Nms {
    /// `predict`'s defaults: conf 0.25, iou 0.7, all classes, per class, 300 rows.
    fn default() -> Self {
        Nms {
            conf: 0.25,
            iou: 0.7,
            classes: None,
            agnostic: false,
            max_det: 300,
            retina_masks: false,
        }
    }
}

impl Nms {
    /// Refuse thresholds outside [0, 1] (upstream asserts) and `max_det` 0.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("confidence threshold", self.conf),
            ("IoU threshold", self.iou),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::InvalidInput(format!(
                    "the {what} {v} is outside [0, 1]"
                )));
            }
        }
        if self.max_det == 0 {
            return Err(Error::InvalidInput(
                "at most 0 detections per image keeps nothing; ask for 1 or more".into(),
            ));
        }
        Ok(())
    }

    fn keeps_class(&self, class: f32) -> bool {
        self.classes
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|&c| c as f32 == class))
    }
}

/// One detection row: corners, score and class, as upstream's `[x1, y1, x2, y2, conf, cls]`.
pub type Row = [f32; 6];

/// The predictions as `[B, rows, cols]` f32 values on the CPU.
fn host(pred: &Tensor) -> Result<(Vec<f32>, [usize; 3])> {
    let p = pred
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?;
    let dims: Vec<usize> = p.size().iter().map(|&d| d as usize).collect();
    let [b, r, c] = dims[..] else {
        return Err(Error::InvalidInput(format!(
            "predictions of shape {dims:?}; expected 3 dimensions"
        )));
    };
    Ok((Vec::<f32>::try_from(p.f_flatten(0, -1)?)?, [b, r, c]))
}

/// `non_max_suppression` on a model's first output; one list of rows per image.
///
/// # Shapes
/// `[B, 4 + nc, A]` (one-to-many) or `[B, N, 6]` (`end2end`) → `B × [n ≤ max_det]` rows.
pub fn non_max_suppression(pred: &Tensor, s: &Nms, end2end: bool) -> Result<Vec<Vec<Row>>> {
    let rows = nms_rows(pred, s, end2end, None, false)?;
    Ok(rows
        .into_iter()
        .map(|img| {
            img.into_iter()
                .map(|r| <Row>::try_from(&r[..6]).unwrap_or([0.0; 6]))
                .collect()
        })
        .collect())
}

/// `non_max_suppression(…, nc=nc)` keeping each row's task channels (mask coefficients,
/// keypoints, angle) after `x1, y1, x2, y2, conf, class`, as a pose, segmentation or OBB
/// predictor calls it; `nc: None` takes every channel after the box as a class (a detector).
/// `rotated` (OBB): boxes stay `x, y, w, h` (the angle is the last channel) and NMS is
/// `fast_nms` with the probabilistic IoU ([`super::rotated::fast_nms`]).
///
/// # Shapes
/// `[B, 4 + nc + e, A]` (one-to-many) or `[B, N, 6 + e]` (`end2end`) → `B × [n ≤ max_det]` rows of
/// `6 + e` values.
pub fn nms_rows(
    pred: &Tensor,
    s: &Nms,
    end2end: bool,
    nc: Option<usize>,
    rotated: bool,
) -> Result<Vec<Vec<Vec<f32>>>> {
    s.validate()?;
    let (v, [b, r, c]) = host(pred)?;
    let conf = s.conf as f32;
    if end2end || c == 6 {
        if c < 6 {
            return Err(Error::InvalidInput(format!(
                "end-to-end predictions have at least 6 columns, got {c}"
            )));
        }
        return Ok((0..b)
            .map(|i| {
                v[i * r * c..(i + 1) * r * c]
                    .chunks_exact(c)
                    .filter(|row| row[4] > conf && s.keeps_class(row[5]))
                    .take(s.max_det)
                    .map(<[f32]>::to_vec)
                    .collect()
            })
            .collect());
    }
    let nc = nc.unwrap_or(r.saturating_sub(4));
    if r < 5 || nc == 0 || nc + 4 > r {
        return Err(Error::InvalidInput(format!(
            "predictions with {r} rows have no class scores for {nc} classes"
        )));
    }
    (0..b)
        .map(|i| {
            one_to_many(
                &v[i * r * c..(i + 1) * r * c],
                [nc, r - 4 - nc, c],
                s,
                conf,
                rotated,
            )
        })
        .collect()
}

/// One image of a one-to-many head: `[4 + nc + e, A]` values, channel-major.
fn one_to_many(
    p: &[f32],
    [nc, extra, anchors]: [usize; 3],
    s: &Nms,
    conf: f32,
    rotated: bool,
) -> Result<Vec<Vec<f32>>> {
    let at = |ch: usize, a: usize| p[ch * anchors + a];
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for a in 0..anchors {
        // The best class, first maximum (NaN wins, as torch's max); candidates need its score
        // above the threshold (upstream filters on `amax`, then on `max`: the same value).
        let (mut best, mut j) = (at(4, a), 0);
        for k in 1..nc {
            let v = at(4 + k, a);
            if !best.is_nan() && (v > best || v.is_nan()) {
                (best, j) = (v, k);
            }
        }
        // NaN is never a candidate.
        if best.partial_cmp(&conf) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let (x, y) = (at(0, a), at(1, a));
        let (hw, hh) = (at(2, a) / 2.0, at(3, a) / 2.0);
        let mut row = match rotated {
            true => vec![x, y, at(2, a), at(3, a), best, j as f32],
            false => vec![x - hw, y - hh, x + hw, y + hh, best, j as f32],
        };
        row.extend((0..extra).map(|e| at(4 + nc + e, a)));
        if s.keeps_class(row[5]) {
            rows.push(row);
        }
    }
    let rows = cap(rows);
    if rotated {
        let offset = if s.agnostic { 0 } else { MAX_WH as i64 };
        let keep = super::rotated::fast_nms(&rows, s.iou, offset)?;
        return Ok(keep
            .into_iter()
            .take(s.max_det)
            .map(|i| rows[i].clone())
            .collect());
    }
    let offset = if s.agnostic { 0.0 } else { MAX_WH };
    let boxes: Vec<[f32; 4]> = rows
        .iter()
        .map(|r| {
            let c = r[5] * offset;
            [r[0] + c, r[1] + c, r[2] + c, r[3] + c]
        })
        .collect();
    let scores: Vec<f32> = rows.iter().map(|r| r[4]).collect();
    let keep = nms(&boxes, &scores, s.iou)?;
    Ok(keep
        .into_iter()
        .take(s.max_det)
        .map(|i| rows[i].clone())
        .collect())
}

/// At most [`MAX_NMS`] candidates, the best by score.
pub fn cap(rows: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
    if rows.len() <= MAX_NMS {
        return rows;
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[b][4].total_cmp(&rows[a][4]));
    order[..MAX_NMS].iter().map(|&i| rows[i].clone()).collect()
}
