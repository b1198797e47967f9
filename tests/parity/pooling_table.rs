//! The seed's pooling table against the real upstream code, live, forward and backward
//! (`sppnet::parity::table`): `torch.nn.MaxPool2d` / `AvgPool2d` with every option, timm's
//! `SelectAdaptivePool2d` (every pool type, flatten, output sizes), the pyramid (yueruchen
//! mirror, three rules), roi SPP (torchvision's `roi_pool`), and stochastic pooling against its
//! Python mirror (test and training rules). Inputs: 1×1, odd, even and non-square maps, batch 1
//! and 2, with ±inf, NaN, ±0, values near the largest float and subnormals where the op allows
//! them. Outputs and input gradients bitwise; where PyTorch refuses an input, sppnet refuses
//! it; the upstream modules pickled whole port and run bitwise.

use crate::common;

use sppnet::parity::table::{check_pooling, pooling_cases};
use sppnet::reference::Suite;

#[test]
fn every_row_matches_upstream_forward_and_backward_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let suite = Suite::Pooling {
        cases: pooling_cases(),
    };
    let replied = common::run_suite(&suite, dir.path());
    let summary = check_pooling(&replied).unwrap();
    let problems: Vec<&String> = summary.values().flat_map(|s| &s.problems).collect();
    for (op, s) in &summary {
        eprintln!(
            "{op}: {} bitwise comparisons, {} refused alike",
            s.compared, s.refused
        );
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{problems:#?}",
        problems.len()
    );
    // Every row ran forward and backward (two comparisons per run), refusals were exercised,
    // and every upstream module was ported.
    for (op, least) in [
        ("spp", 160),
        ("max", 160),
        ("avg", 130),
        ("global", 900),
        ("roi_spp", 100),
        ("stochastic", 40),
    ] {
        let s = &summary[op];
        assert!(s.compared >= least, "{op}: {} comparisons", s.compared);
    }
    for op in [
        "ported max",
        "ported avg",
        "ported global",
        "ported stochastic",
        "ported roi_spp",
    ] {
        assert!(summary[op].compared >= 20, "{op}: {}", summary[op].compared);
    }
    assert!(summary.values().map(|s| s.refused).sum::<usize>() >= 30);
}
