//! `sppnet detect` as a user runs it: JSON lines with exactly the documented keys in input order,
//! pictures written (and not overwritten without --force), per-file errors for images that do not
//! decode, the stride rounding note, and one-line refusals for bad checkpoints and flags.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{s, sppnet};
use serde_json::Value;

/// A randomised yolov8n (`detector.pt`) and a YOLO12n (`yolo12n.pt`), made by ultralytics.
fn fixtures(dir: &Path) -> (PathBuf, PathBuf) {
    common::run_python("predict", &["fixtures".as_ref(), dir.as_os_str()]);
    (dir.join("detector.pt"), dir.join("yolo12n.pt"))
}

fn image(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let pixels: Vec<u8> = (0..w * h * 3).map(|i| ((i * 37) % 251) as u8).collect();
    let path = dir.join(name);
    image::RgbImage::from_raw(w, h, pixels)
        .unwrap()
        .save(&path)
        .unwrap();
    path
}

#[test]
fn detect_reports_json_draws_pictures_and_survives_bad_files() {
    let dir = common::tempdir();
    let d = dir.path();
    let (weights, yolo12) = fixtures(d);
    let imgs = d.join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    let a = image(&imgs, "a.png", 200, 120);
    image(&imgs, "b.jpg", 64, 300);
    image(&imgs, "one.png", 1, 1);
    std::fs::write(imgs.join("empty.png"), b"").unwrap();
    std::fs::write(imgs.join("junk.jpg"), b"\xff\xd8 not a jpeg").unwrap();
    std::fs::write(imgs.join("notes.txt"), b"not an image, not listed").unwrap();
    let save = d.join("out");
    let args = [
        "detect",
        s(&weights),
        s(&imgs),
        s(&a),
        "--json",
        "--conf",
        "0",
        "--max-det",
        "5",
        "--save-dir",
        s(&save),
    ];
    let (code, stdout, stderr) = sppnet(&args);
    assert_eq!(code, 1, "two files fail, so exit 1: {stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paths: Vec<&str> = lines.iter().map(|v| v["path"].as_str().unwrap()).collect();
    let name = |p: &str| {
        Path::new(p)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        paths.iter().map(|p| name(p)).collect::<Vec<_>>(),
        ["a.png", "b.jpg", "one.png", "a.png"]
    );
    for v in &lines {
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["detections", "height", "ms", "path", "task", "width"]
        );
        assert_eq!(v["task"], "detect");
        let ms: Vec<&str> = v["ms"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ms, ["inference", "postprocess", "preprocess"]);
        let dets = v["detections"].as_array().unwrap();
        assert!(dets.len() <= 5, "--max-det 5");
        for det in dets {
            let keys: Vec<&str> = det
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["box", "class", "confidence", "name"]);
            let b: Vec<f64> = det["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let (w, h) = (v["width"].as_f64().unwrap(), v["height"].as_f64().unwrap());
            assert!(
                b[0] <= b[2] && b[1] <= b[3] && b[2] <= w && b[3] <= h,
                "{b:?} outside {w}×{h}"
            );
            assert!(det["confidence"].as_f64().unwrap() > 0.0);
        }
    }
    assert!(
        lines
            .iter()
            .any(|v| !v["detections"].as_array().unwrap().is_empty()),
        "a random model at conf 0 finds boxes"
    );
    assert_eq!(
        (lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
        (Some(200), Some(120))
    );
    // One error line per bad file, then the summary and the failure.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors.iter().any(|l| l.contains("empty.png"))
            && errors.iter().any(|l| l.contains("junk.jpg"))
    );
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("error: 2 of 6 images failed"),
        "{stderr}"
    );
    // Pictures: one per decoded input, the repeated name made unique, real PNG/JPEG files.
    let mut written: Vec<String> = std::fs::read_dir(&save)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["a.png", "a_1.png", "b.jpg", "one.png"]);
    assert_eq!(
        image::open(save.join("a.png"))
            .unwrap()
            .into_rgb8()
            .dimensions(),
        (200, 120)
    );
    assert!(image::open(save.join("b.jpg")).is_ok());
    // Not overwritten without --force; nothing is run then.
    let again = ["detect", s(&weights), s(&a), "--save-dir", s(&save)];
    let (code, _, err) = sppnet(&again);
    assert!(
        code == 1 && err.lines().count() == 1 && err.contains("--force"),
        "{err}"
    );
    let (code, out, err) = sppnet(&[&again[..], &["--force"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("a.png (200×120)"), "{out}");
    // The stride rounding is said, as ultralytics says it.
    let (code, _, err) = sppnet(&["detect", s(&weights), s(&a), "--imgsz", "650"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("--imgsz 650 is not a multiple of the model's stride 32: using 672"),
        "{err}"
    );
    // A YOLOv12 (A2C2f, area attention), refused before this session, now runs.
    let (code, out, err) = sppnet(&["predict", s(&yolo12), s(&a)]);
    assert!(code == 0 && out.contains("a.png (200×120)"), "{err}");
}

#[test]
fn detect_refuses_bad_checkpoints_and_flags_on_one_line() {
    let dir = common::tempdir();
    let d = dir.path();
    let img = image(d, "a.png", 40, 30);
    let not_detector = common::root().join("weights/sppnet_tiny.safetensors");
    let truncated = d.join("truncated.pt");
    let real = std::fs::read(sppnet_fixture()).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 2]).unwrap();
    let garbage = d.join("garbage.pt");
    std::fs::write(&garbage, b"PK\x03\x04 definitely not a checkpoint").unwrap();
    let w = sppnet_fixture();
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![s(&not_detector), s(&img)],
            "is not a model sppnet predict runs",
        ),
        (vec![s(&truncated), s(&img)], "truncated.pt"),
        (vec![s(&garbage), s(&img)], "garbage.pt"),
        (vec![s(&w), s(&img), "--conf", "1.5"], "--conf"),
        (vec![s(&w), s(&img), "--iou=-0.1"], "--iou"),
        (vec![s(&w), s(&img), "--conf", "nan"], "--conf"),
        (vec![s(&w), s(&img), "--max-det", "0"], "--max-det"),
        (vec![s(&w), s(&img), "--imgsz", "0"], "--imgsz"),
        (vec![s(&w), s(&img), "--classes=1,-1"], "--classes"),
        (vec![s(&w), s(&img), "--batch-size", "0"], "--batch-size"),
        (vec![s(&w), s(&empty)], "no images found"),
    ];
    for (args, needle) in cases {
        let out = d.join("never");
        let all = [&["detect"][..], &args[..], &["--save-dir", s(&out)]].concat();
        let (code, stdout, err) = sppnet(&all);
        assert_eq!(code, 1, "{all:?}: {err}");
        assert!(stdout.is_empty(), "{all:?} printed {stdout}");
        assert_eq!(err.lines().count(), 1, "{all:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{all:?}: `{needle}` not in {err}"
        );
        assert!(!out.exists(), "{all:?} created the save dir");
    }
}

