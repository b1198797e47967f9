//! Files: opening inputs safely, safetensors reading and writing (atomic, reproducible), and
//! strict state_dict loading.

mod atomic;
mod files;
mod safetensors;

pub use self::atomic::{
    refuse_existing, remove_stale_temporaries, temp_check, write_atomic, write_atomic_except,
    Protected, TEMP_PREFIX,
};
pub use self::files::{open_regular, read_at, read_regular};
pub use self::safetensors::{
    read_header, read_safetensors, serialize, write_safetensors, Header, TensorFile, TensorInfo,
};

use std::collections::{BTreeMap, HashMap};

use tch::Tensor;

use crate::error::{Error, Result};
use crate::tensor::{is_float, is_int};

/// Keys PyTorch adds to a state_dict that older files may lack; their absence is not an error.
fn optional_key(name: &str) -> bool {
    name.ends_with("num_batches_tracked")
}

/// Check `source` against the module tensors `target`, strictly, as PyTorch's
/// `load_state_dict(strict=True)` does, without copying anything.
///
/// Every missing, unexpected, shape-mismatched and dtype-incompatible key is collected into one
/// [`Error::StateDict`]. `num_batches_tracked` may be absent. Floats of any width match float
/// targets and integer counters match integer targets; a float where an integer is expected,
/// or the reverse, is a mismatch.
pub fn check_state_dict(
    module: &str,
    target: &HashMap<String, Tensor>,
    source: &[(String, Tensor)],
) -> Result<()> {
    let source: BTreeMap<&str, &Tensor> = source.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut problems = Vec::new();
    let mut names: Vec<&String> = target.keys().collect();
    names.sort();
    for name in names {
        let dst = &target[name];
        let Some(src) = source.get(name.as_str()) else {
            if !optional_key(name) {
                problems.push(format!("missing `{name}` {:?}", dst.size()));
            }
            continue;
        };
        if src.size() != dst.size() {
            problems.push(format!(
                "`{name}` has shape {:?}, expected {:?}",
                src.size(),
                dst.size()
            ));
        }
        let (sk, dk) = (src.kind(), dst.kind());
        if !(is_float(sk) && is_float(dk) || is_int(sk) && is_int(dk)) {
            problems.push(format!("`{name}` has dtype {sk:?}, expected {dk:?}"));
        }
    }
    for name in source.keys() {
        if !target.contains_key(*name) {
            problems.push(format!("unexpected `{name}`"));
        }
    }
    if !problems.is_empty() {
        return Err(Error::StateDict {
            module: module.into(),
            problems,
        });
    }
    Ok(())
}

/// Copy `source` into the module tensors `target` after [`check_state_dict`]: nothing is
/// copied unless every key matches. Floats are converted to the target's kind (f16/bf16/f64 to
/// f32), integer counters to int64.
pub fn load_state_dict(
    module: &str,
    target: &HashMap<String, Tensor>,
    source: &[(String, Tensor)],
) -> Result<()> {
    check_state_dict(module, target, source)?;
    tch::no_grad(|| -> Result<()> {
        for (name, src) in source {
            let mut dst = target[name].shallow_clone();
            let src = src.f_to_device(dst.device())?.f_to_kind(dst.kind())?;
            dst.f_copy_(&src)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn target() -> HashMap<String, Tensor> {
        let mut m = HashMap::new();
        m.insert(
            "a.weight".to_string(),
            Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)),
        );
        m.insert(
            "bn.num_batches_tracked".to_string(),
            Tensor::zeros([], (Kind::Int64, Device::Cpu)),
        );
        m
    }

    #[test]
    fn converts_half_and_accepts_missing_counter() {
        let t = target();
        let src = Tensor::ones([2, 3], (Kind::Half, Device::Cpu));
        load_state_dict("m", &t, &[("a.weight".into(), src)]).unwrap();
        assert_eq!(t["a.weight"].kind(), Kind::Float);
        assert!(t["a.weight"].equal(&Tensor::ones([2, 3], (Kind::Float, Device::Cpu))));
    }

    #[test]
    fn lists_every_problem_and_copies_nothing() {
        let t = target();
        let src = vec![
            (
                "bn.num_batches_tracked".to_string(),
                Tensor::ones([], (Kind::Float, Device::Cpu)),
            ),
            (
                "extra".to_string(),
                Tensor::ones([1], (Kind::Float, Device::Cpu)),
            ),
        ];
        let err = load_state_dict("m", &t, &src).unwrap_err().to_string();
        assert!(err.contains("missing `a.weight` [2, 3]"), "{err}");
        assert!(err.contains("unexpected `extra`"), "{err}");
        assert!(
            err.contains("`bn.num_batches_tracked` has dtype Float"),
            "{err}"
        );
        assert_eq!(t["bn.num_batches_tracked"].int64_value(&[]), 0);
        let wrong_shape = vec![(
            "a.weight".to_string(),
            Tensor::ones([3, 2], (Kind::Float, Device::Cpu)),
        )];
        let err = load_state_dict("m", &t, &wrong_shape)
            .unwrap_err()
            .to_string();
        assert!(err.contains("shape [3, 2], expected [2, 3]"), "{err}");
    }
}
