//! `sppnet pool --op …`: every row of the pooling table from the command line gives the
//! library's result, and every misuse one `error:` line, exit code 1, no file.

use crate::common;

use crate::common::{assert_fails, s, save, sppnet};
use sppnet::io::read_safetensors;
use sppnet::ops::pool2d::{AvgPoolOptions, MaxPoolOptions};
use sppnet::ops::PoolOp;
use tch::{Device, Kind, Tensor};

/// `sppnet pool IN -o OUT ARGS…` on `x`; the tensor written.
fn pool(dir: &std::path::Path, x: &Tensor, args: &[&str]) -> Tensor {
    let input = save(dir, "in.safetensors", vec![("x", x.shallow_clone())]);
    let out = dir.join("out.safetensors");
    let mut all = vec![
        "pool",
        s(&input),
        "-o",
        s(&out),
        "--force",
        "--device",
        "cpu",
    ];
    all.extend_from_slice(args);
    let (code, _, err) = sppnet(&all);
    assert_eq!(code, 0, "{args:?}: {err}");
    read_safetensors(&out)
        .unwrap()
        .get("output")
        .unwrap()
        .shallow_clone()
}

#[test]
fn every_op_writes_the_library_result() {
    let dir = common::tempdir();
    let x = Tensor::randn([2, 3, 9, 7], (Kind::Float, Device::Cpu));
    let relu = x.relu();
    let max = MaxPoolOptions {
        kernel: [3, 2],
        stride: [2, 1],
        padding: [1, 1],
        dilation: [2, 1],
        ceil_mode: true,
    };
    let avg = AvgPoolOptions {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        ceil_mode: false,
        count_include_pad: false,
        divisor_override: None,
    };
    let cases: Vec<(Vec<&str>, PoolOp, &Tensor)> = vec![
        (
            vec![
                "--op",
                "max",
                "--kernel",
                "3,2",
                "--stride",
                "2,1",
                "--padding",
                "1",
                "--dilation",
                "2,1",
                "--ceil-mode",
            ],
            PoolOp::Max(max),
            &x,
        ),
        (
            vec![
                "--op",
                "avg",
                "--kernel",
                "3",
                "--stride",
                "2",
                "--padding",
                "1",
                "--count-include-pad",
                "false",
            ],
            PoolOp::Avg(avg),
            &x,
        ),
        (
            vec!["--op", "global", "--pool-type", "catavgmax", "--flatten"],
            PoolOp::Global {
                pool_type: "catavgmax".into(),
                flatten: true,
                output_size: [1, 1],
            },
            &x,
        ),
        (
            vec![
                "--op",
                "stochastic",
                "--kernel",
                "2",
                "--stride",
                "2",
                "--train",
                "--seed",
                "3",
            ],
            PoolOp::Stochastic {
                kernel: 2,
                stride: 2,
                seed: Some(3),
            },
            &relu,
        ),
        (
            vec!["--op", "stochastic", "--kernel", "3", "--stride", "1"],
            PoolOp::Stochastic {
                kernel: 3,
                stride: 1,
                seed: None,
            },
            &relu,
        ),
    ];
    for (args, op, input) in cases {
        let got = pool(dir.path(), input, &args);
        let want = op.apply(input, None).unwrap();
        assert!(
            got.equal(&want),
            "{args:?}: {:?} vs {:?}",
            got.size(),
            want.size()
        );
    }
}

