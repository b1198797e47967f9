//! Spatial pyramid pooling: the bin rules and `spatial_pyramid_pool` (yueruchen's `spp_layer.py`).
//!
//! A pyramid level `n` max-pools a feature map into `n × n` bins. How the bins are laid out is
//! the [`Rule`]: the window, stride and padding along each axis are computed independently from
//! that axis's length (docs/FACTS.md §4).

use std::fmt;
use std::str::FromStr;

use tch::Tensor;

use super::bin_max::LevelBins;
use crate::error::{Error, Result};
use crate::tensor::{check_nchw, maxima_are_unique};

/// How a pyramid level's `n` bins are laid over an axis of length `a`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// yueruchen/sppnet-pytorch: window `k = ceil(a/n)`, stride `k`,
    /// padding `floor((k·n − a + 1) / 2)` (integer division: the only reading of upstream's
    /// `/2` that runs). PyTorch refuses padding above `k / 2`, so some sizes fail.
    #[default]
    Yueruchen,
    /// `adaptive_max_pool2d(n)`: bin `i` covers `[floor(i·a/n), ceil((i+1)·a/n))`. Always `n` bins.
    Adaptive,
    /// He et al. 2014: window `ceil(a/n)`, stride `floor(a/n)`, no padding. Can give ≠ n bins.
    Paper,
}

impl Rule {
    /// All rules, in a fixed order.
    pub const ALL: [Rule; 3] = [Rule::Yueruchen, Rule::Adaptive, Rule::Paper];

    /// The lower-case name used on the command line and in checkpoint metadata.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Yueruchen => "yueruchen",
            Rule::Adaptive => "adaptive",
            Rule::Paper => "paper",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Rule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::Config(format!("unknown rule `{s}` (yueruchen, adaptive, paper)"))
            })
    }
}

/// A max-pool window along one axis, as passed to `max_pool2d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisWindow {
    /// Window length.
    pub kernel: i64,
    /// Step between windows.
    pub stride: i64,
    /// Implicit −inf padding on each side.
    pub padding: i64,
}

/// How one level is pooled: a fixed window per axis, or adaptive pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelPlan {
    /// `max_pool2d` with these windows (height, width).
    Window {
        /// Window along the height.
        h: AxisWindow,
        /// Window along the width.
        w: AxisWindow,
    },
    /// `adaptive_max_pool2d([n, n])`.
    Adaptive,
}

/// Output length of PyTorch's `max_pool2d` along one axis (`pooling_output_shape`, floor mode),
/// or why PyTorch refuses the window.
fn torch_pool_len(a: i64, w: AxisWindow) -> std::result::Result<i64, String> {
    if w.stride <= 0 {
        return Err(format!("stride would be {} (PyTorch needs > 0)", w.stride));
    }
    if w.padding > w.kernel / 2 {
        return Err(format!(
            "padding {} exceeds half the window {} (PyTorch refuses it)",
            w.padding, w.kernel
        ));
    }
    // In i128: no side, however large, overflows.
    let span = i128::from(a) + 2 * i128::from(w.padding) - i128::from(w.kernel);
    let out = span.div_euclid(i128::from(w.stride)) + 1;
    if out < 1 {
        return Err(format!("the pool would have output length {out}"));
    }
    Ok(i64::try_from(out).unwrap_or(i64::MAX))
}

/// The window `rule` gives level `n` on an axis of length `a`, or why it cannot pool it.
///
/// `Ok(None)` means adaptive pooling. An error is returned where PyTorch would refuse the
/// window, and where the window would not give exactly `n` bins.
pub fn axis_window(rule: Rule, a: i64, n: i64) -> std::result::Result<Option<AxisWindow>, String> {
    if n < 1 {
        return Err(format!("level {n} is not a positive bin count"));
    }
    if a < 1 {
        return Err(format!("the axis has length {a}"));
    }
    // ceil(a/n), and k·n − a = (n − a mod n) mod n, written so that nothing overflows.
    let k = (a - 1) / n + 1;
    let window = match rule {
        Rule::Adaptive => return Ok(None),
        Rule::Yueruchen => AxisWindow {
            kernel: k,
            stride: k,
            padding: ((n - a % n) % n + 1) / 2,
        },
        Rule::Paper => AxisWindow {
            kernel: k,
            stride: a / n,
            padding: 0,
        },
    };
    let bins = torch_pool_len(a, window)?;
    if bins != n {
        return Err(format!(
            "window {k} stride {} gives {bins} bins, not {n}",
            window.stride
        ));
    }
    Ok(Some(window))
}

/// Whether `rule` can pool every level in `levels` from an axis of length `side`.
pub fn accepts(rule: Rule, levels: &[i64], side: i64) -> bool {
    levels.iter().all(|&n| axis_window(rule, side, n).is_ok())
}

