//! The arithmetic of ultralytics' Detect head (`nn/modules/head.py`, `utils/tal.py`, 8.4.190),
//! op for op: anchors, distance-to-box decoding, and the end-to-end head's top-k selection.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// `make_anchors(feats, strides, 0.5)`, transposed as Detect keeps them: anchor points
/// `[2, A]` (cell centres, grid units, row-major per level) and strides `[1, A]`.
pub fn make_anchors(feats: &[&Tensor], strides: &[f64]) -> Result<(Tensor, Tensor)> {
    let first = feats
        .first()
        .ok_or_else(|| Error::InvalidInput("Detect got no feature maps".into()))?;
    let (kind, device) = (first.kind(), first.device());
    let (mut points, mut stride_tensor) = (Vec::new(), Vec::new());
    for (f, &stride) in feats.iter().zip(strides) {
        let size = f.size();
        let &[_, _, h, w] = size.as_slice() else {
            return Err(Error::InvalidInput(format!(
                "Detect input must be NCHW, got {size:?}"
            )));
        };
        let sx = Tensor::f_arange(w, (Kind::Int64, device))?
            .f_to_kind(kind)?
            .f_add_scalar(0.5)?;
        let sy = Tensor::f_arange(h, (Kind::Int64, device))?
            .f_to_kind(kind)?
            .f_add_scalar(0.5)?;
        let grid = Tensor::f_meshgrid_indexing(&[sy, sx], "ij")?;
        let [gy, gx] = grid.as_slice() else {
            return Err(Error::InvalidInput("meshgrid gave no pair".into()));
        };
        points.push(Tensor::f_stack(&[gx, gy], -1)?.f_view([-1, 2])?);
        stride_tensor.push(Tensor::f_full([h * w, 1], stride, (kind, device))?);
    }
    Ok((
        Tensor::f_cat(&points, 0)?.f_transpose(0, 1)?,
        Tensor::f_cat(&stride_tensor, 0)?.f_transpose(0, 1)?,
    ))
}

/// `dist2bbox(distance, anchors, xywh, dim=1)`: left-top and right-bottom distances to centre
/// and size (`xywh`) or corners.
///
/// # Shapes
/// `[B, 4, A]`, `[1, 2, A]` → `[B, 4, A]`.
pub fn dist2bbox(distance: &Tensor, anchors: &Tensor, xywh: bool) -> Result<Tensor> {
    let halves = distance.f_chunk(2, 1)?;
    let [lt, rb] = halves.as_slice() else {
        return Err(Error::InvalidInput(
            "box distances do not split in two".into(),
        ));
    };
    let x1y1 = anchors.f_sub(lt)?;
    let x2y2 = anchors.f_add(rb)?;
    if xywh {
        let c_xy = x1y1.f_add(&x2y2)?.f_div_scalar(2i64)?;
        let wh = x2y2.f_sub(&x1y1)?;
        return Ok(Tensor::f_cat(&[c_xy, wh], 1)?);
    }
    Ok(Tensor::f_cat(&[x1y1, x2y2], 1)?)
}

/// `Detect._gather`: rows `idx` of each batch item along dimension 1.
fn gather(x: &Tensor, idx: &Tensor) -> Result<Tensor> {
    if x.dim() == 2 {
        return Ok(x.f_gather(1, idx, false)?);
    }
    let last = *x.size().last().unwrap_or(&1);
    Ok(x.f_gather(
        1,
        &idx.f_unsqueeze(-1)?.f_expand([-1, -1, last], false)?,
        false,
    )?)
}

