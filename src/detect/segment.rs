//! `SegmentationPredictor.construct_result` (`models/yolo/segment/predict.py`, `utils/ops.py`,
//! 8.4.190): each row's mask coefficients times the image's prototypes, as `process_mask`
//! (bilinear to the input size, `> 0`, cropped to the box at that size; the default) or
//! `process_mask_native` (`retina_masks`: upsampled by 1, 2 or 4, the letterbox padding
//! cropped, bilinear to the original size, `> 0`, cropped to the box there) make it, in
//! libtorch where the float arithmetic is; detections whose mask is empty are dropped.

use tch::{Kind, Tensor};

use super::task::{Extra, Frame};
use super::Detection;
use crate::error::{Error, Result};
use crate::images::letterbox::scale_boxes;

/// A binary instance mask as COCO's uncompressed RLE: `counts` alternate runs of 0 and 1
/// (the first a run of 0, possibly empty) over the pixels in column-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Run lengths, starting with zeros.
    pub counts: Vec<u32>,
    /// Its polygon on the original image (`result.masks.xy[i]`).
    pub polygon: Vec<[f32; 2]>,
}

impl Mask {
    /// Pixels set.
    pub fn area(&self) -> u64 {
        self.counts
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| u64::from(c))
            .sum()
    }

    /// The mask as row-major bytes (0 or 1).
    pub fn dense(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.height * self.width];
        let mut at = 0usize;
        for (i, &run) in self.counts.iter().enumerate() {
            for k in at..at + run as usize {
                if i % 2 == 1 {
                    let (x, y) = (k / self.height.max(1), k % self.height.max(1));
                    out[y * self.width + x] = 1;
                }
            }
            at += run as usize;
        }
        out
    }
}

/// The pixels `i` of `0..n` with `lo <= i < hi` in f32, as `crop_mask` compares them: a range.
fn inside(n: usize, lo: f32, hi: f32) -> std::ops::Range<usize> {
    let start = (0..n).find(|&i| i as f32 >= lo).unwrap_or(n);
    let end = (start..n).find(|&i| (i as f32) >= hi).unwrap_or(n);
    start..end
}

/// `logits > 0` inside the box `[x1, y1, x2, y2)` (`crop_mask`), as RLE, and its polygon on the
/// original image. Only the box's pixels are read: outside it the mask is zero.
fn binarize(logits: &[f32], (h, w): (usize, usize), b: [f32; 4], original: (usize, usize)) -> Mask {
    let (xs, ys) = (inside(w, b[0], b[2]), inside(h, b[1], b[3]));
    let (sw, sh) = (xs.len(), ys.len());
    // The box's window, row-major.
    let mut sub = vec![0u8; sw * sh];
    for (j, y) in ys.clone().enumerate() {
        for (i, x) in xs.clone().enumerate() {
            sub[j * sw + i] = u8::from(logits[y * w + x] > 0.0);
        }
    }
    let (mut counts, mut run, mut on) = (Vec::new(), 0u32, false);
    let mut push = |v: bool, n: u32, run: &mut u32, on: &mut bool| {
        if n == 0 {
            return;
        }
        if v != *on {
            counts.push(*run);
            (*run, *on) = (0, v);
        }
        *run += n;
    };
    for x in 0..w {
        if !xs.contains(&x) {
            push(false, h as u32, &mut run, &mut on);
            continue;
        }
        push(false, ys.start as u32, &mut run, &mut on);
        for j in 0..sh {
            push(sub[j * sw + x - xs.start] == 1, 1, &mut run, &mut on);
        }
        push(false, (h - ys.end) as u32, &mut run, &mut on);
    }
    counts.push(run);
    let mut mask = Mask {
        height: h,
        width: w,
        counts,
        polygon: vec![],
    };
    if mask.area() > 0 {
        let window = super::polygons::Window {
            pixels: &sub,
            size: (sh, sw),
            at: (ys.start, xs.start),
        };
        mask.polygon = super::polygons::polygon(&window, (h, w), original);
    }
    mask
}

