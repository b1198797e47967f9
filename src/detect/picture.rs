//! The `--save-dir` picture of one image's result, as `Results.plot()` lays it out: instance
//! masks blended in their class colours, boxes (rotated ones as their corners) with labels,
//! a classifier's top 5 on a panel, a semantic class map or a depth heat map blended over the
//! photo, keypoints with the COCO skeleton. For people to look at, not bit for bit.

use super::run::ImageResult;
use super::summary::Summary;
use super::task::Extra;
use crate::error::Result;
use crate::images::draw::{class_color, draw, Labelled};
use crate::images::plot::{blend, jet, keypoints, line_width, panel};
use crate::images::Rgb8;

/// `xywhr` to its four corners (`xywhr2xyxyxyxy`).
fn corners([cx, cy, w, h, r]: [f32; 5]) -> [[f32; 2]; 4] {
    let (c, s) = (r.cos(), r.sin());
    let (v1, v2) = ([w / 2.0 * c, w / 2.0 * s], [-h / 2.0 * s, h / 2.0 * c]);
    let at = |a: f32, b: f32| [cx + a * v1[0] + b * v2[0], cy + a * v1[1] + b * v2[1]];
    [at(1.0, 1.0), at(1.0, -1.0), at(-1.0, -1.0), at(-1.0, 1.0)]
}

/// Where an original pixel falls on a mask of `(mh, mw)` letterboxed from `(h0, w0)` (the
/// padding `scale_masks` crops off), nearest.
fn sampler(mh: usize, mw: usize, h0: usize, w0: usize) -> impl Fn(usize, usize) -> usize {
    let gain = (mh as f64 / h0 as f64).min(mw as f64 / w0 as f64);
    let nh = (h0 as f64 * gain).round_ties_even().max(1.0);
    let nw = (w0 as f64 * gain).round_ties_even().max(1.0);
    let top = ((mh as f64 - nh) / 2.0 - 0.1).round_ties_even().max(0.0);
    let left = ((mw as f64 - nw) / 2.0 - 0.1).round_ties_even().max(0.0);
    move |x, y| {
        let my = (top + (y as f64 + 0.5) * nh / h0 as f64) as usize;
        let mx = (left + (x as f64 + 0.5) * nw / w0 as f64) as usize;
        my.min(mh - 1) * mw + mx.min(mw - 1)
    }
}

/// The annotated picture.
pub fn picture(img: &Rgb8, r: &ImageResult) -> Result<Rgb8> {
    let mut img = img.clone();
    let (h0, w0) = (img.height, img.width);
    // Masks first, under the boxes; the first detection's colour wins where they overlap.
    let masks: Vec<(Vec<u8>, usize, usize, [u8; 3])> = r
        .detections
        .iter()
        .filter_map(|d| match &d.extra {
            Extra::Mask(m) if m.height > 0 && m.width > 0 => {
                Some((m.dense(), m.height, m.width, class_color(d.class)))
            }
            _ => None,
        })
        .collect();
    if !masks.is_empty() {
        let at: Vec<_> = masks
            .iter()
            .map(|(_, mh, mw, _)| sampler(*mh, *mw, h0, w0))
            .collect();
        blend(&mut img, 0.5, |x, y| {
            masks
                .iter()
                .zip(&at)
                .find(|((m, ..), at)| m[at(x, y)] != 0)
                .map(|((.., c), _)| *c)
        });
    }
    let labels: Vec<String> = r
        .detections
        .iter()
        .map(|d| format!("{} {:.2}", d.name, d.confidence))
        .collect();
    let boxes: Vec<Labelled<'_>> = r
        .detections
        .iter()
        .zip(&labels)
        .map(|(d, l)| Labelled {
            bbox: d.bbox,
            label: l,
            class: d.class,
            corners: match d.extra {
                Extra::Obb(b) => Some(corners(b)),
                _ => None,
            },
        })
        .collect();
    draw(&mut img, &boxes)?;
    match &r.summary {
        Summary::Probs { top5, .. } => {
            let lines: Vec<String> = top5
                .iter()
                .map(|t| format!("{} {:.2}", t.name, t.confidence))
                .collect();
            let x = (h0 as f64 * 0.03).round_ties_even() as i64;
            panel(&mut img, x, x, &lines);
        }
        Summary::Semantic(m) if (m.height, m.width) == (h0, w0) => {
            blend(&mut img, 0.5, |x, y| match m.data[y * w0 + x] {
                255 => Some([0, 0, 0]),
                c => Some(class_color(i64::from(c))),
            });
        }
        Summary::Depth(m) if (m.height, m.width) == (h0, w0) => {
            // Disparity (1 / depth), normalised to the map's range, through jet.
            let inv: Vec<f32> = m.data.iter().map(|&d| 1.0 / d.max(1e-6)).collect();
            let (lo, hi) = inv
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let span = (hi - lo).max(1e-12);
            blend(&mut img, 0.6, |x, y| {
                Some(jet((inv[y * w0 + x] - lo) / span))
            });
        }
        _ => {}
    }
    let lw = line_width(&img);
    for d in r.detections.iter().rev() {
        if let Extra::Keypoints(k) = &d.extra {
            keypoints(&mut img, k, lw);
        }
    }
    Ok(img)
}
