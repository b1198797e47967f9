//! The per-pixel tasks: `SemanticSegmentationPredictor.postprocess` (logits bilinear to the
//! input, the letterbox cropped off and bilinear to the original — `scale_masks` — then each
//! pixel's best class, `max(0).indices` as on the CPU; one class: logit > 0) and
//! `DepthPredictor.postprocess` (the map bilinear with `align_corners=True` to the stretched
//! input, then to the original). libtorch's own kernels, so upstream's bits.

use tch::{Kind, Tensor};

use super::summary::{Map, Summary};
use super::task::Frame;
use crate::error::{Error, Result};

fn first(outputs: &[Tensor]) -> Result<Tensor> {
    Ok(outputs
        .first()
        .ok_or_else(|| Error::InvalidInput("the model gave no output".into()))?
        .f_to_device(tch::Device::Cpu)?
        .f_to_kind(Kind::Float)?)
}

fn size(t: &Tensor) -> (i64, i64) {
    let s = t.size();
    (s[s.len() - 2], s[s.len() - 1])
}

/// One image's `[1, nc, h, w]` logits to its class map at the original size.
pub fn semantic(f: &Frame<'_>, outputs: &[Tensor]) -> Result<Summary> {
    let mut pred = first(outputs)?;
    if pred.dim() != 4 {
        return Err(Error::InvalidInput(format!(
            "a semantic head gives [1, nc, h, w] logits, got {:?}",
            pred.size()
        )));
    }
    let input = (f.input.0 as i64, f.input.1 as i64);
    if size(&pred) != input {
        pred = pred.f_upsample_bilinear2d([input.0, input.1], false, None, None)?;
    }
    let pred = super::segment::scale_masks(&pred, f.original)?.f_get(0)?;
    let map = match pred.size()[0] > 1 {
        true => pred.f_max_dim(0, false)?.1,
        false => pred.f_gt(0)?.f_squeeze_dim(0)?,
    };
    let (h, w) = size(&map);
    Ok(Summary::Semantic(Map {
        height: h as usize,
        width: w as usize,
        data: Vec::<i32>::try_from(map.f_to_kind(Kind::Int)?.f_flatten(0, -1)?)?,
    }))
}

/// One image's `[1, (1,) h, w]` depth to its map at the original size.
pub fn depth(f: &Frame<'_>, outputs: &[Tensor]) -> Result<Summary> {
    let mut d = first(outputs)?;
    if d.dim() == 3 {
        d = d.f_unsqueeze(1)?;
    }
    if d.dim() != 4 || d.size()[1] != 1 {
        return Err(Error::InvalidInput(format!(
            "a depth head gives [1, 1, h, w] maps, got {:?}",
            d.size()
        )));
    }
    let (ih, iw) = (f.input.0 as i64, f.input.1 as i64);
    let d = d.f_upsample_bilinear2d([ih, iw], true, None, None)?;
    let (h, w) = (f.original.0 as i64, f.original.1 as i64);
    let d = d.f_upsample_bilinear2d([h, w], true, None, None)?;
    Ok(Summary::Depth(Map {
        height: h as usize,
        width: w as usize,
        data: Vec::<f32>::try_from(d.f_flatten(0, -1)?)?,
    }))
}