/// `scale_masks(masks, shape)`: the letterbox padding cropped off, then bilinear to `shape`.
pub(super) fn scale_masks(masks: &Tensor, (h0, w0): (usize, usize)) -> Result<Tensor> {
    let size = masks.size();
    let (h1, w1) = (size[2], size[3]);
    if (h1, w1) == (h0 as i64, w0 as i64) {
        return Ok(masks.shallow_clone());
    }
    let gain = (h1 as f64 / h0 as f64).min(w1 as f64 / w0 as f64);
    let (nh, nw) = (
        ((h0 as f64 * gain).round_ties_even()).max(1.0),
        ((w0 as f64 * gain).round_ties_even()).max(1.0),
    );
    let (pad_w, pad_h) = ((w1 as f64 - nw) / 2.0, (h1 as f64 - nh) / 2.0);
    let (top, left) = (
        (pad_h - 0.1).round_ties_even() as i64,
        (pad_w - 0.1).round_ties_even() as i64,
    );
    let crop = masks
        .f_narrow(2, top, nh as i64)?
        .f_narrow(3, left, nw as i64)?;
    Ok(crop.f_upsample_bilinear2d([h0 as i64, w0 as i64], false, None, None)?)
}

/// The mask logits of each row at `(h, w)`: `process_mask(…, upsample=True)`'s interpolation,
/// or `process_mask_native`'s.
fn logits(proto: &Tensor, coeffs: &Tensor, shape: (usize, usize), native: bool) -> Result<Tensor> {
    let size = proto.size();
    let (c, mh, mw) = (size[0], size[1], size[2]);
    let m = coeffs.f_matmul(&proto.f_to_kind(Kind::Float)?.f_view([c, -1])?)?;
    if !native {
        let m = m.f_view([-1, mh, mw])?.f_unsqueeze(0)?;
        return Ok(m
            .f_upsample_bilinear2d([shape.0 as i64, shape.1 as i64], false, None, None)?
            .f_squeeze_dim(0)?);
    }
    let (h, w) = (shape.0 as f64, shape.1 as f64);
    let gain = (4.0 * mh as f64 / h).min(4.0 * mw as f64 / w);
    let side = |n: f64, m: i64| 4 * m - ((n * gain).round_ties_even().max(1.0) as i64);
    let pad = side(h, mh) | side(w, mw);
    let f = 4 / gcd(4, pad | pad.div_euclid(2));
    let m = m.f_view([1, -1, mh, mw])?;
    let m = match f > 1 {
        true => m.f_upsample_bilinear2d([mh * f, mw * f], false, Some(f as f64), Some(f as f64))?,
        false => m,
    };
    Ok(scale_masks(&m, shape)?.f_squeeze_dim(0)?)
}

fn gcd(a: i64, b: i64) -> i64 {
    match b {
        0 => a.abs(),
        _ => gcd(b, a.rem_euclid(b)),
    }
}

/// One image's NMS rows (`x1, y1, x2, y2, conf, class, coefficients…`) to detections.
pub fn finish(f: &Frame<'_>, rows: Vec<Vec<f32>>) -> Result<Vec<Detection>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let proto = f
        .proto
        .as_ref()
        .ok_or_else(|| Error::InvalidInput("a segmentation model gave no prototypes".into()))?;
    let nm = proto.size()[0] as usize;
    if rows.iter().any(|r| r.len() != 6 + nm) {
        return Err(Error::InvalidInput(format!(
            "segmentation rows must hold {nm} mask coefficients"
        )));
    }
    let coeffs: Vec<f32> = rows.iter().flat_map(|r| r[6..].to_vec()).collect();
    let coeffs = Tensor::f_from_slice(&coeffs)?.f_view([rows.len() as i64, nm as i64])?;
    let mut boxes: Vec<[f32; 4]> = rows.iter().map(|r| [r[0], r[1], r[2], r[3]]).collect();
    let at_input = boxes.clone();
    scale_boxes(f.input, &mut boxes, f.original);
    let (shape, crop) = match f.retina_masks {
        true => (f.original, &boxes),
        false => (f.input, &at_input),
    };
    let m = logits(proto, &coeffs, shape, f.retina_masks)?.f_contiguous()?;
    let values = Vec::<f32>::try_from(m.f_flatten(0, -1)?)?;
    let plane = shape.0 * shape.1;
    Ok(rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let mask = binarize(
                &values[i * plane..(i + 1) * plane],
                shape,
                crop[i],
                f.original,
            );
            (mask.area() > 0).then(|| f.detection(r, boxes[i], Extra::Mask(mask)))
        })
        .collect())
}
