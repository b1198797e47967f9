//! The forward patterns ultralytics' blocks share, each written once: a residual pair
//! (Bottleneck), split-and-extend (C2f, C3k2, C2fCIB, RepNCSPELAN4, ELAN1), the CSP concat (C3,
//! C3k, RepCSP) and split-and-attend (PSA, C2PSA). A class file names its children (upstream's
//! field names, which are the state_dict paths) and hands them to one of these.

use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::Module;

/// Run `m` in order on `x`.
pub fn chain(m: &[Box<dyn Module>], x: &Tensor, train: bool) -> Result<Tensor> {
    let mut y = x.shallow_clone();
    for layer in m {
        y = layer.forward_t(&y, train)?;
    }
    Ok(y)
}

/// `x + cv2(cv1(x))` when `add`, else `cv2(cv1(x))` (Bottleneck, RepBottleneck).
pub fn residual(
    cv1: &dyn Module,
    cv2: &dyn Module,
    add: bool,
    x: &Tensor,
    train: bool,
) -> Result<Tensor> {
    let y = cv2.forward_t(&cv1.forward_t(x, train)?, train)?;
    if add {
        Ok(x.f_add(&y)?)
    } else {
        Ok(y)
    }
}

/// `y = cv1(x).chunk(2, 1); y.extend(m(y[-1]) for m in ms); out(cat(y, 1))` (C2f and the ELAN
/// blocks).
pub fn split_extend(
    cv1: &dyn Module,
    ms: &[&dyn Module],
    out: &dyn Module,
    x: &Tensor,
    train: bool,
) -> Result<Tensor> {
    let mut y = cv1.forward_t(x, train)?.f_chunk(2, 1)?;
    for m in ms {
        let next = m.forward_t(&y[y.len() - 1], train)?;
        y.push(next);
    }
    out.forward_t(&Tensor::f_cat(&y, 1)?, train)
}

/// `cv3(cat((m(cv1(x)), cv2(x)), 1))` (C3, C3k, RepCSP).
pub fn csp(
    cv1: &dyn Module,
    cv2: &dyn Module,
    cv3: &dyn Module,
    m: &[Box<dyn Module>],
    x: &Tensor,
    train: bool,
) -> Result<Tensor> {
    let a = chain(m, &cv1.forward_t(x, train)?, train)?;
    let b = cv2.forward_t(x, train)?;
    cv3.forward_t(&Tensor::f_cat(&[a, b], 1)?, train)
}

/// `a, b = cv1(x).split((c, c), 1); cv2(cat((a, f(b)), 1))` (PSA, C2PSA).
pub fn split_attend(
    cv1: &dyn Module,
    cv2: &dyn Module,
    c: i64,
    x: &Tensor,
    train: bool,
    f: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let y = cv1.forward_t(x, train)?;
    let ab = y.f_split_with_sizes([c, c], 1)?;
    let [a, b] = ab.as_slice() else {
        return Err(Error::InvalidInput("split_attend: not two halves".into()));
    };
    let b = f(b)?;
    cv2.forward_t(&Tensor::f_cat(&[a.shallow_clone(), b], 1)?, train)
}

/// A `Module` impl for a newtype over another module (a subclass upstream that changes only
/// its name or its constructor): everything delegates to field `.0`.
macro_rules! delegate_module {
    ($ty:ty) => {
        impl $crate::modules::Module for $ty {
            fn forward_t(
                &self,
                x: &tch::Tensor,
                train: bool,
            ) -> $crate::error::Result<tch::Tensor> {
                self.0.forward_t(x, train)
            }
            fn in_channels(&self) -> Option<i64> {
                self.0.in_channels()
            }
            fn fusable(&self) -> Vec<(String, &dyn $crate::modules::Fuse)> {
                self.0.fusable()
            }
        }
    };
}
pub(crate) use delegate_module;
