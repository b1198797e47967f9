//! `ClassificationPredictor.postprocess`: the model's probabilities (`result.probs.data`) and
//! their best five, `(-probs).argsort(0)[:5]` as `Probs.top5` takes them (libtorch's own sort,
//! so ties fall as upstream's do).

use tch::Tensor;

use super::summary::{Summary, Top};
use super::task::Frame;
use crate::error::{Error, Result};

/// One image's `[1, nc]` probabilities to its summary.
pub fn finish(f: &Frame<'_>, outputs: &[Tensor]) -> Result<Summary> {
    let p = outputs
        .first()
        .ok_or_else(|| Error::InvalidInput("the classifier gave no output".into()))?
        .f_to_device(tch::Device::Cpu)?
        .f_to_kind(tch::Kind::Float)?
        .f_flatten(0, -1)?;
    let order = p.f_neg()?.f_argsort(0, false)?;
    let n = order.size()[0].min(5);
    let best = Vec::<i64>::try_from(order.f_narrow(0, 0, n)?)?;
    let probs = Vec::<f32>::try_from(&p)?;
    let top5 = best
        .into_iter()
        .map(|class| Top {
            class,
            name: f
                .names
                .get(&class)
                .cloned()
                .unwrap_or_else(|| class.to_string()),
            confidence: probs[class as usize],
        })
        .collect();
    Ok(Summary::Probs { probs, top5 })
}