/// The axis lengths in `sides` that `rule` accepts for every level in `levels`.
///
/// A map of height `h` and width `w` is accepted exactly when both `h` and `w` are.
pub fn accepted_sides(
    rule: Rule,
    levels: &[i64],
    sides: impl IntoIterator<Item = i64>,
) -> Vec<i64> {
    sides
        .into_iter()
        .filter(|&s| accepts(rule, levels, s))
        .collect()
}

/// The nearest accepted axis lengths below and above `side` (either may not exist below).
pub fn nearest_accepted(rule: Rule, levels: &[i64], side: i64) -> (Option<i64>, Option<i64>) {
    let below = (1..side).rev().find(|&s| accepts(rule, levels, s));
    // Beyond max(n)² every rule accepts every level (window ≥ n ≥ twice the padding), so the
    // search upward always ends.
    let top = levels.iter().copied().max().unwrap_or(1).max(1);
    let limit = side.saturating_add(top.saturating_mul(top).saturating_add(top + 1));
    let above = (side + 1..=limit).find(|&s| accepts(rule, levels, s));
    (below, above)
}

/// Plan every level for an `h × w` map, or explain the first level that does not fit.
pub fn plan_levels(rule: Rule, levels: &[i64], h: i64, w: i64) -> Result<Vec<LevelPlan>> {
    if levels.is_empty() {
        return Err(Error::Config("the pyramid has no levels".into()));
    }
    levels
        .iter()
        .map(|&n| {
            let hw = axis_window(rule, h, n)
                .map_err(|why| misfit(rule, levels, n, h, w, "height", h, why))?;
            let ww = axis_window(rule, w, n)
                .map_err(|why| misfit(rule, levels, n, h, w, "width", w, why))?;
            Ok(match (hw, ww) {
                (Some(h), Some(w)) => LevelPlan::Window { h, w },
                _ => LevelPlan::Adaptive,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn misfit(
    rule: Rule,
    levels: &[i64],
    n: i64,
    h: i64,
    w: i64,
    axis: &str,
    side: i64,
    why: String,
) -> Error {
    if n < 1 {
        return Error::Config(format!("pyramid levels must be ≥ 1, got {levels:?}"));
    }
    let (below, above) = nearest_accepted(rule, levels, side);
    let near: Vec<String> = below
        .into_iter()
        .chain(above)
        .map(|s| s.to_string())
        .collect();
    let hint = if rule == Rule::Adaptive {
        String::new()
    } else {
        "; or use the adaptive rule, which pools any size".to_string()
    };
    Error::LevelDoesNotFit(format!(
        "level {n} cannot pool a {h}×{w} map under the {rule} rule: along the {axis} ({side}) {why}; \
         nearest {axis}s this rule accepts for levels {levels:?}: {}{hint}",
        if near.is_empty() { "none".to_string() } else { near.join(", ") }
    ))
}

/// Length of the pooled vector for `channels` channels: `C · Σ n²`.
/// Saturates at `i64::MAX` rather than overflowing.
pub fn output_len(levels: &[i64], channels: i64) -> i64 {
    let bins = levels
        .iter()
        .map(|n| n.saturating_mul(*n))
        .fold(0i64, i64::saturating_add);
    channels.saturating_mul(bins)
}

/// Spatial pyramid pooling of an NCHW map into one fixed-length row per sample.
///
/// Levels are pooled in the order given; each level's `[N, C, n, n]` result is flattened like
/// torch's `view(N, -1)` (channel-major) and the levels are concatenated. Unlike upstream, whose
/// `num_sample` is hard-coded to 1, every sample gets its own row. NaN and ±inf propagate exactly
/// as in PyTorch's max pooling. Works on any device and float dtype, and on non-contiguous input.
///
/// Where the levels' bins nest (e.g. [4, 2, 1] on a side divisible by 4), coarser levels are
/// pooled from the finest level's output rather than from the map again; the result is bitwise
/// what pooling each level directly gives (it falls back to that on ±0 ties and NaN).
///
/// # Shapes
/// `x: [N, C, H, W]` → `[N, C · Σ n²]`.
///
/// # Errors
/// A non-NCHW, empty or integer tensor; an empty or non-positive level list; a level that
/// `rule` cannot pool from `H × W` (the error names the level, the map size and the nearest
/// sizes the rule accepts).
pub fn spatial_pyramid_pool(x: &Tensor, levels: &[i64], rule: Rule) -> Result<Tensor> {
    let s = check_nchw(x, "the SPP input")?;
    let plans = plan_levels(rule, levels, s.h, s.w)?;
    pool_planned(x, levels, &plans)
}

/// [`spatial_pyramid_pool`] with the levels already planned by [`plan_levels`] for `x`'s
/// height and width (callers that checked their input once, such as `SppNet`).
///
/// # Shapes
/// `x: [N, C, H, W]` → `[N, C · Σ n²]`.
pub fn pool_planned(x: &Tensor, levels: &[i64], plans: &[LevelPlan]) -> Result<Tensor> {
    let size = x.size();
    let &[n, _, h, w] = size.as_slice() else {
        return Err(Error::InvalidInput(format!(
            "the SPP input must be NCHW, got shape {size:?}"
        )));
    };
    if plans.len() != levels.len() {
        return Err(Error::Config(format!(
            "{} level plans for {} levels",
            plans.len(),
            levels.len()
        )));
    }
    // The native kernel where it covers the input (CPU f32 NCHW, no NaN or −0): every level
    // in one pass per plane.
    let bins: Vec<LevelBins> = plans
        .iter()
        .zip(levels)
        .map(|(p, &l)| level_bins(p, l, h, w))
        .collect();
    if let Some(y) = super::bin_max::pyramid_max(x, &bins)? {
        return Ok(y);
    }
    let direct = |plan: &LevelPlan, level: i64| -> Result<Tensor> {
        Ok(match *plan {
            LevelPlan::Window { h, w } => x.f_max_pool2d(
                [h.kernel, w.kernel],
                [h.stride, w.stride],
                [h.padding, w.padding],
                [1, 1],
                false,
            )?,
            LevelPlan::Adaptive => x.f_adaptive_max_pool2d([level, level])?.0,
        })
    };
    // Where the finest level's bins tile the map exactly, coarser levels whose bins are unions of
    // them are pooled from its small output instead of from the whole map again.
    let finest = levels
        .iter()
        .zip(plans)
        .filter(|(&l, p)| tiles_exactly(p, l, h, w))
        .max_by_key(|(&l, _)| l);
    let mut nested: Option<(i64, Tensor)> = None;
    if let Some((&f, plan)) = finest {
        let derivable = levels
            .iter()
            .zip(plans)
            .any(|(&l, p)| l < f && f % l == 0 && tiles_exactly(p, l, h, w));
        // Under autograd the nested form would add the coarse levels' gradients through the
        // fine level's backward, in another order than PyTorch sums them: not bitwise.
        if derivable && !x.requires_grad() {
            let fine = direct(plan, f)?;
            if maxima_are_unique(&fine)? {
                nested = Some((f, fine));
            }
        }
    }
    let parts = plans
        .iter()
        .zip(levels)
        .map(|(plan, &level)| {
            let pooled = match &nested {
                Some((f, fine)) if level == *f => fine.shallow_clone(),
                Some((f, fine)) if f % level == 0 && tiles_exactly(plan, level, h, w) => {
                    let k = f / level;
                    fine.f_max_pool2d([k, k], [k, k], [0, 0], [1, 1], false)?
                }
                _ => direct(plan, level)?,
            };
            Ok(pooled.f_reshape([n, -1])?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::f_cat(&parts, 1)?)
}

/// The bins `plan` gives level `level` on an `h × w` map, as libtorch's pools lay them out:
/// a window's rows `[i·stride − padding, … + kernel)` clipped to the map; an adaptive bin's
/// `[⌊i·a/n⌋, ⌈(i+1)·a/n⌉)`.
pub fn level_bins(plan: &LevelPlan, level: i64, h: i64, w: i64) -> LevelBins {
    let axis = |a: i64, win: Option<&AxisWindow>| -> Vec<(usize, usize)> {
        (0..level.max(0))
            .map(|i| {
                let (s, e) = match win {
                    Some(win) => {
                        let s = i * win.stride - win.padding;
                        (s.max(0), (s + win.kernel).min(a))
                    }
                    None => (i * a / level, ((i + 1) * a + level - 1) / level),
                };
                (s.max(0) as usize, e.max(0) as usize)
            })
            .collect()
    };
    match plan {
        LevelPlan::Window { h: wh, w: ww } => LevelBins {
            rows: axis(h, Some(wh)),
            cols: axis(w, Some(ww)),
        },
        LevelPlan::Adaptive => LevelBins {
            rows: axis(h, None),
            cols: axis(w, None),
        },
    }
}

/// Whether a level's bins are exactly `H/n × W/n` blocks tiling the map (no padding, no overlap).
fn tiles_exactly(plan: &LevelPlan, level: i64, h: i64, w: i64) -> bool {
    let exact = |a: &AxisWindow, len: i64| {
        a.padding == 0 && a.stride == a.kernel && a.kernel * level == len
    };
    match plan {
        LevelPlan::Window { h: ah, w: aw } => exact(ah, h) && exact(aw, w),
        LevelPlan::Adaptive => h % level == 0 && w % level == 0,
    }
}

#[cfg(test)]
mod tests;
