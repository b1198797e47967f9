//! ultralytics' `LetterBox` (`data/augment.py`, 8.4.190) on 8-bit HWC images, bit for bit: scale
//! to fit `new_shape` keeping the aspect (Python's half-to-even `round`), resize with OpenCV's
//! INTER_LINEAR ([`super::resize`]), and pad with 114 — to the full shape, or (`auto`, what
//! `predict` uses for a PyTorch model) only up to the next multiple of the stride, so each image
//! keeps its own aspect and size.

use super::resize::resize_linear;
use crate::error::{Error, Result};

/// Where the resized image sits in the padded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Letterbox {
    /// Resized width and height (`new_unpad`).
    pub resized: (usize, usize),
    /// Padding above, below, left, right.
    pub top: usize,
    /// Padding below.
    pub bottom: usize,
    /// Padding on the left.
    pub left: usize,
    /// Padding on the right.
    pub right: usize,
}

impl Letterbox {
    /// `LetterBox.get_params` for an `h0 × w0` image, `new_shape = (new_h, new_w)`, scaleup and
    /// centring on, scale_fill off.
    pub fn params(
        h0: usize,
        w0: usize,
        new_h: usize,
        new_w: usize,
        stride: usize,
        auto: bool,
    ) -> Result<Self> {
        if [h0, w0, new_h, new_w, stride].contains(&0) {
            return Err(Error::InvalidInput(format!(
                "cannot letterbox {h0}×{w0} to {new_h}×{new_w} (stride {stride})"
            )));
        }
        let r = (new_h as f64 / h0 as f64).min(new_w as f64 / w0 as f64);
        let unpad_w = ((w0 as f64 * r).round_ties_even() as usize).max(1);
        let unpad_h = ((h0 as f64 * r).round_ties_even() as usize).max(1);
        let (mut dw, mut dh) = (new_w as i64 - unpad_w as i64, new_h as i64 - unpad_h as i64);
        if auto {
            (dw, dh) = (dw.rem_euclid(stride as i64), dh.rem_euclid(stride as i64));
        }
        let (dw, dh) = (dw as f64 / 2.0, dh as f64 / 2.0);
        let side = |v: f64| v.round_ties_even().max(0.0) as usize;
        Ok(Letterbox {
            resized: (unpad_w, unpad_h),
            top: side(dh - 0.1),
            bottom: side(dh + 0.1),
            left: side(dw - 0.1),
            right: side(dw + 0.1),
        })
    }

    /// `LetterBox(scale_fill=True)`: stretched to `new_h × new_w`, no padding.
    pub fn stretch(h0: usize, w0: usize, new_h: usize, new_w: usize) -> Result<Self> {
        if [h0, w0, new_h, new_w].contains(&0) {
            return Err(Error::InvalidInput(format!(
                "cannot stretch {h0}×{w0} to {new_h}×{new_w}"
            )));
        }
        Ok(Letterbox {
            resized: (new_w, new_h),
            top: 0,
            bottom: 0,
            left: 0,
            right: 0,
        })
    }

    /// The padded size, `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        (
            self.resized.0 + self.left + self.right,
            self.resized.1 + self.top + self.bottom,
        )
    }

    /// Apply to an interleaved `h × w × c` u8 image: resize (when the size changes), then pad
    /// with 114. Returns the padded image, [`Letterbox::size`] pixels.
    pub fn apply(&self, src: &[u8], w: usize, h: usize, c: usize) -> Result<Vec<u8>> {
        let (rw, rh) = self.resized;
        let resized = if (w, h) == (rw, rh) {
            if src.len() != w * h * c {
                return Err(Error::InvalidInput(
                    "image buffer has the wrong size".into(),
                ));
            }
            src.to_vec()
        } else {
            resize_linear(src, w, h, c, rw, rh)?
        };
        let (pw, ph) = self.size();
        let mut out = vec![114u8; pw * ph * c];
        for y in 0..rh {
            let from = &resized[y * rw * c..(y + 1) * rw * c];
            let at = ((y + self.top) * pw + self.left) * c;
            out[at..at + rw * c].copy_from_slice(from);
        }
        Ok(out)
    }
}

/// ultralytics' `scale_boxes` then `clip_boxes` (`utils/ops.py`): `x1, y1, x2, y2` boxes on a
/// letterboxed `(h1, w1)` input back onto the `(h0, w0)` original, in place. It recomputes the
/// gain from the two shapes, with separate x and y gains, as upstream does (which can assume a
/// resized size a pixel off the one [`Letterbox`] made; kept, since detections must match).
pub fn scale_boxes(letterboxed: (usize, usize), boxes: &mut [[f32; 4]], original: (usize, usize)) {
    let g = Gains::new(letterboxed, original);
    for b in boxes.iter_mut() {
        [b[0], b[1]] = g.point(b[0], b[1]);
        [b[2], b[3]] = g.point(b[2], b[3]);
    }
}

/// The gains and padding `scale_boxes` and `scale_coords` recompute from the two shapes, in the
/// f32 they are applied in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gains {
    /// x and y gains (resized / original).
    pub gain: [f32; 2],
    /// x and y padding.
    pub pad: [f32; 2],
    /// The original's width and height (the clip).
    pub size: [f32; 2],
}

impl Gains {
    /// From the letterboxed `(h1, w1)` and the original `(h0, w0)`.
    pub fn new(letterboxed: (usize, usize), original: (usize, usize)) -> Gains {
        let ((h1, w1), (h0, w0)) = (letterboxed, original);
        let gain = (h1 as f64 / h0 as f64).min(w1 as f64 / w0 as f64);
        let new_h = ((h0 as f64 * gain).round_ties_even()).max(1.0);
        let new_w = ((w0 as f64 * gain).round_ties_even()).max(1.0);
        Gains {
            gain: [(new_w / w0 as f64) as f32, (new_h / h0 as f64) as f32],
            pad: [
                ((w1 as f64 - new_w) / 2.0 - 0.1).round_ties_even() as f32,
                ((h1 as f64 - new_h) / 2.0 - 0.1).round_ties_even() as f32,
            ],
            size: [w0 as f32, h0 as f32],
        }
    }

    /// A point back onto the original, clipped to it (`scale_coords` / `scale_boxes` +
    /// `clip_boxes`).
    pub fn point(&self, x: f32, y: f32) -> [f32; 2] {
        [
            ((x - self.pad[0]) / self.gain[0]).clamp(0.0, self.size[0]),
            ((y - self.pad[1]) / self.gain[1]).clamp(0.0, self.size[1]),
        ]
    }

    /// A centre-size box back onto the original, unclipped (`scale_boxes(…, xywh=True)`).
    pub fn xywh(&self, b: [f32; 4]) -> [f32; 4] {
        [
            (b[0] - self.pad[0]) / self.gain[0],
            (b[1] - self.pad[1]) / self.gain[1],
            b[2] / self.gain[0],
            b[3] / self.gain[1],
        ]
    }
}
