//! `nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)` as the SPP blocks use it, and the
//! cascade that computes a growing set of such pools from each other.

use tch::Tensor;

use crate::error::{Error, Result};
use crate::tensor::{maxima_are_unique, no_signed_zero_or_nan};

/// Stride-1 max pooling with `k // 2` implicit −inf padding (shape-preserving for odd `k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Kernel size (odd).
    pub k: i64,
}

impl MaxPool2d {
    /// A pool of odd kernel `k` (even kernels change the map size, which the blocks' concat
    /// cannot take, in PyTorch as here).
    pub fn new(k: i64) -> Result<Self> {
        if !(1..=1023).contains(&k) || k % 2 == 0 {
            return Err(Error::Config(format!(
                "max-pool kernel {k} must be odd, from 1 to 1023"
            )));
        }
        Ok(Self { k })
    }

    /// Bitwise what `nn.MaxPool2d(k, 1, k // 2)` gives: the native kernel
    /// ([`super::sliding_max::same_max_pool`]) on CPU f32; elsewhere (CUDA, f16, other layouts)
    /// computed with libtorch separably where that is exact:
    /// a `1×k` pool along the rows, then a `k×1` pool of those (2k window reads per output
    /// instead of k²; 2.3× faster at 8×128×40×40, k = 5). The maximum is the same value either
    /// way; its bits are checked to be the same as well (see [`separable_is_exact`]), else the
    /// `k×k` pool runs.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // The native kernel where it covers the input (CPU f32, NCHW or channels-last): the
        // same bits, libtorch's tie and NaN rules included (see `ops::sliding_max`).
        if let Some(y) = super::sliding_max::same_max_pool(x, self.k)? {
            return Ok(y);
        }
        // Under autograd the k×k pool itself, so that the backward is PyTorch's: the separable
        // form routes each gradient through two pools and adds overlapping ones in another
        // order (tests/parity/gradients.rs).
        if self.k == 1 || x.requires_grad() {
            return self.forward_direct(x);
        }
        let p = self.k / 2;
        let rows = x.f_max_pool2d([1, self.k], [1, 1], [0, p], [1, 1], false)?;
        let y = rows.f_max_pool2d([self.k, 1], [1, 1], [p, 0], [1, 1], false)?;
        if separable_is_exact(x, &y)? {
            Ok(y)
        } else {
            self.forward_direct(x)
        }
    }

    /// The `k×k` pool in one op, as PyTorch runs it.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    pub fn forward_direct(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_max_pool2d(
            [self.k, self.k],
            [1, 1],
            [self.k / 2, self.k / 2],
            [1, 1],
            false,
        )?)
    }
}

/// Whether `y`, the separable pool of `x`, has the bits of the `k×k` pool. Equal values with
/// different bits are ±0 and NaN payloads only, so it does when every output is non-zero and
/// not NaN (checked on `y`: two cheap passes), or else when `x` holds no −0 and no NaN
/// ([`no_signed_zero_or_nan`], for maps with many exact zeros such as ReLU outputs).
///
/// On libtorch 2.13's CPU kernels the separable form keeps the bits even without this check
/// (the first maximum in row-major order wins in both forms, and the last NaN), as the unit test
/// shows with the check removed; it guards kernels that scan in another order.
pub fn separable_is_exact(x: &Tensor, y: &Tensor) -> Result<bool> {
    Ok(maxima_are_unique(y)? || no_signed_zero_or_nan(x)?)
}

/// The step pools that compute pools of kernels `ks` as a cascade, when `ks` is strictly
/// increasing: a stride-1 pool of kernel `b` over one of kernel `a` (both odd, centred, −inf
/// padded) is the pool of kernel `a + b − 1`, so `pool(k_i) = pool(k_i − k_{i−1} + 1) ∘
/// pool(k_{i−1})`. (5, 9, 13) becomes three 5×5 pools: 75 window reads per output instead of 275.
pub fn cascade_steps(ks: &[i64]) -> Option<Vec<MaxPool2d>> {
    let increasing = ks.windows(2).all(|w| w[0] < w[1]);
    if ks.is_empty() || !increasing || ks.iter().any(|k| k % 2 == 0 || *k < 1) {
        return None;
    }
    let mut prev = 1;
    ks.iter()
        .map(|&k| {
            let step = MaxPool2d::new(k - prev + 1).ok();
            prev = k;
            step
        })
        .collect()
}

