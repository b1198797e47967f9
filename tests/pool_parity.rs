//! `spatial_pyramid_pool` against the Python mirror of yueruchen's code and PyTorch's own
//! pooling ops, live: every rule, map sizes 1..=40 (all squares and a spread of non-square
//! pairs), levels [4,2,1] and [6,3,2,1], batch 1 and 3, C 1 and 7, inputs with negative values,
//! ±inf, NaN (both signs) and ±0 ties. Bitwise equality (NaN payloads included) where Python pools; an error where
//! PyTorch refuses or the pool would not give n×n bins.

mod common;

use std::collections::BTreeSet;

use serde::Deserialize;
use sppnet::checkpoint::read_safetensors;
use sppnet::{spatial_pyramid_pool, Error, Rule};

#[derive(Deserialize)]
struct Case {
    input: String,
    h: i64,
    w: i64,
    levels: Vec<i64>,
    rule: Rule,
    status: String,
    output: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Sweep {
    cases: Vec<Case>,
}

#[test]
fn every_rule_and_size_matches_python_bitwise_and_fails_where_python_fails() {
    common::init_threads();
    let dir = common::tempdir();
    common::run_python(
        "parity.py",
        &[std::path::Path::new("pool-sweep"), dir.path()],
    );
    let data = read_safetensors(dir.path().join("sweep.safetensors")).unwrap();
    let sweep: Sweep =
        serde_json::from_slice(&std::fs::read(dir.path().join("sweep.json")).unwrap()).unwrap();

    let mut problems = Vec::new();
    let (mut bitwise, mut refused) = (0, 0);
    for case in &sweep.cases {
        let x = data.get(&case.input).expect("input present");
        let rust = spatial_pyramid_pool(x, &case.levels, case.rule);
        // The same values through a non-contiguous view must give the same bits.
        let strided = x.transpose(2, 3).contiguous().transpose(2, 3);
        assert!(!strided.is_contiguous() || case.h == 1 || case.w == 1);
        let rust_strided = spatial_pyramid_pool(&strided, &case.levels, case.rule);
        let what = format!("{} {:?} {}", case.input, case.levels, case.rule);
        match (case.status.as_str(), rust, rust_strided) {
            ("ok", Ok(y), Ok(ys)) => {
                let expected = data.get(case.output.as_deref().unwrap()).unwrap();
                let (d, ds) = (
                    common::compare(&y, expected),
                    common::compare(&ys, expected),
                );
                if d.bitwise && ds.bitwise {
                    bitwise += 1;
                } else {
                    problems.push(format!(
                        "{what}: differs (max abs {}, strided {})",
                        d.max_abs, ds.max_abs
                    ));
                }
            }
            (
                "error" | "wrong_bins",
                Err(Error::LevelDoesNotFit(_)),
                Err(Error::LevelDoesNotFit(_)),
            ) => refused += 1,
            (status, r, _) => problems.push(format!(
                "{what}: python {status} ({}), rust {:?}",
                case.message.as_deref().unwrap_or(""),
                r.map(|t| t.size())
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases disagree:\n{}",
        problems.len(),
        sweep.cases.len(),
        problems.join("\n")
    );

    // The sweep really covers what it claims (so this test cannot pass vacuously).
    let sizes: BTreeSet<(i64, i64)> = sweep.cases.iter().map(|c| (c.h, c.w)).collect();
    assert!(
        (1..=40).all(|s| sizes.contains(&(s, s))),
        "every square 1..=40"
    );
    assert!(
        sizes.iter().filter(|(h, w)| h != w).count() >= 40,
        "at least 40 non-square maps"
    );
    for rule in Rule::ALL {
        assert!(
            sweep
                .cases
                .iter()
                .any(|c| c.rule == rule && c.status == "ok"),
            "{rule} pools somewhere"
        );
    }
    for rule in [Rule::Yueruchen, Rule::Paper] {
        assert!(
            sweep
                .cases
                .iter()
                .any(|c| c.rule == rule && c.status != "ok"),
            "{rule} refuses somewhere"
        );
    }
    let nan_inputs = data
        .tensors
        .iter()
        .filter(|(n, t)| n.starts_with("in/") && t.isnan().any().int64_value(&[]) == 1);
    assert!(nan_inputs.count() > 50, "NaN inputs are exercised");
    // ±0 ties decide which zero max pooling returns; the nested-level shortcut must not change it.
    let signed_zero_inputs = data.tensors.iter().filter(|(n, t)| {
        let zero = t.eq(0.0);
        let neg = t.signbit();
        n.starts_with("in/")
            && zero.logical_and(&neg).any().int64_value(&[]) == 1
            && zero.logical_and(&neg.logical_not()).any().int64_value(&[]) == 1
    });
    assert!(signed_zero_inputs.count() > 50, "±0 ties are exercised");
    println!(
        "{bitwise} cases bitwise equal, {refused} refused on both sides, of {}",
        sweep.cases.len()
    );
    assert!(bitwise > 1500 && refused > 500);
}
