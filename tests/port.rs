//! Porting real `torch.save` files written live by Python (python/torch_files.py): state_dicts
//! at pickle protocols 2/4/5, nested training dicts, whole pickled modules (the SPP_NET mirror,
//! ultralytics blocks), ultralytics `best.pt` / `last.pt` training checkpoints (half-precision
//! DetectionModels), views, shared storages and every dtype. Every extracted tensor is bitwise
//! what `torch.load(weights_only=False)` gives; every ported block then runs bitwise equal to
//! Python. Malicious pickles run nothing.

mod common;

use std::path::Path;

use common::{s, sppnet};
use serde_json::Value;
use sppnet::checkpoint::infer::ArchChoice;
use sppnet::checkpoint::port::{port, PortOptions};
use sppnet::checkpoint::read_safetensors;
use sppnet::checkpoint::torch::to_tensor;
use sppnet::{Arch, Model};
use tch::Device;
use torch_pickle::walk::{find_root, Root, Source};

fn opts(module: Option<&str>, keep: bool) -> PortOptions {
    PortOptions {
        module: module.map(String::from),
        keep_dtype: keep,
        ..Default::default()
    }
}

/// Every tensor of `ref_path` equals the ported one bitwise (same dtype: ported with keep).
fn same_as_reference(dir: &Path, file: &str, reference: &str, o: &PortOptions) -> usize {
    let ported = port(&dir.join(file), o).unwrap_or_else(|e| panic!("{file}: {e}"));
    let want = read_safetensors(dir.join(reference)).unwrap();
    assert_eq!(
        ported.tensors.len(),
        want.tensors.len(),
        "{file}: tensor count"
    );
    for (k, t) in &ported.tensors {
        let r = want
            .get(k)
            .unwrap_or_else(|| panic!("{file}: unexpected `{k}`"));
        assert!(
            common::compare(t, r).bitwise,
            "{file}: `{k}` differs from torch.load"
        );
    }
    ported.tensors.len()
}

/// The block ported (f32) from `file` runs bitwise equal to the Python module on `io`.
fn runs_like_python(dir: &Path, file: &str, io: &str, o: &PortOptions) -> Arch {
    let ported = port(&dir.join(file), o).unwrap_or_else(|e| panic!("{file}: {e}"));
    let model = Model::new(ported.arch.clone(), Device::Cpu).unwrap();
    model.load_tensors(&ported.tensors).unwrap();
    let io = read_safetensors(dir.join(io)).unwrap();
    let y = model.forward(io.get("input").unwrap()).unwrap();
    let d = common::compare(&y, io.get("output").unwrap());
    assert!(
        d.bitwise,
        "{file}: ported block differs from Python: max abs {:e}",
        d.max_abs
    );
    ported.arch
}

