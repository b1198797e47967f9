//! Non-maximum suppression with `torchvision.ops.nms`'s CPU semantics, which ultralytics'
//! `non_max_suppression` calls: boxes visited by descending score (a stable sort, so equal
//! scores keep their order), areas and overlaps in f32 as `(x2 − x1)·(y2 − y1)`, and a box
//! suppressed when its IoU with a kept one is strictly above the threshold (compared in f64).

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// Descending, NaN first (as torch's sort puts NaN above every number), ±0 equal.
fn descending(a: f32, b: f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// The indices of the boxes kept, by descending score.
///
/// # Shapes
/// `boxes[i] = [x1, y1, x2, y2]`, `scores[i]`; same length.
pub fn nms(boxes: &[[f32; 4]], scores: &[f32], iou_threshold: f64) -> Result<Vec<usize>> {
    if boxes.len() != scores.len() {
        return Err(Error::InvalidInput(format!(
            "nms: {} boxes but {} scores",
            boxes.len(),
            scores.len()
        )));
    }
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| descending(scores[a], scores[b]));
    let areas: Vec<f32> = boxes
        .iter()
        .map(|b| (b[2] - b[0]) * (b[3] - b[1]))
        .collect();
    let mut suppressed = vec![false; boxes.len()];
    let mut keep = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let [ix1, iy1, ix2, iy2] = boxes[i];
        for &j in &order[pos + 1..] {
            if suppressed[j] {
                continue;
            }
            let [x1, y1, x2, y2] = boxes[j];
            let w = (ix2.min(x2) - ix1.max(x1)).max(0.0);
            let h = (iy2.min(y2) - iy1.max(y1)).max(0.0);
            let inter = w * h;
            let ovr = inter / (areas[i] + areas[j] - inter);
            if f64::from(ovr) > iou_threshold {
                suppressed[j] = true;
            }
        }
    }
    Ok(keep)
}