/// Whether the cascade gives the same **bits** as the parallel pools on `x`.
///
/// The two forms are always equal as values. They can differ in bits only where a window's
/// maximum is a tie between values with different bits: +0 and −0 (SiLU of a large negative
/// number underflows to −0), or NaNs with different payloads (x86 makes negative NaNs). Inputs
/// without −0 and without NaN are bit-exact; the others take the parallel form.
pub fn cascade_is_bit_exact(x: &Tensor) -> Result<bool> {
    no_signed_zero_or_nan(x)
}

/// Pools of every kernel in `parallel` over `x`, in order: through `steps` (a cascade from
/// [`cascade_steps`]) when given, bit-exact for `x`, and the native kernel does not cover `x`;
/// else each pool on its own.
///
/// # Shapes
/// `[N, C, H, W]` → one `[N, C, H, W]` per kernel.
pub fn pyramid(
    x: &Tensor,
    parallel: &[MaxPool2d],
    steps: Option<&[MaxPool2d]>,
) -> Result<Vec<Tensor>> {
    // The native kernel pools a 13×13 window in 3 passes, so where it runs the parallel pools
    // cost less than the cascade's check.
    let native = parallel.iter().all(|m| super::sliding_max::covers(x, m.k));
    match steps {
        // Under autograd the parallel pools, whose backward is PyTorch's.
        Some(steps) if !native && !x.requires_grad() && cascade_is_bit_exact(x)? => {
            cascade(x, steps)
        }
        _ => parallel.iter().map(|m| m.forward(x)).collect(),
    }
}

/// The cascade itself, unguarded: each step pool applied to the previous result. Equal in
/// value to the parallel pools always, in bits only under [`cascade_is_bit_exact`].
///
/// # Shapes
/// `[N, C, H, W]` → one `[N, C, H, W]` per step.
pub fn cascade(x: &Tensor, steps: &[MaxPool2d]) -> Result<Vec<Tensor>> {
    let mut out: Vec<Tensor> = Vec::with_capacity(steps.len());
    for step in steps {
        let next = step.forward(out.last().unwrap_or(x))?;
        out.push(next);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn cascade_steps_follow_kernel_growth() {
        let ks = |v: &[i64]| cascade_steps(v).map(|s| s.iter().map(|m| m.k).collect::<Vec<_>>());
        assert_eq!(ks(&[5, 9, 13]), Some(vec![5, 5, 5]));
        assert_eq!(ks(&[3, 5, 7]), Some(vec![3, 3, 3]));
        assert_eq!(ks(&[5, 9, 13, 17]), Some(vec![5, 5, 5, 5]));
        assert_eq!(ks(&[3, 7, 13]), Some(vec![3, 5, 7]));
        assert_eq!(ks(&[9, 5]), None);
        assert_eq!(ks(&[4, 8]), None);
        assert!(MaxPool2d::new(4).is_err());
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        let v: Vec<f32> = Vec::try_from(t.flatten(0, -1)).unwrap();
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The separable pool has the k×k pool's bits on every kind of map, ±0 ties and NaNs of
    /// both signs included, for kernels 1–13 and maps smaller than the kernel.
    #[test]
    fn separable_pool_is_bitwise_the_direct_pool() {
        let opts = (Kind::Float, tch::Device::Cpu);
        for (i, &(h, w)) in [(20, 20), (7, 13), (1, 1), (3, 30), (40, 9)]
            .iter()
            .enumerate()
        {
            tch::manual_seed(i as i64);
            let r = Tensor::randn([2, 3, h, w], opts);
            // Maps drawn from a palette: ±0 ties among negatives; NaNs of both signs with ±0.
            let palette = |values: &[f32]| {
                let n = values.len() as f64;
                let picks = (r.abs() * 97.0).floor().remainder(n).to_kind(Kind::Int64);
                Tensor::from_slice(values)
                    .index_select(0, &picks.flatten(0, -1))
                    .reshape([2, 3, h, w])
            };
            let zeros = palette(&[0.0, -0.0, -1.0, -2.0]);
            let nans = palette(&[f32::NAN, -f32::NAN, 1.0, -1.0, 0.0, -0.0]);
            let maps = [
                r.shallow_clone(),
                zeros,
                nans,
                r.relu(),
                r.full_like(f64::NEG_INFINITY),
            ];
            for (m, x) in maps.iter().enumerate() {
                for k in [1, 3, 5, 7, 9, 13] {
                    let pool = MaxPool2d::new(k).unwrap();
                    let (fast, direct) =
                        (pool.forward(x).unwrap(), pool.forward_direct(x).unwrap());
                    assert_eq!(bits(&fast), bits(&direct), "map {m} {h}×{w} k {k}");
                }
            }
        }
    }
}