#[test]
fn torch_save_files_port_bitwise() {
    common::init_threads();
    let dir = common::tempdir();
    let d = dir.path();
    common::run_python("torch_files.py", &[d]);
    let files: Vec<Value> =
        serde_json::from_slice(&std::fs::read(d.join("files.json")).unwrap()).unwrap();
    assert!(files.len() >= 16, "{files:?}");
    let mut compared = 0;

    for proto in [2, 4, 5] {
        compared += same_as_reference(
            d,
            &format!("sd_p{proto}.pt"),
            &format!("sd_p{proto}.ref.safetensors"),
            &opts(None, true),
        );
    }
    compared += same_as_reference(d, "nested.pt", "nested.ref.safetensors", &opts(None, true));
    compared += same_as_reference(
        d,
        "module_sppnet.pt",
        "module_sppnet.ref.safetensors",
        &opts(None, true),
    );
    runs_like_python(d, "sd_p2.pt", "sd_p2.io.safetensors", &opts(None, false));
    for block in ["module_sppf", "module_spp", "module_sppelan"] {
        compared += same_as_reference(
            d,
            &format!("{block}.pt"),
            &format!("{block}.ref.safetensors"),
            &opts(None, true),
        );
        runs_like_python(
            d,
            &format!("{block}.pt"),
            &format!("{block}.io.safetensors"),
            &opts(None, false),
        );
    }

    // ultralytics training checkpoints: the block at model.9 and the stem Conv, from `model`
    // (best.pt) and from `ema` (last.pt), with the config read from the pickled attributes.
    for yaml in ["yolov8n", "yolo26n", "yolov9t"] {
        let best = format!("{yaml}_best.pt");
        compared += same_as_reference(
            d,
            &best,
            &format!("{yaml}_best.ref.safetensors"),
            &opts(Some("model.9"), true),
        );
        let arch = runs_like_python(
            d,
            &best,
            &format!("{yaml}_best.io.safetensors"),
            &opts(Some("model.9"), false),
        );
        match (yaml, &arch) {
            ("yolo26n", Arch::Sppf(c)) => {
                assert!(c.shortcut && c.cv1.act.to_string() == "Identity" && c.cv1.bn_eps == 1e-3)
            }
            ("yolov8n", Arch::Sppf(c)) => {
                assert!(!c.shortcut && c.cv1.act.to_string() == "SiLU" && c.cv2.bn_momentum == 0.03)
            }
            ("yolov9t", Arch::SppElan(c)) => assert_eq!((c.c3, c.k), (64, 5)),
            other => panic!("unexpected {other:?}"),
        }
        compared += same_as_reference(
            d,
            &best,
            &format!("{yaml}_conv0.ref.safetensors"),
            &opts(Some("model.0"), true),
        );
        runs_like_python(
            d,
            &best,
            &format!("{yaml}_conv0.io.safetensors"),
            &opts(Some("model.0"), false),
        );
        let ema = PortOptions {
            source: Source::Ema,
            ..opts(Some("model.9"), true)
        };
        compared += same_as_reference(
            d,
            &format!("{yaml}_last.pt"),
            &format!("{yaml}_best.ref.safetensors"),
            &ema,
        );
    }

    // Views, shared storages, a scalar, an empty tensor, every dtype: straight from the reader.
    let bytes = std::fs::read(d.join("views.pt")).unwrap();
    let archive = torch_pickle::Archive::open(&bytes).unwrap();
    let (Root::StateDict(sd), _) = find_root(&archive.pickle, Source::Model).unwrap() else {
        panic!("a state_dict")
    };
    let want = read_safetensors(d.join("views.ref.safetensors")).unwrap();
    assert_eq!(sd.len(), want.tensors.len());
    for (k, t) in &sd {
        let got = to_tensor(&archive, k, t).unwrap();
        assert!(
            common::compare(&got, want.get(k).unwrap()).bitwise,
            "views.pt `{k}`"
        );
        compared += 1;
    }
    println!("{compared} tensors bitwise equal to torch.load");
    assert!(compared > 250, "{compared}");
}

#[test]
fn malicious_pickles_run_nothing_and_are_reported() {
    let dir = common::tempdir();
    let d = dir.path();
    common::run_python("torch_files.py", &[d]);
    let files: Vec<Value> =
        serde_json::from_slice(&std::fs::read(d.join("files.json")).unwrap()).unwrap();
    let evil: Vec<&Value> = files.iter().filter(|f| f["marker"].is_string()).collect();
    assert_eq!(evil.len(), 4);
    for f in evil {
        let name = f["name"].as_str().unwrap();
        let marker = Path::new(f["marker"].as_str().unwrap());
        let pt = d.join(format!("{name}.pt"));
        assert!(!marker.exists());
        // Reading, inspecting and porting: inert data, reported; nothing runs.
        let (code, out, err) = sppnet(&["inspect", s(&pt)]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("WARNING: references") && out.contains("ran nothing"),
            "{out}"
        );
        let (code, _, err) = sppnet(&["inspect", "--json", s(&pt)]);
        assert_eq!(code, 0, "{err}");
        let out_path = d.join(format!("{name}.safetensors"));
        let (code, _, err) = sppnet(&["port", s(&pt), "-o", s(&out_path)]);
        assert_eq!((code, err.lines().count()), (1, 1), "{err}");
        let opened = port(
            &pt,
            &PortOptions {
                arch: ArchChoice::Conv,
                ..Default::default()
            },
        );
        assert!(opened.is_err());
        assert!(!marker.exists(), "{name}: the payload ran");
        assert!(!out_path.exists());
    }
}
