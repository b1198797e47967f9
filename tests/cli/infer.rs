//! `sppnet infer`: mixed sizes in one call, a corrupt file and a too-small image among good
//! ones, the JSON lines, input order, and outputs equal to the library's on the same pixels.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{s, sppnet};
use serde_json::Value;
use sppnet::io::read_safetensors;
use sppnet::Model;
use tch::{Device, Kind, Tensor};

/// Write a deterministic RGB image; returns its path and pixels (H, W, 3).
fn image(dir: &Path, name: &str, w: u32, h: u32, seed: u32) -> (PathBuf, Vec<u8>) {
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * 37 + seed * 101) % 251) as u8)
        .collect();
    let path = dir.join(name);
    image::RgbImage::from_raw(w, h, pixels.clone())
        .unwrap()
        .save(&path)
        .unwrap();
    (path, pixels)
}

#[test]
fn infer_batches_mixed_sizes_keeps_order_and_reports_bad_files() {
    let dir = common::tempdir();
    let d = dir.path();
    let (a, _) = image(d, "a.png", 32, 32, 1);
    let (b, pixels_b) = image(d, "b.png", 77, 100, 2);
    let (c, _) = image(d, "c.jpg", 45, 38, 3);
    let (e, _) = image(d, "e.png", 32, 32, 4);
    let (tiny, _) = image(d, "tiny.png", 10, 10, 5);
    let bad = d.join("bad.png");
    std::fs::write(&bad, b"\x89PNG but not really").unwrap();
    let out = d.join("out.safetensors");
    let weights = common::root().join("weights/sppnet_tiny.safetensors");
    let inputs = [&a, &bad, &b, &tiny, &c, &e];
    let threads = common::THREADS.to_string();
    let mut args = vec![
        "--threads",
        &threads,
        "infer",
        "--weights",
        s(&weights),
        "--device",
        "cpu",
        "--json",
        "--top-k",
        "3",
        "-o",
        s(&out),
    ];
    args.extend(inputs.iter().map(|p| s(p)));
    let (code, stdout, stderr) = sppnet(&args);
    assert_eq!(code, 1, "failures make exit code 1: {stderr}");
    assert!(
        stderr.contains("4 images in")
            && stderr.contains("images/s")
            && stderr.contains("2 failed"),
        "{stderr}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stdout line is JSON"))
        .collect();
    assert_eq!(lines.len(), inputs.len());
    for (i, (line, path)) in lines.iter().zip(inputs).enumerate() {
        assert_eq!(
            (line["index"].as_u64(), line["path"].as_str()),
            (Some(i as u64), Some(s(path))),
            "input order"
        );
    }
    let oks: Vec<bool> = lines.iter().map(|l| l["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [true, false, true, false, true, true]);
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("not a readable PNG/JPEG"));
    assert!(
        lines[3]["error"]
            .as_str()
            .unwrap()
            .contains("level 4 cannot pool a 2×2 map"),
        "{}",
        lines[3]
    );
    assert_eq!(
        (lines[2]["height"].as_i64(), lines[2]["width"].as_i64()),
        (Some(100), Some(77))
    );
    for l in lines.iter().filter(|l| l["ok"] == true) {
        let top = l["top_k"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let scores: Vec<f64> = top.iter().map(|t| t["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1])
                && scores.iter().all(|s| (0.0..=1.0).contains(s))
        );
        assert!(top
            .iter()
            .all(|t| (0..10).contains(&t["class"].as_i64().unwrap())));
    }

    // The saved scores of b.png equal the library's forward of the same normalised pixels.
    let saved = read_safetensors(&out).unwrap();
    assert_eq!(saved.names().len(), 4);
    let inputs_meta: Vec<String> = serde_json::from_str(&saved.metadata["sppnet.inputs"]).unwrap();
    assert_eq!(inputs_meta.len(), 6);
    common::init_threads();
    let hwc = Tensor::from_slice(&pixels_b)
        .reshape([100, 77, 3])
        .permute([2, 0, 1])
        .to_kind(Kind::Float)
        / 255.0;
    let mean = Tensor::from_slice(&[0.485f32, 0.456, 0.406]).view([3, 1, 1]);
    let std = Tensor::from_slice(&[0.229f32, 0.224, 0.225]).view([3, 1, 1]);
    let x = ((hwc - mean) / std).unsqueeze(0);
    let model = Model::load(&weights, Device::Cpu).unwrap();
    let want = model.forward(&x).unwrap().get(0);
    assert!(
        saved.get("2").unwrap().equal(&want),
        "infer and the library disagree on b.png"
    );
}

#[test]
fn infer_reads_folders_and_prints_features() {
    let dir = common::tempdir();
    let d = dir.path();
    for (i, (w, h)) in [(40, 40), (64, 48), (40, 40)].iter().enumerate() {
        image(d, &format!("img{i}.png"), *w, *h, i as u32);
    }
    std::fs::write(d.join("notes.txt"), "not an image: skipped in folders").unwrap();
    let weights = common::root().join("weights/sppnet_tiny.safetensors");
    let (code, out, err) = sppnet(&[
        "infer",
        "--weights",
        s(&weights),
        "--features",
        "--device",
        "cpu",
        s(d),
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines.iter().all(|l| l.ends_with(": 1344 features")),
        "21 bins × 64 channels: {out}"
    );
    assert!(lines[0].contains("img0.png") && lines[2].contains("img2.png"));
    // --rule adaptive pools the 10×10 image the default rule refuses.
    let (tiny, _) = image(d, "tiny.png", 10, 10, 5);
    let (code, out, err) = sppnet(&[
        "infer",
        "--weights",
        s(&weights),
        "--rule",
        "adaptive",
        "--device",
        "cpu",
        s(&tiny),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tiny.png: class"), "{out}");
    let (code, _, err) = sppnet(&["infer", "--weights", s(&weights), "--mean", "1,2", s(d)]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
}

#[test]
fn a_truncated_jpeg_is_reported_on_one_line() {
    let dir = common::tempdir();
    let (good, _) = image(dir.path(), "good.jpg", 40, 30, 6);
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &std::fs::read(&good).unwrap()[..200]).unwrap();
    let weights = common::root().join("weights/sppnet_tiny.safetensors");
    let (code, stdout, stderr) = sppnet(&[
        "--threads",
        "1",
        "infer",
        "--weights",
        s(&weights),
        "--device",
        "cpu",
        s(&good),
        s(&cut),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "the good image: {stdout}");
    // Failures go to stderr, one line each (the JPEG decoder's own message spans two).
    let prefix = format!("{}: error: not a readable PNG/JPEG image (", s(&cut));
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&prefix) && lines[0].ends_with(')'),
        "{stderr}"
    );
    assert_eq!(lines.len(), 3, "failure, summary, error: {stderr}");
}
