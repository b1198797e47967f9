//! Comparing a result with a reference: bitwise equality, max abs error, max ULP distance.

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// How far a tensor is from its reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diff {
    /// Same shape, same dtype and the same bytes (NaN payloads included).
    pub bitwise: bool,
    /// Largest `|a − b|` over elements (0 where both are the same NaN or infinity; +inf where
    /// only one is NaN or the infinities differ).
    pub max_abs: f64,
    /// Largest distance in units in the last place of the reference's dtype (f16/bf16 measured
    /// in f32 ULPs); `u64::MAX` where only one side is NaN.
    pub max_ulp: u64,
}

impl Diff {
    /// Whether the difference is within `abs_tol` (bitwise always is).
    pub fn within(&self, abs_tol: f64) -> bool {
        self.bitwise || self.max_abs <= abs_tol
    }
}

fn host_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let t = t.f_to_device(Device::Cpu)?.f_contiguous()?;
    let mut bytes = vec![0u8; t.numel() * t.kind().elt_size_in_bytes()];
    t.f_copy_data_u8(&mut bytes, t.numel())?;
    Ok(bytes)
}

/// Map a float's sign-magnitude bits to an integer line where adjacent floats are adjacent
/// integers and ±0 coincide.
fn ordered(bits: i64, sign_bit: i64) -> i64 {
    if bits & sign_bit != 0 {
        -(bits & !sign_bit)
    } else {
        bits
    }
}

fn ulp_distance(a: f64, b: f64, double: bool) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => return 0,
        (true, false) | (false, true) => return u64::MAX,
        _ => {}
    }
    let (ia, ib) = if double {
        (
            ordered(a.to_bits() as i64, i64::MIN),
            ordered(b.to_bits() as i64, i64::MIN),
        )
    } else {
        let sign = 1i64 << 31;
        (
            ordered((a as f32).to_bits() as i64, sign),
            ordered((b as f32).to_bits() as i64, sign),
        )
    };
    (ia as i128 - ib as i128)
        .unsigned_abs()
        .min(u64::MAX as u128) as u64
}

/// Compare `actual` with `expected` element by element (on the CPU, any devices in).
///
/// # Errors
/// Different shapes, or a non-floating dtype on either side.
pub fn diff(actual: &Tensor, expected: &Tensor) -> Result<Diff> {
    if actual.size() != expected.size() {
        return Err(Error::InvalidInput(format!(
            "shape {:?} differs from the reference's {:?}",
            actual.size(),
            expected.size()
        )));
    }
    let bitwise = actual.kind() == expected.kind() && host_bytes(actual)? == host_bytes(expected)?;
    let as_f64 = |t: &Tensor| -> Result<Vec<f64>> {
        Ok(Vec::<f64>::try_from(
            t.f_to_device(Device::Cpu)?
                .f_to_kind(Kind::Double)?
                .f_flatten(0, -1)?,
        )?)
    };
    let (a, b) = (as_f64(actual)?, as_f64(expected)?);
    let double = expected.kind() == Kind::Double;
    let mut max_abs = 0f64;
    let mut max_ulp = 0u64;
    for (&x, &y) in a.iter().zip(&b) {
        let abs = if x == y || (x.is_nan() && y.is_nan()) {
            0.0
        } else {
            (x - y).abs()
        };
        max_abs = max_abs.max(if abs.is_nan() { f64::INFINITY } else { abs });
        max_ulp = max_ulp.max(ulp_distance(x, y, double));
    }
    Ok(Diff {
        bitwise,
        max_abs,
        max_ulp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulps_count_adjacent_floats() {
        let one = 1.0f32;
        let next = f32::from_bits(one.to_bits() + 3);
        assert_eq!(ulp_distance(one as f64, next as f64, false), 3);
        assert_eq!(ulp_distance(-0.0, 0.0, false), 0);
        let tiny = f32::from_bits(1) as f64;
        assert_eq!(ulp_distance(-tiny, tiny, false), 2);
        assert_eq!(ulp_distance(f64::NAN, 1.0, false), u64::MAX);
        assert_eq!(
            ulp_distance(1.0, f64::from_bits(1.0f64.to_bits() + 5), true),
            5
        );
    }

    #[test]
    fn diff_reports_bitwise_and_errors() {
        let a = Tensor::from_slice(&[1.0f32, f32::NAN, f32::INFINITY, -2.0]);
        let d = diff(&a, &a.copy()).unwrap();
        assert!(d.bitwise && d.max_abs == 0.0 && d.max_ulp == 0);
        let b = Tensor::from_slice(&[1.0f32, 0.0, f32::INFINITY, -2.5]);
        let d = diff(&a, &b).unwrap();
        assert!(!d.bitwise && d.max_abs.is_infinite() && d.max_ulp == u64::MAX);
        let c = Tensor::from_slice(&[1.0f32, f32::NAN, f32::INFINITY, -2.5]);
        let d = diff(&a, &c).unwrap();
        assert_eq!(d.max_abs, 0.5);
        assert!(diff(&a, &a.reshape([2, 2])).is_err());
    }
}
