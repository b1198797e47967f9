//! `nn.MaxPool2d` and `nn.AvgPool2d` with every option PyTorch has (kernel, stride — the seed
//! note's "strided pooling" —, padding, dilation, ceil_mode, count_include_pad,
//! divisor_override), PyTorch's refusals checked first so that they are one-line errors, then
//! libtorch's own op (so forward and backward are libtorch's bits).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};

/// A size along (height, width). Upstream accepts an int (both) or a pair.
pub type Pair = [i64; 2];

/// The window of a max pool (`nn.MaxPool2d`'s arguments; `stride` defaults to the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPoolOptions {
    /// Window size.
    pub kernel: Pair,
    /// Step between windows.
    pub stride: Pair,
    /// Implicit −inf padding on each side.
    pub padding: Pair,
    /// Spacing between the window's elements.
    pub dilation: Pair,
    /// Round the output size up (a last, partial window) instead of down.
    pub ceil_mode: bool,
}

/// The window of an average pool (`nn.AvgPool2d`'s arguments; `stride` defaults to the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvgPoolOptions {
    /// Window size.
    pub kernel: Pair,
    /// Step between windows.
    pub stride: Pair,
    /// Implicit zero padding on each side.
    pub padding: Pair,
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Count the zero padding in each window's divisor (upstream's default: true).
    pub count_include_pad: bool,
    /// Divide every window by this instead.
    pub divisor_override: Option<i64>,
}

impl MaxPoolOptions {
    /// A `k×k` window with stride `k`, as `nn.MaxPool2d(k)`.
    pub fn new(kernel: Pair) -> Self {
        Self {
            kernel,
            stride: kernel,
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        }
    }
}

impl AvgPoolOptions {
    /// A `k×k` window with stride `k`, as `nn.AvgPool2d(k)`.
    pub fn new(kernel: Pair) -> Self {
        Self {
            kernel,
            stride: kernel,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }
}

/// PyTorch's `pooling_output_shape`: the output length along an axis of length `a`.
pub fn output_len(a: i64, k: i64, s: i64, p: i64, d: i64, ceil: bool) -> i64 {
    let span = i128::from(a) + 2 * i128::from(p) - i128::from(d) * (i128::from(k) - 1) - 1;
    let s128 = i128::from(s);
    let mut out = if ceil {
        span.div_euclid(s128) + i128::from(span.rem_euclid(s128) != 0) + 1
    } else {
        span.div_euclid(s128) + 1
    };
    // A last window that would start in the right padding is dropped.
    if ceil && (out - 1) * s128 >= i128::from(a) + i128::from(p) {
        out -= 1;
    }
    i64::try_from(out).unwrap_or(i64::MAX)
}

/// PyTorch's checks of a window that do not depend on the input: kernel, stride and dilation
/// above zero (and at most 1024, sppnet's limit for configs), padding from 0 to half the
/// kernel (the kernel, not the dilated window, in torch 2.13).
pub fn check_window(what: &str, [kernel, stride, padding, dilation]: [Pair; 4]) -> Result<()> {
    for (name, v) in [
        ("kernel", kernel),
        ("stride", stride),
        ("dilation", dilation),
    ] {
        if v.iter().any(|&v| !(1..=1024).contains(&v)) {
            return Err(Error::Config(format!(
                "{what} {name} must be greater than zero (and at most 1024), got {v:?}"
            )));
        }
    }
    if (0..2).any(|i| padding[i] < 0 || padding[i] > kernel[i] / 2) {
        return Err(Error::Config(format!(
            "{what} padding {padding:?} must be from 0 to half the kernel {kernel:?}"
        )));
    }
    Ok(())
}

/// The checks PyTorch makes before pooling (`pool2d_shape_check`), as one-line errors.
fn check(
    what: &str,
    x: &Tensor,
    [kernel, stride, padding, dilation]: [Pair; 4],
    ceil: bool,
) -> Result<()> {
    let size = x.size();
    if !(size.len() == 3 || size.len() == 4) {
        return Err(Error::InvalidInput(format!(
            "{what} needs a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {size:?}"
        )));
    }
    check_window(what, [kernel, stride, padding, dilation])?;
    let (h, w) = (size[size.len() - 2], size[size.len() - 1]);
    let out = [0, 1].map(|i| {
        let a = [h, w][i];
        output_len(a, kernel[i], stride[i], padding[i], dilation[i], ceil)
    });
    if out.iter().any(|&o| o < 1) || size.iter().any(|&s| s < 1) {
        return Err(Error::InvalidInput(format!(
            "{what} of a {h}×{w} map with kernel {kernel:?}, stride {stride:?}, padding \
             {padding:?}, dilation {dilation:?} would give a {}×{} output (the window is larger \
             than the padded input)",
            out[0], out[1]
        )));
    }
    Ok(())
}

/// `F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)`, refusals checked first.
///
/// # Shapes
/// `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]` with PyTorch's output sizes.
pub fn max_pool2d(x: &Tensor, o: &MaxPoolOptions) -> Result<Tensor> {
    let parts = [o.kernel, o.stride, o.padding, o.dilation];
    check("max pooling", x, parts, o.ceil_mode)?;
    Ok(x.f_max_pool2d(o.kernel, o.stride, o.padding, o.dilation, o.ceil_mode)?)
}

/// `F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)`,
/// refusals checked first.
///
/// # Shapes
/// `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]` with PyTorch's output sizes.
pub fn avg_pool2d(x: &Tensor, o: &AvgPoolOptions) -> Result<Tensor> {
    check(
        "average pooling",
        x,
        [o.kernel, o.stride, o.padding, [1, 1]],
        o.ceil_mode,
    )?;
    if o.divisor_override == Some(0) {
        return Err(Error::Config(
            "average pooling divisor_override must not be 0".into(),
        ));
    }
    Ok(x.f_avg_pool2d(
        o.kernel,
        o.stride,
        o.padding,
        o.ceil_mode,
        o.count_include_pad,
        o.divisor_override,
    )?)
}
