//! A classification checkpoint's preprocessing: the torchvision transforms its trainer pickled
//! (`model.transforms`, a `Compose` of `Resize`, `CenterCrop`, `ToTensor`, `Normalize`), which
//! ultralytics' `ClassificationPredictor` applies to a PIL image, or ultralytics'
//! `classify_transforms(imgsz)` when the checkpoint has none or was trained at another size.
//! The PIL stages are Pillow's own arithmetic ([`super::pil`]); `ToTensor` is `float / 255` and
//! `Normalize` `(x − mean) / std` in libtorch, as torchvision computes them.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::pil::{self, Filter};
use super::Rgb8;
use crate::error::{Error, Result};

/// A size as torchvision takes it: one number (`Resize`: the shorter side) or a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Size {
    /// An `int`.
    One(usize),
    /// A list or tuple (`[n]` or `[h, w]`).
    Seq(Vec<usize>),
}

impl Size {
    /// `(h, w)` as the classifier's predictor compares it with `imgsz` (`(s, s)` for an int;
    /// a one-element sequence stays one element, so it never matches).
    fn pair(&self) -> Option<(usize, usize)> {
        match self {
            Size::One(n) => Some((*n, *n)),
            Size::Seq(v) => match v[..] {
                [h, w] => Some((h, w)),
                _ => None,
            },
        }
    }
}

/// One transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// `T.Resize(size, interpolation, max_size)` on a PIL image (always antialiased).
    Resize {
        /// The target: the shorter side, or `[h, w]`.
        size: Size,
        /// Pillow's filter.
        interpolation: Filter,
        /// The longer side's cap (a shorter-side size only).
        #[serde(default)]
        max_size: Option<usize>,
    },
    /// `T.CenterCrop(size)`.
    CenterCrop {
        /// `[h, w]` (or one number for both).
        size: Size,
    },
    /// `T.ToTensor()`: `[3, H, W]`, `float / 255`.
    ToTensor,
    /// `T.Normalize(mean, std)` per channel (one value or three).
    Normalize {
        /// Means.
        mean: Vec<f32>,
        /// Standard deviations (none zero).
        std: Vec<f32>,
    },
}

/// The transforms, checked: PIL stages, then one `ToTensor`, then normalisations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transforms {
    /// In order.
    pub steps: Vec<Step>,
}

impl Transforms {
    /// Checked transforms.
    pub fn new(steps: Vec<Step>) -> Result<Transforms> {
        let bad = |why: String| Err(Error::Config(format!("classify transforms: {why}")));
        let at = steps.iter().position(|s| matches!(s, Step::ToTensor));
        let Some(at) = at else {
            return bad("no ToTensor (the predictor needs a tensor)".into());
        };
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Resize { size, max_size, .. } => {
                    let ok = match size {
                        Size::One(n) => *n > 0 && max_size.is_none_or(|m| m > *n),
                        Size::Seq(v) => {
                            matches!(v.len(), 1 | 2)
                                && v.iter().all(|&n| n > 0)
                                && (max_size.is_none() || v.len() == 1)
                        }
                    };
                    if !ok || i > at {
                        return bad(format!(
                            "Resize {size:?} (max_size {max_size:?}) at step {i}"
                        ));
                    }
                }
                Step::CenterCrop { size } => {
                    if crop_size(size).is_none() || i > at {
                        return bad(format!("CenterCrop {size:?} at step {i}"));
                    }
                }
                Step::ToTensor if i != at => return bad("two ToTensor steps".into()),
                Step::ToTensor => {}
                Step::Normalize { mean, std } => {
                    let n = |v: &Vec<f32>| matches!(v.len(), 1 | 3);
                    if i < at || !n(mean) || !n(std) || std.contains(&0.0) {
                        return bad(format!("Normalize mean {mean:?} std {std:?} at step {i}"));
                    }
                }
            }
        }
        Ok(Transforms { steps })
    }

    /// ultralytics' `classify_transforms(imgsz)` (8.4.190): a square size resizes the shorter
    /// side, another resizes to `(h, w)`; bilinear; centre crop; `ToTensor`; mean 0, std 1.
    pub fn classify(h: usize, w: usize) -> Result<Transforms> {
        let size = match h == w {
            true => Size::One(h),
            false => Size::Seq(vec![h, w]),
        };
        Transforms::new(vec![
            Step::Resize {
                size,
                interpolation: Filter::Bilinear,
                max_size: None,
            },
            Step::CenterCrop {
                size: Size::Seq(vec![h, w]),
            },
            Step::ToTensor,
            Step::Normalize {
                mean: vec![0.0; 3],
                std: vec![1.0; 3],
            },
        ])
    }

    /// What `ClassificationPredictor.setup_source` uses at `imgsz = (h, w)`: the pickled
    /// transforms when the first one's `size` (an int as `(s, s)`) is `imgsz` (or it has none),
    /// else `classify_transforms(imgsz)`.
    pub fn for_predict(pickled: Option<&Transforms>, h: usize, w: usize) -> Result<Transforms> {
        let first = |t: &Transforms| match t.steps.first() {
            Some(Step::Resize { size, .. } | Step::CenterCrop { size }) => size.pair(),
            _ => Some((h, w)),
        };
        match pickled {
            Some(t) if first(t) == Some((h, w)) => Ok(t.clone()),
            _ => Transforms::classify(h, w),
        }
    }

    /// The `(h, w)` an `h0 × w0` image comes out at.
    pub fn output_size(&self, h0: usize, w0: usize) -> (usize, usize) {
        self.steps.iter().fold((h0, w0), |(h, w), s| match s {
            Step::Resize { size, max_size, .. } => resized(h, w, size, *max_size),
            Step::CenterCrop { size } => crop_size(size).unwrap_or((h, w)),
            _ => (h, w),
        })
    }

    /// The model's input for one image.
    ///
    /// # Shapes
    /// `h0 × w0` RGB → `[3, H, W]` f32.
    pub fn apply(&self, img: &Rgb8) -> Result<Tensor> {
        let mut pic = img.clone();
        let mut x: Option<Tensor> = None;
        for s in &self.steps {
            match s {
                Step::Resize {
                    size,
                    interpolation,
                    max_size,
                } => {
                    let (h, w) = resized(pic.height, pic.width, size, *max_size);
                    if (h, w) != (pic.height, pic.width) {
                        pic = pil::resize(&pic, w, h, *interpolation)?;
                    }
                }
                Step::CenterCrop { size } => {
                    let (h, w) = crop_size(size).unwrap_or((pic.height, pic.width));
                    pic = pil::center_crop(&pic, h, w)?;
                }
                Step::ToTensor => {
                    let (h, w) = (pic.height as i64, pic.width as i64);
                    x = Some(
                        Tensor::f_from_slice(&pic.data)?
                            .f_view([h, w, 3])?
                            .f_permute([2, 0, 1])?
                            .f_contiguous()?
                            .f_to_kind(Kind::Float)?
                            .f_div_scalar(255)?,
                    );
                }
                Step::Normalize { mean, std } => {
                    let t = x
                        .take()
                        .ok_or_else(|| Error::Config("Normalize before ToTensor".into()))?;
                    let col = |v: &[f32]| Tensor::f_from_slice(v)?.f_view([-1, 1, 1]);
                    x = Some(t.f_sub(&col(mean)?)?.f_div(&col(std)?)?);
                }
            }
        }
        x.ok_or_else(|| Error::Config("classify transforms without ToTensor".into()))
    }
}

