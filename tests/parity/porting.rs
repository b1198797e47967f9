//! Porting real `torch.save` files written live by Python (the `torch_files` suite of python/sppnet_ref): state_dicts
//! at pickle protocols 2/4/5, nested training dicts, whole pickled modules (the SPP_NET mirror,
//! ultralytics blocks), ultralytics `best.pt` / `last.pt` training checkpoints (half-precision
//! DetectionModels), views, shared storages and every dtype. Every extracted tensor is bitwise
//! what `torch.load(weights_only=False)` gives; every ported block then runs bitwise equal to
//! Python. Malicious pickles run nothing.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{s, sppnet};
use sppnet::io::read_safetensors;
use sppnet::modules::conv::ConvOpts;
use sppnet::modules::spp_net::SppNetConfig;
use sppnet::modules::sppelan::SppElanConfig;
use sppnet::modules::sppf::SppfConfig;
use sppnet::modules::{by_name, SppElan, SppNet, Sppf};
use sppnet::port::torch::to_tensor;
use sppnet::port::{port, PortOptions};
use sppnet::reference::{CaseReply, Reply, Suite};
use sppnet::{Model, Spec};
use tch::Device;
use torch_pickle::walk::{find_root, Root, Source};

/// The torch.save files, written once per test binary by the reference.
fn fixture() -> &'static (tempfile::TempDir, Reply) {
    static FILES: OnceLock<(tempfile::TempDir, Reply)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = common::tempdir();
        let replied = common::run_suite(&Suite::TorchFiles, dir.path());
        (dir, replied.reply)
    })
}

fn file(case: &CaseReply, role: &str) -> Option<PathBuf> {
    let dir = fixture().0.path();
    case.files.get(role).map(|f| dir.join(f))
}

fn opts(case: &CaseReply, keep: bool) -> PortOptions {
    PortOptions {
        module: case.params["module"].as_str().map(String::from),
        source: match case.params["source"].as_str() {
            Some("ema") => Source::Ema,
            _ => Source::Model,
        },
        keep_dtype: keep,
        ..Default::default()
    }
}

/// Every tensor of the case's reference equals the ported one bitwise (same dtype: ported with
/// keep); returns how many.
fn same_as_reference(case: &CaseReply, pt: &Path, reference: &Path) -> usize {
    let name = &case.name;
    let ported = port(pt, &opts(case, true)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = read_safetensors(reference).unwrap();
    assert_eq!(
        ported.tensors.len(),
        want.tensors.len(),
        "{name}: tensor count"
    );
    for (k, t) in &ported.tensors {
        let r = want
            .get(k)
            .unwrap_or_else(|| panic!("{name}: unexpected `{k}`"));
        assert!(
            common::compare(t, r).bitwise,
            "{name}: `{k}` differs from torch.load"
        );
    }
    ported.tensors.len()
}

/// The module ported (f32) runs bitwise equal to the Python module on the case's io file.
fn runs_like_python(case: &CaseReply, pt: &Path, io: &Path) -> Spec {
    let name = &case.name;
    let ported = port(pt, &opts(case, false)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = Model::from_tensors(ported.spec.clone(), &ported.tensors, Device::Cpu).unwrap();
    let io = read_safetensors(io).unwrap();
    let y = model.forward(io.get("input").unwrap()).unwrap();
    let d = common::compare(&y, io.get("output").unwrap());
    assert!(
        d.bitwise,
        "{name}: ported module differs from Python: max abs {:e}",
        d.max_abs
    );
    ported.spec
}

#[test]
fn torch_save_files_port_bitwise() {
    common::init_threads();
    let cases = &fixture().1.cases;
    assert!(cases.len() >= 20, "{}", cases.len());
    let (mut compared, mut ran) = (0, 0);
    // Every case that names the class it ports as (views.pt and the malicious files are not
    // modules: they are read below and in the next test).
    for case in cases.iter().filter(|c| c.params["arch"].is_string()) {
        let pt = file(case, "pt").unwrap();
        if let Some(reference) = file(case, "ref") {
            compared += same_as_reference(case, &pt, &reference);
        }
        if let Some(io) = file(case, "io") {
            let spec = runs_like_python(case, &pt, &io);
            ran += 1;
            let arch = case.params["arch"].as_str().unwrap();
            assert_eq!(spec.name(), by_name(arch).unwrap().name, "{}", case.name);
            check_config(&case.name, &spec);
        }
    }

    // Views, shared storages, a scalar, an empty tensor, every dtype: straight from the reader.
    let dir = fixture().0.path();
    let bytes = std::fs::read(dir.join("views.pt")).unwrap();
    let archive = torch_pickle::Archive::open(&bytes).unwrap();
    let (Root::StateDict(sd), _) = find_root(&archive.pickle, Source::Model).unwrap() else {
        panic!("a state_dict")
    };
    let want = read_safetensors(dir.join("views.ref.safetensors")).unwrap();
    assert_eq!(sd.len(), want.tensors.len());
    for (k, t) in &sd {
        let got = to_tensor(&archive, &mut Default::default(), k, t).unwrap();
        assert!(
            common::compare(&got, want.get(k).unwrap()).bitwise,
            "views.pt `{k}`"
        );
        compared += 1;
    }
    println!("{compared} tensors bitwise equal to torch.load, {ran} ported modules run bitwise");
    assert!(compared > 250, "{compared}");
    assert_eq!(
        ran, 10,
        "sd_p2, 3 pickled blocks, 3 best.pt blocks and 3 stem Convs"
    );
}

/// The configs read from the pickled attributes of the ultralytics checkpoints.
fn check_config(name: &str, spec: &Spec) {
    let opts = |c: &ConvOpts| (c.act.to_string(), c.bn_eps, c.bn_momentum);
    match name {
        "yolo26n_best" => {
            let c: SppfConfig = spec.config_as::<Sppf>().unwrap();
            assert!(c.shortcut);
            assert_eq!(opts(&c.cv1), ("Identity".into(), 1e-3, 0.03));
        }
        "yolov8n_best" => {
            let c: SppfConfig = spec.config_as::<Sppf>().unwrap();
            assert!(!c.shortcut);
            assert_eq!(opts(&c.cv1), ("SiLU".into(), 1e-3, 0.03));
        }
        "yolov9t_best" => {
            let c: SppElanConfig = spec.config_as::<SppElan>().unwrap();
            assert_eq!((c.c3, c.k), (64, 5));
        }
        "sd_p2" => {
            let c: SppNetConfig = spec.config_as::<SppNet>().unwrap();
            assert_eq!((c.ndf, c.hidden, c.classes), (8, 64, 10));
        }
        _ => {}
    }
}

#[test]
fn malicious_pickles_run_nothing_and_are_reported() {
    let (dir, reply) = fixture();
    let evil: Vec<&CaseReply> = reply
        .cases
        .iter()
        .filter(|c| c.params["marker"].is_string())
        .collect();
    assert_eq!(evil.len(), 4);
    for case in evil {
        let name = &case.name;
        let marker = Path::new(case.params["marker"].as_str().unwrap());
        let pt = file(case, "pt").unwrap();
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
        let out_path = dir.path().join(format!("{name}.safetensors"));
        let (code, _, err) = sppnet(&["port", s(&pt), "-o", s(&out_path)]);
        assert_eq!((code, err.lines().count()), (1, 1), "{err}");
        let opened = port(
            &pt,
            &PortOptions {
                class: Some(by_name("conv").unwrap()),
                ..Default::default()
            },
        );
        assert!(opened.is_err());
        assert!(!marker.exists(), "{name}: the payload ran");
        assert!(!out_path.exists());
    }
}
