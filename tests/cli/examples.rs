//! The `examples/` programs, run as a user runs them (`cargo test` builds them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, s};
use sppnet::io::read_safetensors;
use tch::Kind;
use torch_pickle::craft::{torch_file, Pk};

/// `target/<profile>/examples/<name>`, beside this test binary's `deps/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    dir.join("examples").join(name)
}

fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(example(name))
        .args(args)
        .current_dir(common::root())
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e} (cargo test builds the examples)"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn pool_tensor_pools_under_every_rule() {
    let (code, out, err) = run("pool_tensor", &[]);
    assert_eq!(code, 0, "{err}");
    for rule in ["yueruchen", "adaptive", "paper"] {
        assert!(
            out.contains(&format!("{rule}: [2, 64, 13, 13] -> [2, 1344]")),
            "{out}"
        );
    }
    // A file's tensor, which the paper rule cannot pool (11 bins → 5 at level 4).
    let dir = common::tempdir();
    let x = tch::Tensor::ones([1, 3, 11, 11], (Kind::Float, tch::Device::Cpu));
    let input = common::save(dir.path(), "x.safetensors", vec![("x", x)]);
    let (code, out, err) = run("pool_tensor", &[s(&input)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("adaptive: [1, 3, 11, 11] -> [1, 63]"), "{out}");
    assert!(out.contains("paper: level 4 cannot pool"), "{out}");
}

#[test]
fn run_image_classifies_a_png() {
    let dir = common::tempdir();
    let png = dir.path().join("x.png");
    image::RgbImage::from_fn(61, 47, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 100]))
        .save(&png)
        .unwrap();
    let weights = "weights/sppnet_tiny.safetensors";
    let (code, out, err) = run("run_image", &[weights, s(&png)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("SPP_NET on [1, 3, 47, 61]: output [1, 10]"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("class ")).count(),
        3,
        "{out}"
    );
    let (code, _, err) = run("run_image", &[weights]);
    assert!(code != 0 && err.contains("usage"), "{err}");
}

/// The committed tiny SppNet's tensors as a `torch.save` state_dict, pickled by hand.
fn torch_save_of_the_tiny_sppnet(path: &Path) {
    let file = read_safetensors(common::root().join("weights/sppnet_tiny.safetensors")).unwrap();
    let mut pk = Pk::new().dict();
    let mut storages: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, (name, t)) in file.tensors.iter().enumerate() {
        let (storage, elt) = match t.kind() {
            Kind::Int64 => ("LongStorage", 8),
            _ => ("FloatStorage", 4),
        };
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * elt];
        t.copy_data_u8(&mut bytes, numel);
        let shape = t.size();
        let stride = t.stride();
        let key = i.to_string();
        pk = pk
            .str(name)
            .tensor(storage, &key, numel as i64, 0, &shape, &stride)
            .setitem();
        storages.push((key, bytes));
    }
    let refs: Vec<(&str, &[u8])> = storages
        .iter()
        .map(|(k, b)| (k.as_str(), b.as_slice()))
        .collect();
    std::fs::write(path, torch_file(&pk.stop().0, &refs)).unwrap();
}

#[test]
fn port_checkpoint_ports_a_torch_save_file_that_then_loads() {
    let dir = common::tempdir();
    let pt = dir.path().join("tiny.pt");
    torch_save_of_the_tiny_sppnet(&pt);
    let out = dir.path().join("tiny.safetensors");
    let (code, stdout, err) = run("port_checkpoint", &[s(&pt), s(&out)]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("torch.save archive"), "{stdout}");
    assert!(
        stdout.contains("wrote") && stdout.contains("SPP_NET"),
        "{stdout}"
    );
    let ported = read_safetensors(&out).unwrap();
    let original =
        read_safetensors(common::root().join("weights/sppnet_tiny.safetensors")).unwrap();
    assert_eq!(ported.metadata["sppnet.arch"], "sppnet");
    for (k, t) in &original.tensors {
        assert!(
            ported.get(k).unwrap().equal(t),
            "`{k}` changed in the round trip"
        );
    }
    // The output exists now: the example refuses to overwrite it.
    let (code, _, err) = run("port_checkpoint", &[s(&pt), s(&out)]);
    assert!(code != 0 && err.contains("already exists"), "{err}");
}