/// `_compute_resized_output_size`: the shorter side to `size` (the longer `int(s · long /
/// short)`, capped by `max_size`), or `[h, w]` exactly.
fn resized(h: usize, w: usize, size: &Size, max_size: Option<usize>) -> (usize, usize) {
    let s = match size {
        Size::One(n) => *n,
        Size::Seq(v) => match v[..] {
            [n] => n,
            [nh, nw] => return (nh, nw),
            _ => return (h, w),
        },
    };
    if short_side_is_zero(h, w) {
        return (h, w);
    }
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    let (mut new_short, mut new_long) = (s, ((s * long) as f64 / short as f64) as usize);
    if let Some(m) = max_size.filter(|&m| new_long > m) {
        (new_short, new_long) = (((m * new_short) as f64 / new_long as f64) as usize, m);
    }
    match w <= h {
        true => (new_long, new_short),
        false => (new_short, new_long),
    }
}

fn short_side_is_zero(h: usize, w: usize) -> bool {
    h.min(w) == 0
}

fn crop_size(size: &Size) -> Option<(usize, usize)> {
    let (h, w) = match size {
        Size::One(n) => (*n, *n),
        Size::Seq(v) if v.len() == 1 => (v[0], v[0]),
        Size::Seq(v) if v.len() == 2 => (v[0], v[1]),
        Size::Seq(_) => return None,
    };
    (h > 0 && w > 0).then_some((h, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_resize_as_torchvision() {
        assert_eq!(resized(1080, 810, &Size::One(224), None), (298, 224));
        assert_eq!(resized(300, 2000, &Size::One(96), None), (96, 640));
        assert_eq!(resized(300, 2000, &Size::One(96), Some(500)), (75, 500));
        assert_eq!(resized(5, 7, &Size::Seq(vec![3, 4]), None), (3, 4));
    }

    #[test]
    fn pickled_transforms_are_used_only_at_their_size() {
        let t = Transforms::classify(96, 96).unwrap();
        assert_eq!(Transforms::for_predict(Some(&t), 96, 96).unwrap(), t);
        let other = Transforms::for_predict(Some(&t), 128, 128).unwrap();
        assert_eq!(other, Transforms::classify(128, 128).unwrap());
        assert!(Transforms::new(vec![Step::Normalize {
            mean: vec![0.0],
            std: vec![1.0]
        }])
        .is_err());
    }
}
