//! `sppnet pool`: results, and every bad input answered with one `error:` line, exit code 1
//! and no file written.

use crate::common;

use crate::common::{assert_fails, s, save, sppnet};
use sppnet::io::read_safetensors;
use sppnet::{spatial_pyramid_pool, Rule};
use tch::{Device, Kind, Tensor};

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
        "is not a pyramid level",
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
