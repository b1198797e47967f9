//! Rotated boxes as ultralytics' OBB predictor handles them (`utils/nms.py`, `utils/metrics.py`,
//! `utils/ops.py`, 8.4.190), op for op in libtorch so that the bits are upstream's:
//! `TorchNMS.fast_nms` with `batch_probiou` (the probabilistic IoU of two Gaussian boxes), and
//! a box's corners (`xywhr2xyxyxyxy`) for its axis-aligned hull (`OBB.xyxy`).

use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// `_get_covariance_matrix(boxes)`: each box's Gaussian `(a, b, c)`, each `[N, 1]`.
fn covariance(boxes: &Tensor) -> Result<[Tensor; 3]> {
    let wh = boxes
        .f_narrow(1, 2, 2)?
        .f_pow_tensor_scalar(2)?
        .f_div_scalar(12)?
        .f_add_scalar(0.0)?;
    let gbbs = Tensor::f_cat(&[wh, boxes.f_narrow(1, 4, 1)?], -1)?;
    let (a, b, c) = (
        gbbs.f_narrow(1, 0, 1)?,
        gbbs.f_narrow(1, 1, 1)?,
        gbbs.f_narrow(1, 2, 1)?,
    );
    let (cos, sin) = (c.f_cos()?, c.f_sin()?);
    let (cos2, sin2) = (cos.f_pow_tensor_scalar(2)?, sin.f_pow_tensor_scalar(2)?);
    Ok([
        a.f_mul(&cos2)?.f_add(&b.f_mul(&sin2)?)?,
        a.f_mul(&sin2)?.f_add(&b.f_mul(&cos2)?)?,
        a.f_sub(&b)?.f_mul(&cos)?.f_mul(&sin)?,
    ])
}

/// `batch_probiou(boxes, boxes)`: `[N, 5]` `xywhr` → `[N, N]` similarities.
pub fn batch_probiou(boxes: &Tensor) -> Result<Tensor> {
    const EPS: f64 = 1e-7;
    let row = |t: &Tensor| -> Result<Tensor> { Ok(t.f_squeeze_dim(-1)?.f_unsqueeze(0)?) };
    let (x1, y1) = (boxes.f_narrow(1, 0, 1)?, boxes.f_narrow(1, 1, 1)?);
    let (x2, y2) = (row(&x1)?, row(&y1)?);
    let [a1, b1, c1] = covariance(boxes)?;
    let (a2, b2, c2) = (row(&a1)?, row(&b1)?, row(&c1)?);
    let (aa, bb, cc) = (a1.f_add(&a2)?, b1.f_add(&b2)?, c1.f_add(&c2)?);
    let det = aa.f_mul(&bb)?.f_sub(&cc.f_pow_tensor_scalar(2)?)?;
    let dy2 = y1.f_sub(&y2)?.f_pow_tensor_scalar(2)?;
    let dx2 = x1.f_sub(&x2)?.f_pow_tensor_scalar(2)?;
    let t1 = aa
        .f_mul(&dy2)?
        .f_add(&bb.f_mul(&dx2)?)?
        .f_div(&det.f_add_scalar(EPS)?)?
        .f_mul_scalar(0.25)?;
    let t2 = cc
        .f_mul(&x2.f_sub(&x1)?)?
        .f_mul(&y1.f_sub(&y2)?)?
        .f_div(&det.f_add_scalar(EPS)?)?
        .f_mul_scalar(0.5)?;
    let own = |a: &Tensor, b: &Tensor, c: &Tensor| -> Result<Tensor> {
        Ok(a.f_mul(b)?
            .f_sub(&c.f_pow_tensor_scalar(2)?)?
            .f_clamp_min(0)?)
    };
    let root = own(&a1, &b1, &c1)?.f_mul(&own(&a2, &b2, &c2)?)?.f_sqrt()?;
    let t3 = det
        .f_div(&root.f_mul_scalar(4)?.f_add_scalar(EPS)?)?
        .f_add_scalar(EPS)?
        .f_log()?
        .f_mul_scalar(0.5)?;
    let bd = t1.f_add(&t2)?.f_add(&t3)?.f_clamp(EPS, 100.0)?;
    let hd = bd
        .f_neg()?
        .f_exp()?
        .f_neg()?
        .f_add_scalar(1.0)?
        .f_add_scalar(EPS)?
        .f_sqrt()?;
    Ok(hd.f_neg()?.f_add_scalar(1i64)?)
}

