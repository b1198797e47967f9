//! `spatial_pyramid_pool` against the Python mirror of yueruchen's code and PyTorch's own
//! pooling ops, live: every rule, map sizes 1..=40 (all squares and a spread of non-square
//! pairs), levels [4,2,1] and [6,3,2,1], batch 1 and 3, C 1 and 7, inputs with negative values,
//! ±inf, NaN (both signs) and ±0 ties. Bitwise equality (NaN payloads included) where Python pools; an error where
//! PyTorch refuses or the pool would not give n×n bins.

use crate::common;

use std::collections::BTreeSet;

use sppnet::reference::{Output, Suite};
use sppnet::{spatial_pyramid_pool, Error, Rule};

#[test]
fn every_rule_and_size_matches_python_bitwise_and_fails_where_python_fails() {
    common::init_threads();
    let dir = common::tempdir();
    let replied = common::run_suite(&Suite::PoolSweep, dir.path());
    let param = |c: &sppnet::reference::CaseReply, k: &str| c.params[k].clone();

    let mut problems = Vec::new();
    let (mut bitwise, mut refused, mut cases) = (0, 0, 0);
    let mut sizes = BTreeSet::new();
    let (mut pooled_by, mut refused_by) = (BTreeSet::new(), BTreeSet::new());
    let mut inputs = BTreeSet::new();
    for case in &replied.reply.cases {
        let levels: Vec<i64> = serde_json::from_value(param(case, "levels")).unwrap();
        let rule: Rule = serde_json::from_value(param(case, "rule")).unwrap();
        let (h, w) = (
            param(case, "h").as_i64().unwrap(),
            param(case, "w").as_i64().unwrap(),
        );
        sizes.insert((h, w));
        for run in &case.runs {
            cases += 1;
            inputs.insert(run.input.clone());
            let x = replied.input(run).unwrap();
            let rust = spatial_pyramid_pool(x, &levels, rule);
            // The same values through a non-contiguous view must give the same bits.
            let strided = x.transpose(2, 3).contiguous().transpose(2, 3);
            assert!(!strided.is_contiguous() || h == 1 || w == 1);
            let rust_strided = spatial_pyramid_pool(&strided, &levels, rule);
            let what = format!("{} {:?} {}", case.name, levels, rule);
            match (&run.refused, rust, rust_strided) {
                (None, Ok(y), Ok(ys)) => {
                    pooled_by.insert(rule);
                    let expected = replied.output(run, Output::Eval).unwrap();
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
                (Some(_), Err(Error::LevelDoesNotFit(_)), Err(Error::LevelDoesNotFit(_))) => {
                    refused_by.insert(rule);
                    refused += 1
                }
                (python, r, _) => problems.push(format!(
                    "{what}: python {python:?}, rust {:?}",
                    r.map(|t| t.size())
                )),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {cases} cases disagree:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // The sweep really covers what it claims (so this test cannot pass vacuously).
    assert!(
        (1..=40).all(|s| sizes.contains(&(s, s))),
        "every square 1..=40"
    );
    assert!(
        sizes.iter().filter(|(h, w)| h != w).count() >= 40,
        "at least 40 non-square maps"
    );
    assert_eq!(pooled_by.len(), 3, "every rule pools somewhere");
    assert!(refused_by.contains(&Rule::Yueruchen) && refused_by.contains(&Rule::Paper));
    let inputs: Vec<&tch::Tensor> = inputs.iter().map(|k| replied.tensor(k).unwrap()).collect();
    let nan_inputs = inputs
        .iter()
        .filter(|t| t.isnan().any().int64_value(&[]) == 1);
    assert!(nan_inputs.count() > 50, "NaN inputs are exercised");
    // ±0 ties decide which zero max pooling returns; the nested-level shortcut must not change it.
    let signed_zero_inputs = inputs.iter().filter(|t| {
        let t: &tch::Tensor = t;
        let zero = t.eq(0.0);
        let neg = t.signbit();
        zero.logical_and(&neg).any().int64_value(&[]) == 1
            && zero.logical_and(&neg.logical_not()).any().int64_value(&[]) == 1
    });
    assert!(signed_zero_inputs.count() > 50, "±0 ties are exercised");
    println!("{bitwise} cases bitwise equal, {refused} refused on both sides, of {cases}");
    assert_eq!(cases, 2784);
    assert!(bitwise > 1500 && refused > 500);
}
