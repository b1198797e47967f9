//! Forward and backward parity of whole modules (`sppnet::parity::table::grad_cases`):
//! ultralytics' own Conv (k 3, s 2), AConv, ADown and SCDown (the convolutional poolings), SPP,
//! SPPF and SPPELAN; timm's NonLocalAttn; the SPP_NET mirror and the NONLocalBlock2D mirror in
//! its four modes (non-local pooling) — each pickled whole by Python, ported, and run in eval
//! mode under autograd on the same inputs. The output, the input's gradient and every
//! parameter's gradient must have PyTorch's bits.

use crate::common;

use sppnet::parity::table::{check_grads, grad_cases};
use sppnet::reference::Suite;

#[test]
fn modules_backward_matches_pytorch_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let cases = grad_cases();
    let replied = common::run_suite(
        &Suite::Grads {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let summary = check_grads(&replied).unwrap();
    let problems: Vec<&String> = summary.values().flat_map(|s| &s.problems).collect();
    eprintln!(
        "comparisons per module: {:?}",
        summary
            .iter()
            .map(|(k, s)| (k, s.compared))
            .collect::<Vec<_>>()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{problems:#?}",
        problems.len()
    );
    assert_eq!(summary.len(), cases.len());
    // Output and input gradient per run (two or three runs), and parameter gradients.
    assert!(summary.values().all(|s| s.compared > 2 * 2), "{summary:?}");
}
