//! `sppnet forward` on ultralytics block checkpoints: no flags beyond the file, `--fuse`, and
//! the documented `python -m sppnet_ref.export` command line.

use crate::common;

use std::path::Path;

use crate::common::{assert_fails, s, save, sppnet};
use sppnet::io::read_safetensors;
use sppnet::modules::conv::ConvOpts;
use sppnet::modules::sppelan::SppElanConfig;
use sppnet::modules::sppf::SppfConfig;
use sppnet::modules::{SppElan, Sppf};
use sppnet::nn::Act;
use sppnet::{Model, Spec};
use tch::{Device, Kind, Tensor};

#[test]
fn forward_runs_block_checkpoints_from_their_metadata_alone() {
    common::init_threads();
    let dir = common::tempdir();
    let d = dir.path();
    let mut sppf = SppfConfig::new(32, 32);
    sppf.shortcut = true;
    sppf.cv1 = ConvOpts {
        act: Act::SiLU,
        bn_eps: 1e-3,
        bn_momentum: 0.03,
        fused: false,
    };
    for (name, spec) in [
        ("sppf", Spec::of::<Sppf>(&sppf)),
        (
            "sppelan",
            Spec::of::<SppElan>(&SppElanConfig::new(32, 16, 8)),
        ),
    ] {
        let model = Model::new(spec.unwrap(), Device::Cpu).unwrap();
        let weights = d.join(format!("{name}.safetensors"));
        model.save(&weights, false).unwrap();
        let x = Tensor::randn([2, 32, 9, 14], (Kind::Float, Device::Cpu));
        let input = save(
            d,
            &format!("{name}_in.safetensors"),
            vec![("x", x.shallow_clone())],
        );
        let out = d.join(format!("{name}_out.safetensors"));
        let threads = common::THREADS.to_string();
        let (code, _, err) = sppnet(&[
            "--threads",
            &threads,
            "forward",
            "--weights",
            s(&weights),
            s(&input),
            "-o",
            s(&out),
        ]);
        assert_eq!(code, 0, "{err}");
        let y = read_safetensors(&out).unwrap();
        assert!(
            y.get("output").unwrap().equal(&model.forward(&x).unwrap()),
            "{name}"
        );

        let fused_out = d.join(format!("{name}_fused.safetensors"));
        let args = [
            "--threads",
            &threads,
            "forward",
            "--fuse",
            "--weights",
            s(&weights),
            s(&input),
            "-o",
            s(&fused_out),
        ];
        let (code, _, err) = sppnet(&args);
        assert_eq!(code, 0, "{err}");
        let yf = read_safetensors(&fused_out).unwrap();
        assert!(
            yf.get("output")
                .unwrap()
                .equal(&model.fuse().unwrap().forward(&x).unwrap()),
            "{name} fused"
        );

        let wrong = save(
            d,
            &format!("{name}_wrong.safetensors"),
            vec![("x", Tensor::randn([1, 8, 5, 5], (Kind::Float, Device::Cpu)))],
        );
        let bad_out = d.join("never.safetensors");
        assert_fails(
            &[
                "forward",
                "--weights",
                s(&weights),
                s(&wrong),
                "-o",
                s(&bad_out),
            ],
            "8 channels, the module expects 32",
            &bad_out,
        );
        assert_fails(
            &[
                "forward",
                "--weights",
                s(&weights),
                s(&input),
                "-o",
                s(&bad_out),
                "--levels",
                "2,1",
            ],
            "apply to SppNet",
            &bad_out,
        );
    }
}

#[test]
fn export_command_line_writes_a_block_sppnet_runs() {
    let dir = common::tempdir();
    let out = dir.path().join("yolo26n_sppf.safetensors");
    let args = ["--yaml", "yolo26n.yaml", "--layer", "9", "--half"];
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    args.push(out.as_os_str());
    common::run_python("export", &args);
    let file = read_safetensors(&out).unwrap();
    assert_eq!(file.get("cv1.conv.weight").unwrap().kind(), Kind::Half);
    let model = Model::load(&out, Device::Cpu).unwrap();
    let cfg: SppfConfig = model.spec().config_as::<Sppf>().unwrap();
    assert_eq!(
        (cfg.c1, cfg.n, cfg.shortcut, cfg.cv1.act, cfg.cv1.bn_eps),
        (256, 3, true, Act::Identity, 1e-3)
    );
    let y = model
        .forward(&Tensor::randn([1, 256, 4, 4], (Kind::Float, Device::Cpu)))
        .unwrap();
    assert_eq!(y.size(), [1, 256, 4, 4]);
    assert!(Path::new(&out).exists());
}
