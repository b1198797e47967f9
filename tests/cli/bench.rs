//! `sppnet bench`'s JSON schema (never its timings): a tiny run of each kind of case.

use crate::common;

use serde_json::Value;

#[test]
fn bench_json_has_the_documented_schema() {
    let dir = common::tempdir();
    let prefix = dir.path().join("b");
    let args = [
        "--threads",
        "1",
        "bench",
        "--device",
        "cpu",
        "--quick",
        "--only",
        "1x",
        "--rounds",
        "1",
        "--round-seconds",
        "0.001",
        "--min-calls",
        "1",
        "--json",
        "--save",
    ];
    let mut argv: Vec<&str> = args.to_vec();
    argv.push(prefix.to_str().unwrap());
    let (code, out, err) = common::sppnet(&argv);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout is JSON only");
    assert_eq!(v["schema"], "sppnet-bench/1");
    assert!(v["machine"]["cpu"].is_string() && v["machine"]["cores"].as_u64().unwrap() >= 1);
    assert_eq!(
        (
            v["machine"]["device"].as_str(),
            v["machine"]["threads"].as_i64()
        ),
        (Some("cpu"), Some(1))
    );
    let cases = v["cases"].as_array().unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "yueruchen/1x64x13x13",
            "spp/1x512x20x20",
            "sppf/1x512x20x20",
            "sppelan/1x512x20x20",
            "sppnet/1x3x224x224"
        ]
    );
    for c in cases {
        assert_eq!(c["shape"].as_array().unwrap().len(), 4);
        let (speedup, range) = (
            c["speedup_vs_python"].as_f64().unwrap(),
            c["speedup_range"].as_array().unwrap(),
        );
        let (lo, hi) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
        assert!(0.0 < lo && lo <= speedup && speedup <= hi, "{c}");
        for side in ["rust", "python"] {
            let t = &c["variants"][side];
            assert!(
                t["median_s"].as_f64().unwrap() > 0.0 && t["calls"].as_u64().unwrap() >= 1,
                "{c}"
            );
        }
    }
    assert!(
        cases[1]["variants"]["rust_parallel"]["median_s"]
            .as_f64()
            .unwrap()
            > 0.0,
        "SPP has the parallel variant"
    );
    assert!(
        v["process"].is_null() && v["sweep"].as_array().unwrap().is_empty(),
        "--quick skips the whole-process runs and the size sweep"
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(prefix.with_extension("json")).unwrap()).unwrap();
    assert_eq!(saved["cases"].as_array().unwrap().len(), 5);
    // The pool cases carry the copy line (the memory-speed floor) as their second variant.
    // The same tiny run of one pool case, without --save.
    let mut pool_args: Vec<&str> = args
        .iter()
        .map(|&a| if a == "1x" { "maxpool5" } else { a })
        .collect();
    pool_args.pop();
    let (code, out, err) = common::sppnet(&pool_args);
    assert_eq!(code, 0, "{err}");
    let p: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["cases"][0]["id"], "maxpool5/8x128x40x40");
    assert!(
        p["cases"][0]["variants"]["rust_copy"]["median_s"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{p}"
    );
    let md = std::fs::read_to_string(prefix.with_extension("md")).unwrap();
    assert!(md.contains("| case | Rust |") && md.contains("spp/1x512x20x20"));
    assert!(!prefix.with_extension("png").exists(), "no sweep, no plot");
}

#[test]
fn bench_sweep_is_in_the_json_and_plotted() {
    let dir = common::tempdir();
    let prefix = dir.path().join("s");
    let (code, out, err) = common::sppnet(&[
        "--threads",
        "1",
        "bench",
        "--device",
        "cpu",
        "--only",
        "x8x8",
        "--rounds",
        "2",
        "--round-seconds",
        "0.001",
        "--min-calls",
        "2",
        "--json",
        "--save",
        prefix.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout is JSON only");
    assert!(v["cases"].as_array().unwrap().is_empty(), "{v}");
    assert!(
        v["process"].is_null(),
        "--only skips the whole-process runs"
    );
    let sweep = v["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 1, "{v}");
    assert_eq!(sweep[0]["id"], "yueruchen/1x256x8x8");
    for side in ["rust", "python"] {
        // 2 rounds × at least 2 calls.
        assert!(
            sweep[0]["variants"][side]["calls"].as_u64().unwrap() >= 4,
            "{v}"
        );
    }
    let png = std::fs::read(prefix.with_extension("png")).expect("the sweep's plot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let md = std::fs::read_to_string(prefix.with_extension("md")).unwrap();
    assert!(md.contains("Latency against input size") && md.contains("yueruchen/1x256x8x8"));
}
