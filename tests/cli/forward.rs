//! `sppnet forward` and `sppnet demo`: results, and bad weights or inputs answered with one
//! `error:` line, exit code 1 and no file written.

use crate::common;

use crate::common::{assert_fails, s, save, sppnet};
use sppnet::io::{read_safetensors, write_safetensors};
use tch::{Device, Kind, Tensor};

#[test]
fn forward_reproduces_the_goldens_bitwise() {
    let dir = common::tempdir();
    let weights = common::root().join("weights/sppnet_tiny.safetensors");
    let golden_path = common::root().join("weights/sppnet_tiny_golden.safetensors");
    let golden = read_safetensors(&golden_path).unwrap();
    let out = dir.path().join("out.safetensors");
    let args = [
        "--threads",
        "1",
        "forward",
        "--weights",
        s(&weights),
        s(&golden_path),
        "--key",
        "100x77/input",
        "-o",
        s(&out),
        "--device",
        "cpu",
    ];
    let (code, _, err) = sppnet(&args);
    assert_eq!(code, 0, "{err}");
    let y = read_safetensors(&out).unwrap();
    assert!(y
        .get("output")
        .unwrap()
        .equal(golden.get("100x77/output").unwrap()));

    // The same weights without metadata (a bare state_dict): sizes inferred from the shapes.
    let bare = save(
        dir.path(),
        "bare.safetensors",
        read_safetensors(&weights)
            .unwrap()
            .tensors
            .iter()
            .map(|(n, t)| (n.as_str(), t.shallow_clone()))
            .collect(),
    );
    let out2 = dir.path().join("out2.safetensors");
    let (code, _, err) = sppnet(&[
        "--threads",
        "1",
        "forward",
        "--weights",
        s(&bare),
        s(&golden_path),
        "--key",
        "100x77/input",
        "-o",
        s(&out2),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("inferred"), "{err}");
    assert!(read_safetensors(&out2)
        .unwrap()
        .get("output")
        .unwrap()
        .equal(golden.get("100x77/output").unwrap()));
}

#[test]
fn forward_refuses_bad_weights_and_inputs() {
    let dir = common::tempdir();
    let d = dir.path();
    let out = d.join("out.safetensors");
    let o = s(&out);
    let weights = common::root().join("weights/sppnet_tiny.safetensors");
    let w = s(&weights);
    let small = save(
        d,
        "small.safetensors",
        vec![("x", Tensor::rand([1, 3, 7, 7], (Kind::Float, Device::Cpu)))],
    );
    let misfit = save(
        d,
        "misfit.safetensors",
        vec![(
            "x",
            Tensor::rand([1, 3, 16, 16], (Kind::Float, Device::Cpu)),
        )],
    );
    let gray = save(
        d,
        "gray.safetensors",
        vec![(
            "x",
            Tensor::rand([1, 1, 32, 32], (Kind::Float, Device::Cpu)),
        )],
    );
    let good = save(
        d,
        "good.safetensors",
        vec![(
            "x",
            Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu)),
        )],
    );
    let mut tensors = read_safetensors(&weights).unwrap().tensors;
    tensors.retain(|(n, _)| n != "fc2.bias" && n != "BN1.running_var");
    tensors.push((
        "extra.weight".into(),
        Tensor::zeros([1], (Kind::Float, Device::Cpu)),
    ));
    let broken = d.join("broken.safetensors");
    let meta = read_safetensors(&weights).unwrap().metadata;
    write_safetensors(&broken, &tensors, &meta, false).unwrap();

    assert_fails(
        &["forward", "--weights", w, s(&small), "-o", o],
        "too small",
        &out,
    );
    assert_fails(
        &["forward", "--weights", w, s(&misfit), "-o", o],
        "16×16 input → level 4 cannot pool a 5×5 map",
        &out,
    );
    assert_fails(
        &["forward", "--weights", w, s(&gray), "-o", o],
        "1 channels, the module expects 3",
        &out,
    );
    assert_fails(
        &["forward", "--weights", s(&broken), s(&good), "-o", o],
        "missing `BN1.running_var`",
        &out,
    );
    let (_, _, err) = sppnet(&["forward", "--weights", s(&broken), s(&good), "-o", o]);
    assert!(
        err.contains("missing `fc2.bias`") && err.contains("unexpected `extra.weight`"),
        "all problems in one line: {err}"
    );
    assert_fails(
        &[
            "forward",
            "--weights",
            w,
            s(&good),
            "-o",
            o,
            "--levels",
            "3,1",
        ],
        "shape",
        &out,
    );
    assert_fails(
        &["forward", "--weights", s(&good), s(&good), "-o", o],
        "no class is determined by these tensors alone",
        &out,
    );

    // --rule adaptive pools the map the default rule refuses.
    let (code, _, err) = sppnet(&[
        "forward",
        "--weights",
        w,
        s(&misfit),
        "-o",
        o,
        "--rule",
        "adaptive",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn demo_prints_a_parity_table_within_tolerance() {
    let (code, out, err) = sppnet(&["demo", "--device", "cpu"]);
    assert_eq!(code, 0, "{err}");
    // Within tolerance everywhere; bitwise only on the CPU the dumps were made on (libtorch
    // picks convolution kernels by instruction set), so the bits are shown, not asserted.
    let rows = out
        .lines()
        .filter(|l| l.starts_with("| ") && l.ends_with("| yes |"))
        .count();
    assert_eq!(rows, 4, "{out}");
    for size in ["1×3×32×32", "1×3×45×45", "2×3×64×64", "2×3×100×77"] {
        assert!(out.contains(size), "{size} in {out}");
    }
}

#[test]
fn version_reports_libtorch_cuda_and_threads() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sppnet"))
        .args(["--threads", "3", "--version"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("libtorch 2.13.0"), "{text}");
    assert!(
        text.contains("libtorch_cuda: loaded on demand from /")
            && text.contains("libtorch_cuda.so;"),
        "--version loads the CUDA backend to report on it: {text}"
    );
    assert!(
        text.contains("CUDA devices visible:") && text.contains("intra-op threads:"),
        "{text}"
    );
}
