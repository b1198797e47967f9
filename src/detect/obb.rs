//! `OBBPredictor.construct_result` (`models/yolo/obb/predict.py`, 8.4.190): each row's
//! `x, y, w, h` and angle (the last channel) as a rotated box, scaled back with
//! `scale_boxes(…, xywh=True)` (unclipped); the detection's box is its axis-aligned hull
//! (`OBB.xyxy`, from the corners).

use super::rotated::hulls;
use super::task::{Extra, Frame};
use super::Detection;
use crate::error::{Error, Result};

/// One image's NMS rows (`x, y, w, h, conf, class, angle`) to detections.
pub fn finish(f: &Frame<'_>, rows: Vec<Vec<f32>>) -> Result<Vec<Detection>> {
    let g = f.gains();
    let rboxes = rows
        .iter()
        .map(|r| {
            let &angle = r.get(6..).and_then(<[f32]>::last).ok_or_else(|| {
                Error::InvalidInput(format!("an OBB row has {} values, no angle", r.len()))
            })?;
            let [x, y, w, h] = g.xywh([r[0], r[1], r[2], r[3]]);
            Ok([x, y, w, h, angle])
        })
        .collect::<Result<Vec<_>>>()?;
    let hull = hulls(&rboxes)?;
    Ok(rows
        .iter()
        .zip(rboxes.into_iter().zip(hull))
        .map(|(r, (rb, h))| f.detection(r, h, Extra::Obb(rb)))
        .collect())
}