/// The real fall-detection checkpoint fetched by `make setup` (python/sppnet_ref/fixtures.py).
fn sppnet_fixture() -> PathBuf {
    PathBuf::from(common::run_python("fixtures", &["fall-yolov8s".as_ref()]).trim())
}

/// A ported `.safetensors` whose metadata lies (what `sppnet port` wrote, edited): strides out
/// of range, too many classes, an upsampling that would explode. Each is one `error:` line
/// before anything runs; the honest file detects.
#[test]
fn ported_metadata_that_lies_is_refused_before_it_runs() {
    let dir = common::tempdir();
    let d = dir.path();
    let (weights, _) = fixtures(d);
    let ported = d.join("ported.safetensors");
    let (code, _, err) = sppnet(&["port", s(&weights), "-o", s(&ported)]);
    assert_eq!(code, 0, "{err}");
    let img = image(d, "a.png", 64, 48);
    let file = sppnet::io::read_safetensors(&ported).unwrap();
    let config: Value = serde_json::from_str(&file.metadata["sppnet.config"]).unwrap();
    let lie = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut c = config.clone();
        edit(&mut c);
        let mut meta = file.metadata.clone();
        meta.insert("sppnet.config".into(), c.to_string());
        let p = d.join(format!("{name}.safetensors"));
        sppnet::io::write_safetensors(&p, &file.tensors, &meta, true).unwrap();
        p
    };
    let upsample = |c: &mut Value, scale: f64| {
        let layers = c["layers"].as_array_mut().unwrap();
        let up = layers
            .iter_mut()
            .find(|l| l["module"]["class"] == "upsample")
            .expect("an Upsample layer");
        up["module"]["config"]["scale_factor"] = scale.into();
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            lie("stride-1e30", &|c| {
                c["stride"] = serde_json::json!([8.0, 16.0, 1e30])
            }),
            "strides",
        ),
        (
            lie("stride-0", &|c| {
                c["stride"] = serde_json::json!([0.0, 16.0, 32.0])
            }),
            "strides",
        ),
        (
            lie("names-70000", &|c| {
                c["names"] = (0..70_000)
                    .map(|i| (i.to_string(), Value::from("x")))
                    .collect();
            }),
            "class names",
        ),
        (lie("nc-1e9", &|c| c["nc"] = 1_000_000_000.into()), "nc"),
        (
            lie("upsample-1000", &|c| upsample(c, 1000.0)),
            "scale_factor",
        ),
    ];
    for (p, needle) in &cases {
        let (code, stdout, err) = sppnet(&["detect", s(p), s(&img), "--device", "cpu"]);
        assert_eq!(code, 1, "{}: {err}", p.display());
        assert!(stdout.is_empty() && err.lines().count() == 1, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "`{needle}` not in {err}"
        );
    }
    let (code, _, err) = sppnet(&["detect", s(&ported), s(&img), "--device", "cpu"]);
    assert_eq!(code, 0, "{err}");
}
