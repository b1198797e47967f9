//! The cases `sppnet parity` runs.

use serde_json::json;

use crate::modules::spp_net::SppNetConfig;
use crate::reference::{BlockCase, InputSpec, SppNetInput, SppNetModel, Suite};

/// SppNet default and tiny configs on sides 32, 45, 64, 100×77 and 224 (quick: 32 and 100×77),
/// batch 2; the default's weights carry no metadata (sizes inferred from shapes).
pub fn sppnet_suite(quick: bool) -> Suite {
    let sizes: &[(i64, i64)] = if quick {
        &[(32, 32), (100, 77)]
    } else {
        &[(32, 32), (45, 45), (64, 64), (100, 77), (224, 224)]
    };
    let tiny = SppNetConfig {
        ndf: 8,
        hidden: 64,
        classes: 10,
        ..Default::default()
    };
    let configs = [("default", SppNetConfig::default()), ("tiny", tiny)];
    let mut inputs = Vec::new();
    for (name, _) in &configs {
        for (i, (h, w)) in sizes.iter().enumerate() {
            inputs.push(SppNetInput {
                name: format!("{name}/{h}x{w}"),
                model: name.to_string(),
                shape: vec![2, 3, *h, *w],
                seed: i as i64,
                train: false,
            });
        }
    }
    let models = configs
        .iter()
        .enumerate()
        .map(|(i, (name, config))| SppNetModel {
            name: name.to_string(),
            config: config.clone(),
            seed: i as i64,
            metadata: *name != "default",
        })
        .collect();
    Suite::Sppnet { models, inputs }
}

/// ultralytics blocks: a strided Conv, SPP, SPPF (SiLU and YOLO26 variants), SPPELAN; the full
/// run adds ReLU, other kernels, n 4 and wider blocks, and maps of 13×7, 1×1 and 41×41.
pub fn block_cases(quick: bool) -> Vec<BlockCase> {
    let case = |name: &str, class: &str, args| BlockCase {
        name: name.into(),
        class: class.into(),
        args,
        fuse: true,
        ..Default::default()
    };
    let mut cases = vec![
        BlockCase {
            bn_eps: Some(1e-3),
            ..case(
                "Conv_k3s2",
                "Conv",
                json!({"c1": 16, "c2": 32, "k": 3, "s": 2}),
            )
        },
        case("SPP_5-9-13", "SPP", json!({"c1": 64, "c2": 64})),
        BlockCase {
            cv1_act: Some("SiLU".into()),
            bn_eps: Some(1e-3),
            ..case("SPPF_silu", "SPPF", json!({"c1": 64, "c2": 64}))
        },
        BlockCase {
            cv1_act: Some("Identity".into()),
            ..case(
                "SPPF_yolo26",
                "SPPF",
                json!({"c1": 64, "c2": 64, "shortcut": true}),
            )
        },
        case("SPPELAN", "SPPELAN", json!({"c1": 64, "c2": 32, "c3": 16})),
    ];
    if !quick {
        cases.extend([
            BlockCase {
                act: Some("ReLU".into()),
                ..case("Conv_relu", "Conv", json!({"c1": 8, "c2": 8, "k": 3}))
            },
            BlockCase {
                bn_shift: Some(-10.0),
                ..case(
                    "SPP_3-5-7",
                    "SPP",
                    json!({"c1": 256, "c2": 64, "k": [3, 5, 7]}),
                )
            },
            case("SPPF_n4", "SPPF", json!({"c1": 256, "c2": 128, "n": 4})),
            BlockCase {
                bn_eps: Some(1e-3),
                ..case(
                    "SPPELAN_c3_32",
                    "SPPELAN",
                    json!({"c1": 256, "c2": 256, "c3": 32}),
                )
            },
        ]);
    }
    let shapes: &[[i64; 2]] = if quick {
        &[[20, 20]]
    } else {
        &[[20, 20], [13, 7], [1, 1], [41, 41]]
    };
    for (i, case) in cases.iter_mut().enumerate() {
        let c1 = case.args["c1"].as_i64().unwrap_or(1);
        case.seed = i as i64;
        case.inputs = shapes
            .iter()
            .map(|[h, w]| InputSpec {
                shape: vec![2, c1, *h, *w],
                scale: 2.0,
            })
            .collect();
    }
    cases
}