#[test]
fn roi_spp_pools_each_window_from_one_map() {
    let dir = common::tempdir();
    let x = Tensor::randn([2, 3, 16, 12], (Kind::Float, Device::Cpu));
    let rois = Tensor::from_slice(&[
        0f32, 0., 0., 95., 127., 1., 8., 8., 40., 60., 1., 30., 2., 31., 3.,
    ])
    .view([3, 5]);
    let rois_file = save(
        dir.path(),
        "rois.safetensors",
        vec![("rois", rois.shallow_clone())],
    );
    let got = pool(
        dir.path(),
        &x,
        &[
            "--op",
            "roi-spp",
            "--rois",
            s(&rois_file),
            "--levels",
            "3,1",
            "--spatial-scale",
            "0.125",
        ],
    );
    let op = PoolOp::RoiSpp {
        levels: vec![3, 1],
        spatial_scale: 0.125,
        mapping: Default::default(),
    };
    assert_eq!(got.size(), [3, 3 * 10]);
    assert!(got.equal(&op.apply(&x, Some(&rois)).unwrap()));

    let out = dir.path().join("y.safetensors");
    let input = save(dir.path(), "x.safetensors", vec![("x", x)]);
    for (bad, needle) in [
        (
            vec![2f32, 0., 0., 4., 4.],
            "batch index 2 (the batch holds 2)",
        ),
        (vec![0f32, 5., 0., 4., 4.], "x2 < x1"),
    ] {
        let f = save(
            dir.path(),
            "bad.safetensors",
            vec![("rois", Tensor::from_slice(&bad).view([1, 5]))],
        );
        assert_fails(
            &[
                "pool",
                s(&input),
                "-o",
                s(&out),
                "--op",
                "roi-spp",
                "--rois",
                s(&f),
            ],
            needle,
            &out,
        );
    }
    assert_fails(
        &["pool", s(&input), "-o", s(&out), "--op", "roi-spp"],
        "needs --rois",
        &out,
    );
}

#[test]
fn misuse_is_one_line_and_writes_nothing() {
    let dir = common::tempdir();
    let x = save(
        dir.path(),
        "x.safetensors",
        vec![("x", Tensor::randn([1, 2, 5, 5], (Kind::Float, Device::Cpu)))],
    );
    let neg = save(
        dir.path(),
        "neg.safetensors",
        vec![("x", -Tensor::ones([1, 1, 4, 4], (Kind::Float, Device::Cpu)))],
    );
    let out = dir.path().join("y.safetensors");
    let o = s(&out);
    let base = |input: &std::path::Path| {
        vec![
            "pool".to_string(),
            s(input).to_string(),
            "-o".into(),
            o.into(),
        ]
    };
    let cases: Vec<(Vec<&str>, &str, &std::path::Path)> = vec![
        (vec!["--op", "max"], "--op max needs --kernel", &x),
        (
            vec!["--op", "avg", "--kernel", "3", "--dilation", "2"],
            "--dilation does not apply to --op avg",
            &x,
        ),
        (
            vec!["--op", "max", "--kernel", "3", "--padding", "2"],
            "padding [2, 2] must be from 0 to half the kernel",
            &x,
        ),
        (
            vec!["--op", "max", "--kernel", "7"],
            "larger than the padded input",
            &x,
        ),
        (
            vec!["--op", "avg", "--kernel", "0"],
            "kernel must be greater than zero",
            &x,
        ),
        (
            vec!["--op", "avg", "--kernel", "2", "--divisor-override", "0"],
            "divisor_override must not be 0",
            &x,
        ),
        (
            vec!["--op", "global", "--pool-type", "median"],
            "unknown pool type `median`",
            &x,
        ),
        (
            vec![
                "--op",
                "global",
                "--pool-type",
                "fast",
                "--output-size",
                "2",
            ],
            "needs the adaptive",
            &x,
        ),
        (
            vec!["--op", "stochastic", "--kernel", "2"],
            "non-negative input",
            &neg,
        ),
        (
            vec!["--op", "stochastic", "--kernel", "9"],
            "larger than the 5×5 map",
            &x,
        ),
        (
            vec!["--op", "stochastic", "--kernel", "2", "--seed", "1"],
            "add --train",
            &x,
        ),
        (
            vec!["--op", "spp", "--kernel", "2"],
            "--kernel does not apply to --op spp",
            &x,
        ),
        (
            vec!["--op", "max", "--kernel", "2,x"],
            "is not N or H,W",
            &x,
        ),
    ];
    for (args, needle, input) in cases {
        let mut all = base(input);
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        assert_fails(&all, needle, &out);
    }
}