/// The rows NMS keeps, best first: `non_max_suppression(…, rotated=True)` on candidate rows
/// `x, y, w, h, conf, class, …, angle` — boxes offset by `class · max_wh` (`offset`), sorted by
/// score with torch's own `argsort`, then `fast_nms` (upper triangle of `batch_probiou`, a box
/// kept when no better box passes `iou`).
pub fn fast_nms(rows: &[Vec<f32>], iou: f64, offset: i64) -> Result<Vec<usize>> {
    let (n, cols) = (rows.len(), rows.first().map_or(0, Vec::len));
    if n == 0 {
        return Ok(Vec::new());
    }
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let x = Tensor::f_from_slice(&flat)?.f_view([n as i64, cols as i64])?;
    let c = x.f_narrow(1, 5, 1)?.f_mul_scalar(offset)?;
    let boxes = Tensor::f_cat(
        &[
            x.f_narrow(1, 0, 2)?.f_add(&c)?,
            x.f_narrow(1, 2, 2)?,
            x.f_narrow(1, cols as i64 - 1, 1)?,
        ],
        -1,
    )?;
    let sorted = x.f_select(1, 4)?.f_argsort(0, true)?;
    let ious = batch_probiou(&boxes.f_index_select(0, &sorted)?)?.f_triu(1)?;
    let pick = ious
        .f_gt(iou)?
        .f_sum_dim_intlist(0, false, None::<Kind>)?
        .f_le(0)?
        .f_nonzero()?
        .f_squeeze_dim(-1)?;
    let keep = Vec::<i64>::try_from(sorted.f_index_select(0, &pick)?)?;
    Ok(keep.into_iter().map(|i| i as usize).collect())
}

/// `OBB.xyxy`: the axis-aligned hull of each `xywhr` box, through its corners as
/// `xywhr2xyxyxyxy` computes them.
pub fn hulls(boxes: &[[f32; 5]]) -> Result<Vec<[f32; 4]>> {
    if boxes.is_empty() {
        return Ok(Vec::new());
    }
    let flat: Vec<f32> = boxes.iter().flatten().copied().collect();
    let x = Tensor::f_from_slice(&flat)?.f_view([boxes.len() as i64, 5])?;
    let ctr = x.f_narrow(1, 0, 2)?;
    let (w, h, angle) = (
        x.f_narrow(1, 2, 1)?,
        x.f_narrow(1, 3, 1)?,
        x.f_narrow(1, 4, 1)?,
    );
    let (cos, sin) = (angle.f_cos()?, angle.f_sin()?);
    let half_w = w.f_div_scalar(2)?;
    let vec1 = Tensor::f_cat(&[half_w.f_mul(&cos)?, half_w.f_mul(&sin)?], -1)?;
    let neg_half_h = h.f_neg()?.f_div_scalar(2)?;
    let vec2 = Tensor::f_cat(
        &[neg_half_h.f_mul(&sin)?, h.f_div_scalar(2)?.f_mul(&cos)?],
        -1,
    )?;
    let pts = Tensor::f_stack(
        &[
            ctr.f_add(&vec1)?.f_add(&vec2)?,
            ctr.f_add(&vec1)?.f_sub(&vec2)?,
            ctr.f_sub(&vec1)?.f_sub(&vec2)?,
            ctr.f_sub(&vec1)?.f_add(&vec2)?,
        ],
        -2,
    )?;
    let (px, py) = (pts.f_select(2, 0)?, pts.f_select(2, 1)?);
    let hull = Tensor::f_stack(
        &[
            px.f_amin(1, false)?,
            py.f_amin(1, false)?,
            px.f_amax(1, false)?,
            py.f_amax(1, false)?,
        ],
        -1,
    )?
    .f_to_device(Device::Cpu)?
    .f_contiguous()?;
    let v = Vec::<f32>::try_from(hull.f_flatten(0, -1)?)?;
    Ok(v.chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect())
}
