//! `PosePredictor.construct_result` (`models/yolo/pose/predict.py`, 8.4.190): the boxes as a
//! detector's, and each row's keypoints (`pred[:, 6:]` viewed as `kpt_shape`) through
//! `scale_coords` — `x, y` back onto the original and clipped to it, visibility unchanged.

use super::task::{Extra, Frame};
use super::Detection;
use crate::error::{Error, Result};
use crate::images::letterbox::scale_boxes;

/// One image's NMS rows (`x1, y1, x2, y2, conf, class, keypoints…`) to detections.
pub fn finish(f: &Frame<'_>, rows: Vec<Vec<f32>>) -> Result<Vec<Detection>> {
    let [n, d] = f
        .kpt_shape
        .ok_or_else(|| Error::Config("a pose model without kpt_shape".into()))?;
    let g = f.gains();
    let mut boxes: Vec<[f32; 4]> = rows.iter().map(|r| [r[0], r[1], r[2], r[3]]).collect();
    scale_boxes(f.input, &mut boxes, f.original);
    rows.iter()
        .zip(boxes)
        .map(|(r, b)| {
            if r.len() != 6 + n * d {
                return Err(Error::InvalidInput(format!(
                    "a pose row has {} values, not 6 + {n}×{d}",
                    r.len()
                )));
            }
            let kpts = r[6..]
                .chunks_exact(d)
                .map(|k| {
                    let mut p = k.to_vec();
                    [p[0], p[1]] = g.point(k[0], k[1]);
                    p
                })
                .collect();
            Ok(f.detection(r, b, Extra::Keypoints(kpts)))
        })
        .collect()
}
