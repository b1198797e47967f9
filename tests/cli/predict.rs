//! `sppnet predict` on a real checkpoint of each task, as a user runs it: the task read from
//! the checkpoint, each detection's task fields in `--json` (segment: `mask` RLE covering the
//! mask's pixels and `segments` on the image; pose: 17 keypoints × 3; OBB: `obb` and its hull;
//! classify: no detections and a `top5` best first), pictures written for every task, a
//! classifier ported to safetensors (its transforms in the metadata) predicting the same, and
//! the per-pixel tasks' map files.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{self, s, sppnet};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(common::run_python("fixtures", &[name.as_ref()]).trim())
}

/// ultralytics' own `bus.jpg`, from its wheel.
fn bus() -> PathBuf {
    PathBuf::from(common::run_python("fixtures", &["--asset".as_ref(), "bus.jpg".as_ref()]).trim())
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// One detection's task fields.
fn check_fields(task: &str, det: &Value) {
    match task {
        "segment" => {
            let (size, counts) = (
                numbers(&det["mask"]["size"]),
                numbers(&det["mask"]["counts"]),
            );
            assert_eq!(counts.iter().sum::<f64>(), size[0] * size[1]);
            let seg = det["segments"].as_array().unwrap();
            assert!(seg.len() >= 3, "a polygon of {} points", seg.len());
            for p in seg {
                let [x, y] = numbers(p)[..] else {
                    panic!("{p}")
                };
                assert!(
                    (0.0..=810.0).contains(&x) && (0.0..=1080.0).contains(&y),
                    "{x}, {y}"
                );
            }
        }
        "pose" => {
            let k = det["keypoints"].as_array().unwrap();
            assert!(k.len() == 17 && k.iter().all(|p| numbers(p).len() == 3));
        }
        "obb" => assert_eq!(numbers(&det["obb"]).len(), 5),
        _ => {}
    }
}

#[test]
fn predict_runs_every_task_with_its_fields_and_pictures() {
    let dir = common::tempdir();
    let (d, img) = (dir.path(), bus());
    for (name, task) in [
        ("coco-yolo11n-seg", "segment"),
        ("coco-yolo11n-pose", "pose"),
        ("dota-yolov8n-obb", "obb"),
        ("captcha-yolo11n-cls", "classify"),
    ] {
        let (pics, w) = (d.join(name), fixture(name));
        let (code, out, err) =
            sppnet(&["predict", s(&w), s(&img), "--json", "--save-dir", s(&pics)]);
        assert_eq!(code, 0, "{name}: {err}");
        let v = &lines(&out)[0];
        assert_eq!(v["task"], task, "{name}");
        assert!(pics.join("bus.jpg").is_file(), "{name}: no picture");
        let dets = v["detections"].as_array().unwrap();
        if task == "classify" {
            assert!(dets.is_empty());
            let top: Vec<f64> = v["top5"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["confidence"].as_f64().unwrap())
                .collect();
            assert_eq!(top.len(), 5);
            assert!(top.windows(2).all(|w| w[0] >= w[1]) && top.iter().sum::<f64>() <= 1.0 + 1e-6);
        } else {
            assert!(!dets.is_empty(), "{name}: no detections on bus.jpg");
        }
        dets.iter().for_each(|det| check_fields(task, det));
    }
    // The classifier ported: its pickled transforms travel in the metadata, the same top 5.
    let cls = fixture("captcha-yolo11n-cls");
    let st = d.join("cls.safetensors");
    let (code, _, err) = sppnet(&["port", s(&cls), "-o", s(&st)]);
    assert_eq!(code, 0, "{err}");
    let top5 = |w: &PathBuf| {
        let (code, out, err) = sppnet(&["predict", s(w), s(&img), "--json"]);
        assert_eq!(code, 0, "{err}");
        lines(&out)[0]["top5"].clone()
    };
    assert_eq!(top5(&cls), top5(&st));
}

/// The per-pixel tasks write their map beside each picture: a semantic class map as an 8-bit
/// greyscale PNG of the image's size, a depth map as a `.npy` of f32 `(h, w)`; `--json` gives
/// the map's size, its classes' pixel counts (summing to the image) and its sha256.
#[test]
fn semantic_and_depth_write_their_maps() {
    let dir = common::tempdir();
    let d = dir.path();
    common::run_python("predict", &["fixtures".as_ref(), d.as_os_str()]);
    let img = bus();
    for (weights, key, file) in [
        ("semantic.pt", "semantic", "bus.jpg.semantic.png"),
        ("depth.pt", "depth", "bus.jpg.depth.npy"),
    ] {
        let (out_dir, w) = (d.join(key), d.join(weights));
        let (code, out, err) = sppnet(&[
            "predict",
            s(&w),
            s(&img),
            "--json",
            "--save-dir",
            s(&out_dir),
        ]);
        assert_eq!(code, 0, "{weights}: {err}");
        let v = &lines(&out)[0];
        assert_eq!(v["task"], key);
        assert_eq!(v[key]["size"], serde_json::json!([1080, 810]));
        assert_eq!(v[key]["sha256"].as_str().unwrap().len(), 64);
        assert!(out_dir.join("bus.jpg").is_file());
        let bytes = std::fs::read(out_dir.join(file)).unwrap();
        if key == "semantic" {
            let classes = v[key]["classes"].as_array().unwrap();
            let pixels: u64 = classes.iter().map(|c| c["pixels"].as_u64().unwrap()).sum();
            assert_eq!(pixels, 1080 * 810);
            let map = image::load_from_memory(&bytes).unwrap();
            assert_eq!(
                (map.width(), map.height(), map.color()),
                (810, 1080, image::ColorType::L8)
            );
        } else {
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
            assert!(
                header.contains("'<f4'") && header.contains("(1080, 810)"),
                "{header}"
            );
            assert_eq!(bytes.len(), 10 + header_len + 1080 * 810 * 4);
            assert_eq!((10 + header_len) % 64, 0);
        }
        // Run again: the map, like the picture, is not replaced without --force.
        let (code, _, err) = sppnet(&["predict", s(&w), s(&img), "--save-dir", s(&out_dir)]);
        assert!(code == 1 && err.contains("exists"), "{code}: {err}");
    }
}

/// Sources `predict` reads that are not files here — URLs and stream addresses, a camera index
/// or `screen` with no such file — are refused before anything runs, on one line naming them;
/// a file that happens to be called `0` is still an image.
#[test]
fn urls_streams_and_cameras_are_refused_by_name() {
    let dir = common::tempdir();
    let d = dir.path();
    let w = fixture("fall-yolov8s");
    for (src, says) in [
        ("https://ultralytics.com/images/bus.jpg", "https:// sources"),
        ("rtsp://192.168.1.10/stream", "rtsp:// sources"),
        ("0", "camera"),
        ("screen", "camera or the screen"),
    ] {
        let (code, out, err) = sppnet(&["predict", s(&w), src, "--json"]);
        assert!(code == 1 && out.is_empty(), "{src}: exit {code}, {out}");
        assert_eq!(err.lines().count(), 1, "{src}: {err}");
        assert!(
            err.contains(says) && err.contains("not supported yet"),
            "{src}: {err}"
        );
    }
    std::fs::copy(bus(), d.join("0")).unwrap();
    let (code, out, err) = sppnet(&["predict", s(&w), s(&d.join("0")), "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out).len(), 1);
}

/// A map never lands on another map or on a picture of the same run: `bus.jpg` and `bus.png`
/// keep one map each, and an input whose picture would be another's map is refused up front.
#[test]
fn maps_never_collide_with_each_other_or_pictures() {
    let dir = common::tempdir();
    let d = dir.path();
    common::run_python("predict", &["fixtures".as_ref(), d.as_os_str()]);
    let (w, imgs) = (d.join("semantic.pt"), d.join("imgs"));
    std::fs::create_dir(&imgs).unwrap();
    std::fs::copy(bus(), imgs.join("bus.jpg")).unwrap();
    std::fs::copy(bus(), imgs.join("bus.png")).unwrap();
    let out = d.join("out");
    let (code, _, err) = sppnet(&["predict", s(&w), s(&imgs), "--save-dir", s(&out)]);
    assert_eq!(code, 0, "{err}");
    for f in [
        "bus.jpg",
        "bus.png",
        "bus.jpg.semantic.png",
        "bus.png.semantic.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    std::fs::copy(bus(), imgs.join("bus.jpg.semantic.png")).unwrap();
    let out2 = d.join("out2");
    let (code, _, err) = sppnet(&["predict", s(&w), s(&imgs), "--save-dir", s(&out2)]);
    assert!(
        code == 1 && err.lines().count() == 1 && err.contains("would replace a picture"),
        "{code}: {err}"
    );
    assert!(
        !out2.join("bus.jpg").exists(),
        "a picture was written before the refusal"
    );
}