/// `Detect.postprocess` (end-to-end heads): the `max_det` best (anchor, class) pairs as
/// `x1, y1, x2, y2, score, class`, sorted by score, then the anchor's task channels (mask
/// coefficients, keypoints, angle) when `preds` has any after the classes.
///
/// # Shapes
/// `[B, A, 4 + nc + e]` → `[B, min(max_det, A), 6 + e]`.
pub fn topk(preds: &Tensor, nc: i64, max_det: i64, agnostic: bool) -> Result<Tensor> {
    let width = preds.size().last().copied().unwrap_or(0);
    let extra = width - 4 - nc;
    let sizes: Vec<i64> = [4, nc, extra].into_iter().filter(|&s| s > 0).collect();
    let parts = preds.f_split_with_sizes(sizes, -1)?;
    let (boxes, scores, rest) = match parts.as_slice() {
        [b, s] if extra == 0 => (b, s, None),
        [b, s, e] => (b, s, Some(e)),
        _ => {
            return Err(Error::InvalidInput(
                "predictions do not split into boxes and scores".into(),
            ))
        }
    };
    let anchors = preds.size().get(1).copied().unwrap_or(0);
    let k = max_det.min(anchors);
    let (scores, labels, index) = if agnostic {
        let (best, labels) = scores.f_max_dim(-1, false)?;
        let (s, index) = best.f_topk(k, 1, true, true)?;
        let labels = gather(&labels.f_unsqueeze(-1)?.f_to_kind(Kind::Float)?, &index)?;
        (s.f_unsqueeze(-1)?, labels, index)
    } else {
        let (best, _) = scores.f_max_dim(-1, false)?;
        let ori_index = best.f_topk(k, 1, true, true)?.1;
        let picked = gather(scores, &ori_index)?;
        let (s, index) = picked.f_flatten(1, -1)?.f_topk(k, 1, true, true)?;
        let labels = index
            .f_remainder(nc)?
            .f_unsqueeze(-1)?
            .f_to_kind(Kind::Float)?;
        let anchor = gather(&ori_index, &index.f_div_scalar_mode(nc, "floor")?)?;
        (s.f_unsqueeze(-1)?, labels, anchor)
    };
    let mut out = vec![gather(boxes, &index)?, scores, labels];
    if let Some(e) = rest {
        out.push(gather(e, &index)?);
    }
    Ok(Tensor::f_cat(&out, -1)?)
}

/// `dist2rbox(distance, angle, anchors, dim=1)` (`utils/tal.py`): distances and an angle to a
/// rotated box's centre and size.
///
/// # Shapes
/// `[B, 4, A]`, `[B, 1, A]`, `[1, 2, A]` → `[B, 4, A]`.
pub fn dist2rbox(distance: &Tensor, angle: &Tensor, anchors: &Tensor) -> Result<Tensor> {
    let halves = distance.f_split(2, 1)?;
    let [lt, rb] = halves.as_slice() else {
        return Err(Error::InvalidInput(
            "box distances do not split in two".into(),
        ));
    };
    let (cos, sin) = (angle.f_cos()?, angle.f_sin()?);
    let half = rb.f_sub(lt)?.f_div_scalar(2i64)?;
    let xy = half.f_split(1, 1)?;
    let [xf, yf] = xy.as_slice() else {
        return Err(Error::InvalidInput(
            "box offsets do not split in two".into(),
        ));
    };
    let x = xf.f_mul(&cos)?.f_sub(&yf.f_mul(&sin)?)?;
    let y = xf.f_mul(&sin)?.f_add(&yf.f_mul(&cos)?)?;
    let centre = Tensor::f_cat(&[x, y], 1)?.f_add(anchors)?;
    Ok(Tensor::f_cat(&[centre, lt.f_add(rb)?], 1)?)
}

/// The per-level outputs of one branch (`cv2`, `cv4`, …) viewed as `[B, width, HᵢWᵢ]` and
/// concatenated over the levels, as every head's `forward_head` does.
///
/// # Shapes
/// `[B, chᵢ, Hᵢ, Wᵢ]`… → `[B, width, ΣHᵢWᵢ]`.
pub fn levels(
    branch: &[Box<dyn crate::modules::Module>],
    xs: &[&Tensor],
    width: i64,
) -> Result<Tensor> {
    let bs = xs
        .first()
        .and_then(|x| x.size().first().copied())
        .unwrap_or(0);
    let parts = branch
        .iter()
        .zip(xs)
        .map(|(m, x)| Ok(m.forward_t(x, false)?.f_view([bs, width, -1])?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::f_cat(&parts, -1)?)
}
