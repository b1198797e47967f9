//! The `sppnet` binary: results, and every bad input answered with one `error:` line, exit
//! code 1 and no file written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sppnet::checkpoint::{read_safetensors, write_safetensors};
use sppnet::{spatial_pyramid_pool, Rule};
use tch::{Device, Kind, Tensor};

fn sppnet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sppnet"))
        .args(args)
        .env_remove("OMP_NUM_THREADS")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Exit code 1, exactly one stderr line `error: …` containing `needle`, `out` not created.
fn assert_fails(args: &[&str], needle: &str, out: &Path) {
    let (code, _, err) = sppnet(args);
    assert_eq!(code, 1, "{args:?}: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: one line expected, got {err}"
    );
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{args:?}: `{needle}` not in {err}"
    );
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

fn save(dir: &Path, name: &str, tensors: Vec<(&str, Tensor)>) -> PathBuf {
    let path = dir.join(name);
    let named: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    write_safetensors(&path, &named, &Default::default(), true).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn pool_writes_the_library_result_in_the_input_dtype() {
    let dir = common::tempdir();
    let x = Tensor::randn([2, 5, 13, 11], (Kind::Float, Device::Cpu));
    let input = save(
        dir.path(),
        "x.safetensors",
        vec![("feat", x.shallow_clone())],
    );
    let out = dir.path().join("y.safetensors");
    let (code, _, err) = sppnet(&[
        "pool",
        s(&input),
        "-o",
        s(&out),
        "--device",
        "cpu",
        "--levels",
        "4,2,1",
    ]);
    assert_eq!(code, 0, "{err}");
    let y = read_safetensors(&out).unwrap();
    assert!(y
        .get("output")
        .unwrap()
        .equal(&spatial_pyramid_pool(&x, &[4, 2, 1], Rule::Yueruchen).unwrap()));

    let half = save(
        dir.path(),
        "h.safetensors",
        vec![("x", x.to_kind(Kind::Half))],
    );
    let out_h = dir.path().join("yh.safetensors");
    let (code, _, err) = sppnet(&[
        "pool",
        s(&half),
        "-o",
        s(&out_h),
        "--rule",
        "adaptive",
        "--levels",
        "6,3,2,1",
    ]);
    assert_eq!(code, 0, "{err}");
    let yh = read_safetensors(&out_h).unwrap();
    assert_eq!(yh.get("output").unwrap().kind(), Kind::Half);
    assert_eq!(yh.get("output").unwrap().size(), [2, 5 * 50]);
}

#[test]
fn pool_refuses_bad_input_with_one_line() {
    let dir = common::tempdir();
    let d = dir.path();
    let out = d.join("out.safetensors");
    let o = s(&out);
    let good = save(
        d,
        "good.safetensors",
        vec![(
            "x",
            Tensor::randn([1, 2, 13, 13], (Kind::Float, Device::Cpu)),
        )],
    );
    let rank3 = save(
        d,
        "r3.safetensors",
        vec![("x", Tensor::randn([2, 13, 13], (Kind::Float, Device::Cpu)))],
    );
    let ints = save(
        d,
        "int.safetensors",
        vec![("x", Tensor::ones([1, 1, 8, 8], (Kind::Int64, Device::Cpu)))],
    );
    let small = save(
        d,
        "small.safetensors",
        vec![("x", Tensor::randn([1, 1, 5, 5], (Kind::Float, Device::Cpu)))],
    );
    let empty = save(
        d,
        "empty.safetensors",
        vec![("x", Tensor::zeros([0, 1, 8, 8], (Kind::Float, Device::Cpu)))],
    );
    let nan = save(
        d,
        "nan.safetensors",
        vec![(
            "x",
            Tensor::full([1, 1, 8, 8], f64::NAN, (Kind::Float, Device::Cpu)),
        )],
    );
    let two = save(
        d,
        "two.safetensors",
        vec![
            ("a", Tensor::zeros([1], (Kind::Float, Device::Cpu))),
            ("b", Tensor::zeros([1], (Kind::Float, Device::Cpu))),
        ],
    );
    let bytes = std::fs::read(&good).unwrap();
    let truncated = d.join("trunc.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 7]).unwrap();
    let garbage = d.join("garbage.safetensors");
    std::fs::write(&garbage, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot json").unwrap();

    assert_fails(&["pool", s(&rank3), "-o", o], "rank 3", &out);
    assert_fails(&["pool", s(&ints), "-o", o], "floating point", &out);
    assert_fails(
        &["pool", s(&small), "-o", o],
        "level 4 cannot pool a 5×5 map",
        &out,
    );
    assert_fails(&["pool", s(&empty), "-o", o], "empty", &out);
    assert_fails(&["pool", s(&nan), "-o", o], "NaN", &out);
    assert_fails(&["pool", s(&two), "-o", o], "pick one with --key", &out);
    assert_fails(
        &["pool", s(&good), "-o", o, "--key", "nope"],
        "no tensor `nope`",
        &out,
    );
    assert_fails(
        &["pool", s(&truncated), "-o", o],
        "not a valid safetensors file",
        &out,
    );
    assert_fails(
        &["pool", s(&garbage), "-o", o],
        "not a valid safetensors file",
        &out,
    );
    assert_fails(
        &["pool", s(&d.join("missing.safetensors")), "-o", o],
        "No such file",
        &out,
    );
    assert_fails(
        &["pool", s(&good), "-o", o, "--levels", "4,0"],
        "levels must be ≥ 1",
        &out,
    );
    assert_fails(
        &["pool", s(&good), "-o", o, "--rule", "nearest"],
        "unknown rule",
        &out,
    );
    assert_fails(
        &["pool", s(&good), "-o", o, "--device", "tpu"],
        "unknown device",
        &out,
    );
    assert_fails(
        &["pool", s(&good), "-o", o, "--threads", "0"],
        "thread count",
        &out,
    );
    assert_fails(&["pool", s(&good)], "--output", &out);
    if !tch::Cuda::is_available() {
        assert_fails(
            &["pool", s(&good), "-o", o, "--device", "cuda"],
            "no CUDA device",
            &out,
        );
    }

    // NaN passes through when asked for, as in PyTorch.
    let (code, _, err) = sppnet(&["pool", s(&nan), "-o", o, "--allow-nonfinite"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read_safetensors(&out)
            .unwrap()
            .get("output")
            .unwrap()
            .isnan()
            .all()
            .int64_value(&[]),
        1
    );
}

#[test]
fn existing_output_is_kept_without_force() {
    let dir = common::tempdir();
    let input = save(
        dir.path(),
        "x.safetensors",
        vec![(
            "x",
            Tensor::randn([1, 1, 13, 13], (Kind::Float, Device::Cpu)),
        )],
    );
    let out = dir.path().join("out.safetensors");
    std::fs::write(&out, b"precious").unwrap();
    let (code, _, err) = sppnet(&["pool", s(&input), "-o", s(&out)]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let (code, _, err) = sppnet(&["pool", s(&input), "-o", s(&out), "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read_safetensors(&out)
            .unwrap()
            .get("output")
            .unwrap()
            .size(),
        [1, 21]
    );
}

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
        "1 channels, the model expects 3",
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
        "not an SppNet state_dict",
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
fn demo_prints_a_bitwise_parity_table() {
    let (code, out, err) = sppnet(&["demo", "--device", "cpu"]);
    assert_eq!(code, 0, "{err}");
    let bitwise_rows = out
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("] | yes |"))
        .count();
    assert_eq!(bitwise_rows, 4, "{out}");
    for size in ["1×3×32×32", "1×3×45×45", "2×3×64×64", "2×3×100×77"] {
        assert!(out.contains(size), "{size} in {out}");
    }
}
